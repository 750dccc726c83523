package sqlite

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/store"
)

func TestAggregate(t *testing.T) {
	r := openTestReadings(t, 0)
	ctx := t.Context()
	t0 := time.Date(2025, 7, 21, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	rs := []yujing.Reading{
		{Sensor: "RG-1", Metric: "rain", Value: 2, Time: at(0)},
		{Sensor: "RG-1", Metric: "rain", Value: -1, Time: at(10 * time.Minute)},
		{Sensor: "RG-1", Metric: "rain", Value: 8, Time: at(20 * time.Minute)},
		{Sensor: "RG-1", Metric: "rain", Value: 5, Time: at(30 * time.Minute)},
		// Neighbours that must not leak in.
		{Sensor: "RG-1", Metric: "temp", Value: 100, Time: at(10 * time.Minute)},
		{Sensor: "RG-2", Metric: "rain", Value: 100, Time: at(10 * time.Minute)},
	}
	if err := r.Write(ctx, rs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		fn       store.Func
		from, to time.Duration
		want     float64
		n        int
	}{
		// [0, 30m): the reading at 30m is outside.
		{store.FuncSum, 0, 30 * time.Minute, 9, 3},
		{store.FuncMean, 0, 30 * time.Minute, 3, 3},
		{store.FuncMax, 0, 30 * time.Minute, 8, 3},
		{store.FuncMin, 0, 30 * time.Minute, -1, 3},
		{store.FuncLast, 0, 30 * time.Minute, 8, 3},
		{store.FuncCount, 0, 30 * time.Minute, 3, 3},
		{store.FuncRate, 0, 30 * time.Minute, 3.0 / 10, 3}, // (8 − 2) / 20 min
		// [10m, 31m): starts exactly on a reading.
		{store.FuncSum, 10 * time.Minute, 31 * time.Minute, 12, 3},
		{store.FuncRate, 10 * time.Minute, 31 * time.Minute, 6.0 / 20, 3},
		// One reading: a rate is undefined, so no data.
		{store.FuncRate, 25 * time.Minute, time.Hour, 0, 0},
		{store.FuncLast, 25 * time.Minute, time.Hour, 5, 1},
		// Empty windows: no data, count 0.
		{store.FuncSum, time.Hour, 2 * time.Hour, 0, 0},
		{store.FuncCount, time.Hour, 2 * time.Hour, 0, 0},
		{store.FuncMax, -time.Hour, 0, 0, 0},
		{store.FuncSum, 30 * time.Minute, 0, 0, 0}, // backwards
	} {
		got, n, err := r.Aggregate(ctx, "RG-1", "rain", tc.fn, at(tc.from), at(tc.to))
		if err != nil || n != tc.n || got != tc.want {
			t.Errorf("%s over [%s, %s) = %v, %d, %v; want %v, %d", tc.fn, tc.from, tc.to, got, n, err, tc.want, tc.n)
		}
	}
	var ue *store.UnknownFuncError
	if _, _, err := r.Aggregate(ctx, "RG-1", "rain", "p95", t0, at(time.Hour)); !errors.As(err, &ue) {
		t.Errorf("aggregate p95: %v, want an UnknownFuncError", err)
	}
}

// TestAggregatePlans checks that every aggregate walks the primary key
// over the window only: no table scan, no sort.
func TestAggregatePlans(t *testing.T) {
	r := openTestReadings(t, 0)
	for _, fn := range store.Funcs {
		q, ok := aggregateQuery(fn)
		if !ok {
			t.Fatalf("no query for %s", fn)
		}
		rows, err := r.db.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, "s", "m", 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, "SEARCH readings USING PRIMARY KEY (sensor=? AND metric=? AND ts>? AND ts<?)") ||
			strings.Contains(text, "SCAN readings") || strings.Contains(text, "TEMP B-TREE") {
			t.Errorf("%s: plan\n%s", fn, text)
		}
	}
}

