package alerting_test

import (
	"path/filepath"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/alertingtest"
	"yujing/ingest"
	"yujing/store/sqlite"
)

// TestAlertMessages pins the Chinese text of a warning (Alert.Message,
// what the board, the records and the calls' 说明 show) through every
// change a threshold rule makes: each statement about the value and a
// threshold must be true, the metric is named (可燃气体浓度, not lel), no
// grade is doubled (红色(Ⅰ级)级), names come before ids. The overdue
// (督办) note is checked too.
func TestAlertMessages(t *testing.T) {
	sites := []yujing.Site{{ID: "demo-plant", Name: "演示化工园区"}}
	sensors := []yujing.Sensor{
		{ID: "GT-101", Name: "罐区可燃气体探测器", Site: "demo-plant", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL"},
		{ID: "TK-201", Name: "1号储罐", Site: "demo-plant", Family: yujing.FamilyHazard, Metric: "level", Unit: "m"},
		{ID: "WL-01", Site: "demo-plant", Family: yujing.FamilyFlood, Metric: "level", Unit: "m"},
		{ID: "X-1", Site: "demo-plant", Family: yujing.FamilyGas, Metric: "ch4", Unit: "%"},
	}
	tiers := func(vs ...float64) alerting.Tiers {
		var t alerting.Tiers
		for i, v := range vs {
			if v != 0 {
				l := yujing.Blue + yujing.Level(i)
				t.Set[l], t.Value[l] = true, v
			}
		}
		return t
	}
	rules := []*alerting.Rule{
		{Name: "gas-lel", Description: "可燃气体浓度", Sensors: []string{"GT-101"}, Above: tiers(10, 25, 40, 50), Hysteresis: 2},
		{Name: "tank-level", Description: "储罐液位", Sensors: []string{"TK-201"}, Metric: "level",
			Above: tiers(8, 8.5, 9, 9.5), Below: tiers(0, 0.5), Hysteresis: 0.1},
		{Name: "river", Description: "河道水位（警戒 12.5 m，保证 14 m）", Sensors: []string{"WL-01"},
			Above: tiers(0, 12, 12.5, 14), Clear: tiers(0, 11.8, 12.2, 13.5)},
		{Name: "methane", Sensors: []string{"X-1"}, Above: tiers(0, 0, 0, 2.5)},
	}
	reg, err := ingest.NewRegistry(sites, sensors)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC) // 16:00 in Shanghai
	now := t0
	var overdue [yujing.Red + 1]time.Duration
	overdue[yujing.Orange] = 4 * time.Hour
	eng := alertingtest.New(t, rules, st, reg, alertingtest.Options{Engine: alerting.Options{Now: func() time.Time { return now },
		Location: shanghai, Overdue: overdue}})
	for i, tc := range []struct {
		sensor, metric string
		value          float64
		event          yujing.Event
		want           string
	}{
		{"GT-101", "lel", 62, yujing.EventRaised,
			"【红色(Ⅰ级)预警】演示化工园区 罐区可燃气体探测器(GT-101)：可燃气体浓度 62 %LEL，达到红色阈值 50 %LEL（2026-07-01 16:00:00）"},
		// Down to orange, though 39.8 is under orange's 40: the
		// hysteresis (2) holds orange until the value is under 38.
		{"GT-101", "lel", 39.8, yujing.EventDowngraded,
			"【橙色(Ⅱ级)预警】演示化工园区 罐区可燃气体探测器(GT-101)：预警降级，可燃气体浓度 39.8 %LEL，已低于红色阈值 50 %LEL，尚未回落到橙色解除值 38 %LEL 以下（2026-07-01 16:01:00）"},
		{"GT-101", "lel", 55, yujing.EventUpgraded,
			"【红色(Ⅰ级)预警】演示化工园区 罐区可燃气体探测器(GT-101)：预警升级，可燃气体浓度 55 %LEL，达到红色阈值 50 %LEL（2026-07-01 16:02:00）"},
		{"GT-101", "lel", 27.25, yujing.EventDowngraded,
			"【黄色(Ⅲ级)预警】演示化工园区 罐区可燃气体探测器(GT-101)：预警降级，可燃气体浓度 27.25 %LEL，已低于橙色阈值 40 %LEL，仍达到黄色阈值 25 %LEL（2026-07-01 16:03:00）"},
		{"GT-101", "lel", 1.5, yujing.EventResolved,
			"【黄色(Ⅲ级)预警】演示化工园区 罐区可燃气体探测器(GT-101)：可燃气体浓度 1.5 %LEL，已回落到黄色阈值 25 %LEL 以下，预警解除（2026-07-01 16:04:00）"},
		{"GT-101", "lel", 41, yujing.EventReopened,
			"【橙色(Ⅱ级)预警】演示化工园区 罐区可燃气体探测器(GT-101)：再次触发，可燃气体浓度 41 %LEL，达到橙色阈值 40 %LEL（2026-07-01 16:05:00）"},
		// A low level: the statements turn round.
		{"TK-201", "level", 0.3, yujing.EventRaised,
			"【黄色(Ⅲ级)预警】演示化工园区 1号储罐(TK-201) 储罐液位：液位 0.3 m，低于黄色阈值 0.5 m（2026-07-01 16:06:00）"},
		{"TK-201", "level", 0.9, yujing.EventResolved,
			"【黄色(Ⅲ级)预警】演示化工园区 1号储罐(TK-201) 储罐液位：液位 0.9 m，已回升到黄色阈值 0.5 m 以上，预警解除（2026-07-01 16:07:00）"},
		// Clear values instead of a hysteresis; a sensor without a name;
		// a river's level is 水位.
		{"WL-01", "level", 14.1, yujing.EventRaised,
			"【红色(Ⅰ级)预警】演示化工园区 WL-01 河道水位（警戒 12.5 m，保证 14 m）：水位 14.1 m，达到红色阈值 14 m（2026-07-01 16:08:00）"},
		{"WL-01", "level", 13.4, yujing.EventDowngraded,
			"【橙色(Ⅱ级)预警】演示化工园区 WL-01 河道水位（警戒 12.5 m，保证 14 m）：预警降级，水位 13.4 m，已低于红色阈值 14 m，仍达到橙色阈值 12.5 m（2026-07-01 16:09:00）"},
		{"WL-01", "level", 12.3, "", ""}, // orange holds until under 12.2: no change
		// A metric yujing has no name for and a rule without a
		// description: the id is all there is.
		{"X-1", "ch4", 3, yujing.EventRaised,
			"【红色(Ⅰ级)预警】演示化工园区 X-1：ch4 3 %，达到红色阈值 2.5 %（2026-07-01 16:11:00）"},
	} {
		now = t0.Add(time.Duration(i) * time.Minute)
		eng.Observe(t.Context(), []yujing.Reading{{Sensor: tc.sensor, Site: "demo-plant", Metric: tc.metric, Value: tc.value, Time: now}})
		as, err := eng.List(t.Context(), storeFilterSensor(tc.sensor))
		if err != nil || len(as) == 0 {
			t.Fatalf("step %d: %v %v", i, as, err)
		}
		a := as[0]
		_, hist, _ := eng.Get(t.Context(), a.ID)
		last := hist[len(hist)-1]
		if tc.want == "" {
			if !last.At.Before(now) {
				t.Errorf("step %d (%s %g): a %s, want no change", i, tc.sensor, tc.value, last.Event)
			}
			continue
		}
		if last.Event != tc.event || !last.At.Equal(now) {
			t.Errorf("step %d (%s %g): last change %s at %s, want %s now", i, tc.sensor, tc.value, last.Event, last.At, tc.event)
		}
		if a.Message != tc.want {
			t.Errorf("step %d (%s %g %s):\n got %s\nwant %s", i, tc.sensor, tc.value, tc.event, a.Message, tc.want)
		}
	}
	// Overdue: the orange river warning open for four hours.
	now = t0.Add(9*time.Minute + 4*time.Hour)
	eng.Tick(t.Context(), now)
	as, _ := eng.List(t.Context(), storeFilterSensor("WL-01"))
	_, hist, _ := eng.Get(t.Context(), as[0].ID)
	last := hist[len(hist)-1]
	if want := "未在4小时内闭环（橙色预警闭环时限），转入督办"; last.Event != yujing.EventOverdue || last.Note != want {
		t.Errorf("overdue: %s %q, want %q", last.Event, last.Note, want)
	}
}
