// Package escalate owns every call yujing makes and every answer that
// comes back (叫应, call-and-answer). It reads the alert lifecycle's
// changes, in order, and for each:
//
//   - runs the routes (configuration "notify:"): each is a policy of one
//     step that expects no answer, made at once, held back while a silence
//     or an inhibition holds the alert's calls;
//   - for a warning raised, reopened or upgraded, runs the escalation policy
//     of its level — calls the people of the first step on their channel
//     ladder, waits for an answer until the step's deadline, then calls the
//     next step — and stops the moment anybody answers: through a signed
//     answer link, an SMS reply, a key press in a voice call, an IM button,
//     the console or the API. Unanswered, it runs while its warning is open
//     until its chain reaches the top, the warning resolves (unless the
//     policy continues after resolve) or closes, or a higher level's
//     escalation supersedes it; the record's Reason says which
//     (store.Reason*). A warning that falls and rises again below the
//     running escalation's level starts nothing.
//
// It also sends the scheduled summaries, moves a call on to the next
// channel of its ladder when notify reports that a channel failed for
// good, and takes providers' receipts: stored against their calls, and an
// SMS reply or a key press that is an answer keyword answers its call. An
// answer acknowledges the warning through the lifecycle. Package notify
// only delivers what it is handed.
//
// Escalations are stored (their step and when it began), so a restart
// resumes each at the right moment; every call has an id derived from the
// state database's instance id and what the call is (store.CallIDs), and
// the notify outbox records a call once by its id, so no call is made
// twice — and no two databases (a wiped data directory) make the same id.
package escalate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
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
	// Tick is how often due steps, ladders and reminders are checked;
	// default 1s.
	Tick time.Duration
	// Key signs answer links; at least 32 bytes.
	Key []byte
	// Covers tells whether region code lies within parent (duty.RegionCovers);
	// default: equal or a prefix.
	Covers func(parent, code string) bool
	// Location is where the summaries' times are read (default
	// Asia/Shanghai, else UTC).
	Location *time.Location
}

// Engine makes the calls and takes the answers. Build it with New,
// Restore it, RecoverCalls, then Run it.
type Engine struct {
	st      Store
	alerts  Alerts
	changes Feed[lifecycle.Change]
	results Feed[yujing.CallResult] // nil: none
	caller  Caller
	dir     Directory
	sites   Sites
	log     *slog.Logger
	now     func() time.Time
	loc     *time.Location
	tick    time.Duration
	sign    signer
	covers  func(parent, code string) bool
	m       *metrics
	ids     store.CallIDs // the state database's call naming
	checks  CheckStore    // nil: no spot checks

	mu     sync.Mutex
	set    Settings
	active map[int64]*run      // by escalation id
	open   map[int64]*checkRun // open spot checks, by id
	// checksRead is when the open spot checks were last read from the
	// store (refreshChecks).
	checksRead time.Time
	checkGen   uint64          // counts the checks StartCheck added
	issued     map[string]bool // call ids handed to the caller by this process
	queue      []observed      // alert changes replayed by Restore, not yet handled
	wake       chan struct{}
}

type run struct {
	esc    store.Escalation
	alert  yujing.Alert
	policy *Policy
	// people are the resolved targets of each round, step and tag.
	people map[string][]yujing.Person
}

// observed is an alert change to handle: one the lifecycle saved, or, with
// replay, one Restore replays to start an escalation a crash kept from
// starting (its route calls are RecoverCalls' business).
type observed struct {
	a      yujing.Alert
	t      yujing.Transition
	replay bool
}

// New builds call-and-answer from its settings and parts.
func New(set Settings, p Parts, opts Options) (*Engine, error) {
	if p.Store == nil || p.Alerts == nil || p.Changes == nil || p.Calls == nil || p.Directory == nil {
		return nil, errors.New("escalate: store, alerts, changes, calls and directory are required")
	}
	ids := p.Store.CallIDs()
	if ids.Instance == "" {
		return nil, errors.New("escalate: the store has no instance id (call ids begin with it)")
	}
	if len(opts.Key) < 32 {
		return nil, fmt.Errorf("escalate: the answer-link key must be at least 32 bytes, got %d", len(opts.Key))
	}
	if err := set.check(); err != nil {
		return nil, err
	}
	set.setDefaults()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Tick <= 0 {
		opts.Tick = time.Second
	}
	if opts.Covers == nil {
		opts.Covers = func(parent, code string) bool { return len(code) >= len(parent) && code[:len(parent)] == parent }
	}
	if opts.Location == nil {
		if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
			opts.Location = loc
		} else {
			opts.Location = time.UTC
		}
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	return &Engine{st: p.Store, alerts: p.Alerts, changes: p.Changes, results: p.Results, caller: p.Calls, dir: p.Directory, sites: p.Sites,
		log: opts.Logger, now: opts.Now, loc: opts.Location, tick: opts.Tick, sign: signer{key: opts.Key}, covers: opts.Covers,
		m: m, set: set, ids: ids, checks: p.Checks, active: map[int64]*run{}, open: map[int64]*checkRun{}, issued: map[string]bool{}, wake: make(chan struct{}, 1)}, nil
}

