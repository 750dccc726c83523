package notify_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yujing"
	"yujing/notify"
	"yujing/notify/aliyunsms"
	"yujing/notify/aliyunsms/dysmstest"
	"yujing/notify/webhook"
	"yujing/store"
)

// queryAnswer is one answer of querierChannel's provider.
type queryAnswer struct {
	st  notify.SendStatus
	err error
}

// querierChannel is a countingChannel whose provider can be asked whether
// a call was sent; it answers with answers in turn (the last repeats).
type querierChannel struct {
	*countingChannel
	mu      sync.Mutex
	answers []queryAnswer
	asked   []time.Time
	doubts  []notify.InDoubt
}

func (q *querierChannel) SendStatus(_ context.Context, _ yujing.Call, doubt notify.InDoubt) (notify.SendStatus, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.asked = append(q.asked, time.Now())
	q.doubts = append(q.doubts, doubt)
	a := q.answers[0]
	if len(q.answers) > 1 {
		q.answers = q.answers[1:]
	}
	return a.st, a.err
}

func (q *querierChannel) queries() []time.Time {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]time.Time(nil), q.asked...)
}

// dedupChannel is a countingChannel whose receiver drops repeated keys.
type dedupChannel struct{ *countingChannel }

func (dedupChannel) Deduplicates() bool { return true }

// crashedRun leaves in the state database at path what a run that died
// leaves: call recorded and, when sendingAt is set, marked as being sent
// then (the request may have reached the provider).
func crashedRun(t *testing.T, path string, c yujing.Call, sendingAt time.Time) {
	t.Helper()
	st := openState(t, path)
	if _, err := st.RecordCall(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if !sendingAt.IsZero() {
		if err := st.MarkSending(t.Context(), []string{c.ID}, sendingAt); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestResumeInDoubt: after a restart, a call the previous run had begun
// to send is asked about when its channel can be asked, and sent again only
// when the provider has no record of it or cannot tell; through a channel
// that cannot be asked it is sent again and counted (same key for a
// deduplicating receiver); a call never tried goes out without asking.
func TestResumeInDoubt(t *testing.T) {
	type want struct {
		sends, queries int
		status         string
		providerID     string
		outcome        string // the yujing_notify_in_doubt_total outcome counted, "" none
		lastError      string // a part of it
		log            string // a part of the log
	}
	accepted := notify.SendStatus{State: notify.SendAccepted, ProviderID: "biz-1"}
	cases := []struct {
		name    string
		answers []queryAnswer // nil: the channel cannot be asked
		dedup   bool
		fresh   bool // never tried: no sending mark
		want    want
	}{
		{name: "the provider has it", answers: []queryAnswer{{st: accepted}},
			want: want{0, 1, store.CallSent, "biz-1", notify.InDoubtConfirmed, "", "notify call in doubt confirmed sent by the provider"}},
		{name: "no record at the provider", answers: []queryAnswer{{st: notify.SendStatus{State: notify.SendNotFound}}},
			want: want{1, 1, store.CallSent, "prov-1-1-p1-sms", notify.InDoubtNotFound, "", "not found at the provider: sending it"}},
		{name: "records lag, then found", answers: []queryAnswer{{st: notify.SendStatus{AskAgainIn: 20 * time.Second}}, {st: accepted}},
			want: want{0, 2, store.CallSent, "biz-1", notify.InDoubtConfirmed, "", ""}},
		{name: "the provider cannot tell", answers: []queryAnswer{{st: notify.SendStatus{}}},
			want: want{1, 1, store.CallSent, "prov-1-1-p1-sms", notify.InDoubtResent, "", "may reach the person twice"}},
		{name: "the query is refused", answers: []queryAnswer{{err: notify.Permanent(errors.New("no permission token=t0ps3cret"))}},
			want: want{1, 1, store.CallSent, "prov-1-1-p1-sms", notify.InDoubtResent, "", "the provider refuses to be asked"}},
		{name: "the provider cannot be reached", answers: []queryAnswer{{err: errors.New("connection refused")}},
			want: want{0, 3, store.CallFailed, "", "", "asking whether call 1-1-p1-sms was sent: connection refused", "notify send status query failed"}},
		{name: "a channel that cannot be asked",
			want: want{1, 0, store.CallSent, "prov-1-1-p1-sms", notify.InDoubtResent, "", "may reach the person twice"}},
		{name: "a receiver that drops repeated keys", dedup: true,
			want: want{1, 0, store.CallSent, "prov-1-1-p1-sms", notify.InDoubtResentSameKey, "", "sent again with the same key"}},
		{name: "never tried", answers: []queryAnswer{{st: accepted}}, fresh: true,
			want: want{1, 0, store.CallSent, "prov-1-1-p1-sms", "", "", ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "state.db")
				call := outboxCall("1-1-p1-sms", "sms")
				var sendingAt time.Time
				if !c.fresh {
					sendingAt = time.Now().Add(-time.Second)
				}
				crashedRun(t, path, call, sendingAt)

				counting := newCounting("sms")
				counting.pid = true
				var ch notify.Channel = counting
				q := &querierChannel{countingChannel: counting, answers: c.answers}
				switch {
				case c.answers != nil:
					ch = q
				case c.dedup:
					ch = dedupChannel{counting}
				}
				var logs syncBuf
				reg := prometheus.NewRegistry()
				st := openState(t, path) // the restart
				p := newPipeline(t, st, notify.Options{MaxAttempts: 3, Registerer: reg,
					Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}, ch)
				if err := p.ob.Resume(t.Context()); err != nil {
					t.Fatal(err)
				}
				r := p.waitWithin(t, 1, time.Minute)[0] // fake time: the provider's 20s included
				stop(t, p.d)

				if n := counting.count(call.ID); n != c.want.sends {
					t.Errorf("sent %d times, want %d", n, c.want.sends)
				}
				if n := len(q.queries()); n != c.want.queries {
					t.Errorf("asked %d times, want %d", n, c.want.queries)
				}
				if c.want.queries > 0 && (q.doubts[0].To != sendingAt || !q.doubts[0].From.Equal(call.Created)) {
					t.Errorf("asked about %+v, want from the call's creation to the sending mark %v", q.doubts[0], sendingAt)
				}
				if qs := q.queries(); len(qs) == 2 && qs[1].Sub(qs[0]) < 20*time.Second {
					t.Errorf("asked again %s later, want the provider's 20s", qs[1].Sub(qs[0]))
				}
				rec := callsByID(t, st, call.Alert.ID)[call.ID]
				if rec.Status != c.want.status || rec.ProviderID != c.want.providerID || !strings.Contains(rec.LastError, c.want.lastError) {
					t.Errorf("call %s, provider id %q, last error %q; want %s, %q, %q", rec.Status, rec.ProviderID, rec.LastError,
						c.want.status, c.want.providerID, c.want.lastError)
				}
				if (r.Err == nil) != (c.want.status == store.CallSent) {
					t.Errorf("result %v, want status %s", r.Err, c.want.status)
				}
				for _, o := range notify.InDoubtOutcomes {
					want := 0.0
					if o == c.want.outcome {
						want = 1
					}
					if got := inDoubtCount(t, reg, "sms", o); got != want {
						t.Errorf("in_doubt_total{outcome=%q} = %v, want %v", o, got, want)
					}
				}
				if !strings.Contains(logs.String(), c.want.log) {
					t.Errorf("log lacks %q:\n%s", c.want.log, logs.String())
				}
				if strings.Contains(logs.String(), "t0ps3cret") {
					t.Errorf("the log shows the query error's token:\n%s", logs.String())
				}
			})
		})
	}
}

