package alerting

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"yujing"
	"yujing/store"
)

// target is one sensor a scheduled rule selects at a tick, and what the
// tick's queries found for it.
type target struct {
	sn      yujing.Sensor
	rule    *Rule // with the sensor's overrides
	metric  string
	levels  []yujing.Level  // with a threshold, lowest first
	windows []time.Duration // of those levels, each once
	vals    map[time.Duration]windowValue
	// base is the learned baseline, when baseKnown.
	base      float64
	baseKnown bool
	// empty: a window (or the baseline's) held no data. err: a query for
	// the sensor failed, so it is not evaluated at this tick.
	empty bool
	err   error
}

// windowValue is an aggregate over one window; known is false when the
// window held no data.
type windowValue struct {
	v     float64
	known bool
}

// evaluate computes the rule for every sensor it selects at tick at and
// hands the values to the observer, sensor by sensor in the catalog's
// order. The store is asked once per metric and window for all the
// sensors at once (and once more for a learned baseline), the open alerts
// of a rule with per-level windows in one listing. A failing query is
// reported and the sensors it was for are skipped at this tick; the others
// carry on.
func (s *Scheduler) evaluate(ctx context.Context, sr *ScheduledRule, at time.Time) (sensors, noData int, errs []error) {
	ts := s.targets(sr)
	errs = s.aggregateWindows(ctx, sr, at, ts)
	if sr.Baseline != nil {
		errs = append(errs, s.baselines(ctx, sr, at, ts)...)
	}
	var open map[string]yujing.Level
	if sr.PerLevel() && slices.ContainsFunc(ts, func(t *target) bool { return t.err == nil && len(t.levels) > 0 }) {
		var err error
		if open, err = s.openLevels(ctx, sr.Rule.Name); err != nil {
			err = fmt.Errorf("rule %q: current levels: %w", sr.Rule.Name, err)
			errs = append(errs, err)
			for _, t := range ts {
				t.err = firstErr(t.err, err)
			}
		}
	}
	for _, t := range ts {
		if t.err == nil {
			s.observe(ctx, sr, t, at, open[t.sn.ID])
		}
		if t.empty {
			noData++
		}
	}
	return len(ts), noData, errs
}

// firstErr returns the first of a and b that is not nil.
func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// targets returns the sensors the rule selects: those it names, or else
// those its match selects.
func (s *Scheduler) targets(sr *ScheduledRule) []*target {
	var named map[string]bool
	if len(sr.Rule.Sensors) > 0 {
		named = make(map[string]bool, len(sr.Rule.Sensors))
		for _, id := range sr.Rule.Sensors {
			named[id] = true
		}
	}
	var out []*target
	for _, sn := range s.cat.Sensors() {
		if named != nil {
			if !named[sn.ID] {
				continue
			}
		} else if site, _ := s.cat.Site(sn.Site); !sr.Rule.Match.Matches(&sn, site) {
			continue
		}
		t := &target{sn: sn, rule: sr.Rule.forSensor(sn.ID), metric: sr.Rule.Metric}
		if t.metric == "" {
			t.metric = sn.Metric
		}
		t.levels = levelsOf(t.rule)
		for _, l := range t.levels {
			if w := sr.WindowOf(l); !slices.Contains(t.windows, w) {
				t.windows = append(t.windows, w)
			}
		}
		t.vals = make(map[time.Duration]windowValue, len(t.windows))
		out = append(out, t)
	}
	return out
}

// windowStart is where the rule's window w ending at at starts.
func (s *Scheduler) windowStart(sr *ScheduledRule, w time.Duration, at time.Time) time.Time {
	if sr.Calendar != "" {
		return CalendarStart(sr.Calendar, at, s.loc)
	}
	return at.Add(-w)
}

// windowKey is one query of a tick: a metric over a window.
type windowKey struct {
	metric string
	w      time.Duration
}

