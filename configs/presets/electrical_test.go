package presets_test

import (
	"strings"
	"testing"
	"time"
)

// TestElectricalPresetReproducesGB50116 replays a leaking circuit and an
// overheating terminal through the electrical-fire preset: the residual
// current's warning is yellow from 300 mA and red from 500 mA (GB 50116-2013
// 9.2.3: the detector's alarm set within 300–500 mA), blue above the natural
// leakage; the cable temperature's is yellow from PVC's 70 ℃; each waits its
// 2 minutes (for) and a device silent for three intervals is offline.
func TestElectricalPresetReproducesGB50116(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 11, 3, 9, 0, 0, 0, mustShanghai(t))
	r := newReplay(t, "electrical.yaml", start)
	leak := func(ts time.Time) float64 {
		switch m := ts.Sub(start).Minutes(); {
		case m < 60:
			return 120 // natural leakage
		case m < 90:
			return 250
		case m < 120:
			return 320
		case m < 150:
			return 520
		}
		return 150
	}
	temp := func(ts time.Time) float64 {
		switch m := ts.Sub(start).Minutes(); {
		case m < 60:
			return 45
		case m < 90:
			return 72 // a loose terminal
		}
		return 50 // tightened
	}
	// Every minute for three hours; EF-002 every 5 minutes until 10:00, then
	// nothing.
	for ts := start; ts.Before(start.Add(3 * time.Hour)); ts = ts.Add(time.Minute) {
		r.observe(ts, "EF-001", "residual_current", leak(ts))
		r.observe(ts, "EF-001", "cable_temp", temp(ts))
		if ts.Before(start.Add(time.Hour)) && ts.Minute()%5 == 0 {
			r.observe(ts, "EF-002", "residual_current", 80)
		}
		r.tick(ts)
	}
	r.want([]string{
		"11-03 10:02 residual-current EF-001 raised blue 250",     // ≥ 200 mA, held 2 minutes
		"11-03 10:32 residual-current EF-001 upgraded yellow 320", // ≥ 300 mA
		"11-03 11:02 residual-current EF-001 upgraded red 520",    // ≥ 500 mA
		"11-03 11:30 residual-current EF-001 resolved red 150",    // below 200 − 20 at once
	}, "residual-current")
	r.want([]string{
		"11-03 10:02 cable-temperature EF-001 raised yellow 72",
		"11-03 10:30 cable-temperature EF-001 resolved yellow 50",
	}, "cable-temperature")
	// EF-002's last report was at 09:55; 3 × 5 minutes later it is offline.
	r.want([]string{"11-03 10:11 electrical-offline EF-002 raised yellow 0"}, "electrical-offline")
	r.wantCalls([]string{
		"residual-current EF-001 electrician raised blue",
		"residual-current EF-001 electrician upgraded yellow",
		"residual-current EF-001 electrician upgraded red",
		"residual-current EF-001 principal upgraded red",
		"residual-current EF-001 grid-member upgraded red",
		"residual-current EF-001 electrician resolved red",
	}, "residual-current")
	if m := r.alert("residual-current", "EF-001").Message; !strings.Contains(m, "剩余电流") || !strings.Contains(m, "示例农贸市场") {
		t.Errorf("message %q", m)
	}
}

func mustShanghai(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
