package escalate

import (
	"context"
	"time"

	"yujing"
)

// fenced returns ctx with the fence of site's lease (Options.Fence).
func (e *Engine) fenced(ctx context.Context, site string) context.Context {
	if e.fence == nil {
		return ctx
	}
	return e.fence(ctx, site)
}

// fencedCaller records every call under the fence of its warning's site
// (a spot check's: the leader's).
type fencedCaller struct {
	Caller
	e *Engine
}

func (f fencedCaller) Call(ctx context.Context, c yujing.Call) error {
	return f.Caller.Call(f.e.fenced(ctx, c.Alert.Site), c)
}

// owned reports whether this node calls about site's warnings now
// (Options.Owns).
func (e *Engine) owned(site string) bool { return e.owns == nil || e.owns(site) }

// Adopt takes up the escalations of the sites adopt names, which another
// node ran until now (a cluster node took their partitions): their state
// is read again from the store, escalations ended there are forgotten, and
// the firing warnings whose escalation a dying node never started are
// started (once: starting is idempotent per alert change). Steps that fell
// due meanwhile are made at the next Step. Options.Owns must already say
// yes for these sites. It returns how many escalations it took up.
func (e *Engine) Adopt(ctx context.Context, adopt func(site string) bool) (int, error) {
	e.Drop(adopt)
	n, err := e.restore(ctx, adopt)
	if err == nil {
		// A node that died between saving a change and recording its
		// calls lost them: make the last hour's again (the outbox drops
		// those it has).
		_, err = e.recoverCalls(ctx, recoverWindow, adopt)
	}
	e.signal()
	return n, err
}

// recoverWindow is how far back Adopt makes the calls of changes again.
const recoverWindow = time.Hour

// Drop forgets the escalations of the sites drop names, without ending
// them in the store: another node runs them from now (a cluster node gave
// their partitions up), or Adopt reads them again.
func (e *Engine) Drop(drop func(site string) bool) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for id, r := range e.active {
		if drop(r.alert.Site) {
			e.endLocked(id)
			n++
		}
	}
	return n
}
