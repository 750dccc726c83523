package replay

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/lifecycle"
	"yujing/config"
	"yujing/ingest"
	"yujing/internal/fakeclock"
	"yujing/store"
	"yujing/store/sqlite"
)

// Tick is how often, in the readings' time, the engine's time-driven
// checks (offline sensors, for: holds, overdue) run between readings — as
// serve's ticker does.
const Tick = 5 * time.Second

// Options say how to replay.
type Options struct {
	// Speed is how fast the recording plays: 0 as fast as possible, N N×
	// real time.
	Speed float64
	// DataDir keeps the state database (replay-state.db) and, with
	// scheduled rules, the reading store (replay-readings.db); "" for a
	// temporary directory, removed at the end.
	DataDir string
	// Out gets every warning event and the summary.
	Out io.Writer
	// Notes gets the bad lines (file:line: message) and what becomes of
	// the scheduled rules.
	Notes io.Writer
}

// Run replays the readings of file through cfg's rules.
func Run(ctx context.Context, cfg *config.Config, file string, o Options) error {
	reg, err := ingest.NewRegistry(cfg.Sites, cfg.Sensors, cfg.MQTT.Topics...)
	if err != nil {
		return err
	}
	readings, bad, err := ReadFile(file, reg, o.Notes)
	if err != nil {
		return err
	}
	if len(readings) == 0 {
		return fmt.Errorf("%s: no readings", file)
	}
	dataDir := o.DataDir
	if dataDir == "" {
		dir, err := os.MkdirTemp("", "yujing-replay-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dataDir = dir
	} else if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	st, err := sqlite.OpenState(ctx, filepath.Join(dataDir, "replay-state.db"))
	if err != nil {
		return err
	}
	defer st.Close()

	loc := cfg.Location
	if loc == nil {
		loc = time.UTC
	}
	first := readings[0].Reading.Time
	clk := fakeclock.New(first)
	out := bufio.NewWriter(o.Out)
	defer out.Flush()
	sum := newSummary(cfg)
	// The rules and the alert lifecycle, offline: a replayed warning calls
	// no one (nothing makes calls without call-and-answer).
	alerts, err := lifecycle.New(st, reg, lifecycle.Options{Now: clk.Now, Location: loc, Inhibit: cfg.Inhibit,
		OnChange: func(c lifecycle.Change) { sum.event(out, loc, c.Alert, c.Transition) }})
	if err != nil {
		return err
	}
	if err := alerts.Restore(ctx); err != nil {
		return err
	}
	eng, err := alerting.New(cfg.Rules, alerts, reg, alerting.Options{Now: clk.Now, Location: loc, Overdue: cfg.Overdue})
	if err != nil {
		return err
	}
	if err := eng.Restore(ctx); err != nil {
		return err
	}
	last := first
	for _, r := range readings {
		if r.Reading.Time.After(last) {
			last = r.Reading.Time
		}
	}
	sched, err := newSchedule(ctx, cfg, reg, eng, clk, filepath.Join(dataDir, "replay-readings.db"), first, last, loc, o.Notes)
	if err != nil {
		return err
	}
	defer sched.stop()

	now, err := play(ctx, eng, clk, readings, o.Speed, sched.advance, sched.add)
	if err != nil {
		return err
	}
	eng.Tick(ctx, now)
	if err := sched.stop(); err != nil {
		return err
	}
	firing, err := alerts.List(ctx, store.AlertFilter{States: []yujing.State{yujing.StateFiring}})
	if err != nil {
		return err
	}
	sum.write(out, loc, len(readings), bad, first, now, len(firing))
	return nil
}

// play feeds readings (in time order) to eng on clk, as serve would have
// met them: between readings the clock moves on and the engine's
// time-driven checks run every Tick; advance (the scheduled rules) runs up
// to each moment first, and add sees each reading the engine gets (not
// the faults). With speed N > 0 it plays at N× real time. It returns the
// time of the last reading.
func play(ctx context.Context, eng *alerting.Engine, clk *fakeclock.Clock, readings []Reading, speed float64,
	advance func(context.Context, time.Time) error, add func(yujing.Reading)) (time.Time, error) {
	first := readings[0].Reading.Time
	now, lastTick, wall := first, first, time.Now()
	for _, r := range readings {
		if err := ctx.Err(); err != nil {
			return now, err
		}
		t := r.Reading.Time
		if t.After(now) {
			if speed > 0 {
				// Real time due for this reading since the start.
				due := wall.Add(time.Duration(float64(t.Sub(first)) / speed))
				if d := time.Until(due); d > 0 {
					select {
					case <-ctx.Done():
						return now, ctx.Err()
					case <-time.After(d):
					}
				}
			}
			for tick := lastTick.Add(Tick); tick.Before(t); tick = tick.Add(Tick) {
				if err := advance(ctx, tick); err != nil {
					return now, err
				}
				clk.Set(tick)
				eng.Tick(ctx, tick)
				lastTick = tick
			}
			if err := advance(ctx, t); err != nil {
				return now, err
			}
			now = t
			clk.Set(now)
		}
		if r.Fault {
			eng.ObserveFault(ctx, r.Reading, ingest.ReasonOutOfRange)
			continue
		}
		add(r.Reading)
		eng.Observe(ctx, []yujing.Reading{r.Reading})
	}
	return now, nil
}

// summary counts the warning events per rule and level, and writes each
// in columns as wide as the longest rule name and sensor id.
type summary struct {
	ruleW, sensorW int
	counts         map[ruleLevel]map[yujing.Event]int
	events         int
}

type ruleLevel struct{ rule, level string }

func newSummary(cfg *config.Config) *summary {
	s := &summary{ruleW: 20, sensorW: 12, counts: map[ruleLevel]map[yujing.Event]int{}}
	for _, r := range cfg.Rules {
		s.ruleW = max(s.ruleW, len(r.Name))
	}
	for _, r := range cfg.Scheduled {
		s.ruleW = max(s.ruleW, len(r.Rule.Name))
	}
	for _, sn := range cfg.Sensors {
		s.sensorW = max(s.sensorW, len(sn.ID))
	}
	return s
}

// event writes a warning event and counts it.
func (s *summary) event(w io.Writer, loc *time.Location, a yujing.Alert, tr yujing.Transition) {
	s.events++
	fmt.Fprintf(w, "%s  %-*s %-*s %-10s %-6s %g\n", tr.At.In(loc).Format("2006-01-02 15:04:05"),
		s.ruleW, a.Rule, s.sensorW, a.Sensor, tr.Event, a.Level, a.Value)
	k := ruleLevel{a.Rule, a.Level.String()}
	if s.counts[k] == nil {
		s.counts[k] = map[yujing.Event]int{}
	}
	s.counts[k][tr.Event]++
}

// write writes the summary: the readings, the events per rule and level,
// and how many warnings are firing at the end.
func (s *summary) write(w io.Writer, loc *time.Location, readings, bad int, first, last time.Time, firing int) {
	keys := make([]ruleLevel, 0, len(s.counts))
	for k := range s.counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].rule != keys[j].rule {
			return keys[i].rule < keys[j].rule
		}
		return levelRank(keys[i].level) < levelRank(keys[j].level)
	})
	fmt.Fprintf(w, "\n%d readings from %s to %s, %d bad lines skipped, %d events\n", readings,
		first.In(loc).Format("2006-01-02 15:04:05"), last.In(loc).Format("2006-01-02 15:04:05 MST"), bad, s.events)
	if len(keys) > 0 {
		fmt.Fprintf(w, "%-*s %-6s %s\n", s.ruleW, "rule", "level", "events")
	}
	for _, k := range keys {
		evs := make([]string, 0, len(s.counts[k]))
		for ev, n := range s.counts[k] {
			evs = append(evs, fmt.Sprintf("%s %d", ev, n))
		}
		sort.Strings(evs)
		fmt.Fprintf(w, "%-*s %-6s %s\n", s.ruleW, k.rule, k.level, strings.Join(evs, ", "))
	}
	fmt.Fprintf(w, "firing at the end: %d\n", firing)
}

func levelRank(s string) int {
	for l := yujing.LevelNone; l <= yujing.Red; l++ {
		if l.String() == s {
			return int(l)
		}
	}
	return 99
}
