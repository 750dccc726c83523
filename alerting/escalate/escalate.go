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
//
// Files: escalate.go is an alert change's way from the lifecycle to the
// Caller, in order (Run, Step, handle; the routes' calls; start, advance,
// due, call); deadlines.go the deadline index (which escalations a Step
// visits, how long Run sleeps); parts.go what the Engine is built from;
// restore.go what a restart reads back; stop.go how an escalation ends
// (stopped, answered); route.go, policy.go the routes and policies as
// configured; ladder.go the next channel after a failure; answer.go,
// link.go, receipt.go answers; summary.go the scheduled summaries.
package escalate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"yujing"
	"yujing/alerting/lifecycle"
	"yujing/store"
)

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
	owns    func(site string) bool
	leads   func() bool
	fence   func(ctx context.Context, site string) context.Context

	mu     sync.Mutex
	set    Settings
	active map[int64]*run // by escalation id
	// byAlert are the ids of the active escalations of each alert.
	byAlert map[int64][]int64
	// index keeps each active escalation under its next moment (Step
	// visits those whose moment came); changed are the ones to visit at
	// the next Step whatever their moment (deadlines.go).
	index   deadlines
	changed map[int64]struct{}
	visits  atomic.Int64        // escalations Step visited, for the tests
	open    map[int64]*checkRun // open spot checks, by id
	// checksRead is when the open spot checks were last read from the
	// store (refreshChecks).
	checksRead time.Time
	checkGen   uint64          // counts the checks StartCheck added
	issued     map[string]bool // call ids handed to the caller by this process
	// issuedBy are the ids in issued of each escalation's calls, so that
	// an escalation's end forgets them without a scan of issued.
	issuedBy map[int64][]string
	queue    []observed // alert changes replayed by Restore, not yet handled
	wake     chan struct{}
}

type run struct {
	esc    store.Escalation
	alert  yujing.Alert
	policy *Policy
	// people are the resolved targets of each round, step and tag.
	people map[string][]yujing.Person
	// made, when set, are the calls the escalation had made when it was
	// restored (one read for all, Restore), with the fallbacks made since:
	// its first visit takes them instead of reading its calls (unmade).
	made *madeCalls
	// restored: its alert was read with all the others by Restore, so its
	// first visit marks it silenced or inhibited itself (DecorateAt)
	// instead of reading it again.
	restored bool
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
	e := &Engine{st: p.Store, alerts: p.Alerts, changes: p.Changes, results: p.Results, caller: p.Calls, dir: p.Directory, sites: p.Sites,
		log: opts.Logger, now: opts.Now, loc: opts.Location, tick: opts.Tick, sign: signer{key: opts.Key}, covers: opts.Covers,
		owns: opts.Owns, leads: opts.Leads, fence: opts.Fence,
		m: m, set: set, ids: ids, checks: p.Checks, active: map[int64]*run{}, byAlert: map[int64][]int64{}, changed: map[int64]struct{}{},
		open: map[int64]*checkRun{}, issued: map[string]bool{}, issuedBy: map[int64][]string{}, wake: make(chan struct{}, 1)}
	if e.fence != nil {
		e.caller = fencedCaller{Caller: p.Calls, e: e}
	}
	return e, nil
}

func (e *Engine) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run handles alert changes and advances escalations until ctx ends: at
// once when a change comes, and for the deadlines at the earliest moment
// something comes due (the deadline index), waking at least every
// maxSleep, and every tick while spot checks are open.
func (e *Engine) Run(ctx context.Context) {
	t := time.NewTimer(maxSleep)
	defer t.Stop()
	var results <-chan struct{} // nil: never ready
	if e.results != nil {
		results = e.results.Ready()
	}
	for {
		e.Step(ctx)
		t.Reset(e.sleep(e.now()))
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
// returns: tests with a fake clock call it directly. It visits only the
// escalations whose next moment has come and those that changed
// (deadlines.go).
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
	now := e.now()
	e.mu.Lock()
	ids := e.dueLocked(now)
	e.mu.Unlock()
	e.visits.Add(int64(len(ids)))
	for _, id := range ids {
		calls, retry := e.advance(ctx, id, now)
		for _, c := range calls {
			if err := e.caller.Call(ctx, c); err != nil {
				e.log.Error("escalation call not accepted; retried at the next tick", "call_id", c.ID, "err", err)
				e.mu.Lock()
				delete(e.issued, c.ID)
				e.mu.Unlock()
				retry = true
				continue
			}
			e.m.calls.WithLabelValues(c.Channel).Inc()
		}
		e.schedule(id, now, retry)
	}
	e.stepChecks(ctx, now)
	e.m.active.Set(float64(e.activeCount()))
}

func (e *Engine) activeCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.active)
}

