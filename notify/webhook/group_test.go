package webhook

import (
	"encoding/json"
	"net/http"
	"testing"

	"yujing"
	"yujing/notify"
)

// TestSendGroupPayload: a grouped delivery is one request: the first
// call's fields with the combined message, its id as Idempotency-Key, and
// every call under "group", signed like any other body.
func TestSendGroupPayload(t *testing.T) {
	srv := newRecorder(t, http.StatusOK)
	w := newWebhook(t, Config{URL: srv.URL + "/hook", Secret: "s3cret"})
	a := testCall()
	a.Event, a.Alert.Level, a.ID = yujing.EventRaised, yujing.Orange, "42-1-p1-webhook"
	b := a
	b.ID, b.Alert.ID, b.Alert.Sensor, b.Alert.Level, b.Alert.Value, b.Alert.Message = "43-1-p1-webhook", 43, "gas-02", yujing.Yellow, 30, "gas-02 超限"
	lead := a
	lead.Alert.Message = "plant-a 2 条预警：橙色 gas-01 55.5%LEL；黄色 gas-02 30%LEL"
	if _, err := w.SendGroup(t.Context(), notify.Group{Call: lead, Members: []yujing.Call{a, b}}); err != nil {
		t.Fatal(err)
	}
	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if k := r.header.Get(HeaderIdempotency); k != "42-1-p1-webhook" {
		t.Errorf("Idempotency-Key %q, want the first call's id", k)
	}
	if !Verify("s3cret", r.body, r.header.Get(HeaderSignature)) {
		t.Error("signature does not verify")
	}
	var got struct {
		CallID  string           `json:"call_id"`
		Level   string           `json:"level"`
		Message string           `json:"message"`
		Group   []map[string]any `json:"group"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.CallID != "42-1-p1-webhook" || got.Level != "orange" || got.Message != lead.Alert.Message || len(got.Group) != 2 {
		t.Fatalf("payload %+v", got)
	}
	want := []map[string]any{
		{"call_id": "42-1-p1-webhook", "alert_id": 42.0, "event": "raised", "level": "orange", "rule": "gas-lel-high",
			"sensor": "gas-01", "value": 55.5, "unit": "%LEL", "threshold": 50.0, "message": "【红色(Ⅰ级)预警】甲厂 gas-01 可燃气体浓度 55.5%LEL"},
		{"call_id": "43-1-p1-webhook", "alert_id": 43.0, "event": "raised", "level": "yellow", "rule": "gas-lel-high",
			"sensor": "gas-02", "value": 30.0, "unit": "%LEL", "threshold": 50.0, "message": "gas-02 超限"},
	}
	for i, e := range got.Group {
		if len(e) != len(want[i]) {
			t.Errorf("group[%d] has fields %v, want %v", i, e, want[i])
		}
		for k, v := range want[i] {
			if e[k] != v {
				t.Errorf("group[%d].%s = %#v, want %#v", i, k, e[k], v)
			}
		}
	}
}
