package store

import (
	"time"

	"yujing"
)

// IssuedWarning is what the state database keeps of a warning another
// system issued (package alerting/issued): its identity, where it applies,
// what it says and when it ends, beside the yujing alert that carries it
// through the lifecycle and call-and-answer. One row per (Source, Key):
// the latest episode.
type IssuedWarning struct {
	Source  string            `json:"source"`
	Key     string            `json:"key"`
	AlertID int64             `json:"alert_id"`
	Level   yujing.Level      `json:"level"`
	Site    string            `json:"site,omitempty"`
	Region  string            `json:"region,omitempty"`
	Family  yujing.Family     `json:"family,omitempty"`
	Title   string            `json:"title,omitempty"`
	Summary string            `json:"summary,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	// StartsAt is when the issuer says it began; EndsAt when it ends by
	// itself (nil: when it is ended).
	StartsAt  time.Time  `json:"starts_at"`
	EndsAt    *time.Time `json:"ends_at,omitempty"`
	UpdatedAt time.Time  `json:"updated_at"`
	// EndedAt is when it ended (nil while in force), and EndReason why:
	// a stable word such as cancelled, expired, resolved.
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	EndReason string     `json:"end_reason,omitempty"`
}

// IssuedFilter selects issued warnings. Empty fields match everything.
type IssuedFilter struct {
	Source string
	// InForce keeps only the warnings not ended.
	InForce bool
	// EndsBefore keeps only those whose EndsAt is before it.
	EndsBefore time.Time
	Limit      int // 0: all
}

// IssuedMessage records that a message of an issuing system (a CAP alert,
// by its sender and identifier) was applied, and to which warnings: it
// makes a second delivery of the message change nothing, also after a
// restart, and lets a later message that references it find its warnings.
type IssuedMessage struct {
	Source string
	ID     string // the message's identity within Source, e.g. "sender,identifier"
	// Root is the key prefix of the warnings the message is about: its
	// own for a first message, the referenced message's Root for an
	// update or a cancel.
	Root       string
	Kind       string // e.g. Alert, Update, Cancel
	Sent       time.Time
	ReceivedAt time.Time
}