// handle makes the routes' calls about one alert change and starts, stops
// or answers escalations for it. An unanswered escalation runs until
// somebody answers, its chain reaches the top, its warning resolves
// (unless its policy continues after resolve) or closes, or a higher
// level's escalation supersedes it; whatever the level does below it
// meanwhile leaves it running.
func (e *Engine) handle(ctx context.Context, o observed) {
	a, t := o.a, o.t
	if !e.owned(a.Site) {
		return // the owner of its site's partition calls about it
	}
	if !o.replay {
		e.notify(ctx, a, t)
	}
	switch t.Event {
	case yujing.EventRaised, yujing.EventReopened, yujing.EventUpgraded:
		e.start(ctx, a, t)
	case yujing.EventAcknowledged, yujing.EventDisposed:
		// An operator (or an answer, already recorded) acknowledged it.
		e.answerAlert(ctx, a.ID, t.Actor, "console", t.At)
	case yujing.EventResolved:
		e.mu.Lock()
		var stop []int64
		for _, id := range e.byAlert[a.ID] {
			if r := e.active[id]; r.policy == nil || !r.policy.ContinueAfterResolve {
				stop = append(stop, id)
			}
		}
		e.mu.Unlock()
		for _, id := range stop {
			e.stop(ctx, id, store.ReasonResolved, t.At)
		}
	case yujing.EventClosed:
		e.stopAlert(ctx, a.ID, store.ReasonClosed, t.At)
	}
	e.mu.Lock()
	for _, id := range e.byAlert[a.ID] {
		e.active[id].alert = a
	}
	e.mu.Unlock()
}

// notify makes the routes' calls about change t of alert a, unless a
// silence or an inhibition holds them back (a.Silenced, a.Inhibited: the
// lifecycle says so with every change).
func (e *Engine) notify(ctx context.Context, a yujing.Alert, t yujing.Transition) {
	if a.Silenced || a.Inhibited {
		return // the lifecycle logged and counted it
	}
	e.mu.Lock()
	routes := e.set.Routes
	e.mu.Unlock()
	e.dispatch(ctx, e.routeCalls(routes, a, t, nil))
}

// routeCalls appends the calls the routes make for change t of alert a.
// A call's id says what it is — <instance>-<alert>-<transition>-<person>-
// <channel>, e.g. k7f3q2mzab-12-34-zhang-sms (store.CallIDs) — so the same
// call made again (RecoverCalls) has the same id, and the outbox drops it.
func (e *Engine) routeCalls(routes []Route, a yujing.Alert, t yujing.Transition, calls []yujing.Call) []yujing.Call {
	a.Silenced, a.Inhibited = false, false
	for _, r := range routes {
		if !r.matches(a.Level, t.Event) {
			continue
		}
		for _, p := range r.People {
			for _, ch := range r.Channels {
				calls = append(calls, yujing.Call{
					ID:    e.ids.Route(a.ID, t.ID, p.ID, ch),
					Alert: a, Event: t.Event, Person: p, Channel: ch, Created: t.At,
				})
			}
			if len(r.Ladder) > 0 {
				calls = append(calls, yujing.Call{
					ID:    e.ids.Route(a.ID, t.ID, p.ID, r.Ladder[0]),
					Alert: a, Event: t.Event, Person: p, Channel: r.Ladder[0], Created: t.At, Fallback: r.Ladder[1:],
				})
			}
		}
	}
	return calls
}

func (r *Route) matches(l yujing.Level, ev yujing.Event) bool {
	if len(r.Levels) > 0 && !slices.Contains(r.Levels, l) {
		return false
	}
	evs := r.Events
	if len(evs) == 0 {
		evs = DefaultRouteEvents
	}
	return slices.Contains(evs, ev)
}

// dispatch hands calls that expect no answer to notify; one that cannot be
// queued is logged and counted (yujing_alert_call_errors_total).
func (e *Engine) dispatch(ctx context.Context, calls []yujing.Call) {
	for _, c := range calls {
		if err := e.caller.Call(ctx, c); err != nil {
			e.m.callErrors.Inc()
			e.log.Error("call not queued", "call_id", c.ID, "alert_id", c.Alert.ID, "channel", c.Channel, "err", err)
		}
	}
}