// aggregateWindows asks the store, once per metric and window, for the
// rule's aggregate of every target that needs it, and records the values.
func (s *Scheduler) aggregateWindows(ctx context.Context, sr *ScheduledRule, at time.Time, ts []*target) []error {
	var keys []windowKey
	asked := map[windowKey][]*target{}
	for _, t := range ts {
		for _, w := range t.windows {
			k := windowKey{t.metric, w}
			if _, ok := asked[k]; !ok {
				keys = append(keys, k)
			}
			asked[k] = append(asked[k], t)
		}
	}
	var errs []error
	for _, k := range keys {
		group := asked[k]
		ids := make([]string, len(group))
		for i, t := range group {
			ids[i] = t.sn.ID
		}
		qctx, cancel := context.WithTimeout(ctx, s.timeout)
		got, err := s.agg.AggregateBySensor(qctx, k.metric, sr.Aggregate, s.windowStart(sr, k.w, at), at, ids)
		cancel()
		if err != nil {
			span := sr.Calendar
			if span == "" {
				span = FormatWindow(k.w)
			}
			err = fmt.Errorf("rule %q: %s %s over %s of %s: %w", sr.Rule.Name, k.metric, sr.Aggregate, span, sensorsNamed(ids), err)
			errs = append(errs, err)
		}
		for _, t := range group {
			if err != nil {
				t.err = firstErr(t.err, err)
				continue
			}
			v, ok := got[t.sn.ID]
			// Count is defined on an empty window (0); the others are not.
			t.vals[k.w] = windowValue{v: v, known: ok || sr.Aggregate == store.FuncCount}
			t.empty = t.empty || !ok
		}
	}
	for _, t := range ts {
		if t.err != nil {
			t.empty = false // not evaluated: no verdict on its data
		}
	}
	return errs
}

// baselines sets the baseline of every target whose value is known: the
// configured one, or the one learned over the baseline's window ending
// where the tick's window starts, asked for once per metric and start. A
// target with nothing to learn from yet counts as without data.
func (s *Scheduler) baselines(ctx context.Context, sr *ScheduledRule, at time.Time, ts []*target) []error {
	b := sr.Baseline
	type key struct {
		metric string
		end    time.Time
	}
	var keys []key
	asked := map[key][]*target{}
	for _, t := range ts {
		if t.err != nil || len(t.levels) == 0 {
			continue
		}
		w := sr.WindowOf(t.levels[0])
		if !t.vals[w].known {
			continue
		}
		if b.Value != nil {
			t.base, t.baseKnown = *b.Value, true
			continue
		}
		k := key{t.metric, s.windowStart(sr, w, at)}
		if _, ok := asked[k]; !ok {
			keys = append(keys, k)
		}
		asked[k] = append(asked[k], t)
	}
	var errs []error
	for _, k := range keys {
		group := asked[k]
		ids := make([]string, len(group))
		for i, t := range group {
			ids[i] = t.sn.ID
		}
		qctx, cancel := context.WithTimeout(ctx, s.timeout)
		got, err := s.agg.AggregateBySensor(qctx, k.metric, b.Aggregate, k.end.Add(-b.Window), k.end, ids)
		cancel()
		if err != nil {
			err = fmt.Errorf("rule %q: baseline: %s %s over %s of %s: %w", sr.Rule.Name, k.metric, b.Aggregate, FormatWindow(b.Window), sensorsNamed(ids), err)
			errs = append(errs, err)
		}
		for _, t := range group {
			switch v, ok := got[t.sn.ID]; {
			case err != nil:
				t.err = err
			case ok:
				t.base, t.baseKnown = v, true
			default:
				t.empty = true // nothing learned yet: no value to judge
			}
		}
	}
	return errs
}

// namedSensors is how many sensors an error names.
const namedSensors = 3

