package alerting

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"yujing"
	"yujing/internal/idindex"
)

// condKey identifies a condition: a rule and the sensor (or "site:<id>"
// for a composite rule) it is about.
type condKey struct{ rule, sensor string }

// condition is the state of one rule for one sensor (or, for composite
// rules, one site). It is kept small: the engine holds one per rule and
// sensor. Times are Unix nanoseconds, 0 for none.
type condition struct {
	rule       *Rule        // with the sensor's overrides applied
	s          *sensorConds // the sensor, or a site's or a derived value's own
	level      yujing.Level
	pending    yujing.Level
	derived    bool       // about a derived value: the metric is s.about.Metric
	evals      uint32     // readings evaluated (for the rule's health), under the condition's lock
	at         int64      // newest reading evaluated
	clearSince int64      // first time the condition was clear (clear_for)
	x          *condExtra // for, rate and stuck state, only for rules that use them
}

// condExtra is the state only some rules need.
type condExtra struct {
	pendingSince int64   // for: first time the pending level was reached
	pendingValue float64 // for: the value and threshold of the held level
	pendingTh    float64
	lastValue    float64 // stuck
	changedAt    int64
	hasValue     bool
	samples      []sample // rate: within the window, oldest first
}

// unhold forgets a level held by for:.
func (c *condition) unhold() {
	c.pending = yujing.LevelNone
	if c.x != nil {
		c.x.pendingSince = 0
	}
}

// needsExtra reports whether a rule's conditions need a condExtra.
func needsExtra(r *Rule) bool {
	return r.For > 0 || r.kind() == KindRate || r.kind() == KindTangent || r.kind() == KindStuck
}

// metric is the metric the condition watches.
func (c *condition) metric() string {
	if c.derived || c.rule == nil || c.rule.Metric == "" {
		return c.s.about.Metric
	}
	return c.rule.Metric
}

// info is who a condition is about, as a reading.
func (c *condition) info() yujing.Reading {
	m := c.metric()
	return yujing.Reading{Sensor: c.s.id, Site: c.s.about.Site, Family: c.s.about.Family, Metric: m, Unit: c.s.about.UnitOf(m)}
}

// sensorConds are the conditions of the rules bound to one sensor, with
// their lock. A lock per sensor: ingest hands each sensor to one worker, so
// each lock stays in the cache of the core that uses it, and sensors are
// evaluated in parallel on every core. A site's or a derived value's
// condition has one of its own, for its id and what it is about (gmu
// guards those).
type sensorConds struct {
	id string
	// about holds what the conditions need of the sensor: site, family,
	// metric, units, interval (not its id). Sensors alike share one.
	about *yujing.Sensor
	mu    sync.Mutex
	one   *condition    // the first condition: most sensors have one rule
	more  *[]*condition // the others
}

// add binds one more condition to the sensor.
func (sc *sensorConds) add(c *condition) {
	if sc.one == nil {
		sc.one = c
		return
	}
	if sc.more == nil {
		sc.more = new([]*condition)
	}
	*sc.more = append(*sc.more, c)
}

// n is how many conditions the sensor has; at(i) is the i-th.
func (sc *sensorConds) n() int {
	switch {
	case sc.one == nil:
		return 0
	case sc.more == nil:
		return 1
	}
	return 1 + len(*sc.more)
}

func (sc *sensorConds) at(i int) *condition {
	if i == 0 {
		return sc.one
	}
	return (*sc.more)[i-1]
}

// sensor returns the conditions bound to the sensor with id, or nil.
func (e *Engine) sensor(id string) *sensorConds { return findSensor(e.sensors, &e.index, id) }

// findSensor returns the sensor with id in ss, indexed by x, or nil.
func findSensor(ss []sensorConds, x *idindex.Index, id string) *sensorConds {
	p, ok := x.Find(id, func(p int32) string { return ss[p].id })
	if !ok {
		return nil
	}
	return &ss[p]
}

// work collects what evaluation produced: composite rules to count again
// once the evaluating lock is released.
type work struct {
	recount []recount
}

// sample is a rate rule's value at t (Unix nanoseconds).
type sample struct {
	t int64
	v float64
}

// Observe evaluates every rule bound to the readings' sensors. Readings
// older than the newest one already evaluated for a rule are skipped.
func (e *Engine) Observe(ctx context.Context, rs []yujing.Reading) {
	var w work
	e.mu.RLock()
	start := time.Now()
	for i := range rs {
		rd := &rs[i]
		sc := e.sensor(rd.Sensor)
		if sc == nil || !e.owned(rd.Site) {
			continue
		}
		sc.mu.Lock()
		for i, n := 0, sc.n(); i < n; i++ {
			c := sc.at(i)
			if c.metric() != rd.Metric && c.rule.kind() != KindOffline {
				continue
			}
			e.evaluate(ctx, c, rd, &w)
		}
		sc.mu.Unlock()
	}
	if len(rs) > 0 {
		e.m.evalSeconds.Observe(time.Since(start).Seconds() / float64(len(rs)))
	}
	e.finish(ctx, &w)
	e.mu.RUnlock()
}

