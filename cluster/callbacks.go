package cluster

import (
	"context"
	"fmt"
)

// Reason says why a node gives a lease up.
type Reason int

// Reasons for OnRelease and OnLeaderRelease.
const (
	// Rebalanced: another node needs the partition. Finish the work in
	// flight, then return; the lease is held and renewed until then, and
	// released in the database after.
	Rebalanced Reason = iota + 1
	// Leaving: the node leaves the cluster (Node.Leave). As Rebalanced.
	Leaving
	// Lost: the lease is gone (its deadline passed, a renewal found it
	// taken, or a fenced write was refused). Stop at once: writes fenced
	// by it are refused.
	Lost
)

func (r Reason) String() string {
	switch r {
	case Rebalanced:
		return "rebalanced"
	case Leaving:
		return "leaving"
	case Lost:
		return "lost"
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Callbacks are called by a node, one at a time and in the order of its
// decisions, from one goroutine: for each lease, its acquire before its
// release, and a partition's next acquire only after its release has
// returned. ctx ends when the node's Run ends; a callback must return
// then. A callback must not call Node.Leave (Leave waits for the callbacks).
// Every field may be nil.
type Callbacks struct {
	// OnAcquire: the node holds partition p under l from now on.
	OnAcquire func(ctx context.Context, p int, l *Lease)
	// OnRelease: the node gives partition p up. For Rebalanced and
	// Leaving, return once the partition's work in flight is done; the
	// node releases the lease after. For Lost, stop at once.
	OnRelease func(ctx context.Context, p int, l *Lease, why Reason)
	// OnLeader and OnLeaderRelease: likewise for the leader lease.
	OnLeader        func(ctx context.Context, l *Lease)
	OnLeaderRelease func(ctx context.Context, l *Lease, why Reason)
}

// event is a decision of the node for the callbacks: e was taken
// (acquire) or is being given up (e.why).
type event struct {
	e       *entry
	acquire bool
}

// signalQueued wakes deliver: an event was queued.
func (n *Node) signalQueued() {
	select {
	case n.queued <- struct{}{}:
	default:
	}
}

// deliver calls the callbacks for the queued events, in order, until ctx
// ends.
func (n *Node) deliver(ctx context.Context) {
	for ctx.Err() == nil {
		n.mu.Lock()
		if len(n.queue) == 0 {
			n.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-n.queued:
			}
			continue
		}
		ev := n.queue[0]
		n.queue[0] = event{}
		n.queue = n.queue[1:]
		why := ev.e.why
		n.mu.Unlock()
		n.dispatch(ctx, ev, why)
	}
}

func (n *Node) dispatch(ctx context.Context, ev event, why Reason) {
	e, cb := ev.e, n.cb
	if ev.acquire {
		switch {
		case e.partition >= 0 && cb.OnAcquire != nil:
			cb.OnAcquire(ctx, e.partition, e.lease)
		case e.partition < 0 && cb.OnLeader != nil:
			cb.OnLeader(ctx, e.lease)
		}
		return
	}
	if !e.lease.Held() {
		why = Lost
	}
	switch {
	case e.partition >= 0 && cb.OnRelease != nil:
		cb.OnRelease(ctx, e.partition, e.lease, why)
	case e.partition < 0 && cb.OnLeaderRelease != nil:
		cb.OnLeaderRelease(ctx, e.lease, why)
	}
	n.mu.Lock()
	e.state = stateDrained
	n.mu.Unlock()
	n.poke()
}
