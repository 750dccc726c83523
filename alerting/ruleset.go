package alerting

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"yujing"
	"yujing/internal/idindex"
)

// eachCondition calls f for every condition (with mu held exclusively).
func (e *Engine) eachCondition(f func(c *condition)) {
	for p := range e.sensors {
		sc := &e.sensors[p]
		for i, n := 0, sc.n(); i < n; i++ {
			f(sc.at(i))
		}
	}
	for _, c := range e.groups {
		f(c)
	}
}

// ruleHealth is a rule's last failure to save a transition.
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

// bind works out which rules apply to which sensors, keeping the
// conditions of pairs that remain.
func (e *Engine) bind() {
	oldSensors, oldIndex := e.sensors, e.index
	e.offline = nil
	e.compos = map[string][]*Rule{}
	for _, r := range e.rules {
		for _, ref := range r.Of {
			e.compos[ref.Rule] = append(e.compos[ref.Rule], r)
		}
	}
	// First which rules apply to which sensors, then the sensors' slots,
	// all at once: conditions point at their sensor's slot.
	all := e.cat.Sensors()
	type pair struct{ sensor, rule int32 }
	var pairs []pair
	bound := 0
	for i := range all {
		s := &all[i]
		site, _ := e.cat.Site(s.Site)
		n := len(pairs)
		for j, r := range e.rules {
			if r.kind() == KindComposite {
				continue
			}
			if slices.Contains(r.Sensors, s.ID) || (len(r.Sensors) == 0 && r.Match.Matches(s, site)) {
				pairs = append(pairs, pair{int32(i), int32(j)})
			}
		}
		if len(pairs) > n {
			bound++
		}
	}
	e.sensors = make([]sensorConds, 0, bound)
	e.index = idindex.New(bound)
	type aboutKey struct {
		site, family, metric, unit string
		units                      uintptr
		interval                   time.Duration
	}
	abouts := map[aboutKey]*yujing.Sensor{}
	var sc *sensorConds
	for _, pr := range pairs {
		s, r := &all[pr.sensor], e.rules[pr.rule]
		if sc == nil || sc.id != s.ID {
			k := aboutKey{s.Site, string(s.Family), s.Metric, s.Unit, reflect.ValueOf(s.Units).Pointer(), s.Interval}
			about := abouts[k]
			if about == nil {
				about = &yujing.Sensor{Site: s.Site, Family: s.Family, Metric: s.Metric, Unit: s.Unit, Units: s.Units, Interval: s.Interval}
				abouts[k] = about
			}
			e.sensors = append(e.sensors, sensorConds{id: s.ID, about: about})
			sc = &e.sensors[len(e.sensors)-1]
			e.index.Insert(s.ID, int32(len(e.sensors)-1), func(p int32) string { return e.sensors[p].id })
		}
		// A restored open alert's condition wins over a fresh one.
		k := condKey{r.Name, s.ID}
		c := e.restored[k]
		if c != nil {
			delete(e.restored, k)
		} else if osc := findSensor(oldSensors, &oldIndex, s.ID); osc != nil {
			for i, n := 0, osc.n(); i < n; i++ {
				if oc := osc.at(i); oc.rule.Name == r.Name {
					c = oc
				}
			}
		}
		if c == nil {
			c = &condition{}
		}
		c.rule, c.s = r.forSensor(s.ID), sc
		if needsExtra(r) && c.x == nil {
			c.x = &condExtra{}
		}
		if r.kind() == KindOffline {
			e.offline = append(e.offline, c)
		}
		sc.add(c)
	}
}

// ruleFailed records that saving a transition of r failed.
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
	for p := range e.sensors {
		sc := &e.sensors[p]
		sc.mu.Lock()
		for i, n := 0, sc.n(); i < n; i++ {
			c := sc.at(i)
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
	open := e.alerts.OpenByRule()
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

// SetRules replaces the rules (a reload). Every rule is checked first; on
// any problem nothing changes. Rules whose definition did not change keep
// their state (holds, rate samples); changed ones keep their current
// level, so open alerts carry on, but start their holds afresh.
func (e *Engine) SetRules(rules []*Rule) error {
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
			c.pending, c.clearSince = yujing.LevelNone, 0
			if c.x != nil {
				c.x = &condExtra{}
			}
		}
	})
	e.rules = rules
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
