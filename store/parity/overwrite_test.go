package parity_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"yujing"
	"yujing/internal/testenv"
	"yujing/store/influx"
	"yujing/store/sqlite"
)

// querier is what both stores offer the console's charts.
type querier interface {
	Query(ctx context.Context, sensor, metric string, from, to time.Time) ([]yujing.Reading, error)
}

// TestOverwriteParity: a reading of a sensor, metric and instant already
// stored replaces it, in a later write or later in the same write, in
// both stores alike. Ingest relies on it when a Sparkplug DATA supersedes
// its BIRTH's placeholder of the same millisecond (issue 14 item 4): the
// BIRTH's value is stored first, the DATA's over it.
func TestOverwriteParity(t *testing.T) {
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

	at := time.Now().Add(-time.Hour).Truncate(time.Millisecond).UTC()
	rd := func(metric string, v float64, d time.Duration) yujing.Reading {
		return yujing.Reading{Sensor: "GT-101", Site: "plant", Family: yujing.FamilyGas, Metric: metric, Unit: "%LEL", Value: v, Time: at.Add(d)}
	}
	writes := [][]yujing.Reading{
		{rd("lel", 0, 0), rd("pressure", 0, 0)},                 // a BIRTH
		{rd("lel", 60, 0)},                                      // its DATA, in a later write
		{rd("lel", 0, time.Second), rd("lel", 61, time.Second)}, // both in one
	}
	want := map[string][]float64{"lel": {60, 61}, "pressure": {0}}
	for _, s := range []struct {
		name string
		w    interface {
			Write(context.Context, []yujing.Reading) error
		}
		q querier
	}{{"sqlite", rs, rs}, {"influx", iw, iw}} {
		for _, w := range writes {
			if err := s.w.Write(ctx, w); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		for metric, vs := range want {
			got, err := s.q.Query(ctx, "GT-101", metric, at.Add(-time.Minute), at.Add(time.Minute))
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			var gv []float64
			for _, r := range got {
				gv = append(gv, r.Value)
			}
			if !slices.Equal(gv, vs) {
				t.Errorf("%s: %s = %v, want %v", s.name, metric, gv, vs)
			}
		}
	}
}
