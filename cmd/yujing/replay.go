package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/config"
	"yujing/ingest"
	"yujing/ingest/decode"
	"yujing/ingest/decode/lineprotocol"
	"yujing/internal/fakeclock"
	"yujing/store"
	"yujing/store/sqlite"
)

const replayUsage = `Usage: yujing replay [-config FILE] [-speed N|max] [-data DIR] FILE.csv|FILE.lp

Feeds recorded readings through the configuration's rules, offline (no
broker, no HTTP, no calls), on a clock that follows the readings' times, and
prints every warning event that would have been raised, then a summary per
rule and level.

  FILE.csv   header row, then time,sensor,metric,value (time RFC 3339 or
             epoch milliseconds; metric empty for the sensor's default)
  FILE.lp    InfluxDB line protocol: the sensor tag names the sensor, each
             field is a metric, timestamps in nanoseconds

Bad lines are reported as file:line: message on stderr and skipped.

Scheduled rules (schedule:, e.g. the rainstorm preset's sums over 3 h, 6 h
and 12 h) are evaluated too: the readings go into an embedded reading store
as they are replayed, and each rule runs at every tick of its schedule
inside the recording, from the moment its longest window lies inside it
(earlier ticks would judge windows the recording cannot fill).

Flags:
`

// replayTick is how often, in the readings' time, the engine's time-driven
// checks (offline sensors, for: holds, overdue) run between readings — as
// serve's ticker does.
const replayTick = 5 * time.Second

type nopReplayCaller struct{}

func (nopReplayCaller) Call(context.Context, yujing.Call) error { return nil }

// replayReading is a reading and the line it came from.
type replayReading struct {
	line  int
	rd    yujing.Reading
	fault bool // outside the sensor's physical range: for the fault rules only
}

func replayCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, replayUsage); fs.PrintDefaults() }
	path := fs.String("config", "", "configuration file (default: the embedded demo)")
	speed := fs.String("speed", "max", "max (as fast as possible) or N: N× real time")
	dataDir := fs.String("data", "", "keep the state database (replay-state.db) and, with scheduled rules, the reading store (replay-readings.db) in DIR instead of a temporary directory")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	factor := 0.0 // 0: max
	if *speed != "max" {
		f, err := strconv.ParseFloat(*speed, 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			fmt.Fprintf(stderr, "yujing replay: -speed: want max or a positive number, got %q\n", *speed)
			return 2
		}
		factor = f
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := replay(ctx, cfg, fs.Arg(0), factor, *dataDir, stdout, stderr); err != nil {
		if errors.Is(err, context.Canceled) {
			return 130
		}
		fmt.Fprintln(stderr, "yujing replay:", err)
		return 1
	}
	return 0
}

// replay runs the readings of file through cfg's rules. factor 0 replays as
// fast as possible, else factor× real time.
func replay(ctx context.Context, cfg *config.Config, file string, factor float64, dataDir string, stdout, stderr io.Writer) error {
	reg, err := ingest.NewRegistry(cfg.Sites, cfg.Sensors, cfg.MQTT.Topics...)
	if err != nil {
		return err
	}
	readings, bad, err := readReplayFile(file, reg, stderr)
	if err != nil {
		return err
	}
	if len(readings) == 0 {
		return fmt.Errorf("%s: no readings", file)
	}
	dataDir, cleanup, err := replayDataDir(dataDir)
	if err != nil {
		return err
	}
	defer cleanup()
	st, err := sqlite.OpenState(ctx, filepath.Join(dataDir, "replay-state.db"))
	if err != nil {
		return err
	}
	defer st.Close()

	loc := cfg.Location
	if loc == nil {
		loc = time.UTC
	}
	first := readings[0].rd.Time
	clk := fakeclock.New(first)
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	evlog := newReplayLog(cfg, out, loc)
	eng, err := alerting.New(cfg.Rules, cfg.Routes, st, nopReplayCaller{}, reg, alerting.Options{
		Now: clk.Now, Location: loc, Inhibit: cfg.Inhibit, Overdue: cfg.Overdue, OnChange: evlog.change,
	})
	if err != nil {
		return err
	}
	if err := eng.Restore(ctx); err != nil {
		return err
	}
	last := first
	for _, r := range readings {
		if r.rd.Time.After(last) {
			last = r.rd.Time
		}
	}
	sched, err := newReplaySchedule(ctx, cfg, reg, eng, clk, filepath.Join(dataDir, "replay-readings.db"), first, last, loc, stderr)
	if err != nil {
		return err
	}
	defer sched.stop()

	now, err := replayReadings(ctx, readings, factor, eng, sched, clk)
	if err != nil {
		return err
	}
	eng.Tick(ctx, now)
	if err := sched.stop(); err != nil {
		return err
	}

	fmt.Fprintf(out, "\n%d readings from %s to %s, %d bad lines skipped, %d events\n", len(readings),
		first.In(loc).Format("2006-01-02 15:04:05"), now.In(loc).Format("2006-01-02 15:04:05 MST"), bad, evlog.events)
	evlog.summary()
	firing, err := eng.List(ctx, store.AlertFilter{States: []yujing.State{yujing.StateFiring}})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "firing at the end: %d\n", len(firing))
	return nil
}

