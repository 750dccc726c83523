package alerting

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"yujing"
	"yujing/internal/cronspec"
	"yujing/store"
)

// ScheduledRule evaluates a windowed aggregate of stored readings on a cron
// schedule instead of on every reading: "the rainfall summed over the last
// 3 h, every 5 minutes". At each tick t it computes, for each selected
// sensor, Aggregate over [t − window, t) and hands the value to the engine
// (ObserveDerived) as a reading at t of the derived metric
// DerivedMetric(metric, aggregate, window), e.g. "rain_sum_3h", so the
// warning is raised, upgraded, downgraded and resolved like any other.
//
// Per-level windows: Windows may give each level its own window, as the CMA
// rainstorm signals do (blue 50 mm in 12 h, yellow 50 mm in 6 h, orange
// 50 mm in 3 h, red 100 mm in 3 h). Each level is then judged on the
// aggregate over its own window (with the rule's hysteresis when the level
// is held); the rule is at the highest level whose condition holds, and
// that level's value and window are what the engine is given. There is
// still one warning per (rule, sensor), upgraded in place.
//
// No data is not recovery: a window without readings (n = 0) leaves the
// level where it was. With a single window the sensor is skipped for that
// tick; with per-level windows a level whose window is empty can be
// neither entered nor left. Count is the exception: an empty window counts
// 0, so `aggregate: count` with below tiers watches data completeness.
type ScheduledRule struct {
	// Rule holds the name, description, sensors or match, metric, above
	// and below tiers, hysteresis and per-sensor overrides. Its kind must
	// be threshold; for, clear_for and the other kinds' fields are unused.
	Rule Rule
	// Schedule is a cron spec: five fields ("*/5 * * * *"), a descriptor
	// ("@hourly", "@every 5m"), optionally after "CRON_TZ=Area/City " to
	// use another time zone than the scheduler's.
	Schedule string
	// Aggregate is what is computed over each window.
	Aggregate store.Func
	// Window is the window of every level that has none in Windows.
	Window time.Duration
	// Windows gives levels their own windows (zero: Window).
	Windows [yujing.Red + 1]time.Duration
	// Calendar, instead of a window, makes every tick's window run from the
	// start of the calendar period ("month" or "day", in the scheduler's
	// time zone) that holds the instant just before the tick: a daily tick
	// sums the month so far, a tick at 00:00 on the 1st the whole of the
	// month before.
	Calendar string
	// Baseline, when set, makes the value judged the aggregate's excess
	// over a baseline: one configured (Value) or one learned from the
	// sensor's own readings (Aggregate over the Window that ends where the
	// tick's window starts), e.g. the lowest 15-minute power draw of the
	// 30 days before as an enterprise's idle draw.
	Baseline *Baseline
}

// Baseline is what a scheduled rule's value is measured from.
type Baseline struct {
	Value     *float64      // configured
	Aggregate store.Func    // learned: min, mean, …
	Window    time.Duration // learned over this long before the tick's window
}

// Calendar periods of scheduled rules.
const (
	CalendarDay   = "day"
	CalendarMonth = "month"
)

