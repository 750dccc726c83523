package tencentsms

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"yujing/notify"
	"yujing/store/sqlite"
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
	st, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ob, err := notify.NewOutbox(st, notify.OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan notify.Result, 1)
	d, err := notify.New([]notify.Channel{s}, notify.Options{OnResult: func(r notify.Result) { ob.Result(r); results <- r }})
	if err != nil {
		t.Fatal(err)
	}
	ob.Attach(d)
	d.Run(t.Context())
	defer d.Stop(context.Background())
	if err := ob.Call(t.Context(), testCall()); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-results:
		if r.Err != nil || r.ProviderID != testSerial {
			t.Fatalf("result %+v, want sent with the SerialNo", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no result")
	}
	rs, err := s.ParseReceipts([]byte(`[{"user_receive_time":"2025-07-14 09:31:09","nationcode":"86","mobile":"13800000000",` +
		`"report_status":"SUCCESS","errmsg":"DELIVRD","description":"用户短信送达成功","sid":"` + testSerial + `"}]`))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if err := ob.Receipt(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	calls, err := ob.CallsFor(t.Context(), 42)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 || calls[0].ProviderID != testSerial || len(calls[0].Receipts) != 1 ||
		calls[0].Receipts[0].Status != notify.ReceiptDelivered {
		t.Errorf("calls %+v, want the delivery report on the call", calls)
	}
}