// SetSettings replaces the routes, policies and settings (a reload).
// Running escalations continue under the new version of their policy; one
// whose policy is gone stops.
func (e *Engine) SetSettings(set Settings) error {
	if err := set.check(); err != nil {
		return err
	}
	set.setDefaults()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.set = set
	for _, r := range e.active {
		r.policy = e.set.policy(r.esc.Policy)
	}
	e.signal()
	return nil
}

// replay queues a change for Step to start its escalation again (Restore).
func (e *Engine) replay(a yujing.Alert, t yujing.Transition) {
	e.mu.Lock()
	e.queue = append(e.queue, observed{a: a, t: t, replay: true})
	e.mu.Unlock()
	e.signal()
}

func (e *Engine) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Restore loads the escalations still active and starts those that a
// crash kept from starting: every firing alert whose latest raise, reopen
// or upgrade has no escalation yet. Call it once before Run, after the
// lifecycle restored its alerts.
func (e *Engine) Restore(ctx context.Context) error {
	active, err := e.st.ActiveEscalations(ctx)
	if err != nil {
		return fmt.Errorf("escalate: restore: %w", err)
	}
	e.mu.Lock()
	for _, esc := range active {
		a, _, err := e.alerts.Get(ctx, esc.AlertID)
		if err != nil {
			e.mu.Unlock()
			return fmt.Errorf("escalate: restore escalation %d: alert %d: %w", esc.ID, esc.AlertID, err)
		}
		e.active[esc.ID] = &run{esc: esc, alert: a, policy: e.set.policy(esc.Policy)}
	}
	e.mu.Unlock()
	firing, err := e.alerts.List(ctx, store.AlertFilter{States: []yujing.State{yujing.StateFiring}, Limit: 5000})
	if err != nil {
		return fmt.Errorf("escalate: restore: %w", err)
	}
	for _, a := range firing {
		_, hist, err := e.alerts.Get(ctx, a.ID)
		if err != nil {
			return fmt.Errorf("escalate: restore: alert %d: %w", a.ID, err)
		}
		for i := len(hist) - 1; i >= 0; i-- {
			t := hist[i]
			if t.Event == yujing.EventRaised || t.Event == yujing.EventReopened || t.Event == yujing.EventUpgraded {
				e.replay(a, t) // starting is idempotent per (alert, transition)
				break
			}
		}
	}
	if len(active) > 0 {
		e.log.Info("escalations resumed", "active", len(active))
	}
	return e.restoreChecks(ctx)
}

// Run handles alert changes and advances escalations until ctx ends: at
// once when a change comes, and every tick for the deadlines.
func (e *Engine) Run(ctx context.Context) {
	t := time.NewTicker(e.tick)
	defer t.Stop()
	var results <-chan struct{} // nil: never ready
	if e.results != nil {
		results = e.results.Ready()
	}
	for {
		e.Step(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.wake:
		case <-e.changes.Ready():
		case <-results:
		}
	}
}

// Step handles the alert changes that came since the last Step, in order,
// moves the calls notify reported failed on along their ladders, and makes
// every call that is due now; Run calls it. It makes its calls before it
// returns: tests with a fake clock call it directly.
func (e *Engine) Step(ctx context.Context) {
	e.mu.Lock()
	queue := e.queue
	e.queue = nil
	e.mu.Unlock()
	for _, c := range e.changes.Take() {
		queue = append(queue, observed{a: c.Alert, t: c.Transition})
	}
	for _, o := range queue {
		e.handle(ctx, o)
	}
	if e.results != nil {
		for _, r := range e.results.Take() {
			e.fallBack(ctx, r)
		}
	}
	e.mu.Lock()
	ids := make([]int64, 0, len(e.active))
	for id := range e.active {
		ids = append(ids, id)
	}
	e.mu.Unlock()
	slices.Sort(ids)
	now := e.now()
	for _, id := range ids {
		calls := e.advance(ctx, id, now)
		for _, c := range calls {
			if err := e.caller.Call(ctx, c); err != nil {
				e.log.Error("escalation call not accepted; retried at the next tick", "call_id", c.ID, "err", err)
				e.mu.Lock()
				delete(e.issued, c.ID)
				e.mu.Unlock()
				continue
			}
			e.m.calls.WithLabelValues(c.Channel).Inc()
		}
	}
	e.stepChecks(ctx, now)
	e.m.active.Set(float64(e.activeCount()))
}

func (e *Engine) activeCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.active)
}

// Escalations returns an alert's escalations, each active one with the
// deadline of its current step.
func (e *Engine) Escalations(ctx context.Context, alertID int64) ([]store.Escalation, error) {
	es, err := e.st.EscalationsFor(ctx, alertID)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range es {
		if r, ok := e.active[es[i].ID]; ok {
			d := r.deadline()
			es[i].Deadline = &d
		}
	}
	return es, nil
}
