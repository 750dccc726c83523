package sqlstate

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/store"
	"yujing/store/internal/sqldb"
)

var shanghai = time.FixedZone("CST", 8*3600)

// openTestState opens a new SQLite state database, for the tests of what
// only SQLite has; the conformance suite (TestConformance) opens both.
func openTestState(t *testing.T) *State {
	t.Helper()
	s, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "state.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func ptr(t time.Time) *time.Time { return &t }

// stored returns a as the store returns it: times in UTC, a non-nil zero
// time as nil, text cleaned (sqldb.CleanText).
func stored(a yujing.Alert) yujing.Alert {
	a.Message = sqldb.CleanText(a.Message)
	a.StartedAt, a.UpdatedAt = a.StartedAt.UTC(), a.UpdatedAt.UTC()
	for _, p := range []**time.Time{&a.AckedAt, &a.ResolvedAt, &a.ClosedAt} {
		if *p != nil {
			if (*p).IsZero() {
				*p = nil
			} else {
				*p = ptr((*p).UTC())
			}
		}
	}
	return a
}

func storedTransition(t yujing.Transition) yujing.Transition {
	t.At = t.At.UTC()
	return t
}

// sameFloat is float equality in which NaN equals NaN.
func sameFloat(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

func equalAlerts(a, b yujing.Alert) bool {
	if !sameFloat(a.Value, b.Value) || !sameFloat(a.Threshold, b.Threshold) {
		return false
	}
	a.Value, a.Threshold, b.Value, b.Threshold = 0, 0, 0, 0
	return reflect.DeepEqual(a, b)
}

func equalTransitions(a, b yujing.Transition) bool {
	if !sameFloat(a.Value, b.Value) {
		return false
	}
	a.Value, b.Value = 0, 0
	return reflect.DeepEqual(a, b)
}

func testAlertRoundTrip(t *testing.T, b backend) {
	s := b.open(t)
	t0 := time.Date(2025, 7, 1, 8, 30, 0, 123456789, shanghai)
	tests := []struct {
		name string
		a    yujing.Alert
		tr   yujing.Transition
	}{
		{
			name: "firing, no optional times",
			a: yujing.Alert{Rule: "gas-high", Sensor: "gas-1", Site: "plant-a", Family: yujing.FamilyGas,
				Metric: "lel", Unit: "%LEL", Level: yujing.Blue, State: yujing.StateFiring, Value: 26.5,
				Threshold: 25, Message: "可燃气体浓度 26.5 %LEL ≥ 25", StartedAt: t0, UpdatedAt: t0},
			tr: yujing.Transition{At: t0, Event: yujing.EventRaised, FromLevel: yujing.LevelNone,
				ToLevel: yujing.Blue, ToState: yujing.StateFiring, Value: 26.5, Actor: yujing.ActorSystem},
		},
		{
			name: "closed, every field set",
			a: yujing.Alert{Rule: "flood", Sensor: "river-1", Site: "county-x", Family: yujing.FamilyFlood,
				Metric: "level", Unit: "m", Level: yujing.Red, State: yujing.StateClosed, Value: -1.25,
				Threshold: -0.5, Message: "line 1\nline 2 'quoted' \"double\" \x00 nul", StartedAt: t0,
				UpdatedAt: t0.Add(3 * time.Hour), AckedAt: ptr(t0.Add(time.Minute)), AckedBy: "zhang.san",
				ResolvedAt: ptr(t0.Add(2 * time.Hour).In(time.UTC)), ClosedAt: ptr(t0.Add(3 * time.Hour)),
				Reason: string(yujing.ReasonFalseAlarm)},
			tr: yujing.Transition{At: t0.Add(3 * time.Hour), Event: yujing.EventClosed, FromLevel: yujing.Red,
				ToLevel: yujing.Red, FromState: yujing.StateResolved, ToState: yujing.StateClosed, Value: -1.25,
				Actor: "operator-7", Note: "核查销号", Reason: string(yujing.ReasonFalseAlarm)},
		},
		{
			name: "no level, zero times, non-nil zero pointer, odd floats",
			a: yujing.Alert{Rule: "r", Sensor: "s", Level: yujing.LevelNone, State: yujing.StateResolved,
				Value: math.NaN(), Threshold: math.Inf(-1), ResolvedAt: ptr(time.Time{})},
			tr: yujing.Transition{Event: yujing.EventResolved, Value: math.Inf(1)},
		},
		{
			name: "extreme times",
			a: yujing.Alert{Rule: "r", Sensor: "s", Level: yujing.Orange, State: yujing.StateAcknowledged,
				StartedAt: sqldb.MinNanoTime, UpdatedAt: sqldb.MaxNanoTime, AckedAt: ptr(time.Unix(0, 1)),
				Value: math.MaxFloat64, Threshold: math.SmallestNonzeroFloat64},
			tr: yujing.Transition{At: sqldb.MaxNanoTime, Event: yujing.EventAcknowledged, FromLevel: yujing.Orange,
				ToLevel: yujing.Orange, FromState: yujing.StateFiring, ToState: yujing.StateAcknowledged},
		},
	}
	for _, level := range yujing.Levels {
		tests = append(tests, struct {
			name string
			a    yujing.Alert
			tr   yujing.Transition
		}{
			name: "level " + level.String(),
			a:    yujing.Alert{Rule: "r-" + level.String(), Sensor: "s", Level: level, State: yujing.StateDisposing, StartedAt: t0, UpdatedAt: t0},
			tr:   yujing.Transition{At: t0, Event: yujing.EventUpgraded, FromLevel: level - 1, ToLevel: level, ToState: yujing.StateDisposing},
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, tr := tt.a, tt.tr
			if err := s.CreateAlert(t.Context(), &a, &tr); err != nil {
				t.Fatal(err)
			}
			if a.ID == 0 || tr.AlertID != a.ID || tr.ID == 0 {
				t.Fatalf("ids not set: alert %d, transition %d of alert %d", a.ID, tr.ID, tr.AlertID)
			}
			got, hist, err := s.Alert(t.Context(), a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if want := stored(a); !equalAlerts(got, want) {
				t.Errorf("alert\ngot  %+v\nwant %+v", got, want)
			}
			if len(hist) != 1 {
				t.Fatalf("%d transitions, want 1", len(hist))
			}
			if want := storedTransition(tr); !equalTransitions(hist[0], want) {
				t.Errorf("transition\ngot  %+v\nwant %+v", hist[0], want)
			}
			// The alert is unchanged by an update with the same values,
			// and the new transition round-trips too.
			tr2 := tt.tr
			tr2.Note = "second"
			if err := s.UpdateAlert(t.Context(), a, &tr2); err != nil {
				t.Fatal(err)
			}
			got, hist, err = s.Alert(t.Context(), a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if want := stored(a); !equalAlerts(got, want) {
				t.Errorf("alert after update\ngot  %+v\nwant %+v", got, want)
			}
			if len(hist) != 2 || !equalTransitions(hist[1], storedTransition(tr2)) {
				t.Errorf("history after update: %+v", hist)
			}
		})
	}
}

func testAlertHistory(t *testing.T, b backend) {
	s := b.open(t)
	t0 := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	a := yujing.Alert{Rule: "tank-level", Sensor: "tank-1", Site: "plant-a", Family: yujing.FamilyHazard,
		Metric: "level", Unit: "m", Level: yujing.Yellow, State: yujing.StateFiring, Value: 8.1, Threshold: 8,
		StartedAt: t0, UpdatedAt: t0}
	steps := []struct {
		change func(a *yujing.Alert, at time.Time)
		tr     yujing.Transition
	}{
		{nil, yujing.Transition{Event: yujing.EventRaised, ToLevel: yujing.Yellow, ToState: yujing.StateFiring, Value: 8.1, Actor: yujing.ActorSystem}},
		{func(a *yujing.Alert, at time.Time) { a.Level, a.Value, a.Threshold = yujing.Orange, 9.2, 9 },
			yujing.Transition{Event: yujing.EventUpgraded, FromLevel: yujing.Yellow, ToLevel: yujing.Orange, FromState: yujing.StateFiring, ToState: yujing.StateFiring, Value: 9.2, Actor: yujing.ActorSystem}},
		{func(a *yujing.Alert, at time.Time) {
			a.State, a.AckedAt, a.AckedBy = yujing.StateAcknowledged, &at, "li.si"
		},
			yujing.Transition{Event: yujing.EventAcknowledged, FromLevel: yujing.Orange, ToLevel: yujing.Orange, FromState: yujing.StateFiring, ToState: yujing.StateAcknowledged, Value: 9.2, Actor: "li.si", Note: "收到"}},
		{func(a *yujing.Alert, at time.Time) { a.State = yujing.StateDisposing },
			yujing.Transition{Event: yujing.EventDisposed, FromLevel: yujing.Orange, ToLevel: yujing.Orange, FromState: yujing.StateAcknowledged, ToState: yujing.StateDisposing, Actor: "li.si", Note: "关闭进料阀"}},
		{func(a *yujing.Alert, at time.Time) {
			a.Level, a.State, a.ResolvedAt, a.Value = yujing.LevelNone, yujing.StateResolved, &at, 7
		},
			yujing.Transition{Event: yujing.EventResolved, FromLevel: yujing.Orange, ToLevel: yujing.LevelNone, FromState: yujing.StateDisposing, ToState: yujing.StateResolved, Value: 7, Actor: yujing.ActorSystem}},
		{func(a *yujing.Alert, at time.Time) {
			a.State, a.ClosedAt, a.Reason = yujing.StateClosed, &at, string(yujing.ReasonRealHazard)
		}, yujing.Transition{Event: yujing.EventClosed, FromState: yujing.StateResolved, ToState: yujing.StateClosed, Actor: "operator-1", Reason: string(yujing.ReasonRealHazard)}},
	}
	var want []yujing.Transition
	for i, st := range steps {
		at := t0.Add(time.Duration(i) * time.Minute)
		tr := st.tr
		tr.At = at
		if i == 0 {
			if err := s.CreateAlert(t.Context(), &a, &tr); err != nil {
				t.Fatal(err)
			}
		} else {
			st.change(&a, at)
			a.UpdatedAt = at
			if err := s.UpdateAlert(t.Context(), a, &tr); err != nil {
				t.Fatal(err)
			}
		}
		if tr.AlertID != a.ID || (len(want) > 0 && tr.ID <= want[len(want)-1].ID) {
			t.Fatalf("step %d: transition %d of alert %d", i, tr.ID, tr.AlertID)
		}
		want = append(want, tr)
	}
	got, hist, err := s.Alert(t.Context(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !equalAlerts(got, stored(a)) {
		t.Errorf("alert\ngot  %+v\nwant %+v", got, stored(a))
	}
	if !reflect.DeepEqual(hist, want) {
		t.Errorf("history\ngot  %+v\nwant %+v", hist, want)
	}

	// Rule, sensor and start are fixed at creation.
	moved := a
	moved.Rule, moved.Sensor, moved.StartedAt = "other", "other", t0.Add(time.Hour)
	if err := s.UpdateAlert(t.Context(), moved, &yujing.Transition{Event: yujing.EventReopened}); err != nil {
		t.Fatal(err)
	}
	got, _, err = s.Alert(t.Context(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Rule != a.Rule || got.Sensor != a.Sensor || !got.StartedAt.Equal(a.StartedAt) {
		t.Errorf("identity changed by an update: %+v", got)
	}
}

func testAlertNotFound(t *testing.T, b backend) {
	s := b.open(t)
	tr := yujing.Transition{Event: yujing.EventAcknowledged}
	err := s.UpdateAlert(t.Context(), yujing.Alert{ID: 42, Rule: "r", Sensor: "s"}, &tr)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("UpdateAlert of a missing alert: %v", err)
	}
	if !strings.Contains(err.Error(), s.Path()) {
		t.Errorf("error does not name the file: %v", err)
	}
	if tr.ID != 0 {
		t.Errorf("transition id set to %d", tr.ID)
	}
	if n := countRows(t, s, "transitions"); n != 0 {
		t.Errorf("%d transitions stored for a missing alert", n)
	}
	if _, _, err := s.Alert(t.Context(), 42); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Alert of a missing alert: %v", err)
	}
}

func testCreateAlertInvalid(t *testing.T, b backend) {
	s := b.open(t)
	ok := func() (*yujing.Alert, *yujing.Transition) {
		return &yujing.Alert{Rule: "r", Sensor: "s", Level: yujing.Red, State: yujing.StateFiring},
			&yujing.Transition{Event: yujing.EventRaised}
	}
	tests := []struct {
		name string
		mod  func(*yujing.Alert, *yujing.Transition) (*yujing.Alert, *yujing.Transition)
	}{
		{"nil alert", func(a *yujing.Alert, t *yujing.Transition) (*yujing.Alert, *yujing.Transition) { return nil, t }},
		{"nil transition", func(a *yujing.Alert, t *yujing.Transition) (*yujing.Alert, *yujing.Transition) { return a, nil }},
		{"id already set", func(a *yujing.Alert, t *yujing.Transition) (*yujing.Alert, *yujing.Transition) {
			a.ID = 7
			return a, t
		}},
		{"alert time out of range", func(a *yujing.Alert, t *yujing.Transition) (*yujing.Alert, *yujing.Transition) {
			a.ClosedAt = ptr(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))
			return a, t
		}},
		{"transition time out of range", func(a *yujing.Alert, t *yujing.Transition) (*yujing.Alert, *yujing.Transition) {
			t.At = time.Date(1066, 10, 14, 0, 0, 0, 0, time.UTC)
			return a, t
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, tr := tt.mod(ok())
			err := s.CreateAlert(t.Context(), a, tr)
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			if n := countRows(t, s, "alerts"); n != 0 {
				t.Errorf("%d alerts stored by a failed create", n)
			}
		})
	}
}

// seedAlerts stores alerts from a compact description and returns them in
// creation order.
func seedAlerts(t *testing.T, s *State, t0 time.Time) []yujing.Alert {
	t.Helper()
	specs := []struct {
		rule, sensor, site string
		family             yujing.Family
		level              yujing.Level
		state              yujing.State
	}{
		{"gas-high", "gas-1", "plant-a", yujing.FamilyGas, yujing.Blue, yujing.StateFiring},
		{"gas-high", "gas-2", "plant-a", yujing.FamilyGas, yujing.Red, yujing.StateAcknowledged},
		{"gas-high", "gas-1", "plant-a", yujing.FamilyGas, yujing.Yellow, yujing.StateClosed},
		{"rain-3h", "rain-1", "county-x", yujing.FamilyWeather, yujing.Orange, yujing.StateDisposing},
		{"river", "river-1", "county-x", yujing.FamilyFlood, yujing.Red, yujing.StateResolved},
		{"river", "river-2", "county-y", yujing.FamilyFlood, yujing.Blue, yujing.StateClosed},
		{"dust-dp", "dust-1", "plant-b", yujing.FamilyDust, yujing.Yellow, yujing.StateFiring},
	}
	var out []yujing.Alert
	for i, sp := range specs {
		at := t0.Add(time.Duration(i) * time.Hour)
		a := yujing.Alert{Rule: sp.rule, Sensor: sp.sensor, Site: sp.site, Family: sp.family,
			Level: sp.level, State: sp.state, StartedAt: at, UpdatedAt: at}
		if sp.state == yujing.StateClosed {
			a.ClosedAt = ptr(at.Add(time.Minute))
		}
		tr := yujing.Transition{At: at, Event: yujing.EventRaised, ToLevel: sp.level, ToState: sp.state}
		if err := s.CreateAlert(t.Context(), &a, &tr); err != nil {
			t.Fatal(err)
		}
		out = append(out, stored(a))
	}
	return out
}

func testCountAlerts(t *testing.T, b backend) {
	s := b.open(t)
	seedAlerts(t, s, time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC))
	open := []yujing.State{yujing.StateFiring, yujing.StateAcknowledged, yujing.StateDisposing, yujing.StateResolved}
	tests := []struct {
		name string
		f    Filter
		want map[yujing.Level]int
	}{
		{"everything", Filter{}, map[yujing.Level]int{yujing.Red: 2, yujing.Orange: 1, yujing.Yellow: 2, yujing.Blue: 2}},
		{"open", Filter{States: open}, map[yujing.Level]int{yujing.Red: 2, yujing.Orange: 1, yujing.Yellow: 1, yujing.Blue: 1}},
		{"the page is not the count", Filter{States: open, Limit: 1, Offset: 1, Order: store.OrderSeverity}, map[yujing.Level]int{yujing.Red: 2, yujing.Orange: 1, yujing.Yellow: 1, yujing.Blue: 1}},
		{"open at a site", Filter{States: open, Site: "plant-a"}, map[yujing.Level]int{yujing.Red: 1, yujing.Blue: 1}},
		{"red and orange", Filter{Levels: []yujing.Level{yujing.Red, yujing.Orange}}, map[yujing.Level]int{yujing.Red: 2, yujing.Orange: 1}},
		{"no match", Filter{Site: "nowhere"}, map[yujing.Level]int{}},
		{"a region with no sites", Filter{Sites: []string{}}, map[yujing.Level]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.CountAlerts(t.Context(), tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func testOpenAlerts(t *testing.T, b backend) {
	s := b.open(t)
	got, err := s.OpenAlerts(t.Context())
	if err != nil || len(got) != 0 {
		t.Fatalf("empty database: %v, %v", got, err)
	}
	t0 := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	all := seedAlerts(t, s, t0)
	// Close the first one later: it must drop out.
	first := all[0]
	first.State, first.ClosedAt = yujing.StateClosed, ptr(t0.Add(time.Hour))
	if err := s.UpdateAlert(t.Context(), first, &yujing.Transition{Event: yujing.EventClosed}); err != nil {
		t.Fatal(err)
	}
	got, err = s.OpenAlerts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []yujing.Alert{all[1], all[3], all[4], all[6]}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func testListAlerts(t *testing.T, b backend) {
	s := b.open(t)
	t0 := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	all := seedAlerts(t, s, t0)
	// ids picks alerts by creation index, in the API order (newest first).
	ids := func(idx ...int) []int64 {
		var out []int64
		for _, i := range idx {
			out = append(out, all[i].ID)
		}
		return out
	}
	tests := []struct {
		name string
		f    Filter
		want []int64
	}{
		{"everything, newest first", Filter{}, ids(6, 5, 4, 3, 2, 1, 0)},
		{"one state", Filter{States: []yujing.State{yujing.StateClosed}}, ids(5, 2)},
		{"states", Filter{States: []yujing.State{yujing.StateFiring, yujing.StateResolved}}, ids(6, 4, 0)},
		{"levels", Filter{Levels: []yujing.Level{yujing.Red}}, ids(4, 1)},
		{"levels and states", Filter{Levels: []yujing.Level{yujing.Red, yujing.Blue}, States: []yujing.State{yujing.StateFiring, yujing.StateAcknowledged}}, ids(1, 0)},
		{"site", Filter{Site: "county-x"}, ids(4, 3)},
		{"sensor", Filter{Sensor: "gas-1"}, ids(2, 0)},
		{"rule", Filter{Rule: "river"}, ids(5, 4)},
		{"family", Filter{Family: string(yujing.FamilyDust)}, ids(6)},
		{"rule and sensor", Filter{Rule: "gas-high", Sensor: "gas-2"}, ids(1)},
		{"from inclusive", Filter{From: t0.Add(5 * time.Hour)}, ids(6, 5)},
		{"to exclusive", Filter{To: t0.Add(2 * time.Hour)}, ids(1, 0)},
		{"window in another zone", Filter{From: t0.Add(2 * time.Hour).In(shanghai), To: t0.Add(4 * time.Hour).In(shanghai)}, ids(3, 2)},
		{"limit", Filter{Limit: 2}, ids(6, 5)},
		{"limit and offset", Filter{Limit: 2, Offset: 2}, ids(4, 3)},
		{"offset only", Filter{Offset: 5}, ids(1, 0)},
		{"offset past the end", Filter{Offset: 50}, nil},
		{"negative limit and offset", Filter{Limit: -1, Offset: -3}, ids(6, 5, 4, 3, 2, 1, 0)},
		{"no match", Filter{Site: "nowhere"}, nil},
		{"unknown state", Filter{States: []yujing.State{"bogus"}}, nil},
		{"quote in a value", Filter{Rule: "x' OR '1'='1"}, nil},
		// The duty room's order: red before orange …, the longest waiting
		// first within a level.
		{"by severity", Filter{Order: store.OrderSeverity}, ids(1, 4, 3, 2, 6, 0, 5)},
		{"open by severity, second page", Filter{Order: store.OrderSeverity, Limit: 2, Offset: 1,
			States: []yujing.State{yujing.StateFiring, yujing.StateAcknowledged, yujing.StateDisposing, yujing.StateResolved}}, ids(4, 3)},
	}
	if _, err := s.ListAlerts(t.Context(), Filter{Order: "loudest"}); err == nil || !strings.Contains(err.Error(), `unknown order "loudest"`) {
		t.Errorf("an unknown order: %v, want it named", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListAlerts(t.Context(), tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var gotIDs []int64
			for _, a := range got {
				gotIDs = append(gotIDs, a.ID)
			}
			if !reflect.DeepEqual(gotIDs, tt.want) {
				t.Errorf("got ids %v, want %v", gotIDs, tt.want)
			}
			for _, a := range got {
				if want := all[a.ID-all[0].ID]; !reflect.DeepEqual(a, want) {
					t.Errorf("alert %d\ngot  %+v\nwant %+v", a.ID, a, want)
				}
			}
		})
	}
}

func testListAlertsLimits(t *testing.T, b backend) {
	s := b.open(t)
	t0 := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	const n = MaxListLimit + 10
	tx, err := s.db.w.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := tx.ExecContext(t.Context(), `INSERT INTO alerts (rule, sensor, level, state, started_at) VALUES (?, ?, ?, ?, ?)`,
			"r", fmt.Sprint("s", i), int64(yujing.Blue), string(yujing.StateFiring), t0.UnixNano()); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ limit, want int }{
		{0, DefaultListLimit},
		{10, 10},
		{MaxListLimit + 1, MaxListLimit},
		{1 << 30, MaxListLimit},
	} {
		got, err := s.ListAlerts(t.Context(), Filter{Limit: tt.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tt.want {
			t.Errorf("limit %d: %d alerts, want %d", tt.limit, len(got), tt.want)
		}
	}
}

func testStateReopen(t *testing.T, b backend) {
	where := b.fresh(t)
	t0 := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	var created []yujing.Alert
	for i := range 3 {
		s, err := Open(t.Context(), where, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, s, "schema_migrations"); n != len(b.migrations) {
			t.Errorf("open %d: %d migrations recorded, want %d", i, n, len(b.migrations))
		}
		open, err := s.OpenAlerts(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(open, created) {
			t.Errorf("open %d: after reopening\ngot  %+v\nwant %+v", i, open, created)
		}
		a := yujing.Alert{Rule: "r", Sensor: fmt.Sprint("s", i), Level: yujing.Red, State: yujing.StateFiring,
			StartedAt: t0, UpdatedAt: t0, AckedAt: ptr(t0)}
		if err := s.CreateAlert(t.Context(), &a, &yujing.Transition{At: t0, Event: yujing.EventRaised}); err != nil {
			t.Fatal(err)
		}
		created = append(created, a)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStatePragmas(t *testing.T) {
	s := openTestState(t)
	for _, tt := range []struct {
		p                    *pools
		pragma, writer, read string
	}{
		{s.db, "journal_mode", "wal", "wal"},
		{s.db, "synchronous", "2", ""},
		{s.db, "foreign_keys", "1", "1"},
		{s.db, "busy_timeout", "5000", "5000"},
		{s.db, "query_only", "0", "1"},
	} {
		for _, c := range []struct {
			name string
			want string
			db   func() (string, error)
		}{
			{"writer", tt.writer, func() (v string, err error) { err = tt.p.w.SQL().QueryRow("PRAGMA " + tt.pragma).Scan(&v); return }},
			{"reader", tt.read, func() (v string, err error) { err = tt.p.r.SQL().QueryRow("PRAGMA " + tt.pragma).Scan(&v); return }},
		} {
			if c.want == "" {
				continue
			}
			got, err := c.db()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.EqualFold(got, c.want) {
				t.Errorf("%s %s: %s = %s, want %s", filepath.Base(tt.p.path), c.name, tt.pragma, got, c.want)
			}
		}
	}
	// Readers cannot write.
	if _, err := s.db.r.ExecContext(t.Context(), `DELETE FROM alerts`); err == nil {
		t.Error("the read pool accepted a write")
	}
}

// Text that PostgreSQL cannot keep (NUL, invalid UTF-8) is cleaned on its
// way in, by both backends alike: stored and read back as CleanText makes
// it, also when it is looked for.
func testCleanText(t *testing.T, b backend) {
	s := b.open(t)
	const odd = "回复\x00收到\xff\xfe ok"
	want := sqldb.CleanText(odd)
	if want != "回复\uFFFD收到\uFFFD ok" {
		t.Fatalf("CleanText(%q) = %q", odd, want)
	}
	t0 := time.Now().UTC().Truncate(time.Second)
	a := yujing.Alert{Rule: odd, Sensor: "s", Message: odd, Level: yujing.Red, State: yujing.StateFiring, StartedAt: t0, UpdatedAt: t0}
	if err := s.CreateAlert(t.Context(), &a, &yujing.Transition{At: t0, Event: yujing.EventRaised, Note: odd}); err != nil {
		t.Fatal(err)
	}
	got, hist, err := s.Alert(t.Context(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Rule != want || got.Message != want || hist[0].Note != want {
		t.Errorf("stored %q, %q, %q; want %q", got.Rule, got.Message, hist[0].Note, want)
	}
	for _, rule := range []string{odd, want} {
		as, err := s.ListAlerts(t.Context(), Filter{Rule: rule})
		if err != nil || len(as) != 1 {
			t.Errorf("ListAlerts rule %q: %d alerts, %v; want the one", rule, len(as), err)
		}
	}
}
