package escalate_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

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
