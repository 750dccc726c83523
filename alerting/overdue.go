package alerting

import (
	"context"
	"time"

	"yujing/message"

	"yujing"
)

// flagOverdue has the lifecycle mark the open alerts not closed within the
// time their level allows (督办), once each: a change the routes with event
// overdue call people about.
func (e *Engine) flagOverdue(ctx context.Context, now time.Time) {
	for _, a := range e.alerts.Open() {
		if !e.owned(a.Site) {
			continue // its partition's owner flags it
		}
		limit := e.overdue[a.Level]
		if !overdue(&a, limit, now) {
			continue
		}
		ch, ok, err := e.alerts.Apply(ctx, a.Key(), func(a *yujing.Alert, at time.Time) (yujing.Alert, yujing.Transition, bool) {
			if a == nil || !overdue(a, e.overdue[a.Level], now) { // changed meanwhile
				return yujing.Alert{}, yujing.Transition{}, false
			}
			limit := e.overdue[a.Level]
			next := *a
			next.OverdueAt, next.Overdue, next.UpdatedAt = &now, true, now
			return next, yujing.Transition{AlertID: a.ID, At: now, Event: yujing.EventOverdue, FromLevel: a.Level, ToLevel: a.Level,
				FromState: a.State, ToState: a.State, Value: a.Value, Actor: yujing.ActorSystem,
				Note: message.OverdueNote(limit, a.Level)}, true
		})
		if err != nil {
			e.log.Error("overdue flag not saved; will retry on the next tick", "alert_id", a.ID, "err", err)
			continue
		}
		if ok {
			e.log.Warn("alert overdue", "alert_id", a.ID, "level", ch.Alert.Level.String(), "open_for", now.Sub(a.StartedAt).Round(time.Second))
		}
	}
}

// overdue reports whether a, open, is past the limit of its level at now
// and not yet flagged.
func overdue(a *yujing.Alert, limit time.Duration, now time.Time) bool {
	return a.OverdueAt == nil && limit > 0 && a.State != yujing.StateClosed && now.Sub(a.StartedAt) >= limit
}
