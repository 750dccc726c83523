package escalate

import (
	"context"
	"fmt"
	"sort"
	"time"

	"yujing"
	"yujing/internal/cronspec"
	"yujing/message"
	"yujing/store"
)

// Summary is a scheduled report to leaders: the warnings of the last
// period, sent as one call per person and channel (configuration
// "summaries:").
type Summary struct {
	Name     string
	Schedule string        // cron spec, e.g. "0 8 * * *" (08:00 in the configured zone)
	Period   time.Duration // what it covers, ending now (default 24h)
	People   []yujing.Person
	Channels []string
}

// SummaryText writes the summary of [now-period, now) in Chinese, as a
// leader reads it on a phone (message.SummaryText writes it from the
// counts).
func (e *Engine) SummaryText(ctx context.Context, name string, period time.Duration, now time.Time) (string, yujing.Level, error) {
	if period <= 0 {
		period = 24 * time.Hour
	}
	from := now.Add(-period)
	raised, err := e.alerts.List(ctx, store.AlertFilter{From: from, To: now, Limit: 5000})
	if err != nil {
		return "", 0, err
	}
	open, err := e.alerts.List(ctx, store.AlertFilter{States: []yujing.State{yujing.StateFiring, yujing.StateAcknowledged, yujing.StateDisposing, yujing.StateResolved}, Limit: 5000})
	if err != nil {
		return "", 0, err
	}
	var byLevel [yujing.Red + 1]int
	sites := map[string]int{}
	top := yujing.LevelNone
	for _, a := range raised {
		byLevel[a.Level]++
		sites[a.Site]++
		top = max(top, a.Level)
	}
	unanswered, overdue := 0, 0
	for _, a := range open {
		if a.AckedAt == nil {
			unanswered++
		}
		if a.Overdue {
			overdue++
		}
		top = max(top, a.Level)
	}
	f := message.SummaryFacts{Name: name, From: from, To: now, Location: e.loc, Raised: len(raised), ByLevel: byLevel,
		Open: len(open), Unanswered: unanswered, Overdue: overdue}
	if len(sites) > 0 {
		type kv struct {
			site string
			n    int
		}
		var ss []kv
		for s, n := range sites {
			ss = append(ss, kv{s, n})
		}
		sort.Slice(ss, func(i, j int) bool { return ss[i].n > ss[j].n || ss[i].n == ss[j].n && ss[i].site < ss[j].site })
		for _, x := range ss[:min(3, len(ss))] {
			name := x.site
			if s, ok := e.site(x.site); ok && s.Name != "" {
				name = s.Name
			}
			f.Sites = append(f.Sites, message.SiteCount{Name: name, N: x.n})
		}
	}
	return message.SummaryText(f), top, nil
}

// SendSummary writes the summary and calls its people on its channels.
// The call's idempotency key includes the state database's instance id and
// the time, so a summary is sent once per scheduled run.
func (e *Engine) SendSummary(ctx context.Context, s Summary, now time.Time) error {
	text, top, err := e.SummaryText(ctx, s.Name, s.Period, now)
	if err != nil {
		return fmt.Errorf("summary %s: %w", s.Name, err)
	}
	a := yujing.Alert{Rule: "summary:" + s.Name, Level: top, State: yujing.StateFiring, Message: text, StartedAt: now, UpdatedAt: now}
	var calls []yujing.Call
	for _, p := range s.People {
		for _, ch := range s.Channels {
			calls = append(calls, yujing.Call{ID: fmt.Sprintf("%ssummary-%s-%d-%s-%s", e.ids.Other(), s.Name, now.Unix(), p.ID, ch),
				Alert: a, Event: yujing.EventSummary, Person: p, Channel: ch, Created: now})
		}
	}
	e.log.Info("summary sent", "summary", s.Name, "calls", len(calls))
	e.dispatch(ctx, calls)
	return nil
}

// Clock tells the time and waits for it: the summaries' schedule runs on
// one, so that tests can drive it with a fake (internal/fakeclock).
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// site returns a site by id, when the sites are known.
func (e *Engine) site(id string) (yujing.Site, bool) {
	if e.sites == nil {
		return yujing.Site{}, false
	}
	return e.sites.Site(id)
}

// RunSummaries sends each summary at every tick of its schedule until ctx
// ends. Schedules are checked first. A nil clock is the machine's.
func (e *Engine) RunSummaries(ctx context.Context, summaries []Summary, clock Clock) error {
	if clock == nil {
		clock = systemClock{}
	}
	type job struct {
		s     Summary
		sched interface{ Next(time.Time) time.Time }
	}
	var jobs []job
	for _, s := range summaries {
		sched, err := cronspec.Parse(s.Schedule, e.loc)
		if err != nil {
			return fmt.Errorf("summary %s: %w", s.Name, err)
		}
		jobs = append(jobs, job{s, sched})
	}
	done := make(chan struct{})
	for _, j := range jobs {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				now := clock.Now()
				next := j.sched.Next(now)
				select {
				case <-ctx.Done():
					return
				case <-clock.After(next.Sub(now)):
				}
				if err := e.SendSummary(ctx, j.s, next); err != nil {
					e.log.Error("summary not sent", "summary", j.s.Name, "err", err)
				}
			}
		}()
	}
	for range jobs {
		<-done
	}
	return nil
}
