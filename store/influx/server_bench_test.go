package influx_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/internal/testenv"
	"yujing/store/influx"
)

// BenchmarkServerCost measures what InfluxDB 1.8.10 itself spends — its
// CPU time per point, from /proc — on the writes yujing sends, by request
// size: the cost behind the end-to-end ingest benchmark's influxd column
// (BENCHMARKS.md, docs/INFLUXDB.md). 100 gas sensors, one float field, the
// schema's five tags; each round writes 200 000 points.
//
//	go test -run '^$' -bench ServerCost -benchtime 1x -count 3 ./store/influx/
//
// influxd runs with testenv's GOGC (400; YUJING_INFLUXD_GOGC=100 for Go's
// default). "unsorted" sends the same lines with their tags out of key
// order, as yujing did before: InfluxDB then sorts each point's key itself.
func BenchmarkServerCost(b *testing.B) {
	db := testenv.InfluxDB(b)
	const points = 200_000
	base := time.Now().Add(-time.Hour)
	readings := make([]yujing.Reading, points)
	for i := range readings {
		readings[i] = yujing.Reading{Sensor: fmt.Sprintf("S%03d", i%100), Site: "plant-a", Family: yujing.FamilyGas,
			Metric: "lel", Unit: "%LEL", Region: "330106", Industry: "chemicals", Value: float64(i) * 1e-6,
			Time: base.Add(time.Duration(i) * time.Millisecond)}
	}
	round := 0
	run := func(b *testing.B, write func(ctx context.Context, rs []yujing.Reading) error, batch int) {
		var cpu time.Duration
		for range b.N {
			// Each round in its own hours, so no round overwrites another's points.
			round++
			rs := make([]yujing.Reading, len(readings))
			for i, r := range readings {
				r.Time = r.Time.Add(-time.Duration(round) * 2 * time.Hour)
				rs[i] = r
			}
			cpu0 := db.CPU()
			b.StartTimer()
			for i := 0; i < len(rs); i += batch {
				if err := write(b.Context(), rs[i:min(i+batch, len(rs))]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			cpu += db.CPU() - cpu0
		}
		perPoint := cpu.Seconds() * 1e6 / float64(b.N*points)
		b.ReportMetric(float64(b.N*points)/b.Elapsed().Seconds(), "points/s")
		b.ReportMetric(perPoint, "influxd_µs/point")
	}
	for _, batch := range []int{100, 250, 700, 2000, 5000} {
		b.Run("sorted-"+strconv.Itoa(batch), func(b *testing.B) {
			b.StopTimer()
			w, err := influx.New(influx.Config{URL: db.URL, Bucket: db.Bucket(), BatchSize: batch})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			run(b, w.Write, batch)
		})
	}
	b.Run("unsorted-700", func(b *testing.B) {
		b.StopTimer()
		client := &http.Client{}
		run(b, func(ctx context.Context, rs []yujing.Reading) error {
			var body strings.Builder
			for _, r := range rs {
				fmt.Fprintf(&body, "gas,site=%s,sensor=%s,unit=%s,region=%s,industry=%s %s=%s %d\n",
					r.Site, r.Sensor, r.Unit, r.Region, r.Industry, r.Metric,
					strconv.FormatFloat(r.Value, 'f', -1, 64), r.Time.UnixNano())
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, db.URL+"/write?db="+db.Database+"&precision=ns", strings.NewReader(body.String()))
			if err != nil {
				return err
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				return fmt.Errorf("write: %s", resp.Status)
			}
			return nil
		}, 700)
	})
}