// replayDataDir returns dataDir, made if missing, or a temporary
// directory when dataDir is empty; cleanup removes the temporary one.
func replayDataDir(dataDir string) (dir string, cleanup func(), err error) {
	if dataDir != "" {
		return dataDir, func() {}, os.MkdirAll(dataDir, 0o755)
	}
	dir, err = os.MkdirTemp("", "yujing-replay-")
	if err != nil {
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// replayReadings feeds the readings to the engine and the scheduled rules
// on the clock clk, running the engine's time-driven checks every
// replayTick between them; factor 0 replays as fast as possible, else
// factor× real time. It returns the time of the last reading.
func replayReadings(ctx context.Context, readings []replayReading, factor float64, eng *alerting.Engine, sched *replaySchedule, clk *fakeclock.Clock) (time.Time, error) {
	first := readings[0].rd.Time
	now := first
	lastTick := first
	wall := time.Now()
	for _, r := range readings {
		if err := ctx.Err(); err != nil {
			return now, err
		}
		t := r.rd.Time
		if t.After(now) {
			if factor > 0 {
				// Real time due for this reading since the start.
				due := wall.Add(time.Duration(float64(t.Sub(first)) / factor))
				if d := time.Until(due); d > 0 {
					select {
					case <-ctx.Done():
						return now, ctx.Err()
					case <-time.After(d):
					}
				}
			}
			for tick := lastTick.Add(replayTick); tick.Before(t); tick = tick.Add(replayTick) {
				if err := sched.advance(ctx, tick); err != nil {
					return now, err
				}
				clk.Set(tick)
				eng.Tick(ctx, tick)
				lastTick = tick
			}
			if err := sched.advance(ctx, t); err != nil {
				return now, err
			}
			now = t
			clk.Set(now)
		}
		if r.fault {
			eng.ObserveFault(ctx, r.rd, ingest.ReasonOutOfRange)
			continue
		}
		sched.add(r.rd)
		eng.Observe(ctx, []yujing.Reading{r.rd})
	}
	return now, nil
}

// replayKey is a rule and a level, for the summary.
type replayKey struct{ rule, level string }

// replayLog prints every warning event as it happens and counts them per
// rule and level for the summary.
type replayLog struct {
	out            *bufio.Writer
	loc            *time.Location
	ruleW, sensorW int // columns as wide as the longest rule name and sensor id
	counts         map[replayKey]map[yujing.Event]int
	events         int
}

func newReplayLog(cfg *config.Config, out *bufio.Writer, loc *time.Location) *replayLog {
	l := &replayLog{out: out, loc: loc, ruleW: 20, sensorW: 12, counts: map[replayKey]map[yujing.Event]int{}}
	for _, r := range cfg.Rules {
		l.ruleW = max(l.ruleW, len(r.Name))
	}
	for _, r := range cfg.Scheduled {
		l.ruleW = max(l.ruleW, len(r.Rule.Name))
	}
	for _, s := range cfg.Sensors {
		l.sensorW = max(l.sensorW, len(s.ID))
	}
	return l
}

// change prints and counts a transition (the engine's OnChange).
func (l *replayLog) change(a yujing.Alert, tr yujing.Transition) {
	l.events++
	fmt.Fprintf(l.out, "%s  %-*s %-*s %-10s %-6s %g\n", tr.At.In(l.loc).Format("2006-01-02 15:04:05"),
		l.ruleW, a.Rule, l.sensorW, a.Sensor, tr.Event, a.Level, a.Value)
	k := replayKey{a.Rule, a.Level.String()}
	if l.counts[k] == nil {
		l.counts[k] = map[yujing.Event]int{}
	}
	l.counts[k][tr.Event]++
}

// summary prints the events per rule and level.
func (l *replayLog) summary() {
	keys := make([]replayKey, 0, len(l.counts))
	for k := range l.counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].rule != keys[j].rule {
			return keys[i].rule < keys[j].rule
		}
		return levelRank(keys[i].level) < levelRank(keys[j].level)
	})
	if len(keys) > 0 {
		fmt.Fprintf(l.out, "%-*s %-6s %s\n", l.ruleW, "rule", "level", "events")
	}
	for _, k := range keys {
		evs := make([]string, 0, len(l.counts[k]))
		for ev, n := range l.counts[k] {
			evs = append(evs, fmt.Sprintf("%s %d", ev, n))
		}
		sort.Strings(evs)
		fmt.Fprintf(l.out, "%-*s %-6s %s\n", l.ruleW, k.rule, k.level, strings.Join(evs, ", "))
	}
}

