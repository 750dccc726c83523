package sqlstate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"yujing"
	"yujing/store"
	"yujing/store/internal/sqldb"
)

// testConcurrentCalls: calls recorded and marked sent by many goroutines
// at once (notify's workers, escalate) all land; each is visible the
// moment its call returns, and all are there after the database is closed
// and opened again.
func testConcurrentCalls(t *testing.T, b backend) {
	where := b.fresh(t)
	s, err := Open(t.Context(), where, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 25
	t0 := time.Date(2025, 7, 1, 8, 0, 0, 0, time.UTC)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if err := recordAndMark(t.Context(), s, fmt.Sprintf("w%d-c%d", w, i), t0); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = b.openAt(t, where)
	for w := range workers {
		for i := range each {
			id := fmt.Sprintf("w%d-c%d", w, i)
			if rec, _, err := s.Call(t.Context(), id); err != nil || rec.Status != store.CallSent || rec.ProviderID != "biz-"+id {
				t.Errorf("after reopening, call %s: %+v, %v", id, rec, err)
			}
		}
	}
	if pending, err := s.PendingCalls(t.Context()); err != nil || len(pending) != 0 {
		t.Errorf("pending after reopening: %d, %v; want none", len(pending), err)
	}
}

// recordAndMark records call id, checks that it is visible (pending), marks
// it sent and checks that it is visible as sent.
func recordAndMark(ctx context.Context, s *State, id string, t0 time.Time) error {
	if ok, err := s.RecordCall(ctx, testCall(id, 1, "sms", t0)); err != nil || !ok {
		return fmt.Errorf("record %s: %v, %v", id, ok, err)
	}
	if rec, _, err := s.Call(ctx, id); err != nil || rec.Status != store.CallPending {
		return fmt.Errorf("call %s when RecordCall returned: %+v, %v", id, rec, err)
	}
	if err := s.MarkCall(ctx, store.CallUpdate{ID: id, Status: store.CallSent, Attempts: 1,
		ProviderID: "biz-" + id, At: t0.Add(time.Second)}); err != nil {
		return fmt.Errorf("mark %s: %w", id, err)
	}
	if rec, _, err := s.Call(ctx, id); err != nil || rec.Status != store.CallSent {
		return fmt.Errorf("call %s when MarkCall returned: %+v, %v", id, rec, err)
	}
	return nil
}

// batched runs write(0) … write(n-1) from n goroutines while the SQLite
// writer is held busy, so that all n queue for one batch, and returns
// their errors once the holder is released and all returned. It fails
// the test unless the n writes took one commit (the holder another).
func batched(t *testing.T, s *State, n int, write func(i int) error) []error {
	t.Helper()
	before := commitCount(s)
	started, released, held := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		held <- s.db.w.Write(t.Context(), func(context.Context, *sqldb.Tx) error {
			close(started)
			<-released
			return nil
		})
	}()
	<-started
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = write(i) })
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.db.w.WriteStats().Queued < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", s.db.w.WriteStats().Queued, n)
		}
		time.Sleep(time.Millisecond)
	}
	close(released)
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if got := commitCount(s) - before; got != 2 {
		t.Errorf("%d commits for %d concurrent writes and the holder, want 2", got, n)
	}
	return errs
}

// TestGroupCommitBurst: the writes of a burst made at once — alerts
// created, calls recorded, calls marked — are committed together (one
// commit for n writers, where the code before made n), and a write that
// fails in such a batch (UpdateAlert or MarkCall of what does not exist,
// RecordCall of a call already recorded) fails only its own caller. All
// of it is there after a reopen.
func TestGroupCommitBurst(t *testing.T) {
	where := sqliteBackend().fresh(t)
	s, err := Open(t.Context(), where, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 30
	t0 := time.Date(2025, 7, 1, 8, 0, 0, 0, time.UTC)
	alerts := make([]yujing.Alert, n)
	errs := batched(t, s, n+1, func(i int) error {
		if i == n {
			return s.UpdateAlert(t.Context(), yujing.Alert{ID: 9999, Rule: "r", Sensor: "x", Level: yujing.Red,
				State: yujing.StateFiring}, &yujing.Transition{At: t0, Event: yujing.EventUpgraded})
		}
		alerts[i] = yujing.Alert{Rule: "gas-high", Sensor: fmt.Sprint("gas-", i), Level: yujing.Red,
			State: yujing.StateFiring, StartedAt: t0, UpdatedAt: t0}
		return s.CreateAlert(t.Context(), &alerts[i], &yujing.Transition{At: t0, Event: yujing.EventRaised,
			ToLevel: yujing.Red, ToState: yujing.StateFiring})
	})
	for i, err := range errs {
		if i == n {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("update of a missing alert: %v, want ErrNotFound", err)
			}
		} else if err != nil {
			t.Errorf("create alert %d: %v", i, err)
		}
	}
	if countRows(t, s, "transitions") != n {
		t.Errorf("%d transitions, want %d: the failed update's must not be kept", countRows(t, s, "transitions"), n)
	}

	callID := func(i int) string { return fmt.Sprintf("%d-zhang-wei-sms", alerts[i%n].ID) }
	recorded := make([]bool, n+1)
	errs = batched(t, s, n+1, func(i int) (err error) {
		recorded[i], err = s.RecordCall(t.Context(), testCall(callID(i), alerts[i%n].ID, "sms", t0))
		return err
	})
	var twice int
	for i, err := range errs {
		if err != nil {
			t.Errorf("record call %d: %v", i, err)
		}
		if !recorded[i] {
			twice++
		}
	}
	if twice != 1 {
		t.Errorf("%d RecordCall of one id reported not recorded, want 1 of the two", twice)
	}

	errs = batched(t, s, n+1, func(i int) error {
		id := "no-such-call"
		if i < n {
			id = callID(i)
		}
		return s.MarkCall(t.Context(), store.CallUpdate{ID: id, Status: store.CallSent, Attempts: 1, At: t0})
	})
	for i, err := range errs {
		if i == n {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("mark of a missing call: %v, want ErrNotFound", err)
			}
		} else if err != nil {
			t.Errorf("mark call %d: %v", i, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStateAt(t, where)
	for i := range n {
		a, ts, err := s.Alert(t.Context(), alerts[i].ID)
		if err != nil || a.Sensor != alerts[i].Sensor || len(ts) != 1 {
			t.Errorf("alert %d after reopening: %+v, %d transitions, %v", alerts[i].ID, a, len(ts), err)
		}
		if rec, _, err := s.Call(t.Context(), callID(i)); err != nil || rec.Status != store.CallSent || rec.Attempts != 1 {
			t.Errorf("call %s after reopening: %+v, %v", callID(i), rec, err)
		}
	}
	if got := countRows(t, s, "calls"); got != n {
		t.Errorf("%d calls after reopening, want %d", got, n)
	}
}
