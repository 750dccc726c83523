package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yujing"
	"yujing/store"
)

// StateStore keeps alerts and their history durably.
//
// CallIDs names the calls: ids that begin with the database's instance id
// (the same after a restart, another for every new database), so that they
// are unique beyond one database yet the same when a call is made again.
type StateStore interface {
	CallIDs() store.CallIDs
	CreateAlert(ctx context.Context, a *yujing.Alert, t *yujing.Transition) error
	UpdateAlert(ctx context.Context, a yujing.Alert, t *yujing.Transition) error
	OpenAlerts(ctx context.Context) ([]yujing.Alert, error)
	ListAlerts(ctx context.Context, f store.AlertFilter) ([]yujing.Alert, error)
	Alert(ctx context.Context, id int64) (yujing.Alert, []yujing.Transition, error)
}

// SilenceStore keeps silences.
type SilenceStore interface {
	PutSilence(ctx context.Context, s *yujing.Silence) error
	ExpireSilence(ctx context.Context, id int64, at time.Time) error
	Silences(ctx context.Context) ([]yujing.Silence, error)
}

// Inhibit hides alerts matching Target from calls while an active alert
// matching Source exists with the same values of the Equal labels: e.g. a
// red at a site hides that site's lower warnings (Equal: site), an offline
// gateway hides its sensors' offline warnings (Equal: "sensor=tag:gateway",
// the source's sensor is the target sensor's gateway tag). Labels: site,
// sensor, family, rule, level, and tag:<name> (the sensor's tag).
type Inhibit struct {
	Source, Target yujing.Matchers
	Equal          []string
}

// Caller delivers calls to people (the notify stage).
type Caller interface {
	Call(ctx context.Context, c yujing.Call) error
}

// Catalog knows the sensors and sites.
type Catalog interface {
	Sensors() []yujing.Sensor
	ByID(id string) (*yujing.Sensor, bool)
	Site(id string) (yujing.Site, bool)
}

// Route says who is called, through which channels, for which levels and
// events. It is the skeleton of call-and-answer: every matching route calls
// every person on every channel it names.
type Route struct {
	Levels   []yujing.Level // empty means every level
	Events   []yujing.Event // empty means raised, reopened and upgraded
	People   []yujing.Person
	Channels []string // each person is called on every one of these
	// Ladder: each person is called on the first; if that channel fails for
	// good, on the next, and so on (e.g. dingtalk, sms, voice).
	Ladder []string
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
	// Silences keeps silences; nil means silences cannot be created.
	Silences SilenceStore
	// Inhibit lists the inhibition rules.
	Inhibit []Inhibit
	// Overdue is how long an alert of each level may stay open before it is
	// flagged overdue (督办) and the routes with event overdue are called.
	// Zero: never.
	Overdue [yujing.Red + 1]time.Duration
	// OnChange is told of every saved transition, in order. It must not
	// block (the live stream drops to a resync for slow readers).
	OnChange func(a yujing.Alert, t yujing.Transition)
}

// eachCondition calls f for every condition (with mu held exclusively).
func (e *Engine) eachCondition(f func(c *condition)) {
	for _, sc := range e.bySensor {
		for _, c := range sc.conds {
			f(c)
		}
	}
	for _, c := range e.groups {
		f(c)
	}
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
	ids    store.CallIDs // the state database's call naming

	// mu guards the structure (rules, routes, bindings): bind and reload take
	// it exclusively, evaluation shares it. The conditions of a sensor are
	// guarded by that sensor's own lock (sensorConds.mu), so sensors are
	// evaluated in parallel on every core; site-level and derived conditions
	// by gmu; open alerts, level counts and the saving of transitions by amu.
	// Order: mu, then a sensor's lock or gmu, then amu.
	mu       sync.RWMutex
	gmu      sync.Mutex
	amu      sync.Mutex
	counts   map[condKey]*[yujing.Red + 1]int32 // (rule, site) → conditions at each level
	silences []yujing.Silence                   // guarded by amu
	silStore SilenceStore
	inhibit  []Inhibit
	overdue  [yujing.Red + 1]time.Duration
	rules    []*Rule
	bySensor map[string]*sensorConds  // sensor → the conditions of the rules bound to it
	offline  []*condition             // offline rules' conditions, checked on Tick
	compos   map[string][]*Rule       // rule name → composite rules counting it
	groups   map[condKey]*condition   // conditions about a site (composite) or a derived value
	restored map[condKey]*condition   // conditions of open alerts, until bind picks them up
	open     map[string]*yujing.Alert // alert key → open alert
	byID     map[int64]*yujing.Alert  // open alerts by id
	started  time.Time
}

