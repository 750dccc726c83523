package alerting_test

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/alertingtest"
	"yujing/ingest"
	"yujing/internal/testenv"
	"yujing/store/influx"
	"yujing/store/sqlite"
)

// BenchmarkScheduledTick is one 5-minute tick of the CMA rainstorm preset
// (four levels over 12 h, 6 h and 3 h windows) over n rain gauges that
// each reported every 10 minutes for the last 13 hours, against InfluxDB
// 1.8 and the embedded store, through a real engine on SQLite state; the
// rain stays below the thresholds (no transitions: the steady state).
// path=grouped is the scheduler's (one query per window for all gauges),
// path=per-sensor the baseline of one query per gauge and window, in the
// same run on the same data. Reported per tick: queries, the CPU time of
// this process (scheduler, engine and, for sqlite, the store) and, for
// InfluxDB, of influxd; on a shared machine these are steadier than the
// wall time.
//
//	go test -run '^$' -bench ScheduledTick -benchtime 3x ./alerting/
func BenchmarkScheduledTick(b *testing.B) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2025, 7, 20, 21, 0, 0, 0, loc) // long past: the tick never meets the clock
	for _, storeName := range []string{"influx", "sqlite"} {
		for _, n := range []int{1000, 10000} {
			b.Run(fmt.Sprintf("store=%s/gauges=%d", storeName, n), func(b *testing.B) {
				ctx := context.Background()
				var rs readingStore
				var cpu func() time.Duration
				switch storeName {
				case "influx":
					db := testenv.InfluxDB(b)
					iw, err := influx.New(influx.Config{URL: db.URL, Bucket: db.Bucket(), Timeout: 5 * time.Minute})
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(iw.Close)
					rs, cpu = iw, db.CPU
				case "sqlite":
					r, err := sqlite.OpenReadings(ctx, filepath.Join(b.TempDir(), "readings.db"), 0)
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { r.Close() })
					rs = r
				}
				cat := gauges(n)
				sites := make([]yujing.Site, 0, n/10+1)
				for i := range n/10 + 1 {
					sites = append(sites, yujing.Site{ID: fmt.Sprintf("st-%d", i)})
				}
				reg, err := ingest.NewRegistry(sites, cat)
				if err != nil {
					b.Fatal(err)
				}
				var batch []yujing.Reading
				for i, sn := range cat[:n] {
					for ts := at.Add(-13 * time.Hour); ts.Before(at); ts = ts.Add(10 * time.Minute) {
						batch = append(batch, yujing.Reading{Sensor: sn.ID, Site: sn.Site, Family: sn.Family, Metric: "rain", Unit: "mm",
							Value: float64((i+int(ts.Unix()/600))%5) * 0.1, Time: ts}) // 12 h: at most 28.8 mm
					}
					if len(batch) >= 50000 || i == n-1 {
						if err := rs.Write(ctx, batch); err != nil {
							b.Fatal(err)
						}
						batch = batch[:0]
					}
				}
				st, err := sqlite.OpenState(ctx, filepath.Join(b.TempDir(), "state.db"))
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { st.Close() })
				eng := alertingtest.New(b, nil, st, reg, alertingtest.Options{})
				rule := rainstorm()
				for _, path := range []string{"grouped", "per-sensor"} {
					b.Run("path="+path, func(b *testing.B) {
						var calls func() int64
						var agg alerting.Aggregator
						if path == "grouped" {
							g := &grouped{s: rs}
							agg, calls = g, g.calls.Load
						} else {
							p := &perSensor{s: rs}
							agg, calls = p, p.calls.Load
						}
						s, err := alerting.NewScheduler([]*alerting.ScheduledRule{rule}, agg, eng, reg, alerting.SchedulerOptions{Location: loc})
						if err != nil {
							b.Fatal(err)
						}
						var cpu0 time.Duration
						if cpu != nil {
							cpu0 = cpu()
						}
						self0 := selfCPU(b)
						for b.Loop() {
							sensors, noData, errs := s.EvaluateAt(ctx, rule.Rule.Name, at)
							if len(errs) > 0 || sensors != n || noData != 0 {
								b.Fatalf("%d sensors, %d without data, errors %v", sensors, noData, errs)
							}
						}
						b.ReportMetric(float64(calls())/float64(b.N), "queries/op")
						b.ReportMetric(float64(selfCPU(b)-self0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
						if cpu != nil {
							b.ReportMetric(float64(cpu()-cpu0)/float64(time.Millisecond)/float64(b.N), "influxd-cpu-ms/op")
						}
					})
				}
			})
		}
	}
}

// selfCPU is the CPU time (user and system) this process has used.
func selfCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
