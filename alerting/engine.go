package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
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

// AttachmentStore keeps files attached to disposal records.
type AttachmentStore interface {
	AddAttachments(ctx context.Context, as []yujing.Attachment) error
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
	// Statuses tells sites' production statuses, for rules that apply
	// only while a site is, say, ordered to stop (when_status); nil: every
	// site is normal.
	Statuses SiteStatuses
	// OnChange is told of every saved transition, in order. It must not
	// block (the live stream drops to a resync for slow readers).
	OnChange func(a yujing.Alert, t yujing.Transition)
}

// SiteStatuses tells a site's production status (sitestatus.Board).
type SiteStatuses interface {
	Status(site string) yujing.ProductionStatus
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
	// Attachments (photos) go with a disposal record.
	Attachments []yujing.Attachment
}

// condKey identifies a condition: a rule and the sensor (or "site:<id>"
// for a composite rule) it is about.
type condKey struct{ rule, sensor string }

// condition is the state of one rule for one sensor (or, for composite
// rules, one site). It is kept small: the engine holds one per rule and
// sensor. Times are Unix nanoseconds, 0 for none.
type condition struct {
	rule         *Rule          // with the sensor's overrides applied
	sensor       *yujing.Sensor // the registry's; a synthetic one for a site or a derived value
	level        yujing.Level
	pending      yujing.Level
	derived      bool       // about a derived value: the metric is sensor.Metric
	evals        uint32     // readings evaluated (for the rule's health), under the condition's lock
	at           int64      // newest reading evaluated
	pendingSince int64      // first time the pending level was reached (for)
	clearSince   int64      // first time the condition was clear (clear_for)
	x            *condExtra // for, rate and stuck state, only for rules that use them
}

// condExtra is the state only some rules need.
type condExtra struct {
	pendingValue float64 // for: the value and threshold of the held level
	pendingTh    float64
	lastValue    float64 // stuck
	changedAt    int64
	hasValue     bool
	samples      []sample // rate: within the window, oldest first
}

// needsExtra reports whether a rule's conditions need a condExtra.
func needsExtra(r *Rule) bool {
	return r.For > 0 || r.kind() == KindRate || r.kind() == KindTangent || r.kind() == KindStuck
}

// metric is the metric the condition watches.
func (c *condition) metric() string {
	if c.derived || c.rule == nil || c.rule.Metric == "" {
		return c.sensor.Metric
	}
	return c.rule.Metric
}

// info is who a condition is about, as a reading.
func (c *condition) info() yujing.Reading {
	m := c.metric()
	return yujing.Reading{Sensor: c.sensor.ID, Site: c.sensor.Site, Family: c.sensor.Family, Metric: m, Unit: c.sensor.UnitOf(m)}
}

// sensorConds are the conditions of the rules bound to one sensor, with
// their lock. A lock per sensor: ingest hands each sensor to one worker, so
// each lock stays in the cache of the core that uses it, and sensors are
// evaluated in parallel on every core.
type sensorConds struct {
	mu    sync.Mutex
	conds []*condition
}

// work collects what evaluation produced: calls to make, and composite
// rules to count again once the evaluating lock is released.
type work struct {
	calls   []yujing.Call
	recount []recount
}

type recount struct {
	rule *Rule
	site string
	at   time.Time
}