type ruleHealth struct {
	mu        sync.Mutex // guards lastErr and lastErrAt
	lastErr   string
	lastErrAt time.Time
}

// RuleStatus is a rule's definition summary and health.
type RuleStatus struct {
	Name        string         `json:"name"`
	Kind        Kind           `json:"kind"`
	Description string         `json:"description,omitempty"`
	Sensors     int            `json:"sensors"` // sensors it applies to now
	Evaluations int64          `json:"evaluations"`
	LastEval    *time.Time     `json:"last_evaluation,omitempty"`
	Health      string         `json:"health"` // ok, or err when its last transition could not be saved
	LastError   string         `json:"last_error,omitempty"`
	LastErrorAt *time.Time     `json:"last_error_at,omitempty"`
	Open        int            `json:"open_alerts"`
	Levels      []yujing.Level `json:"levels,omitempty"` // tiers it can raise
	// Above and Below are a threshold rule's tiers by level name (a
	// sensor's overrides aside), for charts.
	Above    map[string]float64 `json:"above,omitempty"`
	Below    map[string]float64 `json:"below,omitempty"`
	Schedule string             `json:"schedule,omitempty"` // scheduled rules: the cron spec
	NextRun  *time.Time         `json:"next_run,omitempty"`
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
	ids := st.CallIDs()
	if ids.Instance == "" {
		return nil, errors.New("alerting: the state store has no instance id (call ids begin with it)")
	}
	e := &Engine{st: st, caller: caller, cat: cat, routes: routes, log: opts.Logger, now: opts.Now, change: opts.OnChange,
		loc: opts.Location, rules: rules, groups: map[condKey]*condition{}, restored: map[condKey]*condition{},
		counts:   map[condKey]*[yujing.Red + 1]int32{},
		silStore: opts.Silences, inhibit: opts.Inhibit, overdue: opts.Overdue,
		open: map[string]*yujing.Alert{}, byID: map[int64]*yujing.Alert{}, started: opts.Now(), ids: ids}
	for _, r := range rules {
		r.health = &ruleHealth{}
	}
	e.m = newMetrics(opts.Registerer, e)
	e.bind()
	return e, nil
}

// bind works out which rules apply to which sensors, keeping the
// conditions of pairs that remain.
func (e *Engine) bind() {
	old := e.bySensor
	e.bySensor = map[string]*sensorConds{}
	e.offline = nil
	e.compos = map[string][]*Rule{}
	for _, r := range e.rules {
		for _, ref := range r.Of {
			e.compos[ref.Rule] = append(e.compos[ref.Rule], r)
		}
	}
	for _, s := range e.cat.Sensors() {
		sp, ok := e.cat.ByID(s.ID)
		if !ok {
			continue
		}
		site, _ := e.cat.Site(s.Site)
		for _, r := range e.rules {
			if r.kind() == KindComposite {
				continue
			}
			applies := slices.Contains(r.Sensors, s.ID) || (len(r.Sensors) == 0 && r.Match.Matches(sp, site))
			if !applies {
				continue
			}
			// A restored open alert's condition wins over a fresh one.
			k := condKey{r.Name, s.ID}
			c := e.restored[k]
			if c != nil {
				delete(e.restored, k)
			} else {
				var olds []*condition
				if sc := old[s.ID]; sc != nil {
					olds = sc.conds
				}
				for _, oc := range olds {
					if oc.rule.Name == r.Name {
						c = oc
					}
				}
			}
			if c == nil {
				c = &condition{}
			}
			c.rule, c.sensor = r.forSensor(s.ID), sp
			if needsExtra(r) && c.x == nil {
				c.x = &condExtra{}
			}
			if r.kind() == KindOffline {
				e.offline = append(e.offline, c)
			}
			sc := e.bySensor[s.ID]
			if sc == nil {
				sc = &sensorConds{}
				e.bySensor[s.ID] = sc
			}
			sc.conds = append(sc.conds, c)
		}
	}
}

