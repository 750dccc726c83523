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
