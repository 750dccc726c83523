package escalate

import (
	"context"
	"fmt"
	"math"
	"time"

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
//
// It reads in bulk, not per escalation: the alerts from the lifecycle's
// open ones, the calls the escalations made with one query (madeCalls);
// a firing alert's history only when its one active escalation may not
// be the one of its latest change (replays). The next Step visits every
// escalation restored.
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
// how many escalations it loaded.
func (e *Engine) restore(ctx context.Context, which func(site string) bool) (int, error) {
	active, err := e.st.ActiveEscalations(ctx)
	if err != nil {
		return 0, fmt.Errorf("escalate: restore: %w", err)
	}
	made, err := e.madeSince(ctx, active)
	if err != nil {
		return 0, fmt.Errorf("escalate: restore: %w", err)
	}
	open := map[int64]yujing.Alert{}
	for _, a := range e.alerts.Open() {
		open[a.ID] = a
	}
	runs := make([]*run, 0, len(active))
	for _, esc := range active {
		a, ok := open[esc.AlertID]
		if !ok { // closed meanwhile, the escalation not yet stopped
			if a, _, err = e.alerts.Get(ctx, esc.AlertID); err != nil {
				return 0, fmt.Errorf("escalate: restore escalation %d: alert %d: %w", esc.ID, esc.AlertID, err)
			}
		}
		if !which(a.Site) {
			continue // another node's
		}
		runs = append(runs, &run{esc: esc, alert: a, made: made[esc.ID], restored: ok})
	}
	e.mu.Lock()
	for _, r := range runs {
		if r.made == nil {
			r.made = &madeCalls{} // none made
		}
		r.policy = e.set.policy(r.esc.Policy)
		e.addRunLocked(r)
	}
	e.mu.Unlock()
	return len(runs), e.replays(ctx, which)
}

// replays queues, for Step to start, the latest raise, reopen or upgrade
// of each firing alert (Restore): starting is idempotent per (alert,
// transition), and start leaves a change covered by a running escalation
// alone. An alert with one active escalation, at its level or above,
// started no earlier than the alert's latest change, has that escalation
// as the one of its latest change: replaying it would do nothing, and its
// history is not read.
func (e *Engine) replays(ctx context.Context, which func(site string) bool) error {
	firing, err := e.alerts.List(ctx, store.AlertFilter{States: []yujing.State{yujing.StateFiring}, Limit: 5000})
	if err != nil {
		return fmt.Errorf("escalate: restore: %w", err)
	}
	for _, a := range firing {
		if !which(a.Site) {
			continue
		}
		e.mu.Lock()
		ids := e.byAlert[a.ID]
		current := len(ids) == 1 && e.active[ids[0]].esc.Level >= a.Level && !e.active[ids[0]].esc.StartedAt.Before(a.UpdatedAt)
		e.mu.Unlock()
		if current {
			continue
		}
		_, hist, err := e.alerts.Get(ctx, a.ID)
		if err != nil {
			return fmt.Errorf("escalate: restore: alert %d: %w", a.ID, err)
		}
		for i := len(hist) - 1; i >= 0; i-- {
			t := hist[i]
			if t.Event == yujing.EventRaised || t.Event == yujing.EventReopened || t.Event == yujing.EventUpgraded {
				e.replay(a, t) // starting is idempotent per (alert, transition)
				break
			}
		}
	}
	return nil
}

// madeCalls are calls an escalation made: by id, and by the round, step,
// person and channel they called.
type madeCalls struct {
	ids   map[string]bool
	slots map[madeSlot]bool
}

type madeSlot struct {
	round, step     int
	person, channel string
}

func (m *madeCalls) add(id string, s madeSlot) {
	if m.ids == nil {
		m.ids, m.slots = map[string]bool{}, map[madeSlot]bool{}
	}
	m.ids[id] = true
	m.slots[s] = true
}

// madeSince reads, in one query, the calls the active escalations made in
// their current steps: every escalation call made since the earliest
// current step began (a call of a step is made at or after the step
// began; calls of earlier steps are never made again).
func (e *Engine) madeSince(ctx context.Context, active []store.Escalation) (map[int64]*madeCalls, error) {
	if len(active) == 0 {
		return nil, nil
	}
	from := active[0].StepAt
	for _, esc := range active {
		if esc.StepAt.Before(from) {
			from = esc.StepAt
		}
	}
	rows, err := e.st.AnswerRows(ctx, from, time.Unix(0, math.MaxInt64))
	if err != nil {
		return nil, fmt.Errorf("calls of the active escalations: %w", err)
	}
	out := make(map[int64]*madeCalls, len(active))
	for _, esc := range active {
		out[esc.ID] = &madeCalls{}
	}
	for _, c := range rows {
		if m, ok := out[c.EscalationID]; ok {
			m.add(c.CallID, madeSlot{c.Round, c.Step, c.Person, c.Channel})
		}
	}
	return out, nil
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

// forgetRestored ends an escalation's first visit after a restart: what
// Restore read for it is read again from now on.
func (e *Engine) forgetRestored(id int64) {
	e.mu.Lock()
	if r, ok := e.active[id]; ok {
		r.restored, r.made = false, nil
	}
	e.mu.Unlock()
}

// fresh is an escalation's alert as it stands, marked silenced or
// inhibited as it is now: read again, unless Restore has just read it
// (restored, the escalation's first visit after a restart).
func (e *Engine) fresh(ctx context.Context, a yujing.Alert, restored bool, now time.Time) (yujing.Alert, error) {
	if restored {
		e.alerts.DecorateAt(&a, now)
		return a, nil
	}
	fresh, _, err := e.alerts.Get(ctx, a.ID)
	return fresh, err
}