// start runs the policy of the level a warning was raised, reopened or
// upgraded to (transition t), unless an escalation of the warning at that
// level or higher was still running at t: that one goes on and covers the
// change. The escalation started supersedes the warning's lower ones.
func (e *Engine) start(ctx context.Context, a yujing.Alert, t yujing.Transition) {
	if by, ok := e.covered(ctx, a.ID, t); ok {
		e.log.Info("escalation continues: the warning is back within its level", "escalation_id", by.ID,
			"escalation_level", by.Level.String(), "alert_id", a.ID, "event", string(t.Event), "level", t.ToLevel.String())
		return
	}
	p := e.pick(a)
	if p == nil {
		return
	}
	esc := store.Escalation{AlertID: a.ID, TransitionID: t.ID, Level: a.Level, Policy: p.Name, Step: 1,
		StepAt: t.At, StartedAt: t.At, State: store.EscalationActive}
	created, err := e.st.StartEscalation(e.fenced(ctx, a.Site), &esc)
	if err != nil {
		e.m.storeErrors.Inc()
		e.log.Error("escalation not started", "alert_id", a.ID, "policy", p.Name, "err", err)
		return
	}
	// Also when it existed already (a restart): a crash may have come
	// between starting it and stopping the lower ones.
	e.supersede(ctx, esc, t.At)
	if esc.State != store.EscalationActive {
		return
	}
	e.mu.Lock()
	e.addRunLocked(&run{esc: esc, alert: a, policy: p})
	e.mu.Unlock()
	if created {
		e.m.started.WithLabelValues(p.Name, a.Level.String()).Inc()
		e.log.Info("escalation started", "escalation_id", esc.ID, "alert_id", a.ID, "level", a.Level.String(), "policy", p.Name)
	}
}

// covered returns the escalation of an alert, at t's level or higher and
// started before t, that was still running at t: the running ones, and
// (for Restore, which replays the latest change after a restart) one that
// ended after t — reached the top, was answered or stopped — so that a
// restart starts no escalation the running process would not have.
func (e *Engine) covered(ctx context.Context, alertID int64, t yujing.Transition) (store.Escalation, bool) {
	e.mu.Lock()
	for _, id := range e.byAlert[alertID] {
		if r := e.active[id]; r.esc.TransitionID != t.ID && r.esc.Level >= t.ToLevel && r.policy != nil &&
			!r.topAt().Before(t.At) {
			e.mu.Unlock()
			return r.esc, true
		}
	}
	e.mu.Unlock()
	if t.Event == yujing.EventRaised {
		// A new warning's first change: no escalation began before it, so
		// none can have ended after it (a read per warning in a burst).
		return store.Escalation{}, false
	}
	es, err := e.st.EscalationsFor(ctx, alertID)
	if err != nil {
		e.m.storeErrors.Inc()
		e.log.Error("escalations of the alert not read; taking none as running", "alert_id", alertID, "err", err)
		return store.Escalation{}, false
	}
	for _, x := range es {
		if x.TransitionID >= t.ID || x.Level < t.ToLevel || x.State == store.EscalationActive {
			continue
		}
		end := x.UpdatedAt
		switch {
		case x.TopReachedAt != nil:
			end = *x.TopReachedAt
		case x.AnsweredAt != nil:
			end = *x.AnsweredAt
		}
		if !end.Before(t.At) {
			return x, true
		}
	}
	return store.Escalation{}, false
}

// topAt is when r's chain reaches its top if nobody answers: the
// deadlines of its remaining steps and rounds from its current step's
// start (r.policy set).
func (r *run) topAt() time.Time {
	at := r.esc.StepAt
	for round, step := r.esc.Round, max(1, r.esc.Step); round <= r.policy.Repeat; round, step = round+1, 1 {
		for ; step <= len(r.policy.Steps); step++ {
			at = at.Add(r.policy.Steps[step-1].Deadline)
		}
	}
	return at
}

