package presets_test

import (
	"strings"
	"testing"
	"time"

	"yujing"
)

// TestPowerPresetStoppedEnterpriseDrawsAboveBaseline replays a mine
// ordered to stop that runs at night: the mean draw of the last hour above
// the idle baseline learned from the month before (its lowest 15-minute
// load, 12 kW) is yellow from 10 kW, orange from 30 kW, red from 60 kW; the
// same production while the site is still normal raises nothing.
func TestPowerPresetStoppedEnterpriseDrawsAboveBaseline(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, mustShanghai(t))
	r := newReplay(t, "power.yaml", start)
	// February: production from 06:00 to 22:00 (200 kW), 12 kW at night.
	var hist []yujing.Reading
	for ts := start.AddDate(0, -1, 0); ts.Before(start); ts = ts.Add(15 * time.Minute) {
		kw := 12.0
		if h := ts.In(r.loc).Hour(); h >= 6 && h < 22 {
			kw = 200
		}
		hist = append(hist, yujing.Reading{Sensor: "EM-001", Site: "demo-mine-co", Family: yujing.FamilyPower, Metric: "power", Unit: "kW", Value: kw, Time: ts})
	}
	if err := r.readings.Write(t.Context(), hist); err != nil {
		t.Fatal(err)
	}
	load := func(ts time.Time) float64 {
		switch {
		case ts.Before(r.at(8 * time.Hour)):
			return 13
		case ts.Before(r.at(18 * time.Hour)):
			return 200 // still allowed: the status is normal
		case ts.Before(r.at(2*24*time.Hour + 20*time.Hour)):
			return 13 // stopped from 03-01 20:00
		case ts.Before(r.at(2*24*time.Hour + 22*time.Hour)):
			return 30 // 03-03 20:00: running at night
		case ts.Before(r.at(3 * 24 * time.Hour)):
			return 100
		}
		return 13
	}
	stopped := false
	r.schedule(r.at(3*24*time.Hour+2*time.Hour), 15*time.Minute, func(from, to time.Time) {
		if !stopped && !from.Before(r.at(20*time.Hour)) {
			if _, err := r.statuses.Set(t.Context(), "demo-mine-co", yujing.StatusOrderedStopped, "li", "某应急停字〔2026〕12号"); err != nil {
				t.Fatal(err)
			}
			stopped = true
		}
		r.observe(from, "EM-001", "power", load(from))
	}, "stopped-power-draw")
	r.want([]string{
		"03-03 20:45 stopped-power-draw EM-001 raised yellow 13.75",     // mean 25.75 kW − 12 kW
		"03-03 22:15 stopped-power-draw EM-001 upgraded orange 35.5",    // mean 47.5 kW
		"03-03 22:45 stopped-power-draw EM-001 upgraded red 70.5",       // mean 82.5 kW
		"03-04 00:30 stopped-power-draw EM-001 downgraded orange 44.5",  // mean 56.5 kW: below 60 − 2
		"03-04 00:45 stopped-power-draw EM-001 downgraded yellow 22.75", // below 30 − 2
		"03-04 01:00 stopped-power-draw EM-001 resolved yellow 1",       // 13 kW: 1 kW above the baseline
	})
	if m := r.alert("stopped-power-draw", "EM-001").Message; !strings.Contains(m, "该单位生产状态：责令停产停业") {
		t.Errorf("message %q does not say the site is ordered to stop", m)
	}
}

// TestPowerPresetMonthlyEnergy replays a fireworks factory ordered to
// stop that runs five days in March: the month's energy so far passes
// 2000 kWh at the 00:00 tick after the fifth day (orange); when the
// regulator sets the site back to normal the warning resolves, saying why,
// and a new month starts from nothing.
func TestPowerPresetMonthlyEnergy(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, mustShanghai(t))
	r := newReplay(t, "power.yaml", start)
	if _, err := r.statuses.Set(t.Context(), "demo-fireworks-co", yujing.StatusOrderedStopped, "li", "某应急停字〔2026〕15号"); err != nil {
		t.Fatal(err)
	}
	resumed := false
	r.schedule(time.Date(2026, 4, 1, 9, 0, 0, 0, r.loc), time.Hour, func(from, to time.Time) {
		kwh := 1.0 // the guard room
		if d, h := from.In(r.loc).Day(), from.In(r.loc).Hour(); from.Month() == time.March && d >= 10 && d <= 14 && h >= 8 && h < 18 {
			kwh = 40 // production on 10–14 March, 08:00–18:00
		}
		if !resumed && !from.Before(time.Date(2026, 3, 20, 12, 0, 0, 0, r.loc)) {
			if _, err := r.statuses.Set(t.Context(), "demo-fireworks-co", yujing.StatusNormal, "wang", "复产验收合格"); err != nil {
				t.Fatal(err)
			}
			resumed = true
		}
		r.observe(from, "EM-002", "energy", kwh)
	}, "stopped-monthly-energy")
	r.want([]string{
		// 9 days × 24 kWh + 5 days × (10 × 40 + 14) kWh = 2286 kWh; at
		// 03-14 08:00 it was 1880.
		"03-15 00:00 stopped-monthly-energy EM-002 raised orange 2286",
		"03-21 00:00 stopped-monthly-energy EM-002 resolved orange 2430", // back to normal on 03-20
	})
	if m := r.alert("stopped-monthly-energy", "EM-002").Message; !strings.Contains(m, "该单位生产状态已变更为正常生产，本规则不再适用，预警解除") {
		t.Errorf("message %q does not say why it resolved", m)
	}
}
