package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"yujing"
	"yujing/internal/cronspec"
	"yujing/store"
)

// Aggregator computes a windowed aggregate of stored readings for many
// sensors in one store query: fn over the readings of metric with from <=
// time < to, for each of sensors. A sensor is in the answer when its window
// holds data (for store.FuncRate: two readings at different times); an
// empty window leaves it out. store/sqlite.Readings and
// store/influx.Writer are Aggregators.
type Aggregator interface {
	AggregateBySensor(ctx context.Context, metric string, fn store.Func, from, to time.Time, sensors []string) (map[string]float64, error)
}

// DerivedObserver carries the values scheduled rules compute through the
// alert lifecycle. *Engine is one.
type DerivedObserver interface {
	ObserveDerived(ctx context.Context, r *Rule, rd yujing.Reading)
	// List finds a rule's open alerts, so that a rule with per-level
	// windows knows the level each sensor is at (also after a restart,
	// and when another node ran the last tick).
	List(ctx context.Context, f store.AlertFilter) ([]yujing.Alert, error)
}

// Clock tells the time and waits for it. The scheduler takes one so that
// tests can drive it with a fake; SystemClock is the real one.
type Clock interface {
	Now() time.Time
	// After sends the time on the returned channel once d has passed.
	After(d time.Duration) <-chan time.Time
}

// SystemClock returns the machine's clock.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Health of a scheduled rule.
const (
	HealthUnknown = "unknown" // not evaluated yet
	HealthOK      = "ok"      // the last evaluation had no error
	HealthErr     = "err"     // the last evaluation had an error
)

// RuleHealth is how a scheduled rule is doing.
type RuleHealth struct {
	Rule     string
	Schedule string
	Health   string // HealthUnknown, HealthOK or HealthErr
	// LastRun is the scheduled instant of the last evaluation (the end of
	// its windows); LastDuration how long it took.
	LastRun      time.Time
	LastDuration time.Duration
	// LastError is the last evaluation's first error ("" when none),
	// naming the rule and the sensors its query was for, with how many
	// more queries failed.
	LastError string
	NextRun   time.Time
	// Runs, Errors (evaluations with an error) and Missed (ticks skipped
	// because an evaluation ran past them) since start.
	Runs, Errors, Missed uint64
	// Sensors is how many sensors the last evaluation selected; NoData how
	// many of them had an empty window.
	Sensors, NoData int
}

// SchedulerOptions are the scheduler's collaborators.
type SchedulerOptions struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Clock      Clock // default SystemClock()
	// Location is the time zone of cron specs without CRON_TZ= (default
	// Asia/Shanghai, else UTC).
	Location *time.Location
	// QueryTimeout bounds each aggregate query (default 30s).
	QueryTimeout time.Duration
}

// Scheduler runs scheduled rules: each on its own fixed slots, so a slow
// or failing rule delays no other. It is safe for concurrent use.
type Scheduler struct {
	mu      sync.Mutex // guards rules
	rules   []*scheduled
	loc     *time.Location
	restart chan struct{} // SetRules asks Run to start the loops again
	agg     Aggregator
	obs     DerivedObserver
	cat     Catalog
	clock   Clock
	log     *slog.Logger
	timeout time.Duration
	m       *scheduleMetrics
}

type scheduled struct {
	rule  *ScheduledRule
	sched cron.Schedule

	mu     sync.Mutex
	health RuleHealth
}

type scheduleMetrics struct {
	runs, errors, missed *prometheus.CounterVec
	seconds              prometheus.Histogram
}

// NewScheduler checks the rules and builds a scheduler; Run starts it.
func NewScheduler(rules []*ScheduledRule, agg Aggregator, obs DerivedObserver, cat Catalog, opts SchedulerOptions) (*Scheduler, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock()
	}
	if opts.Location == nil {
		if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
			opts.Location = loc
		} else {
			opts.Location = time.UTC
		}
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 30 * time.Second
	}
	s := &Scheduler{agg: agg, obs: obs, cat: cat, clock: opts.Clock, log: opts.Logger, timeout: opts.QueryTimeout,
		loc: opts.Location, restart: make(chan struct{}, 1)}
	var err error
	if s.rules, err = compileScheduled(rules, opts.Location); err != nil {
		return nil, err
	}
	if len(rules) > 0 && (agg == nil || obs == nil || cat == nil) {
		return nil, errors.New("alerting: a scheduler with rules needs an aggregator, an observer and a catalog")
	}
	s.m = &scheduleMetrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_rule_schedule_runs_total", Help: "Evaluations of scheduled rules."}, []string{"rule"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_rule_schedule_errors_total", Help: "Evaluations of scheduled rules in which a query failed."}, []string{"rule"}),
		missed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_rule_schedule_missed_total", Help: "Ticks of scheduled rules skipped because an evaluation ran past them."}, []string{"rule"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "yujing_rule_schedule_seconds", Help: "Time to evaluate one scheduled rule for all its sensors.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}),
	}
	for _, r := range s.rules {
		s.m.runs.WithLabelValues(r.rule.Rule.Name)
		s.m.errors.WithLabelValues(r.rule.Rule.Name)
		s.m.missed.WithLabelValues(r.rule.Rule.Name)
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{s.m.runs, s.m.errors, s.m.missed, s.m.seconds} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("alerting: scheduler metrics: %w", err)
			}
		}
	}
	return s, nil
}

// Rules returns the scheduled rules.
func (s *Scheduler) Rules() []*ScheduledRule {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*ScheduledRule, len(s.rules))
	for i, r := range s.rules {
		out[i] = r.rule
	}
	return out
}

