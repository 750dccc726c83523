package escalate_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"yujing"
	"yujing/alerting/escalate"
	"yujing/alerting/lifecycle"
	"yujing/store"
	"yujing/store/sqlstate"
)

// countingStore and countingAlerts count the reads call-and-answer makes
// of one escalation or one alert at a time.
type countingStore struct {
	*sqlstate.State
	reads *atomic.Int64
}

func (s countingStore) CallsOfEscalation(ctx context.Context, id int64) ([]store.CallRecord, error) {
	s.reads.Add(1)
	return s.State.CallsOfEscalation(ctx, id)
}

func (s countingStore) EscalationsFor(ctx context.Context, alertID int64) ([]store.Escalation, error) {
	s.reads.Add(1)
	return s.State.EscalationsFor(ctx, alertID)
}

type countingAlerts struct {
	*lifecycle.Alerts
	reads *atomic.Int64
}

func (a countingAlerts) Get(ctx context.Context, id int64) (yujing.Alert, []yujing.Transition, error) {
	a.reads.Add(1)
	return a.Alerts.Get(ctx, id)
}

// With 1 000 escalations waiting, a Step with nothing due visits none of
// them; each second step is called when the clock reaches its deadline,
// visiting only the escalations due; an answered escalation leaves the
// index. The old engine visited every escalation at every Step.
func TestStepVisitsOnlyWhatIsDue(t *testing.T) {
	const n, k = 1000, 10
	f := newFleet(t, n, fleetPolicy(5*time.Minute))
	t.Cleanup(f.close)
	// Sensor i's warning is raised i×100 ms after t0, so step 1 of
	// escalation i is due at t0+5m+i×100ms.
	f.raise(func(i int) time.Time { return t0.Add(time.Duration(i) * 100 * time.Millisecond) })
	ctx := context.Background()
	f.clock.set(t0.Add(4 * time.Minute))
	f.esc.Step(ctx)
	v := f.esc.Visits()
	for range 3 {
		f.clock.add(time.Second)
		f.esc.Step(ctx)
	}
	if got := f.esc.Visits() - v; got != 0 {
		t.Fatalf("3 idle Steps with %d escalations waiting visited %d, want 0", n, got)
	}
	if _, size := f.esc.Indexed(1); size != n {
		t.Fatalf("%d escalations indexed, want %d", size, n)
	}
	// The clock reaches the deadlines of escalations 1 … k one by one.
	for i := 1; i <= k; i++ {
		deadline := t0.Add(time.Duration(i)*100*time.Millisecond + 5*time.Minute)
		f.clock.set(deadline.Add(-time.Nanosecond))
		v := f.esc.Visits()
		f.esc.Step(ctx)
		if got := len(f.calls.all()); got != n+i-1 {
			t.Fatalf("before deadline %d: %d calls, want %d", i, got, n+i-1)
		}
		f.clock.set(deadline)
		f.esc.Step(ctx)
		calls := f.calls.all()
		if len(calls) != n+i {
			t.Fatalf("at deadline %d: %d calls, want %d", i, len(calls), n+i)
		}
		c := calls[len(calls)-1]
		if c.Escalation != int64(i) || c.Step != 2 || c.Person.ID != "chen" || !c.Created.Equal(deadline) ||
			!c.Deadline.Equal(deadline.Add(5*time.Minute)) {
			t.Fatalf("at deadline %d: call %s escalation %d step %d to %s made %v due %v; want escalation %d's step 2 to chen made at %v",
				i, c.ID, c.Escalation, c.Step, c.Person.ID, c.Created, c.Deadline, i, deadline)
		}
		if got := f.esc.Visits() - v; got != 1 {
			t.Fatalf("the Steps around deadline %d visited %d escalations, want 1", i, got)
		}
	}
	// An answer takes its escalation out of the index.
	last := f.calls.all()[n+k-1]
	if in, _ := f.esc.Indexed(last.Escalation); !in {
		t.Fatalf("escalation %d not indexed before its answer", last.Escalation)
	}
	if _, err := f.esc.Answer(ctx, last.ID, escalate.AnswerInput{Channel: escalate.ViaAPI}); err != nil {
		t.Fatal(err)
	}
	if in, size := f.esc.Indexed(last.Escalation); in || size != n-1 {
		t.Fatalf("after the answer: escalation %d indexed %v, %d indexed; want it out, %d left", last.Escalation, in, size, n-1)
	}
	v = f.esc.Visits()
	f.esc.Step(ctx)
	if got := f.esc.Visits() - v; got != 0 {
		t.Fatalf("a Step after the answer visited %d escalations, want 0", got)
	}
}

