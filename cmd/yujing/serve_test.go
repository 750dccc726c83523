package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"yujing/config"
	"yujing/configs"
	"yujing/ingest/decode/all"
	notifyall "yujing/notify/all"
	"yujing/notify/webhook"
)

// hookRecorder is a webhook receiver that checks the signature of every call.
type hookRecorder struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	calls  []map[string]any
	bad    []string
}

func (h *hookRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if !webhook.Verify(h.secret, body, r.Header.Get("X-Yujing-Signature")) {
		h.bad = append(h.bad, "bad signature "+r.Header.Get("X-Yujing-Signature"))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		h.bad = append(h.bad, "bad json "+string(body))
	}
	h.calls = append(h.calls, m)
}

func (h *hookRecorder) snapshot() ([]map[string]any, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.calls...), append([]string(nil), h.bad...)
}

// instance is a running yujing serve.
type instance struct {
	http, mqtt string
	stop       func()
	logs       *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testToken is an admin API token: start adds it to every instance's
// http.api_tokens (child processes' configurations carry it as
// testTokenYAML), and the HTTP helpers (getJSON, postJSON, do, authed)
// send it, so that the tests reach the authenticated API. Actions taken
// with it are by testActor.
const (
	testToken     = "test-token-0123456789abcdef0123456789abcdef"
	testActor     = "token:test"
	testTokenYAML = `api_tokens: [{name: test, role: admin, token: "` + testToken + `"}]`
)

// bearerTransport sends testToken with every request that has no
// Authorization header of its own.
type bearerTransport struct{}

func (bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Authorization") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+testToken)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// authed is an HTTP client that sends testToken.
var authed = &http.Client{Transport: bearerTransport{}}

// start runs serve in-process until the test ends. The instance accepts
// testToken as an admin API token.
func start(t *testing.T, cfg *config.Config) *instance {
	t.Helper()
	if !slices.ContainsFunc(cfg.HTTP.APITokens, func(a config.APIToken) bool { return a.Name == "test" }) {
		cfg.HTTP.APITokens = append(cfg.HTTP.APITokens, config.APIToken{Name: "test", Role: "admin", Token: testToken})
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan [2]string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, serveOptions{Logger: log, Version: "test", ShutdownTimeout: 5 * time.Second,
			Ready: func(h, m string) { ready <- [2]string{h, m} }})
	}()
	inst := &instance{logs: logs}
	select {
	case a := <-ready:
		inst.http, inst.mqtt = a[0], a[1]
	case err := <-done:
		t.Fatalf("serve exited before ready: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve not ready after 30s\n%s", logs.String())
	}
	var once sync.Once
	inst.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve returned %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("serve did not stop within 30s")
			}
		})
	}
	t.Cleanup(func() {
		inst.stop()
		if t.Failed() {
			t.Logf("yujing log:\n%s", logs.String())
		}
	})
	return inst
}

func publisher(t *testing.T, broker string) mqtt.Client {
	t.Helper()
	if !strings.Contains(broker, "://") {
		broker = "tcp://" + broker
	}
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("test-pub-%d", time.Now().UnixNano())))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect publisher to %s: %v", broker, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publish(t *testing.T, c mqtt.Client, topic, payload string) {
	t.Helper()
	tok := c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := authed.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: decode: %v", url, err)
		}
	}
	return resp.StatusCode
}

func postJSON(t *testing.T, url, body string, v any) int {
	t.Helper()
	resp, err := authed.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	if v != nil {
		_ = json.NewDecoder(resp.Body).Decode(v)
	}
	return resp.StatusCode
}

