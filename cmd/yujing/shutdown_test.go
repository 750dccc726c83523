package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"yujing/config"
	"yujing/internal/testenv"
)

// shutdownLimit is how long Ctrl-C may take: a deadline of the product
// (issue 14, item 17), not a benchmark.
const shutdownLimit = 2 * time.Second

// served is serve running in-process with the default shutdown budget
// (start, in serve_test.go, gives its instances a longer one).
type served struct {
	http, mqtt string
	logs       *syncBuffer
	cancel     context.CancelFunc
	done       chan error
}

func runServe(t *testing.T, cfg *config.Config) *served {
	t.Helper()
	return runServeWithin(t, cfg, 0)
}

// runServeWithin is runServe with serve's ShutdownTimeout (0: its default).
func runServeWithin(t *testing.T, cfg *config.Config, budget time.Duration) *served {
	t.Helper()
	if !slices.ContainsFunc(cfg.HTTP.APITokens, func(a config.APIToken) bool { return a.Name == "test" }) {
		cfg.HTTP.APITokens = append(cfg.HTTP.APITokens, config.APIToken{Name: "test", Role: "admin", Token: testToken})
	}
	s := &served{logs: &syncBuffer{}, done: make(chan error, 1)}
	log := slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	ready := make(chan [2]string, 1)
	go func() {
		s.done <- serve(ctx, cfg, serveOptions{Logger: log, Version: "test", ShutdownTimeout: budget,
			Ready: func(h, m string) { ready <- [2]string{h, m} }})
	}()
	select {
	case a := <-ready:
		s.http, s.mqtt = a[0], a[1]
	case err := <-s.done:
		t.Fatalf("serve exited before ready: %v\n%s", err, s.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("serve not ready after 30s\n%s", s.logs)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop within 30s")
		}
		if t.Failed() {
			t.Logf("yujing log:\n%s", s.logs)
		}
	})
	return s
}

// stop ends serve as Ctrl-C does and returns how long it took to return.
func (s *served) stop(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		if err != nil {
			t.Errorf("serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s")
	}
	return time.Since(start)
}

// logLevel is the level of a text-handler log line ("" for other lines).
var logLevel = regexp.MustCompile(`^time=\S+ level=([A-Z]+) `)

