package alerting_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/alertingtest"
	"yujing/alerting/escalate"
	"yujing/ingest"
	"yujing/store"
	"yujing/store/sqlite"
	"yujing/store/sqlstate"
)

// idCaller keeps the ids of the calls it is given.
type idCaller struct{ ids []string }

func (c *idCaller) Call(_ context.Context, call yujing.Call) error {
	c.ids = append(c.ids, call.ID)
	return nil
}

// recoverSetup returns a state database and a constructor of engines on it,
// for gas sensors at site "a", with the given routes; *now is their clock.
func recoverSetup(t *testing.T, sensorIDs []string, routes []escalate.Route) (open func(escalate.Caller) *alertingtest.Stack, now *time.Time) {
	t.Helper()
	var sensors []yujing.Sensor
	for _, id := range sensorIDs {
		sensors = append(sensors, yujing.Sensor{ID: id, Site: "a", Family: yujing.FamilyGas, Metric: "lel"})
	}
	reg, _ := ingest.NewRegistry([]yujing.Site{{ID: "a"}}, sensors)
	st, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := time.Date(2026, 7, 5, 10, 0, 0, 0, time.UTC)
	now = &clock
	rules := []*alerting.Rule{{Name: "gas", Match: alerting.Selector{Family: yujing.FamilyGas}, Above: gasTiersT()}}
	return func(c escalate.Caller) *alertingtest.Stack {
		return alertingtest.New(t, rules, st, reg, alertingtest.Options{Engine: alerting.Options{Now: func() time.Time { return *now }}, Routes: routes, Calls: c})
	}, now
}

func gasReading(sensor string, v float64, at time.Time) []yujing.Reading {
	return []yujing.Reading{{Sensor: sensor, Site: "a", Family: yujing.FamilyGas, Metric: "lel", Value: v, Time: at}}
}