// Run wakes at a step's deadline, not at its next tick: with a tick of an
// hour, every second step is called once its deadline passes. The old
// engine woke on its ticker and made them an hour late.
func TestRunWakesAtTheDeadline(t *testing.T) {
	const n = 20
	f := &fleet{tb: t, n: n, path: t.TempDir() + "/state.db", clock: &fleetClock{real: true},
		set: fleetPolicy(2 * time.Second), tick: time.Hour}
	f.open()
	t.Cleanup(f.close)
	f.raise(func(int) time.Time { return time.Now() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.esc.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(20 * time.Second)
	for len(f.calls.all()) < 2*n {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls after 20 s, want the %d of step 1 and the %d of step 2", len(f.calls.all()), n, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, c := range f.calls.all()[n:] {
		if due := c.Deadline.Add(-2 * time.Second); c.Step != 2 || c.Created.Before(due) {
			t.Errorf("call %s step %d made at %v, want step 2 made at or after %v", c.ID, c.Step, c.Created, due)
		}
	}
}

// A restart with every first step overdue reads no escalation's calls or
// alert one at a time, makes each second step once, and calls nothing of
// the first steps again; the next Step visits nothing.
func TestRestartOverdueCallsEachStepOnce(t *testing.T) {
	const n = 200
	f := newFleet(t, n, fleetPolicy(5*time.Minute))
	f.raise(func(int) time.Time { return t0 })
	f.close()
	f.clock.set(t0.Add(6 * time.Minute))
	var reads atomic.Int64
	f.wrap = func(p *escalate.Parts) {
		p.Store = countingStore{p.Store.(*sqlstate.State), &reads}
		p.Alerts = countingAlerts{p.Alerts.(*lifecycle.Alerts), &reads}
	}
	f.open()
	t.Cleanup(f.close)
	ctx := context.Background()
	f.esc.Step(ctx)
	if got := reads.Load(); got != 0 {
		t.Errorf("restore and its first Step read escalations' calls or alerts %d times one by one, want 0", got)
	}
	if got := f.esc.Visits(); got != n {
		t.Errorf("the first Step visited %d escalations, want the %d restored", got, n)
	}
	f.esc.Step(ctx)
	if got := f.esc.Visits(); got != n {
		t.Errorf("the second Step visited %d more escalations, want none", got-n)
	}
	calls := f.calls.all()
	seen := map[string]bool{}
	for _, c := range calls {
		if c.Step != 2 || !strings.HasSuffix(c.ID, "-p-voice") || seen[c.ID] {
			t.Errorf("call %s (step %d) after the restart: want each step 2 call once", c.ID, c.Step)
		}
		seen[c.ID] = true
	}
	if len(calls) != n {
		t.Fatalf("%d calls after the restart, want the %d second steps", len(calls), n)
	}
	recs, err := f.st.AnswerRows(ctx, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2*n {
		t.Errorf("%d calls on record, want %d: each step of each escalation once", len(recs), 2*n)
	}
}

// A reload recomputes every escalation's next moment: a deadline
// shortened from 5 to 2 minutes calls the second step at 2 minutes, not at
// the 5 the index held.
func TestReloadRecomputesDeadlines(t *testing.T) {
	f := newFleet(t, 3, fleetPolicy(5*time.Minute))
	t.Cleanup(f.close)
	f.raise(func(int) time.Time { return t0 })
	ctx := context.Background()
	f.clock.set(t0.Add(time.Minute))
	f.esc.Step(ctx)
	if err := f.esc.SetSettings(fleetPolicy(2 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	f.esc.Step(ctx) // visits all three: their moments may have moved
	f.clock.set(t0.Add(2 * time.Minute))
	f.esc.Step(ctx)
	calls := f.calls.all()
	if len(calls) != 6 {
		t.Fatalf("%d calls at the new deadline, want 3 of step 1 and 3 of step 2", len(calls))
	}
	for _, c := range calls[3:] {
		if c.Step != 2 || !c.Created.Equal(t0.Add(2*time.Minute)) {
			t.Errorf("call %s step %d made at %v, want step 2 at %v", c.ID, c.Step, c.Created, t0.Add(2*time.Minute))
		}
	}
}
