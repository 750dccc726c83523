package presets_test

import (
	"context"
	"fmt"
	"io/fs"
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
	"yujing/config"
	"yujing/configs/presets"
	"yujing/ingest"
	"yujing/internal/fakeclock"
	"yujing/store/sqlite"
)

// recorder keeps the transitions and calls of one run.
type recorder struct {
	mu          sync.Mutex
	transitions []string
	alertIDs    map[int64]bool
	calls       []string
}

func (r *recorder) Call(_ context.Context, c yujing.Call) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.Alert.Rule == "rainstorm" {
		r.calls = append(r.calls, fmt.Sprintf("%s %s %s %s", c.Alert.Sensor, c.Person.ID, c.Event, c.Alert.Level))
	}
	return nil
}

func (r *recorder) change(loc *time.Location) func(lifecycle.Change) {
	return func(c lifecycle.Change) {
		a, tr := c.Alert, c.Transition
		if a.Rule != "rainstorm" {
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.alertIDs[a.ID] = true
		r.transitions = append(r.transitions, fmt.Sprintf("%s %s %s %s %g",
			tr.At.In(loc).Format("01-02 15:04"), a.Sensor, tr.Event, a.Level, tr.Value))
	}
}

// storm is the rainfall of gauge RG-001 in the 10 minutes up to t: dry,
// then 6 mm/h from 18:00, 15 mm/h from 00:00, 30 mm/h from 02:00, 60 mm/h
// from 03:00 to 04:00, and dry again.
func storm(t, start time.Time) float64 {
	switch h := t.Sub(start).Hours(); {
	case h < 0:
		return 0
	case h < 6:
		return 1
	case h < 8:
		return 2.5
	case h < 9:
		return 5
	case h < 10:
		return 10
	}
	return 0
}

// TestRainstormPresetReproducesCMATiers writes a synthetic storm's 10-minute
// rainfall to the embedded store, runs the rainstorm preset's scheduled
// rules tick by tick on a fake clock through a real engine with a real state
// database, and checks that the gauge's one warning goes blue → yellow →
// orange → red at the ticks where the CMA criteria are first met (50 mm in
// 12 h, 50 mm in 6 h, 50 mm in 3 h, 100 mm in 3 h), then back down as the
// windows slide past the rain, and resolves; a gauge with light rain raises
// nothing.
func TestRainstormPresetReproducesCMATiers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	data, err := fs.ReadFile(presets.FS, "rainstorm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("configs/presets/rainstorm.yaml", data, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	loc := cfg.Location
	if loc.String() != "Asia/Shanghai" {
		t.Fatalf("preset time zone %s, want Asia/Shanghai", loc)
	}
	start := time.Date(2025, 7, 20, 18, 0, 0, 0, loc)

	dir := t.TempDir()
	readings, err := sqlite.OpenReadings(ctx, filepath.Join(dir, "readings.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer readings.Close()
	state, err := sqlite.OpenState(ctx, filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer state.Close()
	var rs []yujing.Reading
	for ts := start.Add(-6 * time.Hour); ts.Before(start.Add(24 * time.Hour)); ts = ts.Add(10 * time.Minute) {
		rs = append(rs,
			yujing.Reading{Sensor: "RG-001", Site: "demo-town", Family: yujing.FamilyWeather, Metric: "rain", Unit: "mm", Value: storm(ts, start), Time: ts},
			yujing.Reading{Sensor: "RG-002", Site: "demo-reservoir", Family: yujing.FamilyWeather, Metric: "rain", Unit: "mm", Value: 0.5, Time: ts})
	}
	if err := readings.Write(ctx, rs); err != nil {
		t.Fatal(err)
	}

	catalog, err := ingest.NewRegistry(cfg.Sites, cfg.Sensors)
	if err != nil {
		t.Fatal(err)
	}
	clk := fakeclock.New(start)
	rec := &recorder{alertIDs: map[int64]bool{}}
	eng := alertingtest.New(t, cfg.Rules, state, catalog, alertingtest.Options{Engine: alerting.Options{Now: clk.Now, Location: loc},
		Lifecycle: lifecycle.Options{OnChange: rec.change(loc)}, Routes: cfg.Routes, Calls: rec})
	sched, err := alerting.NewScheduler(cfg.Scheduled, readings, eng, catalog, alerting.SchedulerOptions{
		Clock: clk, Location: loc, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sched.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()
	n := len(cfg.Scheduled)
	for {
		if !clk.BlockUntil(n, 10*time.Second) {
			t.Fatalf("at %s the scheduler did not come back to wait for the clock", clk.Now().In(loc))
		}
		if !clk.Now().Before(start.Add(22 * time.Hour)) {
			break
		}
		clk.Advance(5 * time.Minute)
	}
	eng.Step(ctx) // the calls of every change

	rec.mu.Lock()
	defer rec.mu.Unlock()
	// The ticks and sums worked out by hand from the storm: e.g. at 00:55
	// the 12 h window [12:55, 00:55) holds 36 × 1 mm + 6 × 2.5 mm = 51 mm
	// while the 6 h window holds 45 mm.
	want := []string{
		"07-21 00:55 RG-001 raised blue 51",        // 12 h: 51 mm ≥ 50
		"07-21 01:35 RG-001 upgraded yellow 51",    // 6 h: 51 mm ≥ 50
		"07-21 02:35 RG-001 upgraded orange 52",    // 3 h: 52 mm ≥ 50
		"07-21 03:55 RG-001 upgraded red 105",      // 3 h: 105 mm ≥ 100
		"07-21 04:35 RG-001 downgraded orange 95",  // 3 h: 95 mm ≤ 100 − 5
		"07-21 06:15 RG-001 downgraded yellow 115", // 3 h: 40 mm; 6 h: 115 mm
		"07-21 09:15 RG-001 downgraded blue 136",   // 6 h: 40 mm; 12 h: 136 mm
		"07-21 15:15 RG-001 resolved blue 40",      // 12 h: 40 mm ≤ 50 − 5
	}
	if got := strings.Join(rec.transitions, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("rainstorm transitions:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if len(rec.alertIDs) != 1 {
		t.Errorf("%d rainstorm alerts, want one upgraded in place", len(rec.alertIDs))
	}
	wantCalls := []string{
		"RG-001 duty-officer raised blue",
		"RG-001 duty-officer upgraded yellow",
		"RG-001 duty-officer upgraded orange",
		"RG-001 duty-officer upgraded red",
		"RG-001 flood-commander upgraded red",
		"RG-001 duty-officer resolved blue",
	}
	if got := strings.Join(rec.calls, "\n"); got != strings.Join(wantCalls, "\n") {
		t.Errorf("rainstorm calls:\n%s\nwant:\n%s", got, strings.Join(wantCalls, "\n"))
	}
	for _, h := range sched.Health() {
		if h.Health != alerting.HealthOK || h.Errors != 0 || h.Missed != 0 || h.Runs == 0 {
			t.Errorf("health of %s: %+v", h.Rule, h)
		}
	}
}
