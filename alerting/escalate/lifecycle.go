package escalate

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"yujing"
	"yujing/store"
)

// handle makes the routes' calls about one alert change and starts, stops
// or answers escalations for it. An unanswered escalation runs until
// somebody answers, its chain reaches the top, its warning resolves
// (unless its policy continues after resolve) or closes, or a higher
// level's escalation supersedes it; whatever the level does below it
// meanwhile leaves it running.
func (e *Engine) handle(ctx context.Context, o observed) {
	a, t := o.a, o.t
	if !o.replay {
		e.notify(ctx, a, t)
	}
	switch t.Event {
	case yujing.EventRaised, yujing.EventReopened, yujing.EventUpgraded:
		e.start(ctx, a, t)
	case yujing.EventAcknowledged, yujing.EventDisposed:
		// An operator (or an answer, already recorded) acknowledged it.
		e.answerAlert(ctx, a.ID, t.Actor, "console", t.At)
	case yujing.EventResolved:
		e.mu.Lock()
		var stop []int64
		for id, r := range e.active {
			if r.esc.AlertID == a.ID && (r.policy == nil || !r.policy.ContinueAfterResolve) {
				stop = append(stop, id)
			}
		}
		e.mu.Unlock()
		for _, id := range stop {
			e.stop(ctx, id, store.ReasonResolved, t.At)
		}
	case yujing.EventClosed:
		e.stopAlert(ctx, a.ID, store.ReasonClosed, t.At)
	}
	e.mu.Lock()
	for _, r := range e.active {
		if r.esc.AlertID == a.ID {
			r.alert = a
		}
	}
	e.mu.Unlock()
}

// pick returns the policy for an alert at its level: the first that
// matches its level, family and site region (an area's own code for an
// alert about one).
func (e *Engine) pick(a yujing.Alert) *Policy {
	region, area := yujing.SiteRegion(a.Site) // an issued warning's area (alerting/issued)
	if e.sites != nil && !area {
		if s, ok := e.sites.Site(a.Site); ok {
			region = s.Region
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range e.set.Policies {
		if e.set.Policies[i].matches(a.Level, a.Family, region, e.covers) {
			return &e.set.Policies[i]
		}
	}
	return nil
}

// start runs the policy of the level a warning was raised, reopened or
// upgraded to (transition t), unless an escalation of the warning at that
// level or higher was still running at t: that one goes on and covers the
// change. The escalation started supersedes the warning's lower ones.
func (e *Engine) start(ctx context.Context, a yujing.Alert, t yujing.Transition) {
	if by, ok := e.covered(ctx, a.ID, t); ok {
		e.log.Info("escalation continues: the warning is back within its level", "escalation_id", by.ID,
			"escalation_level", by.Level.String(), "alert_id", a.ID, "event", string(t.Event), "level", t.ToLevel.String())
		return
	}
	p := e.pick(a)
	if p == nil {
		return
	}
	esc := store.Escalation{AlertID: a.ID, TransitionID: t.ID, Level: a.Level, Policy: p.Name, Step: 1,
		StepAt: t.At, StartedAt: t.At, State: store.EscalationActive}
	created, err := e.st.StartEscalation(ctx, &esc)
	if err != nil {
		e.m.storeErrors.Inc()
		e.log.Error("escalation not started", "alert_id", a.ID, "policy", p.Name, "err", err)
		return
	}
	// Also when it existed already (a restart): a crash may have come
	// between starting it and stopping the lower ones.
	e.supersede(ctx, esc, t.At)
	if esc.State != store.EscalationActive {
		return
	}
	e.mu.Lock()
	e.active[esc.ID] = &run{esc: esc, alert: a, policy: p}
	e.mu.Unlock()
	if created {
		e.m.started.WithLabelValues(p.Name, a.Level.String()).Inc()
		e.log.Info("escalation started", "escalation_id", esc.ID, "alert_id", a.ID, "level", a.Level.String(), "policy", p.Name)
	}
}

// covered returns the escalation of an alert, at t's level or higher and
// started before t, that was still running at t: the running ones, and
// (for Restore, which replays the latest change after a restart) one that
// ended after t — reached the top, was answered or stopped — so that a
// restart starts no escalation the running process would not have.
func (e *Engine) covered(ctx context.Context, alertID int64, t yujing.Transition) (store.Escalation, bool) {
	e.mu.Lock()
	for _, r := range e.active {
		if r.esc.AlertID == alertID && r.esc.TransitionID != t.ID && r.esc.Level >= t.ToLevel && r.policy != nil &&
			!r.topAt().Before(t.At) {
			e.mu.Unlock()
			return r.esc, true
		}
	}
	e.mu.Unlock()
	es, err := e.st.EscalationsFor(ctx, alertID)
	if err != nil {
		e.m.storeErrors.Inc()
		e.log.Error("escalations of the alert not read; taking none as running", "alert_id", alertID, "err", err)
		return store.Escalation{}, false
	}
	for _, x := range es {
		if x.TransitionID >= t.ID || x.Level < t.ToLevel || x.State == store.EscalationActive {
			continue
		}
		end := x.UpdatedAt
		switch {
		case x.TopReachedAt != nil:
			end = *x.TopReachedAt
		case x.AnsweredAt != nil:
			end = *x.AnsweredAt
		}
		if !end.Before(t.At) {
			return x, true
		}
	}
	return store.Escalation{}, false
}

// supersede stops the running escalations of esc's alert below its level.
func (e *Engine) supersede(ctx context.Context, esc store.Escalation, at time.Time) {
	e.mu.Lock()
	var ids []int64
	for id, r := range e.active {
		if r.esc.AlertID == esc.AlertID && id != esc.ID && r.esc.Level < esc.Level {
			ids = append(ids, id)
		}
	}
	e.mu.Unlock()
	slices.Sort(ids)
	for _, id := range ids {
		e.stop(ctx, id, store.ReasonSuperseded, at, "by_escalation", esc.ID, "by_level", esc.Level.String())
	}
}

// stopAlert stops the active escalations of an alert.
func (e *Engine) stopAlert(ctx context.Context, alertID int64, reason string, at time.Time) {
	e.mu.Lock()
	var ids []int64
	for id, r := range e.active {
		if r.esc.AlertID == alertID {
			ids = append(ids, id)
		}
	}
	e.mu.Unlock()
	slices.Sort(ids)
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
	var ids []int64
	for id, r := range e.active {
		if r.esc.AlertID == alertID {
			ids = append(ids, id)
		}
	}
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

// endLocked forgets an escalation that ended and the calls it made (e.mu
// held), so that memory does not grow with the escalations of a long run.
func (e *Engine) endLocked(id int64) {
	delete(e.active, id)
	prefix := e.ids.Escalation(id)
	for cid := range e.issued {
		if strings.HasPrefix(cid, prefix) {
			delete(e.issued, cid)
		}
	}
}

// topAt is when r's chain reaches its top if nobody answers: the
// deadlines of its remaining steps and rounds from its current step's
// start (r.policy set).
func (r *run) topAt() time.Time {
	at := r.esc.StepAt
	for round, step := r.esc.Round, max(1, r.esc.Step); round <= r.policy.Repeat; round, step = round+1, 1 {
		for ; step <= len(r.policy.Steps); step++ {
			at = at.Add(r.policy.Steps[step-1].Deadline)
		}
	}
	return at
}