// ObserveFault tells fault rules that a reading was refused as an
// instrument fault (超量程: outside the physical range).
func (e *Engine) ObserveFault(ctx context.Context, rd yujing.Reading, reason string) {
	var w work
	e.mu.RLock()
	if sc := e.sensor(rd.Sensor); sc != nil {
		sc.mu.Lock()
		for i, n := 0, sc.n(); i < n; i++ {
			c := sc.at(i)
			if c.rule.kind() != KindFault || c.metric() != rd.Metric {
				continue
			}
			e.apply(ctx, c, c.rule.Level, 0, rd.Value, rd.Time, &w)
		}
		sc.mu.Unlock()
	}
	e.finish(ctx, &w)
	e.mu.RUnlock()
}

// ObserveDerived evaluates one rule on a value computed elsewhere (a
// scheduled rule's windowed aggregate, such as 3 h rainfall), with the same
// lifecycle as a reading: raise, upgrade, downgrade, resolve. rd.Sensor names
// the sensor (or group) the value belongs to; rd.Metric names the derived
// metric (e.g. "rain_sum_3h").
func (e *Engine) ObserveDerived(ctx context.Context, r *Rule, rd yujing.Reading) {
	if !e.owned(rd.Site) {
		return // its partition's owner evaluates it
	}
	var w work
	e.mu.RLock()
	e.gmu.Lock()
	k := condKey{r.Name, rd.Sensor}
	c := e.groups[k]
	if c == nil {
		c = &condition{}
		e.groups[k] = c
	}
	if r.health == nil {
		r.health = &ruleHealth{}
	}
	c.rule, c.derived = r, true
	if c.s == nil || c.s.id != rd.Sensor || c.s.about.Metric != rd.Metric {
		c.s = &sensorConds{id: rd.Sensor, about: &yujing.Sensor{Site: rd.Site, Family: rd.Family, Metric: rd.Metric, Unit: rd.Unit}}
	}
	if needsExtra(r) && c.x == nil {
		c.x = &condExtra{}
	}
	e.evaluate(ctx, c, &rd, &w)
	e.gmu.Unlock()
	e.finish(ctx, &w)
	e.mu.RUnlock()
}

// Tick evaluates what depends on time passing rather than on readings:
// sensors gone silent (offline rules) and raises held by for: whose hold
// has run out since the last reading. Run calls it periodically.
func (e *Engine) Tick(ctx context.Context, now time.Time) {
	var w work
	e.mu.RLock()
	for _, c := range e.offline {
		if !e.owned(c.s.about.Site) {
			continue // its partition's owner judges it
		}
		sh := &c.s.mu
		sh.Lock()
		last := c.at // an offline rule's condition sees every reading of its sensor
		if last == 0 {
			last = e.started.UnixNano()
		}
		interval := c.s.about.Interval
		if interval <= 0 {
			interval = time.Minute
		}
		after := c.rule.OfflineAfter
		if after <= 0 {
			after = 3
		}
		if now.UnixNano()-last > int64(after*float64(interval)) {
			e.apply(ctx, c, c.rule.Level, 0, 0, now, &w)
		}
		sh.Unlock()
	}
	held := func(c *condition) bool {
		return c.rule != nil && c.x != nil && c.pending > c.level && c.x.pendingSince != 0 && now.UnixNano()-c.x.pendingSince >= int64(c.rule.For)
	}
	for p := range e.sensors {
		sc := &e.sensors[p]
		if !e.owned(sc.about.Site) {
			continue
		}
		sc.mu.Lock()
		for i, n := 0, sc.n(); i < n; i++ {
			if c := sc.at(i); held(c) {
				e.apply(ctx, c, c.pending, c.x.pendingTh, c.x.pendingValue, now, &w)
			}
		}
		sc.mu.Unlock()
	}
	e.gmu.Lock()
	for _, c := range e.groups {
		if held(c) && e.owned(c.s.about.Site) {
			e.apply(ctx, c, c.pending, c.x.pendingTh, c.x.pendingValue, now, &w)
		}
	}
	e.gmu.Unlock()
	e.flagOverdue(ctx, now)
	e.finish(ctx, &w)
	e.mu.RUnlock()
}

