package wecom

import (
	"strings"
	"testing"

	"yujing"
	"yujing/notify"
)

// TestDefaultLimit: the robot's quota, 20 a minute without burst, is what
// the dispatcher applies unless the configuration names another.
func TestDefaultLimit(t *testing.T) {
	w := newChannel(t, Config{Webhook: newRobot(t).url()})
	want := notify.Limit{PerMinute: MaxPerMinute, Burst: 1}
	if got := w.DefaultLimit(); got != want || want.PerMinute != 20 {
		t.Errorf("DefaultLimit() = %+v, want %+v", got, want)
	}
	disp, err := notify.New([]notify.Channel{w}, notify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := disp.Limit("wecom"); !ok || got != want {
		t.Errorf("dispatcher applies %+v (%v), want %+v", got, ok, want)
	}
	own := notify.Limit{PerMinute: 5}
	disp, err = notify.New([]notify.Channel{w}, notify.Options{Limits: map[string]notify.Limit{"wecom": own}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := disp.Limit("wecom"); got != own {
		t.Errorf("with a configured limit the dispatcher applies %+v, want %+v", got, own)
	}
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
	sent := srv.sent()
	if len(sent) != 1 || sent[0]["msgtype"] != "markdown" {
		t.Fatalf("sent %v, want one markdown message", sent)
	}
	md := sent[0]["markdown"].(map[string]any)["content"].(string)
	if !strings.Contains(md, "**说明**：xiaoshan-station 2 条预警：黄色 rain-07 104.2mm；蓝色 rain-08 104.2mm") ||
		!strings.Contains(md, "https://yj.example.cn/a/Q7xK2mP9") {
		t.Errorf("markdown %q does not list the group with the answer link", md)
	}
}
