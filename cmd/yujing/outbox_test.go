package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"yujing"
	"yujing/alerting/alertingtest"
	"yujing/alerting/lifecycle"
	"yujing/ingest"
	"yujing/internal/testenv"
	"yujing/notify"
	"yujing/notify/aliyunsms"
	"yujing/notify/aliyunsms/dysmstest"
	"yujing/notify/webhook"
	"yujing/store"
	"yujing/store/sqlite"
	"yujing/store/sqlstate"
	"yujing/web"
)

// Receiver modes of outboxReceiver.
const (
	recvAccept = "accept" // count the delivery (once per Idempotency-Key) and answer 200
	recvHang   = "hang"   // hold the request unanswered and uncounted: yujing has recorded the call, not sent it
	recvStall  = "stall"  // count the delivery, then never answer: sent, not confirmed
)

// outboxReceiver is the local provider: a webhook endpoint that counts
// deliveries by Idempotency-Key and, as the contract allows, answers a
// repeated key with 200 without counting it again.
type outboxReceiver struct {
	t       *testing.T
	release chan struct{} // closed at the end: held handlers return

	mu       sync.Mutex
	mode     string
	accepted map[string]int // deliveries counted, by key
	dups     map[string]int // repeated deliveries of a counted key
	held     map[string]int // requests held by "hang", not counted
	requests []string       // every request's key, in order
	bad      []string
}

func newOutboxReceiver(t *testing.T) (*outboxReceiver, *httptest.Server) {
	r := &outboxReceiver{t: t, mode: recvAccept, release: make(chan struct{}),
		accepted: map[string]int{}, dups: map[string]int{}, held: map[string]int{}}
	hs := httptest.NewServer(r)
	t.Cleanup(func() { close(r.release); hs.Close() })
	return r, hs
}

func (o *outboxReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Header.Get(webhook.HeaderIdempotency)
	var p webhook.Payload
	o.mu.Lock()
	if err := json.Unmarshal(body, &p); err != nil || p.CallID != key || key == "" {
		o.bad = append(o.bad, fmt.Sprintf("key %q, body %s", key, body))
	}
	o.requests = append(o.requests, key)
	mode := o.mode
	switch {
	case mode == recvHang:
		o.held[key]++
	case o.accepted[key] > 0:
		o.dups[key]++
	default:
		o.accepted[key]++
	}
	o.mu.Unlock()
	if mode == recvAccept {
		return // 200
	}
	select { // until yujing is killed (the connection closes) or the test ends
	case <-r.Context().Done():
	case <-o.release:
	}
}

func (o *outboxReceiver) setMode(m string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.mode = m
}

// keys returns the keys of m with at least one count, sorted.
func (o *outboxReceiver) keys(m map[string]int) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for k, n := range m {
		if n > 0 {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func (o *outboxReceiver) count(m map[string]int, key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return m[key]
}

func (o *outboxReceiver) requestCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.requests)
}

// outboxChild is yujing serve running as a child process: the test binary
// re-executed through TestMain (main_helper_test.go).
type outboxChild struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	http string
}

