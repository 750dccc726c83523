package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/internal/yamlconf"
)

// TiersFile is one threshold per level.
type TiersFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	Blue   *float64 `yaml:"blue"`
	Yellow *float64 `yaml:"yellow"`
	Orange *float64 `yaml:"orange"`
	Red    *float64 `yaml:"red"`
}

// SelectorFile selects sensors by their attributes.
type SelectorFile struct {
	Pos      yamlconf.Pos
	Fields   yamlconf.Fields
	Family   string            `yaml:"family"`
	Site     string            `yaml:"site"`
	Region   string            `yaml:"region"`
	Industry string            `yaml:"industry"`
	Tags     map[string]string `yaml:"tags"`
}

// RuleFile is one threshold rule.
type RuleFile struct {
	Pos         yamlconf.Pos
	Fields      yamlconf.Fields
	Name        string        `yaml:"name"`
	Description string        `yaml:"description"`
	Sensors     []string      `yaml:"sensors"`
	Match       *SelectorFile `yaml:"match"`
	Metric      string        `yaml:"metric"`
	Above       *TiersFile    `yaml:"above"`
	Below       *TiersFile    `yaml:"below"`
	Hysteresis  float64       `yaml:"hysteresis"`
	// Clear: per level, the value at which that level is left.
	Clear *TiersFile `yaml:"clear"`
	// Kind: threshold (default), rate, offline, stuck, fault, composite.
	Kind         string                  `yaml:"kind"`
	For          time.Duration           `yaml:"for"`
	ClearFor     time.Duration           `yaml:"clear_for"`
	RateWindow   time.Duration           `yaml:"rate_window"`
	RatePer      time.Duration           `yaml:"rate_per"`
	UniformRate  float64                 `yaml:"uniform_rate"`
	Level        string                  `yaml:"level"`
	OfflineAfter float64                 `yaml:"offline_after"`
	StuckFor     time.Duration           `yaml:"stuck_for"`
	Tolerance    float64                 `yaml:"tolerance"`
	Codes        map[string]string       `yaml:"codes"`
	WhenStatus   []string                `yaml:"when_status"`
	Of           []RefFile               `yaml:"of"`
	K            int                     `yaml:"k"`
	Overrides    map[string]OverrideFile `yaml:"overrides"`
	// Schedule makes the rule a scheduled rule (see scheduled): a cron
	// spec such as "*/5 * * * *" or "@every 5m".
	Schedule  string        `yaml:"schedule"`
	Window    time.Duration `yaml:"window"`
	Windows   *WindowsFile  `yaml:"windows"`
	Aggregate string        `yaml:"aggregate"`
	// Calendar (day or month) makes the window the calendar period so far
	// instead of window.
	Calendar string `yaml:"calendar"`
	// Baseline measures the value from a configured or learned baseline.
	Baseline *BaselineFile `yaml:"baseline"`
}

// BaselineFile is a scheduled rule's baseline: {value: 15} (configured) or
// {aggregate: min, window: 720h} (learned from the sensor's readings).
type BaselineFile struct {
	Pos       yamlconf.Pos
	Fields    yamlconf.Fields
	Value     *float64      `yaml:"value"`
	Aggregate string        `yaml:"aggregate"`
	Window    time.Duration `yaml:"window"`
}

// RefFile is a condition a composite rule counts.
type RefFile struct {
	Pos   yamlconf.Pos
	Rule  string `yaml:"rule"`
	Level string `yaml:"level"`
}

// OverrideFile replaces a rule's numbers for one sensor.
type OverrideFile struct {
	Pos        yamlconf.Pos
	Above      *TiersFile `yaml:"above"`
	Below      *TiersFile `yaml:"below"`
	Hysteresis *float64   `yaml:"hysteresis"`
	// UniformRate is a tangent rule's uniform-stage rate for the sensor.
	UniformRate *float64 `yaml:"uniform_rate"`
}

func tiers(t *TiersFile) alerting.Tiers {
	var out alerting.Tiers
	if t == nil {
		return out
	}
	for l, v := range map[yujing.Level]*float64{yujing.Blue: t.Blue, yujing.Yellow: t.Yellow, yujing.Orange: t.Orange, yujing.Red: t.Red} {
		if v != nil {
			out.Value[l], out.Set[l] = *v, true
		}
	}
	return out
}