func (e *Engine) ruleFailed(r *Rule, err error) {
	if h := r.health; h != nil {
		h.mu.Lock()
		h.lastErr, h.lastErrAt = err.Error(), e.now()
		h.mu.Unlock()
	}
}

// RuleStatuses reports every rule with its health. A rule is unhealthy
// while its last attempt to save a transition failed; it keeps being
// evaluated, as do all others.
func (e *Engine) RuleStatuses() []RuleStatus {
	e.mu.RLock()
	defer e.mu.RUnlock()
	bound := map[string]int{}
	evals := map[string]int64{}
	last := map[string]int64{}
	for _, sc := range e.bySensor {
		sc.mu.Lock()
		for _, c := range sc.conds {
			bound[c.rule.Name]++
			evals[c.rule.Name] += int64(c.evals)
			last[c.rule.Name] = max(last[c.rule.Name], c.at)
		}
		sc.mu.Unlock()
	}
	e.gmu.Lock()
	for _, c := range e.groups {
		if c.rule != nil {
			evals[c.rule.Name] += int64(c.evals)
			last[c.rule.Name] = max(last[c.rule.Name], c.at)
		}
	}
	e.gmu.Unlock()
	open := map[string]int{}
	e.amu.Lock()
	for _, a := range e.open {
		open[a.Rule]++
	}
	e.amu.Unlock()
	out := make([]RuleStatus, 0, len(e.rules))
	for _, r := range e.rules {
		st := RuleStatus{Name: r.Name, Kind: r.kind(), Description: r.Description, Sensors: bound[r.Name],
			Health: "ok", Open: open[r.Name]}
		for _, l := range yujing.Levels {
			if r.Above.Set[l] || r.Below.Set[l] || r.Level == l {
				st.Levels = append(st.Levels, l)
			}
			if r.Above.Set[l] {
				if st.Above == nil {
					st.Above = map[string]float64{}
				}
				st.Above[l.String()] = r.Above.Value[l]
			}
			if r.Below.Set[l] {
				if st.Below == nil {
					st.Below = map[string]float64{}
				}
				st.Below[l.String()] = r.Below.Value[l]
			}
		}
		st.Evaluations = evals[r.Name]
		lastEval := time.Unix(0, last[r.Name])
		if last[r.Name] != 0 {
			st.LastEval = &lastEval
		}
		if h := r.health; h != nil {
			h.mu.Lock()
			if h.lastErr != "" && !h.lastErrAt.Before(lastEval) {
				st.Health = "err"
			}
			if h.lastErr != "" {
				t := h.lastErrAt
				st.LastError, st.LastErrorAt = h.lastErr, &t
			}
			h.mu.Unlock()
		}
		out = append(out, st)
	}
	return out
}