func startOutboxChild(t *testing.T, configPath, httpAddr string, logs *syncBuffer) *outboxChild {
	t.Helper()
	// Ready when it logs so: that is after the MQTT subscriber started,
	// which /healthz answering is not.
	const ready = `msg="yujing ready"`
	readyBefore := strings.Count(logs.String(), ready)
	cmd := exec.Command(os.Args[0], "serve", "-config", configPath, "-log-level", "debug")
	cmd.Env = append(os.Environ(), serveChildEnv+"=1")
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	fmt.Fprintf(logs, "--- %s: starting yujing\n", time.Now().Format(time.RFC3339Nano))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &outboxChild{cmd: cmd, done: make(chan struct{}), http: httpAddr}
	go func() {
		c.err = cmd.Wait()
		fmt.Fprintf(logs, "--- %s: yujing exited: %v\n", time.Now().Format(time.RFC3339Nano), c.err)
		close(c.done)
	}()
	t.Cleanup(func() { c.signal(syscall.SIGKILL) })
	deadline := time.Now().Add(time.Minute)
	for {
		if strings.Count(logs.String(), ready) > readyBefore {
			return c
		}
		select {
		case <-c.done:
			t.Fatalf("yujing exited before it was ready: %v", c.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("yujing not ready after a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// signal sends sig and waits for the process to end.
func (c *outboxChild) signal(sig syscall.Signal) error {
	_ = c.cmd.Process.Signal(sig)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	return c.err
}

// outboxCalls returns the calls of an alert as the API shows them, by id.
func (c *outboxChild) calls(t *testing.T, alertID int64) map[string]string {
	t.Helper()
	var d struct {
		Calls []struct {
			ID       string `json:"id"`
			Status   string `json:"status"`
			Attempts int    `json:"attempts"`
		} `json:"calls"`
	}
	if code := getJSON(t, fmt.Sprintf("http://%s/api/v1/alerts/%d", c.http, alertID), &d); code != http.StatusOK {
		t.Fatalf("GET alert %d: %d", alertID, code)
	}
	out := map[string]string{}
	for _, cl := range d.Calls {
		out[cl.ID] = cl.Status
	}
	return out
}

// Credentials of the local Alibaba Cloud SMS API of the outbox tests.
const (
	outboxSMSKeyID  = "LTAIoutboxkilltest01"
	outboxSMSSecret = "outbox-kill-test-secret-0123"
)

func outboxConfig(t *testing.T, dataDir, httpAddr, mqttAddr, hookURL, smsURL string) string {
	t.Helper()
	yaml := fmt.Sprintf(`timezone: Asia/Shanghai
data_dir: %s
http:
  listen: %s
  `+testTokenYAML+`
mqtt:
  embedded:
    listen: %s
  client_id: yujing-outbox-test
simulate:
  enabled: false
sites:
  - id: plant
    name: 测试厂区
sensors:
  - id: GT-1
    name: 可燃气体探测器
    site: plant
    family: gas
    metric: lel
    unit: "%%LEL"
    interval: 10s
    range: {min: 0, max: 100}
rules:
  - name: gas-lel
    match: {family: gas}
    above: {yellow: 25, red: 50}
    hysteresis: 2
people:
  - id: duty-a
    name: 值班甲
    phone: "13800000001"
  - id: duty-b
    name: 值班乙
    phone: "13800000002"
channels:
  - name: hook
    webhook:
      url: %s
      timeout: 30s
  - name: sms
    aliyun_sms: {endpoint: %q, access_key_id: %s, access_key_secret: %s, sign_name: 测试, template_code: SMS_1}
delivery:
  group_wait: 1s # the yellow calls are held, also after a restart
notify:
  - levels: [yellow, red]
    people: [duty-a, duty-b]
    channels: [hook, sms]
`, dataDir, httpAddr, mqttAddr, hookURL, smsURL, outboxSMSKeyID, outboxSMSSecret)
	path := filepath.Join(t.TempDir(), "yujing.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOutboxExactlyOnceAcrossKills kills yujing (SIGKILL) inside the
// requests of its calls — first with the webhook receiver holding them
// uncounted ("recorded, not sent"), then with the receiver counting them
// and never answering ("sent, not confirmed") — while the Alibaba Cloud SMS
// API (dysmstest) takes every SMS and never answers; it restarts yujing on
// the same data directory each time and counts the deliveries by key. The
// outbox wrote each call's sending mark before its request, so after each
// kill the calls are in doubt: the SMS API is asked (QuerySendDetails by
// OutId), has every SMS and gets none again; the webhook calls go out
// again with the same Idempotency-Key, and the receiver drops the copies
// of the second window, as its contract says. Every call is marked sent,
// and a clean restart sends nothing.
func TestOutboxExactlyOnceAcrossKills(t *testing.T) {
	if testing.Short() {
		t.Skip("runs yujing as a child process")
	}
	began := time.Now()
	recv, hs := newOutboxReceiver(t)
	sms := dysmstest.New(outboxSMSKeyID, outboxSMSSecret)
	var smsHold atomic.Bool // the SMS API takes each SMS and never answers
	sms.Reply = func(url.Values) (int, string) {
		if smsHold.Load() {
			return -1, ""
		}
		return 200, `{"Code":"OK","Message":"OK","RequestId":"R","BizId":"1^0"}`
	}
	smsSrv := httptest.NewServer(sms)
	t.Cleanup(smsSrv.Close)
	dataDir := t.TempDir()
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	mqttAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	path := outboxConfig(t, dataDir, httpAddr, mqttAddr, hs.URL+"/calls", smsSrv.URL+"/")
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("yujing log:\n%s", logs.String())
		}
	})
	const wait = 20 * time.Second
	raise := func(value float64) {
		pub := publisher(t, mqttAddr)
		publish(t, pub, "yujing/plant/GT-1", fmt.Sprintf(`{"value": %g}`, value))
		pub.Disconnect(100)
	}
	// inDoubt checks, between a kill and the restart, that the calls in
	// flight were marked as being sent, on disk, before their requests.
	inDoubt := func(ids []string) {
		t.Helper()
		st, err := sqlite.OpenState(t.Context(), filepath.Join(dataDir, "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		pending, err := st.PendingCalls(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		marked := map[string]bool{}
		for _, p := range pending {
			marked[p.Call.ID] = !p.SendingAt.IsZero()
		}
		for _, id := range ids {
			if !marked[id] {
				t.Errorf("after the kill, call %s is not pending with a sending mark (pending: %v)", id, marked)
			}
		}
	}
	smsKeys := func() []string {
		var out []string
		for _, s := range sms.Sends() {
			out = append(out, s.Form.Get("OutId"))
		}
		slices.Sort(out)
		return out
	}
	// metric reads one series of the running child's /metrics.
	metric := func(name string) string {
		t.Helper()
		resp, err := authed.Get("http://" + httpAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				return v
			}
		}
		return "absent"
	}
	confirmed := `yujing_notify_in_doubt_total{channel="sms",outcome="confirmed"}`
	sameKey := `yujing_notify_in_doubt_total{channel="hook",outcome="resent_same_key"}`

	// 1. Recorded, not sent: the receiver holds both webhook calls
	// uncounted; the SMS API takes both SMS and holds the answers.
	recv.setMode(recvHang)
	smsHold.Store(true)
	child := startOutboxChild(t, path, httpAddr, logs)
	raise(30) // yellow: one call per person and channel
	waitFor(t, wait, "both webhook calls and both SMS at the providers", func() bool {
		return len(recv.keys(recv.held)) == 2 && len(sms.Sends()) == 2
	})
	first := recv.keys(recv.held)
	firstSMS := smsKeys()
	for id, st := range child.calls(t, 1) {
		if st != "pending" {
			t.Errorf("before the first kill: call %s is %s, want pending", id, st)
		}
	}
	child.signal(syscall.SIGKILL)
	t.Logf("killed inside the requests of calls %v and %v", first, firstSMS)
	inDoubt(append(slices.Clone(first), firstSMS...))

	recv.setMode(recvAccept)
	smsHold.Store(false)
	child = startOutboxChild(t, path, httpAddr, logs)
	waitFor(t, wait, "the held calls resent", func() bool { return slices.Equal(recv.keys(recv.accepted), first) })
	waitFor(t, wait, "the calls marked sent", func() bool {
		cs := child.calls(t, 1)
		for _, st := range cs {
			if st != "sent" {
				return false
			}
		}
		return len(cs) == 4
	})
	if got := metric(confirmed); got != "2" {
		t.Errorf("after the first restart %s = %s, want 2 (both SMS found at the provider)", confirmed, got)
	}
	if got := metric(sameKey); got != "2" {
		t.Errorf("after the first restart %s = %s, want 2", sameKey, got)
	}

	// 2. Sent, not confirmed: the receiver counts the webhook calls, then
	// never answers; the SMS API takes the SMS and never answers.
	recv.setMode(recvStall)
	smsHold.Store(true)
	raise(60) // red: the alert is upgraded, four new calls
	var second []string
	waitFor(t, wait, "the upgrade's calls at the providers", func() bool {
		second = nil
		for _, k := range recv.keys(recv.accepted) {
			if !slices.Contains(first, k) {
				second = append(second, k)
			}
		}
		return len(second) == 2 && len(sms.Sends()) == 4
	})
	var secondSMS []string
	for _, k := range smsKeys() {
		if !slices.Contains(firstSMS, k) {
			secondSMS = append(secondSMS, k)
		}
	}
	cs := child.calls(t, 1)
	for _, id := range append(slices.Clone(second), secondSMS...) {
		if cs[id] != "pending" {
			t.Errorf("before the second kill: call %s is %s, want pending (sent, not confirmed)", id, cs[id])
		}
	}
	child.signal(syscall.SIGKILL)
	t.Logf("killed between sent and confirmed, calls %v and %v", second, secondSMS)
	inDoubt(append(slices.Clone(second), secondSMS...))

	recv.setMode(recvAccept)
	smsHold.Store(false)
	child = startOutboxChild(t, path, httpAddr, logs)
	waitFor(t, wait, "the unconfirmed webhook calls sent again", func() bool { return slices.Equal(recv.keys(recv.dups), second) })
	waitFor(t, wait, "every call marked sent", func() bool {
		cs := child.calls(t, 1)
		for _, st := range cs {
			if st != "sent" {
				return false
			}
		}
		return len(cs) == 8
	})
	if got := metric(confirmed); got != "2" {
		t.Errorf("after the second restart %s = %s, want 2", confirmed, got)
	}

	// 3. A clean stop and start: nothing is sent again.
	if err := child.signal(syscall.SIGTERM); err != nil {
		t.Errorf("yujing stopped with %v", err)
	}
	before, beforeSMS := recv.requestCount(), len(sms.Sends())
	child = startOutboxChild(t, path, httpAddr, logs)
	time.Sleep(500 * time.Millisecond)
	if n := recv.requestCount(); n != before {
		t.Errorf("%d webhook requests after a clean restart, want none", n-before)
	}
	if n := len(sms.Sends()); n != beforeSMS {
		t.Errorf("%d SMS after a clean restart, want none", n-beforeSMS)
	}

	// Deliveries by key. Webhook: every call delivered once; the copies the
	// receiver dropped are those of the second window, with the same key.
	all := append(slices.Clone(first), second...)
	slices.Sort(all)
	if got := recv.keys(recv.accepted); !slices.Equal(got, all) {
		t.Errorf("delivered %v, want %v", got, all)
	}
	for _, k := range all {
		if n := recv.count(recv.accepted, k); n != 1 {
			t.Errorf("call %s delivered %d times", k, n)
		}
	}
	for _, k := range first {
		if n := recv.count(recv.dups, k); n != 0 {
			t.Errorf("call %s (first window) sent again after it was confirmed: %d copies", k, n)
		}
	}
	for _, k := range second {
		if n := recv.count(recv.dups, k); n != 1 {
			t.Errorf("call %s (second window): %d copies, want the one documented duplicate", k, n)
		}
	}
	if n := recv.requestCount(); n != 8 {
		t.Errorf("%d webhook requests in all, want 8 (2 held + 2 resent, 2 stalled + 2 resent)", n)
	}
	// SMS: the provider was asked instead of sent to again: each SMS once.
	allSMS := append(slices.Clone(firstSMS), secondSMS...)
	slices.Sort(allSMS)
	if got := smsKeys(); len(allSMS) != 4 || !slices.Equal(got, allSMS) {
		t.Errorf("the SMS API got %v, want each of the 4 SMS calls once", got)
	}
	if n := len(sms.Queries()); n < 4 {
		t.Errorf("%d QuerySendDetails, want at least one per SMS in doubt (4)", n)
	}
	if bad := sms.Rejected(); len(bad) > 0 {
		t.Errorf("the SMS API refused %v", bad)
	}
	recv.mu.Lock()
	if len(recv.bad) > 0 {
		t.Errorf("malformed deliveries: %v", recv.bad)
	}
	recv.mu.Unlock()
	t.Logf("8 calls (4 webhook, 4 SMS), 2 kills inside the requests, 4 starts: 12 requests — each SMS once, "+
		"each webhook call once plus the 2 documented same-key copies; whole test %v", time.Since(began).Round(time.Millisecond))
}

// stubAlerts is the least web.Alerts for a server that only takes
// callbacks.
type stubAlerts struct{}

func (stubAlerts) List(context.Context, store.AlertFilter) ([]yujing.Alert, error) { return nil, nil }
func (stubAlerts) Count(context.Context, store.AlertFilter) (map[yujing.Level]int, error) {
	return nil, nil
}
func (stubAlerts) Get(context.Context, int64) (yujing.Alert, []yujing.Transition, error) {
	return yujing.Alert{}, nil, lifecycle.ErrNotFound
}
func (stubAlerts) Ack(context.Context, int64, lifecycle.Action) (yujing.Alert, error) {
	return yujing.Alert{}, lifecycle.ErrNotFound
}
func (stubAlerts) Dispose(context.Context, int64, lifecycle.Action) (yujing.Alert, error) {
	return yujing.Alert{}, lifecycle.ErrNotFound
}
func (stubAlerts) Close(context.Context, int64, lifecycle.Action) (yujing.Alert, error) {
	return yujing.Alert{}, lifecycle.ErrNotFound
}

// TestProviderCallbacks: every channel of configs/channels.yaml whose
// provider reports back gets a callback endpoint; an Aliyun SMS delivery
// report posted to it is answered with the ack Aliyun expects and stored
// against its call.
func TestProviderCallbacks(t *testing.T) {
	for _, v := range []string{"ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "TENCENTCLOUD_SECRET_ID",
		"TENCENTCLOUD_SECRET_KEY", "SMS_GATEWAY_TOKEN", "SMS_GATEWAY_PASSWORD", "YUJING_DINGTALK_TOKEN",
		"YUJING_DINGTALK_SECRET", "YUJING_WECOM_KEY", "YUJING_FEISHU_HOOK", "YUJING_FEISHU_SECRET", "YUJING_SMTP_PASSWORD"} {
		t.Setenv(v, "test-"+strings.ToLower(v))
	}
	cfg, err := loadConfig("../../configs/channels.yaml")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := ingest.NewRegistry(cfg.Sites, cfg.Sensors)
	if err != nil {
		t.Fatal(err)
	}
	_, receipts, err := buildChannels(cfg, channelTypes(t), registryNames{reg: reg}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	state, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer state.Close()
	outbox, err := notify.NewOutbox(state, notify.OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Call-and-answer takes the receipts (and would answer a reply).
	stack := alertingtest.New(t, nil, state, reg, alertingtest.Options{Calls: outbox})
	calls, err := newCalls(stack.Escalate, receipts)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(calls.ReceiptChannels(), " "); got != "sms-aliyun sms-tencent voice-aliyun voice-tencent" {
		t.Errorf("callback endpoints for %q", got)
	}
	id := "1-1-duty-sms-aliyun"
	if _, err := state.RecordCall(t.Context(), yujing.Call{ID: id, Channel: "sms-aliyun", Alert: yujing.Alert{ID: 1},
		Person: yujing.Person{ID: "duty"}, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(web.New(web.Options{Alerts: stubAlerts{}, Calls: calls}).Handler())
	defer hs.Close()
	report := `[{"phone_number":"13800000000","send_time":"2025-07-01 08:00:00","report_time":"2025-07-01 08:00:05",` +
		`"success":true,"err_code":"DELIVERED","err_msg":"用户接收成功","biz_id":"932702304080415357^0","out_id":"` + id + `"}]`
	for _, c := range []struct {
		channel, body string
		code          int
		answer        string
	}{
		{"sms-aliyun", report, 200, aliyunsms.ReceiptAck},
		{"sms-aliyun", "not json", 400, "aliyunsms sms-aliyun: receipts"},
		{"duty-dingtalk", "{}", 404, "no callback endpoint"},
	} {
		resp, err := http.Post(hs.URL+"/api/v1/callbacks/"+c.channel, "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code || !strings.Contains(string(body), c.answer) {
			t.Errorf("POST %s: %d %s, want %d %s", c.channel, resp.StatusCode, body, c.code, c.answer)
		}
	}
	recs, err := state.CallsFor(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || len(recs[0].Receipts) != 1 || recs[0].Receipts[0].Status != yujing.ReceiptDelivered ||
		recs[0].Receipts[0].ProviderID != "932702304080415357^0" {
		t.Errorf("stored %+v, want the delivery report on call %s", recs, id)
	}
}

// outboxBench is the delivery half of serve (state database, outbox,
// dispatcher, webhook) against a local receiver that answers at once.
type outboxBench struct {
	state    *sqlstate.State
	outbox   *notify.Outbox
	d        *notify.Dispatcher
	finished atomic.Int64
	arrivals chan time.Time
}

// benchStateDirs are where the benchmarks put the state database: the
// disk (what production does: the cost of synchronous=FULL) and, when
// there is one, tmpfs (no fsync: what is left is the pipeline itself).
func benchStateDirs(b *testing.B) map[string]string {
	dirs := map[string]string{"disk": b.TempDir()}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "yujing-bench-"); err == nil {
			b.Cleanup(func() { os.RemoveAll(d) })
			dirs["tmpfs"] = d
		}
	}
	return dirs
}

func newOutboxBench(b *testing.B, dir string) *outboxBench {
	b.Helper()
	ob := &outboxBench{arrivals: make(chan time.Time, 1)}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case ob.arrivals <- at:
		default:
		}
	}))
	b.Cleanup(hs.Close)
	dir, err := os.MkdirTemp(dir, "run-") // a fresh database for every run of the body
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlite.OpenState(b.Context(), filepath.Join(dir, "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ob.state = st
	if ob.outbox, err = notify.NewOutbox(st, notify.OutboxOptions{}); err != nil {
		b.Fatal(err)
	}
	hook, err := webhook.New(webhook.Config{Name: "hook", URL: hs.URL}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ob.d, err = notify.New([]notify.Channel{hook}, notify.Options{OnResult: func(r notify.Result) {
		ob.outbox.Result(r)
		if r.Err != nil {
			b.Errorf("call %s: %v", r.Call.ID, r.Err)
		}
		ob.finished.Add(1)
	}})
	if err != nil {
		b.Fatal(err)
	}
	ob.outbox.Attach(ob.d)
	ob.d.Run(context.Background())
	b.Cleanup(func() { _ = ob.d.Stop(context.Background()) })
	return ob
}

func (ob *outboxBench) waitFinished(b *testing.B, n int64) {
	deadline := time.Now().Add(time.Minute)
	for ob.finished.Load() < n {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d calls finished after a minute", ob.finished.Load(), n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// BenchmarkOutboxCalls: calls through the outbox to a local webhook
// receiver, one caller as the alerting stage is. ns/op is the cost of
// Call (the durable record plus queueing); calls/s counts each call from
// Call until it is marked sent.
func BenchmarkOutboxCalls(b *testing.B) {
	for _, where := range []string{"disk", "tmpfs"} {
		dir, ok := benchStateDirs(b)[where]
		if !ok {
			continue
		}
		b.Run(where, func(b *testing.B) { benchOutboxCalls(b, dir) })
	}
}

func benchOutboxCalls(b *testing.B, dir string) {
	ob := newOutboxBench(b, dir)
	ctx := context.Background()
	person := yujing.Person{ID: "duty-a", Name: "值班甲"}
	n := 0
	start := time.Now()
	for b.Loop() {
		n++
		c := yujing.Call{ID: fmt.Sprintf("%d-1-duty-a-hook", n), Channel: "hook", Event: yujing.EventRaised,
			Created: time.Now(), Person: person, Alert: yujing.Alert{ID: int64(n), Rule: "gas-lel", Level: yujing.Red}}
		if err := ob.outbox.Call(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	ob.waitFinished(b, int64(n))
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "calls/s")
}

// BenchmarkWarningToFirstCall: from a warning raised (the engine's
// transition saved: OnChange) to its first call arriving at the local
// provider, which answers at once. Each op raises (or reopens) a warning
// and resolves it again.
func BenchmarkWarningToFirstCall(b *testing.B) {
	for _, where := range []string{"disk", "tmpfs"} {
		dir, ok := benchStateDirs(b)[where]
		if !ok {
			continue
		}
		b.Run(where, func(b *testing.B) { benchWarningToFirstCall(b, dir) })
	}
}

func benchWarningToFirstCall(b *testing.B, dir string) {
	ob := newOutboxBench(b, dir)
	ctx := context.Background()
	cfgPath := filepath.Join(b.TempDir(), "bench.yaml")
	if err := os.WriteFile(cfgPath, []byte(`sites: [{id: plant}]
sensors:
  - {id: GT-1, site: plant, family: gas, metric: lel, unit: "%LEL"}
rules:
  - {name: gas-lel, sensors: [GT-1], above: {red: 50}}
people: [{id: duty-a, name: 值班甲}]
channels: [{name: hook, webhook: {url: "http://127.0.0.1:1/unused"}}]
notify: [{levels: [red], people: [duty-a], channels: [hook]}]
`), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		b.Fatal(err)
	}
	registry, err := ingest.NewRegistry(cfg.Sites, cfg.Sensors, cfg.MQTT.Topics...)
	if err != nil {
		b.Fatal(err)
	}
	var raisedAt time.Time
	stack := alertingtest.New(b, cfg.Rules, ob.state, registry, alertingtest.Options{Routes: cfg.Routes, Calls: ob.outbox,
		Lifecycle: lifecycle.Options{OnChange: func(c lifecycle.Change) {
			if t := c.Transition; t.Event == yujing.EventRaised || t.Event == yujing.EventReopened {
				raisedAt = time.Now()
			}
		}}})
	// As serve runs it: call-and-answer on its own, woken by each change.
	runCtx, stop := context.WithCancel(ctx)
	var run sync.WaitGroup
	run.Go(func() { stack.Escalate.Run(runCtx) })
	defer func() { stop(); run.Wait() }()
	engine := stack.Engine
	reading := func(v float64) []yujing.Reading {
		return []yujing.Reading{{Sensor: "GT-1", Site: "plant", Family: yujing.FamilyGas, Metric: "lel", Value: v, Time: time.Now()}}
	}
	var lat []time.Duration
	for b.Loop() {
		engine.Observe(ctx, reading(80))
		select {
		case at := <-ob.arrivals:
			lat = append(lat, at.Sub(raisedAt))
		case <-time.After(10 * time.Second):
			b.Fatal("no call within 10s of the warning")
		}
		engine.Observe(ctx, reading(0))
	}
	b.StopTimer()
	ob.waitFinished(b, int64(len(lat)))
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}
