package alerting_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/alertingtest"
	"yujing/ingest"
	"yujing/store/sqlite"
)

func gasTiers() alerting.Tiers {
	var t alerting.Tiers
	for l, v := range map[yujing.Level]float64{yujing.Blue: 10, yujing.Yellow: 25, yujing.Orange: 40, yujing.Red: 50} {
		t.Value[l], t.Set[l] = v, true
	}
	return t
}

func benchEngine(b *testing.B, sensors []yujing.Sensor, rules []*alerting.Rule) *alerting.Engine {
	b.Helper()
	reg, err := ingest.NewRegistry([]yujing.Site{{ID: "p"}}, sensors)
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlite.OpenState(context.Background(), filepath.Join(b.TempDir(), "s.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return alertingtest.New(b, rules, st, reg, alertingtest.Options{}).Engine
}

// BenchmarkObserve is the cost per reading of evaluating the rules bound
// to its sensor, with N rules in the Engine: "spread" binds one rule to each
// of N sensors; "all-on-one" binds all N rules to the one sensor read.
// Values stay below the thresholds (no transitions: the steady state).
func BenchmarkObserve(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		for _, shape := range []string{"spread", "all-on-one"} {
			b.Run(fmt.Sprintf("rules=%d/%s", n, shape), func(b *testing.B) {
				var sensors []yujing.Sensor
				var rules []*alerting.Rule
				for i := range n {
					id := fmt.Sprintf("S%d", i)
					if shape == "all-on-one" {
						id = "S0"
					}
					if i == 0 || shape == "spread" {
						sensors = append(sensors, yujing.Sensor{ID: id, Site: "p", Family: yujing.FamilyGas, Metric: "lel"})
					}
					rules = append(rules, &alerting.Rule{Name: fmt.Sprintf("r%d", i), Sensors: []string{id}, Above: gasTiers(), Hysteresis: 2})
				}
				eng := benchEngine(b, sensors, rules)
				rd := []yujing.Reading{{Sensor: "S0", Site: "p", Family: yujing.FamilyGas, Metric: "lel", Value: 3}}
				t0 := time.Now()
				ctx := context.Background()
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					i++
					rd[0].Time = t0.Add(time.Duration(i))
					rd[0].Value = float64(i % 9)
					eng.Observe(ctx, rd)
				}
			})
		}
	}
}

// BenchmarkHeapPerSensor measures the heap the engine holds per active
// sensor with one threshold rule: the slope of the heap in use between
// engines of 10k, 100k and 1M sensors, each having seen one reading.
func BenchmarkHeapPerSensor(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("sensors=%d", n), func(b *testing.B) {
			for range b.N {
				sensors := make([]yujing.Sensor, n)
				for i := range sensors {
					sensors[i] = yujing.Sensor{ID: fmt.Sprintf("S%07d", i), Site: "p", Family: yujing.FamilyGas, Metric: "lel"}
				}
				reg, _ := ingest.NewRegistry([]yujing.Site{{ID: "p"}}, sensors)
				st, _ := sqlite.OpenState(context.Background(), filepath.Join(b.TempDir(), "s.db"))
				rule := &alerting.Rule{Name: "gas", Match: alerting.Selector{Family: yujing.FamilyGas}, Above: gasTiers(), Hysteresis: 2}
				before := heapInUse()
				eng := alertingtest.New(b, []*alerting.Rule{rule}, st, reg, alertingtest.Options{})
				ctx := context.Background()
				t0 := time.Now()
				batch := make([]yujing.Reading, 1)
				for i := range sensors {
					batch[0] = yujing.Reading{Sensor: sensors[i].ID, Site: "p", Family: yujing.FamilyGas, Metric: "lel", Value: 1, Time: t0}
					eng.Observe(ctx, batch)
				}
				after := heapInUse()
				b.ReportMetric(float64(after-before)/float64(n), "heap-B/sensor")
				runtime.KeepAlive(eng)
				runtime.KeepAlive(reg)
				runtime.KeepAlive(sensors)
				st.Close()
			}
		})
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// BenchmarkObserveParallel evaluates readings of different sensors from
// GOMAXPROCS goroutines at once, as the ingest shards do: with the engine
// sharded by sensor it scales with the cores.
func BenchmarkObserveParallel(b *testing.B) {
	var sensors []yujing.Sensor
	for i := range 1024 {
		sensors = append(sensors, yujing.Sensor{ID: fmt.Sprintf("S%d", i), Site: "p", Family: yujing.FamilyGas, Metric: "lel"})
	}
	rule := &alerting.Rule{Name: "gas", Match: alerting.Selector{Family: yujing.FamilyGas}, Above: gasTiers(), Hysteresis: 2}
	eng := benchEngine(b, sensors, []*alerting.Rule{rule})
	ctx := context.Background()
	var next atomic.Int64
	t0 := time.Now()
	b.ReportAllocs()
	// Each op is one reading; readings go in batches of 64 per Observe, as
	// the ingest shards hand them over.
	// Each goroutine reads its own 128 sensors, as each ingest shard owns
	// its sensors: readings of one sensor stay in order.
	b.RunParallel(func(pb *testing.PB) {
		g := int(next.Add(1)) % 8
		batch := make([]yujing.Reading, 0, 64)
		i := 0
		for pb.Next() {
			i++
			batch = append(batch, yujing.Reading{Sensor: sensors[g*128+i%128].ID, Site: "p",
				Family: yujing.FamilyGas, Metric: "lel", Value: float64(i % 9), Time: t0.Add(time.Duration(i))})
			if len(batch) == cap(batch) {
				eng.Observe(ctx, batch)
				batch = batch[:0]
			}
		}
		eng.Observe(ctx, batch)
	})
}
