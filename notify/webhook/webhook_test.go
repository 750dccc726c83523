package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"yujing"
	"yujing/notify"
	"yujing/notify/internal/providertest"
)

var sentAt = time.Date(2025, 7, 14, 9, 31, 5, 0, time.UTC)

// testCall is the shared gas call (providertest.GasCall) as this channel
// sends it.
func testCall() yujing.Call {
	c := providertest.GasCall("42-7-p1-webhook", "webhook")
	c.Alert.Message = "【红色(Ⅰ级)预警】甲厂 gas-01 可燃气体浓度 55.5%LEL"
	c.Event = yujing.EventUpgraded
	return c
}

// request is what a test server saw.
type request struct {
	method string
	header http.Header
	body   []byte
}

// recorder is an httptest server that answers with the given statuses in
// turn (the last one repeats) and keeps every request.
type recorder struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	reqs     []request
}

func newRecorder(t *testing.T, statuses ...int) *recorder {
	t.Helper()
	r := &recorder{statuses: statuses}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, request{req.Method, req.Header.Clone(), b})
		code := http.StatusOK
		if len(r.statuses) > 0 {
			code = r.statuses[0]
			if len(r.statuses) > 1 {
				r.statuses = r.statuses[1:]
			}
		}
		r.mu.Unlock()
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "answer body\n")
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

func newWebhook(t *testing.T, cfg Config) *Webhook {
	t.Helper()
	w, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.now = func() time.Time { return sentAt }
	return w
}

func TestSendPayload(t *testing.T) {
	srv := newRecorder(t, http.StatusNoContent)
	w := newWebhook(t, Config{URL: srv.URL + "/hook", Headers: map[string]string{"X-Tenant": "county-1"}})
	if w.Name() != "webhook" {
		t.Errorf("Name() = %q, want default webhook", w.Name())
	}
	c := testCall()
	c.Step, c.AnswerURL = 2, "https://yj.example.cn/answer/tok"
	c.Deadline = time.Date(2025, 7, 14, 9, 36, 5, 0, time.UTC)
	if err := w.Send(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPost {
		t.Errorf("method %s, want POST", r.method)
	}
	for k, want := range map[string]string{
		"Content-Type": "application/json", "Idempotency-Key": "42-7-p1-webhook", "X-Tenant": "county-1",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if ua := r.header.Get("User-Agent"); !strings.HasPrefix(ua, "yujing/") {
		t.Errorf("User-Agent %q, want yujing/…", ua)
	}
	if h := r.header.Get(HeaderSignature); h != "" {
		t.Errorf("signature header %q sent without a secret", h)
	}

	var got map[string]any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, r.body)
	}
	want := map[string]any{
		"call_id":     "42-7-p1-webhook",
		"alert_id":    42.0,
		"event":       "upgraded",
		"level":       "red",
		"level_zh":    "红色(Ⅰ级)",
		"state":       "firing",
		"rule":        "gas-lel-high",
		"sensor":      "gas-01",
		"site":        "plant-a",
		"family":      "gas",
		"metric":      "lel",
		"value":       55.5,
		"unit":        "%LEL",
		"threshold":   50.0,
		"started_at":  "2025-07-14T09:30:00+08:00",
		"updated_at":  "2025-07-14T09:31:00+08:00",
		"person":      "p1",
		"person_name": "张三",
		"message":     "【红色(Ⅰ级)预警】甲厂 gas-01 可燃气体浓度 55.5%LEL",
		"sent_at":     "2025-07-14T09:31:05Z",
		"deadline":    "2025-07-14T09:36:05Z",
		"answer_url":  "https://yj.example.cn/answer/tok",
		"step":        2.0,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected field %q = %#v", k, got[k])
		}
	}
	if strings.Contains(string(r.body), "13800000000") {
		t.Error("payload carries the person's phone number")
	}
}

func TestSignature(t *testing.T) {
	const secret = "s3cr3t-signing-key"
	srv := newRecorder(t, http.StatusOK)
	w := newWebhook(t, Config{URL: srv.URL, Secret: secret})
	if err := w.Send(t.Context(), testCall()); err != nil {
		t.Fatal(err)
	}
	r := srv.requests()[0]
	h := r.header.Get(HeaderSignature)

	// Computed independently of Sign.
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(r.body)
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); h != want {
		t.Fatalf("signature %q, want %q", h, want)
	}
	if !Verify(secret, r.body, h) {
		t.Error("Verify rejects a good signature")
	}
	tampered := append(slices.Clone(r.body[:len(r.body)-1]), ' ', '}')
	for _, c := range []struct {
		name, secret, header string
		body                 []byte
	}{
		{"wrong secret", "other", h, r.body},
		{"tampered body", secret, h, tampered},
		{"no prefix", secret, strings.TrimPrefix(h, "sha256="), r.body},
		{"not hex", secret, "sha256=zz", r.body},
		{"empty header", secret, "", r.body},
		{"empty secret", "", Sign("", r.body), r.body},
	} {
		if Verify(c.secret, c.body, c.header) {
			t.Errorf("%s: Verify accepted", c.name)
		}
	}
}

