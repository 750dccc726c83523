package alerting

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"yujing"
)

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
			c.pending, c.pendingSince, c.clearSince = yujing.LevelNone, 0, 0
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
