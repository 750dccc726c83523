package alerting

import (
	"context"

	"yujing"
)

// transition saves the alert change for a condition moving from its level
// to level, and returns the calls it makes.
func (e *Engine) transition(ctx context.Context, r *Rule, c *condition, level yujing.Level, th float64, rd *yujing.Reading, w *work) bool {
	e.amu.Lock()
	defer e.amu.Unlock()
	key := yujing.AlertKey(r.Name, c.s.id)
	prev := c.level
	a := e.open[key]
	now := e.now()
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
		t := &yujing.Transition{At: now, Event: ev, ToLevel: level, ToState: yujing.StateFiring, Value: rd.Value, Actor: yujing.ActorSystem}
		if err := e.st.CreateAlert(ctx, &na, t); err != nil {
			e.m.storeErrors.Inc()
			e.ruleFailed(r, err)
			e.log.Error("alert not saved; will retry on the next reading", "rule", r.Name, "sensor", rd.Sensor, "err", err)
			return false
		}
		e.count(r.Name, c.s.about.Site, c.level, level)
		c.level = level
		e.open[key], e.byID[na.ID] = &na, &na
		e.m.transitions.WithLabelValues(string(ev), level.String()).Inc()
		e.log.Info("alert raised", "alert_id", na.ID, "rule", r.Name, "sensor", rd.Sensor, "level", level.String(), "value", rd.Value)
		e.change(na, *t)
		w.calls = e.callsFor(&na, t, w.calls)
		return true
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
	t := &yujing.Transition{AlertID: a.ID, At: now, Event: ev, FromLevel: a.Level, ToLevel: next.Level,
		FromState: a.State, ToState: next.State, Value: rd.Value, Actor: yujing.ActorSystem}
	if err := e.st.UpdateAlert(ctx, next, t); err != nil {
		e.m.storeErrors.Inc()
		e.ruleFailed(r, err)
		e.log.Error("alert change not saved; will retry on the next reading", "alert_id", a.ID, "event", ev, "err", err)
		return false
	}
	e.count(r.Name, c.s.about.Site, c.level, level)
	c.level = level
	*a = next
	e.m.transitions.WithLabelValues(string(ev), next.Level.String()).Inc()
	e.log.Info("alert "+string(ev), "alert_id", a.ID, "rule", r.Name, "sensor", rd.Sensor, "level", next.Level.String(), "value", rd.Value)
	e.change(next, *t)
	w.calls = e.callsFor(a, t, w.calls)
	return true
}
