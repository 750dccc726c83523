package alerting_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/alertingtest"
	"yujing/alerting/lifecycle"
	"yujing/internal/fakeclock"
	"yujing/store"
	"yujing/store/sqlite"
)

// schedQuery is one sensor's part of an AggregateBySensor call.
type schedQuery struct {
	sensor, metric string
	fn             store.Func
	from, to       time.Time
}

// schedAgg is a fake reading store: answer decides each sensor's part of
// every AggregateBySensor call (n = 0: no data); one failing part fails
// the call, as one failing query does. calls counts the calls.
type schedAgg struct {
	mu      sync.Mutex
	queries []schedQuery
	calls   int
	answer  func(q schedQuery) (float64, int, error)
}

func (a *schedAgg) AggregateBySensor(_ context.Context, metric string, fn store.Func, from, to time.Time, sensors []string) (map[string]float64, error) {
	a.mu.Lock()
	a.calls++
	answer := a.answer
	a.mu.Unlock()
	out := map[string]float64{}
	var failed error
	for _, sensor := range sensors {
		q := schedQuery{sensor, metric, fn, from, to}
		a.mu.Lock()
		a.queries = append(a.queries, q)
		a.mu.Unlock()
		v, n, err := 1.0, 1, error(nil)
		if answer != nil {
			v, n, err = answer(q)
		}
		if err != nil && failed == nil {
			failed = err
		}
		if n > 0 {
			out[sensor] = v
		}
	}
	if failed != nil {
		return nil, failed
	}
	return out, nil
}

func (a *schedAgg) taken() []schedQuery {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.queries
	a.queries = nil
	return out
}

// schedObs records what the scheduler hands the engine.
type schedObs struct {
	mu      sync.Mutex
	got     []yujing.Reading
	listErr error // what List answers
}

func (o *schedObs) ObserveDerived(_ context.Context, _ *alerting.Rule, rd yujing.Reading) {
	o.mu.Lock()
	o.got = append(o.got, rd)
	o.mu.Unlock()
}

func (o *schedObs) List(context.Context, store.AlertFilter) ([]yujing.Alert, error) {
	return nil, o.listErr
}

func (o *schedObs) taken() []yujing.Reading {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.got
	o.got = nil
	return out
}

// schedCatalog is a fixed list of sensors.
type schedCatalog []yujing.Sensor

func (c schedCatalog) Sensors() []yujing.Sensor { return c }
func (c schedCatalog) ByID(id string) (*yujing.Sensor, bool) {
	for i := range c {
		if c[i].ID == id {
			return &c[i], true
		}
	}
	return nil, false
}
func (c schedCatalog) Site(id string) (yujing.Site, bool) {
	return yujing.Site{ID: id, Name: id}, true
}

var rainGauges = schedCatalog{
	{ID: "RG-1", Site: "st-1", Family: yujing.FamilyWeather, Metric: "rain", Unit: "mm"},
	{ID: "RG-2", Site: "st-2", Family: yujing.FamilyWeather, Metric: "rain", Unit: "mm"},
	{ID: "WL-1", Site: "st-1", Family: yujing.FamilyFlood, Metric: "level", Unit: "m"},
}

func shanghai(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func rainRule(name, spec string, window time.Duration, sensors ...string) *alerting.ScheduledRule {
	r := &alerting.ScheduledRule{Schedule: spec, Aggregate: store.FuncSum, Window: window,
		Rule: alerting.Rule{Name: name, Sensors: sensors, Match: alerting.Selector{Family: yujing.FamilyWeather}}}
	r.Rule.Above.Value[yujing.Blue], r.Rule.Above.Set[yujing.Blue] = 50, true
	r.Rule.Above.Value[yujing.Red], r.Rule.Above.Set[yujing.Red] = 100, true
	return r
}

// runScheduler starts s on clk and waits until every rule waits for its
// first tick; it stops s when the test ends.
func runScheduler(t *testing.T, s *alerting.Scheduler, clk *fakeclock.Clock) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	settle(t, clk, len(s.Rules()))
}

