package message

import (
	"fmt"
	"strings"
	"testing"

	"yujing"
)

// groupCalls are n gas warnings at plant-a, the first orange with a named
// sensor, the others yellow.
func groupCalls(n int) []yujing.Call {
	var out []yujing.Call
	for i := range n {
		c := gasCall()
		c.ID, c.Alert.ID = fmt.Sprintf("%d-raised-p1-im", 42+i), int64(42+i)
		c.Alert.Level, c.Alert.Value = yujing.Yellow, 30+float64(i)
		if i == 0 {
			c.Alert.Level, c.Alert.Value = yujing.Orange, 45.25
		} else {
			c.Alert.Sensor = fmt.Sprintf("gas-%02d", i+1)
		}
		out = append(out, c)
	}
	return out
}

func TestGroupText(t *testing.T) {
	zh := newRenderer(t, LangZH).WithNames(plantNames)
	if got, want := zh.GroupText(groupCalls(3)), "甲燃气站 3 条预警：橙色 一号厨房可燃气体探测器 45.25%LEL；黄色 gas-02 31%LEL；黄色 gas-03 32%LEL"; got != want {
		t.Errorf("zh-CN\n got %q\nwant %q", got, want)
	}
	en := newRenderer(t, LangEN)
	if got, want := en.GroupText(groupCalls(2)), "plant-a: 2 warnings: ORANGE gas-01 45.25%LEL; YELLOW gas-02 31%LEL"; got != want {
		t.Errorf("en\n got %q\nwant %q", got, want)
	}
	long := zh.GroupText(groupCalls(25))
	if !strings.HasSuffix(long, "黄色 gas-20 49%LEL；…共 25 条") || strings.Count(long, "；") != MaxGroupListed {
		t.Errorf("25 warnings: %q, want %d listed and the count", long, MaxGroupListed)
	}
	if got := en.GroupText(groupCalls(21)); !strings.HasSuffix(got, "; … 21 in all") {
		t.Errorf("21 warnings in English: %q", got)
	}
	if got := zh.GroupText(nil); got != "" {
		t.Errorf("no calls: %q", got)
	}
}
