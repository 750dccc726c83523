package presets_test

import (
	"cmp"
	"slices"
	"testing"
	"time"
)

// TestDustPresetSparksAndInerting replays sparks in a duct and oxygen
// creeping up in an inerted mill through the dust preset: each spark is
// orange (event) and the third within 10 minutes red (a scheduled count);
// the oxygen is yellow at LOC − 2 and red at the LOC (example 10 %); a
// rotary-valve fault is yellow.
func TestDustPresetSparksAndInerting(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 9, 8, 10, 0, 0, 0, mustShanghai(t))
	r := newReplay(t, "dust.yaml", start)
	type rd struct {
		at     time.Duration
		sensor string
		metric string
		v      float64
	}
	var feed []rd
	for _, m := range []int{0, 3, 6} { // a spark at 10:00, 10:03, 10:06, each put out in 5 s
		feed = append(feed, rd{time.Duration(m) * time.Minute, "SD-01", "spark", 1},
			rd{time.Duration(m)*time.Minute + 5*time.Second, "SD-01", "spark", 0})
	}
	for s := 0; s < 50*60; s += 10 {
		at := time.Duration(s) * time.Second
		o2 := 6.5
		switch {
		case at >= 40*time.Minute:
			o2 = 6.5 // nitrogen supply restored
		case at >= 30*time.Minute:
			o2 = 10.2
		case at >= 25*time.Minute:
			o2 = 8.5
		case at >= 20*time.Minute:
			o2 = 7.5
		}
		feed = append(feed, rd{at, "OX-01", "o2", o2})
		feed = append(feed, rd{at, "DC-01", "dp", 1000})
	}
	feed = append(feed, rd{15 * time.Minute, "DC-01", "valve_fault", 1}, rd{18 * time.Minute, "DC-01", "valve_fault", 0})
	slices.SortStableFunc(feed, func(a, b rd) int { return cmp.Compare(a.at, b.at) })
	next := 0
	r.schedule(r.at(50*time.Minute), time.Minute, func(from, to time.Time) {
		for ; next < len(feed) && r.at(feed[next].at).Before(to); next++ {
			f := feed[next]
			r.observe(r.at(f.at), f.sensor, f.metric, f.v)
		}
	})
	r.want([]string{
		"09-08 10:00 spark-detected SD-01 raised orange 1",
		"09-08 10:00 spark-detected SD-01 resolved orange 0",
		"09-08 10:03 spark-detected SD-01 reopened orange 1",
		"09-08 10:03 spark-detected SD-01 resolved orange 0",
		"09-08 10:06 spark-detected SD-01 reopened orange 1",
		"09-08 10:06 spark-detected SD-01 resolved orange 0",
	}, "spark-detected")
	r.want([]string{
		"09-08 10:07 spark-repeated SD-01 raised red 3",   // [09:57, 10:07) holds three sparks
		"09-08 10:11 spark-repeated SD-01 resolved red 2", // [10:01, 10:11) two
	}, "spark-repeated")
	r.want([]string{
		"09-08 10:20 inerting-oxygen OX-01 raised blue 7.5", // held 30 s
		"09-08 10:25 inerting-oxygen OX-01 upgraded yellow 8.5",
		"09-08 10:30 inerting-oxygen OX-01 upgraded red 10.2",
		"09-08 10:40 inerting-oxygen OX-01 resolved red 6.5",
	}, "inerting-oxygen")
	r.want([]string{
		"09-08 10:15 rotary-valve-fault DC-01 raised yellow 1",
		"09-08 10:18 rotary-valve-fault DC-01 resolved yellow 0",
	}, "rotary-valve-fault")
	r.want(nil, "collector-pressure-drop", "hopper-temperature", "spark-system-fault")
}