// SetRules replaces the rules and routes (a reload). Every rule is checked
// first; on any problem nothing changes. Rules whose definition did not
// change keep their state (holds, rate samples); changed ones keep their
// current level, so open alerts carry on, but start their holds afresh.
func (e *Engine) SetRules(rules []*Rule, routes []Route, inhibit ...Inhibit) error {
	seen := map[string]bool{}
	var errs []error
	for _, r := range rules {
		if seen[r.Name] {
			errs = append(errs, fmt.Errorf("rule %q defined twice", r.Name))
		}
		seen[r.Name] = true
		if err := r.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("rule %q: %w", r.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("alerting: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	old := map[string]*Rule{}
	for _, r := range e.rules {
		old[r.Name] = r
	}
	changed := map[string]bool{}
	for _, r := range rules {
		o, ok := old[r.Name]
		if ok {
			h := o.health
			o.health = nil
			same := reflect.DeepEqual(o, r)
			o.health = h
			r.health = h // the rule's health carries on
			if same {
				continue
			}
		} else {
			r.health = &ruleHealth{}
		}
		changed[r.Name] = true
	}
	e.eachCondition(func(c *condition) {
		if c.rule != nil && changed[c.rule.Name] {
			c.pending, c.pendingSince, c.clearSince = yujing.LevelNone, 0, 0
			if c.x != nil {
				c.x = &condExtra{}
			}
		}
	})
	e.rules, e.routes = rules, routes
	e.amu.Lock()
	e.inhibit = inhibit
	e.amu.Unlock()
	e.bind()
	e.log.Info("rules replaced", "rules", len(rules), "changed", len(changed))
	return nil
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
	e.mu.RLock()
	defer e.mu.RUnlock()
	return slices.Clone(e.rules)
}

// Restore loads the open alerts from the state store so that a restarted
// engine carries on with them instead of raising duplicates.
func (e *Engine) Restore(ctx context.Context) error {
	as, err := e.st.OpenAlerts(ctx)
	if err != nil {
		return fmt.Errorf("alerting: restore open alerts: %w", err)
	}
	if e.silStore != nil {
		sl, err := e.silStore.Silences(ctx)
		if err != nil {
			return fmt.Errorf("alerting: restore silences: %w", err)
		}
		e.amu.Lock()
		e.silences = sl
		e.amu.Unlock()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range as {
		a := as[i]
		e.open[a.Key()] = &a
		e.byID[a.ID] = &a
		if a.State != yujing.StateResolved {
			k := condKey{a.Rule, a.Sensor}
			c := &condition{sensor: &yujing.Sensor{ID: a.Sensor, Site: a.Site, Family: a.Family, Unit: a.Unit, Metric: a.Metric}, level: a.Level}
			group := strings.HasPrefix(a.Sensor, "site:")
			for _, r := range e.rules {
				if r.Name == a.Rule && r.kind() == KindComposite {
					c.rule, group = r, true
				}
			}
			if _, known := e.cat.ByID(a.Sensor); !known {
				group = true // a derived value's or a site's condition
				c.derived = !strings.HasPrefix(a.Sensor, "site:")
			}
			if group {
				e.groups[k] = c
			} else {
				e.restored[k] = c
			}
			e.count(a.Rule, a.Site, yujing.LevelNone, a.Level)
		}
	}
	e.bind()
	e.log.Info("open alerts restored", "count", len(as))
	return nil
}

// Run calls Tick every interval until ctx ends.
func (e *Engine) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.Tick(ctx, e.now())
		}
	}
}

// transition saves the alert change for a condition moving from its level
// to level, and returns the calls it makes.
func (e *Engine) transition(ctx context.Context, r *Rule, c *condition, level yujing.Level, th float64, rd *yujing.Reading, w *work) bool {
	e.amu.Lock()
	defer e.amu.Unlock()
	key := yujing.AlertKey(r.Name, c.sensor.ID)
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
			e.ruleFailed(r, err)
			e.log.Error("alert not saved; will retry on the next reading", "rule", r.Name, "sensor", rd.Sensor, "err", err)
			return false
		}
		e.count(r.Name, c.sensor.Site, c.level, level)
		c.level = level
		e.open[key], e.byID[na.ID] = &na, &na
		e.m.transitions.WithLabelValues(string(ev), level.String()).Inc()
		e.log.Info("alert raised", "alert_id", na.ID, "rule", r.Name, "sensor", rd.Sensor, "level", level.String(), "value", rd.Value)
		e.change(na, *t)
		w.calls = e.callsFor(&na, t, w.calls)
		return true
	}
	next := *a
	next.UpdatedAt, next.Value = now, rd.Value
	if ev != yujing.EventResolved {
		// A per-level scheduled rule judges each level on its own window.
		next.Metric, next.Unit = rd.Metric, rd.Unit
	}
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
		e.ruleFailed(r, err)
		e.log.Error("alert change not saved; will retry on the next reading", "alert_id", a.ID, "event", ev, "err", err)
		return false
	}
	e.count(r.Name, c.sensor.Site, c.level, level)
	c.level = level
	*a = next
	e.m.transitions.WithLabelValues(string(ev), next.Level.String()).Inc()
	e.log.Info("alert "+string(ev), "alert_id", a.ID, "rule", r.Name, "sensor", rd.Sensor, "level", next.Level.String(), "value", rd.Value)
	e.change(next, *t)
	w.calls = e.callsFor(a, t, w.calls)
	return true
}

