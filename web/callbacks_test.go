package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"yujing"
	"yujing/alerting/lifecycle"
	"yujing/store"
	"yujing/web"
)

// fakeAlerts knows alert 1 only.
type fakeAlerts struct{}

func (fakeAlerts) List(context.Context, store.AlertFilter) ([]yujing.Alert, error) { return nil, nil }
func (fakeAlerts) Count(context.Context, store.AlertFilter) (map[yujing.Level]int, error) {
	return nil, nil
}
func (fakeAlerts) Get(_ context.Context, id int64) (yujing.Alert, []yujing.Transition, error) {
	if id != 1 {
		return yujing.Alert{}, nil, lifecycle.ErrNotFound
	}
	return yujing.Alert{ID: 1, Rule: "gas-lel", Level: yujing.Red, State: yujing.StateFiring}, nil, nil
}
func (fakeAlerts) Ack(context.Context, int64, lifecycle.Action) (yujing.Alert, error) {
	return yujing.Alert{}, nil
}
func (fakeAlerts) Dispose(context.Context, int64, lifecycle.Action) (yujing.Alert, error) {
	return yujing.Alert{}, nil
}
func (fakeAlerts) Close(context.Context, int64, lifecycle.Action) (yujing.Alert, error) {
	return yujing.Alert{}, nil
}

// fakeCalls stores receipts in memory.
type fakeCalls struct {
	mu       sync.Mutex
	receipts []yujing.Receipt
	failWith error
	calls    []store.CallRecord
}

func (f *fakeCalls) CallsFor(_ context.Context, id int64) ([]store.CallRecord, error) {
	if f.failWith != nil {
		return nil, f.failWith
	}
	return f.calls, nil
}

func (f *fakeCalls) Receipt(_ context.Context, r yujing.Receipt) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return f.failWith
	}
	f.receipts = append(f.receipts, r)
	return nil
}

func (f *fakeCalls) stored() []yujing.Receipt {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]yujing.Receipt(nil), f.receipts...)
}

// parseLines makes one receipt per line "call-id status"; "bad" fails.
func parseLines(body []byte) ([]yujing.Receipt, error) {
	var out []yujing.Receipt
	for _, l := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		id, status, ok := strings.Cut(l, " ")
		if !ok {
			return nil, fmt.Errorf("line %q: want \"call-id status\"", l)
		}
		out = append(out, yujing.Receipt{CallID: id, Status: status, At: time.Unix(1751356800, 0)})
	}
	return out, nil
}

// headerParser reads receipts from a header, with no Ack.
type headerParser struct{}

func (headerParser) ParseReceipts(r *http.Request) ([]yujing.Receipt, error) {
	id := r.Header.Get("X-Call")
	if id == "" {
		return nil, errors.New("no X-Call header")
	}
	return []yujing.Receipt{{Channel: "voice-named-by-provider", CallID: id, Status: yujing.ReceiptAnswered}}, nil
}

func newServer(t *testing.T, calls *web.Calls) string {
	t.Helper()
	srv := web.New(web.Options{Alerts: fakeAlerts{}, Calls: calls})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs.URL
}

func post(t *testing.T, url, body string, header http.Header) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestCallbacks(t *testing.T) {
	const ack = `{"code":0,"msg":"接收成功"}`
	cases := []struct {
		name     string
		channel  string
		body     string
		header   http.Header
		failWith error
		code     int
		answer   string // exact body, or a part of an error
		stored   []string
	}{
		{"provider's own ack", "sms", "c1 delivered\nc2 failed", nil, nil, 200, ack, []string{"sms c1 delivered", "sms c2 failed"}},
		{"default ack", "voice", "", http.Header{"X-Call": {"c3"}}, nil, 200, `{"ok":true}` + "\n",
			[]string{"voice-named-by-provider c3 answered"}},
		{"bad body", "sms", "garbage", nil, nil, 400, `{"error":"channel sms: line \"garbage\": want \"call-id status\""}` + "\n", nil},
		{"parser error", "voice", "", nil, nil, 400, "no X-Call header", nil},
		{"unknown channel", "fax", "c1 delivered", nil, nil, 404, `no callback endpoint for channel \"fax\"`, nil},
		{"store failing: not acknowledged, so the provider pushes again", "sms", "c1 delivered", nil, errors.New("disk full"),
			500, "receipt not stored; try again", nil},
		{"too big", "sms", strings.Repeat("x", web.MaxCallbackBody+1), nil, nil, 413, "callback body over", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := &fakeCalls{failWith: c.failWith}
			calls := web.NewCalls(st)
			if err := calls.HandleReceipts("sms", web.BodyReceipts(parseLines, ack)); err != nil {
				t.Fatal(err)
			}
			if err := calls.HandleReceipts("voice", headerParser{}); err != nil {
				t.Fatal(err)
			}
			url := newServer(t, calls)
			code, ct, body := post(t, url+"/api/v1/callbacks/"+c.channel, c.body, c.header)
			if code != c.code || !strings.Contains(body, c.answer) || (code == 200 && body != c.answer) {
				t.Errorf("answer %d %q, want %d %q", code, body, c.code, c.answer)
			}
			if !strings.HasPrefix(ct, "application/json") {
				t.Errorf("content type %q", ct)
			}
			var got []string
			for _, r := range st.stored() {
				got = append(got, r.Channel+" "+r.CallID+" "+r.Status)
			}
			if strings.Join(got, "|") != strings.Join(c.stored, "|") {
				t.Errorf("stored %q, want %q", got, c.stored)
			}
		})
	}
}