// evaluate works out the level a reading puts a rule's condition at.
func (e *Engine) evaluate(ctx context.Context, c *condition, rd *yujing.Reading, w *work) {
	r := c.rule
	t := rd.Time.UnixNano()
	c.evals++ // no shared counter on the hot path
	if t < c.at {
		e.m.outOfOrder.Inc()
		return
	}
	c.at = t
	var level yujing.Level
	var th, v float64 = 0, rd.Value
	switch r.kind() {
	case KindThreshold:
		level, th = r.Evaluate(rd.Value, c.level)
	case KindRate:
		rate, ok := c.rate(r, rd.Time, rd.Value)
		if !ok {
			return
		}
		v = rate
		level, th = r.Evaluate(rate, c.level)
	case KindTangent:
		rate, ok := c.rate(r, rd.Time, rd.Value)
		if !ok {
			return
		}
		v = TangentAngle(rate, r.UniformRate)
		level, th = r.Evaluate(v, c.level)
	case KindStuck:
		x := c.x
		if !x.hasValue || math.Abs(rd.Value-x.lastValue) > r.Tolerance {
			x.lastValue, x.changedAt, x.hasValue = rd.Value, t, true
		}
		if t-x.changedAt >= int64(r.StuckFor) {
			level = r.Level
		}
	case KindEvent:
		l, ok := r.EventLevel(rd.Value)
		if !ok {
			return
		}
		level = l
	case KindOffline, KindFault:
		// A reading is the sensor being there and in range: recovery.
		level = yujing.LevelNone
	default:
		return
	}
	if len(r.WhenStatus) > 0 && !slices.Contains(r.WhenStatus, e.siteStatus(c.s.about.Site)) {
		level = yujing.LevelNone // the rule does not apply to the site now
	}
	e.apply(ctx, c, level, th, v, rd.Time, w)
}

// siteStatus is site's production status now.
func (e *Engine) siteStatus(site string) yujing.ProductionStatus {
	if e.statuses == nil {
		return yujing.StatusNormal
	}
	return e.statuses.Status(site)
}

// rate adds a sample and returns the rate of change per RatePer over the
// window, once the samples span at least half of it.
func (c *condition) rate(r *Rule, at time.Time, v float64) (float64, bool) {
	t := at.UnixNano()
	x := c.x
	window, per := r.RateWindow, r.RatePer
	if window <= 0 {
		window = 5 * time.Minute
	}
	if per <= 0 {
		per = time.Minute
	}
	x.samples = append(x.samples, sample{t, v})
	drop := 0
	for drop < len(x.samples)-1 && t-x.samples[drop].t > int64(window) {
		drop++
	}
	if drop > 0 {
		x.samples = append(x.samples[:0], x.samples[drop:]...)
	}
	if len(x.samples) > 256 {
		x.samples = append(x.samples[:0], x.samples[len(x.samples)-256:]...)
	}
	first := x.samples[0]
	span := time.Duration(t - first.t)
	if span < window/2 || span <= 0 {
		return 0, false
	}
	return (v - first.v) / float64(span) * float64(per), true
}

// apply moves a condition to level, honouring for and clear_for, and turns
// the change into an alert transition.
func (e *Engine) apply(ctx context.Context, c *condition, level yujing.Level, th, v float64, at time.Time, w *work) {
	r := c.rule
	t := at.UnixNano()
	switch {
	case level > c.level:
		c.clearSince = 0
		if r.For > 0 {
			if c.x == nil {
				c.x = &condExtra{}
			}
			if c.x.pendingSince == 0 {
				c.x.pendingSince = t
			}
			if level >= c.pending {
				c.pending, c.x.pendingTh, c.x.pendingValue = level, th, v
			}
			if t-c.x.pendingSince < int64(r.For) {
				return
			}
			level, th, v = c.pending, c.x.pendingTh, c.x.pendingValue
		}
	case level < c.level:
		c.unhold()
		if level == yujing.LevelNone && r.ClearFor > 0 {
			if c.clearSince == 0 {
				c.clearSince = t
			}
			if t-c.clearSince < int64(r.ClearFor) {
				return
			}
		}
	default:
		c.unhold()
		c.clearSince = 0
		return
	}
	c.unhold()
	c.clearSince = 0
	rd := c.info()
	rd.Value, rd.Time = v, at
	if r.kind() == KindTangent {
		rd.Unit = "°" // the value is the tangent angle, not a displacement
	}
	if !e.transition(ctx, r, c, level, th, &rd) {
		return
	}
	// Composite rules count this rule's conditions: once the evaluating lock
	// is released.
	for _, cr := range e.compos[r.Name] {
		w.recount = append(w.recount, recount{rule: cr, site: rd.Site, at: at})
	}
}

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