func (e *Engine) callsFor(a *yujing.Alert, t *yujing.Transition, calls []yujing.Call) []yujing.Call {
	if id, ok := e.silencedLocked(a, t.At); ok {
		e.m.suppressed.WithLabelValues("silence").Inc()
		e.log.Info("calls suppressed by a silence", "alert_id", a.ID, "event", t.Event, "silence_id", id)
		return calls
	}
	if src, ok := e.inhibitedLocked(a); ok {
		e.m.suppressed.WithLabelValues("inhibit").Inc()
		e.log.Info("calls suppressed by inhibition", "alert_id", a.ID, "event", t.Event, "by_alert", src)
		return calls
	}
	// A call's id says what it is — <instance>-<alert>-<transition>-
	// <person>-<channel>, e.g. k7f3q2mzab-12-34-zhang-sms — so the same
	// call made again (RecoverCalls) has the same id.
	for _, r := range e.routes {
		if !r.matches(a.Level, t.Event) {
			continue
		}
		for _, p := range r.People {
			for _, ch := range r.Channels {
				calls = append(calls, yujing.Call{
					ID:    e.ids.Route(a.ID, t.ID, p.ID, ch),
					Alert: *a, Event: t.Event, Person: p, Channel: ch, Created: t.At,
				})
			}
			if len(r.Ladder) > 0 {
				calls = append(calls, yujing.Call{
					ID:    e.ids.Route(a.ID, t.ID, p.ID, r.Ladder[0]),
					Alert: *a, Event: t.Event, Person: p, Channel: r.Ladder[0], Created: t.At, Fallback: r.Ladder[1:],
				})
			}
		}
	}
	return calls
}

// silencedLocked returns the active silence matching a (amu held).
func (e *Engine) silencedLocked(a *yujing.Alert, at time.Time) (int64, bool) {
	for i := range e.silences {
		s := &e.silences[i]
		if s.Active(at, e.loc) && s.Matchers.Match(a) {
			return s.ID, true
		}
	}
	return 0, false
}

// label is a value an inhibition rule compares.
func (e *Engine) label(a *yujing.Alert, name string) string {
	switch name {
	case "site":
		return a.Site
	case "sensor":
		return a.Sensor
	case "family":
		return string(a.Family)
	case "rule":
		return a.Rule
	case "level":
		return a.Level.String()
	}
	if tag, ok := strings.CutPrefix(name, "tag:"); ok {
		if s, ok := e.cat.ByID(a.Sensor); ok {
			return s.Tags[tag]
		}
	}
	return ""
}

// inhibitedLocked returns the id of an active alert that inhibits a (amu
// held).
func (e *Engine) inhibitedLocked(a *yujing.Alert) (int64, bool) {
	for _, in := range e.inhibit {
		if !in.Target.Match(a) {
			continue
		}
		for _, b := range e.open {
			if b.ID == a.ID || b.State == yujing.StateResolved || !in.Source.Match(b) {
				continue
			}
			same := true
			for _, eq := range in.Equal {
				src, dst, ok := strings.Cut(eq, "=")
				if !ok {
					dst = src
				}
				if v := e.label(b, src); v == "" || v != e.label(a, dst) {
					same = false
					break
				}
			}
			if same {
				return b.ID, true
			}
		}
	}
	return 0, false
}

// SilenceStatus is a silence and whether it is in force now.
type SilenceStatus struct {
	yujing.Silence
	Active bool `json:"active"`
}

// Silences lists the silences, newest first.
func (e *Engine) Silences() []SilenceStatus {
	e.amu.Lock()
	defer e.amu.Unlock()
	now := e.now()
	out := make([]SilenceStatus, 0, len(e.silences))
	for i := len(e.silences) - 1; i >= 0; i-- {
		s := e.silences[i]
		out = append(out, SilenceStatus{Silence: s, Active: s.Active(now, e.loc)})
	}
	return out
}

