package sqlstate

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/store"
)

func testCall(id string, alertID int64, channel string, created time.Time) yujing.Call {
	return yujing.Call{
		ID: id, Channel: channel, Event: yujing.EventRaised, Created: created, Step: 1,
		Deadline:  created.Add(5 * time.Minute),
		AnswerURL: "https://yujing.example/a/" + id,
		Alert:     yujing.Alert{ID: alertID, Rule: "gas-lel", Sensor: "GT-101", Level: yujing.Red, State: yujing.StateFiring, Value: 55},
		Person:    yujing.Person{ID: "zhang-wei", Name: "张伟", Phone: "13800000000"},
	}
}

func testRecordCallIdempotent(t *testing.T, b backend) {
	s := b.open(t)
	t0 := time.Date(2025, 7, 1, 8, 0, 0, 0, time.UTC)
	c := testCall("1-1-zhang-wei-sms", 1, "sms", t0)
	for i, want := range []bool{true, false, false} {
		got, err := s.RecordCall(t.Context(), c)
		if err != nil || got != want {
			t.Fatalf("record %d: %v, %v; want %v", i, got, err, want)
		}
	}
	// A second record changes nothing, even with other contents.
	changed := c
	changed.Channel, changed.Step = "voice", 3
	if got, err := s.RecordCall(t.Context(), changed); got || err != nil {
		t.Fatalf("record with the same id: %v, %v", got, err)
	}
	if n := countRows(t, s, "calls"); n != 1 {
		t.Errorf("%d rows, want 1", n)
	}
	pending, err := s.PendingCalls(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := c
	want.Created, want.Deadline = c.Created.UTC(), c.Deadline.UTC()
	if len(pending) != 1 || !reflect.DeepEqual(pending[0].Call, want) || !pending[0].SendingAt.IsZero() {
		t.Errorf("pending %+v\nwant %+v (the call as first recorded)", pending, want)
	}
	if _, err := s.RecordCall(t.Context(), yujing.Call{Channel: "sms"}); err == nil {
		t.Error("record without an id: no error")
	}
}

func testPendingCallsAndMark(t *testing.T, b backend) {
	s := b.open(t)
	t0 := time.Date(2025, 7, 1, 8, 0, 0, 0, time.UTC)
	// Recorded out of order: pending comes back oldest first.
	for i, id := range []string{"c", "a", "d", "b"} {
		created := t0.Add(time.Duration(strings.Index("abcd", id)) * time.Second)
		if _, err := s.RecordCall(t.Context(), testCall(id, int64(1+i%2), "sms", created)); err != nil {
			t.Fatal(err)
		}
	}
	ids := func() []string {
		cs, err := s.PendingCalls(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cs {
			out = append(out, c.Call.ID)
		}
		return out
	}
	if got := ids(); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Fatalf("pending %v, want a b c d", got)
	}
	sentAt := t0.Add(time.Minute)
	steps := []struct {
		u       store.CallUpdate
		pending []string
	}{
		{store.CallUpdate{ID: "a", Status: store.CallSent, Attempts: 2, ProviderID: "biz-a", At: sentAt}, []string{"b", "c", "d"}},
		{store.CallUpdate{ID: "b", Status: store.CallFailed, Attempts: 8, LastError: "http status 400"}, []string{"c", "d"}},
		// Cut short at shutdown: stays pending, attempts add up.
		{store.CallUpdate{ID: "c", Status: store.CallPending, Attempts: 1, LastError: "notify: dispatcher stopped"}, []string{"c", "d"}},
		{store.CallUpdate{ID: "c", Status: store.CallSent, Attempts: 1, At: sentAt}, []string{"d"}},
		// A sent call stays sent, whatever comes later.
		{store.CallUpdate{ID: "a", Status: store.CallFailed, Attempts: 1, LastError: "late"}, []string{"d"}},
		{store.CallUpdate{ID: "a", Status: store.CallPending, Attempts: 1}, []string{"d"}},
	}
	for i, st := range steps {
		if err := s.MarkCall(t.Context(), st.u); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := ids(); !slices.Equal(got, st.pending) {
			t.Errorf("step %d: pending %v, want %v", i, got, st.pending)
		}
	}
	recs := map[string]store.CallRecord{}
	for _, alert := range []int64{1, 2} {
		cs, err := s.CallsFor(t.Context(), alert)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			recs[c.ID] = c
		}
	}
	check := func(id, status string, attempts int, lastErr, pid string, sent bool) {
		t.Helper()
		r := recs[id]
		if r.Status != status || r.Attempts != attempts || r.LastError != lastErr || r.ProviderID != pid || (r.SentAt != nil) != sent {
			t.Errorf("%s: %s, %d attempts, error %q, provider id %q, sent at %v; want %s, %d, %q, %q, sent %v",
				id, r.Status, r.Attempts, r.LastError, r.ProviderID, r.SentAt, status, attempts, lastErr, pid, sent)
		}
		if sent && !r.SentAt.Equal(sentAt) {
			t.Errorf("%s: sent at %v, want %v", id, r.SentAt, sentAt)
		}
	}
	check("a", store.CallSent, 4, "", "biz-a", true)
	check("b", store.CallFailed, 8, "http status 400", "", false)
	check("c", store.CallSent, 2, "", "", true) // sent at last: no error to show
	check("d", store.CallPending, 0, "", "", false)

	err := s.MarkCall(t.Context(), store.CallUpdate{ID: "nope", Status: store.CallSent})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("mark an unknown call: %v, want ErrNotFound", err)
	}
	if err := s.MarkCall(t.Context(), store.CallUpdate{ID: "d", Status: "lost"}); err == nil || !strings.Contains(err.Error(), `unknown status "lost"`) {
		t.Errorf("mark with a bad status: %v", err)
	}
}

