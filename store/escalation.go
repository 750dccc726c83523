package store

import (
	"errors"
	"time"

	"yujing"
)

// Escalation states.
const (
	EscalationActive    = "active"    // calling, waiting for an answer
	EscalationAnswered  = "answered"  // somebody answered: no further calls
	EscalationExhausted = "exhausted" // the last step's deadline passed unanswered: the chain reached the top
	EscalationStopped   = "stopped"   // ended without an answer for one of the Reason* reasons below
)

// Why an escalation ended without an answer: Escalation.Reason of an
// exhausted or stopped escalation (empty while active and when answered).
// The values are stable (stored, counted by reports, matched by
// integrations); add new ones, never rename.
const (
	// ReasonTopReached: nobody answered by the last step's deadline of the
	// last round (state exhausted; TopReachedAt says when).
	ReasonTopReached = "top_reached"
	// ReasonSuperseded: the warning was upgraded and the higher level's
	// escalation started. Only a higher level supersedes: a warning that
	// falls and rises again below (or up to) a running escalation's level
	// leaves it running.
	ReasonSuperseded = "superseded"
	// ReasonResolved: the condition cleared before anyone answered and the
	// policy does not continue_after_resolve.
	ReasonResolved = "resolved"
	// ReasonClosed: the warning was closed (核查销号) before anyone answered.
	ReasonClosed = "closed"
	// ReasonSilenced and ReasonInhibited: its calls were due while a
	// silence or an inhibition suppressed the warning's calls.
	ReasonSilenced  = "silenced"
	ReasonInhibited = "inhibited"
	// ReasonPolicyRemoved: a reload removed its policy.
	ReasonPolicyRemoved = "policy_removed"
)

// EscalationReasons lists every Reason value, in the order above.
var EscalationReasons = []string{ReasonTopReached, ReasonSuperseded, ReasonResolved, ReasonClosed, ReasonSilenced,
	ReasonInhibited, ReasonPolicyRemoved}

// Escalation is one run of an escalation policy for one alert: started by
// the transition (raise, reopen or upgrade) that brought the alert to
// Level, at step Step of round Round since StepAt.
type Escalation struct {
	ID           int64        `json:"id"`
	AlertID      int64        `json:"alert_id"`
	TransitionID int64        `json:"transition_id"`
	Level        yujing.Level `json:"level"`
	Policy       string       `json:"policy"`
	Round        int          `json:"round"`
	Step         int          `json:"step"` // 1-based
	StepAt       time.Time    `json:"step_at"`
	// Deadline is when the current step's answer is due (set by the
	// escalation engine for display; not stored).
	Deadline      *time.Time `json:"deadline"`
	State         string     `json:"state"`
	Reason        string     `json:"reason,omitempty"`
	StartedAt     time.Time  `json:"started_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	AnsweredAt    *time.Time `json:"answered_at"`
	AnsweredBy    *string    `json:"answered_by"`
	AnswerChannel *string    `json:"answer_channel"`
	TopReachedAt  *time.Time `json:"top_reached_at"`
}

// Answer is somebody's answer (应) to a call.
type Answer struct {
	CallID  string
	By      string // who answered: the called person's id, or the user who recorded it
	Channel string // link, sms, voice, dingtalk, …, console, api
	Note    string
	OnSite  bool // "on my way / 已到岗"
	At      time.Time
}

// ErrAnswered is returned when a call was answered already; the error
// from AnswerCall wraps it with when.
var ErrAnswered = errors.New("already answered")

// AnswerRow is one escalation call, as the answer reports count it: the
// call, and its escalation as it stands, whose round, step, state and
// reason say whether the call's step ended answered, unanswered (the
// deadline passed), or stopped before its deadline.
type AnswerRow struct {
	CallID        string
	AlertID       int64
	EscalationID  int64
	Policy        string
	Level         yujing.Level
	Round, Step   int
	Person        string
	PersonName    string
	Channel       string
	Site, Sensor  string
	Rule          string // the alert's rule: "issued:cap" for a CAP warning (alerting/issued)
	CreatedAt     time.Time
	SentAt        *time.Time
	Deadline      *time.Time // when the call's step was due
	AnsweredAt    *time.Time
	AnsweredBy    string
	AnswerChannel string
	Escalation    Escalation // the call's escalation now (Deadline not set)
}
