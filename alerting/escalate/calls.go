package escalate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"yujing"
	"yujing/store"
)

// deadline is when the current step of r is due.
func (r *run) deadline() time.Time {
	if r.policy == nil || r.esc.Step < 1 || r.esc.Step > len(r.policy.Steps) {
		return r.esc.StepAt
	}
	return r.esc.StepAt.Add(r.policy.Steps[r.esc.Step-1].Deadline)
}

// advance makes the calls of an escalation that are due at now and moves
// it to its next step (or round, or the top) when a deadline has passed.
// It returns the calls to make.
func (e *Engine) advance(ctx context.Context, id int64, now time.Time) []yujing.Call {
	var calls []yujing.Call
	for range 1000 { // bounded: each pass moves a step forward or returns
		e.mu.Lock()
		r, ok := e.active[id]
		if !ok {
			e.mu.Unlock()
			return calls
		}
		if r.policy == nil {
			e.mu.Unlock()
			e.stop(ctx, id, store.ReasonPolicyRemoved, now)
			return calls
		}
		esc, p, alert := r.esc, r.policy, r.alert
		e.mu.Unlock()
		step := p.Steps[esc.Step-1]
		deadline := esc.StepAt.Add(step.Deadline)
		due := e.due(esc, p, step, alert, deadline, now)
		if len(due) > 0 {
			fresh, _, err := e.alerts.Get(ctx, alert.ID)
			if err == nil && (fresh.Silenced || fresh.Inhibited) {
				why, reason := "silenced", store.ReasonSilenced
				if fresh.Inhibited {
					why, reason = "inhibited", store.ReasonInhibited
				}
				e.stop(ctx, id, reason, now)
				e.m.suppressed.WithLabelValues(why).Inc()
				return calls
			}
			if err == nil {
				for i := range due {
					due[i].Alert = fresh
				}
			}
			calls = append(calls, e.unmade(ctx, esc.ID, due)...)
		}
		if now.Before(deadline) {
			return calls
		}
		// Nobody answered in time: the next step, round, or the top.
		next := esc
		next.UpdatedAt = deadline
		switch {
		case esc.Step < len(p.Steps):
			next.Step, next.StepAt = esc.Step+1, deadline
		case esc.Round < p.Repeat:
			next.Round, next.Step, next.StepAt = esc.Round+1, 1, deadline
		default:
			next.State, next.TopReachedAt, next.Reason = store.EscalationExhausted, &deadline, store.ReasonTopReached
		}
		if err := e.st.SaveEscalation(ctx, next); err != nil {
			if errors.Is(err, store.ErrAnswered) { // answered meanwhile
				e.mu.Lock()
				e.endLocked(id)
				e.mu.Unlock()
				return calls
			}
			e.m.storeErrors.Inc()
			e.log.Error("escalation step not saved; retried at the next tick", "escalation_id", id, "err", err)
			return calls
		}
		e.mu.Lock()
		if cur, ok := e.active[id]; ok {
			if next.State == store.EscalationActive {
				cur.esc = next
			} else {
				e.endLocked(id)
			}
		}
		e.mu.Unlock()
		if next.State != store.EscalationActive {
			e.m.topReached.WithLabelValues(p.Name, esc.Level.String()).Inc()
			e.log.Warn("escalation reached the top of its chain: nobody answered", "escalation_id", id,
				"alert_id", esc.AlertID, "policy", p.Name, "steps", len(p.Steps), "rounds", p.Repeat+1)
			return calls
		}
		e.m.steps.WithLabelValues(p.Name, strconv.Itoa(next.Step)).Inc()
		e.log.Warn("no answer by the deadline: escalating", "escalation_id", id, "alert_id", esc.AlertID,
			"policy", p.Name, "step", next.Step, "round", next.Round)
	}
	return calls
}

// due lists the calls of an escalation's current step that are due at
// now: each target on its ladder's channels as their waits pass, and the
// reminders; the first step of the first round also calls the double
// report.
func (e *Engine) due(esc store.Escalation, p *Policy, step Step, a yujing.Alert, deadline, now time.Time) []yujing.Call {
	var out []yujing.Call
	add := func(s Step, tag string) {
		people := e.people(esc, p, s, tag, a.Site)
		for _, person := range people {
			for i, ch := range s.Ladder {
				at := esc.StepAt.Add(time.Duration(i) * s.LadderWait)
				if (i > 0 && s.LadderWait == 0) || now.Before(at) || (i > 0 && !at.Before(deadline)) {
					continue
				}
				c, ok := e.call(esc, a, person, ch, deadline, now, tag+"-"+ch)
				if !ok {
					continue
				}
				if s.LadderWait == 0 || i == len(s.Ladder)-1 {
					c.Fallback = s.Ladder[i+1:]
				} else {
					c.Fallback = s.Ladder[i+1 : i+2] // a failed send moves on at once; the wait is then moot
				}
				out = append(out, c)
			}
			for k := 1; k <= s.Reminders; k++ {
				at := esc.StepAt.Add(time.Duration(k) * s.RemindEvery)
				if now.Before(at) || !at.Before(deadline) {
					continue
				}
				i := 0
				if s.LadderWait > 0 {
					i = min(len(s.Ladder)-1, int(time.Duration(k)*s.RemindEvery/s.LadderWait))
				}
				if c, ok := e.call(esc, a, person, s.Ladder[i], deadline, now, tag+"-"+s.Ladder[i]+"-remind"+strconv.Itoa(k)); ok {
					out = append(out, c)
				}
			}
		}
	}
	add(step, "p")
	if p.DoubleReport != nil && esc.Step == 1 && esc.Round == 0 {
		add(*p.DoubleReport, "d")
	}
	return out
}

