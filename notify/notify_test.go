package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"yujing"
	"yujing/notify"
	"yujing/notify/logchan"
	"yujing/notify/webhook"
)

// fast keeps retries quick in tests.
func fast(o notify.Options) notify.Options {
	o.BaseBackoff = time.Millisecond
	o.MaxBackoff = 5 * time.Millisecond
	if o.SendTimeout == 0 {
		o.SendTimeout = 5 * time.Second
	}
	return o
}

func call(id, channel string) yujing.Call {
	return yujing.Call{
		ID: id, Channel: channel, Event: yujing.EventRaised, Created: time.Now(),
		Alert:  yujing.Alert{ID: 9, Rule: "lel-high", Sensor: "gas-01", Site: "plant-a", Level: yujing.Red, State: yujing.StateFiring, Value: 60, Threshold: 50},
		Person: yujing.Person{ID: "p1", Name: "王五", Phone: "13700000000"},
	}
}

// result is one OnResult report.
type result struct {
	call     yujing.Call
	err      error
	attempts int
}

func collect(n int) (func(notify.Result), chan result) {
	ch := make(chan result, n)
	return func(r notify.Result) { ch <- result{r.Call, r.Err, r.Attempts} }, ch
}

func wait(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery result within 10s")
		return result{}
	}
}

// statusServer answers with the given statuses in turn (the last repeats)
// and counts requests and idempotency keys.
type statusServer struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	keys     []string
}

func newStatusServer(t *testing.T, statuses ...int) *statusServer {
	t.Helper()
	s := &statusServer{statuses: statuses}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		s.keys = append(s.keys, r.Header.Get("Idempotency-Key"))
		code := http.StatusOK
		if len(s.statuses) > 0 {
			code = s.statuses[0]
			if len(s.statuses) > 1 {
				s.statuses = s.statuses[1:]
			}
		}
		s.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *statusServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.keys...)
}