func testReceipts(t *testing.T, b backend) {
	s := b.open(t)
	t0 := time.Date(2025, 7, 1, 8, 0, 0, 0, time.UTC)
	for _, c := range []yujing.Call{testCall("7-1-p-sms", 7, "sms", t0), testCall("7-1-p-voice", 7, "voice", t0.Add(time.Second)),
		testCall("8-1-p-sms", 8, "sms", t0)} {
		if _, err := s.RecordCall(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.MarkCall(t.Context(), store.CallUpdate{ID: "7-1-p-voice", Status: store.CallSent, Attempts: 1, ProviderID: "vc-1", At: t0}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		r    store.CallReceipt
		want string // call id matched
	}{
		{"by call id", store.CallReceipt{CallID: "7-1-p-sms", Channel: "sms", ProviderID: "biz-9", Status: "delivered", At: t0.Add(time.Minute)}, "7-1-p-sms"},
		{"by provider id", store.CallReceipt{Channel: "voice", ProviderID: "vc-1", Status: "key_pressed", Key: "1", At: t0.Add(2 * time.Minute)}, "7-1-p-voice"},
		{"provider id of another channel", store.CallReceipt{Channel: "sms", ProviderID: "vc-1", Status: "delivered", At: t0}, ""},
		{"unknown call id", store.CallReceipt{CallID: "99-1-x", Channel: "sms", Status: "failed", At: t0}, ""},
		{"reply naming no call", store.CallReceipt{Channel: "sms", Phone: "13800000000", Status: "replied", Text: "收到", At: t0}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.SaveReceipt(t.Context(), c.r)
			if err != nil || got != c.want {
				t.Errorf("SaveReceipt = %q, %v; want %q", got, err, c.want)
			}
		})
	}
	before := countRows(t, s, "call_receipts")
	// The provider pushes the same report again: stored once.
	if _, err := s.SaveReceipt(t.Context(), cases[0].r); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, "call_receipts"); n != before || before != len(cases) {
		t.Errorf("%d receipts after a repeated push, %d before; want %d", n, before, len(cases))
	}
	if _, err := s.SaveReceipt(t.Context(), store.CallReceipt{Channel: "sms"}); err == nil {
		t.Error("receipt without a status: no error")
	}

	calls, err := s.CallsFor(t.Context(), 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || calls[0].ID != "7-1-p-sms" || calls[1].ID != "7-1-p-voice" {
		t.Fatalf("calls of alert 7: %+v", calls)
	}
	sms, voice := calls[0], calls[1]
	if len(sms.Receipts) != 1 || sms.Receipts[0].Status != "delivered" || sms.Receipts[0].ProviderID != "biz-9" ||
		!sms.Receipts[0].At.Equal(t0.Add(time.Minute)) {
		t.Errorf("sms receipts %+v", sms.Receipts)
	}
	if len(voice.Receipts) != 1 || voice.Receipts[0].Key != "1" || voice.Receipts[0].CallID != "7-1-p-voice" {
		t.Errorf("voice receipts %+v", voice.Receipts)
	}
	if sms.Person != "zhang-wei" || sms.PersonName != "张伟" || sms.Step != 1 || sms.Event != yujing.EventRaised ||
		sms.Deadline == nil || !sms.Deadline.Equal(t0.Add(5*time.Minute)) || sms.SentAt != nil || sms.Status != store.CallPending {
		t.Errorf("sms call %+v", sms)
	}
	// The API shape: unanswered calls say null; phone numbers never appear.
	js, err := json.Marshal(sms)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"answered_at":null`, `"answered_by":null`, `"answer_channel":null`, `"sent_at":null`,
		`"deadline":"2025-07-01T08:05:00Z"`, `"receipts":[{"call_id":"7-1-p-sms"`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("JSON lacks %s: %s", want, js)
		}
	}
	if strings.Contains(string(js), "13800000000") {
		t.Errorf("JSON shows a phone number: %s", js)
	}
	if calls, err := s.CallsFor(t.Context(), 404); err != nil || calls == nil || len(calls) != 0 {
		t.Errorf("calls of an alert without any: %v, %v; want an empty list", calls, err)
	}
}

// TestOutboxSurvivesReopen: what was recorded and marked is there after
// the file is closed and opened again.
func testOutboxSurvivesReopen(t *testing.T, b backend) {
	where := b.fresh(t)
	s, err := Open(t.Context(), where, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC()
	for _, id := range []string{"a", "b"} {
		if _, err := s.RecordCall(t.Context(), testCall(id, 1, "sms", t0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.MarkCall(t.Context(), store.CallUpdate{ID: "a", Status: store.CallSent, Attempts: 1, At: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = b.openAt(t, where)
	pending, err := s.PendingCalls(t.Context())
	if err != nil || len(pending) != 1 || pending[0].Call.ID != "b" {
		t.Errorf("pending after reopen: %v, %v; want b", pending, err)
	}
	if got, err := s.RecordCall(t.Context(), testCall("a", 1, "sms", t0)); got || err != nil {
		t.Errorf("record a sent call again after reopen: %v, %v; want not recorded", got, err)
	}
}

// TestMarkSending: an attempt's start is on disk before the request, and
// stays with a pending call (also one cut short by shutdown) across a
// reopen, so that a restart knows the call may have reached its provider;
// sent and failed calls are not marked, and are no longer pending.
func testMarkSending(t *testing.T, b backend) {
	where := b.fresh(t)
	s := b.openAt(t, where)
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	for _, id := range []string{"never-tried", "in-flight", "cut-short", "sent", "failed"} {
		if _, err := s.RecordCall(t.Context(), testCall(id, 1, "sms", t0)); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []store.CallUpdate{{ID: "sent", Status: store.CallSent, Attempts: 1, At: t0}, {ID: "failed", Status: store.CallFailed, Attempts: 1}} {
		if err := s.MarkCall(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	at := t0.Add(time.Second)
	if err := s.MarkSending(t.Context(), []string{"in-flight", "cut-short", "sent", "failed", "no-such-call"}, at); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSending(t.Context(), nil, at); err != nil {
		t.Fatal(err)
	}
	// Shutdown cut the attempt short: still pending, still in doubt.
	if err := s.MarkCall(t.Context(), store.CallUpdate{ID: "cut-short", Status: store.CallPending, Attempts: 1, LastError: "stopped"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = b.openAt(t, where)
	pending, err := s.PendingCalls(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]time.Time{}
	for _, p := range pending {
		got[p.Call.ID] = p.SendingAt
	}
	want := map[string]time.Time{"never-tried": {}, "in-flight": at, "cut-short": at}
	if len(got) != len(want) {
		t.Fatalf("pending %v, want %v", got, want)
	}
	for id, w := range want {
		if g, ok := got[id]; !ok || !g.Equal(w) {
			t.Errorf("%s: pending %v, sending at %v; want sending at %v", id, ok, g, w)
		}
	}
}
