package alerting

import (
	"fmt"

	"yujing"
)

// Selector picks the sensors a rule applies to. Empty fields match anything.
type Selector struct {
	Family   yujing.Family
	Site     string
	Region   string
	Industry string
	Tags     map[string]string
}

// Matches reports whether s is selected.
func (sel Selector) Matches(s *yujing.Sensor, site yujing.Site) bool {
	if sel.Family != "" && sel.Family != s.Family {
		return false
	}
	if sel.Site != "" && sel.Site != s.Site {
		return false
	}
	region, industry := s.Region, s.Industry
	if region == "" {
		region = site.Region
	}
	if industry == "" {
		industry = site.Industry
	}
	if sel.Region != "" && sel.Region != region {
		return false
	}
	if sel.Industry != "" && sel.Industry != industry {
		return false
	}
	for k, v := range sel.Tags {
		if s.Tags[k] != v {
			return false
		}
	}
	return true
}

// Tiers holds one threshold per level; NaN-free, only Set levels count.
type Tiers struct {
	Value [yujing.Red + 1]float64
	Set   [yujing.Red + 1]bool
}

// Any reports whether any tier is set.
func (t *Tiers) Any() bool {
	for _, s := range t.Set {
		if s {
			return true
		}
	}
	return false
}

// Rule is a four-tier threshold rule on one metric.
type Rule struct {
	Name        string
	Description string
	Sensors     []string // explicit sensor ids; when empty, Match selects
	Match       Selector
	Metric      string  // "" means each sensor's default metric
	Above       Tiers   // raise at level L when value >= Above[L]
	Below       Tiers   // raise at level L when value <= Below[L]
	Hysteresis  float64 // a level is left only when the value is this far back past its threshold
}

// Validate checks the thresholds' order: higher levels need more extreme
// values.
func (r *Rule) Validate() error {
	if !r.Above.Any() && !r.Below.Any() {
		return fmt.Errorf("rule %q has no thresholds: set above or below", r.Name)
	}
	if r.Hysteresis < 0 {
		return fmt.Errorf("rule %q: hysteresis must not be negative", r.Name)
	}
	var prev float64
	var prevL yujing.Level
	for _, l := range yujing.Levels {
		if !r.Above.Set[l] {
			continue
		}
		if prevL != yujing.LevelNone && r.Above.Value[l] <= prev {
			return fmt.Errorf("above: %s threshold %g must be higher than %s threshold %g", l, r.Above.Value[l], prevL, prev)
		}
		prev, prevL = r.Above.Value[l], l
	}
	prevL = yujing.LevelNone
	for _, l := range yujing.Levels {
		if !r.Below.Set[l] {
			continue
		}
		if prevL != yujing.LevelNone && r.Below.Value[l] >= prev {
			return fmt.Errorf("below: %s threshold %g must be lower than %s threshold %g", l, r.Below.Value[l], prevL, prev)
		}
		prev, prevL = r.Below.Value[l], l
	}
	return nil
}

// Evaluate returns the level for value v given the current level cur, and
// the threshold that level stands on. Entering or rising to a level needs the
// threshold itself; staying at a level needs only to stay within Hysteresis
// of it, so a value hovering at a threshold does not flap.
func (r *Rule) Evaluate(v float64, cur yujing.Level) (yujing.Level, float64) {
	la, ta := evalTiers(&r.Above, v, cur, r.Hysteresis, 1)
	lb, tb := evalTiers(&r.Below, v, cur, r.Hysteresis, -1)
	if lb > la {
		return lb, tb
	}
	return la, ta
}

// evalTiers evaluates one direction: dir 1 for above, -1 for below.
func evalTiers(t *Tiers, v float64, cur yujing.Level, hyst float64, dir float64) (yujing.Level, float64) {
	level, th := yujing.LevelNone, 0.0
	for l := yujing.Red; l >= yujing.Blue; l-- {
		if !t.Set[l] {
			continue
		}
		need := t.Value[l]
		if l <= cur { // held level (or below it): hysteresis applies
			need -= dir * hyst
			if dir*(v-need) > 0 || (hyst == 0 && v == t.Value[l]) {
				return l, t.Value[l]
			}
			continue
		}
		if dir*(v-need) >= 0 {
			return l, t.Value[l]
		}
	}
	return level, th
}