// CreateSilence checks and saves a silence.
func (e *Engine) CreateSilence(ctx context.Context, s yujing.Silence) (yujing.Silence, error) {
	if e.silStore == nil {
		return s, fmt.Errorf("%w: silences are not kept here", ErrInvalid)
	}
	var errs []string
	m := s.Matchers
	if m.Site == "" && m.Sensor == "" && m.Family == "" && m.Rule == "" && len(m.Levels) == 0 {
		errs = append(errs, "matchers: give at least one of site, sensor, family, rule, levels (a silence of everything is refused)")
	}
	if strings.TrimSpace(s.CreatedBy) == "" {
		errs = append(errs, "created_by: say who silences")
	}
	if strings.TrimSpace(s.Comment) == "" {
		errs = append(errs, "comment: say why (maintenance, calibration, ...)")
	}
	now := e.now()
	if s.StartsAt.IsZero() {
		s.StartsAt = now
	}
	if !s.EndsAt.After(s.StartsAt) {
		errs = append(errs, "ends_at: must be after starts_at")
	}
	if w := s.Window; w != nil {
		for _, hm := range []string{w.Start, w.End} {
			if _, err := time.Parse("15:04", hm); err != nil {
				errs = append(errs, fmt.Sprintf("window: %q is not HH:MM", hm))
			}
		}
	}
	if len(errs) > 0 {
		return s, fmt.Errorf("%w: %s", ErrInvalid, strings.Join(errs, "; "))
	}
	s.CreatedAt, s.ExpiredAt, s.ID = now, nil, 0
	if err := e.silStore.PutSilence(ctx, &s); err != nil {
		return s, err
	}
	e.amu.Lock()
	e.silences = append(e.silences, s)
	e.amu.Unlock()
	e.log.Info("silence created", "silence_id", s.ID, "by", s.CreatedBy, "ends_at", s.EndsAt)
	return s, nil
}

// ExpireSilence ends a silence now.
func (e *Engine) ExpireSilence(ctx context.Context, id int64, by string) error {
	if e.silStore == nil {
		return fmt.Errorf("%w: silences are not kept here", ErrInvalid)
	}
	now := e.now()
	if err := e.silStore.ExpireSilence(ctx, id, now); err != nil {
		return err
	}
	e.amu.Lock()
	for i := range e.silences {
		if e.silences[i].ID == id {
			e.silences[i].ExpiredAt = &now
		}
	}
	e.amu.Unlock()
	e.log.Info("silence expired", "silence_id", id, "by", by)
	return nil
}

// Decorate marks alerts that a silence or an inhibition keeps from calls.
func (e *Engine) Decorate(as []yujing.Alert) {
	e.amu.Lock()
	defer e.amu.Unlock()
	now := e.now()
	for i := range as {
		a := &as[i]
		if a.State == yujing.StateClosed {
			continue
		}
		if _, ok := e.silencedLocked(a, now); ok {
			a.Silenced = true
		} else if _, ok := e.inhibitedLocked(a); ok {
			a.Inhibited = true
		}
	}
}

// RecoverCalls makes again the calls of each open alert's latest change,
// when that change is at most window old: a crash between saving a change
// and recording its calls in the outbox would otherwise lose them. Every
// call's id is derived from the alert, the change, the person and the
// channel, and the outbox records a call once by its id, so a call made
// before the crash is not made again; only a missing one is. Call it once
// after Restore, with the outbox ready. It returns how many calls it handed
// on (the outbox drops those it already has).
func (e *Engine) RecoverCalls(ctx context.Context, window time.Duration) (int, error) {
	as, err := e.st.OpenAlerts(ctx)
	if err != nil {
		return 0, fmt.Errorf("alerting: recover calls: %w", err)
	}
	now := e.now()
	var calls []yujing.Call
	for i := range as {
		a := as[i]
		if now.Sub(a.UpdatedAt) > window {
			continue
		}
		_, hist, err := e.st.Alert(ctx, a.ID)
		if err != nil {
			return 0, fmt.Errorf("alerting: recover calls of alert %d: %w", a.ID, err)
		}
		if len(hist) == 0 {
			continue
		}
		t := hist[len(hist)-1]
		if now.Sub(t.At) > window {
			continue
		}
		e.mu.RLock()
		e.amu.Lock()
		calls = e.callsFor(&a, &t, calls)
		e.amu.Unlock()
		e.mu.RUnlock()
	}
	e.dispatch(ctx, calls)
	return len(calls), nil
}

func (e *Engine) dispatch(ctx context.Context, calls []yujing.Call) {
	for _, c := range calls {
		if err := e.caller.Call(ctx, c); err != nil {
			e.m.callErrors.Inc()
			e.log.Error("call not queued", "call_id", c.ID, "alert_id", c.Alert.ID, "channel", c.Channel, "err", err)
		}
	}
}