// A crash between saving a warning and recording its Calls: the next start
// makes the calls of each open alert's latest change, under the same ids (so
// the outbox makes none twice), and none for a change older than the window.
func TestRecoverCallsAfterCrash(t *testing.T) {
	open, now := recoverSetup(t, []string{"G1", "G2"},
		[]escalate.Route{{People: []yujing.Person{{ID: "p", Name: "P"}}, Channels: []string{"sms"}}})
	// The first run "crashes" before its calls reach the outbox.
	lost := &idCaller{}
	eng := open(lost)
	eng.Observe(t.Context(), gasReading("G1", 30, *now))
	*now = now.Add(20 * time.Minute)
	eng.Observe(t.Context(), gasReading("G2", 60, *now))
	if len(lost.ids) != 2 {
		t.Fatalf("first run made %v", lost.ids)
	}
	*now = now.Add(time.Minute)
	again := &idCaller{}
	n, err := open(again).Escalate.RecoverCalls(t.Context(), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// G2's red (a minute old) is made again with its id; G1's yellow, 21
	// minutes old, is left alone.
	if n != 1 || !slices.Equal(again.ids, lost.ids[1:]) {
		t.Errorf("recovered %d calls %v, want %v", n, again.ids, lost.ids[1:])
	}
}

// A "resolved" notice lost in a crash is made again too: a resolved alert
// stays open until someone verifies and closes it.
func TestRecoverResolvedNotice(t *testing.T) {
	open, now := recoverSetup(t, []string{"G1"},
		[]escalate.Route{{People: []yujing.Person{{ID: "p", Name: "P"}}, Channels: []string{"sms"},
			Events: []yujing.Event{yujing.EventRaised, yujing.EventResolved}}})
	lost := &idCaller{}
	eng := open(lost)
	eng.Observe(t.Context(), gasReading("G1", 30, *now))
	*now = now.Add(time.Minute)
	eng.Observe(t.Context(), gasReading("G1", 0, *now))
	if len(lost.ids) != 2 {
		t.Fatalf("first run made %v, want the raise's call and the resolution's", lost.ids)
	}
	*now = now.Add(time.Minute)
	again := &idCaller{}
	if _, err := open(again).Escalate.RecoverCalls(t.Context(), 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.ids, lost.ids[1:]) {
		t.Errorf("recovered %v, want the resolution's call %v", again.ids, lost.ids[1:])
	}
}

// Route calls' ids are unique across state databases — two fresh ones make
// different ids for the same alert, change, person and channel (issue 14
// item 11) — and the same after a restart on the same database, so that
// RecoverCalls' calls are the ones the outbox already has.
func TestRouteCallIDsPerStateDatabase(t *testing.T) {
	routes := []escalate.Route{{People: []yujing.Person{{ID: "p", Name: "P"}}, Channels: []string{"sms"}}}
	reg, _ := ingest.NewRegistry([]yujing.Site{{ID: "a"}}, []yujing.Sensor{{ID: "G1", Site: "a", Family: yujing.FamilyGas, Metric: "lel"}})
	rules := []*alerting.Rule{{Name: "gas", Match: alerting.Selector{Family: yujing.FamilyGas}, Above: gasTiersT()}}
	now := time.Now()
	// run opens the state database at path, raises a red (first) or makes
	// the calls of the latest change again (after), and closes it.
	run := func(path string, first bool) []string {
		st, err := sqlite.OpenState(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		c := &idCaller{}
		eng := alertingtest.New(t, rules, st, reg, alertingtest.Options{Engine: alerting.Options{Now: func() time.Time { return now }}, Routes: routes, Calls: c})
		if first {
			eng.Observe(t.Context(), gasReading("G1", 60, now))
		} else if _, err := eng.Escalate.RecoverCalls(t.Context(), time.Hour); err != nil {
			t.Fatal(err)
		}
		return c.ids
	}
	pathA, pathB := filepath.Join(t.TempDir(), "a.db"), filepath.Join(t.TempDir(), "b.db")
	a, b := run(pathA, true), run(pathB, true)
	if len(a) != 1 || len(b) != 1 || a[0] == b[0] {
		t.Fatalf("two state databases made calls %q and %q: want one each, with different ids", a, b)
	}
	if again := run(pathA, false); !slices.Equal(again, a) {
		t.Errorf("after a restart on the same database: %q, want %q", again, a)
	}
}

// upgradedState is a state database as an upgrade from a version without
// instance ids leaves it: calls about transitions up to legacy keep the
// ids they had (sqlite's migration 11 records the bound).
type upgradedState struct {
	*sqlstate.State
	legacy int64
}

func (s upgradedState) CallIDs() store.CallIDs {
	c := s.State.CallIDs()
	c.LegacyTransitions = s.legacy
	return c
}

// After an upgrade, the calls of a change made before it are made again
// (RecoverCalls) under the ids the earlier version gave them, so the outbox
// recognises them; a change after the upgrade gets the instance id.
func TestRouteCallIDsAcrossUpgrade(t *testing.T) {
	routes := []escalate.Route{{People: []yujing.Person{{ID: "p", Name: "P"}}, Channels: []string{"sms"}}}
	reg, _ := ingest.NewRegistry([]yujing.Site{{ID: "a"}}, []yujing.Sensor{{ID: "G1", Site: "a", Family: yujing.FamilyGas, Metric: "lel"}})
	rules := []*alerting.Rule{{Name: "gas", Match: alerting.Selector{Family: yujing.FamilyGas}, Above: gasTiersT()}}
	st, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	open := func(legacy int64) (*alertingtest.Stack, *idCaller) {
		c := &idCaller{}
		eng := alertingtest.New(t, rules, upgradedState{st, legacy}, reg, alertingtest.Options{Engine: alerting.Options{Now: func() time.Time { return now }}, Routes: routes, Calls: c})
		return eng, c
	}
	// The earlier version: no id had an instance id.
	old, before := open(1 << 62)
	old.Observe(t.Context(), gasReading("G1", 30, now))
	if !slices.Equal(before.ids, []string{"1-1-p-sms"}) {
		t.Fatalf("before the upgrade: %q, want [1-1-p-sms]", before.ids)
	}
	// The upgrade: transition 1 is legacy.
	now = now.Add(time.Minute)
	eng, after := open(1)
	if _, err := eng.Escalate.RecoverCalls(t.Context(), time.Hour); err != nil {
		t.Fatal(err)
	}
	eng.Observe(t.Context(), gasReading("G1", 60, now))
	want := []string{"1-1-p-sms", st.InstanceID() + "-1-2-p-sms"}
	if !slices.Equal(after.ids, want) {
		t.Errorf("after the upgrade: %q, want %q", after.ids, want)
	}
}
