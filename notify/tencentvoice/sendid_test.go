package tencentvoice

import (
	"net/http"
	"testing"

	"yujing"

	"yujing/notify/internal/providertest"
)

const testCallID = "12582bce-403c-11eb-96b8-525400476c37"

// TestSendID: the CallId of a placed call is the provider id; a refused
// one gives none.
func TestSendID(t *testing.T) {
	srv := newFakeVMS(t, nil)
	v := newVoice(t, testConfig(srv.URL))
	if id, err := v.SendID(t.Context(), testCall()); err != nil || id != testCallID {
		t.Errorf("SendID = %q, %v; want %q", id, err, testCallID)
	}
	refused := newFakeVMS(t, func(request) (int, string) {
		return http.StatusOK, `{"Response":{"Error":{"Code":"FailedOperation.InsufficientBalanceInVoicePackage","Message":"no balance"},"RequestId":"r1"}}`
	})
	v = newVoice(t, testConfig(refused.URL))
	if id, err := v.SendID(t.Context(), testCall()); err == nil || id != "" {
		t.Errorf("SendID of a refused call = %q, %v; want no id and an error", id, err)
	}
}

// TestReceiptFindsCall: through the outbox, the CallId is stored with the
// call, so the call's result and the key pressed, which name only the
// callid, are stored against it.
func TestReceiptFindsCall(t *testing.T) {
	srv := newFakeVMS(t, nil)
	v := newVoice(t, testConfig(srv.URL))
	ob, results := providertest.Outbox(t, v)
	if err := ob.Call(t.Context(), testCall()); err != nil {
		t.Fatal(err)
	}
	if r := providertest.Await(t, results); r.Err != nil || r.ProviderID != testCallID {
		t.Fatalf("result %+v, want placed with the CallId", r)
	}
	calls := providertest.Receive(t, ob, v.ParseReceipts, 42,
		`{"voiceprompt_callback":{"result":"0","accept_time":"1752456660","callid":"`+testCallID+`","end_calltime":"1752456690","fee":"1","mobile":"13800000000","nationcode":"86","start_calltime":"1752456650"}}`,
		`{"voicekey_callback":{"call_from":"","callid":"`+testCallID+`","keypress":"1","mobile":"13800000000","nationcode":"86"}}`)
	if len(calls) != 1 || calls[0].ProviderID != testCallID || len(calls[0].Receipts) != 2 {
		t.Fatalf("calls %+v, want the call with both receipts", calls)
	}
	got := map[string]string{}
	for _, r := range calls[0].Receipts {
		got[r.Status] = r.Key
	}
	if _, ok := got[yujing.ReceiptAnswered]; !ok || got[yujing.ReceiptKeyPressed] != KeyReceived {
		t.Errorf("receipts %+v, want answered and key 1 pressed", calls[0].Receipts)
	}
}
