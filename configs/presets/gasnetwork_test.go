package presets_test

import (
	"testing"
	"time"
)

// TestGasNetworkPresetReproducesPressureClasses replays an over-pressure and
// a rupture on a medium-pressure A main and a leak reaching two underground
// spaces: the pressure warning is red outside the class's band of GB
// 50028-2006 table 6.1.6 (0.2–0.4 MPa) after its 2-minute hold, yellow in
// the operator's margin; the gas in a valve well is yellow from 20 %LEL and
// red from 35 %LEL (GB 50838-2015's settings), and two spaces at yellow at
// once raise the network's orange.
func TestGasNetworkPresetReproducesPressureClasses(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 12, 10, 6, 0, 0, 0, mustShanghai(t))
	r := newReplay(t, "gas-network.yaml", start)
	pressure := func(ts time.Time) float64 {
		switch m := ts.Sub(start).Minutes(); {
		case m < 30:
			return 0.30
		case m < 40:
			return 0.385 // a regulator creeping open
		case m < 50:
			return 0.41
		case m < 90:
			return 0.30
		case m < 100:
			return 0.23 // a rupture downstream
		case m < 110:
			return 0.18
		}
		return 0.30
	}
	for ts := start; ts.Before(start.Add(2 * time.Hour)); ts = ts.Add(time.Minute) {
		r.observe(ts, "GP-MA-01", "pressure", pressure(ts))
		r.observe(ts, "GP-MB-01", "pressure", 0.1)
	}
	lel := []struct {
		min        int
		well, hole float64
	}{{120, 2, 1}, {125, 8, 1}, {130, 25, 3}, {135, 27, 22}, {140, 40, 24}, {150, 10, 12}, {160, 0, 0}}
	for _, l := range lel {
		at := r.at(time.Duration(l.min) * time.Minute)
		r.observe(at, "GW-VW-01", "lel", l.well)
		r.observe(at, "GW-MH-01", "lel", l.hole)
	}
	r.want([]string{
		"12-10 06:32 pressure-medium-a GP-MA-01 raised yellow 0.385", // ≥ 0.38, held 2 minutes
		"12-10 06:42 pressure-medium-a GP-MA-01 upgraded red 0.41",   // above the class: > 0.4
		"12-10 06:50 pressure-medium-a GP-MA-01 resolved red 0.3",
		"12-10 07:32 pressure-medium-a GP-MA-01 reopened yellow 0.23", // ≤ 0.25
		"12-10 07:42 pressure-medium-a GP-MA-01 upgraded red 0.18",    // out of the class: ≤ 0.2
		"12-10 07:50 pressure-medium-a GP-MA-01 resolved red 0.3",
	}, "pressure-medium-a", "pressure-medium-b")
	r.want([]string{
		"12-10 08:05 underground-gas GW-VW-01 raised blue 8",
		"12-10 08:10 underground-gas GW-VW-01 upgraded yellow 25",
		"12-10 08:15 underground-gas GW-MH-01 raised yellow 22",
		"12-10 08:15 underground-gas-spreading site:demo-gas-network raised orange 2",
		"12-10 08:20 underground-gas GW-VW-01 upgraded red 40",
		"12-10 08:30 underground-gas GW-VW-01 downgraded blue 10",
		"12-10 08:30 underground-gas-spreading site:demo-gas-network resolved orange 1", // one space left at yellow
		"12-10 08:30 underground-gas GW-MH-01 downgraded blue 12",
		"12-10 08:40 underground-gas GW-VW-01 resolved blue 0",
		"12-10 08:40 underground-gas GW-MH-01 resolved blue 0",
	}, "underground-gas", "underground-gas-spreading")
}