func newHook(t *testing.T, cfg webhook.Config, client *http.Client) *webhook.Webhook {
	t.Helper()
	w, err := webhook.New(cfg, client)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func stop(t *testing.T, d *notify.Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

// counters is the expected text of the per-call counters of one channel.
func counters(channel string, sent, failed, attempts int, failures map[string]int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# HELP yujing_notify_attempts_total Send attempts, including retries, by channel.\n# TYPE yujing_notify_attempts_total counter\n")
	fmt.Fprintf(&b, "yujing_notify_attempts_total{channel=%q} %d\n", channel, attempts)
	fmt.Fprintf(&b, "# HELP yujing_notify_calls_total Calls finished, by channel and outcome (sent or failed).\n# TYPE yujing_notify_calls_total counter\n")
	fmt.Fprintf(&b, "yujing_notify_calls_total{channel=%q,outcome=\"failed\"} %d\n", channel, failed)
	fmt.Fprintf(&b, "yujing_notify_calls_total{channel=%q,outcome=\"sent\"} %d\n", channel, sent)
	fmt.Fprintf(&b, "# HELP yujing_notify_failures_total Failed send attempts, by channel and reason.\n# TYPE yujing_notify_failures_total counter\n")
	for _, r := range []string{"circuit_open", "http_4xx", "http_5xx", "network", "other", "throttled", "timeout"} { // label order
		fmt.Fprintf(&b, "yujing_notify_failures_total{channel=%q,reason=%q} %d\n", channel, r, failures[r])
	}
	return b.String()
}

// sendCount is the number of observations of yujing_notify_send_seconds.
func sendCount(t *testing.T, reg *prometheus.Registry, channel string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "yujing_notify_send_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "channel" && l.GetValue() == channel {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	t.Fatalf("no yujing_notify_send_seconds{channel=%q}", channel)
	return 0
}

func TestDeliveryOutcomes(t *testing.T) {
	cases := []struct {
		name        string
		statuses    []int
		maxAttempts int
		wantErr     bool
		retryable   bool
		attempts    int
		failures    map[string]int
	}{
		{"ok first time", []int{200}, 0, false, false, 1, nil},
		{"503 twice then ok", []int{503, 503, 200}, 0, false, false, 3, map[string]int{"http_5xx": 2}},
		{"429 then 500 then ok", []int{429, 500, 204}, 0, false, false, 3, map[string]int{"throttled": 1, "http_5xx": 1}},
		{"400 is not retried", []int{400}, 0, true, false, 1, map[string]int{"http_4xx": 1}},
		{"404 after a 502", []int{502, 404}, 0, true, false, 2, map[string]int{"http_5xx": 1, "http_4xx": 1}},
		{"attempts run out", []int{503}, 3, true, true, 3, map[string]int{"http_5xx": 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newStatusServer(t, c.statuses...)
			reg := prometheus.NewRegistry()
			onResult, results := collect(1)
			d, err := notify.New([]notify.Channel{newHook(t, webhook.Config{URL: srv.URL}, nil)},
				fast(notify.Options{Registerer: reg, MaxAttempts: c.maxAttempts, OnResult: onResult}))
			if err != nil {
				t.Fatal(err)
			}
			d.Run(t.Context())
			defer stop(t, d)
			if err := d.Call(t.Context(), call("9-1-p1-webhook", "webhook")); err != nil {
				t.Fatal(err)
			}
			r := wait(t, results)
			if (r.err != nil) != c.wantErr {
				t.Fatalf("result err %v, want error %v", r.err, c.wantErr)
			}
			if r.err != nil && notify.Retryable(r.err) != c.retryable {
				t.Errorf("Retryable(%v) = %v, want %v", r.err, !c.retryable, c.retryable)
			}
			if r.attempts != c.attempts || r.call.ID != "9-1-p1-webhook" {
				t.Errorf("result %s after %d attempts, want %d", r.call.ID, r.attempts, c.attempts)
			}
			keys := srv.requests()
			if len(keys) != c.attempts {
				t.Errorf("server saw %d requests, want %d", len(keys), c.attempts)
			}
			for _, k := range keys {
				if k != "9-1-p1-webhook" {
					t.Errorf("Idempotency-Key %q, want the call id on every attempt", k)
				}
			}
			sent, failed := 1, 0
			if c.wantErr {
				sent, failed = 0, 1
			}
			want := counters("webhook", sent, failed, c.attempts, c.failures)
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
				"yujing_notify_calls_total", "yujing_notify_attempts_total", "yujing_notify_failures_total"); err != nil {
				t.Error(err)
			}
			if n := sendCount(t, reg, "webhook"); n != uint64(c.attempts) {
				t.Errorf("send_seconds count %d, want %d", n, c.attempts)
			}
		})
	}
}

// blockingChannel blocks every Send until its context ends or release is
// closed, and counts sends.
type blockingChannel struct {
	name    string
	release chan struct{}
	sends   atomic.Int64
}

func (b *blockingChannel) Name() string { return b.name }

func (b *blockingChannel) Send(ctx context.Context, _ yujing.Call) error {
	b.sends.Add(1)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-b.release:
		return nil
	}
}

func TestSendTimeout(t *testing.T) {
	reg := prometheus.NewRegistry()
	onResult, results := collect(1)
	ch := &blockingChannel{name: "slow", release: make(chan struct{})}
	d, err := notify.New([]notify.Channel{ch},
		fast(notify.Options{Registerer: reg, MaxAttempts: 2, SendTimeout: 20 * time.Millisecond, OnResult: onResult}))
	if err != nil {
		t.Fatal(err)
	}
	d.Run(t.Context())
	defer stop(t, d)
	if err := d.Call(t.Context(), call("c1", "slow")); err != nil {
		t.Fatal(err)
	}
	r := wait(t, results)
	if !errors.Is(r.err, context.DeadlineExceeded) || r.attempts != 2 {
		t.Errorf("result %v after %d attempts, want deadline exceeded after 2", r.err, r.attempts)
	}
	want := counters("slow", 0, 1, 2, map[string]int{"timeout": 2})
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"yujing_notify_calls_total", "yujing_notify_attempts_total", "yujing_notify_failures_total"); err != nil {
		t.Error(err)
	}
}