func levelRank(s string) int {
	for l := yujing.LevelNone; l <= yujing.Red; l++ {
		if l.String() == s {
			return int(l)
		}
	}
	return 99
}

// readReplayFile reads a CSV or line-protocol recording. Bad lines are
// reported on stderr as file:line: message and counted.
func readReplayFile(file string, reg *ingest.Registry, stderr io.Writer) ([]replayReading, int, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	lp := strings.HasSuffix(strings.ToLower(file), ".lp")
	var (
		out    []replayReading
		bad    int
		header = !lp
		points []decode.Point
	)
	dec := lineprotocol.Default()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	n := 0
	fail := func(format string, args ...any) {
		bad++
		fmt.Fprintf(stderr, "%s:%d: %s\n", file, n, fmt.Sprintf(format, args...))
	}
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !lp {
			fields := strings.Split(line, ",")
			for i := range fields {
				fields[i] = strings.TrimSpace(fields[i])
			}
			if header {
				header = false
				if !strings.EqualFold(fields[0], "time") {
					fail("want a header row time,sensor,metric,value")
				}
				continue
			}
			if len(fields) != 4 {
				fail("want time,sensor,metric,value, got %d fields", len(fields))
				continue
			}
			ts, err := parseReplayTime(fields[0])
			if err != nil {
				fail("%v", err)
				continue
			}
			v, err := strconv.ParseFloat(fields[3], 64)
			if err != nil {
				fail("value %q is not a number", fields[3])
				continue
			}
			if r, msg := bindReplay(reg, fields[1], fields[2], v, ts); msg != "" {
				fail("%s", msg)
			} else {
				r.line = n
				out = append(out, r)
			}
			continue
		}
		points, err = dec.Decode(points[:0], []byte(line))
		if err != nil {
			fail("%s", strings.TrimPrefix(err.Error(), "line 1: "))
			continue
		}
		for _, p := range points {
			if p.Sensor == "" {
				fail("no sensor tag")
				break
			}
			if p.Time.IsZero() {
				fail("no timestamp")
				break
			}
			if r, msg := bindReplay(reg, p.Sensor, p.Metric, p.Value, p.Time); msg != "" {
				fail("%s", msg)
			} else {
				r.line = n
				out = append(out, r)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, bad, fmt.Errorf("%s: %w", file, err)
	}
	return out, bad, nil
}

// bindReplay checks a value as the subscriber does: known sensor and metric
// (after the sensor's metric map), finite, within the physical range (a
// value outside it is kept, marked for the fault rules).
func bindReplay(reg *ingest.Registry, sensor, metric string, v float64, ts time.Time) (replayReading, string) {
	sn, ok := reg.ByID(sensor)
	if !ok {
		return replayReading{}, fmt.Sprintf("unknown sensor %q", sensor)
	}
	if metric == "" {
		metric = sn.Metric
	}
	if m, ok := sn.MetricMap[metric]; ok {
		metric = m
	}
	if !sn.HasMetric(metric) {
		return replayReading{}, fmt.Sprintf("sensor %s has no metric %q", sn.ID, metric)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return replayReading{}, fmt.Sprintf("%s: value is not finite", metric)
	}
	rd := yujing.Reading{Sensor: sn.ID, Site: sn.Site, Family: sn.Family, Metric: metric, Unit: sn.UnitOf(metric),
		Value: v, Time: ts.UTC(), Region: sn.Region, Industry: sn.Industry}
	fault := (sn.Min != nil && v < *sn.Min) || (sn.Max != nil && v > *sn.Max)
	return replayReading{rd: rd, fault: fault}, ""
}

func parseReplayTime(s string) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: want RFC 3339 or epoch milliseconds", s)
	}
	return t.UTC(), nil
}