// sensorsNamed names the sensors a query was for, the first namedSensors
// of many: "sensor RG-1", "sensors RG-1, RG-2", "5 sensors RG-1, RG-2,
// RG-3 and 2 more".
func sensorsNamed(ids []string) string {
	switch {
	case len(ids) == 1:
		return "sensor " + ids[0]
	case len(ids) <= namedSensors:
		return "sensors " + strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%d sensors %s and %d more", len(ids), strings.Join(ids[:namedSensors], ", "), len(ids)-namedSensors)
}

// listPage is how many open alerts openLevels asks for at a time.
const listPage = 5000

// openLevels returns the level of each sensor's open alert of the rule,
// listed page by page. Only the rule's own evaluation opens or resolves
// its alerts (an operator's acknowledgement or disposal keeps one open),
// so the set does not change between the pages.
func (s *Scheduler) openLevels(ctx context.Context, rule string) (map[string]yujing.Level, error) {
	out := map[string]yujing.Level{}
	seen := map[int64]bool{}
	for offset := 0; ; {
		as, err := s.obs.List(ctx, store.AlertFilter{Rule: rule, Limit: listPage, Offset: offset,
			States: []yujing.State{yujing.StateFiring, yujing.StateAcknowledged, yujing.StateDisposing}})
		if err != nil {
			return nil, err
		}
		fresh := 0
		for _, a := range as {
			if seen[a.ID] {
				continue
			}
			seen[a.ID] = true
			fresh++
			if _, ok := out[a.Sensor]; !ok { // the newest, as the list comes
				out[a.Sensor] = a.Level
			}
		}
		if fresh == 0 {
			return out, nil
		}
		offset += len(as)
	}
}

// observe hands the engine the value of one target whose queries
// succeeded; cur is the level of its open alert (LevelNone: none).
func (s *Scheduler) observe(ctx context.Context, sr *ScheduledRule, t *target, at time.Time, cur yujing.Level) {
	if len(t.levels) == 0 {
		return
	}
	rule, metric, vals := t.rule, t.metric, t.vals
	rd := yujing.Reading{Sensor: t.sn.ID, Site: t.sn.Site, Family: t.sn.Family,
		Unit: derivedUnit(t.sn.UnitOf(metric), sr.Aggregate), Time: at}

	if !sr.PerLevel() {
		w := sr.WindowOf(t.levels[0])
		if !vals[w].known {
			return
		}
		rd.Metric, rd.Value = DerivedMetric(metric, sr.Aggregate, w), vals[w].v
		if sr.Calendar != "" {
			rd.Metric = metric + "_" + string(sr.Aggregate) + "_" + sr.Calendar // energy_sum_month
		}
		if sr.Baseline != nil {
			if !t.baseKnown {
				return // nothing learned yet
			}
			rd.Metric, rd.Value = rd.Metric+"_over_baseline", rd.Value-t.base
		}
		s.obs.ObserveDerived(ctx, rule, rd)
		return
	}

	// Per-level windows: the level the condition is at decides which
	// levels keep their hysteresis.
	level, dir, known := decideLevel(sr, rule, vals, cur)
	if !known {
		return // a held level whose window has no data: it stays
	}
	view := *rule
	view.Above, view.Below = Tiers{}, Tiers{}
	w := sr.WindowOf(level)
	if level == yujing.LevelNone {
		if cur == yujing.LevelNone {
			return // nothing held, nothing reached
		}
		// Resolved: report the lowest level's window, the last to clear.
		w = sr.WindowOf(t.levels[0])
	} else if dir > 0 {
		view.Above.Value[level], view.Above.Set[level] = rule.Above.Value[level], true
	} else {
		view.Below.Value[level], view.Below.Set[level] = rule.Below.Value[level], true
	}
	// view holds only the decided level's threshold, so the engine, at the
	// same current level, reaches the same level, and records that
	// threshold and that window's value.
	rd.Metric, rd.Value = DerivedMetric(metric, sr.Aggregate, w), vals[w].v
	s.obs.ObserveDerived(ctx, &view, rd)
}

// decideLevel returns the highest level whose condition holds over its own
// window, judged as Rule.Evaluate judges one tier (the threshold to enter a
// level above cur, hysteresis to stay at cur or below), and dir, 1 for
// above and -1 for below. A level whose window has no data counts as
// holding if it is at or below cur: no data is not recovery; known is false
// when that decided the level.
func decideLevel(sr *ScheduledRule, rule *Rule, vals map[time.Duration]windowValue, cur yujing.Level) (level yujing.Level, dir float64, known bool) {
	for l := yujing.Red; l >= yujing.Blue; l-- {
		wv := vals[sr.WindowOf(l)]
		for _, d := range []struct {
			t    *Tiers
			sign float64
		}{{&rule.Above, 1}, {&rule.Below, -1}} {
			if !d.t.Set[l] {
				continue
			}
			if !wv.known {
				if l <= cur {
					return l, d.sign, false
				}
				continue
			}
			var one Tiers
			one.Value[l], one.Set[l] = d.t.Value[l], true
			if got, _ := evalTiers(&one, &rule.Clear, wv.v, cur, rule.Hysteresis, d.sign); got == l {
				return l, d.sign, true
			}
		}
	}
	return yujing.LevelNone, 0, true
}