// settle waits until n rules wait for the clock again, i.e. have finished
// reacting to its last move.
func settle(t *testing.T, clk *fakeclock.Clock, n int) {
	t.Helper()
	if !clk.BlockUntil(n, 10*time.Second) {
		t.Fatalf("the scheduler did not come back to wait for the clock (%d of %d waiting)", clk.Waiters(), n)
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name, rule string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "rule" && lp.GetValue() == rule {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("metric %s{rule=%q} not found", name, rule)
	return 0
}

// TestSchedulerTicksInShanghai drives three rules across midnight in
// Asia/Shanghai: every 30 minutes, daily at midnight (local), and daily at
// midnight UTC (08:00 local, by CRON_TZ).
func TestSchedulerTicksInShanghai(t *testing.T) {
	loc := shanghai(t)
	start := time.Date(2024, 12, 31, 23, 10, 0, 0, loc)
	clk := fakeclock.New(start)
	agg, obs := &schedAgg{}, &schedObs{}
	rules := []*alerting.ScheduledRule{
		rainRule("half-hourly", "*/30 * * * *", time.Hour, "RG-1"),
		rainRule("midnight", "0 0 * * *", 24*time.Hour, "RG-1"),
		rainRule("utc-midnight", "CRON_TZ=UTC 0 0 * * *", 2*time.Hour, "RG-1"),
	}
	s, err := alerting.NewScheduler(rules, agg, obs, rainGauges, alerting.SchedulerOptions{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	runScheduler(t, s, clk)

	if h := s.Health(); h[0].Health != alerting.HealthUnknown || !h[0].NextRun.Equal(time.Date(2024, 12, 31, 23, 30, 0, 0, loc)) {
		t.Errorf("before the first tick: %+v", h[0])
	}
	ticks := map[time.Duration][]time.Time{} // window → ends of the windows asked for
	for clk.Now().Before(time.Date(2025, 1, 1, 8, 10, 0, 0, loc)) {
		clk.Advance(10 * time.Minute)
		settle(t, clk, len(rules))
		for _, q := range agg.taken() {
			if q.sensor != "RG-1" || q.metric != "rain" || q.fn != store.FuncSum {
				t.Errorf("unexpected query %+v", q)
			}
			w := q.to.Sub(q.from)
			ticks[w] = append(ticks[w], q.to)
		}
	}
	at := func(day, h, m int) time.Time { return time.Date(2025, 1, day, h, m, 0, 0, loc) }
	var want []time.Time
	for tk := time.Date(2024, 12, 31, 23, 30, 0, 0, loc); !tk.After(at(1, 8, 0)); tk = tk.Add(30 * time.Minute) {
		want = append(want, tk)
	}
	for _, tc := range []struct {
		window time.Duration
		want   []time.Time
	}{
		{time.Hour, want},
		{24 * time.Hour, []time.Time{at(1, 0, 0)}},
		{2 * time.Hour, []time.Time{at(1, 8, 0)}},
	} {
		got := ticks[tc.window]
		if len(got) != len(tc.want) {
			t.Errorf("window %s: %d ticks %v, want %d %v", tc.window, len(got), got, len(tc.want), tc.want)
			continue
		}
		for i := range got {
			if !got[i].Equal(tc.want[i]) {
				t.Errorf("window %s: tick %d at %s, want %s", tc.window, i, got[i].In(loc), tc.want[i])
			}
		}
	}

	rds := obs.taken()
	if len(rds) != len(want)+2 {
		t.Fatalf("%d derived readings, want %d", len(rds), len(want)+2)
	}
	first := rds[0]
	wantRd := yujing.Reading{Sensor: "RG-1", Site: "st-1", Family: yujing.FamilyWeather, Metric: "rain_sum_1h", Unit: "mm", Value: 1}
	if first.Time.Equal(want[0]) {
		first.Time = time.Time{}
	}
	if first != wantRd {
		t.Errorf("first derived reading %+v, want %+v at %s", rds[0], wantRd, want[0])
	}
	h := s.Health()
	if h[1].Health != alerting.HealthOK || h[1].Runs != 1 || !h[1].LastRun.Equal(at(1, 0, 0)) ||
		!h[1].NextRun.Equal(at(2, 0, 0)) || h[1].Sensors != 1 || h[1].Rule != "midnight" {
		t.Errorf("health of midnight: %+v", h[1])
	}
}

// TestSchedulerFailingStore: a failing query records the rule's health,
// the sensors it was for are skipped at that tick, the other rules carry
// on, and the next tick runs.
func TestSchedulerFailingStore(t *testing.T) {
	loc := shanghai(t)
	clk := fakeclock.New(time.Date(2025, 6, 1, 12, 0, 30, 0, loc))
	down := true
	agg := &schedAgg{answer: func(q schedQuery) (float64, int, error) {
		if down && q.sensor == "RG-1" {
			return 0, 0, errors.New("connection refused")
		}
		return 7, 3, nil
	}}
	obs := &schedObs{}
	reg := prometheus.NewRegistry()
	rules := []*alerting.ScheduledRule{
		rainRule("rain-3h", "*/5 * * * *", 3*time.Hour), // RG-1 and RG-2
		rainRule("rain-1h", "*/5 * * * *", time.Hour, "RG-2"),
	}
	s, err := alerting.NewScheduler(rules, agg, obs, rainGauges, alerting.SchedulerOptions{Clock: clk, Registerer: reg, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	runScheduler(t, s, clk)

	clk.Advance(5 * time.Minute) // 12:05:30: the 12:05 tick
	settle(t, clk, 2)
	h := s.Health()
	if h[0].Health != alerting.HealthErr || h[0].Errors != 1 || h[0].Runs != 1 || h[0].Sensors != 2 ||
		h[0].LastError != `rule "rain-3h": rain sum over 3h of sensors RG-1, RG-2: connection refused` {
		t.Errorf("health of the failing rule: %+v", h[0])
	}
	if h[1].Health != alerting.HealthOK || h[1].Errors != 0 {
		t.Errorf("health of the other rule: %+v", h[1])
	}
	if got := counter(t, reg, "yujing_rule_schedule_errors_total", "rain-3h"); got != 1 {
		t.Errorf("errors_total{rain-3h} = %v, want 1", got)
	}
	var sensors []string
	for _, rd := range obs.taken() {
		sensors = append(sensors, rd.Sensor+" "+rd.Metric)
	}
	if strings.Join(sensors, ", ") != "RG-2 rain_sum_1h" {
		t.Errorf("derived readings %v, want RG-2 of the other rule only: one query for RG-1 and RG-2 failed", sensors)
	}

	down = false
	clk.Advance(5 * time.Minute)
	settle(t, clk, 2)
	h = s.Health()
	if h[0].Health != alerting.HealthOK || h[0].LastError != "" || h[0].Runs != 2 || h[0].Errors != 1 {
		t.Errorf("health after the store came back: %+v", h[0])
	}
	if len(obs.taken()) != 3 {
		t.Error("the tick after the failure did not evaluate every sensor")
	}
	if got := counter(t, reg, "yujing_rule_schedule_runs_total", "rain-3h"); got != 2 {
		t.Errorf("runs_total{rain-3h} = %v, want 2", got)
	}
}

// TestSchedulerErrorNamesRuleAndSensors: a failing grouped query's error
// names the rule, what was asked and the sensors it was for (the first
// three of many), as the per-sensor errors named each sensor; so do a
// failing learned baseline and a failing look-up of the open alerts.
func TestSchedulerErrorNamesRuleAndSensors(t *testing.T) {
	at := time.Date(2025, 6, 1, 12, 5, 0, 0, time.UTC)
	refused := errors.New("connection refused")
	rain := rainRule("rain-3h", "*/5 * * * *", 3*time.Hour)
	learned := rainRule("rain-over-dry", "*/5 * * * *", time.Hour)
	learned.Baseline = &alerting.Baseline{Aggregate: store.FuncMin, Window: 720 * time.Hour}
	storm := rainRule("storm", "*/5 * * * *", 3*time.Hour)
	storm.Windows[yujing.Blue] = 12 * time.Hour
	for _, tc := range []struct {
		name    string
		rule    *alerting.ScheduledRule
		sensors []string
		fails   func(q schedQuery) bool // which queries fail
		listErr error
		want    string
	}{
		{"one", rain, []string{"RG-1"}, nil, nil,
			`rule "rain-3h": rain sum over 3h of sensor RG-1: connection refused`},
		{"two", rain, []string{"RG-1", "RG-2"}, nil, nil,
			`rule "rain-3h": rain sum over 3h of sensors RG-1, RG-2: connection refused`},
		{"three", rain, []string{"RG-1", "RG-2", "RG-3"}, nil, nil,
			`rule "rain-3h": rain sum over 3h of sensors RG-1, RG-2, RG-3: connection refused`},
		{"five", rain, []string{"RG-1", "RG-2", "RG-3", "RG-4", "RG-5"}, nil, nil,
			`rule "rain-3h": rain sum over 3h of 5 sensors RG-1, RG-2, RG-3 and 2 more: connection refused`},
		{"baseline", learned, []string{"RG-1", "RG-2"}, func(q schedQuery) bool { return q.fn == store.FuncMin }, nil,
			`rule "rain-over-dry": baseline: rain min over 720h of sensors RG-1, RG-2: connection refused`},
		{"open alerts", storm, []string{"RG-1"}, func(schedQuery) bool { return false }, errors.New("disk I/O error"),
			`rule "storm": current levels: disk I/O error`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cat schedCatalog
			for _, id := range tc.sensors {
				cat = append(cat, yujing.Sensor{ID: id, Site: "st", Family: yujing.FamilyWeather, Metric: "rain", Unit: "mm"})
			}
			agg := &schedAgg{answer: func(q schedQuery) (float64, int, error) {
				if tc.fails == nil || tc.fails(q) {
					return 0, 0, refused
				}
				return 1, 1, nil
			}}
			s, err := alerting.NewScheduler([]*alerting.ScheduledRule{tc.rule},
				agg, &schedObs{listErr: tc.listErr}, cat, alerting.SchedulerOptions{Location: time.UTC})
			if err != nil {
				t.Fatal(err)
			}
			n, _, errs := s.EvaluateAt(t.Context(), tc.rule.Rule.Name, at)
			if n != len(tc.sensors) || len(errs) != 1 || errs[0].Error() != tc.want {
				t.Errorf("%d sensors, errors %q\nwant %d sensors, error %q", n, errs, len(tc.sensors), tc.want)
			}
		})
	}
}

// TestSchedulerOpenLevelsPaged: a rule with per-level windows learns the
// level of every sensor's open alert, however many there are: the store
// answers at most 5 000 alerts a listing (store/sqlite.MaxListLimit), so
// 12 000 sensors held at red by hysteresis must all stay red, none fall to
// orange for want of knowing their level.
func TestSchedulerOpenLevelsPaged(t *testing.T) {
	const n = 12000
	cat := gauges(n)
	obs := &tickObs{}
	for i := range n {
		// Newest first, as the store lists them.
		obs.open = append(obs.open, yujing.Alert{ID: int64(n - i), Rule: "rainstorm", Sensor: cat[i].ID, Level: yujing.Red, State: yujing.StateFiring})
	}
	agg := &schedAgg{answer: func(q schedQuery) (float64, int, error) { return 97, 1, nil }} // red is 100, hysteresis 5
	s, err := alerting.NewScheduler([]*alerting.ScheduledRule{rainstorm()}, agg, obs, cat, alerting.SchedulerOptions{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, errs := s.EvaluateAt(t.Context(), "rainstorm", time.Date(2025, 7, 20, 13, 0, 0, 0, time.UTC)); len(errs) > 0 {
		t.Fatal(errs)
	}
	judged := map[string]int{}
	for _, line := range obs.taken() {
		judged[strings.Fields(line)[2]]++
	}
	if judged["judged=red"] != n || len(judged) != 1 {
		t.Errorf("levels judged %v, want all %d red", judged, n)
	}
	if agg.calls != 3 {
		t.Errorf("%d store queries, want 3 (12 h, 6 h, 3 h)", agg.calls)
	}
}

// TestSchedulerMissedTicks: an evaluation that runs past the next ticks
// has them counted as missed; the latest one runs, late, over its own
// window, and the schedule carries on.
func TestSchedulerMissedTicks(t *testing.T) {
	loc := shanghai(t)
	clk := fakeclock.New(time.Date(2025, 6, 1, 0, 0, 0, 0, loc))
	slow := true
	agg := &schedAgg{}
	agg.answer = func(q schedQuery) (float64, int, error) {
		if slow {
			slow = false
			clk.Advance(12 * time.Minute) // the 00:05 evaluation ends at 00:17
		}
		return 1, 1, nil
	}
	reg := prometheus.NewRegistry()
	s, err := alerting.NewScheduler([]*alerting.ScheduledRule{rainRule("rain-1h", "*/5 * * * *", time.Hour, "RG-1")},
		agg, &schedObs{}, rainGauges, alerting.SchedulerOptions{Clock: clk, Registerer: reg, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	runScheduler(t, s, clk)
	clk.Advance(5 * time.Minute)
	settle(t, clk, 1)
	clk.Set(time.Date(2025, 6, 1, 0, 20, 0, 0, loc))
	settle(t, clk, 1)
	var ends []string
	for _, q := range agg.taken() {
		ends = append(ends, q.to.In(loc).Format("15:04"))
	}
	if got := strings.Join(ends, " "); got != "00:05 00:15 00:20" {
		t.Errorf("windows ending at %s, want 00:05 00:15 00:20 (00:10 missed)", got)
	}
	if got := counter(t, reg, "yujing_rule_schedule_missed_total", "rain-1h"); got != 1 {
		t.Errorf("missed_total = %v, want 1", got)
	}
	h := s.Health()[0]
	if h.Missed != 1 || h.Runs != 3 || h.LastDuration != 0 {
		t.Errorf("health: %+v", h)
	}
}

// TestSchedulerNoData: an empty window is no data — nothing is observed —
// except for count, which counts 0.
func TestSchedulerNoData(t *testing.T) {
	loc := shanghai(t)
	clk := fakeclock.New(time.Date(2025, 6, 1, 0, 0, 0, 0, loc))
	agg := &schedAgg{answer: func(q schedQuery) (float64, int, error) { return 0, 0, nil }}
	obs := &schedObs{}
	sum := rainRule("rain-1h", "@every 10m", time.Hour, "RG-1")
	count := &alerting.ScheduledRule{Schedule: "@every 10m", Aggregate: store.FuncCount, Window: time.Hour,
		Rule: alerting.Rule{Name: "completeness", Sensors: []string{"RG-1"}}}
	count.Rule.Below.Value[yujing.Yellow], count.Rule.Below.Set[yujing.Yellow] = 3, true
	s, err := alerting.NewScheduler([]*alerting.ScheduledRule{sum, count}, agg, obs, rainGauges,
		alerting.SchedulerOptions{Clock: clk, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	runScheduler(t, s, clk)
	clk.Advance(10 * time.Minute)
	settle(t, clk, 2)
	rds := obs.taken()
	if len(rds) != 1 || rds[0].Metric != "rain_count_1h" || rds[0].Value != 0 || rds[0].Unit != "" {
		t.Errorf("derived readings %+v, want only rain_count_1h = 0", rds)
	}
	if h := s.Health(); h[0].NoData != 1 || h[0].Health != alerting.HealthOK || h[1].NoData != 1 {
		t.Errorf("health %+v", h)
	}
}

// TestSchedulerPerLevelWindows runs a rule with per-level windows through
// a real Engine: levels go up and down in place, hysteresis holds a level,
// and a window without data neither raises nor lowers it.
func TestSchedulerPerLevelWindows(t *testing.T) {
	loc := shanghai(t)
	clk := fakeclock.New(time.Date(2025, 7, 1, 0, 0, 0, 0, loc))
	st, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	var events []string
	eng := alertingtest.New(t, nil, st, rainGauges, alertingtest.Options{Engine: alerting.Options{Now: clk.Now},
		Lifecycle: lifecycle.Options{OnChange: func(c lifecycle.Change) {
			mu.Lock()
			events = append(events, string(c.Transition.Event)+" "+c.Alert.Level.String())
			mu.Unlock()
		}}})
	// Blue: 50 over 12 h; yellow 50 over 6 h; red 100 over 6 h.
	r := &alerting.ScheduledRule{Schedule: "@every 10m", Aggregate: store.FuncSum,
		Rule: alerting.Rule{Name: "storm", Sensors: []string{"RG-1"}, Hysteresis: 5}}
	r.Rule.Above.Value[yujing.Blue], r.Rule.Above.Set[yujing.Blue] = 50, true
	r.Rule.Above.Value[yujing.Yellow], r.Rule.Above.Set[yujing.Yellow] = 50, true
	r.Rule.Above.Value[yujing.Red], r.Rule.Above.Set[yujing.Red] = 100, true
	r.Windows[yujing.Blue], r.Window = 12*time.Hour, 6*time.Hour

	var mu2 sync.Mutex
	sums := map[time.Duration]float64{}
	set := func(h12, h6 float64) {
		mu2.Lock()
		sums[12*time.Hour], sums[6*time.Hour] = h12, h6
		mu2.Unlock()
	}
	agg := &schedAgg{answer: func(q schedQuery) (float64, int, error) {
		mu2.Lock()
		defer mu2.Unlock()
		v := sums[q.to.Sub(q.from)]
		if v < 0 {
			return 0, 0, nil // no data
		}
		return v, 1, nil
	}}
	s, err := alerting.NewScheduler([]*alerting.ScheduledRule{r}, agg, eng, rainGauges, alerting.SchedulerOptions{Clock: clk, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	runScheduler(t, s, clk)
	for _, step := range []struct {
		h12, h6 float64
		want    string // the event, "" for none
	}{
		{30, 20, ""},
		{50, 30, "raised blue"},
		{60, 55, "upgraded yellow"},
		{80, 46, ""},                   // within yellow's hysteresis
		{80, -1, ""},                   // 6 h window without data: stays yellow
		{120, 110, "upgraded red"},     // both windows
		{120, 96, ""},                  // red held by hysteresis
		{120, 94, "downgraded yellow"}, // out of red's hysteresis
		{-1, -1, ""},                   // no data at all: stays
		{44, 10, "resolved yellow"},    // blue out of hysteresis too
		{50, 10, "reopened blue"},
	} {
		set(step.h12, step.h6)
		clk.Advance(10 * time.Minute)
		settle(t, clk, 1)
		mu.Lock()
		got := strings.Join(events, "; ")
		events = nil
		mu.Unlock()
		if got != step.want {
			t.Errorf("12h %v, 6h %v: events %q, want %q", step.h12, step.h6, got, step.want)
		}
	}
	if h := s.Health()[0]; h.Health != alerting.HealthOK || h.Errors != 0 {
		t.Errorf("health %+v", h)
	}
	as, err := eng.List(t.Context(), store.AlertFilter{Rule: "storm"})
	if err != nil || len(as) != 1 {
		t.Fatalf("alerts %+v, %v; want one, upgraded in place", as, err)
	}
}
