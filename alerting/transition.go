package alerting

import (
	"context"
	"time"

	"yujing"
)

// transition has the lifecycle save the alert change for a condition
// moving from its level to level: raised, reopened, upgraded, downgraded
// or resolved. It reports whether the change was saved; if not, the
// condition keeps its level and the next reading tries again.
func (e *Engine) transition(ctx context.Context, r *Rule, c *condition, level yujing.Level, th float64, rd *yujing.Reading) bool {
	prev := c.level
	edit := func(a *yujing.Alert, now time.Time) (yujing.Alert, yujing.Transition, bool) {
		var ev yujing.Event
		switch {
		case prev == yujing.LevelNone && a == nil:
			ev = yujing.EventRaised
		case prev == yujing.LevelNone:
			ev = yujing.EventReopened
		case level == yujing.LevelNone:
			ev = yujing.EventResolved
		case level > prev:
			ev = yujing.EventUpgraded
		default:
			ev = yujing.EventDowngraded
		}
		if a == nil {
			na := yujing.Alert{Rule: r.Name, Sensor: rd.Sensor, Site: rd.Site, Family: rd.Family, Metric: rd.Metric,
				Unit: rd.Unit, Level: level, State: yujing.StateFiring, Value: rd.Value, Threshold: th,
				StartedAt: now, UpdatedAt: now}
			na.Message = e.message(&na, r, ev)
			return na, yujing.Transition{At: now, Event: ev, ToLevel: level, ToState: yujing.StateFiring, Value: rd.Value,
				Actor: yujing.ActorSystem}, true
		}
		next := *a
		next.UpdatedAt, next.Value = now, rd.Value
		if ev != yujing.EventResolved {
			// A per-level scheduled rule judges each level on its own window.
			next.Metric, next.Unit = rd.Metric, rd.Unit
		}
		switch ev {
		case yujing.EventResolved:
			next.State = yujing.StateResolved
			next.ResolvedAt = &now
		case yujing.EventReopened, yujing.EventUpgraded:
			next.Level, next.Threshold = level, th
			next.State = yujing.StateFiring
			next.ResolvedAt = nil
		case yujing.EventDowngraded:
			next.Level, next.Threshold = level, th
		}
		next.Message = e.message(&next, r, ev)
		return next, yujing.Transition{AlertID: a.ID, At: now, Event: ev, FromLevel: a.Level, ToLevel: next.Level,
			FromState: a.State, ToState: next.State, Value: rd.Value, Actor: yujing.ActorSystem}, true
	}
	ch, _, err := e.alerts.Apply(ctx, yujing.AlertKey(r.Name, c.s.id), edit)
	if err != nil {
		e.ruleFailed(r, err)
		e.log.Error("alert change not saved; will retry on the next reading", "rule", r.Name, "sensor", rd.Sensor,
			"level", level.String(), "err", err)
		return false
	}
	a, t := ch.Alert, ch.Transition
	e.count(r.Name, c.s.about.Site, c.level, level)
	c.level = level
	if t.Event == yujing.EventRaised {
		e.log.Info("alert raised", "alert_id", a.ID, "rule", r.Name, "sensor", rd.Sensor, "level", level.String(), "value", rd.Value)
	} else {
		e.log.Info("alert "+string(t.Event), "alert_id", a.ID, "rule", r.Name, "sensor", rd.Sensor, "level", a.Level.String(), "value", rd.Value)
	}
	return true
}
