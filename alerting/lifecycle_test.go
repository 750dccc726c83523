package alerting_test

import (
	"context"
	"errors"
	"fmt"
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

// TestLifecycleTransitions covers every operator action from every state:
// which are allowed, what they lead to, and the error of those refused.
func TestLifecycleTransitions(t *testing.T) {
	type action struct {
		name string
		do   func(e *alertingtest.Stack, id int64) (yujing.Alert, error)
	}
	ctx := context.Background()
	ack := action{"ack", func(e *alertingtest.Stack, id int64) (yujing.Alert, error) {
		return e.Ack(ctx, id, lifecycle.Action{By: "li", Note: "收到"})
	}}
	dispose := action{"dispose", func(e *alertingtest.Stack, id int64) (yujing.Alert, error) {
		return e.Dispose(ctx, id, lifecycle.Action{By: "li", Note: "关闭阀门"})
	}}
	disposeNoNote := action{"dispose without note", func(e *alertingtest.Stack, id int64) (yujing.Alert, error) {
		return e.Dispose(ctx, id, lifecycle.Action{By: "li"})
	}}
	closeOK := action{"close", func(e *alertingtest.Stack, id int64) (yujing.Alert, error) {
		return e.Close(ctx, id, lifecycle.Action{By: "li", Note: "核查无误", Reason: yujing.ReasonFalseAlarm})
	}}
	closeNoReason := action{"close without reason", func(e *alertingtest.Stack, id int64) (yujing.Alert, error) {
		return e.Close(ctx, id, lifecycle.Action{By: "li", Note: "x"})
	}}
	closeNoNote := action{"close without note", func(e *alertingtest.Stack, id int64) (yujing.Alert, error) {
		return e.Close(ctx, id, lifecycle.Action{By: "li", Reason: yujing.ReasonRealHazard})
	}}
	anonymous := action{"ack without by", func(e *alertingtest.Stack, id int64) (yujing.Alert, error) {
		return e.Ack(ctx, id, lifecycle.Action{})
	}}
	// How to bring a fresh alert into each state.
	setups := map[yujing.State][]string{
		yujing.StateFiring:       nil,
		yujing.StateAcknowledged: {"ack"},
		yujing.StateDisposing:    {"dispose"},
		yujing.StateResolved:     {"clear"},
		yujing.StateClosed:       {"clear", "close"},
	}
	cases := []struct {
		from   yujing.State
		act    action
		want   yujing.State // "" when refused
		refuse error
	}{
		{yujing.StateFiring, ack, yujing.StateAcknowledged, nil},
		{yujing.StateFiring, dispose, yujing.StateDisposing, nil},
		{yujing.StateFiring, closeOK, "", lifecycle.ErrConflict},
		{yujing.StateAcknowledged, ack, "", lifecycle.ErrConflict},
		{yujing.StateAcknowledged, dispose, yujing.StateDisposing, nil},
		{yujing.StateAcknowledged, closeOK, "", lifecycle.ErrConflict},
		{yujing.StateDisposing, ack, "", lifecycle.ErrConflict}, // disposal implies acknowledgement
		{yujing.StateDisposing, dispose, yujing.StateDisposing, nil},
		{yujing.StateDisposing, closeOK, "", lifecycle.ErrConflict},
		{yujing.StateResolved, ack, yujing.StateResolved, nil}, // recorded, stays resolved
		{yujing.StateResolved, dispose, yujing.StateResolved, nil},
		{yujing.StateResolved, closeOK, yujing.StateClosed, nil},
		{yujing.StateResolved, closeNoReason, "", lifecycle.ErrInvalid},
		{yujing.StateResolved, closeNoNote, "", lifecycle.ErrInvalid},
		{yujing.StateResolved, disposeNoNote, "", lifecycle.ErrInvalid},
		{yujing.StateResolved, anonymous, "", lifecycle.ErrInvalid},
		{yujing.StateClosed, ack, "", lifecycle.ErrConflict},
		{yujing.StateClosed, dispose, "", lifecycle.ErrConflict},
		{yujing.StateClosed, closeOK, "", lifecycle.ErrConflict},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%s/%s", c.from, c.act.name), func(t *testing.T) {
			sensor := fmt.Sprintf("G%d", i)
			reg, _ := ingest.NewRegistry([]yujing.Site{{ID: "p"}}, []yujing.Sensor{{ID: sensor, Site: "p", Family: yujing.FamilyGas, Metric: "lel"}})
			st, err := sqlite.OpenState(ctx, filepath.Join(t.TempDir(), "s.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			e := alertingtest.New(t, []*alerting.Rule{{Name: "gas", Match: alerting.Selector{Family: yujing.FamilyGas}, Above: gasTiersT()}},
				st, reg, alertingtest.Options{})
			t0 := time.Now()
			e.Observe(ctx, []yujing.Reading{{Sensor: sensor, Site: "p", Metric: "lel", Value: 30, Time: t0}})
			as, _ := e.List(ctx, storeFilterSensor(sensor))
			id := as[0].ID
			for _, step := range setups[c.from] {
				var err error
				switch step {
				case "ack":
					_, err = ack.do(e, id)
				case "dispose":
					_, err = dispose.do(e, id)
				case "close":
					_, err = closeOK.do(e, id)
				case "clear":
					e.Observe(ctx, []yujing.Reading{{Sensor: sensor, Site: "p", Metric: "lel", Value: 1, Time: t0.Add(time.Second)}})
				}
				if err != nil {
					t.Fatalf("setup %s: %v", step, err)
				}
			}
			before, hist0, _ := e.Get(ctx, id)
			if before.State != c.from {
				t.Fatalf("setup reached %s, want %s", before.State, c.from)
			}
			got, err := c.act.do(e, id)
			after, hist, _ := e.Get(ctx, id)
			if c.want == "" {
				if !errors.Is(err, c.refuse) {
					t.Fatalf("err = %v, want %v", err, c.refuse)
				}
				if after.State != c.from || len(hist) != len(hist0) {
					t.Fatalf("a refused action changed the alert: %s, %d history entries (was %d)", after.State, len(hist), len(hist0))
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if got.State != c.want || after.State != c.want {
				t.Fatalf("state %s (stored %s), want %s", got.State, after.State, c.want)
			}
			last := hist[len(hist)-1]
			if len(hist) != len(hist0)+1 || last.Actor != "li" || last.FromState != c.from || last.ToState != c.want {
				t.Fatalf("history did not record the action: %+v", last)
			}
		})
	}
}
