package alerting_test

import (
	"path/filepath"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/alertingtest"
	"yujing/alerting/escalate"
	"yujing/ingest"
	"yujing/store/sqlite"
)

func TestOverdueSupervision(t *testing.T) {
	reg, _ := ingest.NewRegistry([]yujing.Site{{ID: "p"}}, []yujing.Sensor{{ID: "G1", Site: "p", Family: yujing.FamilyGas, Metric: "lel"}})
	path := filepath.Join(t.TempDir(), "s.db")
	st, err := sqlite.OpenState(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	now := t0
	clock := func() time.Time { return now }
	duty := yujing.Person{ID: "duty", Name: "值班员"}
	chief := yujing.Person{ID: "chief", Name: "督长"}
	routes := []escalate.Route{
		{People: []yujing.Person{duty}, Channels: []string{"log"}},
		{Events: []yujing.Event{yujing.EventOverdue}, People: []yujing.Person{chief}, Channels: []string{"sms"}},
	}
	var overdue [yujing.Red + 1]time.Duration
	overdue[yujing.Red] = time.Hour
	caller := &recordCaller{}
	mk := func() *alertingtest.Stack {
		return alertingtest.New(t, []*alerting.Rule{{Name: "gas", Match: alerting.Selector{Family: yujing.FamilyGas}, Above: gasTiersT()}},
			st, reg, alertingtest.Options{Engine: alerting.Options{Now: clock, Overdue: overdue}, Routes: routes, Calls: caller})
	}
	eng := mk()
	eng.Observe(t.Context(), []yujing.Reading{{Sensor: "G1", Site: "p", Metric: "lel", Value: 60, Time: now}})
	caller.take()
	now = t0.Add(59 * time.Minute)
	eng.Tick(t.Context(), now)
	if got := caller.take(); len(got) != 0 {
		t.Fatalf("calls before the limit: %v", got)
	}
	now = t0.Add(61 * time.Minute)
	eng.Tick(t.Context(), now)
	if got := caller.take(); len(got) != 1 || got[0] != "G1:overdue:red" {
		t.Fatalf("calls at the limit: %v, want the supervisor's one", got)
	}
	eng.Tick(t.Context(), now.Add(time.Minute))
	// A restart does not flag it again.
	eng = mk()
	eng.Tick(t.Context(), now.Add(2*time.Minute))
	if got := caller.take(); len(got) != 0 {
		t.Fatalf("flagged again: %v", got)
	}
	as, _ := eng.List(t.Context(), storeFilterSensor("G1"))
	if !as[0].Overdue || as[0].OverdueAt == nil || !as[0].OverdueAt.Equal(t0.Add(61*time.Minute)) {
		t.Fatalf("alert: overdue %v at %v", as[0].Overdue, as[0].OverdueAt)
	}
	_, hist, _ := eng.Get(t.Context(), as[0].ID)
	if last := hist[len(hist)-1]; last.Event != yujing.EventOverdue || last.Note == "" {
		t.Errorf("history: %+v", last)
	}
	st.Close()
}