func TestCallbacksRegistry(t *testing.T) {
	calls := web.NewCalls(&fakeCalls{})
	if err := calls.HandleReceipts("sms", headerParser{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		p    web.ReceiptParser
		want string
	}{
		{"sms", headerParser{}, `channel "sms" registered twice`},
		{"", headerParser{}, "channel name and parser are required"},
		{"voice", nil, "channel name and parser are required"},
	} {
		if err := calls.HandleReceipts(c.name, c.p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("HandleReceipts(%q) = %v, want %q", c.name, err, c.want)
		}
	}
	if got := calls.ReceiptChannels(); len(got) != 1 || got[0] != "sms" {
		t.Errorf("channels %v", got)
	}
	// No Calls at all: every callback is unknown.
	code, _, _ := post(t, newServer(t, nil)+"/api/v1/callbacks/sms", "", nil)
	if code != 404 {
		t.Errorf("callback without Calls: %d, want 404", code)
	}
}

func TestAlertDetailCalls(t *testing.T) {
	sent := time.Date(2025, 7, 1, 8, 0, 1, 0, time.UTC)
	st := &fakeCalls{calls: []store.CallRecord{{ID: "1-1-p-sms", AlertID: 1, Step: 1, Person: "p", Channel: "sms",
		Status: store.CallSent, Attempts: 1, SentAt: &sent,
		Receipts: []store.CallReceipt{{CallID: "1-1-p-sms", Channel: "sms", Status: "delivered", At: sent}}}}}
	get := func(url string) (int, map[string]json.RawMessage) {
		resp, err := http.Get(url + "/api/v1/alerts/1")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]json.RawMessage
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	code, m := get(newServer(t, web.NewCalls(st)))
	want := `[{"id":"1-1-p-sms","alert_id":1,"event":"","step":1,"person":"p","person_name":"","channel":"sms","status":"sent",` +
		`"attempts":1,"last_error":"","created_at":"0001-01-01T00:00:00Z","sent_at":"2025-07-01T08:00:01Z","deadline":null,` +
		`"answered_at":null,"answered_by":null,"answer_channel":null,"answer_note":null,"on_site":null,"escalation_id":null,"round":0,` +
		`"receipts":[{"call_id":"1-1-p-sms","channel":"sms","status":"delivered","at":"2025-07-01T08:00:01Z"}]}]`
	if code != 200 || string(m["calls"]) != want || string(m["rule"]) != `"gas-lel"` {
		t.Errorf("GET alert: %d, calls %s\nwant %s", code, m["calls"], want)
	}
	if code, m := get(newServer(t, nil)); code != 200 || string(m["calls"]) != "[]" {
		t.Errorf("without Calls: %d, calls %s; want []", code, m["calls"])
	}
	if code, m := get(newServer(t, web.NewCalls(&fakeCalls{}))); code != 200 || string(m["calls"]) != "[]" {
		t.Errorf("no calls yet: %d, calls %s; want []", code, m["calls"])
	}
	if code, _ := get(newServer(t, web.NewCalls(&fakeCalls{failWith: errors.New("db gone")}))); code != 500 {
		t.Errorf("calls failing: %d, want 500", code)
	}
}
