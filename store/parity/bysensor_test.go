package parity_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"yujing"
	"yujing/internal/testenv"
	"yujing/store"
	"yujing/store/influx"
	"yujing/store/sqlite"
)

// bySensor is what both stores offer scheduled rules: one aggregate for
// many sensors in one query.
type bySensor interface {
	AggregateBySensor(ctx context.Context, metric string, fn store.Func, from, to time.Time, sensors []string) (map[string]float64, error)
	Query(ctx context.Context, sensor, metric string, from, to time.Time) ([]yujing.Reading, error)
}

// TestAggregateBySensorParity writes the same readings of several rain
// gauges to the embedded store and to InfluxDB 1.8 and checks that the
// grouped aggregate of both answers every aggregate over every window like
// the reference, sensor by sensor, and that the charts' Query returns the
// same readings: gauges with gaps, readings exactly on a window's start
// (counted) and end (not counted), a gauge whose unit changed (a second
// InfluxDB series) and one whose family changed (a second measurement),
// one with a single reading (a rate undefined), one with no readings, a
// gauge not asked for and another metric that must not leak in, empty and
// backwards windows.
func TestAggregateBySensorParity(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := testenv.InfluxDB(t)
	iw, err := influx.New(influx.Config{URL: db.URL, Bucket: db.Bucket(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iw.Close)
	rs, err := sqlite.OpenReadings(ctx, filepath.Join(t.TempDir(), "readings.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })

	base := time.Date(2024, 7, 20, 21, 0, 0, 0, time.UTC)
	rd := func(sensor string, family yujing.Family, unit string, v float64, off time.Duration) yujing.Reading {
		return yujing.Reading{Sensor: sensor, Site: "st-" + sensor, Family: family, Metric: "rain", Unit: unit, Value: v, Time: base.Add(off)}
	}
	w := yujing.FamilyWeather
	series := map[string][]yujing.Reading{}
	// RG-1 every 10 minutes over 6 h with a gap of 2 h in the middle.
	for i := range 36 {
		if i >= 12 && i < 24 {
			continue
		}
		series["RG-1"] = append(series["RG-1"], rd("RG-1", w, "mm", float64(i%7)*0.5-0.25, time.Duration(i)*10*time.Minute))
	}
	// RG-2: irregular, with nanoseconds, on the window bounds below; its
	// unit changes halfway.
	for i, off := range []time.Duration{0, time.Nanosecond, 59*time.Minute + 59*time.Second + 999_999_999, time.Hour,
		time.Hour + 1, 3 * time.Hour, 3*time.Hour + 17*time.Minute, 5*time.Hour + 59*time.Minute} {
		unit := "mm"
		if i >= 4 {
			unit = "0.1mm"
		}
		series["RG-2"] = append(series["RG-2"], rd("RG-2", w, unit, 1.5*float64(i)-2, off))
	}
	// RG-3: re-registered under another family at 3 h (another
	// measurement in InfluxDB), readings on both sides.
	for i := range 12 {
		f := w
		if i >= 6 {
			f = yujing.FamilyFlood
		}
		series["RG-3"] = append(series["RG-3"], rd("RG-3", f, "mm", float64(i*i)/10, time.Duration(i)*30*time.Minute+7*time.Second))
	}
	// RG-4: one reading.
	series["RG-4"] = []yujing.Reading{rd("RG-4", w, "mm", 12.5, 2*time.Hour+30*time.Minute)}
	var all []yujing.Reading
	for _, s := range series {
		all = append(all, s...)
	}
	// Neighbours: a gauge not asked for, another metric of RG-1.
	for i := range 36 {
		off := time.Duration(i) * 10 * time.Minute
		all = append(all, rd("RG-9", w, "mm", 1000, off))
		o := rd("RG-1", w, "℃", -1000, off)
		o.Metric = "temp"
		all = append(all, o)
	}
	if err := rs.Write(ctx, all); err != nil {
		t.Fatal(err)
	}
	if err := iw.Write(ctx, all); err != nil {
		t.Fatal(err)
	}

	sensors := []string{"RG-1", "RG-2", "RG-3", "RG-4", "RG-none"}
	windows := []struct {
		name     string
		from, to time.Time
	}{
		{"12h", base.Add(-6 * time.Hour), base.Add(6 * time.Hour)},
		{"6h", base, base.Add(6 * time.Hour)},
		{"3h", base.Add(3 * time.Hour), base.Add(6 * time.Hour)},
		{"first-hour", base, base.Add(time.Hour)},
		{"after-first-hour", base.Add(time.Hour), base.Add(2 * time.Hour)},
		{"in-the-gap", base.Add(2*time.Hour + time.Minute), base.Add(3*time.Hour - time.Minute)},
		{"across-the-family-change", base.Add(2 * time.Hour), base.Add(4 * time.Hour)},
		{"1ns", base, base.Add(time.Nanosecond)},
		{"empty", base.Add(7 * time.Hour), base.Add(8 * time.Hour)},
		{"backwards", base.Add(time.Hour), base},
	}
	stores := []struct {
		name string
		s    bySensor
	}{{"sqlite", rs}, {"influx", iw}}
	for _, win := range windows {
		for _, fn := range store.Funcs {
			want := map[string]float64{}
			for _, id := range sensors {
				if v, n := reference(series[id], fn, win.from, win.to); n > 0 {
					want[id] = v
				}
			}
			for _, st := range stores {
				got, err := st.s.AggregateBySensor(ctx, "rain", fn, win.from, win.to, sensors)
				if err != nil {
					t.Errorf("%s: %s over %s: %v", st.name, fn, win.name, err)
					continue
				}
				if !sameValues(got, want) {
					t.Errorf("%s: %s over %s = %v, want %v", st.name, fn, win.name, got, want)
				}
			}
		}
		// The charts: the same readings from both.
		for _, id := range sensors {
			var answers [2][]yujing.Reading
			for i, st := range stores {
				got, err := st.s.Query(ctx, id, "rain", win.from, win.to)
				if err != nil {
					t.Fatalf("%s: query %s over %s: %v", st.name, id, win.name, err)
				}
				answers[i] = got
			}
			if a, b := fmt.Sprint(answers[0]), fmt.Sprint(answers[1]); a != b {
				t.Errorf("query %s over %s:\nsqlite %s\ninflux %s", id, win.name, a, b)
			}
			var want []yujing.Reading
			for _, r := range series[id] {
				if !r.Time.Before(win.from) && r.Time.Before(win.to) {
					want = append(want, r)
				}
			}
			if !slices.EqualFunc(answers[1], want, func(a, b yujing.Reading) bool {
				return a.Time.Equal(b.Time) && a.Value == b.Value && a.Unit == b.Unit && a.Family == b.Family
			}) {
				t.Errorf("query %s over %s = %v, want %v", id, win.name, answers[1], want)
			}
		}
	}
}

// sameValues reports whether a and b hold the same sensors with values
// that agree to 1e-9 relative.
func sameValues(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !near(v, w) {
			return false
		}
	}
	return true
}
