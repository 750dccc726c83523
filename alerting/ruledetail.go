package alerting

import (
	"maps"
	"slices"
	"strings"
	"time"

	"yujing"
)

// RuleDetail is one rule as the engine holds it: its status, the numbers
// it raises on and the sensors it applies to now, each with its level and
// its last evaluation. Durations are written as 30s, 5m, 1h.
type RuleDetail struct {
	RuleStatus
	Metric string `json:"metric,omitempty"` // "": each sensor's own metric
	// SensorIDs is the rule's own list of sensors; Match selects them
	// when it is empty.
	SensorIDs   []string                  `json:"sensor_ids,omitempty"`
	Match       map[string]string         `json:"match,omitempty"` // family, site, region, industry, tag.<name>
	Hysteresis  float64                   `json:"hysteresis,omitempty"`
	Clear       map[string]float64        `json:"clear,omitempty"` // per level: the value the level is left at
	For         string                    `json:"for,omitempty"`
	ClearFor    string                    `json:"clear_for,omitempty"`
	RateWindow  string                    `json:"rate_window,omitempty"`
	RatePer     string                    `json:"rate_per,omitempty"`
	UniformRate float64                   `json:"uniform_rate,omitempty"`
	Level       yujing.Level              `json:"level,omitempty"` // offline, stuck, fault, composite, event: the level raised
	WhenStatus  []yujing.ProductionStatus `json:"when_status,omitempty"`
	// Bound are the sensors the rule applies to now, by id.
	Bound []BoundSensor `json:"bound"`
}

// BoundSensor is a sensor a rule applies to, as the rule's condition on
// it stands.
type BoundSensor struct {
	Sensor      string       `json:"sensor"`
	Level       yujing.Level `json:"level"` // the condition's level now ("none": clear)
	Evaluations int64        `json:"evaluations"`
	LastEval    *time.Time   `json:"last_evaluation,omitempty"`
	// Above and Below are the sensor's own tiers when its overrides
	// change the rule's.
	Above map[string]float64 `json:"above,omitempty"`
	Below map[string]float64 `json:"below,omitempty"`
}

// tierMap writes tiers by level name; nil when none is set.
func tierMap(t *Tiers) map[string]float64 {
	var m map[string]float64
	for _, l := range yujing.Levels {
		if t.Set[l] {
			if m == nil {
				m = map[string]float64{}
			}
			m[l.String()] = t.Value[l]
		}
	}
	return m
}

func formatDuration(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return FormatWindow(d)
}

// RuleDetail describes the streaming rule named name; false when the
// engine has none of that name (a scheduled rule is the Scheduler's).
func (e *Engine) RuleDetail(name string) (RuleDetail, bool) {
	var d RuleDetail
	found := false
	for _, st := range e.RuleStatuses() {
		if st.Name == name {
			d.RuleStatus, found = st, true
		}
	}
	if !found {
		return d, false
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	var r *Rule
	for _, x := range e.rules {
		if x.Name == name {
			r = x
		}
	}
	if r == nil { // replaced since RuleStatuses
		return d, false
	}
	d.Metric, d.SensorIDs, d.Hysteresis = r.Metric, slices.Clone(r.Sensors), r.Hysteresis
	d.Clear, d.For, d.ClearFor = tierMap(&r.Clear), formatDuration(r.For), formatDuration(r.ClearFor)
	if k := r.kind(); k == KindRate || k == KindTangent {
		d.RateWindow, d.RatePer, d.UniformRate = formatDuration(r.RateWindow), formatDuration(r.RatePer), r.UniformRate
	}
	d.Level, d.WhenStatus = r.Level, slices.Clone(r.WhenStatus)
	if m := r.Match; len(r.Sensors) == 0 {
		d.Match = map[string]string{}
		for k, v := range map[string]string{"family": string(m.Family), "site": m.Site, "region": m.Region, "industry": m.Industry} {
			if v != "" {
				d.Match[k] = v
			}
		}
		for k, v := range m.Tags {
			d.Match["tag."+k] = v
		}
	}
	d.Bound = []BoundSensor{}
	for p := range e.sensors {
		sc := &e.sensors[p]
		sc.mu.Lock()
		for i, n := 0, sc.n(); i < n; i++ {
			c := sc.at(i)
			if c.rule.Name != name {
				continue
			}
			b := BoundSensor{Sensor: sc.id, Level: c.level, Evaluations: int64(c.evals)}
			if c.at != 0 {
				t := time.Unix(0, c.at)
				b.LastEval = &t
			}
			if c.rule != r { // the sensor's overrides apply
				b.Above, b.Below = tierMap(&c.rule.Above), tierMap(&c.rule.Below)
			}
			d.Bound = append(d.Bound, b)
		}
		sc.mu.Unlock()
	}
	slices.SortFunc(d.Bound, func(a, b BoundSensor) int { return strings.Compare(a.Sensor, b.Sensor) })
	return d, true
}

// Rule returns a copy of the streaming rule named name, as configured
// (for a preview that changes its numbers without touching the engine's).
func (e *Engine) Rule(name string) (*Rule, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, r := range e.rules {
		if r.Name == name {
			c := *r
			c.health = nil
			c.Sensors = slices.Clone(r.Sensors)
			c.Overrides = maps.Clone(r.Overrides)
			return &c, true
		}
	}
	return nil, false
}

// Bound lists the sensors the rule named name applies to now, by id.
func (e *Engine) Bound(name string) []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []string
	for p := range e.sensors {
		sc := &e.sensors[p]
		sc.mu.Lock()
		for i, n := 0, sc.n(); i < n; i++ {
			if sc.at(i).rule.Name == name {
				out = append(out, sc.id)
				break
			}
		}
		sc.mu.Unlock()
	}
	slices.Sort(out)
	return out
}
