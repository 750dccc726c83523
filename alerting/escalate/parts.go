package escalate

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yujing"
	"yujing/alerting/lifecycle"
	"yujing/store"
)

// Store keeps escalations and answers durably; store/sqlstate.State is one.
// CallIDs names the calls: ids that begin with the database's instance id
// (the same after a restart, another for a new database).
type Store interface {
	CallIDs() store.CallIDs
	StartEscalation(ctx context.Context, e *store.Escalation) (created bool, err error)
	SaveEscalation(ctx context.Context, e store.Escalation) error
	ActiveEscalations(ctx context.Context) ([]store.Escalation, error)
	EscalationsFor(ctx context.Context, alertID int64) ([]store.Escalation, error)
	Escalation(ctx context.Context, id int64) (store.Escalation, error)
	Call(ctx context.Context, id string) (store.CallRecord, yujing.Call, error)
	CallsOfEscalation(ctx context.Context, escalationID int64) ([]store.CallRecord, error)
	// AnswerRows returns the escalation calls made in [from, to), with
	// their escalation (Restore reads those of the active ones at once).
	AnswerRows(ctx context.Context, from, to time.Time) ([]store.AnswerRow, error)
	AnswerCall(ctx context.Context, a store.Answer) error
	OpenCallTo(ctx context.Context, people []string, since time.Time) (string, error)
	// SaveReceipt stores a provider's receipt against the call it names
	// by call id or provider id, and returns that call's id ("" when none
	// matched).
	SaveReceipt(ctx context.Context, r store.CallReceipt) (callID string, err error)
	// CallsFor returns the calls made about an alert, with their receipts.
	CallsFor(ctx context.Context, alertID int64) ([]store.CallRecord, error)
}

// Alerts is what call-and-answer needs of the alert lifecycle
// (lifecycle.Alerts): alerts and their history, the open ones, whether a
// silence or an inhibition holds back an alert's calls, and the
// acknowledgement an answer makes.
type Alerts interface {
	Get(ctx context.Context, id int64) (yujing.Alert, []yujing.Transition, error)
	List(ctx context.Context, f store.AlertFilter) ([]yujing.Alert, error)
	Open() []yujing.Alert
	DecorateAt(a *yujing.Alert, at time.Time)
	Ack(ctx context.Context, id int64, act lifecycle.Action) (yujing.Alert, error)
}

// Caller delivers calls (the notify outbox).
type Caller interface {
	Call(ctx context.Context, c yujing.Call) error
}

// Feed is what another stage hands on, in order, without ever waiting for
// call-and-answer (an internal/mailbox.Box): Ready has a value when Take
// has something.
type Feed[T any] interface {
	Ready() <-chan struct{}
	Take() []T
}

// Parts are what call-and-answer works with, each built before it.
type Parts struct {
	Store  Store
	Alerts Alerts
	// Changes are the lifecycle's saved changes, every one, in order (the
	// lifecycle's OnChange puts them there).
	Changes Feed[lifecycle.Change]
	// Calls delivers the calls.
	Calls Caller
	// Results are how notify's deliveries ended (its outbox's OnOutcome
	// puts them there): a call that failed for good moves on to the next
	// channel of its ladder. Nil: no ladder moves on.
	Results   Feed[yujing.CallResult]
	Directory Directory
	Sites     Sites
	// Checks keeps the duty spot checks (StartCheck); nil: none.
	Checks CheckStore
}

// Directory resolves targets to people (package duty's Book).
type Directory interface {
	Person(id string) (yujing.Person, bool)
	People() []yujing.Person
	OnDuty(org, role string, at time.Time) []yujing.Person
	Tier(site string, tier int, at time.Time) []yujing.Person
	Role(site, role string, at time.Time) []yujing.Person
}

// Sites gives a site's region, for policies chosen by region.
type Sites interface {
	Site(id string) (yujing.Site, bool)
}

// Options are the engine's collaborators and settings.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
	// Tick is how soon what failed (a call not accepted, the store) is
	// tried again, and how often open spot checks are checked; default
	// 1s. Steps, ladders and reminders are made at their moment.
	Tick time.Duration
	// Key signs answer links; at least 32 bytes.
	Key []byte
	// Covers tells whether region code lies within parent (duty.RegionCovers);
	// default: equal or a prefix.
	Covers func(parent, code string) bool
	// Location is where the summaries' times are read (default
	// Asia/Shanghai, else UTC).
	Location *time.Location
	// Owns tells whether this node runs the calls and escalations of a
	// site's warnings now: in a cluster, whether it holds the site's
	// partition (Adopt and Drop follow it as partitions move). Nil: every
	// site.
	Owns func(site string) bool
	// Leads tells whether this node runs the cluster-wide calls now (spot
	// checks): in a cluster, whether it holds the leader lease. Nil:
	// always.
	Leads func() bool
	// Fence returns ctx fenced by the lease under which this node calls
	// about site's warnings (store.WithFence; "" for spot checks, the
	// leader's): starting an escalation, moving it on and recording its
	// calls are refused once that lease is gone. Nil: no fencing.
	Fence func(ctx context.Context, site string) context.Context
}