// loud returns the WARN and ERROR lines of a log that match none of
// allowed.
func loud(log string, allowed ...*regexp.Regexp) []string {
	var out []string
	for line := range strings.Lines(log) {
		m := logLevel.FindStringSubmatch(line)
		if m == nil || (m[1] != "WARN" && m[1] != "ERROR") {
			continue
		}
		ok := false
		for _, a := range allowed {
			ok = ok || a.MatchString(line)
		}
		if !ok {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

// The warnings a quiet demo logs, and why:
var (
	// The first start creates the admin user and says its password once:
	// the operator must read it, and change it.
	allowAdminPassword = regexp.MustCompile(`level=WARN msg="first start: created user admin with this password — change it" `)
	// The demo's only channel, log, delivers each call as a Warn record
	// (notify/logchan): that is the call reaching its person, not trouble.
	allowWarningCall = regexp.MustCompile(`level=WARN msg="warning call" `)
)

// TestDemoStartsQuiet: the bundled demo, as `yujing serve` runs it without
// flags (simulator on), logs no warning or error but the first start's
// admin password and its calls (the log channel's records), through
// warnings raised, upgraded to red, called and escalated, and the
// shutdown. Its webhook to 127.0.0.1:9000, where nothing listens, filled
// the log with failures (issue 14, item 17).
func TestDemoStartsQuiet(t *testing.T) {
	t.Setenv("YUJING_SIMULATE", "")
	cfg, err := loadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Simulate {
		t.Fatal("the demo does not simulate")
	}
	cfg.HTTPListen, cfg.EmbeddedListen, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
	cfg.SimInterval = 200 * time.Millisecond
	cfg.GroupWait = 300 * time.Millisecond // the grouped calls go out within the test
	s := runServe(t, cfg)
	api := "http://" + s.http
	pub := publisher(t, s.mqtt)
	// A yellow rain warning, a red tank level (called at once, escalated),
	// and a gas reading through every tier; the simulator's next readings
	// bring them back down (resolved, called again).
	publish(t, pub, "yujing/demo-plant/RG-301", `{"value": 35}`)
	publish(t, pub, "yujing/demo-plant/TK-201", `{"values": {"level": 9.6, "pressure": 0.5}}`)
	for _, v := range []string{"12", "27", "42", "56"} {
		publish(t, pub, "yujing/demo-plant/GT-101", `{"value": `+v+`}`)
	}
	waitFor(t, 20*time.Second, "red calls, an escalation call and a resolution", func() bool {
		l := s.logs.String()
		return strings.Contains(l, `msg="warning call"`) && strings.Contains(l, "alert_level=red") &&
			strings.Contains(l, "answer_url=") && strings.Contains(l, "event=resolved")
	})
	if lines := loud(s.logs.String(), allowAdminPassword, allowWarningCall); len(lines) > 0 {
		t.Fatalf("the demo logged %d warnings or errors besides the admin password and its calls:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	// Settled: every warning resolved, its escalations stopped, every call
	// recorded sent (a warning the red one inhibits has none). The
	// shutdown below meets no change halfway through being handled.
	waitFor(t, 20*time.Second, "every warning resolved and every call sent", func() bool {
		var alerts []apiAlert
		getJSON(t, api+"/api/v1/alerts", &alerts)
		calls := 0
		for _, a := range alerts {
			var d struct {
				State       string
				Calls       []struct{ Status string } `json:"calls"`
				Escalations []struct{ State string }  `json:"escalations"`
			}
			getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", api, a.ID), &d)
			if d.State != "resolved" {
				return false
			}
			for _, e := range d.Escalations {
				if e.State == "active" {
					return false
				}
			}
			for _, c := range d.Calls {
				if c.Status != "sent" {
					return false
				}
			}
			calls += len(d.Calls)
		}
		return calls > 0
	})
	s.stop(t)
	log := s.logs.String()
	if n := strings.Count(log, `msg="first start: created user admin`); n != 1 {
		t.Errorf("%d admin password lines, want 1", n)
	}
	if lines := loud(log, allowAdminPassword, allowWarningCall); len(lines) > 0 {
		t.Errorf("the demo logged %d warnings or errors besides the admin password and its calls:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if !strings.Contains(log, `msg="yujing stopped"`) {
		t.Error(`no "yujing stopped" line`)
	}
}

// hangingHook is a webhook receiver that never answers: it tells of each
// request and holds it until the client gives up.
type hangingHook struct{ got chan string }

func (h *hangingHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	h.got <- r.Header.Get("Idempotency-Key")
	<-r.Context().Done()
}

// closedPortURL is a URL on loopback where nothing listens.
func closedPortURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/hook"
}

// openStream opens the console's live stream and returns a channel closed
// when the server ends it.
func openStream(t *testing.T, client *http.Client, url string) <-chan struct{} {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() && lines.Text() != ": connected" {
	}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		defer resp.Body.Close()
		for lines.Scan() {
		}
	}()
	return ended
}

// TestShutdownWithinBudget: with a console stream open, calls in flight
// to a webhook that never answers and calls waiting for a retry to one
// where nothing listens, serve returns within 2 s of the end of its
// context; it logs one line of what it left (no error per call), the
// stream ends, and the next start over the same data directory sends the
// calls left, each once.
func TestShutdownWithinBudget(t *testing.T) {
	hang := &hangingHook{got: make(chan string, 100)}
	hangSrv := httptest.NewServer(hang)
	defer hangSrv.Close()
	cfg := demoWith(t,
		demoChannel{"hang-hook", fmt.Sprintf("webhook: {url: %q, timeout: 30s}", hangSrv.URL)},
		demoChannel{"dead-hook", fmt.Sprintf("webhook: {url: %q}", closedPortURL(t))})
	s := runServe(t, cfg)
	api := "http://" + s.http
	streamEnded := openStream(t, authed, api+"/api/v1/stream")
	// A connection that has sent nothing yet, as a browser opens ahead of
	// need: net/http's Shutdown counts it as busy for 5 s.
	idle, err := net.Dial("tcp", s.http)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()

	// Two red warnings: each calls the log, hang-hook and dead-hook at once.
	pub := publisher(t, s.mqtt)
	publish(t, pub, "yujing/demo-plant/TK-201", `{"values": {"level": 9.6, "pressure": 0.5}}`)
	publish(t, pub, "yujing/demo-plant/GT-101", `{"value": 60}`)
	inFlight := map[string]bool{}
	for len(inFlight) < 2 {
		select {
		case id := <-hang.got:
			inFlight[id] = true
		case <-time.After(20 * time.Second):
			t.Fatalf("hang-hook got %d requests, want 2", len(inFlight))
		}
	}
	waitFor(t, 20*time.Second, "both dead-hook calls waiting for a retry", func() bool {
		return strings.Count(s.logs.String(), `msg="notify attempt failed"`) >= 2 // the first failure of each
	})
	// Both escalations started and their first calls made: the shutdown
	// meets calls, not call-and-answer halfway through starting.
	for _, id := range []int64{1, 2} {
		waitFor(t, 20*time.Second, fmt.Sprintf("alert %d's escalation calls sent", id), func() bool {
			var d struct {
				Calls []struct {
					Channel, Status string
					Step            int
				} `json:"calls"`
			}
			getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", api, id), &d)
			escalated := false
			for _, c := range d.Calls {
				if c.Channel == "log" && c.Status != "sent" {
					return false
				}
				escalated = escalated || c.Step > 0
			}
			return escalated
		})
	}

	took := s.stop(t)
	if took >= shutdownLimit {
		t.Errorf("shutdown took %s, want under %s", took, shutdownLimit)
	}
	select {
	case <-streamEnded:
	case <-time.After(5 * time.Second):
		t.Error("the live stream did not end")
	}
	log := s.logs.String()
	_, atStop, _ := strings.Cut(log, `msg="shutting down"`)
	summaries := regexp.MustCompile(`(?m)^.*msg="notify stopped, calls left for the next start".*$`).FindAllString(atStop, -1)
	if len(summaries) != 1 {
		t.Fatalf("%d summary lines, want 1", len(summaries))
	}
	want := `level=WARN msg="notify stopped, calls left for the next start" pending_calls=4 not_tried=0 retry_pending=2 in_flight_cancelled=2 channels="dead-hook=2 hang-hook=2"`
	if !strings.Contains(summaries[0], want) {
		t.Errorf("summary\n%s\nwant\n%s", summaries[0], want)
	}
	for _, noise := range []string{"abandoned at shutdown", "shutdown step incomplete"} {
		if strings.Contains(log, noise) {
			t.Errorf("log has %q", noise)
		}
	}
	summaryOnly := regexp.MustCompile(`msg="notify stopped, calls left for the next start"`)
	if lines := loud(atStop, summaryOnly); len(lines) > 0 {
		t.Errorf("shutdown logged warnings or errors besides the summary:\n%s", strings.Join(lines, "\n"))
	}

	// The next start over the same data: both endpoints work now.
	hook := &hookRecorder{t: t, secret: "s3cret-for-test"}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()
	cfg2 := demoWith(t,
		demoChannel{"hang-hook", fmt.Sprintf("webhook: {url: %q, secret: s3cret-for-test}", hookSrv.URL)},
		demoChannel{"dead-hook", fmt.Sprintf("webhook: {url: %q, secret: s3cret-for-test}", hookSrv.URL)})
	cfg2.DataDir = cfg.DataDir
	s2 := runServe(t, cfg2)
	waitFor(t, 20*time.Second, "the 4 calls left, sent after the restart", func() bool {
		calls, _ := hook.snapshot()
		return len(calls) >= 4
	})
	for _, id := range []int64{1, 2} {
		var d struct {
			Calls []struct {
				ID, Channel, Status string
			} `json:"calls"`
		}
		waitFor(t, 10*time.Second, fmt.Sprintf("alert %d's calls marked sent", id), func() bool {
			getJSON(t, fmt.Sprintf("http://%s/api/v1/alerts/%d", s2.http, id), &d)
			for _, c := range d.Calls {
				if c.Status != "sent" {
					return false
				}
			}
			return len(d.Calls) > 0
		})
	}
	calls, bad := hook.snapshot()
	if len(bad) > 0 {
		t.Errorf("bad requests: %v", bad)
	}
	seen := map[string]int{}
	for _, c := range calls {
		seen[fmt.Sprint(c["call_id"])]++
	}
	if len(seen) != 4 {
		t.Errorf("calls after the restart %v, want 4 distinct", seen)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s sent %d times after the restart, want once", id, n)
		}
	}
}

// TestCtrlCWithinBudget: `yujing serve` with the bundled demo (simulator
// on), a logged-in console stream open, exits within 2 s of SIGINT, with
// exit code 0 and no warning or error in its shutdown.
func TestCtrlCWithinBudget(t *testing.T) {
	logs := &syncBuffer{}
	cmd := exec.Command(os.Args[0], "serve", "-http", "127.0.0.1:0", "-mqtt-listen", "127.0.0.1:0", "-data", t.TempDir())
	// Under -race, a process's exit waits 1 s for late race reports
	// (GORACE atexit_sleep_ms): not part of yujing's shutdown.
	cmd.Env = append(os.Environ(), serveChildEnv+"=1", "YUJING_SIMULATE=", "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("yujing log:\n%s", logs)
		}
	})
	ready := regexp.MustCompile(`msg="yujing ready" http=http://(\S+) `)
	var addr string
	waitFor(t, time.Minute, "yujing ready", func() bool {
		m := ready.FindStringSubmatch(logs.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	password := regexp.MustCompile(`msg="first start: created user admin with this password — change it" user=admin password=(\S+)`).
		FindStringSubmatch(logs.String())
	if password == nil {
		t.Fatal("no admin password in the first start's log")
	}
	// Logged in as the console is: a session cookie.
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	console := &http.Client{Jar: jar}
	body, _ := json.Marshal(map[string]string{"username": "admin", "password": password[1]})
	resp, err := console.Post("http://"+addr+"/api/v1/login", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s", resp.Status)
	}
	streamEnded := openStream(t, console, "http://"+addr+"/api/v1/stream")
	idle, err := net.Dial("tcp", addr) // a browser's connection opened ahead of need
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()

	start := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	var exitErr error
	select {
	case exitErr = <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("yujing did not exit within 30s of SIGINT")
	}
	took := time.Since(start)
	if took >= shutdownLimit {
		t.Errorf("yujing exited %s after SIGINT, want under %s", took, shutdownLimit)
	}
	if exitErr != nil {
		t.Errorf("exit: %v, want 0", exitErr)
	}
	select {
	case <-streamEnded:
	case <-time.After(5 * time.Second):
		t.Error("the live stream did not end")
	}
	_, atStop, ok := strings.Cut(logs.String(), `msg="shutting down"`)
	if !ok {
		t.Fatal(`no "shutting down" line`)
	}
	if lines := loud(atStop); len(lines) > 0 {
		t.Errorf("Ctrl-C logged warnings or errors:\n%s", strings.Join(lines, "\n"))
	}
	if !strings.Contains(atStop, `msg="yujing stopped"`) {
		t.Error(`no "yujing stopped" line`)
	}
}

// TestNoLossCtrlC: Ctrl-C in the middle of a stream of QoS 1 readings
// through mosquitto, and a restart: within its shutdown budget yujing
// stores and acknowledges what it can and leaves the rest unacknowledged,
// which the broker delivers again after the restart; InfluxDB ends up with
// every reading once. With the default budget the shutdown under load
// stays under 2 s; with a budget already spent when it begins, ingest
// stops at once, whatever it holds.
func TestNoLossCtrlC(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes 40 000 readings through mosquitto and InfluxDB, twice")
	}
	mq := testenv.Mosquitto(t)
	db := testenv.InfluxDB(t)
	cases := []struct {
		name   string
		budget time.Duration
	}{
		{"default budget", 0},
		{"budget spent at once", time.Nanosecond},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := nolossConfig(t, mq.URL(), fmt.Sprintf("yujing-noloss-ctrlc-%d", i), db.URL, db.Bucket(), "127.0.0.1:0")
			load := func() *config.Config {
				cfg, err := loadConfig(path)
				if err != nil {
					t.Fatal(err)
				}
				return cfg
			}
			// Each case's readings 10 minutes apart, the later case's
			// newer, so that each case counts only its own.
			base := nolossBase().Add(-time.Duration(len(cases)-1-i) * 10 * time.Minute)
			store := newNolossStore(t, db, base)
			first := runServeWithin(t, load(), c.budget)
			pub := startNolossPublisher(t, mq.URL(), base, 800, 0) // 40 000 readings, as fast as the broker takes them
			store.waitCount(t, 2000, 2*time.Minute, "readings before Ctrl-C")
			if took := first.stop(t); took >= shutdownLimit {
				t.Errorf("shutdown under load took %s, want under %s", took, shutdownLimit)
			}
			left := regexp.MustCompile(`ingest: (\d+) messages still queued at shutdown`).FindStringSubmatch(first.logs.String())
			runServe(t, load())
			n := pub.wait()
			store.waitCount(t, n, 5*time.Minute, "every reading after the restart")
			store.verify(t, n, pub)
			if left != nil {
				t.Logf("%d readings, all in InfluxDB once; %s messages were left unacknowledged at Ctrl-C", n, left[1])
			} else {
				t.Logf("%d readings, all in InfluxDB once; ingest drained before Ctrl-C's deadline", n)
			}
		})
	}
}
