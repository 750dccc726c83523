package alerting

import (
	"time"

	"yujing"
)

// owned reports whether this node evaluates site's sensors now (Options.Owns).
func (e *Engine) owned(site string) bool { return e.owns == nil || e.owns(site) }

// Adopt takes up the sites that adopt names, which this node has just
// come to evaluate (a cluster node took their partition from another that
// evaluated them until now): each of their conditions takes its level from
// the lifecycle's open alert under its key, which the lifecycle must have
// read again from the shared store first, or none; a hold (for:,
// clear_for:) the other node had begun is begun again by the next
// reading; and offline clocks run from now, so a sensor is not called
// offline for the time nobody was evaluating it. It returns how many
// conditions it took up.
func (e *Engine) Adopt(adopt func(site string) bool, now time.Time) int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	n := 0
	take := func(c *condition) {
		if c == nil || c.rule == nil || c.s == nil || c.s.about == nil || !adopt(c.s.about.Site) {
			return
		}
		level := yujing.LevelNone
		if a, ok := e.alerts.Current(yujing.AlertKey(c.rule.Name, c.s.id)); ok && a.State != yujing.StateResolved {
			level = a.Level
		}
		e.count(c.rule.Name, c.s.about.Site, c.level, level)
		c.level, c.clearSince = level, 0
		c.unhold()
		if c.rule.kind() == KindOffline {
			c.at = now.UnixNano()
		}
		n++
	}
	for p := range e.sensors {
		sc := &e.sensors[p]
		if sc.about == nil || !adopt(sc.about.Site) {
			continue
		}
		sc.mu.Lock()
		for i, k := 0, sc.n(); i < k; i++ {
			take(sc.at(i))
		}
		sc.mu.Unlock()
	}
	e.gmu.Lock()
	for _, c := range e.groups {
		take(c)
	}
	e.gmu.Unlock()
	return n
}
