package alerting_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/alertingtest"
	"yujing/alerting/escalate"
	"yujing/alerting/inhibit"
	"yujing/alerting/lifecycle"
	"yujing/ingest"
	"yujing/store"
	"yujing/store/sqlite"
)

type recordCaller struct {
	mu    sync.Mutex
	calls []string
}

func (r *recordCaller) Call(_ context.Context, c yujing.Call) error {
	r.mu.Lock()
	r.calls = append(r.calls, c.Alert.Sensor+":"+string(c.Event)+":"+c.Alert.Level.String())
	r.mu.Unlock()
	return nil
}

func (r *recordCaller) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

func TestSilencesAndInhibition(t *testing.T) {
	sensors := []yujing.Sensor{
		{ID: "G1", Site: "a", Family: yujing.FamilyGas, Metric: "lel"},
		{ID: "G2", Site: "a", Family: yujing.FamilyGas, Metric: "lel", Tags: map[string]string{"gateway": "GW"}},
		{ID: "G3", Site: "b", Family: yujing.FamilyGas, Metric: "lel"},
		{ID: "GW", Site: "a", Family: yujing.FamilyElectrical, Metric: "up"},
	}
	reg, _ := ingest.NewRegistry([]yujing.Site{{ID: "a"}, {ID: "b"}}, sensors)
	st, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	loc := time.FixedZone("CST", 8*3600)
	now := time.Date(2026, 7, 5, 10, 0, 0, 0, loc) // a Sunday
	clock := func() time.Time { return now }
	person := yujing.Person{ID: "p", Name: "P"}
	rules := []*alerting.Rule{
		{Name: "gas", Match: alerting.Selector{Family: yujing.FamilyGas}, Above: gasTiersT()},
		{Name: "gw-down", Sensors: []string{"GW"}, Below: func() alerting.Tiers {
			var t alerting.Tiers
			t.Value[yujing.Orange], t.Set[yujing.Orange] = 0.5, true
			return t
		}()},
		{Name: "down", Match: alerting.Selector{Family: yujing.FamilyGas}, Metric: "up", Below: func() alerting.Tiers {
			var t alerting.Tiers
			t.Value[yujing.Yellow], t.Set[yujing.Yellow] = 0.5, true
			return t
		}()},
	}
	caller := &recordCaller{}
	eng := alertingtest.New(t, rules, st, reg, alertingtest.Options{
		Engine: alerting.Options{Now: clock, Location: loc},
		Lifecycle: lifecycle.Options{Silences: st, Inhibit: []inhibit.Rule{
			{Source: yujing.Matchers{Levels: []yujing.Level{yujing.Red}}, Target: yujing.Matchers{Levels: []yujing.Level{yujing.Blue, yujing.Yellow, yujing.Orange}}, Equal: []string{"site"}},
			{Source: yujing.Matchers{Rule: "gw-down"}, Target: yujing.Matchers{Rule: "down"}, Equal: []string{"sensor=tag:gateway"}},
		}},
		Routes: []escalate.Route{{People: []yujing.Person{person}, Channels: []string{"log"}}},
		Calls:  caller,
	})
	ctx := t.Context()
	read := func(sensor, metric string, v float64) {
		now = now.Add(time.Second)
		eng.Observe(ctx, []yujing.Reading{{Sensor: sensor, Site: sensors[map[string]int{"G1": 0, "G2": 1, "G3": 2, "GW": 3}[sensor]].Site, Family: yujing.FamilyGas, Metric: metric, Value: v, Time: now}})
	}

	// A silence of site a for an hour: G1's warning is recorded, not called.
	if _, err := eng.CreateSilence(ctx, yujing.Silence{Matchers: yujing.Matchers{Site: "a"}, EndsAt: now.Add(time.Hour), CreatedBy: "li", Comment: "校准"}); err != nil {
		t.Fatal(err)
	}
	read("G1", "lel", 30)
	read("G3", "lel", 30)
	if got := caller.take(); len(got) != 1 || got[0] != "G3:raised:yellow" {
		t.Fatalf("calls during the silence: %v, want only G3's", got)
	}
	as, _ := eng.List(ctx, storeFilterSensor("G1"))
	if len(as) != 1 || !as[0].Silenced || as[0].Level != yujing.Yellow {
		t.Fatalf("G1's alert: %+v, want recorded and marked silenced", as)
	}
	if _, err := eng.CreateSilence(ctx, yujing.Silence{EndsAt: now.Add(time.Hour), CreatedBy: "li", Comment: "x"}); err == nil {
		t.Error("a silence of everything was accepted")
	}
	// Expired: the next change of G1 calls again.
	sl := eng.Silences()
	if err := eng.ExpireSilence(ctx, sl[0].ID, "li"); err != nil {
		t.Fatal(err)
	}
	read("G1", "lel", 45)
	if got := caller.take(); len(got) != 1 || got[0] != "G1:upgraded:orange" {
		t.Fatalf("calls after the silence: %v", got)
	}

	// Red at site a inhibits the site's lower warnings from calling; site b
	// is not affected.
	read("G2", "lel", 60) // red: called
	read("G1", "lel", 30) // G1 downgraded, no calls anyway
	read("G1", "lel", 5)  // resolved
	read("G1", "lel", 30) // re-opened yellow at site a: inhibited
	read("G3", "lel", 45) // site b upgraded: called
	got := caller.take()
	want := []string{"G2:raised:red", "G3:upgraded:orange"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("calls with red at site a: %v, want %v", got, want)
	}
	if as, _ := eng.List(ctx, storeFilterSensor("G1")); !as[0].Inhibited {
		t.Errorf("G1 not marked inhibited: %+v", as[0])
	}

	// The gateway down hides its sensors' own "down" warnings (the red at
	// site a cleared first, so it inhibits nothing any more).
	read("G2", "lel", 5)
	caller.take()
	read("GW", "up", 0) // gateway down: orange, called
	read("G2", "up", 0) // G2 (behind GW) down: inhibited
	read("G1", "up", 0) // G1 (no gateway tag) down: called
	read("G3", "up", 0) // G3 down at site b: called
	got = caller.take()
	want = []string{"GW:raised:orange", "G1:raised:yellow", "G3:raised:yellow"}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("calls with the gateway down: %v, want %v", got, want)
	}

	// A recurring window: Sundays 02:00–04:00 only.
	now = time.Date(2026, 7, 12, 3, 0, 0, 0, loc) // Sunday 03:00
	win := yujing.Silence{Matchers: yujing.Matchers{Sensor: "G3"}, StartsAt: now.Add(-24 * time.Hour), EndsAt: now.Add(30 * 24 * time.Hour),
		CreatedBy: "li", Comment: "每周检修", Window: &yujing.Window{Start: "02:00", End: "04:00", Weekdays: []time.Weekday{time.Sunday}}}
	if _, err := eng.CreateSilence(ctx, win); err != nil {
		t.Fatal(err)
	}
	read("G3", "lel", 60) // inside the window
	if got := caller.take(); len(got) != 0 {
		t.Fatalf("calls inside the maintenance window: %v", got)
	}
	now = time.Date(2026, 7, 13, 3, 0, 0, 0, loc) // Monday 03:00: outside
	read("G3", "lel", 5)
	read("G3", "lel", 60)
	if got := caller.take(); len(got) != 1 || got[0] != "G3:reopened:red" {
		t.Fatalf("calls outside the window: %v", got)
	}
}

func storeFilterSensor(id string) store.AlertFilter { return store.AlertFilter{Sensor: id} }
