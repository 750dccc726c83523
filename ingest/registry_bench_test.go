package ingest

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"yujing"
)

// BenchmarkRegistryHeap is the heap the registry holds per sensor that has
// reported once, at 100 000 and 1 000 000 sensors (the catalogue and the
// newest reading), and how long building the catalogue takes:
//
//	go test -run '^$' -bench RegistryHeap -benchtime 1x ./ingest/
//
// The whole of serve is BenchmarkSensorScale in cmd/yujing.
func BenchmarkRegistryHeap(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("sensors=%d", n), func(b *testing.B) {
			for range b.N {
				sites := make([]yujing.Site, n/100)
				for j := range sites {
					sites[j] = yujing.Site{ID: fmt.Sprintf("S%05d", j), Region: fmt.Sprintf("3205%02d", j%100)}
				}
				before := heapAlloc()
				sensors := make([]yujing.Sensor, n)
				for i := range sensors {
					sensors[i] = yujing.Sensor{ID: fmt.Sprintf("G%07d", i), Name: fmt.Sprintf("可燃气体探测器%d号", i%100+1),
						Site: sites[i/100].ID, Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Decoder: "json"}
				}
				t0 := time.Now()
				reg, err := NewRegistry(sites, sensors)
				if err != nil {
					b.Fatal(err)
				}
				took := time.Since(t0)
				sensors = nil
				rs := make([]yujing.Reading, 1)
				info := []readingInfo{{}}
				now := time.Now()
				for i := range n {
					rs[0] = yujing.Reading{Sensor: fmt.Sprintf("G%07d", i), Metric: "lel", Value: 1, Time: now}
					info[0].at = now
					reg.record(rs, info)
				}
				after := heapAlloc()
				b.ReportMetric(float64(after-before)/float64(n), "heap-B/sensor")
				b.ReportMetric(took.Seconds(), "build-s")
				runtime.KeepAlive(reg)
				runtime.KeepAlive(sites)
			}
		})
	}
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
