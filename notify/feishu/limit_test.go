package feishu

import (
	"strings"
	"testing"

	"yujing"
	"yujing/notify"
)

// TestDefaultLimit: the bot's quota, 100 a minute in bursts of at most 5,
// is what the dispatcher applies unless the configuration names another.
func TestDefaultLimit(t *testing.T) {
	f := newChannel(t, Config{Webhook: newBot(t).url()})
	want := notify.Limit{PerMinute: MaxPerMinute, Burst: MaxPerSecond}
	if got := f.DefaultLimit(); got != want || want != (notify.Limit{PerMinute: 100, Burst: 5}) {
		t.Errorf("DefaultLimit() = %+v, want %+v", got, want)
	}
	disp, err := notify.New([]notify.Channel{f}, notify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := disp.Limit("feishu"); !ok || got != want {
		t.Errorf("dispatcher applies %+v (%v), want %+v", got, ok, want)
	}
	own := notify.Limit{PerMinute: 30, Burst: 1}
	disp, err = notify.New([]notify.Channel{f}, notify.Options{Limits: map[string]notify.Limit{"feishu": own}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := disp.Limit("feishu"); got != own {
		t.Errorf("with a configured limit the dispatcher applies %+v, want %+v", got, own)
	}
}

// TestSendGroup: a group goes out as one card, the first call's, whose
// note lists every call.
func TestSendGroup(t *testing.T) {
	srv := newBot(t)
	f := newChannel(t, Config{Webhook: srv.url()})
	a, b := testCall(yujing.Orange, true), testCall(yujing.Blue, false)
	b.ID, b.Alert.ID, b.Alert.Sensor = "43-1-p1-feishu", 43, "dc-03"
	lead := a
	lead.Alert.Message = "foundry-b 2 条预警：橙色 dc-02 1850Pa；蓝色 dc-03 1850Pa"
	if _, err := f.SendGroup(t.Context(), notify.Group{Call: lead, Members: []yujing.Call{a, b}}); err != nil {
		t.Fatal(err)
	}
	sent := srv.sent()
	if len(sent) != 1 {
		t.Fatalf("%d cards, want 1", len(sent))
	}
	body := sent[0]["card"].(map[string]any)["elements"].([]any)[0].(map[string]any)["text"].(map[string]any)["content"].(string)
	if !strings.Contains(body, "**说明**：foundry-b 2 条预警：橙色 dc-02 1850Pa；蓝色 dc-03 1850Pa") {
		t.Errorf("body %q does not list the group", body)
	}
}
