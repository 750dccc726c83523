package store

import (
	"context"
	"database/sql"
	"errors"
)

// ErrFenced is wrapped by a Fence's error once its lease is no longer held.
var ErrFenced = errors.New("store: fenced: the lease this write was made under is no longer held")

// A Fence guards the writes made on behalf of a lease (a cluster node's
// partition): Check runs first in each write's transaction on the state
// database and fails once the lease is no longer this node's, so that the
// write is rolled back. A node that paused past its lease (a long GC, a
// frozen VM) and resumed in the middle of a step can then record nothing
// more: no escalation step, no call, no call marked sending, so nothing is
// sent twice by it and the node that took the lease over.
type Fence interface {
	Check(ctx context.Context, tx *sql.Tx) error
}

type fenceKey struct{}

// WithFence returns ctx carrying f: the state database's writes made with
// it (escalation steps, calls recorded and marked sending) check f first.
func WithFence(ctx context.Context, f Fence) context.Context {
	return context.WithValue(ctx, fenceKey{}, f)
}

// FenceFrom returns the fence ctx carries, or nil.
func FenceFrom(ctx context.Context) Fence {
	f, _ := ctx.Value(fenceKey{}).(Fence)
	return f
}