// pick returns the policy for an alert at its level: the first that
// matches its level, family and site region (an area's own code for an
// alert about one).
func (e *Engine) pick(a yujing.Alert) *Policy {
	region, area := yujing.SiteRegion(a.Site) // an issued warning's area (alerting/issued)
	if e.sites != nil && !area {
		if s, ok := e.sites.Site(a.Site); ok {
			region = s.Region
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range e.set.Policies {
		if e.set.Policies[i].matches(a.Level, a.Family, region, e.covers) {
			return &e.set.Policies[i]
		}
	}
	return nil
}

// supersede stops the running escalations of esc's alert below its level.
func (e *Engine) supersede(ctx context.Context, esc store.Escalation, at time.Time) {
	e.mu.Lock()
	var ids []int64
	for _, id := range e.byAlert[esc.AlertID] {
		if id != esc.ID && e.active[id].esc.Level < esc.Level {
			ids = append(ids, id)
		}
	}
	e.mu.Unlock()
	slices.Sort(ids)
	for _, id := range ids {
		e.stop(ctx, id, store.ReasonSuperseded, at, "by_escalation", esc.ID, "by_level", esc.Level.String())
	}
}

// advance makes the calls of an escalation that are due at now and moves
// it to its next step (or round, or the top) when a deadline has passed.
// It returns the calls to make; retry when the store failed it (what it
// could not do is tried again a tick later).
func (e *Engine) advance(ctx context.Context, id int64, now time.Time) (calls []yujing.Call, retry bool) {
	e.mu.Lock()
	var restored, first bool
	if r, ok := e.active[id]; ok {
		restored, first = r.restored, r.restored || r.made != nil
	}
	e.mu.Unlock()
	if first {
		defer e.forgetRestored(id)
	}
	for range 1000 { // bounded: each pass moves a step forward or returns
		e.mu.Lock()
		r, ok := e.active[id]
		if !ok {
			e.mu.Unlock()
			return calls, false
		}
		if r.policy == nil {
			e.mu.Unlock()
			e.stop(ctx, id, store.ReasonPolicyRemoved, now)
			return calls, false
		}
		esc, p, alert := r.esc, r.policy, r.alert
		e.mu.Unlock()
		ctx := e.fenced(ctx, alert.Site)
		step := p.Steps[esc.Step-1]
		deadline := esc.StepAt.Add(step.Deadline)
		due := e.due(esc, p, step, alert, deadline, now)
		if len(due) > 0 {
			fresh, err := e.fresh(ctx, alert, restored, now)
			if err == nil && (fresh.Silenced || fresh.Inhibited) {
				why, reason := "silenced", store.ReasonSilenced
				if fresh.Inhibited {
					why, reason = "inhibited", store.ReasonInhibited
				}
				e.stop(ctx, id, reason, now)
				e.m.suppressed.WithLabelValues(why).Inc()
				return calls, false
			}
			if err == nil {
				for i := range due {
					due[i].Alert = fresh
				}
			}
			todo, ok := e.unmade(ctx, esc.ID, due)
			calls, retry = append(calls, todo...), retry || !ok
		}
		if now.Before(deadline) {
			return calls, retry
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
				return calls, false
			}
			e.m.storeErrors.Inc()
			e.log.Error("escalation step not saved; retried at the next tick", "escalation_id", id, "err", err)
			return calls, true
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
			return calls, retry
		}
		e.m.steps.WithLabelValues(p.Name, strconv.Itoa(next.Step)).Inc()
		e.log.Warn("no answer by the deadline: escalating", "escalation_id", id, "alert_id", esc.AlertID,
			"policy", p.Name, "step", next.Step, "round", next.Round)
	}
	return calls, retry
}

// deadline is when the current step of r is due.
func (r *run) deadline() time.Time {
	if r.policy == nil || r.esc.Step < 1 || r.esc.Step > len(r.policy.Steps) {
		return r.esc.StepAt
	}
	return r.esc.StepAt.Add(r.policy.Steps[r.esc.Step-1].Deadline)
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
// same round and step (by a ladder's fallback, or before a restart); ok
// false when the calls made could not be read (none is made then).
func (e *Engine) unmade(ctx context.Context, escID int64, due []yujing.Call) (out []yujing.Call, ok bool) {
	e.mu.Lock()
	var todo []yujing.Call
	for _, c := range due {
		if !e.issued[c.ID] {
			todo = append(todo, c)
		}
	}
	var made *madeCalls
	if r := e.active[escID]; r != nil {
		made = r.made // read for all at once by Restore
	}
	e.mu.Unlock()
	if len(todo) == 0 {
		return nil, true
	}
	if made == nil {
		recs, err := e.st.CallsOfEscalation(ctx, escID)
		if err != nil {
			e.m.storeErrors.Inc()
			e.log.Error("escalation calls not read; retried at the next tick", "escalation_id", escID, "err", err)
			return nil, false
		}
		made = &madeCalls{}
		for _, c := range recs {
			made.add(c.ID, madeSlot{c.Round, c.Step, c.Person, c.Channel})
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range todo {
		e.issued[c.ID] = true
		e.issuedBy[escID] = append(e.issuedBy[escID], c.ID)
		if made.ids[c.ID] {
			continue
		}
		if !strings.Contains(c.ID, "-remind") && made.slots[madeSlot{c.Round, c.Step, c.Person.ID, c.Channel}] {
			continue // a fallback already called this person on this channel
		}
		out = append(out, c)
	}
	return out, true
}