// TestStopDrainsQueue: what is queued when Stop begins is sent (each call
// once: TestStopSendsQueuedOnce shows a failure left for the next start).
func TestStopDrainsQueue(t *testing.T) {
	srv := newStatusServer(t, 200)
	reg := prometheus.NewRegistry()
	d, err := notify.New([]notify.Channel{newHook(t, webhook.Config{URL: srv.URL}, nil)},
		fast(notify.Options{Registerer: reg, Workers: 1}))
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	for i := range n { // queued before the workers start
		if err := d.Call(t.Context(), call(fmt.Sprint("c", i), "webhook")); err != nil {
			t.Fatal(err)
		}
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(depth(n)), "yujing_notify_queue_depth"); err != nil {
		t.Error(err)
	}
	d.Run(t.Context())
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if got := len(srv.requests()); got != n {
		t.Errorf("%d requests, want %d", got, n)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(counters("webhook", n, 0, n, nil)),
		"yujing_notify_calls_total", "yujing_notify_attempts_total", "yujing_notify_failures_total"); err != nil {
		t.Error(err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(depth(0)), "yujing_notify_queue_depth"); err != nil {
		t.Error(err)
	}
	// Stopped: calls are refused, and Stop again is harmless.
	if err := d.Call(t.Context(), call("late", "webhook")); !errors.Is(err, notify.ErrStopped) {
		t.Errorf("Call after Stop: %v, want ErrStopped", err)
	}
	if err := d.Stop(t.Context()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	d.Run(t.Context()) // after Stop: does nothing
}

// depth is the expected text of the queue depth gauge.
func depth(n int) string {
	return fmt.Sprintf("# HELP yujing_notify_queue_depth Calls waiting in the notify queues.\n# TYPE yujing_notify_queue_depth gauge\nyujing_notify_queue_depth %d\n", n)
}

func TestStopDeadline(t *testing.T) {
	onResult, results := collect(3)
	ch := &blockingChannel{name: "stuck", release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	d, err := notify.New([]notify.Channel{ch}, fast(notify.Options{Registerer: reg, Workers: 1, OnResult: onResult}))
	if err != nil {
		t.Fatal(err)
	}
	d.Run(t.Context())
	for i := range 3 {
		if err := d.Call(t.Context(), call(fmt.Sprint("c", i), "stuck")); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err = d.Stop(ctx)
	if err == nil || !strings.Contains(err.Error(), "3 calls left pending") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want 3 calls left pending, deadline exceeded", err)
	}
	if err2 := d.Stop(t.Context()); err2 != err {
		t.Errorf("second Stop = %v, want the first result %v", err2, err)
	}
	for range 3 {
		if r := wait(t, results); !errors.Is(r.err, notify.ErrStopped) {
			t.Errorf("result of %s: %v, want ErrStopped", r.call.ID, r.err)
		}
	}
	if n := ch.sends.Load(); n != 1 {
		t.Errorf("%d sends, want 1 (the others were never started)", n)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(counters("stuck", 0, 3, 1, nil)),
		"yujing_notify_calls_total", "yujing_notify_attempts_total", "yujing_notify_failures_total"); err != nil {
		t.Error(err)
	}
}

func TestStopWithoutRun(t *testing.T) {
	lc, _ := logchan.New(logchan.Config{}, slog.New(slog.DiscardHandler))
	d, err := notify.New([]notify.Channel{lc}, notify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(t.Context()); err != nil {
		t.Errorf("Stop of an idle dispatcher: %v", err)
	}

	d, _ = notify.New([]notify.Channel{lc}, notify.Options{})
	for _, id := range []string{"a", "b"} {
		if err := d.Call(t.Context(), call(id, "log")); err != nil {
			t.Fatal(err)
		}
	}
	err = d.Stop(t.Context())
	if err == nil || !strings.Contains(err.Error(), "2 calls left pending") || !errors.Is(err, notify.ErrStopped) {
		t.Errorf("Stop = %v, want 2 calls left pending", err)
	}
}

func TestCallErrors(t *testing.T) {
	lc, _ := logchan.New(logchan.Config{}, slog.New(slog.DiscardHandler))
	d, err := notify.New([]notify.Channel{lc}, notify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, d)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	cases := []struct {
		name string
		ctx  context.Context
		call yujing.Call
		is   error
		text string
	}{
		{"unknown channel", t.Context(), call("c1", "sms"), notify.ErrUnknownChannel, `notify: unknown channel "sms" (call c1)`},
		{"no id", t.Context(), call("", "log"), nil, "has no id"},
		{"cancelled", cancelled, call("c2", "log"), context.Canceled, "not queued"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := d.Call(c.ctx, c.call)
			if err == nil || !strings.Contains(err.Error(), c.text) || (c.is != nil && !errors.Is(err, c.is)) {
				t.Errorf("Call = %v, want %q (is %v)", err, c.text, c.is)
			}
		})
	}
}

func TestCallBlocksWhenFull(t *testing.T) {
	cases := []struct {
		name    string
		unblock func(d *notify.Dispatcher, cancel context.CancelFunc)
		want    error // nil: queued
	}{
		{"context cancelled", func(_ *notify.Dispatcher, cancel context.CancelFunc) { cancel() }, context.Canceled},
		{"stop begins", func(d *notify.Dispatcher, _ context.CancelFunc) {
			go func() { _ = d.Stop(context.Background()) }()
		}, notify.ErrStopped},
		{"workers make room", func(d *notify.Dispatcher, _ context.CancelFunc) { d.Run(context.Background()) }, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lc, _ := logchan.New(logchan.Config{}, slog.New(slog.DiscardHandler))
			d, err := notify.New([]notify.Channel{lc}, notify.Options{QueueSize: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = d.Stop(context.Background()) }()
			if err := d.Call(t.Context(), call("first", "log")); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- d.Call(ctx, call("second", "log")) }()
			select {
			case err := <-done:
				t.Fatalf("Call on a full queue returned at once: %v", err)
			case <-time.After(50 * time.Millisecond):
			}
			c.unblock(d, cancel)
			select {
			case err := <-done:
				if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
					t.Errorf("Call = %v, want %v", err, c.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("blocked Call did not return")
			}
		})
	}
}

func TestConcurrentCalls(t *testing.T) {
	var sent atomic.Int64
	ch := channelFunc{"count", func(context.Context, yujing.Call) error { sent.Add(1); return nil }}
	d, err := notify.New([]notify.Channel{ch}, notify.Options{QueueSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	d.Run(t.Context())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				if err := d.Call(t.Context(), call(fmt.Sprintf("g%d-%d", g, i), "count")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	stop(t, d)
	if n := sent.Load(); n != 400 {
		t.Errorf("%d sent, want 400", n)
	}
}

type channelFunc struct {
	name string
	send func(context.Context, yujing.Call) error
}

func (c channelFunc) Name() string                                   { return c.name }
func (c channelFunc) Send(ctx context.Context, cl yujing.Call) error { return c.send(ctx, cl) }

// TestSlowChannelDoesNotDelayOthers: each channel has its own queue and
// workers.
func TestSlowChannelDoesNotDelayOthers(t *testing.T) {
	slow := &blockingChannel{name: "slow", release: make(chan struct{})}
	onResult, results := collect(10)
	lc, _ := logchan.New(logchan.Config{}, slog.New(slog.DiscardHandler))
	d, err := notify.New([]notify.Channel{slow, lc}, notify.Options{Workers: 1, OnResult: onResult})
	if err != nil {
		t.Fatal(err)
	}
	d.Run(t.Context())
	for i := range 3 {
		if err := d.Call(t.Context(), call(fmt.Sprint("s", i), "slow")); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Call(t.Context(), call("fast", "log")); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, results); r.call.ID != "fast" || r.err != nil {
		t.Errorf("first result %s %v, want fast delivered", r.call.ID, r.err)
	}
	close(slow.release)
	stop(t, d)
}

func TestNewRefuses(t *testing.T) {
	lc, _ := logchan.New(logchan.Config{}, slog.New(slog.DiscardHandler))
	lc2, _ := logchan.New(logchan.Config{Name: "log"}, slog.New(slog.DiscardHandler))
	cases := []struct {
		name     string
		channels []notify.Channel
		opts     notify.Options
		want     string
	}{
		{"duplicate name", []notify.Channel{lc, lc2}, notify.Options{}, `notify: duplicate channel name "log"`},
		{"nil channel", []notify.Channel{lc, nil}, notify.Options{}, "notify: channel 1 is nil"},
		{"empty name", []notify.Channel{channelFunc{}}, notify.Options{}, "has no name"},
		{"negative queue", []notify.Channel{lc}, notify.Options{QueueSize: -1}, "queue size -1 is negative"},
		{"backoffs", []notify.Channel{lc}, notify.Options{BaseBackoff: time.Second, MaxBackoff: time.Millisecond}, "max backoff 1ms is below base backoff 1s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := notify.New(c.channels, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New = %v, want %q", err, c.want)
			}
		})
	}
	reg := prometheus.NewRegistry()
	if _, err := notify.New([]notify.Channel{lc}, notify.Options{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := notify.New([]notify.Channel{lc}, notify.Options{Registerer: reg}); err == nil {
		t.Error("second dispatcher on the same registry: no error")
	}
}

// TestLogsKeepSecrets: failures are logged with fixed keys and without the
// webhook's token, signing key or header values.
func TestLogsKeepSecrets(t *testing.T) {
	srv := newStatusServer(t, 500, 400)
	var buf syncBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	hook := newHook(t, webhook.Config{Name: "hook", URL: srv.URL + "/h?access_token=TOPSECRET", Secret: "SIGNKEY",
		Headers: map[string]string{"Authorization": "Bearer HEADERSECRET"}}, nil)
	onResult, results := collect(1)
	d, err := notify.New([]notify.Channel{hook}, fast(notify.Options{Logger: logger, OnResult: onResult}))
	if err != nil {
		t.Fatal(err)
	}
	d.Run(t.Context())
	if err := d.Call(t.Context(), call("c1", "hook")); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, results); r.err == nil {
		t.Fatal("want a failure")
	}
	stop(t, d)
	out := buf.String()
	for _, s := range []string{"TOPSECRET", "SIGNKEY", "HEADERSECRET", "13700000000"} {
		if strings.Contains(out, s) {
			t.Errorf("log reveals %s:\n%s", s, out)
		}
	}
	for _, s := range []string{`"msg":"notify attempt failed"`, `"msg":"notify call failed"`, `"call_id":"c1"`,
		`"channel":"hook"`, `"alert_id":9`, `"reason":"http_4xx"`, `"err":"webhook hook: post `} {
		if !strings.Contains(out, s) {
			t.Errorf("log lacks %s:\n%s", s, out)
		}
	}
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

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		defer srv.Close()
		lc, _ := logchan.New(logchan.Config{}, slog.New(slog.DiscardHandler))
		onResult, results := collect(20)
		d, err := notify.New([]notify.Channel{newHook(t, webhook.Config{URL: srv.URL}, srv.Client()), lc},
			fast(notify.Options{OnResult: onResult}))
		if err != nil {
			t.Fatal(err)
		}
		d.Run(t.Context())
		for i := range 10 {
			for _, ch := range []string{"webhook", "log"} {
				if err := d.Call(t.Context(), call(fmt.Sprint(ch, i), ch)); err != nil {
					t.Fatal(err)
				}
			}
		}
		for range 20 {
			wait(t, results)
		}
		stop(t, d)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Stop, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
