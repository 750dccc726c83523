package sqlite

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"yujing"
)

// BenchmarkReadingsWrite measures Write with batches of one reading (a
// sensor at a time) and of 500 (what ingest's batcher sends under load).
func BenchmarkReadingsWrite(b *testing.B) {
	for _, size := range []int{1, 500} {
		b.Run(fmt.Sprint("batch=", size), func(b *testing.B) {
			r, err := OpenReadings(b.Context(), filepath.Join(b.TempDir(), "r.db"), 0)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			t0 := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
			batch := make([]yujing.Reading, size)
			n := 0
			for b.Loop() {
				for i := range batch {
					// 100 sensors, each reading once a second.
					batch[i] = yujing.Reading{Sensor: fmt.Sprintf("gas-%03d", n%100), Site: "plant-a",
						Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Value: float64(n % 50),
						Time: t0.Add(time.Duration(n/100) * time.Second)}
					n++
				}
				if err := r.Write(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "readings/s")
		})
	}
}
