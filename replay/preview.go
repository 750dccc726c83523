package replay

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/lifecycle"
	"yujing/internal/fakeclock"
	"yujing/store"
	"yujing/store/sqlite"
)

// Preview limits: a preview replays at most MaxPreviewSensors of the
// sensors a rule binds (the first by id) and at most MaxPreviewPoints
// readings of each, read a day at a time and downsampled as the charts
// are (each run's lowest and highest reading, so no spike over a
// threshold is lost), and compares at most MaxPreviewAlerts of the
// warnings actually raised.
const (
	PreviewWindow     = 7 * 24 * time.Hour
	MaxPreviewSensors = 20
	MaxPreviewPoints  = 20160 // two a minute over 7 days
	MaxPreviewAlerts  = 200
)

// Errors of a preview, for the API to tell apart.
var (
	ErrUnknownRule    = errors.New("no such rule")
	ErrNotPreviewable = errors.New("the preview replays threshold, rate and tangent rules only")
	ErrInvalidChange  = errors.New("invalid change")
)

// Live is the running engine a preview starts from: the rule as it is,
// the sensors it binds now, and the warnings it actually raised. An
// *alerting.Engine is one.
type Live interface {
	Rule(name string) (*alerting.Rule, bool)
	Bound(name string) []string
	List(ctx context.Context, f store.AlertFilter) ([]yujing.Alert, error)
	Get(ctx context.Context, id int64) (yujing.Alert, []yujing.Transition, error)
}

// History is the reading store: one series of one sensor's metric, oldest
// first, from ≤ time < to (store/sqlite.Readings, store/influx.Writer).
type History interface {
	Query(ctx context.Context, sensor, metric string, from, to time.Time) ([]yujing.Reading, error)
}

// PreviewOptions are a Previewer's settings.
type PreviewOptions struct {
	Location *time.Location        // of the warnings' messages (default UTC)
	Statuses alerting.SiteStatuses // sites' production statuses now, for when_status rules; nil: all normal
	Now      func() time.Time      // the end of the window (default time.Now)
	Dir      string                // where each preview's state database is made and removed ("": the system's)
}

// Previewer tells what a rule would have raised over the last
// PreviewWindow with other numbers: it replays the stored readings of the
// sensors the rule binds through an offline engine (the rule as it is and
// the rule as changed, side by side, on a fake clock that follows the
// readings, as `yujing replay` does) and sets beside them the warnings
// the running engine actually raised.
type Previewer struct {
	live    Live
	sensors alerting.Catalog
	history History
	o       PreviewOptions
}

// NewPreviewer builds a Previewer.
func NewPreviewer(live Live, sensors alerting.Catalog, history History, o PreviewOptions) *Previewer {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Previewer{live: live, sensors: sensors, history: history, o: o}
}

// Change is what a preview changes in a rule; nil fields keep the rule's.
type Change struct {
	Above, Below, Clear *alerting.Tiers
	Hysteresis          *float64
	For, ClearFor       *time.Duration
}

// apply returns a copy of r with c's numbers.
func (c Change) apply(r alerting.Rule) alerting.Rule {
	if c.Above != nil {
		r.Above = *c.Above
	}
	if c.Below != nil {
		r.Below = *c.Below
	}
	if c.Clear != nil {
		r.Clear = *c.Clear
	}
	if c.Hysteresis != nil {
		r.Hysteresis = *c.Hysteresis
	}
	if c.For != nil {
		r.For = *c.For
	}
	if c.ClearFor != nil {
		r.ClearFor = *c.ClearFor
	}
	return r
}

// PreviewEvent is one thing that happened, or would have, to a warning.
type PreviewEvent struct {
	At    time.Time    `json:"at"`
	Event yujing.Event `json:"event"` // raised, reopened, upgraded, downgraded, resolved
	Level yujing.Level `json:"level"` // after it (a resolved warning keeps its level)
	Value float64      `json:"value"`
	Alert int64        `json:"alert,omitempty"` // the actual warning's id
}

// Counts sums a list of events.
type Counts struct {
	Warnings int `json:"warnings"` // raised or reopened
	Upgrades int `json:"upgrades"`
	Resolved int `json:"resolved"`
	// Peak counts the warnings by the highest level each reached.
	Peak map[string]int `json:"peak"`
}

// SensorPreview is one sensor's part of a preview.
type SensorPreview struct {
	Sensor string `json:"sensor"`
	Metric string `json:"metric"`
	Unit   string `json:"unit,omitempty"`
	// Readings is how many the window holds; Replayed how many went
	// through the engine (fewer when downsampled).
	Readings int `json:"readings"`
	Replayed int `json:"replayed"`
	// Current is what the rule as it is raises from the same readings,
	// Proposed what the changed rule raises, Actual what was raised.
	Current  []PreviewEvent `json:"current"`
	Proposed []PreviewEvent `json:"proposed"`
	Actual   []PreviewEvent `json:"actual"`
}

