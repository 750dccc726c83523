package spool

import (
	"fmt"
	"sync"
	"testing"
)

// BenchmarkAppend measures Append in readings per second: batches of one
// reading and of 512 (the subscriber's batch size), from one writer and
// from several at once (group commit), with the fsync and without it
// (what durability costs).
func BenchmarkAppend(b *testing.B) {
	for _, bc := range []struct{ batch, writers int }{{1, 1}, {1, 16}, {512, 1}, {512, 4}} {
		for _, durable := range []bool{true, false} {
			name := fmt.Sprintf("batch=%d/writers=%d/fsync=%t", bc.batch, bc.writers, durable)
			b.Run(name, func(b *testing.B) {
				s, err := Open(b.TempDir(), Options{MaxBytes: 1 << 40})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				s.noSync = !durable
				rs := batch(1, bc.batch)
				b.ResetTimer()
				var wg sync.WaitGroup
				per := (b.N + bc.writers - 1) / bc.writers
				for range bc.writers {
					wg.Go(func() {
						for range per {
							if err := s.Append(b.Context(), rs); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				n := per * bc.writers
				b.ReportMetric(float64(n*bc.batch)/b.Elapsed().Seconds(), "readings/s")
				b.ReportMetric(float64(s.syncs.Load())/float64(n), "fsyncs/op")
			})
		}
	}
}
