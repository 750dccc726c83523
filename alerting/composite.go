package alerting

import (
	"context"
	"time"

	"yujing"
)

// recount is a composite rule to count again at a site, because a
// condition it counts changed at at.
type recount struct {
	rule *Rule
	site string
	at   time.Time
}

// finish counts composite rules again until nothing changes. Call it with
// mu held for reading and no other lock.
func (e *Engine) finish(ctx context.Context, w *work) {
	for len(w.recount) > 0 {
		rc := w.recount[0]
		w.recount = w.recount[1:]
		e.gmu.Lock()
		e.composite(ctx, rc.rule, rc.site, rc.at, w)
		e.gmu.Unlock()
	}
}

// count moves one condition of a rule at a site from one level to another
// in the counts composite rules read.
func (e *Engine) count(rule, site string, from, to yujing.Level) {
	e.cmu.Lock()
	defer e.cmu.Unlock()
	e.countLocked(rule, site, from, to)
}

// countLocked is count with cmu held.
func (e *Engine) countLocked(rule, site string, from, to yujing.Level) {
	k := condKey{rule, site}
	n := e.counts[k]
	if n == nil {
		n = &[yujing.Red + 1]int32{}
		e.counts[k] = n
	}
	n[from]--
	n[to]++
}

// composite counts a composite rule's conditions at one site again. Call
// with gmu held.
func (e *Engine) composite(ctx context.Context, cr *Rule, site string, t time.Time, w *work) {
	held := 0
	e.cmu.Lock()
	for _, ref := range cr.Of {
		n := 0
		if cnt := e.counts[condKey{ref.Rule, site}]; cnt != nil {
			for l := max(ref.Level, yujing.Blue); l <= yujing.Red; l++ {
				n += int(cnt[l])
			}
		}
		if len(cr.Of) == 1 {
			held = n // k of n sensors
		} else if n > 0 {
			held++ // k of the listed conditions
		}
	}
	e.cmu.Unlock()
	k := cr.K
	if k <= 0 {
		k = len(cr.Of)
	}
	level := yujing.LevelNone
	if held >= k {
		level = cr.Level
	}
	ck := condKey{cr.Name, "site:" + site}
	c := e.groups[ck]
	if c == nil {
		c = &condition{s: &sensorConds{id: "site:" + site, about: &yujing.Sensor{Site: site, Metric: "conditions"}}, derived: true}
		e.groups[ck] = c
	}
	if cr.health == nil {
		cr.health = &ruleHealth{}
	}
	c.rule = cr
	e.apply(ctx, c, level, float64(k), float64(held), t, w)
}
