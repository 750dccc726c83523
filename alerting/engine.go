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
	"yujing/alerting/lifecycle"
	"yujing/internal/idindex"
	"yujing/store"
)

// Lifecycle is what the rule engine drives (lifecycle.Alerts): the open
// alerts, and the saving of each change the rules decide, which it then
// tells the live stream and call-and-answer.
type Lifecycle interface {
	Apply(ctx context.Context, key string, edit lifecycle.Edit) (lifecycle.Change, bool, error)
	Current(key string) (yujing.Alert, bool)
	Open() []yujing.Alert
	OpenByRule() map[string]int
	List(ctx context.Context, f store.AlertFilter) ([]yujing.Alert, error)
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
	// Overdue is how long an alert of each level may stay open before it is
	// flagged overdue (督办), a change the routes with event overdue call
	// people about. Zero: never.
	Overdue [yujing.Red + 1]time.Duration
	// Statuses tells sites' production statuses, for rules that apply
	// only while a site is, say, ordered to stop (when_status); nil: every
	// site is normal.
	Statuses SiteStatuses
	// Owns tells whether this node evaluates a site's sensors now: in a
	// cluster, whether it holds the site's partition (Adopt takes up the
	// sites it gains). Nil: every site.
	Owns func(site string) bool
}

// SiteStatuses tells a site's production status (sitestatus.Board).
type SiteStatuses interface {
	Status(site string) yujing.ProductionStatus
}

// Engine evaluates rules on readings and decides each alert's changes,
// which the lifecycle saves before anything is said about them.
type Engine struct {
	alerts Lifecycle
	cat    Catalog
	log    *slog.Logger
	now    func() time.Time
	loc    *time.Location
	m      *metrics

	// mu guards the structure (rules, bindings): bind and reload take it
	// exclusively, evaluation shares it. The conditions of a sensor are
	// guarded by that sensor's own lock (sensorConds.mu), so sensors are
	// evaluated in parallel on every core; site-level and derived conditions
	// by gmu; the level counts by cmu. Order: mu, then a sensor's lock or
	// gmu, then the lifecycle's lock (Apply), or cmu.
	mu       sync.RWMutex
	gmu      sync.Mutex
	cmu      sync.Mutex
	counts   map[condKey]*[yujing.Red + 1]int32 // (rule, site) → conditions at each level
	overdue  [yujing.Red + 1]time.Duration
	statuses SiteStatuses // nil: every site normal
	owns     func(site string) bool
	rules    []*Rule
	// sensors are the sensors rules are bound to, each with the
	// conditions of those rules; index finds them by id. A slice and an
	// index of places, not a map of pointers: a province has a million.
	sensors  []sensorConds
	index    idindex.Index
	offline  []*condition           // offline rules' conditions, checked on Tick
	compos   map[string][]*Rule     // rule name → composite rules counting it
	groups   map[condKey]*condition // conditions about a site (composite) or a derived value
	restored map[condKey]*condition // conditions of open alerts, until bind picks them up
	started  time.Time
}

// New builds an engine that drives alerts; call Restore (after the
// lifecycle's) before Observe.
func New(rules []*Rule, alerts Lifecycle, cat Catalog, opts Options) (*Engine, error) {
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
	if alerts == nil {
		return nil, errors.New("alerting: no lifecycle to drive")
	}
	e := &Engine{alerts: alerts, cat: cat, log: opts.Logger, now: opts.Now,
		loc: opts.Location, rules: rules, groups: map[condKey]*condition{}, restored: map[condKey]*condition{},
		counts: map[condKey]*[yujing.Red + 1]int32{}, overdue: opts.Overdue, statuses: opts.Statuses, owns: opts.Owns, started: opts.Now()}
	for _, r := range rules {
		r.health = &ruleHealth{}
	}
	e.m = newMetrics(opts.Registerer)
	e.bind()
	return e, nil
}

// Restore takes up the conditions of the lifecycle's open alerts, so that
// a restarted engine carries on with them instead of raising duplicates.
// Call it once, after the lifecycle's Restore.
func (e *Engine) Restore(ctx context.Context) error {
	as := e.alerts.Open()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cmu.Lock()
	defer e.cmu.Unlock()
	for i := range as {
		a := as[i]
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
			e.countLocked(a.Rule, a.Site, yujing.LevelNone, a.Level)
		}
	}
	e.bind()
	e.log.Info("conditions of open alerts restored", "count", len(as))
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

// List finds alerts in the lifecycle's record: the scheduler asks for a
// rule's open alerts, so that a rule with per-level windows knows the
// level each sensor is at (DerivedObserver).
func (e *Engine) List(ctx context.Context, f store.AlertFilter) ([]yujing.Alert, error) {
	return e.alerts.List(ctx, f)
}