// TestAggregateBySensor: the one query for many sensors answers, sensor by
// sensor, what Aggregate answers for each: the same value to the bit, and
// a sensor left out exactly when its window holds no data (for rate: fewer
// than two readings at different times) — also for a sensor with no
// readings at all, one asked for twice, and an id that is not UTF-8.
func TestAggregateBySensor(t *testing.T) {
	r := openTestReadings(t, 0)
	ctx := t.Context()
	t0 := time.Date(2025, 7, 21, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	var rs []yujing.Reading
	add := func(sensor, metric string, v float64, d time.Duration) {
		rs = append(rs, yujing.Reading{Sensor: sensor, Metric: metric, Value: v, Time: at(d)})
	}
	for i, v := range []float64{2, -1, 8, 5} {
		add("RG-1", "rain", v, time.Duration(i)*10*time.Minute)
	}
	add("RG-2", "rain", 0, 0) // one reading of 0: data, not none
	add("RG-3", "rain", 4, 15*time.Minute)
	add("RG-3", "rain", 7.5, 29*time.Minute+59*time.Second)
	add("RG-3", "temp", 100, 10*time.Minute)
	add("RG-\xff", "rain", 3, 5*time.Minute)
	add("RG-\xff", "rain", 9, 6*time.Minute)
	if err := r.Write(ctx, rs); err != nil {
		t.Fatal(err)
	}
	sensors := []string{"RG-1", "RG-2", "RG-3", "RG-none", "RG-\xff", "RG-1"}
	windows := []struct{ from, to time.Duration }{
		{0, 30 * time.Minute},
		{10 * time.Minute, 31 * time.Minute},
		{25 * time.Minute, time.Hour},
		{time.Hour, 2 * time.Hour},
		{30 * time.Minute, 0}, // backwards
	}
	for _, fn := range store.Funcs {
		for _, w := range windows {
			got, err := r.AggregateBySensor(ctx, "rain", fn, at(w.from), at(w.to), sensors)
			if err != nil || got == nil {
				t.Fatalf("%s over [%s, %s): %v, %v", fn, w.from, w.to, got, err)
			}
			want := map[string]float64{}
			for _, s := range sensors {
				v, n, err := r.Aggregate(ctx, s, "rain", fn, at(w.from), at(w.to))
				if err != nil {
					t.Fatal(err)
				}
				if n > 0 {
					want[s] = v
				}
			}
			if !maps.Equal(got, want) {
				t.Errorf("%s over [%s, %s) = %v, want %v", fn, w.from, w.to, got, want)
			}
		}
	}
	if got, err := r.AggregateBySensor(ctx, "rain", store.FuncSum, t0, at(time.Hour), nil); err != nil || got == nil || len(got) != 0 {
		t.Errorf("no sensors: %v, %v; want an empty answer", got, err)
	}
	var ue *store.UnknownFuncError
	if _, err := r.AggregateBySensor(ctx, "rain", "p95", t0, at(time.Hour), sensors); !errors.As(err, &ue) {
		t.Errorf("aggregate p95: %v, want an UnknownFuncError", err)
	}
}

// TestAggregateBySensorPlans checks that every aggregate of many sensors
// visits each sensor's window along the primary key: no table scan, no
// sort.
func TestAggregateBySensorPlans(t *testing.T) {
	r := openTestReadings(t, 0)
	for _, fn := range store.Funcs {
		q, ok := bySensorQuery(fn)
		if !ok {
			t.Fatalf("no query for %s", fn)
		}
		rows, err := r.db.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, `["s"]`, "m", 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, "SEARCH readings USING PRIMARY KEY (sensor=? AND metric=? AND ts>? AND ts<?)") ||
			strings.Contains(text, "SCAN readings") || strings.Contains(text, "TEMP B-TREE") {
			t.Errorf("%s: plan\n%s", fn, text)
		}
	}
}
