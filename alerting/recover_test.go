package alerting_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/ingest"
	"yujing/store/sqlite"
)

// idCaller keeps the ids of the calls it is given.
type idCaller struct{ ids []string }

func (c *idCaller) Call(_ context.Context, call yujing.Call) error {
	c.ids = append(c.ids, call.ID)
	return nil
}

// recoverSetup returns a state database and a constructor of engines on it,
// for gas sensors at site "a", with the given routes; *now is their clock.
func recoverSetup(t *testing.T, sensorIDs []string, routes []alerting.Route) (open func(alerting.Caller) *alerting.Engine, now *time.Time) {
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
	return func(c alerting.Caller) *alerting.Engine {
		eng, err := alerting.New(rules, routes, st, c, reg, alerting.Options{Now: func() time.Time { return *now }})
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Restore(t.Context()); err != nil {
			t.Fatal(err)
		}
		return eng
	}, now
}

func gasReading(sensor string, v float64, at time.Time) []yujing.Reading {
	return []yujing.Reading{{Sensor: sensor, Site: "a", Family: yujing.FamilyGas, Metric: "lel", Value: v, Time: at}}
}

// A crash between saving a warning and recording its calls: the next start
// makes the calls of each open alert's latest change, under the same ids (so
// the outbox makes none twice), and none for a change older than the window.
func TestRecoverCallsAfterCrash(t *testing.T) {
	open, now := recoverSetup(t, []string{"G1", "G2"},
		[]alerting.Route{{People: []yujing.Person{{ID: "p", Name: "P"}}, Channels: []string{"sms"}}})
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
	n, err := open(again).RecoverCalls(t.Context(), 10*time.Minute)
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
		[]alerting.Route{{People: []yujing.Person{{ID: "p", Name: "P"}}, Channels: []string{"sms"},
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
	if _, err := open(again).RecoverCalls(t.Context(), 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.ids, lost.ids[1:]) {
		t.Errorf("recovered %v, want the resolution's call %v", again.ids, lost.ids[1:])
	}
}