// TestCrashInsideRequestAliyunSMS: the provider takes an SMS whose answer
// never comes back (the process dies inside the request); after the
// restart yujing asks QuerySendDetails, finds it by OutId and marks it
// sent without sending it again. An SMS marked as being sent that never
// reached the provider is asked about until the provider's records have
// settled, then sent: once.
func TestCrashInsideRequestAliyunSMS(t *testing.T) {
	for _, reached := range []bool{true, false} {
		name := map[bool]string{true: "the provider has it", false: "it never reached the provider"}[reached]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := dysmstest.New("LTAIcrashtest0001", "crash-test-secret-0123")
				sms, err := aliyunsms.New(aliyunsms.Config{Name: "sms", Endpoint: "https://dysmsapi.aliyuncs.com/",
					AccessKeyID: "LTAIcrashtest0001", AccessKeySecret: "crash-test-secret-0123", SignName: "应急管理局",
					TemplateCode: "SMS_1"}, &http.Client{Transport: p.Transport()})
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(t.TempDir(), "state.db")
				call := outboxCall("5-1-p1-sms", "sms")
				call.Person.Phone = "13800000001"
				if reached {
					// Run 1: the SMS reaches the provider, the answer never
					// comes back; the run ends with the request in flight.
					p.Reply = func(url.Values) (int, string) { return -1, "" }
					st := openState(t, path)
					run1 := newPipeline(t, st, notify.Options{}, sms)
					if err := run1.ob.Call(t.Context(), call); err != nil {
						t.Fatal(err)
					}
					synctest.Wait()
					if n := p.SendsTo(call.ID); n != 1 {
						t.Fatalf("run 1: the provider has %d SMS, want 1", n)
					}
					pending, err := st.PendingCalls(t.Context())
					if err != nil || len(pending) != 1 || pending[0].SendingAt.IsZero() {
						t.Fatalf("run 1, request in flight: pending %+v, %v; want the call marked as being sent", pending, err)
					}
					expired, cancel := context.WithCancel(context.Background())
					cancel()
					_ = run1.d.Stop(expired) // the request is cut off: its outcome is unknown
					if err := st.Close(); err != nil {
						t.Fatal(err)
					}
					p.Reply = nil
				} else {
					crashedRun(t, path, call, time.Now())
				}

				// Run 2: the restart.
				st := openState(t, path)
				reg := prometheus.NewRegistry()
				run2 := newPipeline(t, st, notify.Options{Registerer: reg}, sms)
				if err := run2.ob.Resume(t.Context()); err != nil {
					t.Fatal(err)
				}
				if r := run2.waitWithin(t, 1, time.Minute)[0]; r.Err != nil { // fake time: QuerySettle included
					t.Fatalf("result %v; rejected %v", r.Err, p.Rejected())
				}
				stop(t, run2.d)
				if n := p.SendsTo(call.ID); n != 1 {
					t.Errorf("the provider got the SMS %d times, want once", n)
				}
				qs := p.Queries()
				outcome, queries := notify.InDoubtConfirmed, 1
				if !reached {
					outcome, queries = notify.InDoubtNotFound, 2 // asked, then again once QuerySettle passed
				}
				if len(qs) != queries || qs[0].Get("PhoneNumber") != "13800000001" {
					t.Errorf("queries %v, want %d for the number", qs, queries)
				}
				if got := inDoubtCount(t, reg, "sms", outcome); got != 1 {
					t.Errorf("in_doubt_total{outcome=%q} = %v, want 1", outcome, got)
				}
				if rec := callsByID(t, st, call.Alert.ID)[call.ID]; rec.Status != store.CallSent {
					t.Errorf("call %s, want sent", rec.Status)
				}
				if bad := p.Rejected(); len(bad) > 0 {
					t.Errorf("the provider refused %v", bad)
				}
			})
		})
	}
}

