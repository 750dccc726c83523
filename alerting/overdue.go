package alerting

import (
	"context"
	"fmt"
	"time"

	"yujing"
)

// flagOverdue marks the open alerts not closed within the time their level
// allows (督办), once each, and calls the routes that take event overdue.
func (e *Engine) flagOverdue(ctx context.Context, now time.Time, w *work) {
	e.amu.Lock()
	defer e.amu.Unlock()
	for _, a := range e.open {
		limit := e.overdue[a.Level]
		if a.OverdueAt != nil || limit <= 0 || a.State == yujing.StateClosed || now.Sub(a.StartedAt) < limit {
			continue
		}
		next := *a
		next.OverdueAt, next.Overdue, next.UpdatedAt = &now, true, now
		t := &yujing.Transition{AlertID: a.ID, At: now, Event: yujing.EventOverdue, FromLevel: a.Level, ToLevel: a.Level,
			FromState: a.State, ToState: a.State, Value: a.Value, Actor: yujing.ActorSystem,
			Note: fmt.Sprintf("未在%s内闭环（%s预警闭环时限），转入督办", durationZH(limit), levelShort(a.Level))}
		if err := e.st.UpdateAlert(ctx, next, t); err != nil {
			e.m.storeErrors.Inc()
			e.log.Error("overdue flag not saved; will retry on the next tick", "alert_id", a.ID, "err", err)
			continue
		}
		*a = next
		e.m.transitions.WithLabelValues(string(yujing.EventOverdue), a.Level.String()).Inc()
		e.log.Warn("alert overdue", "alert_id", a.ID, "level", a.Level.String(), "open_for", now.Sub(a.StartedAt).Round(time.Second))
		e.change(next, *t)
		w.calls = e.callsFor(a, t, w.calls)
	}
}
