package alerting_test

import (
	"path/filepath"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/alertingtest"
	"yujing/alerting/lifecycle"
	"yujing/ingest"
	"yujing/store/sqlite"
)

func TestFaultRule(t *testing.T) {
	sensors := []yujing.Sensor{{ID: "P1", Site: "p", Family: yujing.FamilyHazard, Metric: "pressure"}}
	reg, _ := ingest.NewRegistry([]yujing.Site{{ID: "p"}}, sensors)
	st, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var events []string
	rules := []*alerting.Rule{{Name: "p-fault", Kind: alerting.KindFault, Sensors: []string{"P1"}, Level: yujing.Yellow}}
	eng := alertingtest.New(t, rules, st, reg, alertingtest.Options{Lifecycle: lifecycle.Options{
		OnChange: func(c lifecycle.Change) {
			events = append(events, string(c.Transition.Event)+":"+c.Alert.Level.String())
		}}})
	now := time.Now()
	rd := yujing.Reading{Sensor: "P1", Site: "p", Metric: "pressure", Value: 99, Time: now}
	eng.ObserveFault(t.Context(), rd, "out_of_range")
	eng.ObserveFault(t.Context(), rd, "out_of_range")
	rd.Value, rd.Time = 0.4, now.Add(time.Second)
	eng.Observe(t.Context(), []yujing.Reading{rd})
	if got := events; len(got) != 2 || got[0] != "raised:yellow" || got[1] != "resolved:yellow" {
		t.Fatalf("events %v, want raised then resolved", got)
	}
}
