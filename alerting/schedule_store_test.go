package alerting_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/internal/testenv"
	"yujing/store"
	"yujing/store/influx"
	"yujing/store/sqlite"
)

// readingStore is what both reading stores offer scheduled rules: one
// sensor's aggregate per query (Aggregate) and many sensors' in one
// (AggregateBySensor).
type readingStore interface {
	alerting.Aggregator
	Aggregate(ctx context.Context, sensor, metric string, fn store.Func, from, to time.Time) (float64, int, error)
	Write(ctx context.Context, rs []yujing.Reading) error
}

// grouped passes the scheduler's grouped queries to the store and counts
// them.
type grouped struct {
	s     readingStore
	calls atomic.Int64
}

func (g *grouped) AggregateBySensor(ctx context.Context, metric string, fn store.Func, from, to time.Time, sensors []string) (map[string]float64, error) {
	g.calls.Add(1)
	return g.s.AggregateBySensor(ctx, metric, fn, from, to, sensors)
}

// perSensor answers the scheduler's grouped question with one Aggregate
// query per sensor, as scheduled rules asked before they were grouped:
// the baseline the grouped path must agree with and is measured against.
type perSensor struct {
	s     readingStore
	calls atomic.Int64
}

func (p *perSensor) AggregateBySensor(ctx context.Context, metric string, fn store.Func, from, to time.Time, sensors []string) (map[string]float64, error) {
	out := make(map[string]float64, len(sensors))
	for _, id := range sensors {
		p.calls.Add(1)
		v, n, err := p.s.Aggregate(ctx, id, metric, fn, from, to)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			out[id] = v
		}
	}
	return out, nil
}

// tickObs records what a tick hands the engine, each value with the
// thresholds it is judged on, exactly (floats in full); List answers a
// fixed set of open alerts, page by page.
type tickObs struct {
	open []yujing.Alert

	mu  sync.Mutex
	got []string
}

func (o *tickObs) ObserveDerived(_ context.Context, r *alerting.Rule, rd yujing.Reading) {
	var judged []string // the levels with a threshold: one, or none, when the scheduler decided the level
	for l := yujing.Blue; l <= yujing.Red; l++ {
		if r.Above.Set[l] || r.Below.Set[l] {
			judged = append(judged, l.String())
		}
	}
	line := fmt.Sprintf("%s %s judged=%s %s %s %s=%s %s above%v below%v hyst %s", r.Name, rd.Sensor, strings.Join(judged, ","),
		rd.Site, rd.Family, rd.Metric, strconv.FormatFloat(rd.Value, 'g', -1, 64), rd.Unit,
		r.Above, r.Below, strconv.FormatFloat(r.Hysteresis, 'g', -1, 64))
	if !rd.Time.IsZero() {
		line += " at " + rd.Time.UTC().Format(time.RFC3339Nano)
	}
	o.mu.Lock()
	o.got = append(o.got, line)
	o.mu.Unlock()
}

func (o *tickObs) List(_ context.Context, f store.AlertFilter) ([]yujing.Alert, error) {
	var out []yujing.Alert
	for _, a := range o.open {
		if a.Rule == f.Rule && (f.Sensor == "" || a.Sensor == f.Sensor) {
			out = append(out, a)
		}
	}
	out = out[min(f.Offset, len(out)):]
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

func (o *tickObs) taken() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.got
	o.got = nil
	return out
}

// tiers builds thresholds from level → value.
func tiers(vs map[yujing.Level]float64) alerting.Tiers {
	var t alerting.Tiers
	for l, v := range vs {
		t.Value[l], t.Set[l] = v, true
	}
	return t
}

