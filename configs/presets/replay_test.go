package presets_test

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/alertingtest"
	"yujing/alerting/lifecycle"
	"yujing/config"
	"yujing/configs/presets"
	"yujing/ingest"
	"yujing/internal/fakeclock"
	"yujing/sitestatus"
	"yujing/store/sqlite"
	"yujing/store/sqlstate"
)

// replay runs a preset through the real engine with a real state database
// and reading store on a fake clock: readings are observed one by one (and
// written to the store, for scheduled rules), ticks check what depends on
// time passing. It records every transition and call.
type replay struct {
	t        *testing.T
	cfg      *config.Config
	loc      *time.Location
	clk      *fakeclock.Clock
	eng      *alertingtest.Stack
	catalog  *ingest.Registry
	readings *sqlite.Readings
	state    *sqlstate.State
	statuses *sitestatus.Board // the sites' production statuses the engine sees
	start    time.Time

	mu          sync.Mutex
	transitions []string
	calls       []string
	alerts      map[string]yujing.Alert // by rule and sensor: the latest state
}

// newReplay loads configs/presets/<file> and builds the engine at start.
func newReplay(t *testing.T, file string, start time.Time, opts ...func(*alerting.Options)) *replay {
	t.Helper()
	data, err := fs.ReadFile(presets.FS, file)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("configs/presets/"+file, data, config.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Location.String() != "Asia/Shanghai" {
		t.Fatalf("%s: time zone %s, want Asia/Shanghai", file, cfg.Location)
	}
	dir := t.TempDir()
	ctx := t.Context()
	readings, err := sqlite.OpenReadings(ctx, filepath.Join(dir, "readings.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { readings.Close() })
	state, err := sqlite.OpenState(ctx, filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { state.Close() })
	catalog, err := ingest.NewRegistry(cfg.Sites, cfg.Sensors)
	if err != nil {
		t.Fatal(err)
	}
	r := &replay{t: t, cfg: cfg, loc: cfg.Location, clk: fakeclock.New(start), catalog: catalog,
		readings: readings, state: state, start: start, alerts: map[string]yujing.Alert{}}
	r.statuses, err = sitestatus.Open(ctx, state, func(site string) bool { _, ok := catalog.Site(site); return ok }, r.clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	o := alerting.Options{Now: r.clk.Now, Location: r.loc, Overdue: cfg.Overdue, Statuses: r.statuses}
	for _, f := range opts {
		f(&o)
	}
	r.eng = alertingtest.New(t, cfg.Rules, state, catalog, alertingtest.Options{Engine: o,
		Lifecycle: lifecycle.Options{OnChange: r.change}, Routes: cfg.Routes, Calls: r})
	return r
}

func (r *replay) Call(_ context.Context, c yujing.Call) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("%s %s %s %s %s", c.Alert.Rule, c.Alert.Sensor, c.Person.ID, c.Event, c.Alert.Level))
	return nil
}

func (r *replay) change(c lifecycle.Change) {
	a, tr := c.Alert, c.Transition
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts[a.Rule+" "+a.Sensor] = a
	r.transitions = append(r.transitions, fmt.Sprintf("%s %s %s %s %s %g",
		tr.At.In(r.loc).Format("01-02 15:04"), a.Rule, a.Sensor, tr.Event, a.Level, math.Round(tr.Value*1000)/1000))
}

// at is start plus d.
func (r *replay) at(d time.Duration) time.Time { return r.start.Add(d) }

// observe sets the clock to at and observes one reading of sensor.
func (r *replay) observe(at time.Time, sensor, metric string, v float64) {
	r.t.Helper()
	if at.Before(r.clk.Now()) {
		r.t.Fatalf("reading of %s at %s: the replay's clock is at %s already; observe in time order", sensor, at.In(r.loc), r.clk.Now().In(r.loc))
	}
	sn, ok := r.catalog.ByID(sensor)
	if !ok {
		r.t.Fatalf("no sensor %s in the preset", sensor)
	}
	if !sn.HasMetric(metric) {
		r.t.Fatalf("sensor %s does not report %s", sensor, metric)
	}
	rd := yujing.Reading{Sensor: sn.ID, Site: sn.Site, Family: sn.Family, Metric: metric, Unit: sn.UnitOf(metric), Value: v, Time: at}
	if err := r.readings.Write(r.t.Context(), []yujing.Reading{rd}); err != nil {
		r.t.Fatal(err)
	}
	r.clk.Set(at)
	r.eng.Observe(r.t.Context(), []yujing.Reading{rd})
}

// series observes v(t) for sensor's metric every step in [from, to).
func (r *replay) series(from, to time.Time, step time.Duration, sensor, metric string, v func(t time.Time) float64) {
	r.t.Helper()
	for ts := from; ts.Before(to); ts = ts.Add(step) {
		r.observe(ts, sensor, metric, v(ts))
	}
}

// tick sets the clock to at and lets the engine check what time decides.
func (r *replay) tick(at time.Time) {
	r.clk.Set(at)
	r.eng.Tick(r.t.Context(), at)
}

// schedule runs the preset's scheduled rules (those named in only, when
// given) on the fake clock from the
// clock's time until until, moving the clock step at a time (each rule's
// ticks fall where its cron spec says). Before each step, feed (when not
// nil) observes the readings of [from, to) in time order. It stops the
// scheduler before it returns.
func (r *replay) schedule(until time.Time, step time.Duration, feed func(from, to time.Time), only ...string) {
	r.t.Helper()
	rules := r.cfg.Scheduled
	if len(only) > 0 {
		rules = nil
		for _, sr := range r.cfg.Scheduled {
			if slices.Contains(only, sr.Rule.Name) {
				rules = append(rules, sr)
			}
		}
	}
	sched, err := alerting.NewScheduler(rules, r.readings, r.eng, r.catalog, alerting.SchedulerOptions{
		Clock: r.clk, Location: r.loc, Registerer: prometheus.NewRegistry()})
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sched.Run(ctx); close(done) }()
	defer func() { stop(); <-done }()
	cur := r.clk.Now()
	for {
		if !r.clk.BlockUntil(len(rules), 10*time.Second) {
			r.t.Fatalf("at %s the scheduler did not come back to wait for the clock", r.clk.Now().In(r.loc))
		}
		if !cur.Before(until) {
			break
		}
		if feed != nil {
			feed(cur, cur.Add(step))
		}
		cur = cur.Add(step)
		r.clk.Set(cur)
	}
	for _, h := range sched.Health() {
		if h.Health != alerting.HealthOK || h.Errors != 0 {
			r.t.Errorf("health of %s: %+v", h.Rule, h)
		}
	}
}

// want compares the transitions of rules (all when none named) with want,
// one "01-02 15:04 rule sensor event level value" a line.
func (r *replay) want(want []string, rules ...string) {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var got []string
	for _, tr := range r.transitions {
		if len(rules) == 0 || containsField(tr, 2, rules) {
			got = append(got, tr)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		r.t.Errorf("transitions of %v:\n%s\nwant:\n%s", rules, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// wantCalls compares the calls about rules with want, one "rule sensor
// person event level" a line.
func (r *replay) wantCalls(want []string, rules ...string) {
	r.t.Helper()
	r.eng.Step(r.t.Context()) // the calls of every change so far
	r.mu.Lock()
	defer r.mu.Unlock()
	var got []string
	for _, c := range r.calls {
		if len(rules) == 0 || containsField(c, 0, rules) {
			got = append(got, c)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		r.t.Errorf("calls about %v:\n%s\nwant:\n%s", rules, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// alert returns the latest state of the warning of rule and sensor.
func (r *replay) alert(rule, sensor string) yujing.Alert {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.alerts[rule+" "+sensor]
	if !ok {
		r.t.Fatalf("no warning of %s for %s", rule, sensor)
	}
	return a
}

// containsField reports whether the space-separated field i of line is
// one of names (field 2 of a transition line is its rule: the date and the
// time come first).
func containsField(line string, i int, names []string) bool {
	f := strings.Fields(line)
	if i >= len(f) {
		return false
	}
	for _, n := range names {
		if f[i] == n {
			return true
		}
	}
	return false
}
