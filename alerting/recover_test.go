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

// A crash between saving a warning and recording its calls: the next start
// makes the calls of each open alert's latest change, under the same ids (so
// the outbox makes none twice), and none for a change older than the window.
func TestRecoverCallsAfterCrash(t *testing.T) {
	sensors := []yujing.Sensor{{ID: "G1", Site: "a", Family: yujing.FamilyGas, Metric: "lel"},
		{ID: "G2", Site: "a", Family: yujing.FamilyGas, Metric: "lel"}}
	reg, _ := ingest.NewRegistry([]yujing.Site{{ID: "a"}}, sensors)
	st, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 7, 5, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	rules := []*alerting.Rule{{Name: "gas", Match: alerting.Selector{Family: yujing.FamilyGas}, Above: gasTiersT()}}
	routes := []alerting.Route{{People: []yujing.Person{{ID: "p", Name: "P"}}, Channels: []string{"sms"}}}
	open := func(c alerting.Caller) *alerting.Engine {
		eng, err := alerting.New(rules, routes, st, c, reg, alerting.Options{Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Restore(t.Context()); err != nil {
			t.Fatal(err)
		}
		return eng
	}
	// The first run "crashes" before its calls reach the outbox.
	lost := &idCaller{}
	eng := open(lost)
	eng.Observe(t.Context(), []yujing.Reading{{Sensor: "G1", Site: "a", Family: yujing.FamilyGas, Metric: "lel", Value: 30, Time: now}})
	now = now.Add(20 * time.Minute)
	eng.Observe(t.Context(), []yujing.Reading{{Sensor: "G2", Site: "a", Family: yujing.FamilyGas, Metric: "lel", Value: 60, Time: now}})
	if len(lost.ids) != 2 {
		t.Fatalf("first run made %v", lost.ids)
	}
	now = now.Add(time.Minute)
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
