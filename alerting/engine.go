package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yujing"
	"yujing/store"
)

// StateStore keeps alerts and their history durably.
type StateStore interface {
	CreateAlert(ctx context.Context, a *yujing.Alert, t *yujing.Transition) error
	UpdateAlert(ctx context.Context, a yujing.Alert, t *yujing.Transition) error
	OpenAlerts(ctx context.Context) ([]yujing.Alert, error)
	ListAlerts(ctx context.Context, f store.AlertFilter) ([]yujing.Alert, error)
	Alert(ctx context.Context, id int64) (yujing.Alert, []yujing.Transition, error)
}

// Caller delivers calls to people (the notify stage).
type Caller interface {
	Call(ctx context.Context, c yujing.Call) error
}

// Catalog knows the sensors and sites.
type Catalog interface {
	Sensors() []yujing.Sensor
	Site(id string) (yujing.Site, bool)
}

// Route says who is called, through which channels, for which levels and
// events. It is the skeleton of call-and-answer: every matching route calls
// every person on every channel it names.
type Route struct {
	Levels   []yujing.Level // empty means every level
	Events   []yujing.Event // empty means raised, reopened and upgraded
	People   []yujing.Person
	Channels []string
}

// DefaultRouteEvents are the events that call people unless a route says
// otherwise. A downgrade never restarts calls.
var DefaultRouteEvents = []yujing.Event{yujing.EventRaised, yujing.EventReopened, yujing.EventUpgraded}

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

// Options are the engine's collaborators.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
	Location   *time.Location // for times in messages (default Asia/Shanghai, else UTC)
	// OnChange is told of every saved transition, in order. It must not
	// block (the live stream drops to a resync for slow readers).
	OnChange func(a yujing.Alert, t yujing.Transition)
}

// Errors an operator action can return; match with errors.Is.
var (
	ErrNotFound = store.ErrNotFound
	ErrConflict = errors.New("conflict")
	ErrInvalid  = errors.New("invalid request")
)

// Action is an operator's request on an alert.
type Action struct {
	By     string
	Note   string
	Reason yujing.CloseReason
}

type binding struct {
	rule   *Rule
	metric string
}

type condition struct {
	level yujing.Level
	at    time.Time // time of the newest reading evaluated
}

// Engine evaluates rules on readings and carries each alert through its
// lifecycle. Every transition is durable before any call about it goes out.
type Engine struct {
	st     StateStore
	caller Caller
	cat    Catalog
	routes []Route
	log    *slog.Logger
	now    func() time.Time
	loc    *time.Location
	m      *metrics
	change func(yujing.Alert, yujing.Transition)

	mu       sync.Mutex
	rules    []*Rule
	bySensor map[string][]binding
	conds    map[string]*condition    // alert key → condition
	open     map[string]*yujing.Alert // alert key → open alert
	byID     map[int64]*yujing.Alert  // open alerts by id
}

// New builds an engine; call Restore before Observe.
func New(rules []*Rule, routes []Route, st StateStore, caller Caller, cat Catalog, opts Options) (*Engine, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
			opts.Location = loc
		} else {
			opts.Location = time.UTC
		}
	}
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.Name] {
			return nil, fmt.Errorf("alerting: rule %q defined twice", r.Name)
		}
		seen[r.Name] = true
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("alerting: rule %q: %w", r.Name, err)
		}
	}
	if opts.OnChange == nil {
		opts.OnChange = func(yujing.Alert, yujing.Transition) {}
	}
	e := &Engine{st: st, caller: caller, cat: cat, routes: routes, log: opts.Logger, now: opts.Now, change: opts.OnChange,
		loc: opts.Location, rules: rules, conds: map[string]*condition{},
		open: map[string]*yujing.Alert{}, byID: map[int64]*yujing.Alert{}}
	e.m = newMetrics(opts.Registerer, e)
	e.bind()
	return e, nil
}

// bind works out which rules apply to which sensors.
func (e *Engine) bind() {
	e.bySensor = map[string][]binding{}
	for _, s := range e.cat.Sensors() {
		site, _ := e.cat.Site(s.Site)
		for _, r := range e.rules {
			applies := slices.Contains(r.Sensors, s.ID) || (len(r.Sensors) == 0 && r.Match.Matches(&s, site))
			if !applies {
				continue
			}
			metric := r.Metric
			if metric == "" {
				metric = s.Metric
			}
			e.bySensor[s.ID] = append(e.bySensor[s.ID], binding{rule: r, metric: metric})
		}
	}
}

