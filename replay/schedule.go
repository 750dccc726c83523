package replay

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/config"
	"yujing/ingest"
	"yujing/internal/cronspec"
	"yujing/internal/fakeclock"
	"yujing/store/sqlite"
)

// schedule runs the scheduled (cron) rules over the replayed history with
// the scheduler serve uses (alerting.Scheduler) on the replay's fake
// clock: the replayed readings go into an embedded reading store, and each
// rule gets its own scheduler, started once its longest window lies inside
// the recording and then moved from tick to tick.
type schedule struct {
	clk     *fakeclock.Clock
	store   *sqlite.Readings
	pending []yujing.Reading // replayed, not yet in the store
	rules   []*scheduledRule
	running int             // schedulers started
	runCtx  context.Context // theirs: ends with stop, not with Ctrl-C, so that a tick is never left half done
	cancel  context.CancelFunc
	done    sync.WaitGroup
	stopped bool
}

type scheduledRule struct {
	s       *alerting.Scheduler
	sched   interface{ Next(time.Time) time.Time }
	from    time.Time // its first moment: the recording's start + its longest window
	next    time.Time // its next tick once started
	started bool
}

// newSchedule prepares the configuration's scheduled rules for a
// recording from first to last, with the reading store at path; no rules:
// nothing to do.
func newSchedule(ctx context.Context, cfg *config.Config, reg *ingest.Registry, eng *alerting.Engine, clk *fakeclock.Clock,
	path string, first, last time.Time, loc *time.Location, notes io.Writer) (*schedule, error) {
	rs := &schedule{clk: clk}
	rs.runCtx, rs.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if len(cfg.Scheduled) == 0 {
		return rs, nil
	}
	st, err := sqlite.OpenReadings(ctx, path, 0)
	if err != nil {
		return nil, err
	}
	rs.store = st
	for _, sr := range cfg.Scheduled {
		s, err := alerting.NewScheduler([]*alerting.ScheduledRule{sr}, st, eng, reg, alerting.SchedulerOptions{Clock: clk, Location: loc})
		if err != nil {
			rs.stop()
			return nil, err
		}
		cs, err := cronspec.Parse(sr.Schedule, loc)
		if err != nil {
			rs.stop()
			return nil, err
		}
		longest := sr.Window
		for _, l := range yujing.Levels {
			longest = max(longest, sr.WindowOf(l))
		}
		r := &scheduledRule{s: s, sched: cs, from: first.Add(longest)}
		if r.from.After(last) {
			fmt.Fprintf(notes, "yujing replay: scheduled rule %s not evaluated: its %s window is longer than the recording (%s)\n",
				sr.Rule.Name, alerting.FormatWindow(longest), last.Sub(first))
			continue
		}
		fmt.Fprintf(notes, "yujing replay: scheduled rule %s (%s) evaluated at its ticks from %s, once its %s window is inside the recording\n",
			sr.Rule.Name, sr.Schedule, r.from.In(loc).Format("2006-01-02 15:04"), alerting.FormatWindow(longest))
		rs.rules = append(rs.rules, r)
	}
	return rs, nil
}

// add queues a replayed reading for the store.
func (rs *schedule) add(rd yujing.Reading) {
	if rs.store != nil {
		rs.pending = append(rs.pending, rd)
	}
}

// advance runs, in time order, every start and tick of the rules up to
// and including to, each to its end: the clock is set to it and the
// schedulers are waited for until every one is waiting for the clock again.
func (rs *schedule) advance(ctx context.Context, to time.Time) error {
	for {
		var r *scheduledRule
		var at time.Time
		for _, x := range rs.rules {
			t := x.next
			if !x.started {
				t = x.from
			}
			if t.IsZero() || t.After(to) {
				continue
			}
			if r == nil || t.Before(at) {
				r, at = x, t
			}
		}
		if r == nil {
			return nil
		}
		if len(rs.pending) > 0 {
			if err := rs.store.Write(ctx, rs.pending); err != nil {
				return fmt.Errorf("replay reading store: %w", err)
			}
			rs.pending = rs.pending[:0]
		}
		rs.clk.Set(at)
		if !r.started {
			r.started = true
			rs.running++
			rs.done.Go(func() { r.s.Run(rs.runCtx) })
		}
		r.next = r.sched.Next(at)
		if !rs.clk.BlockUntil(rs.running, time.Minute) {
			return fmt.Errorf("scheduled rules still evaluating the tick at %s after a minute", at.Format(time.RFC3339))
		}
	}
}

// stop ends the schedulers and closes the store; safe to call twice.
func (rs *schedule) stop() error {
	if rs.stopped {
		return nil
	}
	rs.stopped = true
	rs.cancel()
	rs.done.Wait()
	if rs.store != nil {
		return rs.store.Close()
	}
	return nil
}