// PreviewResult is the answer of a preview.
type PreviewResult struct {
	Rule     string          `json:"rule"`
	Kind     alerting.Kind   `json:"kind"`
	From     time.Time       `json:"from"`
	To       time.Time       `json:"to"`
	Sensors  []SensorPreview `json:"sensors"`
	Skipped  []string        `json:"skipped"` // bound sensors beyond MaxPreviewSensors
	Current  Counts          `json:"current"`
	Proposed Counts          `json:"proposed"`
	Actual   Counts          `json:"actual"`
	// Downsampled says some sensor had more readings than were replayed:
	// the times of holds (for, clear_for) are then approximate.
	Downsampled bool `json:"downsampled"`
}

// Names of the two rules in the offline engine.
const (
	previewCurrent  = "current"
	previewProposed = "proposed"
)

// Preview replays the rule named name as it is and with ch over the last
// PreviewWindow.
func (p *Previewer) Preview(ctx context.Context, name string, ch Change) (PreviewResult, error) {
	cur, ok := p.live.Rule(name)
	if !ok {
		return PreviewResult{}, fmt.Errorf("rule %q: %w", name, ErrUnknownRule)
	}
	kind := cur.Kind
	if kind == "" {
		kind = alerting.KindThreshold
	}
	if kind != alerting.KindThreshold && kind != alerting.KindRate && kind != alerting.KindTangent {
		return PreviewResult{}, fmt.Errorf("rule %q is a %s rule: %w", name, kind, ErrNotPreviewable)
	}
	proposed := ch.apply(*cur)
	if err := proposed.Validate(); err != nil {
		return PreviewResult{}, fmt.Errorf("%w: %w", ErrInvalidChange, err)
	}
	to := p.o.Now()
	from := to.Add(-PreviewWindow)
	res := PreviewResult{Rule: name, Kind: kind, From: from, To: to, Skipped: []string{}, Sensors: []SensorPreview{}}
	bound := p.live.Bound(name)
	if len(bound) > MaxPreviewSensors {
		res.Skipped = bound[MaxPreviewSensors:]
		bound = bound[:MaxPreviewSensors]
	}
	var all []Reading
	index := map[string]int{}
	for _, id := range bound {
		sn, ok := p.sensors.ByID(id)
		if !ok {
			continue
		}
		metric := cur.Metric
		if metric == "" {
			metric = sn.Metric
		}
		rs, n, err := p.read(ctx, id, metric, from, to)
		if err != nil {
			return PreviewResult{}, err
		}
		index[id] = len(res.Sensors)
		res.Sensors = append(res.Sensors, SensorPreview{Sensor: id, Metric: metric, Unit: sn.UnitOf(metric), Readings: n, Replayed: len(rs),
			Current: []PreviewEvent{}, Proposed: []PreviewEvent{}, Actual: []PreviewEvent{}})
		res.Downsampled = res.Downsampled || len(rs) < n
		for _, r := range rs {
			all = append(all, Reading{Reading: r})
		}
	}
	if len(all) > 0 {
		slices.SortStableFunc(all, func(a, b Reading) int { return a.Reading.Time.Compare(b.Reading.Time) })
		c, pr := *cur, proposed
		c.Name, pr.Name = previewCurrent, previewProposed
		c.Sensors, pr.Sensors = bound, bound
		if err := p.replay(ctx, []*alerting.Rule{&c, &pr}, all, func(rule string, a yujing.Alert, tr yujing.Transition) {
			sp := &res.Sensors[index[a.Sensor]]
			ev := PreviewEvent{At: tr.At, Event: tr.Event, Level: tr.ToLevel, Value: tr.Value}
			if rule == previewCurrent {
				sp.Current = append(sp.Current, ev)
			} else {
				sp.Proposed = append(sp.Proposed, ev)
			}
		}); err != nil {
			return PreviewResult{}, err
		}
	}
	if err := p.actual(ctx, name, from, to, &res, index); err != nil {
		return PreviewResult{}, err
	}
	for _, sp := range res.Sensors {
		res.Current.add(sp.Current)
		res.Proposed.add(sp.Proposed)
		res.Actual.add(sp.Actual)
	}
	return res, nil
}

