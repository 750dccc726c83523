package alerting_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/alertingtest"
	"yujing/alerting/lifecycle"
	"yujing/ingest"
	"yujing/store"
	"yujing/store/sqlite"
)

// TestConcurrentSensors drives 32 sensors from 8 goroutines at once, as the
// ingest shards do, with threshold, composite and offline rules, operator
// acks and ticks running alongside; run with -race. Every sensor ends with
// exactly one alert in the state its last reading implies, and the
// composite (any 2 sensors of the site at red) saw the storm.
func TestConcurrentSensors(t *testing.T) {
	var sensors []yujing.Sensor
	for i := range 32 {
		sensors = append(sensors, yujing.Sensor{ID: fmt.Sprintf("G%02d", i), Site: "p", Family: yujing.FamilyGas, Metric: "lel", Interval: time.Hour})
	}
	reg, _ := ingest.NewRegistry([]yujing.Site{{ID: "p"}}, sensors)
	st, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rules := []*alerting.Rule{
		{Name: "gas", Match: alerting.Selector{Family: yujing.FamilyGas}, Above: gasTiersT(), Hysteresis: 1},
		{Name: "vote", Kind: alerting.KindComposite, Of: []alerting.Ref{{Rule: "gas", Level: yujing.Red}}, K: 2, Level: yujing.Red},
		{Name: "offline", Kind: alerting.KindOffline, Match: alerting.Selector{Family: yujing.FamilyGas}, Level: yujing.Yellow},
	}
	var mu sync.Mutex
	voteRaised := false
	eng := alertingtest.New(t, rules, st, reg, alertingtest.Options{Lifecycle: lifecycle.Options{OnChange: func(c lifecycle.Change) {
		mu.Lock()
		if c.Alert.Rule == "vote" && c.Transition.Event == yujing.EventRaised {
			voteRaised = true
		}
		mu.Unlock()
	}}})
	ctx := context.Background()
	t0 := time.Now()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for step := range 60 {
				for i := g; i < 32; i += 8 {
					v := []float64{5, 30, 55, 45, 20, 60}[(step+i)%6]
					if step == 59 {
						v = 2 // everything clears at the end
					}
					eng.Observe(ctx, []yujing.Reading{{Sensor: sensors[i].ID, Site: "p", Family: yujing.FamilyGas, Metric: "lel", Value: v, Time: t0.Add(time.Duration(step) * time.Second)}})
				}
			}
		})
	}
	wg.Go(func() { // operators and the ticker alongside
		for range 40 {
			as, _ := eng.List(ctx, store.AlertFilter{States: []yujing.State{yujing.StateFiring}})
			for _, a := range as {
				eng.Ack(ctx, a.ID, lifecycle.Action{By: "op"})
			}
			eng.Tick(ctx, t0.Add(30*time.Second))
			_ = eng.RuleStatuses()
		}
	})
	wg.Wait()
	open, err := eng.List(ctx, store.AlertFilter{States: []yujing.State{yujing.StateFiring, yujing.StateAcknowledged, yujing.StateDisposing}})
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 0 {
		t.Errorf("%d alerts still active after every sensor cleared: %+v", len(open), open[0])
	}
	all, _ := eng.List(ctx, store.AlertFilter{Rule: "gas", Limit: 1000})
	if len(all) != 32 {
		t.Errorf("%d gas alerts, want one per sensor (32)", len(all))
	}
	if !voteRaised {
		t.Error("the composite rule never saw two sensors at red")
	}
}

func gasTiersT() alerting.Tiers {
	var tt alerting.Tiers
	for l, v := range map[yujing.Level]float64{yujing.Blue: 10, yujing.Yellow: 25, yujing.Orange: 40, yujing.Red: 50} {
		tt.Value[l], tt.Set[l] = v, true
	}
	return tt
}