type apiAlert struct {
	ID        int64     `json:"id"`
	Rule      string    `json:"rule"`
	Sensor    string    `json:"sensor"`
	Site      string    `json:"site"`
	Level     string    `json:"level"`
	State     string    `json:"state"`
	Value     float64   `json:"value"`
	StartedAt time.Time `json:"started_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Message   string    `json:"message"`
	History   []struct {
		Event   string `json:"event"`
		ToLevel string `json:"to_level"`
		ToState string `json:"to_state"`
		Actor   string `json:"actor"`
		Note    string `json:"note"`
	} `json:"history"`
}

// waitFor polls until cond holds, failing after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
	return 0
}

// demoConfig loads the bundled demo with a webhook channel added to its
// routes (ops-webhook: hookURL, secret s3cret-for-test, which
// hookRecorder checks), the simulator off and everything on free ports in
// a temporary directory.
func demoConfig(t *testing.T, hookURL string) *config.Config {
	t.Helper()
	return demoWith(t, demoChannel{"ops-webhook", fmt.Sprintf("webhook: {url: %q, secret: s3cret-for-test, timeout: 5s}", hookURL)})
}

// demoChannel is a channel demoWith adds: its name, and its type and
// settings as one line of YAML.
type demoChannel struct{ name, yaml string }

// demoWith loads the bundled demo with channels added to its routes (next
// to its log channel), the simulator off and everything on free ports in a
// temporary directory.
func demoWith(t *testing.T, channels ...demoChannel) *config.Config {
	t.Helper()
	defs, names := "", "log"
	for _, c := range channels {
		defs += fmt.Sprintf("  - name: %s\n    %s\n", c.name, c.yaml)
		names += ", " + c.name
	}
	demo := configs.Demo
	for _, edit := range []struct{ old, new string }{
		{"channels:\n  - name: log\n    log: {}\n", "channels:\n  - name: log\n    log: {}\n" + defs},
		{"events: [raised, reopened, upgraded, resolved, overdue]\n    people: [zhang-wei]\n    channels: [log]\n",
			"events: [raised, reopened, upgraded, resolved, overdue]\n    people: [zhang-wei]\n    channels: [" + names + "]\n"},
	} {
		if n := bytes.Count(demo, []byte(edit.old)); n != 1 {
			t.Fatalf("configs/demo.yaml has %q %d times, want once", edit.old, n)
		}
		demo = bytes.Replace(demo, []byte(edit.old), []byte(edit.new), 1)
	}
	decoders, err := all.Registry()
	if err != nil {
		t.Fatal(err)
	}
	types, err := notifyall.Types()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(configs.DemoName, demo, config.Options{Decoders: decoders.Names(), Channels: types})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Simulate = false
	cfg.HTTPListen = "127.0.0.1:0"
	cfg.EmbeddedListen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	// Grouping stays on, with a wait short enough for the tests' waits
	// (the default holds a warning's first calls for 10s).
	cfg.GroupWait = 300 * time.Millisecond
	return cfg
}

func TestEmbeddedReadingToWarning(t *testing.T) {
	hook := &hookRecorder{t: t, secret: "s3cret-for-test"}
	hs := httptest.NewServer(hook)
	defer hs.Close()
	inst := start(t, demoConfig(t, hs.URL+"/hook"))
	api := "http://" + inst.http
	pub := publisher(t, inst.mqtt)

	// A reading over the yellow gas threshold (25 %LEL) raises a warning.
	publish(t, pub, "yujing/demo-plant/GT-101", `{"value": 31.5}`)
	var alerts []apiAlert
	took := waitFor(t, 5*time.Second, "the alert in GET /api/v1/alerts", func() bool {
		alerts = nil
		getJSON(t, api+"/api/v1/alerts", &alerts)
		return len(alerts) == 1
	})
	t.Logf("alert visible in the API %s after publishing", took)
	a := alerts[0]
	if a.Rule != "gas-lel" || a.Sensor != "GT-101" || a.Site != "demo-plant" || a.Level != "yellow" || a.State != "firing" || a.Value != 31.5 {
		t.Fatalf("alert = %+v", a)
	}
	if a.StartedAt.IsZero() || a.UpdatedAt.IsZero() || !strings.Contains(a.Message, "黄色") {
		t.Fatalf("alert times or message missing: %+v", a)
	}

	// The webhook channel is called, signed.
	waitFor(t, 5*time.Second, "the webhook call", func() bool { c, _ := hook.snapshot(); return len(c) >= 1 })
	calls, bad := hook.snapshot()
	if len(bad) > 0 {
		t.Fatalf("bad webhook requests: %v", bad)
	}
	c := calls[0]
	for k, want := range map[string]any{"alert_id": float64(a.ID), "level": "yellow", "state": "firing", "sensor": "GT-101",
		"site": "demo-plant", "value": 31.5, "person": "zhang-wei"} {
		if c[k] != want {
			t.Errorf("webhook %s = %v, want %v", k, c[k], want)
		}
	}
	if msg, _ := c["message"].(string); msg == "" {
		t.Errorf("webhook message empty: %v", c)
	}

	// Acknowledge through the API; the history records who.
	var acked apiAlert
	if code := postJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d/ack", api, a.ID), `{"by": "duty-li", "note": "收到"}`, &acked); code != 200 || acked.State != "acknowledged" {
		t.Fatalf("ack: %d %+v", code, acked)
	}
	if code := postJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d/ack", api, a.ID), `{"by": "duty-li"}`, nil); code != http.StatusConflict {
		t.Errorf("second ack: status %d, want 409", code)
	}
	if code := postJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d/close", api, a.ID), `{"by": "duty-li", "reason": "false_alarm", "note": "x"}`, nil); code != http.StatusConflict {
		t.Errorf("close while firing: status %d, want 409", code)
	}

	// Worse: upgraded in place to red. Then clear: resolved, then closed.
	publish(t, pub, "yujing/demo-plant/GT-101", `{"value": 55}`)
	waitFor(t, 5*time.Second, "the upgrade to red", func() bool {
		var d apiAlert
		getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", api, a.ID), &d)
		return d.Level == "red" && d.State == "firing"
	})
	publish(t, pub, "yujing/demo-plant/GT-101", `{"value": 1.2}`)
	waitFor(t, 5*time.Second, "resolution", func() bool {
		var d apiAlert
		getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", api, a.ID), &d)
		return d.State == "resolved"
	})
	if code := postJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d/close", api, a.ID), `{"by": "duty-li", "note": "现场核查无泄漏"}`, nil); code != http.StatusBadRequest {
		t.Errorf("close without reason: status %d, want 400", code)
	}
	if code := postJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d/close", api, a.ID), `{"by": "duty-li", "reason": "real_hazard", "note": "阀门已更换"}`, nil); code != 200 {
		t.Fatalf("close: status %d", code)
	}
	var d apiAlert
	getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", api, a.ID), &d)
	var events []string
	for _, h := range d.History {
		events = append(events, h.Event+":"+h.ToLevel+":"+h.ToState+":"+h.Actor)
	}
	// The actor is who authenticated (the test's API token), not the
	// body's "by".
	want := []string{"raised:yellow:firing:system", "acknowledged:yellow:acknowledged:" + testActor,
		"upgraded:red:firing:system", "resolved:red:resolved:system", "closed:red:closed:" + testActor}
	if strings.Join(events, " ") != strings.Join(want, " ") {
		t.Errorf("history:\n got %v\nwant %v", events, want)
	}
	// raised, upgraded and resolved each called the person on the webhook.
	waitFor(t, 5*time.Second, "three webhook calls", func() bool { c, _ := hook.snapshot(); return len(c) == 3 })

	// A new episode after close is a new alert.
	publish(t, pub, "yujing/demo-plant/GT-101", `{"value": 12}`)
	waitFor(t, 5*time.Second, "a second alert", func() bool {
		alerts = nil
		getJSON(t, api+"/api/v1/alerts?state=open", &alerts)
		return len(alerts) == 1 && alerts[0].ID != a.ID && alerts[0].Level == "blue"
	})
}

func TestEmbeddedBadInputKeepsGoing(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer hs.Close()
	inst := start(t, demoConfig(t, hs.URL))
	api := "http://" + inst.http
	pub := publisher(t, inst.mqtt)

	bad := []struct{ topic, payload, reason string }{
		{"yujing/demo-plant/GT-101", `{"value": 3`, "malformed"},
		{"yujing/demo-plant/GT-101", `{"value": "high"}`, "bad_value"},
		{"yujing/demo-plant/GT-101", `{"value": 1e999}`, "not_finite"},
		{"yujing/demo-plant/NOPE-1", `{"value": 1}`, "unknown_topic"},
		{"yujing/demo-plant/GT-101", `{"value": 250}`, "out_of_range"},
		{"yujing/demo-plant/TK-201", `{"values": {"level": 3, "flow": 2}}`, "unknown_metric"},
	}
	for _, b := range bad {
		publish(t, pub, b.topic, b.payload)
	}
	publish(t, pub, "yujing/demo-plant/GT-101", `{"value": 4.5, "ts": "`+time.Now().UTC().Format(time.RFC3339Nano)+`"}`)

	type status struct {
		ID     string `json:"id"`
		Online bool   `json:"online"`
		Last   []struct {
			Metric string  `json:"metric"`
			Value  float64 `json:"value"`
		} `json:"last"`
	}
	waitFor(t, 5*time.Second, "the good reading after the bad ones", func() bool {
		var ss []status
		getJSON(t, api+"/api/v1/sensors", &ss)
		for _, s := range ss {
			if s.ID == "GT-101" && s.Online && len(s.Last) == 1 && s.Last[0].Value == 4.5 {
				return true
			}
		}
		return false
	})
	// The TK-201 message with one unknown metric kept its good one.
	var ss []status
	getJSON(t, api+"/api/v1/sensors", &ss)
	for _, s := range ss {
		if s.ID == "TK-201" && (len(s.Last) != 1 || s.Last[0].Metric != "level" || s.Last[0].Value != 3) {
			t.Errorf("TK-201 last = %+v, want level 3 only", s.Last)
		}
	}

	resp, err := authed.Get(api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, b := range bad {
		line := fmt.Sprintf(`yujing_ingest_rejected_total{reason="%s"} 1`, b.reason)
		if !strings.Contains(string(body), line) {
			t.Errorf("metrics lack %s", line)
		}
	}
	var rej []struct {
		At                            time.Time
		Topic, Reason, Error, Payload string
	}
	getJSON(t, api+"/api/v1/rejected", &rej)
	if len(rej) != len(bad) {
		t.Fatalf("rejected = %d entries, want %d: %+v", len(rej), len(bad), rej)
	}
	// Newest first; each keeps its payload and names the field or metric.
	got := map[string]string{}
	for i, r := range rej {
		if i > 0 && r.At.After(rej[i-1].At) {
			t.Errorf("rejections not newest first: %v after %v", r.At, rej[i-1].At)
		}
		got[r.Reason] = r.Payload + " → " + r.Error
	}
	for _, b := range bad {
		if !strings.HasPrefix(got[b.reason], b.payload+" → ") {
			t.Errorf("rejection %s = %q, want payload %s", b.reason, got[b.reason], b.payload)
		}
	}
	if !strings.Contains(got["unknown_metric"], `"flow"`) || !strings.Contains(got["bad_value"], "value: want a number") {
		t.Errorf("rejections do not name the field: %v", got)
	}
	var alerts []apiAlert
	getJSON(t, api+"/api/v1/alerts", &alerts)
	if len(alerts) != 0 {
		t.Errorf("bad input raised alerts: %+v", alerts)
	}
	if code := getJSON(t, api+"/healthz", nil); code != 200 {
		t.Errorf("healthz %d", code)
	}
}

type configT = config.Config

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
