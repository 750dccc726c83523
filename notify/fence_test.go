package notify_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"

	"yujing"
	"yujing/notify"
	"yujing/store"
)

// heldLease fails once lost is set, as a cluster lease taken over by
// another node.
type heldLease struct{ lost *atomic.Bool }

func (f heldLease) Check(context.Context, *sql.Tx) error {
	if f.lost.Load() {
		return errors.Join(store.ErrFenced, errors.New("another node holds the lease"))
	}
	return nil
}

// TestOutboxFencedCallHandedOver: a call whose lease this node lost before
// its request began is not sent here and stays pending on record, unmarked,
// for the node that holds the lease now (which resumes it); while the
// lease is held, calls go out as before. Before fencing it was sent by both.
func TestOutboxFencedCallHandedOver(t *testing.T) {
	st := openState(t, filepath.Join(t.TempDir(), "state.db"))
	ch := newCounting("sms")
	var lost atomic.Bool
	p := newPipelineWith(t, st, notify.OutboxOptions{Fence: func(ctx context.Context, c yujing.Call) context.Context {
		return store.WithFence(ctx, heldLease{&lost})
	}}, notify.Options{}, ch)
	held := outboxCall("9-1-p1-sms", "sms")
	if err := p.ob.Call(t.Context(), held); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 1)
	lost.Store(true)
	gone := outboxCall("9-2-p1-sms", "sms")
	if err := p.ob.Call(t.Context(), gone); err != nil {
		t.Fatal(err)
	}
	rs := p.wait(t, 1)
	if !errors.Is(rs[0].Err, notify.ErrHandedOver) {
		t.Fatalf("result %+v, want handed over", rs[0])
	}
	stop(t, p.d)
	if ch.count(held.ID) != 1 || ch.count(gone.ID) != 0 {
		t.Errorf("sent %d and %d times, want the call under a held lease once and the other never", ch.count(held.ID), ch.count(gone.ID))
	}
	recs := callsByID(t, st, 9)
	if r := recs[gone.ID]; r.Status != store.CallPending || r.Attempts != 0 {
		t.Errorf("handed-over call on record: %+v, want pending, never attempted", r)
	}
	pending, err := st.PendingCalls(t.Context())
	if err != nil || len(pending) != 1 || pending[0].Call.ID != gone.ID || !pending[0].SendingAt.IsZero() {
		t.Errorf("pending %+v (%v), want the handed-over call, not in doubt", pending, err)
	}
}