func (c *checker) rules(cfg *Config, sensors map[string]*SensorFile, sites map[string]bool) {
	seen := map[string]int{}
	for i := range c.f.Rules {
		r := &c.f.Rules[i]
		if r.Name == "" {
			c.Add(r.Pos, "rule: name is required")
		} else if line, dup := seen[r.Name]; dup {
			c.Add(r.Fields.At("name", r.Pos), "rule %q is defined twice (first at line %d)", r.Name, line)
		}
		seen[r.Name] = r.Pos.Line
		for j, id := range r.Sensors {
			if _, ok := sensors[id]; !ok {
				c.Add(r.Fields.At(fmt.Sprintf("sensors[%d]", j), r.Pos), "rule %q: sensor %q is not defined under sensors", r.Name, id)
			}
		}
		rule := &alerting.Rule{Name: r.Name, Description: r.Description, Sensors: r.Sensors, Metric: r.Metric,
			Above: tiers(r.Above), Below: tiers(r.Below), Hysteresis: r.Hysteresis, Clear: tiers(r.Clear),
			Kind: alerting.Kind(r.Kind), For: r.For, ClearFor: r.ClearFor, RateWindow: r.RateWindow, RatePer: r.RatePer, UniformRate: r.UniformRate,
			OfflineAfter: r.OfflineAfter, StuckFor: r.StuckFor, Tolerance: r.Tolerance, K: r.K}
		c.ruleKind(r, rule, sensors)
		switch {
		case rule.Kind == alerting.KindComposite:
			if len(r.Sensors) > 0 || r.Match != nil {
				c.Add(r.Pos, "rule %q: a composite rule counts other rules' conditions per site; leave out sensors and match", r.Name)
			}
		case len(r.Sensors) == 0 && r.Match == nil:
			c.Add(r.Pos, "rule %q: say which sensors it applies to with sensors: [...] or match: {family: ...}", r.Name)
		case len(r.Sensors) > 0 && r.Match != nil:
			c.Add(r.Match.Pos, "rule %q: give sensors or match, not both", r.Name)
		case r.Match != nil:
			m := r.Match
			if m.Family != "" && !cfg.Families.Known(yujing.Family(m.Family)) {
				c.Add(m.Fields.At("family", m.Pos), "rule %q: unknown family %q (want one of %s, or declare it under families)", r.Name, m.Family, familyList(cfg.Families))
			}
			if m.Site != "" && !sites[m.Site] {
				c.Add(m.Fields.At("site", m.Pos), "rule %q: site %q is not defined under sites", r.Name, m.Site)
			}
			rule.Match = alerting.Selector{Family: yujing.Family(m.Family), Site: m.Site, Region: m.Region, Industry: m.Industry, Tags: m.Tags}
		}
		if c.scheduled(cfg, r, rule, sensors) {
			continue
		}
		c.ruleErrors(r, rule)
		c.ruleMetric(r, rule, sensors)
		cfg.Rules = append(cfg.Rules, rule)
	}
}