// rainstorm is the CMA rainstorm preset (configs/presets/rainstorm.yaml):
// blue 50 mm in 12 h, yellow 50 mm in 6 h, orange 50 mm in 3 h, red 100 mm
// in 3 h, each level on its own window.
func rainstorm() *alerting.ScheduledRule {
	r := &alerting.ScheduledRule{Schedule: "*/5 * * * *", Aggregate: store.FuncSum, Window: 3 * time.Hour,
		Rule: alerting.Rule{Name: "rainstorm", Match: alerting.Selector{Family: yujing.FamilyWeather}, Metric: "rain", Hysteresis: 5,
			Above: tiers(map[yujing.Level]float64{yujing.Blue: 50, yujing.Yellow: 50, yujing.Orange: 50, yujing.Red: 100})}}
	r.Windows[yujing.Blue], r.Windows[yujing.Yellow] = 12*time.Hour, 6*time.Hour
	return r
}

// gauges returns n rain gauges RG-00000… on sites of 10, and one water
// level sensor the rules' match leaves out.
func gauges(n int) schedCatalog {
	cat := make(schedCatalog, 0, n+1)
	for i := range n {
		cat = append(cat, yujing.Sensor{ID: fmt.Sprintf("RG-%05d", i), Site: fmt.Sprintf("st-%d", i/10),
			Family: yujing.FamilyWeather, Metric: "rain", Unit: "mm"})
	}
	return append(cat, yujing.Sensor{ID: "WL-1", Site: "st-0", Family: yujing.FamilyFlood, Metric: "rain", Unit: "mm"})
}