// Health returns each rule's health, in the order the rules were given.
func (s *Scheduler) Health() []RuleHealth {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RuleHealth, len(s.rules))
	for i, r := range s.rules {
		r.mu.Lock()
		out[i] = r.health
		r.mu.Unlock()
	}
	return out
}

// Run evaluates every rule at its ticks until ctx ends, then returns once
// no evaluation is running.
func (s *Scheduler) Run(ctx context.Context) {
	for {
		s.mu.Lock()
		rules := s.rules
		s.mu.Unlock()
		if len(rules) > 0 {
			s.log.Info("scheduled rules started", "count", len(rules))
		}
		rctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, r := range rules {
			wg.Go(func() { s.loop(rctx, r) })
		}
		select {
		case <-ctx.Done():
			cancel()
			wg.Wait()
			return
		case <-s.restart:
			cancel()
			wg.Wait()
		}
	}
}

// compileScheduled checks scheduled rules and parses their schedules.
func compileScheduled(rules []*ScheduledRule, loc *time.Location) ([]*scheduled, error) {
	var out []*scheduled
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.Rule.Name] {
			return nil, fmt.Errorf("alerting: scheduled rule %q defined twice", r.Rule.Name)
		}
		seen[r.Rule.Name] = true
		if err := r.Validate(loc); err != nil {
			return nil, fmt.Errorf("alerting: scheduled rule %q: %w", r.Rule.Name, err)
		}
		sched, _ := cronspec.Parse(r.Schedule, loc)
		out = append(out, &scheduled{rule: r, sched: sched,
			health: RuleHealth{Rule: r.Rule.Name, Schedule: r.Schedule, Health: HealthUnknown}})
	}
	return out, nil
}

// SetRules replaces the scheduled rules (a reload). Everything is checked
// first; on error nothing changes. Rules whose definition is unchanged keep
// their health; the loops start again on the new set.
func (s *Scheduler) SetRules(rules []*ScheduledRule) error {
	next, err := compileScheduled(rules, s.loc)
	if err != nil {
		return err
	}
	if len(next) > 0 && (s.agg == nil || s.obs == nil || s.cat == nil) {
		return errors.New("alerting: scheduled rules need a reading store that answers windowed queries")
	}
	s.mu.Lock()
	old := map[string]*scheduled{}
	for _, r := range s.rules {
		old[r.rule.Rule.Name] = r
	}
	for i, r := range next {
		if o, ok := old[r.rule.Rule.Name]; ok && reflect.DeepEqual(o.rule, r.rule) {
			next[i] = o
		}
		s.m.runs.WithLabelValues(r.rule.Rule.Name)
		s.m.errors.WithLabelValues(r.rule.Rule.Name)
		s.m.missed.WithLabelValues(r.rule.Rule.Name)
	}
	s.rules = next
	s.mu.Unlock()
	select {
	case s.restart <- struct{}{}:
	default:
	}
	return nil
}

// loop runs one rule on its fixed slots: each tick's windows end at the
// tick's scheduled instant, however late it runs. When an evaluation
// overruns one or more later ticks, they are counted as missed and only the
// latest of them runs.
func (s *Scheduler) loop(ctx context.Context, r *scheduled) {
	next := r.sched.Next(s.clock.Now())
	for ctx.Err() == nil {
		if next.IsZero() {
			s.log.Error("scheduled rule will not fire again", "rule", r.rule.Rule.Name, "schedule", r.rule.Schedule)
			return
		}
		r.mu.Lock()
		r.health.NextRun = next
		r.mu.Unlock()
		now := s.clock.Now()
		if now.Before(next) {
			select {
			case <-ctx.Done():
				return
			case <-s.clock.After(next.Sub(now)):
			}
			continue
		}
		slot, missed := next, 0
		for n := r.sched.Next(slot); !n.IsZero() && !n.After(now); n = r.sched.Next(n) {
			slot = n
			missed++
		}
		if missed > 0 {
			s.m.missed.WithLabelValues(r.rule.Rule.Name).Add(float64(missed))
			r.mu.Lock()
			r.health.Missed += uint64(missed)
			r.mu.Unlock()
			s.log.Warn("scheduled rule missed ticks", "rule", r.rule.Rule.Name, "missed", missed, "running", slot)
		}
		s.run(ctx, r, slot)
		next = r.sched.Next(slot)
	}
}

// run evaluates one rule at one tick and records how it went.
func (s *Scheduler) run(ctx context.Context, r *scheduled, at time.Time) {
	start := s.clock.Now()
	sensors, noData, errs := s.evaluate(ctx, r.rule, at)
	took := s.clock.Now().Sub(start)
	if ctx.Err() != nil {
		return // shutting down: not a failure of the rule
	}
	name := r.rule.Rule.Name
	s.m.runs.WithLabelValues(name).Inc()
	s.m.seconds.Observe(took.Seconds())
	r.mu.Lock()
	defer r.mu.Unlock()
	h := &r.health
	h.Runs++
	h.LastRun, h.LastDuration, h.Sensors, h.NoData = at, took, sensors, noData
	h.Health, h.LastError = HealthOK, ""
	if len(errs) > 0 {
		s.m.errors.WithLabelValues(name).Inc()
		h.Errors++
		h.Health = HealthErr
		h.LastError = errs[0].Error()
		if len(errs) > 1 {
			h.LastError += fmt.Sprintf(" (and %d more)", len(errs)-1)
		}
		s.log.Error("scheduled rule failed", "rule", name, "at", at, "failed", len(errs), "sensors", sensors, "err", errs[0])
	}
}