// CalendarStart returns the start of the calendar period (CalendarDay or
// CalendarMonth) in loc that holds the instant just before at.
func CalendarStart(period string, at time.Time, loc *time.Location) time.Time {
	t := at.Add(-time.Nanosecond).In(loc)
	if period == CalendarMonth {
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// WindowOf returns the window level l is judged over.
func (sr *ScheduledRule) WindowOf(l yujing.Level) time.Duration {
	if l.Valid() && sr.Windows[l] > 0 {
		return sr.Windows[l]
	}
	return sr.Window
}

// levels returns the levels that have a threshold, lowest first.
func (sr *ScheduledRule) levels() []yujing.Level { return levelsOf(&sr.Rule) }

// levelsOf returns the levels of r that have a threshold, lowest first.
func levelsOf(r *Rule) []yujing.Level {
	var out []yujing.Level
	for _, l := range yujing.Levels {
		if r.Above.Set[l] || r.Below.Set[l] {
			out = append(out, l)
		}
	}
	return out
}

// PerLevel reports whether the levels with a threshold are judged over
// different windows.
func (sr *ScheduledRule) PerLevel() bool {
	if sr.Calendar != "" {
		return false
	}
	ls := sr.levels()
	for _, l := range ls {
		if sr.WindowOf(l) != sr.WindowOf(ls[0]) {
			return true
		}
	}
	return false
}

// WindowError says a level has no window: neither window nor
// windows.<level> is set.
type WindowError struct{ Level yujing.Level }

func (e *WindowError) Error() string {
	return fmt.Sprintf("%s has no window: set window (e.g. 3h) or windows.%s", e.Level, e.Level)
}

// WindowedOrderError says a level of a rule with per-level windows is not
// harder to reach than the level below it: its threshold must be at least
// as extreme, and more extreme when both levels share a window.
type WindowedOrderError struct {
	Direction          string // "above" or "below"
	Level, Prev        yujing.Level
	Value, Than        float64
	Window, PrevWindow time.Duration
}

func (e *WindowedOrderError) Error() string {
	cmp := "lower"
	if e.Direction == "below" {
		cmp = "higher"
	}
	if e.Window == e.PrevWindow {
		return fmt.Sprintf("%s: %s threshold %g over %s must be more extreme than %s threshold %g over the same window",
			e.Direction, e.Level, e.Value, FormatWindow(e.Window), e.Prev, e.Than)
	}
	return fmt.Sprintf("%s: %s threshold %g over %s must not be %s than %s threshold %g over %s",
		e.Direction, e.Level, e.Value, FormatWindow(e.Window), cmp, e.Prev, e.Than, FormatWindow(e.PrevWindow))
}

// Validate checks the rule for a scheduler whose cron specs are in loc; it
// returns every problem (errors.Join): a *cronspec.Error, a
// *store.UnknownFuncError, a *WindowError per level without a window, and
// threshold order problems (*ThresholdOrderError, or *WindowedOrderError
// with per-level windows).
func (sr *ScheduledRule) Validate(loc *time.Location) error {
	var errs []error
	if _, err := cronspec.Parse(sr.Schedule, loc); err != nil {
		errs = append(errs, err)
	}
	if !sr.Aggregate.Valid() {
		errs = append(errs, &store.UnknownFuncError{Func: sr.Aggregate})
	}
	if k := sr.Rule.kind(); k != KindThreshold {
		errs = append(errs, fmt.Errorf("a scheduled rule compares an aggregate with thresholds; kind %q does not apply", k))
	}
	switch sr.Calendar {
	case "":
		for _, l := range sr.levels() {
			if sr.WindowOf(l) <= 0 {
				errs = append(errs, &WindowError{Level: l})
			}
		}
	case CalendarDay, CalendarMonth:
		if sr.Window != 0 || slices.ContainsFunc(sr.Windows[:], func(d time.Duration) bool { return d != 0 }) {
			errs = append(errs, fmt.Errorf("calendar: a calendar %s is the window; leave out window and windows", sr.Calendar))
		}
	default:
		errs = append(errs, fmt.Errorf("calendar: %q: want %s or %s", sr.Calendar, CalendarDay, CalendarMonth))
	}
	if b := sr.Baseline; b != nil {
		switch {
		case b.Value != nil && (b.Aggregate != "" || b.Window != 0):
			errs = append(errs, errors.New("baseline: give value (configured) or aggregate and window (learned), not both"))
		case b.Value == nil && (!b.Aggregate.Valid() || b.Window <= 0):
			errs = append(errs, fmt.Errorf("baseline: give value, or aggregate (one of %v) and window (e.g. 720h)", store.Funcs))
		}
		if sr.PerLevel() {
			errs = append(errs, errors.New("baseline: not with per-level windows"))
		}
	}
	if !sr.PerLevel() {
		if err := sr.Rule.Validate(); err != nil {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}
	if sr.Rule.Hysteresis < 0 {
		errs = append(errs, fmt.Errorf("hysteresis must not be negative"))
	}
	for _, dir := range []struct {
		name string
		t    *Tiers
		sign float64
	}{{"above", &sr.Rule.Above, 1}, {"below", &sr.Rule.Below, -1}} {
		prev := yujing.LevelNone
		for _, l := range yujing.Levels {
			if !dir.t.Set[l] {
				continue
			}
			if prev != yujing.LevelNone {
				v, than := dir.t.Value[l], dir.t.Value[prev]
				w, pw := sr.WindowOf(l), sr.WindowOf(prev)
				if dir.sign*(v-than) < 0 || (w == pw && v == than) {
					errs = append(errs, &WindowedOrderError{Direction: dir.name, Level: l, Prev: prev,
						Value: v, Than: than, Window: w, PrevWindow: pw})
				}
			}
			prev = l
		}
	}
	return errors.Join(errs...)
}

// FormatWindow writes a window compactly for metric names: 3h, 90m, 45s.
func FormatWindow(d time.Duration) string {
	switch {
	case d > 0 && d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d > 0 && d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d > 0 && d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}

// DerivedMetric names the metric a scheduled rule derives:
// <metric>_<aggregate>_<window>, e.g. rain_sum_3h (rainfall summed over
// 3 h) or level_rate_30m (change of level per minute over 30 minutes).
func DerivedMetric(metric string, fn store.Func, window time.Duration) string {
	return metric + "_" + string(fn) + "_" + FormatWindow(window)
}

// derivedUnit is the unit of an aggregate of a metric in unit.
func derivedUnit(unit string, fn store.Func) string {
	switch fn {
	case store.FuncCount:
		return ""
	case store.FuncRate:
		return unit + "/min"
	}
	return unit
}