// openStores starts InfluxDB 1.8 and an embedded reading store.
func openStores(tb testing.TB) []struct {
	name string
	s    readingStore
} {
	tb.Helper()
	db := testenv.InfluxDB(tb)
	iw, err := influx.New(influx.Config{URL: db.URL, Bucket: db.Bucket(), Timeout: 60 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(iw.Close)
	rs, err := sqlite.OpenReadings(context.Background(), filepath.Join(tb.TempDir(), "readings.db"), 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rs.Close() })
	return []struct {
		name string
		s    readingStore
	}{{"influx", iw}, {"sqlite", rs}}
}

// TestScheduledGroupedMatchesPerSensor evaluates scheduled rules tick by
// tick against InfluxDB 1.8 and the embedded store, once with one grouped
// query per window (the scheduler's path) and once with one query per
// sensor (the path before), and checks that the engine is handed exactly
// the same values — sensor, metric, value to the bit, unit, thresholds —
// with the same counts of sensors and empty windows, while the grouped
// path asks once per window. The gauges cover every level of the CMA
// rainstorm preset, rain stopping (downgrades, resolves under
// hysteresis), open alerts at every level, a gap that empties the short
// windows (a held level without data), a gauge with one reading (no
// rate), one with none, one whose family changed (a second InfluxDB
// measurement), readings on the windows' bounds, per-sensor overrides, a
// learned baseline, a calendar window and every aggregate.
func TestScheduledGroupedMatchesPerSensor(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const n = 48
	cat := gauges(n)
	loc := shanghai(t)
	// A fixed day long past; the scheduler never reads the clock for it.
	at0 := time.Date(2025, 7, 20, 21, 0, 0, 0, loc)
	var readings []yujing.Reading
	for i := range n {
		sn := cat[i]
		rate := float64(i%12) * 0.5 // mm per 10 minutes: 3 h sums 0…99, 12 h 0…396
		if i%12 == 11 {
			rate = 6.1 // red
		}
		stop := at0.Add(-3*time.Hour + time.Duration(i%7)*40*time.Minute) // the rain stops
		for ts := at0.Add(-26 * time.Hour); ts.Before(at0.Add(4 * time.Hour)); ts = ts.Add(10 * time.Minute) {
			switch {
			case i%8 == 0: // never reported
				continue
			case i%8 == 5 && !ts.Equal(at0.Add(-90*time.Minute)): // one reading
				continue
			case i%8 == 3 && !ts.Before(at0.Add(-4*time.Hour)) && ts.Before(at0.Add(4*time.Hour)): // a gap
				continue
			}
			v := rate + float64((i*7+int(ts.Unix()/600))%10)*0.1 // uneven, so that sums are inexact
			if !ts.Before(stop) {
				v = 0
			}
			rd := yujing.Reading{Sensor: sn.ID, Site: sn.Site, Family: sn.Family, Metric: "rain", Unit: "mm", Value: v, Time: ts}
			if i == 7 && !ts.Before(at0.Add(-time.Hour)) {
				rd.Family = yujing.FamilyFlood // re-registered: another measurement
			}
			readings = append(readings, rd)
		}
	}
	// The neighbours: the water level sensor, another metric of a gauge.
	for ts := at0.Add(-26 * time.Hour); ts.Before(at0); ts = ts.Add(time.Hour) {
		readings = append(readings,
			yujing.Reading{Sensor: "WL-1", Site: "st-0", Family: yujing.FamilyFlood, Metric: "rain", Unit: "mm", Value: 1000, Time: ts},
			yujing.Reading{Sensor: "RG-00001", Site: "st-0", Family: yujing.FamilyWeather, Metric: "temp", Unit: "℃", Value: -1000, Time: ts})
	}

	storm := rainstorm()
	storm.Rule.Overrides = map[string]alerting.Override{"RG-00009": {Above: new(tiers(map[yujing.Level]float64{
		yujing.Blue: 30, yujing.Yellow: 40, yujing.Orange: 45, yujing.Red: 60}))}}
	hourly := rainRule("rain-1h", "*/5 * * * *", time.Hour)
	hourly.Rule.Overrides = map[string]alerting.Override{"RG-00002": {Hysteresis: new(2.5)}}
	simple := func(name string, fn store.Func, w time.Duration, above, below map[yujing.Level]float64) *alerting.ScheduledRule {
		return &alerting.ScheduledRule{Schedule: "*/5 * * * *", Aggregate: fn, Window: w,
			Rule: alerting.Rule{Name: name, Match: alerting.Selector{Family: yujing.FamilyWeather}, Metric: "rain",
				Above: tiers(above), Below: tiers(below), Hysteresis: 0.5}}
	}
	learned := simple("rain-over-dry", store.FuncSum, time.Hour, map[yujing.Level]float64{yujing.Yellow: 3}, nil)
	learned.Baseline = &alerting.Baseline{Aggregate: store.FuncMin, Window: 12 * time.Hour}
	configured := simple("rain-over-8", store.FuncSum, 3*time.Hour, map[yujing.Level]float64{yujing.Blue: 1}, nil)
	configured.Baseline = &alerting.Baseline{Value: new(8.0)}
	daily := simple("rain-today", store.FuncSum, 0, map[yujing.Level]float64{yujing.Blue: 20}, nil)
	daily.Calendar = "day"
	rules := []*alerting.ScheduledRule{storm, hourly, learned, configured, daily,
		simple("rain-mean", store.FuncMean, 3*time.Hour, map[yujing.Level]float64{yujing.Blue: 1.5, yujing.Red: 4}, nil),
		simple("rain-max", store.FuncMax, 2*time.Hour, map[yujing.Level]float64{yujing.Orange: 5}, nil),
		simple("rain-min", store.FuncMin, 2*time.Hour, nil, map[yujing.Level]float64{yujing.Blue: 0.05}),
		simple("rain-last", store.FuncLast, time.Hour, map[yujing.Level]float64{yujing.Yellow: 2}, nil),
		simple("completeness", store.FuncCount, time.Hour, nil, map[yujing.Level]float64{yujing.Yellow: 5, yujing.Red: 1}),
		simple("rain-rising", store.FuncRate, 30*time.Minute, map[yujing.Level]float64{yujing.Blue: 0.001}, map[yujing.Level]float64{yujing.Blue: -0.001}),
	}
	// Open alerts of the rainstorm rule at every level, as after earlier
	// ticks (and one of a sensor the rule no longer selects).
	var open []yujing.Alert
	for i := range n {
		if l := yujing.Level(i % 5); l.Valid() { // none, blue, yellow, orange, red
			open = append(open, yujing.Alert{ID: int64(i + 1), Rule: "rainstorm", Sensor: cat[i].ID, Level: l, State: yujing.StateFiring})
		}
	}
	open = append(open, yujing.Alert{ID: 1000, Rule: "rainstorm", Sensor: "RG-gone", Level: yujing.Red, State: yujing.StateFiring})
	ticks := []time.Time{at0, at0.Add(5 * time.Minute), at0.Add(time.Hour), at0.Add(2*time.Hour + 30*time.Minute), at0.Add(4 * time.Hour)}

	for _, st := range openStores(t) {
		if err := st.s.Write(ctx, readings); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		g, p := &grouped{s: st.s}, &perSensor{s: st.s}
		gObs, pObs := &tickObs{open: open}, &tickObs{open: open}
		gs, err := alerting.NewScheduler(rules, g, gObs, cat, alerting.SchedulerOptions{Location: loc})
		if err != nil {
			t.Fatal(err)
		}
		ps, err := alerting.NewScheduler(rules, p, pObs, cat, alerting.SchedulerOptions{Location: loc})
		if err != nil {
			t.Fatal(err)
		}
		levels := map[string]bool{} // what the rainstorm rule decided, over all ticks
		for _, r := range rules {
			for _, at := range ticks {
				name := fmt.Sprintf("%s: %s at %s", st.name, r.Rule.Name, at.Format("15:04"))
				g.calls.Store(0)
				gSensors, gNoData, gErrs := gs.EvaluateAt(ctx, r.Rule.Name, at)
				pSensors, pNoData, pErrs := ps.EvaluateAt(ctx, r.Rule.Name, at)
				if len(gErrs) > 0 || len(pErrs) > 0 {
					t.Fatalf("%s: errors grouped %v, per sensor %v", name, gErrs, pErrs)
				}
				if gSensors != n || pSensors != n || gNoData != pNoData {
					t.Errorf("%s: grouped %d sensors %d without data, per sensor %d and %d, want %d sensors",
						name, gSensors, gNoData, pSensors, pNoData, n)
				}
				got, want := gObs.taken(), pObs.taken()
				if !slices.Equal(got, want) {
					t.Errorf("%s: grouped and per-sensor values differ:\ngrouped\n\t%s\nper sensor\n\t%s",
						name, strings.Join(onlyIn(got, want), "\n\t"), strings.Join(onlyIn(want, got), "\n\t"))
				}
				if len(got) == 0 {
					t.Errorf("%s: nothing observed: the comparison proves nothing", name)
				}
				windows := map[time.Duration]bool{}
				for l := yujing.Blue; l <= yujing.Red; l++ {
					if r.Rule.Above.Set[l] || r.Rule.Below.Set[l] {
						windows[r.WindowOf(l)] = true
					}
				}
				wantCalls := int64(len(windows))
				if r.Baseline != nil && r.Baseline.Value == nil {
					wantCalls++
				}
				if c := g.calls.Load(); c != wantCalls {
					t.Errorf("%s: %d grouped queries, want %d (one per window)", name, c, wantCalls)
				}
				if r == storm {
					for _, line := range got {
						levels[strings.Fields(line)[2]] = true // judged=<the level decided>
					}
				}
			}
		}
		if len(levels) < 5 {
			t.Errorf("%s: the rainstorm rule decided only %d distinct levels (with resolve): %v", st.name, len(levels), levels)
		}
	}
}

// onlyIn returns the lines of a that b lacks, or a's length when both
// hold the same lines in another order.
func onlyIn(a, b []string) []string {
	var out []string
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return []string{fmt.Sprintf("the same %d values in another order", len(a))}
	}
	return out
}
