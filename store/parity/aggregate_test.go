package parity_test

import (
	"context"
	"math"
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

// aggregator is what both stores offer.
type aggregator interface {
	Aggregate(ctx context.Context, sensor, metric string, fn store.Func, from, to time.Time) (float64, int, error)
}

// reference computes fn over rs (one series) in [from, to) the slow way.
func reference(rs []yujing.Reading, fn store.Func, from, to time.Time) (float64, int) {
	var in []yujing.Reading
	for _, r := range rs {
		if !r.Time.Before(from) && r.Time.Before(to) {
			in = append(in, r)
		}
	}
	slices.SortFunc(in, func(a, b yujing.Reading) int { return a.Time.Compare(b.Time) })
	n := len(in)
	if n == 0 {
		return 0, 0
	}
	switch fn {
	case store.FuncSum, store.FuncMean:
		s := 0.0
		for _, r := range in {
			s += r.Value
		}
		if fn == store.FuncMean {
			s /= float64(n)
		}
		return s, n
	case store.FuncMax, store.FuncMin:
		v := in[0].Value
		for _, r := range in {
			if fn == store.FuncMax {
				v = max(v, r.Value)
			} else {
				v = min(v, r.Value)
			}
		}
		return v, n
	case store.FuncLast:
		return in[n-1].Value, n
	case store.FuncCount:
		return float64(n), n
	case store.FuncRate:
		v, ok := store.Rate(in[0].Time, in[0].Value, in[n-1].Time, in[n-1].Value)
		if !ok {
			return 0, 0
		}
		return v, n
	}
	panic("unknown func " + fn)
}

// near reports whether a and b agree to 1e-9 relative.
func near(a, b float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

// TestAggregateParity writes the same readings to the embedded store and to
// InfluxDB 1.8 and checks that both answer every aggregate over several
// windows like the reference: irregular timestamps down to the nanosecond,
// readings exactly at a window's start (counted) and end (not counted),
// negative values, a unit change in the middle of the series (a second
// InfluxDB series), neighbours that must not leak in, empty windows and
// windows with a single reading.
func TestAggregateParity(t *testing.T) {
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

	base := time.Date(2024, 7, 20, 23, 0, 0, 0, time.UTC)
	// Offsets of the series' readings from base: irregular, with
	// nanoseconds, and some exactly on the window bounds used below.
	offsets := []time.Duration{
		0, // exactly at the start of "hour"
		7*time.Minute + 13*time.Second + 417*time.Nanosecond,
		9 * time.Minute,
		21*time.Minute + 1*time.Nanosecond,
		30 * time.Minute, // exactly at the end of "first-half" and the start of "second-half"
		30*time.Minute + 999*time.Microsecond,
		44*time.Minute + 59*time.Second,
		59*time.Minute + 59*time.Second + 999_999_999*time.Nanosecond,
		60 * time.Minute, // exactly at the end of "hour": not in it
		95 * time.Minute,
		3 * time.Hour, // alone in "lonely"
	}
	values := []float64{3.25, -1.5, 0, 12.125, -7.75, 1e-3, 42.5, -0.062, 100, 5.5, -2}
	var series, all []yujing.Reading
	for i, off := range offsets {
		unit := "mm"
		if i >= 6 { // the gauge was reconfigured: a second series in InfluxDB
			unit = "0.1mm"
		}
		r := yujing.Reading{Sensor: "RG-1", Site: "st-1", Family: yujing.FamilyWeather, Metric: "rain", Unit: unit,
			Value: values[i], Time: base.Add(off)}
		series = append(series, r)
	}
	all = append(all, series...)
	// Neighbours: another metric of the same sensor, the same metric of
	// another sensor, at the same instants.
	for i, off := range offsets {
		all = append(all,
			yujing.Reading{Sensor: "RG-1", Site: "st-1", Family: yujing.FamilyWeather, Metric: "temp", Unit: "℃", Value: 1000 + float64(i), Time: base.Add(off)},
			yujing.Reading{Sensor: "RG-2", Site: "st-1", Family: yujing.FamilyWeather, Metric: "rain", Unit: "mm", Value: -1000 - float64(i), Time: base.Add(off)})
	}
	if err := rs.Write(ctx, all); err != nil {
		t.Fatal(err)
	}
	if err := iw.Write(ctx, all); err != nil {
		t.Fatal(err)
	}

	windows := []struct {
		name     string
		from, to time.Time
	}{
		{"hour", base, base.Add(time.Hour)},
		{"first-half", base, base.Add(30 * time.Minute)},
		{"second-half", base.Add(30 * time.Minute), base.Add(time.Hour)},
		{"inner", base.Add(time.Nanosecond), base.Add(59*time.Minute + 59*time.Second + 999_999_999*time.Nanosecond)},
		{"everything", base.Add(-24 * time.Hour), base.Add(24 * time.Hour)},
		{"lonely", base.Add(2 * time.Hour), base.Add(4 * time.Hour)},
		{"ends-on-a-reading", base.Add(61 * time.Minute), base.Add(95 * time.Minute)},
		{"empty", base.Add(5 * time.Hour), base.Add(6 * time.Hour)},
		{"backwards", base.Add(time.Hour), base},
	}
	stores := []struct {
		name string
		agg  aggregator
	}{{"sqlite", rs}, {"influx", iw}}
	for _, w := range windows {
		for _, fn := range store.Funcs {
			want, wantN := reference(series, fn, w.from, w.to)
			for _, s := range stores {
				got, n, err := s.agg.Aggregate(ctx, "RG-1", "rain", fn, w.from, w.to)
				if err != nil {
					t.Errorf("%s: %s over %s: %v", s.name, fn, w.name, err)
					continue
				}
				if n != wantN || !near(got, want) {
					t.Errorf("%s: %s over %s = %v (n=%d), want %v (n=%d)", s.name, fn, w.name, got, n, want, wantN)
				}
			}
		}
	}
	// A series that does not exist is an empty window, not an error.
	for _, s := range stores {
		if v, n, err := s.agg.Aggregate(ctx, "nope", "rain", store.FuncSum, base, base.Add(time.Hour)); err != nil || n != 0 || v != 0 {
			t.Errorf("%s: sum of a missing series = %v, %d, %v; want 0, 0, nil", s.name, v, n, err)
		}
		if _, _, err := s.agg.Aggregate(ctx, "RG-1", "rain", "median", base, base.Add(time.Hour)); err == nil {
			t.Errorf("%s: aggregate median: no error", s.name)
		}
	}
}
