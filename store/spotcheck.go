package store

import (
	"errors"
	"time"
)

// Spot check states (值班值守抽查, 查岗). A check is planned (a schedule
// picked its time, or an operator asked for it), calls while it waits for
// an answer, and ends answered or missed; a planned check that could not
// be made in its window (yujing was down) is skipped and counts in no
// on-duty rate.
const (
	SpotCheckPlanned  = "planned"
	SpotCheckCalling  = "calling"
	SpotCheckAnswered = "answered"
	SpotCheckMissed   = "missed"
	SpotCheckSkipped  = "skipped"
)

// Why a check ended missed or skipped (SpotCheck.Reason). Stable values.
const (
	// SpotReasonNoAnswer: nobody answered by the last step's deadline.
	SpotReasonNoAnswer = "no_answer"
	// SpotReasonNobody: the roster named nobody for any step.
	SpotReasonNobody = "nobody_on_duty"
	// SpotReasonDown: the check was due while yujing was down and its
	// window had passed when it came back; not made.
	SpotReasonDown = "not_made_while_down"
)

// ErrSpotCheckEnded is returned when a spot check that has ended is
// changed.
var ErrSpotCheckEnded = errors.New("spot check has ended")

// SpotCheck is one duty spot check: a call to whoever holds Roles[0] on
// Org's roster at the time, an answer due within Deadline, and, when
// nobody answers, a call to whoever holds the next role, and so on.
type SpotCheck struct {
	ID int64 `json:"id"`
	// Key makes planning idempotent: the schedule, the night and the
	// check's number ("night-checks/2026-03-01/2"), or "demand/<id>" for
	// one asked for; a second plan with the same key is the first.
	Key      string   `json:"key"`
	Schedule string   `json:"schedule,omitempty"` // "" when asked for on demand
	Org      string   `json:"org"`
	OrgName  string   `json:"org_name,omitempty"`
	Region   string   `json:"region,omitempty"` // the org's administrative division code
	Roles    []string `json:"roles"`            // the role checked, then the roles it escalates to
	Channels []string `json:"channels"`         // the ladder each person is called on
	// Deadline is how long each step waits for an answer.
	Deadline time.Duration `json:"deadline_ns"`
	DueAt    time.Time     `json:"due_at"`
	// NotAfter is the end of the check's window: a check yujing could not
	// make by then (it was down) is skipped, not made late. Zero: made
	// however late.
	NotAfter time.Time `json:"not_after,omitzero"`
	State    string    `json:"state"`
	Reason   string    `json:"reason,omitempty"`
	// Step is the role being called (1-based, into Roles) since StepAt;
	// 0 while planned.
	Step   int       `json:"step"`
	StepAt time.Time `json:"step_at,omitzero"`
	// StartedAt is when the first call went out.
	StartedAt     *time.Time `json:"started_at"`
	AnsweredAt    *time.Time `json:"answered_at"`
	AnsweredBy    string     `json:"answered_by,omitempty"`
	AnswerChannel string     `json:"answer_channel,omitempty"`
	// AnswerStep is the step whose call was answered (1: the role
	// checked was on duty).
	AnswerStep  int       `json:"answer_step,omitempty"`
	RequestedBy string    `json:"requested_by,omitempty"` // the operator or token of an on-demand check
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Ended reports whether the check is over (answered, missed or skipped).
func (c *SpotCheck) Ended() bool {
	return c.State == SpotCheckAnswered || c.State == SpotCheckMissed || c.State == SpotCheckSkipped
}

// OnDuty reports whether the role checked answered within the first
// deadline: what the on-duty rate (在岗率) counts.
func (c *SpotCheck) OnDuty() bool {
	return c.State == SpotCheckAnswered && c.AnswerStep == 1 && c.StartedAt != nil && c.AnsweredAt != nil &&
		!c.AnsweredAt.After(c.StartedAt.Add(c.Deadline))
}

// SpotCheckFilter selects spot checks by when they were due, [From, To),
// and by org; zero values select all. Limit bounds the list (0: the
// store's default; below 0: no bound).
type SpotCheckFilter struct {
	From, To time.Time
	Org      string
	Limit    int
}
