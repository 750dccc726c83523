package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yujing"
	"yujing/alerting/inhibit"
	"yujing/alerting/silence"
	"yujing/internal/idindex"
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

// SilenceStore keeps silences (package silence).
type SilenceStore = silence.Store

// Inhibit is an inhibition rule (package inhibit): alerts matching Target
// make no calls while an active alert matching Source exists with the same
// values of the Equal labels.
type Inhibit = inhibit.Rule

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
	// Order: mu, then a sensor's lock or gmu, then amu, then the silences'
	// own lock.
	mu        sync.RWMutex
	gmu       sync.Mutex
	amu       sync.Mutex
	counts    map[condKey]*[yujing.Red + 1]int32 // (rule, site) → conditions at each level
	silences  *silence.Silences                  // nil: silences are not kept
	inhibitor *inhibit.Inhibitor                 // guarded by amu
	overdue   [yujing.Red + 1]time.Duration
	statuses  SiteStatuses // nil: every site normal
	rules     []*Rule
	// sensors are the sensors rules are bound to, each with the
	// conditions of those rules; index finds them by id. A slice and an
	// index of places, not a map of pointers: a province has a million.
	sensors  []sensorConds
	index    idindex.Index
	offline  []*condition             // offline rules' conditions, checked on Tick
	compos   map[string][]*Rule       // rule name → composite rules counting it
	groups   map[condKey]*condition   // conditions about a site (composite) or a derived value
	restored map[condKey]*condition   // conditions of open alerts, until bind picks them up
	open     map[string]*yujing.Alert // alert key → open alert
	byID     map[int64]*yujing.Alert  // open alerts by id
	started  time.Time
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
		counts:    map[condKey]*[yujing.Red + 1]int32{},
		inhibitor: inhibit.New(opts.Inhibit, cat), overdue: opts.Overdue, statuses: opts.Statuses,
		open: map[string]*yujing.Alert{}, byID: map[int64]*yujing.Alert{}, started: opts.Now(), ids: ids}
	for _, r := range rules {
		r.health = &ruleHealth{}
	}
	if opts.Silences != nil {
		e.silences = silence.New(opts.Silences, opts.Location)
	}
	e.m = newMetrics(opts.Registerer, e)
	e.bind()
	return e, nil
}

// Restore loads the open alerts from the state store so that a restarted
// engine carries on with them instead of raising duplicates.
func (e *Engine) Restore(ctx context.Context) error {
	as, err := e.st.OpenAlerts(ctx)
	if err != nil {
		return fmt.Errorf("alerting: restore open alerts: %w", err)
	}
	if e.silences != nil {
		if err := e.silences.Load(ctx); err != nil {
			return fmt.Errorf("alerting: restore silences: %w", err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range as {
		a := as[i]
		e.open[a.Key()] = &a
		e.byID[a.ID] = &a
		if a.State != yujing.StateResolved {
			k := condKey{a.Rule, a.Sensor}
			c := &condition{s: &sensorConds{id: a.Sensor, about: &yujing.Sensor{Site: a.Site, Family: a.Family, Unit: a.Unit, Metric: a.Metric}}, level: a.Level}
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
