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
Scheduled rules (schedule:) are not evaluated by replay.

Flags:
`

// replayTick is how often, in the readings' time, the engine's time-driven
// checks (offline sensors, for: holds, overdue) run between readings — as
// serve's ticker does.
const replayTick = 5 * time.Second

// replayClock is the fake clock of a replay.
type replayClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *replayClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *replayClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

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
	dataDir := fs.String("data", "", "keep the state database (replay-state.db) in DIR instead of a temporary directory")
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
	if len(cfg.Scheduled) > 0 {
		fmt.Fprintf(stderr, "yujing replay: %d scheduled rule(s) not evaluated\n", len(cfg.Scheduled))
	}
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
	first := readings[0].rd.Time
	clk := &replayClock{t: first}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	type key struct{ rule, level string }
	counts := map[key]map[yujing.Event]int{}
	var events int
	eng, err := alerting.New(cfg.Rules, cfg.Routes, st, nopReplayCaller{}, reg, alerting.Options{
		Now: clk.Now, Location: loc, Inhibit: cfg.Inhibit, Overdue: cfg.Overdue,
		OnChange: func(a yujing.Alert, tr yujing.Transition) {
			events++
			fmt.Fprintf(out, "%s  %-20s %-12s %-10s %-6s %g\n", tr.At.In(loc).Format("2006-01-02 15:04:05"),
				a.Rule, a.Sensor, tr.Event, a.Level, a.Value)
			k := key{a.Rule, a.Level.String()}
			if counts[k] == nil {
				counts[k] = map[yujing.Event]int{}
			}
			counts[k][tr.Event]++
		},
	})
	if err != nil {
		return err
	}
	if err := eng.Restore(ctx); err != nil {
		return err
	}

	now := first
	lastTick := first
	wall := time.Now()
	for _, r := range readings {
		if err := ctx.Err(); err != nil {
			return err
		}
		t := r.rd.Time
		if t.After(now) {
			if factor > 0 {
				// Real time due for this reading since the start.
				due := wall.Add(time.Duration(float64(t.Sub(first)) / factor))
				if d := time.Until(due); d > 0 {
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-time.After(d):
					}
				}
			}
			for tick := lastTick.Add(replayTick); tick.Before(t); tick = tick.Add(replayTick) {
				clk.Set(tick)
				eng.Tick(ctx, tick)
				lastTick = tick
			}
			now = t
			clk.Set(now)
		}
		if r.fault {
			eng.ObserveFault(ctx, r.rd, ingest.ReasonOutOfRange)
			continue
		}
		eng.Observe(ctx, []yujing.Reading{r.rd})
	}
	eng.Tick(ctx, now)

	// Summary: events per rule and level.
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].rule != keys[j].rule {
			return keys[i].rule < keys[j].rule
		}
		return levelRank(keys[i].level) < levelRank(keys[j].level)
	})
	fmt.Fprintf(out, "\n%d readings from %s to %s, %d bad lines skipped, %d events\n", len(readings),
		first.In(loc).Format("2006-01-02 15:04:05"), now.In(loc).Format("2006-01-02 15:04:05 MST"), bad, events)
	if len(keys) > 0 {
		fmt.Fprintf(out, "%-20s %-6s %s\n", "rule", "level", "events")
	}
	for _, k := range keys {
		evs := make([]string, 0, len(counts[k]))
		for ev, n := range counts[k] {
			evs = append(evs, fmt.Sprintf("%s %d", ev, n))
		}
		sort.Strings(evs)
		fmt.Fprintf(out, "%-20s %-6s %s\n", k.rule, k.level, strings.Join(evs, ", "))
	}
	firing, err := eng.List(ctx, store.AlertFilter{States: []yujing.State{yujing.StateFiring}})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "firing at the end: %d\n", len(firing))
	return nil
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
