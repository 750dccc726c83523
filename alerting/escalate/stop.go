package escalate

import (
	"context"
	"errors"
	"slices"
	"time"

	"yujing/store"
)

// stopAlert stops the active escalations of an alert.
func (e *Engine) stopAlert(ctx context.Context, alertID int64, reason string, at time.Time) {
	e.mu.Lock()
	ids := slices.Sorted(slices.Values(e.byAlert[alertID]))
	e.mu.Unlock()
	for _, id := range ids {
		e.stop(ctx, id, reason, at)
	}
}

// stop ends an active escalation without an answer, at when, for reason
// (one of the store.Reason* values); attrs add to the log record.
func (e *Engine) stop(ctx context.Context, id int64, reason string, at time.Time, attrs ...any) {
	e.mu.Lock()
	r, ok := e.active[id]
	if !ok {
		e.mu.Unlock()
		return
	}
	esc := r.esc
	esc.State, esc.Reason, esc.UpdatedAt = store.EscalationStopped, reason, at
	e.endLocked(id)
	e.mu.Unlock()
	if err := e.st.SaveEscalation(ctx, esc); err != nil && !errors.Is(err, store.ErrAnswered) {
		e.m.storeErrors.Inc()
		e.log.Error("escalation stop not saved", "escalation_id", id, "err", err)
	}
	e.m.stopped.WithLabelValues(reason).Inc()
	e.log.Info("escalation stopped", append([]any{"escalation_id", id, "alert_id", esc.AlertID, "level", esc.Level.String(),
		"policy", esc.Policy, "reason", reason}, attrs...)...)
}

// answerAlert marks every active escalation of an alert answered (an
// operator acknowledged the alert in the console or the API).
func (e *Engine) answerAlert(ctx context.Context, alertID int64, by, channel string, at time.Time) {
	e.mu.Lock()
	ids := slices.Sorted(slices.Values(e.byAlert[alertID]))
	e.mu.Unlock()
	for _, id := range ids {
		e.answered(ctx, id, by, channel, at)
	}
}

// answered ends an active escalation with an answer; false when it was no
// longer active.
func (e *Engine) answered(ctx context.Context, id int64, by, channel string, at time.Time) bool {
	e.mu.Lock()
	r, ok := e.active[id]
	if !ok {
		e.mu.Unlock()
		return false
	}
	esc := r.esc
	e.endLocked(id)
	e.mu.Unlock()
	esc.State, esc.UpdatedAt = store.EscalationAnswered, at
	esc.AnsweredAt, esc.AnsweredBy, esc.AnswerChannel = &at, &by, &channel
	if err := e.st.SaveEscalation(ctx, esc); err != nil {
		if errors.Is(err, store.ErrAnswered) {
			return false
		}
		e.m.storeErrors.Inc()
		e.log.Error("escalation answer not saved", "escalation_id", id, "err", err)
	}
	e.log.Info("escalation answered: no further calls", "escalation_id", id, "alert_id", esc.AlertID, "by", by,
		"channel", channel, "step", esc.Step, "round", esc.Round)
	return true
}

// endLocked forgets an escalation that ended, its place in the deadline
// index and the calls it made (e.mu held), so that memory does not grow
// with the escalations of a long run.
func (e *Engine) endLocked(id int64) {
	r, ok := e.active[id]
	if !ok {
		return
	}
	delete(e.active, id)
	ids := slices.DeleteFunc(e.byAlert[r.esc.AlertID], func(x int64) bool { return x == id })
	if len(ids) == 0 {
		delete(e.byAlert, r.esc.AlertID)
	} else {
		e.byAlert[r.esc.AlertID] = ids
	}
	e.index.remove(id)
	delete(e.changed, id)
	for _, cid := range e.issuedBy[id] {
		delete(e.issued, cid)
	}
	delete(e.issuedBy, id)
}
