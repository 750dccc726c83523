package tencentsms

import (
	"net/http"
	"testing"

	"yujing"

	"yujing/notify/internal/providertest"
)

const testSerial = "5000:1045710669157053657849499619"

// TestSendID: the SerialNo of an accepted SMS is the provider id; a
// refused one gives none.
func TestSendID(t *testing.T) {
	srv := newFakeSMS(t, nil)
	s := newSMS(t, testConfig(srv.URL))
	if id, err := s.SendID(t.Context(), testCall()); err != nil || id != testSerial {
		t.Errorf("SendID = %q, %v; want %q", id, err, testSerial)
	}
	refused := newFakeSMS(t, func(request) (int, string) {
		return http.StatusOK, sendStatus("LimitExceeded.PhoneNumberDailyLimit", "over the daily limit")
	})
	s = newSMS(t, testConfig(refused.URL))
	if id, err := s.SendID(t.Context(), testCall()); err == nil || id != "" {
		t.Errorf("SendID of a refused SMS = %q, %v; want no id and an error", id, err)
	}
}

// TestReceiptFindsCall: through the outbox, the SerialNo is stored with the
// call, so a status callback, which names only the sid, is stored against
// it.
func TestReceiptFindsCall(t *testing.T) {
	srv := newFakeSMS(t, nil)
	s := newSMS(t, testConfig(srv.URL))
	ob, results := providertest.Outbox(t, s)
	if err := ob.Call(t.Context(), testCall()); err != nil {
		t.Fatal(err)
	}
	if r := providertest.Await(t, results); r.Err != nil || r.ProviderID != testSerial {
		t.Fatalf("result %+v, want sent with the SerialNo", r)
	}
	calls := providertest.Receive(t, ob, s.ParseReceipts, 42, `[{"user_receive_time":"2025-07-14 09:31:09","nationcode":"86","mobile":"13800000000",`+
		`"report_status":"SUCCESS","errmsg":"DELIVRD","description":"用户短信送达成功","sid":"`+testSerial+`"}]`)
	if len(calls) != 1 || calls[0].ProviderID != testSerial || len(calls[0].Receipts) != 1 ||
		calls[0].Receipts[0].Status != yujing.ReceiptDelivered {
		t.Errorf("calls %+v, want the delivery report on the call", calls)
	}
}