// people are who a step (tag p) or the double report (tag d) of an
// escalation calls: resolved once per round and step, when it begins, and
// kept, so that a roster's shift change in the middle of a step does not
// add people to it (and each tick costs no directory lookups).
func (e *Engine) people(esc store.Escalation, p *Policy, s Step, tag, site string) []yujing.Person {
	key := fmt.Sprintf("r%d-s%d-%s", esc.Round, esc.Step, tag)
	e.mu.Lock()
	r := e.active[esc.ID]
	if r != nil && r.people != nil {
		if ps, ok := r.people[key]; ok {
			e.mu.Unlock()
			return ps
		}
	}
	e.mu.Unlock()
	ps := e.resolve(s.Targets, site, esc.StepAt)
	if len(ps) == 0 {
		e.log.Warn("escalation step has nobody to call", "escalation_id", esc.ID, "policy", p.Name, "step", esc.Step,
			"round", esc.Round, "targets", fmt.Sprint(s.Targets))
		e.m.nobody.WithLabelValues(p.Name).Inc()
	}
	e.mu.Lock()
	if r != nil {
		if r.people == nil {
			r.people = map[string][]yujing.Person{}
		}
		r.people[key] = ps
	}
	e.mu.Unlock()
	return ps
}

// call makes one call of an escalation; its id is derived from what it is
// — <instance>-esc<escalation>-r<round>-s<step>-<person>-<tag>, e.g.
// k7f3q2mzab-esc12-r0-s1-zhang-p-sms (store.CallIDs) — so the outbox
// records it once however often it is made. It reports false for a call this process has
// already handed on.
func (e *Engine) call(esc store.Escalation, a yujing.Alert, person yujing.Person, ch string, deadline, now time.Time, tag string) (yujing.Call, bool) {
	id := e.ids.Escalation(esc.ID) + "r" + strconv.Itoa(esc.Round) + "-s" + strconv.Itoa(esc.Step) + "-" + person.ID + "-" + tag
	e.mu.Lock()
	base, ttl, issued := e.set.BaseURL, e.set.LinkTTL, e.issued[id]
	e.mu.Unlock()
	if issued {
		return yujing.Call{}, false
	}
	exp := now.Add(ttl)
	if d := deadline.Add(ttl); d.After(exp) {
		exp = d
	}
	return yujing.Call{ID: id, Alert: a, Event: yujing.EventRaised, Person: person, Channel: ch, Created: now,
		Step: esc.Step, Deadline: deadline, AnswerURL: base + "/answer/" + e.sign.token(id, exp),
		Escalation: esc.ID, Round: esc.Round}, true
}

// unmade drops the calls this process already handed on, and those the
// escalation already made on the same channel to the same person in the
// same round and step (by a ladder's fallback, or before a restart).
func (e *Engine) unmade(ctx context.Context, escID int64, due []yujing.Call) []yujing.Call {
	e.mu.Lock()
	var todo []yujing.Call
	for _, c := range due {
		if !e.issued[c.ID] {
			todo = append(todo, c)
		}
	}
	e.mu.Unlock()
	if len(todo) == 0 {
		return nil
	}
	made, err := e.st.CallsOfEscalation(ctx, escID)
	if err != nil {
		e.m.storeErrors.Inc()
		e.log.Error("escalation calls not read; retried at the next tick", "escalation_id", escID, "err", err)
		return nil
	}
	type slot struct {
		round, step     int
		person, channel string
	}
	seen := map[string]bool{}
	slots := map[slot]bool{}
	for _, c := range made {
		seen[c.ID] = true
		slots[slot{c.Round, c.Step, c.Person, c.Channel}] = true
	}
	var out []yujing.Call
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range todo {
		e.issued[c.ID] = true
		if seen[c.ID] {
			continue
		}
		if !strings.Contains(c.ID, "-remind") && slots[slot{c.Round, c.Step, c.Person.ID, c.Channel}] {
			continue // a fallback already called this person on this channel
		}
		out = append(out, c)
	}
	return out
}

// resolve turns targets into people at a time, each person once, in order.
func (e *Engine) resolve(ts []Target, site string, at time.Time) []yujing.Person {
	var out []yujing.Person
	seen := map[string]bool{}
	add := func(ps ...yujing.Person) {
		for _, p := range ps {
			if !seen[p.ID] {
				seen[p.ID] = true
				out = append(out, p)
			}
		}
	}
	for _, t := range ts {
		switch {
		case t.Person != "":
			if p, ok := e.dir.Person(t.Person); ok {
				add(p)
			}
		case t.Roster != "":
			org, role := splitRoster(t.Roster)
			add(e.dir.OnDuty(org, role, at)...)
		case t.Tier > 0:
			add(e.dir.Tier(site, t.Tier, at)...)
		case t.Role != "":
			add(e.dir.Role(site, t.Role, at)...)
		}
	}
	return out
}

func splitRoster(s string) (org, role string) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}
