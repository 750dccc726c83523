package wecom

import (
	"strings"
	"testing"

	"yujing"
	"yujing/notify"
	"yujing/notify/internal/providertest"
)

// TestDefaultLimit: the robot's quota, 20 a minute without burst, is what
// the dispatcher applies unless the configuration names another.
func TestDefaultLimit(t *testing.T) {
	w := newChannel(t, Config{Webhook: newRobot(t).url()})
	if MaxPerMinute != 20 {
		t.Errorf("MaxPerMinute = %d, want WeCom's 20", MaxPerMinute)
	}
	providertest.CheckDefaultLimit(t, w, notify.Limit{PerMinute: MaxPerMinute, Burst: 1}, notify.Limit{PerMinute: 5})
}

// TestSendGroup: a group goes out as one markdown message (a template card
// has no room for the list), the first call's, whose note lists every call
// and which keeps the answer link.
func TestSendGroup(t *testing.T) {
	srv := newRobot(t)
	w := newChannel(t, Config{Webhook: srv.url()})
	a, b := testCall(yujing.Yellow, true), testCall(yujing.Blue, true)
	b.ID, b.Alert.ID, b.Alert.Sensor = "43-1-p1-wecom", 43, "rain-08"
	lead := a
	lead.Alert.Message = "xiaoshan-station 2 条预警：黄色 rain-07 104.2mm；蓝色 rain-08 104.2mm"
	if _, err := w.SendGroup(t.Context(), notify.Group{Call: lead, Members: []yujing.Call{a, b}}); err != nil {
		t.Fatal(err)
	}
	sent := srv.Sent()
	if len(sent) != 1 || sent[0]["msgtype"] != "markdown" {
		t.Fatalf("sent %v, want one markdown message", sent)
	}
	md := sent[0]["markdown"].(map[string]any)["content"].(string)
	if !strings.Contains(md, "**说明**：xiaoshan-station 2 条预警：黄色 rain-07 104.2mm；蓝色 rain-08 104.2mm") ||
		!strings.Contains(md, "https://yj.example.cn/a/Q7xK2mP9") {
		t.Errorf("markdown %q does not list the group with the answer link", md)
	}
}
