package feishu

import (
	"strings"
	"testing"

	"yujing"
	"yujing/notify"
	"yujing/notify/internal/providertest"
)

// TestDefaultLimit: the bot's quota, 100 a minute in bursts of at most 5,
// is what the dispatcher applies unless the configuration names another.
func TestDefaultLimit(t *testing.T) {
	f := newChannel(t, Config{Webhook: newBot(t).url()})
	want := notify.Limit{PerMinute: MaxPerMinute, Burst: MaxPerSecond}
	if want != (notify.Limit{PerMinute: 100, Burst: 5}) {
		t.Errorf("MaxPerMinute, MaxPerSecond = %+v, want Feishu's 100 a minute, 5 a second", want)
	}
	providertest.CheckDefaultLimit(t, f, want, notify.Limit{PerMinute: 30, Burst: 1})
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
	sent := srv.Sent()
	if len(sent) != 1 {
		t.Fatalf("%d cards, want 1", len(sent))
	}
	body := sent[0]["card"].(map[string]any)["elements"].([]any)[0].(map[string]any)["text"].(map[string]any)["content"].(string)
	if !strings.Contains(body, "**说明**：foundry-b 2 条预警：橙色 dc-02 1850Pa；蓝色 dc-03 1850Pa") {
		t.Errorf("body %q does not list the group", body)
	}
}