// read reads a sensor's metric a day at a time, each day downsampled to
// its share of MaxPreviewPoints; n is how many readings the window holds.
func (p *Previewer) read(ctx context.Context, sensor, metric string, from, to time.Time) (out []yujing.Reading, n int, err error) {
	const day = 24 * time.Hour
	share := max(int(int64(MaxPreviewPoints)*int64(day)/int64(to.Sub(from))), 2)
	for t := from; t.Before(to); t = t.Add(day) {
		end := t.Add(day)
		if end.After(to) {
			end = to // a shorter last day gets its share of the points
			share = max(int(int64(share)*int64(end.Sub(t))/int64(day)), 2)
		}
		rs, err := p.history.Query(ctx, sensor, metric, t, end)
		if err != nil {
			return nil, 0, fmt.Errorf("readings of %s/%s: %w", sensor, metric, err)
		}
		n += len(rs)
		out = append(out, store.Downsample(rs, share)...)
	}
	return out, n, nil
}

// replay runs the readings through an offline engine with rules, telling
// each warning event on the way.
func (p *Previewer) replay(ctx context.Context, rules []*alerting.Rule, readings []Reading, event func(rule string, a yujing.Alert, tr yujing.Transition)) error {
	dir, err := os.MkdirTemp(p.o.Dir, "yujing-preview-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := sqlite.OpenState(ctx, filepath.Join(dir, "state.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	clk := fakeclock.New(readings[0].Reading.Time)
	// The rules and the alert lifecycle, offline: a preview calls no one.
	alerts, err := lifecycle.New(st, p.sensors, lifecycle.Options{Now: clk.Now, Location: p.o.Location,
		OnChange: func(c lifecycle.Change) {
			if warningEvent(c.Transition.Event) {
				event(c.Alert.Rule, c.Alert, c.Transition)
			}
		}})
	if err != nil {
		return err
	}
	if err := alerts.Restore(ctx); err != nil {
		return err
	}
	eng, err := alerting.New(rules, alerts, p.sensors, alerting.Options{Now: clk.Now, Location: p.o.Location, Statuses: p.o.Statuses})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidChange, err)
	}
	if err := eng.Restore(ctx); err != nil {
		return err
	}
	last, err := play(ctx, eng, clk, readings, 0, func(context.Context, time.Time) error { return nil }, func(yujing.Reading) {})
	if err != nil {
		return err
	}
	eng.Tick(ctx, last)
	return nil
}

// actual adds the warnings the running engine raised under the rule, on
// the sensors previewed, that started in the window or are still open.
func (p *Previewer) actual(ctx context.Context, name string, from, to time.Time, res *PreviewResult, index map[string]int) error {
	started, err := p.live.List(ctx, store.AlertFilter{Rule: name, From: from, Limit: MaxPreviewAlerts})
	if err != nil {
		return err
	}
	open, err := p.live.List(ctx, store.AlertFilter{Rule: name, Limit: MaxPreviewAlerts,
		States: []yujing.State{yujing.StateFiring, yujing.StateAcknowledged, yujing.StateDisposing, yujing.StateResolved}})
	if err != nil {
		return err
	}
	seen := map[int64]bool{}
	for _, a := range append(started, open...) {
		i, ok := index[a.Sensor]
		if seen[a.ID] || !ok || len(seen) >= MaxPreviewAlerts {
			continue
		}
		seen[a.ID] = true
		_, hist, err := p.live.Get(ctx, a.ID)
		if err != nil {
			return err
		}
		for _, tr := range hist {
			if warningEvent(tr.Event) && !tr.At.Before(from) && !tr.At.After(to) {
				sp := &res.Sensors[i]
				sp.Actual = append(sp.Actual, PreviewEvent{At: tr.At, Event: tr.Event, Level: tr.ToLevel, Value: tr.Value, Alert: a.ID})
			}
		}
	}
	for i := range res.Sensors {
		slices.SortStableFunc(res.Sensors[i].Actual, func(a, b PreviewEvent) int { return a.At.Compare(b.At) })
	}
	return nil
}

// warningEvent says whether an event is the engine's (a level changed),
// not an operator's.
func warningEvent(e yujing.Event) bool {
	switch e {
	case yujing.EventRaised, yujing.EventReopened, yujing.EventUpgraded, yujing.EventDowngraded, yujing.EventResolved:
		return true
	}
	return false
}

// add counts events, oldest first, of one sensor.
func (c *Counts) add(evs []PreviewEvent) {
	if c.Peak == nil {
		c.Peak = map[string]int{}
	}
	peak := yujing.LevelNone
	end := func() {
		if peak != yujing.LevelNone {
			c.Peak[peak.String()]++
		}
		peak = yujing.LevelNone
	}
	for _, e := range evs {
		switch e.Event {
		case yujing.EventRaised, yujing.EventReopened:
			end()
			c.Warnings++
		case yujing.EventUpgraded:
			c.Upgrades++
		case yujing.EventResolved:
			c.Resolved++
		}
		peak = max(peak, e.Level)
		if e.Event == yujing.EventResolved {
			end()
		}
	}
	end()
}
