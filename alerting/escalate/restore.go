package escalate

import (
	"context"
	"fmt"

	"yujing"
	"yujing/store"
)

// replay queues a change for Step to start its escalation again (Restore).
func (e *Engine) replay(a yujing.Alert, t yujing.Transition) {
	e.mu.Lock()
	e.queue = append(e.queue, observed{a: a, t: t, replay: true})
	e.mu.Unlock()
	e.signal()
}

// Restore loads the escalations still active and starts those that a
// crash kept from starting: every firing alert whose latest raise, reopen
// or upgrade has no escalation yet. Call it once before Run, after the
// lifecycle restored its alerts.
func (e *Engine) Restore(ctx context.Context) error {
	n, err := e.restore(ctx, e.owned)
	if err != nil {
		return err
	}
	if n > 0 {
		e.log.Info("escalations resumed", "active", n)
	}
	return e.restoreChecks(ctx)
}

// restore loads the active escalations of the sites which names and
// replays the raises of their firing alerts that have none; it returns
// how many it loaded.
func (e *Engine) restore(ctx context.Context, which func(site string) bool) (int, error) {
	active, err := e.st.ActiveEscalations(ctx)
	if err != nil {
		return 0, fmt.Errorf("escalate: restore: %w", err)
	}
	n := 0
	for _, esc := range active {
		a, _, err := e.alerts.Get(ctx, esc.AlertID)
		if err != nil {
			return n, fmt.Errorf("escalate: restore escalation %d: alert %d: %w", esc.ID, esc.AlertID, err)
		}
		if !which(a.Site) {
			continue
		}
		e.mu.Lock()
		e.active[esc.ID] = &run{esc: esc, alert: a, policy: e.set.policy(esc.Policy)}
		e.mu.Unlock()
		n++
	}
	firing, err := e.alerts.List(ctx, store.AlertFilter{States: []yujing.State{yujing.StateFiring}, Limit: 5000})
	if err != nil {
		return n, fmt.Errorf("escalate: restore: %w", err)
	}
	for _, a := range firing {
		if !which(a.Site) {
			continue
		}
		_, hist, err := e.alerts.Get(ctx, a.ID)
		if err != nil {
			return n, fmt.Errorf("escalate: restore: alert %d: %w", a.ID, err)
		}
		for i := len(hist) - 1; i >= 0; i-- {
			t := hist[i]
			if t.Event == yujing.EventRaised || t.Event == yujing.EventReopened || t.Event == yujing.EventUpgraded {
				e.replay(a, t) // starting is idempotent per (alert, transition)
				break
			}
		}
	}
	return n, nil
}

// Escalations returns an alert's escalations, each active one with the
// deadline of its current step.
func (e *Engine) Escalations(ctx context.Context, alertID int64) ([]store.Escalation, error) {
	es, err := e.st.EscalationsFor(ctx, alertID)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range es {
		if r, ok := e.active[es[i].ID]; ok {
			d := r.deadline()
			es[i].Deadline = &d
		}
	}
	return es, nil
}
