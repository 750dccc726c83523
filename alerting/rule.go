package alerting

import (
	"errors"
	"fmt"
	"math"
	"time"

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

// Kind says what a rule watches.
type Kind string

// Rule kinds.
const (
	KindThreshold Kind = "threshold" // the metric's value against four tiers (default)
	KindRate      Kind = "rate"      // the metric's rate of change per RatePer over RateWindow against four tiers
	KindOffline   Kind = "offline"   // no reading for OfflineAfter × the sensor's interval
	KindStuck     Kind = "stuck"     // the metric unchanged (within Tolerance) for StuckFor
	KindFault     Kind = "fault"     // readings outside the sensor's physical range (超量程) or fault codes
	KindComposite Kind = "composite" // K of the referenced conditions hold at once, per site
	KindEvent     Kind = "event"     // the metric is a state a device reports (alarm, fault, low battery): its code → a level
	KindTangent   Kind = "tangent"   // the improved tangent angle (改进切线角) of a displacement, in degrees, against four tiers
)

// Ref is a condition a composite rule counts: rule Rule at level Level or
// above.
type Ref struct {
	Rule  string
	Level yujing.Level
}

// Override replaces a rule's numbers for one sensor.
type Override struct {
	Above, Below *Tiers
	Hysteresis   *float64
	UniformRate  *float64 // tangent: the sensor's own uniform-stage rate
}

// Rule is one warning rule.
type Rule struct {
	Name        string
	Description string
	Kind        Kind     // "" means threshold
	Sensors     []string // explicit sensor ids; when empty, Match selects
	Match       Selector
	Metric      string  // "" means each sensor's default metric
	Above       Tiers   // raise at level L when value >= Above[L]
	Below       Tiers   // raise at level L when value <= Below[L]
	Hysteresis  float64 // a level is left only when the value is this far back past its threshold
	// Clear sets, per level, the value a level is left at (instead of
	// threshold − Hysteresis): e.g. raise red at 50 %LEL, clear it below 40.
	Clear Tiers
	// For holds a raise or upgrade until the condition has held this long;
	// ClearFor holds the resolution likewise.
	For, ClearFor time.Duration

	RateWindow time.Duration // rate, tangent: the span the rate is measured over (default 5m)
	RatePer    time.Duration // rate, tangent: the unit of the rate (default 1m: "per minute")
	// UniformRate is a tangent rule's displacement rate in the uniform
	// (constant-velocity) deformation stage, per RatePer: the improved
	// tangent angle is atan(rate / UniformRate), 45° at that rate.
	UniformRate float64

	Level        yujing.Level  // offline, stuck, fault, composite: the level raised
	OfflineAfter float64       // offline: intervals without a reading (default 3)
	StuckFor     time.Duration // stuck: how long unchanged
	Tolerance    float64       // stuck: changes up to this count as unchanged

	// Codes maps the codes an event rule's metric takes to levels,
	// LevelNone for a code that means normal (it clears); a code not listed
	// changes nothing. With no codes, any value but 0 is the event, at
	// Level, and 0 clears.
	Codes map[float64]yujing.Level

	// WhenStatus makes the rule apply only while the sensor's site has one
	// of these production statuses (an enterprise ordered to stop that
	// draws power); otherwise its condition is clear. Empty: always.
	WhenStatus []yujing.ProductionStatus

	Of        []Ref               // composite: the conditions counted
	K         int                 // composite: how many must hold (default all of Of; with one Ref, that many sensors)
	Overrides map[string]Override // per-sensor numbers, by sensor id

	health *ruleHealth // set by the engine; shared by the per-sensor copies
}

// forSensor returns the rule as it applies to one sensor, with its
// overrides.
func (r *Rule) forSensor(id string) *Rule {
	o, ok := r.Overrides[id]
	if !ok {
		return r
	}
	c := *r
	if o.Above != nil {
		c.Above = *o.Above
	}
	if o.Below != nil {
		c.Below = *o.Below
	}
	if o.Hysteresis != nil {
		c.Hysteresis = *o.Hysteresis
	}
	if o.UniformRate != nil {
		c.UniformRate = *o.UniformRate
	}
	return &c
}

// ForSensorValidate checks the rule as one sensor's overrides make it.
func (r *Rule) ForSensorValidate(id string) error { return r.forSensor(id).Validate() }

// kind returns the rule's kind, threshold by default.
func (r *Rule) kind() Kind {
	if r.Kind == "" {
		return KindThreshold
	}
	return r.Kind
}

// ThresholdOrderError says a tier's threshold is not more extreme than the
// tier below it.
type ThresholdOrderError struct {
	Direction   string // "above" or "below"
	Level, Prev yujing.Level
	Value, Than float64
}

func (e *ThresholdOrderError) Error() string {
	cmp := "higher"
	if e.Direction == "below" {
		cmp = "lower"
	}
	return fmt.Sprintf("%s: %s threshold %g must be %s than %s threshold %g", e.Direction, e.Level, e.Value, cmp, e.Prev, e.Than)
}

// Validate checks the thresholds: at least one, and higher levels need
// more extreme values. It returns every problem (errors.Join), each a
// *ThresholdOrderError where the order is wrong.
func (r *Rule) Validate() error {
	var errs []error
	switch r.kind() {
	case KindThreshold, KindRate:
		if !r.Above.Any() && !r.Below.Any() {
			errs = append(errs, fmt.Errorf("no thresholds: set above or below"))
		}
	case KindTangent:
		if !(r.UniformRate > 0) {
			errs = append(errs, fmt.Errorf("a tangent rule needs uniform_rate: the displacement rate per rate_per in the uniform deformation stage, above 0"))
		}
		if !r.Above.Any() || r.Below.Any() {
			errs = append(errs, fmt.Errorf("a tangent rule takes above: tangent angles in degrees (e.g. {blue: 45, yellow: 50, orange: 80, red: 85}), no below"))
		}
		for _, l := range yujing.Levels {
			if r.Above.Set[l] && !(r.Above.Value[l] > 0 && r.Above.Value[l] < 90) {
				errs = append(errs, fmt.Errorf("above: %s %g: a tangent angle is between 0 and 90 degrees", l, r.Above.Value[l]))
			}
		}
	case KindEvent:
		switch {
		case len(r.Codes) == 0 && !r.Level.Valid():
			errs = append(errs, fmt.Errorf("an event rule needs level (any value but 0 is the event) or codes (code → level)"))
		case len(r.Codes) > 0 && r.Level != yujing.LevelNone:
			errs = append(errs, fmt.Errorf("an event rule takes level or codes, not both"))
		}
		raises, clears := false, false
		for code, l := range r.Codes {
			switch {
			case l == yujing.LevelNone:
				clears = true
			case l.Valid():
				raises = true
			default:
				errs = append(errs, fmt.Errorf("codes: code %g: want blue, yellow, orange, red or clear", code))
			}
		}
		if len(r.Codes) > 0 && (!raises || !clears) {
			errs = append(errs, fmt.Errorf("codes: give the codes of the events (e.g. 1: red) and the code of the normal state (e.g. 0: clear)"))
		}
		if r.Above.Any() || r.Below.Any() {
			errs = append(errs, fmt.Errorf("an event rule maps codes to levels; above and below do not apply"))
		}
	case KindOffline, KindStuck, KindFault, KindComposite:
		if !r.Level.Valid() {
			errs = append(errs, fmt.Errorf("a %s rule needs level: blue, yellow, orange or red", r.kind()))
		}
		if r.kind() == KindStuck && r.StuckFor <= 0 {
			errs = append(errs, fmt.Errorf("a stuck rule needs stuck_for, e.g. 30m"))
		}
		if r.kind() == KindComposite {
			if len(r.Of) == 0 {
				errs = append(errs, fmt.Errorf("a composite rule needs of: the rules it counts"))
			}
			if r.K < 0 || (len(r.Of) > 1 && r.K > len(r.Of)) {
				errs = append(errs, fmt.Errorf("k = %d: want 1 to %d", r.K, len(r.Of)))
			}
		}
	default:
		errs = append(errs, fmt.Errorf("unknown kind %q (want threshold, rate, tangent, offline, stuck, fault, composite or event)", r.Kind))
	}
	if r.Hysteresis < 0 {
		errs = append(errs, fmt.Errorf("hysteresis must not be negative"))
	}
	for _, dir := range []struct {
		name  string
		t     *Tiers
		worse func(v, prev float64) bool
	}{
		{"above", &r.Above, func(v, prev float64) bool { return v > prev }},
		{"below", &r.Below, func(v, prev float64) bool { return v < prev }},
	} {
		var prev float64
		prevL := yujing.LevelNone
		for _, l := range yujing.Levels {
			if !dir.t.Set[l] {
				continue
			}
			if prevL != yujing.LevelNone && !dir.worse(dir.t.Value[l], prev) {
				errs = append(errs, &ThresholdOrderError{Direction: dir.name, Level: l, Prev: prevL, Value: dir.t.Value[l], Than: prev})
			}
			prev, prevL = dir.t.Value[l], l
		}
	}
	for _, l := range yujing.Levels {
		if !r.Clear.Set[l] {
			continue
		}
		switch {
		case r.Above.Set[l] && r.Clear.Value[l] > r.Above.Value[l]:
			errs = append(errs, fmt.Errorf("clear: %s clear value %g must not be above its threshold %g", l, r.Clear.Value[l], r.Above.Value[l]))
		case r.Below.Set[l] && r.Clear.Value[l] < r.Below.Value[l]:
			errs = append(errs, fmt.Errorf("clear: %s clear value %g must not be below its threshold %g", l, r.Clear.Value[l], r.Below.Value[l]))
		case !r.Above.Set[l] && !r.Below.Set[l]:
			errs = append(errs, fmt.Errorf("clear: %s has a clear value but no threshold", l))
		}
	}
	return errors.Join(errs...)
}

// TangentAngle is the improved tangent angle (改进切线角, Xu Qiang et al.,
// 2009), in degrees, of a displacement moving at rate when its uniform
// (constant-velocity) stage moved at uniform: with the time axis scaled so
// that the uniform stage's curve rises at 45°, the angle of the curve now,
// atan(rate / uniform). Below 45° the deformation slows, about 45° it is
// uniform, above it accelerates; 90° is never reached.
func TangentAngle(rate, uniform float64) float64 {
	return math.Atan(rate/uniform) * 180 / math.Pi
}

// EventLevel returns the level an event rule's metric at v stands for
// (LevelNone: normal), and false for a code the rule does not know, which
// changes nothing.
func (r *Rule) EventLevel(v float64) (yujing.Level, bool) {
	if len(r.Codes) > 0 {
		l, ok := r.Codes[v]
		return l, ok
	}
	if v != 0 {
		return r.Level, true
	}
	return yujing.LevelNone, true
}

// Evaluate returns the level for value v given the current level cur, and
// the threshold that level stands on. Entering or rising to a level needs the
// threshold itself; staying at a level needs only to stay within Hysteresis
// of it, so a value hovering at a threshold does not flap.
func (r *Rule) Evaluate(v float64, cur yujing.Level) (yujing.Level, float64) {
	la, ta := evalTiers(&r.Above, &r.Clear, v, cur, r.Hysteresis, 1)
	lb, tb := evalTiers(&r.Below, &r.Clear, v, cur, r.Hysteresis, -1)
	if lb > la {
		return lb, tb
	}
	return la, ta
}

// evalTiers evaluates one direction: dir 1 for above, -1 for below.
func evalTiers(t, clear *Tiers, v float64, cur yujing.Level, hyst float64, dir float64) (yujing.Level, float64) {
	level, th := yujing.LevelNone, 0.0
	for l := yujing.Red; l >= yujing.Blue; l-- {
		if !t.Set[l] {
			continue
		}
		need := t.Value[l]
		if l <= cur { // held level (or below it): the clear threshold applies
			if clear.Set[l] {
				// The level holds until the value passes its clear value.
				if dir*(v-clear.Value[l]) >= 0 {
					return l, t.Value[l]
				}
				continue
			}
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