// TestSignKnownAnswer pins the signature format to a vector computed with
//
//	printf '%s' '{"call_id":"1-2-p1-webhook","level":"red"}' | openssl dgst -sha256 -hmac 'yujing-test-secret'
func TestSignKnownAnswer(t *testing.T) {
	body := []byte(`{"call_id":"1-2-p1-webhook","level":"red"}`)
	const want = "sha256=f8bde1f3af8d3e4df0b3fbe97df71bf9a6a9202bc72550f8481fc47dddab1298"
	if got := Sign("yujing-test-secret", body); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	if !Verify("yujing-test-secret", body, want) {
		t.Error("Verify rejects the known answer")
	}
}

func TestStatusClassification(t *testing.T) {
	cases := []struct {
		status    int
		ok        bool
		retryable bool
		reason    string
	}{
		{200, true, false, ""},
		{202, true, false, ""},
		{204, true, false, ""},
		{500, false, true, notify.ReasonHTTP5xx},
		{502, false, true, notify.ReasonHTTP5xx},
		{503, false, true, notify.ReasonHTTP5xx},
		{408, false, true, notify.ReasonTimeout},
		{429, false, true, notify.ReasonThrottled},
		{400, false, false, notify.ReasonHTTP4xx},
		{401, false, false, notify.ReasonHTTP4xx},
		{404, false, false, notify.ReasonHTTP4xx},
		{422, false, false, notify.ReasonHTTP4xx},
		{302, false, false, notify.ReasonOther}, // redirects are not followed
	}
	for _, c := range cases {
		t.Run(http.StatusText(c.status), func(t *testing.T) {
			srv := newRecorder(t, c.status)
			w := newWebhook(t, Config{URL: srv.URL})
			err := w.Send(t.Context(), testCall())
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			if err == nil {
				return
			}
			providertest.CheckFailure(t, err, c.retryable, c.reason)
			var he *notify.HTTPError
			if !errors.As(err, &he) || he.StatusCode != c.status || he.Body != "answer body" {
				t.Errorf("err %v: want *notify.HTTPError with status %d and body", err, c.status)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	providertest.CheckTimeouts(t, testCall(), func(url string, timeout time.Duration) notify.Channel {
		return newWebhook(t, Config{URL: url, Timeout: timeout})
	})
}

func TestNetworkErrorHidesURLSecrets(t *testing.T) {
	url := providertest.ClosedURL(t) // nothing listens any more
	w := newWebhook(t, Config{URL: url + "/hook?access_token=TOPSECRET", Secret: "SIGNKEY",
		Headers: map[string]string{"Authorization": "Bearer HEADERSECRET"}})
	err := w.Send(t.Context(), testCall())
	if err == nil {
		t.Fatal("Send to a closed port succeeded")
	}
	providertest.CheckFailure(t, err, true, notify.ReasonNetwork)
	providertest.NoSecrets(t, err, "TOPSECRET", "SIGNKEY", "HEADERSECRET")
	if !strings.Contains(err.Error(), url+"/hook") {
		t.Errorf("error %q does not name the endpoint", err)
	}
}

func TestNewValidation(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" for success
	}{
		{"ok", Config{URL: "https://example.com/h"}, ""},
		{"ok http with port", Config{Name: "x", URL: "http://127.0.0.1:8080/h?token=t"}, ""},
		{"empty url", Config{}, `webhook "webhook": url is empty`},
		{"relative", Config{URL: "/hook"}, `url scheme "" is not http or https`},
		{"ftp", Config{URL: "ftp://example.com/x"}, `url scheme "ftp" is not http or https`},
		{"no host", Config{URL: "https:///x"}, "url has no host"},
		{"bad url", Config{URL: "http://exa mple.com/?token=SECRETTOKEN"}, "url is not a valid URL"},
		{"negative timeout", Config{URL: "https://example.com", Timeout: -time.Second}, "timeout -1s is negative"},
		{"reserved header", Config{URL: "https://example.com", Headers: map[string]string{"x-yujing-signature": "x"}},
			`header "x-yujing-signature" is set by yujing`},
		{"bad header name", Config{URL: "https://example.com", Headers: map[string]string{"Bad Header": "x"}},
			`header name "Bad Header" is not valid`},
		{"header injection", Config{URL: "https://example.com", Headers: map[string]string{"X-A": "SECRETVALUE\r\nX-B: y"}},
			`header "X-A" has a control character`},
		{"all at once", Config{Name: "n", URL: "ftp://x", Timeout: -1}, `webhook "n": url scheme "ftp" is not http or https` + "\n" + "timeout -1ns is negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg, nil)
			if c.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New error %v, want %q", err, c.want)
			}
			providertest.NoSecrets(t, err, "SECRETTOKEN", "SECRETVALUE")
		})
	}
}

// TestSampleConfig keeps sample.yaml valid: strict decoding, then New.
func TestSampleConfig(t *testing.T) {
	var cfg Config
	providertest.DecodeSample(t, &cfg, map[string]string{"YUJING_WEBHOOK_SECRET": "from-env", "YUJING_WEBHOOK_TOKEN": "tok"})
	if cfg.Name != "duty-room" || cfg.Secret != "from-env" || cfg.Timeout != 5*time.Second || cfg.Headers["Authorization"] != "Bearer tok" {
		t.Errorf("decoded %+v", cfg)
	}
	if _, err := New(cfg, nil); err != nil {
		t.Errorf("New(sample): %v", err)
	}
}