// TestCrashInsideRequestWebhook: a webhook call whose request was in
// flight when the run ended goes out again after the restart with the same
// Idempotency-Key, so that the receiver drops the copy; it is counted as
// resent_same_key.
func TestCrashInsideRequestWebhook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hook := &groupHook{}
		hold := make(chan struct{})
		ch := newHook(t, webhook.Config{Name: "hook", URL: "https://hooks.example.com/yujing"},
			&http.Client{Transport: holdingTransport{hook, hold}})
		path := filepath.Join(t.TempDir(), "state.db")
		call := outboxCall("6-1-p1-hook", "hook")
		call.Alert.Level = yujing.Red // not held for grouping
		st := openState(t, path)
		run1 := newPipeline(t, st, notify.Options{}, ch)
		if err := run1.ob.Call(t.Context(), call); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		expired, cancel := context.WithCancel(context.Background())
		cancel()
		_ = run1.d.Stop(expired)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		close(hold)

		st = openState(t, path)
		reg := prometheus.NewRegistry()
		run2 := newPipeline(t, st, notify.Options{Registerer: reg}, ch)
		if err := run2.ob.Resume(t.Context()); err != nil {
			t.Fatal(err)
		}
		if r := run2.wait(t, 1)[0]; r.Err != nil {
			t.Fatal(r.Err)
		}
		stop(t, run2.d)
		reqs := hook.requests()
		if len(reqs) != 2 || reqs[0].key != call.ID || reqs[1].key != call.ID {
			t.Errorf("requests %v, want the call twice under its own key", reqs)
		}
		if got := inDoubtCount(t, reg, "hook", notify.InDoubtResentSameKey); got != 1 {
			t.Errorf("in_doubt_total{outcome=resent_same_key} = %v, want 1", got)
		}
	})
}

// holdingTransport records a request with the groupHook, then holds it
// unanswered until hold closes or the request is cancelled.
type holdingTransport struct {
	h    *groupHook
	hold chan struct{}
}

func (t holdingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.h.RoundTrip(r)
	select {
	case <-t.hold:
		return resp, err
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// inDoubtCount reads yujing_notify_in_doubt_total{channel, outcome}.
func inDoubtCount(t *testing.T, reg *prometheus.Registry, channel, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "yujing_notify_in_doubt_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["channel"] == channel && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no yujing_notify_in_doubt_total{channel=%q, outcome=%q}", channel, outcome)
	return 0
}