// ruleKind fills and checks the fields of the rule kinds beyond plain
// thresholds: level, composite references, per-sensor overrides.
func (c *checker) ruleKind(r *RuleFile, rule *alerting.Rule, sensors map[string]*SensorFile) {
	if r.Level != "" {
		l, err := yujing.ParseLevel(r.Level)
		if err != nil {
			c.Add(r.Fields.At("level", r.Pos), "rule %q: %v", r.Name, err)
		}
		rule.Level = l
	}
	if _, set := r.Fields["uniform_rate"]; set && rule.Kind != alerting.KindTangent {
		c.Add(r.Fields.At("uniform_rate", r.Pos), "rule %q: uniform_rate applies to tangent rules only (kind: tangent)", r.Name)
	}
	for j, st := range r.WhenStatus {
		ps := yujing.ProductionStatus(st)
		if !ps.Valid() {
			var want []string
			for _, k := range yujing.ProductionStatuses() {
				want = append(want, string(k))
			}
			c.Add(r.Fields.At(fmt.Sprintf("when_status[%d]", j), r.Fields.At("when_status", r.Pos)),
				"rule %q: when_status: unknown production status %q (want %s)", r.Name, st, strings.Join(want, ", "))
			continue
		}
		rule.WhenStatus = append(rule.WhenStatus, ps)
	}
	if len(r.Codes) > 0 && rule.Kind != alerting.KindEvent {
		c.Add(r.Fields.At("codes", r.Pos), "rule %q: codes applies to event rules only (kind: event)", r.Name)
	}
	for _, code := range slices.Sorted(maps.Keys(r.Codes)) {
		ls := r.Codes[code]
		v, err := strconv.ParseFloat(strings.TrimSpace(code), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			c.Add(r.Fields.At("codes", r.Pos), "rule %q: codes: %q is not a number (the code the device sends)", r.Name, code)
			continue
		}
		l := yujing.LevelNone
		if ls != "clear" {
			var err error
			if l, err = yujing.ParseLevel(ls); err != nil {
				c.Add(r.Fields.At("codes", r.Pos), "rule %q: codes: %s: %v, or clear for the normal state", r.Name, code, err)
				continue
			}
		}
		if rule.Codes == nil {
			rule.Codes = map[float64]yujing.Level{}
		}
		rule.Codes[v] = l
	}
	names := map[string]bool{}
	for _, o := range c.f.Rules {
		names[o.Name] = true
	}
	for i, ref := range r.Of {
		if !names[ref.Rule] || ref.Rule == r.Name {
			c.Add(ref.Pos, "rule %q: of[%d]: rule %q is not defined under rules", r.Name, i, ref.Rule)
		}
		l := yujing.Blue
		if ref.Level != "" {
			var err error
			if l, err = yujing.ParseLevel(ref.Level); err != nil {
				c.Add(ref.Pos, "rule %q: of[%d]: %v", r.Name, i, err)
			}
		}
		rule.Of = append(rule.Of, alerting.Ref{Rule: ref.Rule, Level: l})
	}
	for id, o := range r.Overrides {
		if _, ok := sensors[id]; !ok {
			c.Add(o.Pos, "rule %q: overrides: sensor %q is not defined under sensors", r.Name, id)
		}
		ov := alerting.Override{Hysteresis: o.Hysteresis, UniformRate: o.UniformRate}
		if o.UniformRate != nil && rule.Kind != alerting.KindTangent {
			c.Add(o.Pos, "rule %q: overrides for %s: uniform_rate applies to tangent rules only (kind: tangent)", r.Name, id)
		}
		if o.Above != nil {
			t := tiers(o.Above)
			ov.Above = &t
		}
		if o.Below != nil {
			t := tiers(o.Below)
			ov.Below = &t
		}
		if rule.Overrides == nil {
			rule.Overrides = map[string]alerting.Override{}
		}
		rule.Overrides[id] = ov
		if err := rule.ForSensorValidate(id); err != nil {
			c.Add(o.Pos, "rule %q: overrides for %s: %v", r.Name, id, err)
		}
	}
}

// ruleErrors reports a rule's threshold problems, each at the tier it
// concerns.
func (c *checker) ruleErrors(r *RuleFile, rule *alerting.Rule) {
	err := rule.Validate()
	if err == nil {
		return
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		p := r.Pos
		var oe *alerting.ThresholdOrderError
		switch {
		case errors.As(e, &oe):
			t := r.Above
			if oe.Direction == "below" {
				t = r.Below
			}
			if t != nil {
				p = t.Fields.At(oe.Level.String(), t.Pos)
			}
		case strings.Contains(e.Error(), "hysteresis"):
			p = r.Fields.At("hysteresis", r.Pos)
		case strings.HasPrefix(e.Error(), "clear:") && r.Clear != nil:
			p = r.Clear.Pos
		}
		c.Add(p, "rule %q: %v", r.Name, e)
	}
}

// ruleMetric checks that the sensors a rule names report its metric, so a
// misspelt metric does not make a rule that can never fire.
func (c *checker) ruleMetric(r *RuleFile, rule *alerting.Rule, sensors map[string]*SensorFile) {
	if rule.Metric == "" {
		return
	}
	for j, id := range r.Sensors {
		s, ok := sensors[id]
		if !ok || len(s.Metrics) == 0 && s.Metric == "" {
			continue
		}
		if _, ok := s.Metrics[rule.Metric]; ok || s.Metric == rule.Metric || (s.Metric == "" && rule.Metric == "value") {
			continue
		}
		known := []string{}
		if s.Metric != "" {
			known = append(known, s.Metric)
		}
		for m := range s.Metrics {
			if m != s.Metric {
				known = append(known, m)
			}
		}
		slices.Sort(known)
		c.Add(r.Fields.At("metric", r.Fields.At(fmt.Sprintf("sensors[%d]", j), r.Pos)),
			"rule %q: sensor %q has no metric %q (it reports %v)", r.Name, id, rule.Metric, known)
	}
}