// Rebind works out again which rules apply to which sensors, after the
// sensors changed. Alerts and conditions of sensors that remain carry on.
func (e *Engine) Rebind() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.bind()
}

// Rules returns the rules in force.
func (e *Engine) Rules() []*Rule {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.rules)
}

// Restore loads the open alerts from the state store so that a restarted
// engine carries on with them instead of raising duplicates.
func (e *Engine) Restore(ctx context.Context) error {
	as, err := e.st.OpenAlerts(ctx)
	if err != nil {
		return fmt.Errorf("alerting: restore open alerts: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range as {
		a := as[i]
		e.open[a.Key()] = &a
		e.byID[a.ID] = &a
		if a.State != yujing.StateResolved {
			e.conds[a.Key()] = &condition{level: a.Level, at: a.UpdatedAt}
		}
	}
	e.log.Info("open alerts restored", "count", len(as))
	return nil
}

// Observe evaluates every rule bound to the readings' sensors. Readings
// older than the newest one already evaluated for a rule are skipped.
func (e *Engine) Observe(ctx context.Context, rs []yujing.Reading) {
	var calls []yujing.Call
	e.mu.Lock()
	for i := range rs {
		rd := &rs[i]
		for _, b := range e.bySensor[rd.Sensor] {
			if b.metric != rd.Metric {
				continue
			}
			start := time.Now()
			calls = e.evaluate(ctx, b.rule, rd, calls)
			e.m.evalSeconds.Observe(time.Since(start).Seconds())
		}
	}
	e.mu.Unlock()
	e.dispatch(ctx, calls)
}

// ObserveDerived evaluates one rule on a value computed elsewhere (a
// scheduled rule's windowed aggregate, such as 3 h rainfall), with the same
// lifecycle as a reading: raise, upgrade, downgrade, resolve. rd.Sensor names
// the sensor (or group) the value belongs to; rd.Metric names the derived
// metric (e.g. "rain_sum_3h").
func (e *Engine) ObserveDerived(ctx context.Context, r *Rule, rd yujing.Reading) {
	e.mu.Lock()
	calls := e.evaluate(ctx, r, &rd, nil)
	e.mu.Unlock()
	e.dispatch(ctx, calls)
}

func (e *Engine) evaluate(ctx context.Context, r *Rule, rd *yujing.Reading, calls []yujing.Call) []yujing.Call {
	key := yujing.AlertKey(r.Name, rd.Sensor)
	c := e.conds[key]
	if c == nil {
		c = &condition{}
		e.conds[key] = c
	}
	if rd.Time.Before(c.at) {
		e.m.outOfOrder.Inc()
		return calls
	}
	c.at = rd.Time
	level, th := r.Evaluate(rd.Value, c.level)
	if level == c.level {
		return calls
	}
	prev := c.level
	a := e.open[key]
	now := e.now()
	var ev yujing.Event
	switch {
	case prev == yujing.LevelNone && a == nil:
		ev = yujing.EventRaised
	case prev == yujing.LevelNone:
		ev = yujing.EventReopened
	case level == yujing.LevelNone:
		ev = yujing.EventResolved
	case level > prev:
		ev = yujing.EventUpgraded
	default:
		ev = yujing.EventDowngraded
	}
	if a == nil {
		na := yujing.Alert{Rule: r.Name, Sensor: rd.Sensor, Site: rd.Site, Family: rd.Family, Metric: rd.Metric,
			Unit: rd.Unit, Level: level, State: yujing.StateFiring, Value: rd.Value, Threshold: th,
			StartedAt: now, UpdatedAt: now}
		na.Message = e.message(&na, r, ev)
		t := &yujing.Transition{At: now, Event: ev, ToLevel: level, ToState: yujing.StateFiring, Value: rd.Value, Actor: yujing.ActorSystem}
		if err := e.st.CreateAlert(ctx, &na, t); err != nil {
			e.m.storeErrors.Inc()
			e.log.Error("alert not saved; will retry on the next reading", "rule", r.Name, "sensor", rd.Sensor, "err", err)
			return calls
		}
		c.level = level
		e.open[key], e.byID[na.ID] = &na, &na
		e.m.transitions.WithLabelValues(string(ev), level.String()).Inc()
		e.log.Info("alert raised", "alert_id", na.ID, "rule", r.Name, "sensor", rd.Sensor, "level", level.String(), "value", rd.Value)
		e.change(na, *t)
		return e.callsFor(&na, t, calls)
	}
	next := *a
	next.UpdatedAt, next.Value = now, rd.Value
	switch ev {
	case yujing.EventResolved:
		next.State = yujing.StateResolved
		next.ResolvedAt = &now
	case yujing.EventReopened, yujing.EventUpgraded:
		next.Level, next.Threshold = level, th
		next.State = yujing.StateFiring
		next.ResolvedAt = nil
	case yujing.EventDowngraded:
		next.Level, next.Threshold = level, th
	}
	next.Message = e.message(&next, r, ev)
	t := &yujing.Transition{AlertID: a.ID, At: now, Event: ev, FromLevel: a.Level, ToLevel: next.Level,
		FromState: a.State, ToState: next.State, Value: rd.Value, Actor: yujing.ActorSystem}
	if err := e.st.UpdateAlert(ctx, next, t); err != nil {
		e.m.storeErrors.Inc()
		e.log.Error("alert change not saved; will retry on the next reading", "alert_id", a.ID, "event", ev, "err", err)
		return calls
	}
	c.level = level
	*a = next
	e.m.transitions.WithLabelValues(string(ev), next.Level.String()).Inc()
	e.log.Info("alert "+string(ev), "alert_id", a.ID, "rule", r.Name, "sensor", rd.Sensor, "level", next.Level.String(), "value", rd.Value)
	e.change(next, *t)
	return e.callsFor(a, t, calls)
}

func (e *Engine) callsFor(a *yujing.Alert, t *yujing.Transition, calls []yujing.Call) []yujing.Call {
	for _, r := range e.routes {
		if !r.matches(a.Level, t.Event) {
			continue
		}
		for _, p := range r.People {
			for _, ch := range r.Channels {
				calls = append(calls, yujing.Call{
					ID:    strconv.FormatInt(a.ID, 10) + "-" + strconv.FormatInt(t.ID, 10) + "-" + p.ID + "-" + ch,
					Alert: *a, Event: t.Event, Person: p, Channel: ch, Created: t.At,
				})
			}
		}
	}
	return calls
}

func (e *Engine) dispatch(ctx context.Context, calls []yujing.Call) {
	for _, c := range calls {
		if err := e.caller.Call(ctx, c); err != nil {
			e.m.callErrors.Inc()
			e.log.Error("call not queued", "call_id", c.ID, "alert_id", c.Alert.ID, "channel", c.Channel, "err", err)
		}
	}
}

// message writes the alert in Chinese, as duty rooms read it.
func (e *Engine) message(a *yujing.Alert, r *Rule, ev yujing.Event) string {
	site := a.Site
	if s, ok := e.cat.Site(a.Site); ok && s.Name != "" {
		site = s.Name
	}
	sensor := a.Sensor
	for _, s := range e.cat.Sensors() {
		if s.ID == a.Sensor && s.Name != "" {
			sensor = s.Name + "(" + s.ID + ")"
			break
		}
	}
	what := r.Description
	if what == "" {
		what = r.Name
	}
	val := strconv.FormatFloat(a.Value, 'f', -1, 64) + unitSuffix(a.Unit)
	th := strconv.FormatFloat(a.Threshold, 'f', -1, 64) + unitSuffix(a.Unit)
	var b strings.Builder
	fmt.Fprintf(&b, "【%s预警】%s %s %s：%s %s", a.Level.Chinese(), site, sensor, what, a.Metric, val)
	switch ev {
	case yujing.EventResolved:
		fmt.Fprintf(&b, "，已恢复到阈值以内（%s级阈值 %s）", a.Level.Chinese(), th)
	default:
		cmp := "达到"
		if r.Below.Set[a.Level] && a.Value <= r.Below.Value[a.Level] {
			cmp = "低于"
		}
		fmt.Fprintf(&b, "，%s%s阈值 %s", cmp, a.Level.Chinese(), th)
	}
	fmt.Fprintf(&b, "（%s）", a.UpdatedAt.In(e.loc).Format("2006-01-02 15:04:05"))
	return b.String()
}

func unitSuffix(u string) string {
	if u == "" {
		return ""
	}
	return " " + u
}

// List returns alerts from the state store.
func (e *Engine) List(ctx context.Context, f store.AlertFilter) ([]yujing.Alert, error) {
	return e.st.ListAlerts(ctx, f)
}

// Get returns an alert and its history.
func (e *Engine) Get(ctx context.Context, id int64) (yujing.Alert, []yujing.Transition, error) {
	return e.st.Alert(ctx, id)
}

// Ack records that somebody answered. A firing alert becomes acknowledged;
// a resolved one stays resolved but records who acknowledged it.
func (e *Engine) Ack(ctx context.Context, id int64, act Action) (yujing.Alert, error) {
	return e.act(ctx, id, act, yujing.EventAcknowledged, func(a *yujing.Alert, now time.Time) error {
		if a.AckedAt != nil {
			return fmt.Errorf("%w: alert %d was already acknowledged by %s at %s", ErrConflict, a.ID, a.AckedBy, a.AckedAt.Format(time.RFC3339))
		}
		a.AckedAt, a.AckedBy = &now, act.By
		if a.State == yujing.StateFiring {
			a.State = yujing.StateAcknowledged
		}
		return nil
	})
}

// Dispose records a disposal (处置). A firing or acknowledged alert moves to
// disposing; a resolved one stays resolved with the record added.
func (e *Engine) Dispose(ctx context.Context, id int64, act Action) (yujing.Alert, error) {
	if strings.TrimSpace(act.Note) == "" {
		return yujing.Alert{}, fmt.Errorf("%w: a disposal needs a note saying what was done", ErrInvalid)
	}
	return e.act(ctx, id, act, yujing.EventDisposed, func(a *yujing.Alert, now time.Time) error {
		if a.AckedAt == nil {
			a.AckedAt, a.AckedBy = &now, act.By
		}
		if a.State != yujing.StateResolved {
			a.State = yujing.StateDisposing
		}
		return nil
	})
}

// Close verifies and closes (核查销号) a resolved alert. It needs a reason
// and a note.
func (e *Engine) Close(ctx context.Context, id int64, act Action) (yujing.Alert, error) {
	if !yujing.ValidCloseReason(act.Reason) {
		return yujing.Alert{}, fmt.Errorf("%w: reason %q is not one of %v", ErrInvalid, act.Reason, yujing.CloseReasons)
	}
	if strings.TrimSpace(act.Note) == "" {
		return yujing.Alert{}, fmt.Errorf("%w: closing needs a note on how the warning was verified", ErrInvalid)
	}
	return e.act(ctx, id, act, yujing.EventClosed, func(a *yujing.Alert, now time.Time) error {
		if a.State != yujing.StateResolved {
			return fmt.Errorf("%w: alert %d is %s; it can be closed once its condition has cleared (state resolved)", ErrConflict, a.ID, a.State)
		}
		a.State = yujing.StateClosed
		a.ClosedAt = &now
		a.Reason = string(act.Reason)
		return nil
	})
}

func (e *Engine) act(ctx context.Context, id int64, act Action, ev yujing.Event, change func(a *yujing.Alert, now time.Time) error) (yujing.Alert, error) {
	if strings.TrimSpace(act.By) == "" {
		return yujing.Alert{}, fmt.Errorf("%w: say who is acting (\"by\")", ErrInvalid)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.byID[id]
	if !ok {
		old, _, err := e.st.Alert(ctx, id)
		if err != nil {
			return yujing.Alert{}, fmt.Errorf("alert %d: %w", id, err)
		}
		return yujing.Alert{}, fmt.Errorf("%w: alert %d is %s", ErrConflict, id, old.State)
	}
	now := e.now()
	next := *a
	if err := change(&next, now); err != nil {
		return yujing.Alert{}, err
	}
	next.UpdatedAt = now
	t := &yujing.Transition{AlertID: id, At: now, Event: ev, FromLevel: a.Level, ToLevel: next.Level,
		FromState: a.State, ToState: next.State, Value: a.Value, Actor: act.By, Note: act.Note, Reason: string(act.Reason)}
	if err := e.st.UpdateAlert(ctx, next, t); err != nil {
		return yujing.Alert{}, fmt.Errorf("alert %d: save %s: %w", id, ev, err)
	}
	*a = next
	if next.State == yujing.StateClosed {
		delete(e.open, a.Key())
		delete(e.byID, id)
	}
	e.m.transitions.WithLabelValues(string(ev), next.Level.String()).Inc()
	e.log.Info("alert "+string(ev), "alert_id", id, "by", act.By, "state", string(next.State))
	e.change(next, *t)
	return next, nil
}
