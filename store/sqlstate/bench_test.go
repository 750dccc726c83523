package sqlstate

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"yujing"
	"yujing/internal/testenv"
	"yujing/store"
)

// BenchmarkStateUpdateAlert measures UpdateAlert: one durable commit (on
// SQLite synchronous=FULL; on PostgreSQL its defaults, fsync and
// synchronous_commit on, over loopback), the cost of making one
// transition durable.
func BenchmarkStateUpdateAlert(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		benchUpdateAlert(b, filepath.Join(b.TempDir(), "s.db"))
	})
	b.Run("postgres", func(b *testing.B) {
		pg := testenv.StartPostgres(b)
		benchUpdateAlert(b, pg.URL)
	})
}

func benchUpdateAlert(b *testing.B, where string) {
	s, err := Open(b.Context(), where, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	a := yujing.Alert{Rule: "gas-high", Sensor: "gas-1", Site: "plant-a", Family: yujing.FamilyGas,
		Metric: "lel", Unit: "%LEL", Level: yujing.Blue, State: yujing.StateFiring, Value: 26,
		Threshold: 25, StartedAt: t0, UpdatedAt: t0}
	if err := s.CreateAlert(b.Context(), &a, &yujing.Transition{At: t0, Event: yujing.EventRaised,
		ToLevel: yujing.Blue, ToState: yujing.StateFiring}); err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		n++
		from := a.Level
		a.Level = yujing.Blue + yujing.Level(n%4)
		a.Value = 25 + float64(n%4)*10
		a.UpdatedAt = t0.Add(time.Duration(n) * time.Second)
		t := yujing.Transition{At: a.UpdatedAt, Event: yujing.EventUpgraded, FromLevel: from, ToLevel: a.Level,
			FromState: a.State, ToState: a.State, Value: a.Value, Actor: yujing.ActorSystem}
		if err := s.UpdateAlert(b.Context(), a, &t); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "transitions/s")
}

// BenchmarkBurstCalls measures a burst of warnings as the dispatcher
// writes them: burstWorkers goroutines (notify's workers, escalate,
// the lifecycle) take burstWarnings warnings between them, and for each
// create the alert (CreateAlert), record its call (RecordCall) and mark
// it sent (MarkCall): three durable writes a warning. One iteration is
// the whole burst. It reports per call (one warning's three writes) the
// wall time, the CPU time of the process (user + system, getrusage) and
// the number of commits the writer made.
//
// The sub-benchmark "alone" has one goroutine write the same burst: what a
// writer pays with nobody to share a commit with.
func BenchmarkBurstCalls(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		benchBurstCalls(b, burstWorkers, func() string { return filepath.Join(b.TempDir(), "s.db") })
	})
	b.Run("sqlite-alone", func(b *testing.B) {
		benchBurstCalls(b, 1, func() string { return filepath.Join(b.TempDir(), "s.db") })
	})
	b.Run("postgres", func(b *testing.B) {
		pg := testenv.StartPostgres(b)
		benchBurstCalls(b, burstWorkers, func() string { return pg.NewDatabase(b) })
	})
}

const (
	burstWarnings = 5000
	burstWorkers  = 8
)

func benchBurstCalls(b *testing.B, workers int, fresh func() string) {
	t0 := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	var wall, cpu time.Duration
	var calls, commits int64
	for b.Loop() {
		b.StopTimer()
		s, err := Open(b.Context(), fresh(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		commits0 := commitCount(s)
		cpu0 := processCPU(b)
		start := time.Now()
		b.StartTimer()
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for range workers {
			wg.Go(func() {
				for {
					i := next.Add(1)
					if i > burstWarnings {
						return
					}
					if err := burstWarning(b.Context(), s, t0, i); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		b.StopTimer()
		wall += time.Since(start)
		cpu += processCPU(b) - cpu0
		commits += commitCount(s) - commits0
		calls += burstWarnings
		close(errs)
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(wall.Nanoseconds())/float64(calls), "ns/call")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(calls), "cpu-ns/call")
	b.ReportMetric(float64(commits)/float64(calls), "commits/call")
}

// burstWarning writes warning i of a burst: its alert, its call recorded
// and its call marked sent.
func burstWarning(ctx context.Context, s *State, t0 time.Time, i int64) error {
	at := t0.Add(time.Duration(i) * time.Millisecond)
	a := yujing.Alert{Rule: "gas-high", Sensor: fmt.Sprint("gas-", i), Site: "plant-a", Family: yujing.FamilyGas,
		Metric: "lel", Unit: "%LEL", Level: yujing.Red, State: yujing.StateFiring, Value: 55, Threshold: 50,
		StartedAt: at, UpdatedAt: at}
	if err := s.CreateAlert(ctx, &a, &yujing.Transition{At: at, Event: yujing.EventRaised,
		ToLevel: yujing.Red, ToState: yujing.StateFiring, Actor: yujing.ActorSystem}); err != nil {
		return err
	}
	c := testCall(fmt.Sprintf("%d-zhang-wei-sms", a.ID), a.ID, "sms", at)
	if _, err := s.RecordCall(ctx, c); err != nil {
		return err
	}
	return s.MarkCall(ctx, store.CallUpdate{ID: c.ID, Status: store.CallSent, Attempts: 1,
		ProviderID: "biz-" + c.ID, At: at.Add(time.Second)})
}

// processCPU is the CPU time (user and system) the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
