package config

import (
	"errors"
	"strings"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/internal/cronspec"
	"yujing/internal/yamlconf"
	"yujing/store"
)

// WindowsFile gives the levels of a scheduled rule their own windows.
type WindowsFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	Blue   *time.Duration `yaml:"blue"`
	Yellow *time.Duration `yaml:"yellow"`
	Orange *time.Duration `yaml:"orange"`
	Red    *time.Duration `yaml:"red"`
}

// scheduledOnly lists the fields only scheduled rules use; unusedScheduled
// the rule fields a scheduled rule does not use.
var (
	scheduledOnly   = []string{"window", "windows", "aggregate", "calendar", "baseline"}
	unusedScheduled = []string{"for", "clear_for", "rate_window", "rate_per", "level", "offline_after", "stuck_for", "tolerance", "of", "k", "codes", "uniform_rate"}
)

// scheduled checks and collects r if it is a scheduled rule (it has a
// schedule), reporting whether it is. A scheduled rule goes to
// cfg.Scheduled instead of cfg.Rules: it is evaluated on windowed
// aggregates of stored readings at each tick of its schedule, not on each
// reading.
func (c *checker) scheduled(cfg *Config, r *RuleFile, rule *alerting.Rule, sensors map[string]*SensorFile) bool {
	if r.Schedule == "" {
		for _, k := range scheduledOnly {
			if p, ok := r.Fields[k]; ok {
				c.Add(p, "rule %q: %s applies to scheduled rules only; add schedule: (e.g. \"*/5 * * * *\")", r.Name, k)
			}
		}
		return false
	}
	for _, k := range unusedScheduled {
		if p, ok := r.Fields[k]; ok {
			c.Add(p, "rule %q: %s does not apply to a scheduled rule", r.Name, k)
		}
	}
	sr := &alerting.ScheduledRule{Rule: *rule, Schedule: r.Schedule, Aggregate: store.Func(r.Aggregate), Window: r.Window, Calendar: r.Calendar}
	if b := r.Baseline; b != nil {
		sr.Baseline = &alerting.Baseline{Value: b.Value, Aggregate: store.Func(b.Aggregate), Window: b.Window}
	}
	windowPos := map[yujing.Level]yamlconf.Pos{}
	if w := r.Windows; w != nil {
		for l, d := range map[yujing.Level]*time.Duration{yujing.Blue: w.Blue, yujing.Yellow: w.Yellow, yujing.Orange: w.Orange, yujing.Red: w.Red} {
			if d != nil {
				sr.Windows[l] = *d
				windowPos[l] = w.Fields.At(l.String(), w.Pos)
			}
		}
	}
	if r.Aggregate == "" {
		c.Add(r.Pos, "rule %q: a scheduled rule needs aggregate: one of %v", r.Name, store.Funcs)
		sr.Aggregate = store.FuncSum // checked; keep the other checks going
	}
	for _, e := range flatErrors(sr.Validate(cfg.Location)) {
		p := r.Pos
		var (
			se *cronspec.Error
			fe *store.UnknownFuncError
			we *alerting.WindowError
			oe *alerting.ThresholdOrderError
			wo *alerting.WindowedOrderError
		)
		tierPos := func(dir string, l yujing.Level) yamlconf.Pos {
			t := r.Above
			if dir == "below" {
				t = r.Below
			}
			if t == nil {
				return r.Pos
			}
			return t.Fields.At(l.String(), t.Pos)
		}
		switch {
		case errors.As(e, &se):
			p = r.Fields.At("schedule", r.Pos)
		case errors.As(e, &fe):
			p = r.Fields.At("aggregate", r.Pos)
		case errors.As(e, &we):
			if wp, ok := windowPos[we.Level]; ok {
				p = wp
			} else if wp, ok := r.Fields["window"]; ok {
				p = wp
			} else if sr.Rule.Above.Set[we.Level] {
				p = tierPos("above", we.Level)
			} else {
				p = tierPos("below", we.Level)
			}
		case errors.As(e, &oe):
			p = tierPos(oe.Direction, oe.Level)
		case errors.As(e, &wo):
			p = tierPos(wo.Direction, wo.Level)
		case strings.Contains(e.Error(), "hysteresis"):
			p = r.Fields.At("hysteresis", r.Pos)
		case strings.HasPrefix(e.Error(), "clear:") && r.Clear != nil:
			p = r.Clear.Pos
		case strings.Contains(e.Error(), "kind"):
			p = r.Fields.At("kind", r.Pos)
		case strings.HasPrefix(e.Error(), "calendar:"):
			p = r.Fields.At("calendar", r.Pos)
		case strings.HasPrefix(e.Error(), "baseline:"):
			p = r.Fields.At("baseline", r.Pos)
		}
		c.Add(p, "rule %q: %v", r.Name, e)
	}
	c.ruleMetric(r, rule, sensors)
	cfg.Scheduled = append(cfg.Scheduled, sr)
	return true
}
