package notify_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"yujing"
	"yujing/notify"
	"yujing/notify/webhook"
	"yujing/store"
	"yujing/store/sqlstate"
)

// logLines is a slog text handler's output, line by line.
type logLines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// with returns the lines that contain every one of parts.
func (l *logLines) with(parts ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for line := range strings.Lines(l.b.String()) {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// deadURL is an address on loopback where nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/hook"
}

// hangingServer takes every request and never answers it; started tells
// of each request as it arrives.
func hangingServer(t *testing.T) (url string, started <-chan string) {
	t.Helper()
	ch := make(chan string, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		ch <- r.Header.Get("Idempotency-Key")
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv.URL, ch
}

// keyCounter is a webhook receiver that answers 200 and counts each
// Idempotency-Key.
type keyCounter struct {
	mu   sync.Mutex
	keys map[string]int
}

func (k *keyCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys[r.Header.Get("Idempotency-Key")]++
}

func (k *keyCounter) snapshot() map[string]int {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := map[string]int{}
	for key, n := range k.keys {
		out[key] = n
	}
	return out
}

// shutdownRun is an outbox and a running dispatcher over a state file,
// with its log.
type shutdownRun struct {
	ob  *notify.Outbox
	d   *notify.Dispatcher
	log *logLines
}

func startShutdownRun(t *testing.T, path string, opts notify.Options, urls map[string]string) *shutdownRun {
	t.Helper()
	st := openState(t, path)
	r := &shutdownRun{log: &logLines{}}
	opts.Logger = slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	j, err := notify.NewJournal(st, notify.OutboxOptions{Logger: opts.Logger})
	if err != nil {
		t.Fatal(err)
	}
	var chs []notify.Channel
	for _, name := range []string{"dead", "slow"} {
		chs = append(chs, newHook(t, webhook.Config{Name: name, URL: urls[name]}, nil))
	}
	opts.OnResult, opts.OnSend = j.Result, j.Sending
	d, err := notify.New(chs, opts)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := notify.NewOutbox(j, d)
	if err != nil {
		t.Fatal(err)
	}
	d.Run(t.Context())
	t.Cleanup(func() { _ = d.Stop(context.Background()) })
	r.ob, r.d = ob, d
	return r
}

// TestStopLeavesPendingForNextStart: at shutdown the dispatcher does not
// wait out a retry's backoff nor a request to an endpoint that never
// answers: a call waiting for a retry is left at once, a request in flight
// is cut off when Stop's context ends, and what is queued behind it is not
// tried. Everything left stays pending in the outbox (the cut request
// marked as in doubt) and is logged as one summary line, not one error per
// call; the next start sends each call once.
func TestStopLeavesPendingForNextStart(t *testing.T) {
	cases := []struct {
		name      string
		dead      []string // calls to the endpoint where nothing listens
		slow      []string // calls to the endpoint that never answers
		stopAfter time.Duration
		minTook   time.Duration // Stop takes at least this (a request is in flight)
		maxTook   time.Duration
		summary   []string // the summary line has these
		inDoubt   []string // pending with a sending mark: their request may have reached the endpoint
	}{
		{
			name: "calls waiting for a retry", dead: []string{"d1", "d2"},
			stopAfter: 10 * time.Second, maxTook: time.Second,
			summary: []string{"level=WARN", "pending_calls=2", "not_tried=0", "retry_pending=2", "in_flight_cancelled=0", `channels="dead=2"`},
			inDoubt: []string{"d1", "d2"},
		},
		{
			name: "requests in flight, another queued behind them", slow: []string{"s1", "s2", "s3"},
			stopAfter: 300 * time.Millisecond, minTook: 300 * time.Millisecond, maxTook: 1300 * time.Millisecond,
			summary: []string{"level=WARN", "pending_calls=3", "not_tried=1", "retry_pending=0", "in_flight_cancelled=2", `channels="slow=3"`},
			inDoubt: []string{"s1", "s2"},
		},
		{
			name: "both", dead: []string{"d1", "d2"}, slow: []string{"s1", "s2", "s3"},
			stopAfter: 300 * time.Millisecond, minTook: 300 * time.Millisecond, maxTook: 1300 * time.Millisecond,
			summary: []string{"level=WARN", "pending_calls=5", "not_tried=1", "retry_pending=2", "in_flight_cancelled=2", `channels="dead=2 slow=3"`},
			inDoubt: []string{"d1", "d2", "s1", "s2"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			slowURL, slowStarted := hangingServer(t)
			// Two workers per channel, a backoff far longer than the test:
			// a failed call waits for its retry, a third call queues.
			opts := notify.Options{Workers: 2, BaseBackoff: time.Minute, MaxBackoff: time.Minute, SendTimeout: time.Minute}
			run1 := startShutdownRun(t, path, opts, map[string]string{"dead": deadURL(t), "slow": slowURL})
			var all []string
			for _, group := range []struct {
				channel string
				ids     []string
			}{{"dead", c.dead}, {"slow", c.slow}} {
				for _, id := range group.ids {
					all = append(all, id)
					if err := run1.ob.Call(t.Context(), call(id, group.channel)); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Wait for the state Stop is to meet: each dead call failed
			// once and waits for its retry, the first two slow calls are in
			// flight (the third waits in the queue: two workers).
			deadline := time.Now().Add(10 * time.Second)
			for _, id := range c.dead {
				for len(run1.log.with(`msg="notify attempt failed"`, "call_id="+id+" ")) == 0 {
					if time.Now().After(deadline) {
						t.Fatalf("%s did not fail its first attempt:\n%s", id, run1.log)
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			inFlight := map[string]bool{}
			for len(inFlight) < min(2, len(c.slow)) {
				select {
				case id := <-slowStarted:
					inFlight[id] = true
				case <-time.After(10 * time.Second):
					t.Fatalf("the slow endpoint got %d requests, want 2", len(inFlight))
				}
			}
			if len(c.slow) > 0 && (!inFlight["s1"] || !inFlight["s2"]) {
				t.Fatalf("in flight: %v, want s1 and s2", inFlight)
			}

			ctx, cancel := context.WithTimeout(context.Background(), c.stopAfter)
			defer cancel()
			start := time.Now()
			err := run1.d.Stop(ctx)
			took := time.Since(start)
			if took < c.minTook || took > c.maxTook {
				t.Errorf("Stop took %s, want between %s and %s", took, c.minTook, c.maxTook)
			}
			if !errors.Is(err, notify.ErrStopped) || !strings.Contains(err.Error(), "left pending for the next start") {
				t.Errorf("Stop = %v, want calls left pending (ErrStopped)", err)
			}
			summaries := run1.log.with(`msg="notify stopped, calls left for the next start"`)
			if len(summaries) != 1 {
				t.Fatalf("%d summary lines, want 1:\n%s", len(summaries), run1.log)
			}
			for _, want := range c.summary {
				if !strings.Contains(summaries[0], want) {
					t.Errorf("summary lacks %s:\n%s", want, summaries[0])
				}
			}
			for _, noise := range []string{"level=ERROR", "abandoned"} {
				if lines := run1.log.with(noise); len(lines) > 0 {
					t.Errorf("log has %q lines at shutdown:\n%s", noise, strings.Join(lines, "\n"))
				}
			}

			// Everything is pending, the calls whose request began marked so.
			st := openState(t, path)
			pending, err := st.PendingCalls(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, p := range pending {
				got[p.Call.ID] = !p.SendingAt.IsZero()
			}
			for _, id := range all {
				doubt, ok := got[id]
				if !ok {
					t.Errorf("%s not pending after Stop", id)
					continue
				}
				if want := contains(c.inDoubt, id); doubt != want {
					t.Errorf("%s in doubt %v, want %v", id, doubt, want)
				}
			}
			if len(pending) != len(all) {
				t.Errorf("%d calls pending, want %d", len(pending), len(all))
			}

			// The next start, with both endpoints working: each call is
			// sent once (the webhook keeps its key, so the receiver could
			// drop a repeat of the one in doubt).
			recv := &keyCounter{keys: map[string]int{}}
			ok := httptest.NewServer(recv)
			defer ok.Close()
			run2 := startShutdownRun(t, path, notify.Options{}, map[string]string{"dead": ok.URL, "slow": ok.URL})
			if err := run2.ob.Resume(t.Context()); err != nil {
				t.Fatal(err)
			}
			deadline = time.Now().Add(10 * time.Second)
			for {
				recs := callsByID(t, st, 9)
				sent := 0
				for _, id := range all {
					if recs[id].Status == store.CallSent {
						sent++
					}
				}
				if sent == len(all) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after the restart %d of %d calls sent: %+v", sent, len(all), recs)
				}
				time.Sleep(10 * time.Millisecond)
			}
			keys := recv.snapshot()
			for _, id := range all {
				if keys[id] != 1 {
					t.Errorf("after the restart %s was sent %d times, want once", id, keys[id])
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestStopSendsQueuedOnce: what is queued when Stop begins is sent, each
// call once: a failure is not retried at shutdown but left pending, and
// nothing is logged per call but the summary.
func TestStopSendsQueuedOnce(t *testing.T) {
	srv := newStatusServer(t, 503, 200) // the first call fails, the others go through
	onResult, results := collect(5)
	logs := &logLines{}
	d, err := notify.New([]notify.Channel{newHook(t, webhook.Config{URL: srv.URL}, nil)},
		notify.Options{Workers: 1, OnResult: onResult, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 { // queued before the workers start
		if err := d.Call(t.Context(), call(string(rune('a'+i)), "webhook")); err != nil {
			t.Fatal(err)
		}
	}
	d.Run(t.Context())
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := d.Stop(ctx); !errors.Is(err, notify.ErrStopped) {
		t.Errorf("Stop = %v, want one call left (ErrStopped)", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Stop took %s: it waited for a retry", took)
	}
	if n := len(srv.requests()); n != 5 {
		t.Errorf("%d requests, want 5 (each call once, no retry)", n)
	}
	got := map[string]error{}
	for range 5 {
		r := wait(t, results)
		got[r.call.ID] = r.err
	}
	for id, err := range got {
		want := id != "a"
		if (err == nil) != want {
			t.Errorf("%s: %v, want sent %v", id, err, want)
		}
	}
	if !errors.Is(got["a"], notify.ErrStopped) {
		t.Errorf("a: %v, want left pending (ErrStopped)", got["a"])
	}
	// The first failure may be logged on its own when it came before Stop
	// began; after that, only the summary.
	lines := logs.with(`msg="notify stopped, calls left for the next start"`)
	if len(lines) != 1 || !strings.Contains(lines[0], "pending_calls=1 not_tried=0 retry_pending=1 in_flight_cancelled=0") {
		t.Errorf("summary %q, want one with the call left for a retry", lines)
	}
	if lines := logs.with("level=ERROR"); len(lines) > 0 {
		t.Errorf("errors logged: %q", lines)
	}
}

// TestStopWithNothingLeft: a Stop that leaves nothing says so at Info.
func TestStopWithNothingLeft(t *testing.T) {
	logs := &logLines{}
	d, err := notify.New([]notify.Channel{newCounting("c")}, notify.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	d.Run(t.Context())
	if err := d.Call(t.Context(), yujing.Call{ID: "x", Channel: "c"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(t.Context()); err != nil {
		t.Errorf("Stop = %v", err)
	}
	if lines := logs.with(`msg="notify stopped"`); len(lines) != 1 || !strings.Contains(lines[0], "level=INFO") || !strings.Contains(lines[0], "pending_calls=0") {
		t.Errorf("summary %q, want one Info line with pending_calls=0", lines)
	}
}

// markCounter is an OutboxStore that counts MarkCall by call id.
type markCounter struct {
	notify.OutboxStore
	mu    sync.Mutex
	marks map[string]int
}

func (m *markCounter) MarkCall(ctx context.Context, u store.CallUpdate) error {
	m.mu.Lock()
	m.marks[u.ID]++
	m.mu.Unlock()
	return m.OutboxStore.MarkCall(ctx, u)
}

// TestResultLeftUntriedWritesNothing: a call shutdown left without trying
// it is pending on record already, so Result writes nothing for it (a
// shutdown leaving a long queue must not spend its time on writes); a call
// left after attempts is written (its attempts and last error), and one
// that ended is marked as before.
func TestResultLeftUntriedWritesNothing(t *testing.T) {
	st := &markCounter{OutboxStore: openState(t, filepath.Join(t.TempDir(), "state.db")), marks: map[string]int{}}
	j, err := notify.NewJournal(st, notify.OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	last := errors.New("connection refused")
	cases := []struct {
		id       string
		err      error
		attempts int
		marks    int
		status   string
	}{
		{"untried", notify.ErrStopped, 0, 0, store.CallPending},
		{"retry-pending", fmt.Errorf("%w: %w", notify.ErrStopped, last), 2, 1, store.CallPending},
		{"sent", nil, 1, 1, store.CallSent},
		{"failed", notify.Permanent(last), 1, 1, store.CallFailed},
	}
	for _, c := range cases {
		cl := call(c.id, "log")
		if _, err := st.RecordCall(t.Context(), cl); err != nil {
			t.Fatal(err)
		}
		j.Result(notify.Result{Call: cl, Err: c.err, Attempts: c.attempts, At: time.Now()})
	}
	recs := callsByID(t, st.OutboxStore.(*sqlstate.State), 9)
	for _, c := range cases {
		if n := st.marks[c.id]; n != c.marks {
			t.Errorf("%s: %d writes, want %d", c.id, n, c.marks)
		}
		if r := recs[c.id]; r.Status != c.status || r.Attempts != c.attempts {
			t.Errorf("%s: %s after %d attempts, want %s after %d", c.id, r.Status, r.Attempts, c.status, c.attempts)
		}
	}
}
