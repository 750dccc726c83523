package dingtalk

import (
	"strings"
	"testing"

	"yujing"
	"yujing/notify"
	"yujing/notify/internal/providertest"
)

// testGroup is a grouped delivery of two calls as the dispatcher makes it.
func testGroup() notify.Group {
	a, b := testCall(yujing.Orange, true), testCall(yujing.Yellow, false)
	b.ID, b.Alert.ID, b.Alert.Sensor = "43-1-p1-dingtalk", 43, "gas-02"
	lead := a
	lead.Alert.Message = "plant-a 2 条预警：橙色 gas-01 55.5%LEL；黄色 gas-02 55.5%LEL"
	return notify.Group{Call: lead, Members: []yujing.Call{a, b}}
}

// TestDefaultLimit: the robot's quota, 20 a minute without burst, is what
// the dispatcher applies unless the configuration names another.
func TestDefaultLimit(t *testing.T) {
	d := newChannel(t, Config{Webhook: newRobot(t).url()})
	if MaxPerMinute != 20 {
		t.Errorf("MaxPerMinute = %d, want DingTalk's 20", MaxPerMinute)
	}
	providertest.CheckDefaultLimit(t, d, notify.Limit{PerMinute: MaxPerMinute, Burst: 1}, notify.Limit{PerMinute: 10, Burst: 2})
}

// TestSendGroup: a group goes out as one message, the first call's, whose
// note lists every call.
func TestSendGroup(t *testing.T) {
	srv := newRobot(t)
	d := newChannel(t, Config{Webhook: srv.url(), MentionLevel: "red"})
	g := testGroup()
	if _, err := d.SendGroup(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	sent := srv.Sent()
	if len(sent) != 1 || sent[0].ActionCard == nil {
		t.Fatalf("sent %+v, want one action card", sent)
	}
	if text := sent[0].ActionCard.Text; !strings.Contains(text, "**说明**：plant-a 2 条预警：橙色 gas-01 55.5%LEL；黄色 gas-02 55.5%LEL") {
		t.Errorf("text %q does not list the group", text)
	}
}