// replaySchedule runs the scheduled (cron) rules over the replayed
// history with the scheduler serve uses (alerting.Scheduler) on the
// replay's fake clock: the replayed readings go into an embedded reading
// store, and each rule gets its own scheduler, started once its longest
// window lies inside the recording and then moved from tick to tick.
type replaySchedule struct {
	clk     *fakeclock.Clock
	store   *sqlite.Readings
	pending []yujing.Reading // replayed, not yet in the store
	rules   []*replayRule
	running int             // schedulers started
	runCtx  context.Context // theirs: ends with stop, not with Ctrl-C, so that a tick is never left half done
	cancel  context.CancelFunc
	done    sync.WaitGroup
	stopped bool
}

type replayRule struct {
	s       *alerting.Scheduler
	sched   interface{ Next(time.Time) time.Time }
	from    time.Time // its first moment: the recording's start + its longest window
	next    time.Time // its next tick once started
	started bool
}

// newReplaySchedule prepares the configuration's scheduled rules for a
// recording from first to last; nil rules: nothing to do.
func newReplaySchedule(ctx context.Context, cfg *config.Config, reg *ingest.Registry, eng *alerting.Engine, clk *fakeclock.Clock,
	path string, first, last time.Time, loc *time.Location, stderr io.Writer) (*replaySchedule, error) {
	rs := &replaySchedule{clk: clk}
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
		cs, err := alerting.ParseSchedule(sr.Schedule, loc)
		if err != nil {
			rs.stop()
			return nil, err
		}
		longest := sr.Window
		for _, l := range yujing.Levels {
			longest = max(longest, sr.WindowOf(l))
		}
		r := &replayRule{s: s, sched: cs, from: first.Add(longest)}
		if r.from.After(last) {
			fmt.Fprintf(stderr, "yujing replay: scheduled rule %s not evaluated: its %s window is longer than the recording (%s)\n",
				sr.Rule.Name, alerting.FormatWindow(longest), last.Sub(first))
			continue
		}
		fmt.Fprintf(stderr, "yujing replay: scheduled rule %s (%s) evaluated at its ticks from %s, once its %s window is inside the recording\n",
			sr.Rule.Name, sr.Schedule, r.from.In(loc).Format("2006-01-02 15:04"), alerting.FormatWindow(longest))
		rs.rules = append(rs.rules, r)
	}
	return rs, nil
}

// add queues a replayed reading for the store.
func (rs *replaySchedule) add(rd yujing.Reading) {
	if rs.store != nil {
		rs.pending = append(rs.pending, rd)
	}
}

// advance runs, in time order, every start and tick of the rules up to
// and including to, each to its end: the clock is set to it and the
// schedulers are waited for until every one is waiting for the clock again.
func (rs *replaySchedule) advance(ctx context.Context, to time.Time) error {
	for {
		var r *replayRule
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
func (rs *replaySchedule) stop() error {
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
