package sqlstate

import (
	"path/filepath"
	"testing"
	"time"

	"yujing"
	"yujing/internal/testenv"
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
