package alerting_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/alertingtest"
	"yujing/alerting/escalate"
	"yujing/ingest"
	"yujing/internal/fakeclock"
	"yujing/store/sqlite"
)

type msgCaller struct {
	mu    sync.Mutex
	calls []yujing.Call
}

func (m *msgCaller) Call(_ context.Context, c yujing.Call) error {
	m.mu.Lock()
	m.calls = append(m.calls, c)
	m.mu.Unlock()
	return nil
}

func (m *msgCaller) summaries() []yujing.Call {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []yujing.Call
	for _, c := range m.calls {
		if c.Event == yujing.EventSummary {
			out = append(out, c)
		}
	}
	return out
}

// TestDailySummary: at 08:00 Beijing time the leader gets one message with
// the last day's warnings by level, what is still open, and the busiest
// sites — driven by a fake clock, no sleeping.
func TestDailySummary(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	sensors := []yujing.Sensor{
		{ID: "G1", Site: "a", Family: yujing.FamilyGas, Metric: "lel"},
		{ID: "G2", Site: "a", Family: yujing.FamilyGas, Metric: "lel"},
		{ID: "G3", Site: "b", Family: yujing.FamilyGas, Metric: "lel"},
	}
	reg, _ := ingest.NewRegistry([]yujing.Site{{ID: "a", Name: "甲厂"}, {ID: "b", Name: "乙厂"}}, sensors)
	st, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clk := fakeclock.New(time.Date(2026, 7, 1, 22, 0, 0, 0, loc))
	caller := &msgCaller{}
	eng := alertingtest.New(t, []*alerting.Rule{{Name: "gas", Match: alerting.Selector{Family: yujing.FamilyGas}, Above: gasTiersT()}},
		st, reg, alertingtest.Options{Engine: alerting.Options{Now: clk.Now, Location: loc}, Calls: caller})
	ctx := t.Context()
	for i, v := range []float64{60, 30, 45} {
		eng.Observe(ctx, []yujing.Reading{{Sensor: sensors[i].ID, Site: sensors[i].Site, Metric: "lel", Value: v, Time: clk.Now()}})
	}
	leader := yujing.Person{ID: "leader", Name: "带班领导"}
	done := make(chan error, 1)
	rctx, cancel := context.WithCancel(ctx)
	go func() {
		done <- eng.Escalate.RunSummaries(rctx, []escalate.Summary{{Name: "每日预警汇总", Schedule: "0 8 * * *", People: []yujing.Person{leader}, Channels: []string{"dingtalk"}}}, clk)
	}()
	if !clk.BlockUntil(1, 5*time.Second) {
		t.Fatal("the summary did not wait for its time")
	}
	// Set fires the waiters it passes before it returns; a summary that
	// fired sends before it waits again. So once one waiter is pending
	// after each Set, a summary due by then has been sent: no sleep.
	clk.Set(time.Date(2026, 7, 2, 7, 59, 0, 0, loc))
	if !clk.BlockUntil(1, 5*time.Second) {
		t.Fatal("the summary did not wait again after 07:59")
	}
	if got := caller.summaries(); len(got) != 0 {
		t.Fatalf("sent before 08:00: %v", got)
	}
	clk.Set(time.Date(2026, 7, 2, 8, 0, 0, 0, loc))
	if !clk.BlockUntil(1, 5*time.Second) {
		t.Fatal("the summary did not wait for the next day after 08:00")
	}
	cancel()
	<-done
	got := caller.summaries()
	if len(got) != 1 || got[0].Person.ID != "leader" || got[0].Channel != "dingtalk" || got[0].Alert.Level != yujing.Red {
		t.Fatalf("summaries: %+v", got)
	}
	// Its id is unique beyond this state database (issue 14 item 11).
	if want := fmt.Sprintf("%s-summary-每日预警汇总-%d-leader-dingtalk", st.InstanceID(), clk.Now().Unix()); got[0].ID != want {
		t.Errorf("summary call id %q, want %q", got[0].ID, want)
	}
	msg := got[0].Alert.Message
	for _, want := range []string{"每日预警汇总", "新增预警 3 条", "红1", "黄1", "橙1", "未闭环 3 条", "未响应 3 条", "甲厂 2 条", "乙厂 1 条"} {
		if !strings.Contains(msg, want) {
			t.Errorf("summary lacks %q: %s", want, msg)
		}
	}
	t.Log(msg)
}
