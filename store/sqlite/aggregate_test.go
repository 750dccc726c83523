package sqlite

import (
	"errors"
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
