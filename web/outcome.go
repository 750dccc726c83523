package web

import (
	"cmp"
	"strings"
	"time"

	"yujing/store"
)

// Outcome is how one call of an escalation ended for the person called,
// as the answer report counts it and the alert page shows it.
type Outcome string

// Call outcomes. Only OutcomeAnswered and OutcomeUnanswered enter the
// answer rate (answered / (answered + unanswered)): a call whose step
// somebody else answered, or whose chain stopped before its deadline, was
// no miss of the person called, and a pending one is not over yet.
const (
	// OutcomeAnswered: the person answered (late answers too, and answers
	// recorded for them in the console or through the API).
	OutcomeAnswered Outcome = "answered"
	// OutcomeColleague: somebody else answered the escalation before this
	// call's deadline — another person called in the same step, a person
	// of an earlier step answering late, or the duty room acknowledging
	// the warning — so this person's answer was no longer needed.
	OutcomeColleague Outcome = "answered_by_colleague"
	// OutcomeUnanswered: the call's deadline passed and nobody answered.
	OutcomeUnanswered Outcome = "unanswered"
	// OutcomePending: the deadline is still ahead.
	OutcomePending Outcome = "pending"
	// The chain stopped before the call's deadline, unanswered: the
	// condition cleared (resolved), the warning was upgraded and the new
	// level's chain took over (superseded), the warning was closed, or
	// anything else (silenced, inhibited, its policy removed).
	OutcomeStoppedResolved   Outcome = "stopped_resolved"
	OutcomeStoppedSuperseded Outcome = "stopped_superseded"
	OutcomeStoppedClosed     Outcome = "stopped_closed"
	OutcomeStoppedOther      Outcome = "stopped_other"
)

// Stopped reports whether o is one of the stopped outcomes.
func (o Outcome) Stopped() bool { return strings.HasPrefix(string(o), "stopped_") }

// stopOutcome classifies why an escalation stopped (store.EscalationStopped)
// by its reason (store.Reason*); silenced, inhibited and a removed policy
// are OutcomeStoppedOther.
func stopOutcome(reason string) Outcome {
	switch reason {
	case store.ReasonSuperseded:
		return OutcomeStoppedSuperseded
	case store.ReasonResolved:
		return OutcomeStoppedResolved
	case store.ReasonClosed:
		return OutcomeStoppedClosed
	}
	return OutcomeStoppedOther
}

// callUnit is what the outcome is decided for: one person called in one
// step of one round of one escalation, however many channels, ladder
// fallbacks and reminders reached them.
type callUnit struct {
	esc         int64
	round, step int
	person      string
}

// unitCalls is what is known of a callUnit's calls.
type unitCalls struct {
	first    time.Time  // when the first of them was made
	deadline *time.Time // when the step was due
	answered *time.Time // the first answer to any of them, nil when none
}

// add merges one call into u.
func (u *unitCalls) add(created time.Time, deadline, answered *time.Time) {
	if u.first.IsZero() || created.Before(u.first) {
		u.first = created
	}
	if u.deadline == nil {
		u.deadline = deadline
	}
	if answered != nil && (u.answered == nil || answered.Before(*u.answered)) {
		u.answered = answered
	}
}

// outcomes decides the outcome of every unit. escs holds the units'
// escalations as they stand (a unit whose escalation is missing is decided
// by its deadline alone); now is the time pending and unanswered are
// told apart by.
//
// A step is over when its escalation moved past it (the deadline passed
// unanswered: the engine moved on) or ended in it. So a unit is:
// answered when the person answered; answered_by_colleague when somebody
// else answered its step before the deadline, or the escalation ended
// answered while at its step; unanswered when the escalation moved past its
// step, or reached its top there, or is still at it past the deadline;
// pending when the escalation is at its step before the deadline; stopped
// (by reason) when the escalation stopped at its step.
func outcomes(units map[callUnit]*unitCalls, escs map[int64]store.Escalation, now time.Time) map[callUnit]Outcome {
	type stepKey struct {
		esc         int64
		round, step int
	}
	// The first answer in each step, and by whom.
	type firstAnswer struct {
		at     time.Time
		person string
	}
	steps := map[stepKey]firstAnswer{}
	for u, c := range units {
		if c.answered == nil {
			continue
		}
		k := stepKey{u.esc, u.round, u.step}
		if f, ok := steps[k]; !ok || c.answered.Before(f.at) {
			steps[k] = firstAnswer{*c.answered, u.person}
		}
	}
	out := make(map[callUnit]Outcome, len(units))
	for u, c := range units {
		out[u] = decide(u, c, escs, now, func() bool {
			f, ok := steps[stepKey{u.esc, u.round, u.step}]
			return ok && f.person != u.person && (c.deadline == nil || f.at.Before(*c.deadline))
		})
	}
	return out
}

func decide(u callUnit, c *unitCalls, escs map[int64]store.Escalation, now time.Time, colleague func() bool) Outcome {
	if c.answered != nil {
		return OutcomeAnswered
	}
	if colleague() {
		return OutcomeColleague
	}
	due := func() Outcome {
		if c.deadline != nil && now.Before(*c.deadline) {
			return OutcomePending
		}
		return OutcomeUnanswered
	}
	e, ok := escs[u.esc]
	if !ok {
		return due()
	}
	switch cmp.Or(cmp.Compare(u.round, e.Round), cmp.Compare(u.step, e.Step)) {
	case -1: // the escalation moved on: this step's deadline passed
		return OutcomeUnanswered
	case 1: // a step the escalation has not reached (not stored yet)
		return due()
	}
	switch {
	case e.TopReachedAt != nil || e.State == store.EscalationExhausted:
		return OutcomeUnanswered
	case e.State == store.EscalationAnswered:
		if e.AnsweredBy != nil && *e.AnsweredBy == u.person {
			return OutcomeAnswered // answered for the escalation, not on this call
		}
		return OutcomeColleague
	case e.State == store.EscalationStopped:
		return stopOutcome(e.Reason)
	}
	return due()
}

// DetailCall is a call in an alert's detail with its outcome (empty for a
// call outside any escalation, which waits for no answer).
type DetailCall struct {
	store.CallRecord
	Outcome Outcome `json:"outcome,omitempty"`
}

// callOutcomes gives each escalation call of an alert its outcome, decided
// as the answer report decides it.
func callOutcomes(calls []store.CallRecord, escs []store.Escalation, now time.Time) []DetailCall {
	byID := make(map[int64]store.Escalation, len(escs))
	for _, e := range escs {
		byID[e.ID] = e
	}
	units := map[callUnit]*unitCalls{}
	unitOf := func(c store.CallRecord) callUnit {
		return callUnit{*c.EscalationID, c.Round, c.Step, c.Person}
	}
	for _, c := range calls {
		if c.EscalationID == nil {
			continue
		}
		u := unitOf(c)
		if units[u] == nil {
			units[u] = &unitCalls{}
		}
		units[u].add(c.CreatedAt, c.Deadline, c.AnsweredAt)
	}
	outs := outcomes(units, byID, now)
	out := make([]DetailCall, len(calls))
	for i, c := range calls {
		out[i].CallRecord = c
		if c.EscalationID != nil {
			out[i].Outcome = outs[unitOf(c)]
		}
	}
	return out
}