// finish counts composite rules again until nothing changes, then makes
// the calls. Call it with mu held for reading and no other lock.
func (e *Engine) finish(ctx context.Context, w *work) []yujing.Call {
	for len(w.recount) > 0 {
		rc := w.recount[0]
		w.recount = w.recount[1:]
		e.gmu.Lock()
		e.composite(ctx, rc.rule, rc.site, rc.at, w)
		e.gmu.Unlock()
	}
	return w.calls
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

type sample struct {
	t int64
	v float64
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
	statuses SiteStatuses // nil: every site normal
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
		silStore: opts.Silences, inhibit: opts.Inhibit, overdue: opts.Overdue, statuses: opts.Statuses,
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

// Observe evaluates every rule bound to the readings' sensors. Readings
// older than the newest one already evaluated for a rule are skipped.
func (e *Engine) Observe(ctx context.Context, rs []yujing.Reading) {
	var w work
	e.mu.RLock()
	start := time.Now()
	for i := range rs {
		rd := &rs[i]
		sc := e.bySensor[rd.Sensor]
		if sc == nil {
			continue
		}
		sc.mu.Lock()
		for _, c := range sc.conds {
			if c.metric() != rd.Metric && c.rule.kind() != KindOffline {
				continue
			}
			e.evaluate(ctx, c, rd, &w)
		}
		sc.mu.Unlock()
	}
	if len(rs) > 0 {
		e.m.evalSeconds.Observe(time.Since(start).Seconds() / float64(len(rs)))
	}
	calls := e.finish(ctx, &w)
	e.mu.RUnlock()
	e.dispatch(ctx, calls)
}

// ObserveFault tells fault rules that a reading was refused as an
// instrument fault (超量程: outside the physical range).
func (e *Engine) ObserveFault(ctx context.Context, rd yujing.Reading, reason string) {
	var w work
	e.mu.RLock()
	if sc := e.bySensor[rd.Sensor]; sc != nil {
		sc.mu.Lock()
		for _, c := range sc.conds {
			if c.rule.kind() != KindFault || c.metric() != rd.Metric {
				continue
			}
			e.apply(ctx, c, c.rule.Level, 0, rd.Value, rd.Time, &w)
		}
		sc.mu.Unlock()
	}
	calls := e.finish(ctx, &w)
	e.mu.RUnlock()
	e.dispatch(ctx, calls)
}

// ObserveDerived evaluates one rule on a value computed elsewhere (a
// scheduled rule's windowed aggregate, such as 3 h rainfall), with the same
// lifecycle as a reading: raise, upgrade, downgrade, resolve. rd.Sensor names
// the sensor (or group) the value belongs to; rd.Metric names the derived
// metric (e.g. "rain_sum_3h").
func (e *Engine) ObserveDerived(ctx context.Context, r *Rule, rd yujing.Reading) {
	var w work
	e.mu.RLock()
	e.gmu.Lock()
	k := condKey{r.Name, rd.Sensor}
	c := e.groups[k]
	if c == nil {
		c = &condition{}
		e.groups[k] = c
	}
	if r.health == nil {
		r.health = &ruleHealth{}
	}
	c.rule, c.derived = r, true
	if c.sensor == nil || c.sensor.ID != rd.Sensor || c.sensor.Metric != rd.Metric {
		c.sensor = &yujing.Sensor{ID: rd.Sensor, Site: rd.Site, Family: rd.Family, Metric: rd.Metric, Unit: rd.Unit}
	}
	if needsExtra(r) && c.x == nil {
		c.x = &condExtra{}
	}
	e.evaluate(ctx, c, &rd, &w)
	e.gmu.Unlock()
	calls := e.finish(ctx, &w)
	e.mu.RUnlock()
	e.dispatch(ctx, calls)
}

// Tick evaluates what depends on time passing rather than on readings:
// sensors gone silent (offline rules) and raises held by for: whose hold
// has run out since the last reading. Run calls it periodically.
func (e *Engine) Tick(ctx context.Context, now time.Time) {
	var w work
	e.mu.RLock()
	for _, c := range e.offline {
		sh := &e.bySensor[c.sensor.ID].mu
		sh.Lock()
		last := c.at // an offline rule's condition sees every reading of its sensor
		if last == 0 {
			last = e.started.UnixNano()
		}
		interval := c.sensor.Interval
		if interval <= 0 {
			interval = time.Minute
		}
		after := c.rule.OfflineAfter
		if after <= 0 {
			after = 3
		}
		if now.UnixNano()-last > int64(after*float64(interval)) {
			e.apply(ctx, c, c.rule.Level, 0, 0, now, &w)
		}
		sh.Unlock()
	}
	held := func(c *condition) bool {
		return c.rule != nil && c.x != nil && c.pending > c.level && c.pendingSince != 0 && now.UnixNano()-c.pendingSince >= int64(c.rule.For)
	}
	for _, sc := range e.bySensor {
		sc.mu.Lock()
		for _, c := range sc.conds {
			if held(c) {
				e.apply(ctx, c, c.pending, c.x.pendingTh, c.x.pendingValue, now, &w)
			}
		}
		sc.mu.Unlock()
	}
	e.gmu.Lock()
	for _, c := range e.groups {
		if held(c) {
			e.apply(ctx, c, c.pending, c.x.pendingTh, c.x.pendingValue, now, &w)
		}
	}
	e.gmu.Unlock()
	e.flagOverdue(ctx, now, &w)
	calls := e.finish(ctx, &w)
	e.mu.RUnlock()
	e.dispatch(ctx, calls)
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

// evaluate works out the level a reading puts a rule's condition at.
func (e *Engine) evaluate(ctx context.Context, c *condition, rd *yujing.Reading, w *work) {
	r := c.rule
	t := rd.Time.UnixNano()
	c.evals++ // no shared counter on the hot path
	if t < c.at {
		e.m.outOfOrder.Inc()
		return
	}
	c.at = t
	var level yujing.Level
	var th, v float64 = 0, rd.Value
	switch r.kind() {
	case KindThreshold:
		level, th = r.Evaluate(rd.Value, c.level)
	case KindRate:
		rate, ok := c.rate(r, rd.Time, rd.Value)
		if !ok {
			return
		}
		v = rate
		level, th = r.Evaluate(rate, c.level)
	case KindTangent:
		rate, ok := c.rate(r, rd.Time, rd.Value)
		if !ok {
			return
		}
		v = TangentAngle(rate, r.UniformRate)
		level, th = r.Evaluate(v, c.level)
	case KindStuck:
		x := c.x
		if !x.hasValue || math.Abs(rd.Value-x.lastValue) > r.Tolerance {
			x.lastValue, x.changedAt, x.hasValue = rd.Value, t, true
		}
		if t-x.changedAt >= int64(r.StuckFor) {
			level = r.Level
		}
	case KindEvent:
		l, ok := r.EventLevel(rd.Value)
		if !ok {
			return
		}
		level = l
	case KindOffline, KindFault:
		// A reading is the sensor being there and in range: recovery.
		level = yujing.LevelNone
	default:
		return
	}
	if len(r.WhenStatus) > 0 && !slices.Contains(r.WhenStatus, e.siteStatus(c.sensor.Site)) {
		level = yujing.LevelNone // the rule does not apply to the site now
	}
	e.apply(ctx, c, level, th, v, rd.Time, w)
}

// siteStatus is site's production status now.
func (e *Engine) siteStatus(site string) yujing.ProductionStatus {
	if e.statuses == nil {
		return yujing.StatusNormal
	}
	return e.statuses.Status(site)
}

// rate adds a sample and returns the rate of change per RatePer over the
// window, once the samples span at least half of it.
func (c *condition) rate(r *Rule, at time.Time, v float64) (float64, bool) {
	t := at.UnixNano()
	x := c.x
	window, per := r.RateWindow, r.RatePer
	if window <= 0 {
		window = 5 * time.Minute
	}
	if per <= 0 {
		per = time.Minute
	}
	x.samples = append(x.samples, sample{t, v})
	drop := 0
	for drop < len(x.samples)-1 && t-x.samples[drop].t > int64(window) {
		drop++
	}
	if drop > 0 {
		x.samples = append(x.samples[:0], x.samples[drop:]...)
	}
	if len(x.samples) > 256 {
		x.samples = append(x.samples[:0], x.samples[len(x.samples)-256:]...)
	}
	first := x.samples[0]
	span := time.Duration(t - first.t)
	if span < window/2 || span <= 0 {
		return 0, false
	}
	return (v - first.v) / float64(span) * float64(per), true
}

// apply moves a condition to level, honouring for and clear_for, and turns
// the change into an alert transition.
func (e *Engine) apply(ctx context.Context, c *condition, level yujing.Level, th, v float64, at time.Time, w *work) {
	r := c.rule
	t := at.UnixNano()
	switch {
	case level > c.level:
		c.clearSince = 0
		if r.For > 0 {
			if c.pendingSince == 0 {
				c.pendingSince = t
			}
			if c.x == nil {
				c.x = &condExtra{}
			}
			if level >= c.pending {
				c.pending, c.x.pendingTh, c.x.pendingValue = level, th, v
			}
			if t-c.pendingSince < int64(r.For) {
				return
			}
			level, th, v = c.pending, c.x.pendingTh, c.x.pendingValue
		}
	case level < c.level:
		c.pendingSince, c.pending = 0, yujing.LevelNone
		if level == yujing.LevelNone && r.ClearFor > 0 {
			if c.clearSince == 0 {
				c.clearSince = t
			}
			if t-c.clearSince < int64(r.ClearFor) {
				return
			}
		}
	default:
		c.pendingSince, c.pending, c.clearSince = 0, yujing.LevelNone, 0
		return
	}
	c.pendingSince, c.pending, c.clearSince = 0, yujing.LevelNone, 0
	rd := c.info()
	rd.Value, rd.Time = v, at
	if r.kind() == KindTangent {
		rd.Unit = "°" // the value is the tangent angle, not a displacement
	}
	if !e.transition(ctx, r, c, level, th, &rd, w) {
		return
	}
	// Composite rules count this rule's conditions: once the evaluating lock
	// is released.
	for _, cr := range e.compos[r.Name] {
		w.recount = append(w.recount, recount{rule: cr, site: rd.Site, at: at})
	}
}

// flagOverdue marks the open alerts not closed within the time their level
// allows (督办), once each, and calls the routes that take event overdue.
func (e *Engine) flagOverdue(ctx context.Context, now time.Time, w *work) {
	e.amu.Lock()
	defer e.amu.Unlock()
	for _, a := range e.open {
		limit := e.overdue[a.Level]
		if a.OverdueAt != nil || limit <= 0 || a.State == yujing.StateClosed || now.Sub(a.StartedAt) < limit {
			continue
		}
		next := *a
		next.OverdueAt, next.Overdue, next.UpdatedAt = &now, true, now
		t := &yujing.Transition{AlertID: a.ID, At: now, Event: yujing.EventOverdue, FromLevel: a.Level, ToLevel: a.Level,
			FromState: a.State, ToState: a.State, Value: a.Value, Actor: yujing.ActorSystem,
			Note: fmt.Sprintf("未在%s内闭环（%s预警闭环时限），转入督办", durationZH(limit), levelShort(a.Level))}
		if err := e.st.UpdateAlert(ctx, next, t); err != nil {
			e.m.storeErrors.Inc()
			e.log.Error("overdue flag not saved; will retry on the next tick", "alert_id", a.ID, "err", err)
			continue
		}
		*a = next
		e.m.transitions.WithLabelValues(string(yujing.EventOverdue), a.Level.String()).Inc()
		e.log.Warn("alert overdue", "alert_id", a.ID, "level", a.Level.String(), "open_for", now.Sub(a.StartedAt).Round(time.Second))
		e.change(next, *t)
		w.calls = e.callsFor(a, t, w.calls)
	}
}

// count moves one condition of a rule at a site from one level to another
// in the counts composite rules read. Call with amu held.
func (e *Engine) count(rule, site string, from, to yujing.Level) {
	k := condKey{rule, site}
	n := e.counts[k]
	if n == nil {
		n = &[yujing.Red + 1]int32{}
		e.counts[k] = n
	}
	n[from]--
	n[to]++
}

// composite counts a composite rule's conditions at one site again. Call
// with gmu held.
func (e *Engine) composite(ctx context.Context, cr *Rule, site string, t time.Time, w *work) {
	held := 0
	e.amu.Lock()
	for _, ref := range cr.Of {
		n := 0
		if cnt := e.counts[condKey{ref.Rule, site}]; cnt != nil {
			for l := max(ref.Level, yujing.Blue); l <= yujing.Red; l++ {
				n += int(cnt[l])
			}
		}
		if len(cr.Of) == 1 {
			held = n // k of n sensors
		} else if n > 0 {
			held++ // k of the listed conditions
		}
	}
	e.amu.Unlock()
	k := cr.K
	if k <= 0 {
		k = len(cr.Of)
	}
	level := yujing.LevelNone
	if held >= k {
		level = cr.Level
	}
	ck := condKey{cr.Name, "site:" + site}
	c := e.groups[ck]
	if c == nil {
		c = &condition{sensor: &yujing.Sensor{ID: "site:" + site, Site: site, Metric: "conditions"}, derived: true}
		e.groups[ck] = c
	}
	if cr.health == nil {
		cr.health = &ruleHealth{}
	}
	c.rule = cr
	e.apply(ctx, c, level, float64(k), float64(held), t, w)
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

// message writes the alert in Chinese, as duty rooms read it: level, site
// and sensor by name, what the rule watches, and the value against the
// threshold — every comparison a true statement (a level held by its
// hysteresis says so, a downgrade names the threshold the value fell
// under).
func (e *Engine) message(a *yujing.Alert, r *Rule, ev yujing.Event) string {
	site := a.Site
	if s, ok := e.cat.Site(a.Site); ok && s.Name != "" {
		site = s.Name
	}
	sensor := a.Sensor
	if s, ok := e.cat.ByID(a.Sensor); ok && s.Name != "" {
		sensor = s.Name + "(" + s.ID + ")"
	}
	metric, _ := yujing.MetricName(a.Family, a.Metric)
	if metric == "" {
		metric = r.Description
	}
	if metric == "" {
		metric = a.Metric
	}
	val, th := number(a.Value)+unitSuffix(a.Unit), number(a.Threshold)+unitSuffix(a.Unit)
	var b strings.Builder
	fmt.Fprintf(&b, "【%s预警】%s %s", a.Level.Chinese(), site, sensor)
	if d := r.Description; d != "" && d != metric {
		b.WriteString(" " + d)
	}
	resolved := ev == yujing.EventResolved
	if status := e.siteStatus(a.Site); resolved && len(r.WhenStatus) > 0 && !slices.Contains(r.WhenStatus, status) {
		// Resolved because the rule no longer applies, not because the
		// value came back: say so.
		fmt.Fprintf(&b, "：该单位生产状态已变更为%s，本规则不再适用，预警解除（%s）", status.Chinese(), a.UpdatedAt.In(e.loc).Format("2006-01-02 15:04:05"))
		return b.String()
	}
	switch r.kind() {
	case KindOffline:
		if resolved {
			b.WriteString("：已恢复上报")
		} else {
			b.WriteString("：传感器离线，超过预期上报周期未收到数据")
		}
	case KindStuck:
		if resolved {
			b.WriteString("：数值已恢复变化")
		} else {
			fmt.Fprintf(&b, "：%s %s 长时间不变，疑似设备故障", metric, val)
		}
	case KindFault:
		if resolved {
			b.WriteString("：读数已恢复正常范围")
		} else {
			fmt.Fprintf(&b, "：%s读数 %s 超出量程，疑似设备故障", metric, val)
		}
	case KindEvent:
		if resolved {
			fmt.Fprintf(&b, "：%s，设备上报已恢复正常（%s=%s）", metric, a.Metric, number(a.Value))
		} else {
			fmt.Fprintf(&b, "：%s，设备上报报警状态（%s=%s）", metric, a.Metric, number(a.Value))
		}
	case KindComposite:
		if resolved {
			b.WriteString("：关联条件已不再同时满足")
		} else {
			fmt.Fprintf(&b, "：%s 个关联条件同时满足（需 %s 个）", number(a.Value), number(a.Threshold))
		}
	default:
		per := ""
		switch r.kind() {
		case KindRate:
			metric += "变化速率"
			per = "/" + ratePer(r)
			val, th = val+per, th+per
		case KindTangent:
			metric += "改进切线角"
		}
		b.WriteString("：")
		switch ev {
		case yujing.EventUpgraded:
			b.WriteString("预警升级，")
		case yujing.EventDowngraded:
			b.WriteString("预警降级，")
		case yujing.EventReopened:
			b.WriteString("再次触发，")
		}
		fmt.Fprintf(&b, "%s %s，", metric, val)
		b.WriteString(comparison(a, r, ev, th, func(v float64) string { return number(v) + unitSuffix(a.Unit) + per }))
	}
	if len(r.WhenStatus) > 0 {
		fmt.Fprintf(&b, "；该单位生产状态：%s", e.siteStatus(a.Site).Chinese())
	}
	fmt.Fprintf(&b, "（%s）", a.UpdatedAt.In(e.loc).Format("2006-01-02 15:04:05"))
	return b.String()
}

// comparison says how the alert's value stands to the thresholds of its
// level for event ev, truthfully: a raise reaches its threshold; a level
// held by its hysteresis or clear value (possible after a downgrade) is
// under its threshold but not yet past its clear value; a downgrade is
// under the threshold of the next level up; a resolution is past the
// level's threshold back. Below-thresholds (low level, low pressure) turn
// every statement round. th is the formatted threshold, q formats others.
func comparison(a *yujing.Alert, r *Rule, ev yujing.Event, th string, q func(float64) string) string {
	l := a.Level
	below := r.Below.Set[l] && r.Below.Value[l] == a.Threshold && !(r.Above.Set[l] && r.Above.Value[l] == a.Threshold)
	tiers, dir, under := &r.Above, 1.0, "低于"
	if below {
		tiers, dir, under = &r.Below, -1.0, "高于"
	}
	colour := levelShort(l)
	if ev == yujing.EventResolved {
		if below {
			return fmt.Sprintf("已回升到%s阈值 %s 以上，预警解除", colour, th)
		}
		return fmt.Sprintf("已回落到%s阈值 %s 以下，预警解除", colour, th)
	}
	var parts []string
	if ev == yujing.EventDowngraded {
		for up := l + 1; up <= yujing.Red; up++ {
			if tiers.Set[up] {
				parts = append(parts, fmt.Sprintf("已%s%s阈值 %s", under, levelShort(up), q(tiers.Value[up])))
				break
			}
		}
	}
	d := dir * (a.Value - a.Threshold)
	switch {
	case d >= 0:
		word := "达到"
		switch {
		case below && d > 0:
			word = "低于"
		case below:
			word = "降至"
		}
		if ev == yujing.EventDowngraded {
			word = "仍" + word
		}
		parts = append(parts, fmt.Sprintf("%s%s阈值 %s", word, colour, th))
	default: // held by the hysteresis or the clear value
		clear := a.Threshold - dir*r.Hysteresis
		if r.Clear.Set[l] {
			clear = r.Clear.Value[l]
		}
		if below {
			parts = append(parts, fmt.Sprintf("尚未回升到%s解除值 %s 以上", colour, q(clear)))
		} else {
			parts = append(parts, fmt.Sprintf("尚未回落到%s解除值 %s 以下", colour, q(clear)))
		}
	}
	return strings.Join(parts, "，")
}

// number formats a value with at most three decimals and no trailing
// zeros (a computed 39.800000000000004 is 39.8).
func number(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	r := math.Round(v*1000) / 1000
	if r == 0 {
		r = 0 // no "-0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// durationZH writes d in Chinese: 4小时, 30分钟, 1小时30分钟, 2天, 20秒.
func durationZH(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d秒", int(d.Round(time.Second)/time.Second))
	}
	d = d.Round(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	var b strings.Builder
	if days > 0 {
		fmt.Fprintf(&b, "%d天", days)
	}
	if hours > 0 {
		fmt.Fprintf(&b, "%d小时", hours)
	}
	if mins > 0 || b.Len() == 0 {
		fmt.Fprintf(&b, "%d分钟", mins)
	}
	return b.String()
}

func ratePer(r *Rule) string {
	if r.RatePer <= 0 || r.RatePer == time.Minute {
		return "分钟"
	}
	return durationZH(r.RatePer)
}

func unitSuffix(u string) string {
	switch u {
	case "":
		return ""
	case "°":
		return u // 82.3°
	}
	return " " + u
}

// List returns alerts from the state store.
func (e *Engine) List(ctx context.Context, f store.AlertFilter) ([]yujing.Alert, error) {
	as, err := e.st.ListAlerts(ctx, f)
	e.Decorate(as)
	return as, err
}

// Get returns an alert and its history.
func (e *Engine) Get(ctx context.Context, id int64) (yujing.Alert, []yujing.Transition, error) {
	a, h, err := e.st.Alert(ctx, id)
	if err == nil {
		as := []yujing.Alert{a}
		e.Decorate(as)
		a = as[0]
	}
	return a, h, err
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
	e.mu.RLock()
	defer e.mu.RUnlock()
	e.amu.Lock()
	defer e.amu.Unlock()
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
	if len(act.Attachments) > 0 {
		as, ok := e.st.(AttachmentStore)
		if !ok {
			return yujing.Alert{}, fmt.Errorf("%w: attachments are not kept here", ErrInvalid)
		}
		for i := range act.Attachments {
			act.Attachments[i].AlertID, act.Attachments[i].TransitionID, act.Attachments[i].CreatedBy = id, t.ID, act.By
			act.Attachments[i].CreatedAt = now
		}
		if err := as.AddAttachments(ctx, act.Attachments); err != nil {
			return yujing.Alert{}, fmt.Errorf("alert %d: the disposal was saved but its attachments were not: %w", id, err)
		}
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
