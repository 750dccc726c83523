package escalate_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"yujing"
	"yujing/alerting/escalate"
	"yujing/store"
)

// lostLease is a cluster lease's fence that fails once lost is set: the
// node paused past its lease and another node holds it now.
type lostLease struct{ lost *atomic.Bool }

var errLost = errors.New("lease taken by another node")

func (f lostLease) Check(context.Context, *sql.Tx) error {
	if f.lost.Load() {
		return errors.Join(store.ErrFenced, errLost)
	}
	return nil
}

// TestFencedNodeCallsNothing: a node that lost the lease of a warning's
// site while it was paused resumes at the step's deadline: it neither
// moves the escalation to step 2 nor records nor makes a step-2 call — the
// node that holds the lease now does. Before fencing it made the call.
func TestFencedNodeCallsNothing(t *testing.T) {
	var lost atomic.Bool
	w := &world{t: t, clock: &clock{t: t0}, rcv: newReceiver(t), set: policies(), dir: directory(t),
		path: filepath.Join(t.TempDir(), "state.db"),
		fence: func(ctx context.Context, site string) context.Context {
			if site != "plant-a" {
				t.Errorf("fenced for site %q, want the warning's plant-a", site)
			}
			return store.WithFence(ctx, lostLease{&lost})
		}}
	w.open()
	w.reading(60)
	w.at(0)
	if got := w.rcv.calls(t, 2); len(got) != 2 {
		t.Fatalf("step 1 under a held lease: %d calls, want 2", len(got))
	}
	lost.Store(true)
	w.at(5 * time.Minute) // step 1's deadline
	w.at(time.Minute)
	w.settled(t, 2)
	_, es, _ := w.alert()
	if len(es) != 1 || es[0].Step != 1 || es[0].State != store.EscalationActive {
		t.Fatalf("escalations %+v, want the one still at step 1 for the lease's new holder", es)
	}
}

// readCounter counts call-and-answer's reads of an alert's escalations.
type readCounter struct {
	escalate.Store
	n *atomic.Int64
}

func (r readCounter) EscalationsFor(ctx context.Context, alertID int64) ([]store.Escalation, error) {
	r.n.Add(1)
	return r.Store.EscalationsFor(ctx, alertID)
}

// TestNewWarningReadsNoEscalations: starting the escalation of a warning
// just raised reads no earlier escalations of it (there can be none) — in
// a burst that was one query per warning, 13.6 % of the CPU.
func TestNewWarningReadsNoEscalations(t *testing.T) {
	var reads atomic.Int64
	w := &world{t: t, sensors: 3, clock: &clock{t: t0}, rcv: newReceiver(t), set: policies(), dir: directory(t),
		path: filepath.Join(t.TempDir(), "state.db"),
		wrap: func(s escalate.Store) escalate.Store { return readCounter{s, &reads} }}
	w.open()
	for i := 1; i <= 3; i++ {
		w.eng.Observe(context.Background(), []yujing.Reading{{Sensor: fmt.Sprintf("gas-%d", i), Site: "plant-a",
			Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Value: 60, Time: w.clock.now()}})
	}
	w.at(0)
	if got := w.rcv.calls(t, 6); len(got) != 6 {
		t.Fatalf("%d step-1 calls, want 2 for each of the 3 warnings", len(got))
	}
	if n := reads.Load(); n != 0 {
		t.Errorf("%d reads of earlier escalations for 3 new warnings, want 0", n)
	}
}
