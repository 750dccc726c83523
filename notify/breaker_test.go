package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestBreakerStateMachine(t *testing.T) {
	// One step: move the clock, then either ask allow (want ok, retryIn) or
	// report an outcome; then check the state.
	type step struct {
		advance time.Duration
		allow   bool
		ok      bool
		retryIn time.Duration
		done    outcome
		state   CircuitState
	}
	ask := func(ok bool, retryIn time.Duration, st CircuitState) step {
		return step{allow: true, ok: ok, retryIn: retryIn, state: st}
	}
	after := func(d time.Duration, s step) step { s.advance = d; return s }
	report := func(o outcome, st CircuitState) step { return step{done: o, state: st} }
	fail := func(st CircuitState) step { return report(outcomeFailure, st) }
	ok := func(st CircuitState) step { return report(outcomeSuccess, st) }
	const (
		C = CircuitClosed
		H = CircuitHalfOpen
		O = CircuitOpen
	)
	s := time.Second
	cases := []struct {
		name        string
		steps       []step
		transitions string
	}{
		{"opens after three failures in a row",
			[]step{fail(C), fail(C), fail(O), ask(false, 10*s, O)}, "closed→open(3)"},
		{"a success resets the count",
			[]step{fail(C), fail(C), ok(C), fail(C), fail(C), ask(true, 0, C)}, ""},
		{"a permanent failure (the provider answered) resets the count",
			[]step{fail(C), fail(C), ok(C), fail(C), fail(C), fail(O)}, "closed→open(3)"},
		{"an aborted send counts for nothing",
			[]step{fail(C), fail(C), report(outcomeAborted, C), fail(O)}, "closed→open(3)"},
		{"open refuses until the cooldown, telling how long is left",
			[]step{fail(C), fail(C), fail(O), after(4*s, ask(false, 6*s, O)), after(5*s, ask(false, s, O))}, "closed→open(3)"},
		{"half-open lets one probe through; its success closes",
			[]step{fail(C), fail(C), fail(O), after(10*s, ask(true, 0, H)), ask(false, 0, H), ok(C), ask(true, 0, C)},
			"closed→open(3) open→half-open(3) half-open→closed(0)"},
		{"a failed probe opens it for a fresh cooldown",
			[]step{fail(C), fail(C), fail(O), after(10*s, ask(true, 0, H)), fail(O), ask(false, 10*s, O),
				after(10*s, ask(true, 0, H))},
			"closed→open(3) open→half-open(3) half-open→open(4) open→half-open(4)"},
		{"one failure of the probe is enough, whatever the threshold",
			[]step{fail(C), fail(C), fail(O), after(time.Hour, ask(true, 0, H)), fail(O)},
			"closed→open(3) open→half-open(3) half-open→open(4)"},
		{"an aborted probe lets the next attempt probe",
			[]step{fail(C), fail(C), fail(O), after(10*s, ask(true, 0, H)), report(outcomeAborted, H), ask(true, 0, H), ok(C)},
			"closed→open(3) open→half-open(3) half-open→closed(0)"},
		{"a permanent answer to the probe closes it",
			[]step{fail(C), fail(C), fail(O), after(10*s, ask(true, 0, H)), ok(C)},
			"closed→open(3) open→half-open(3) half-open→closed(0)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := newFakeClock()
			var trans []string
			b := newCircuit(Breaker{Failures: 3, Cooldown: 10 * time.Second}, clk.now, func(from, to CircuitState, n int) {
				trans = append(trans, fmt.Sprintf("%s→%s(%d)", from, to, n))
			})
			for i, st := range c.steps {
				clk.advance(st.advance)
				if st.allow {
					ok, retryIn := b.allow()
					if ok != st.ok || retryIn != st.retryIn {
						t.Errorf("step %d: allow = %v, %v; want %v, %v", i, ok, retryIn, st.ok, st.retryIn)
					}
				} else {
					b.done(st.done)
				}
				if got := b.current(); got != st.state {
					t.Errorf("step %d: state %s, want %s", i, got, st.state)
				}
			}
			if got := strings.Join(trans, " "); got != c.transitions {
				t.Errorf("transitions %q, want %q", got, c.transitions)
			}
		})
	}
}

func TestBreakerOff(t *testing.T) {
	b := newCircuit(Breaker{Failures: -1}, time.Now, nil)
	if b != nil {
		t.Fatal("negative Failures: want no breaker")
	}
	for range 100 {
		b.done(outcomeFailure)
	}
	if ok, _ := b.allow(); !ok {
		t.Error("nil breaker refused a send")
	}
}

func TestOutcomeOf(t *testing.T) {
	cases := []struct {
		err     error
		aborted bool
		want    outcome
	}{
		{nil, false, outcomeSuccess},
		{Permanent(errors.New("400")), false, outcomeSuccess},
		{&HTTPError{StatusCode: 503}, false, outcomeFailure},
		{context.DeadlineExceeded, false, outcomeFailure},
		{context.Canceled, true, outcomeAborted},
		{nil, true, outcomeAborted},
	}
	for _, c := range cases {
		if got := outcomeOf(c.err, c.aborted); got != c.want {
			t.Errorf("outcomeOf(%v, %v) = %d, want %d", c.err, c.aborted, got, c.want)
		}
	}
}

func TestCircuitOpenError(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &CircuitOpenError{Channel: "sms", RetryIn: time.Second})
	if !errors.Is(err, ErrCircuitOpen) || !Retryable(err) || FailureReason(err) != ReasonCircuit {
		t.Errorf("%v: Is %v, Retryable %v, reason %q", err, errors.Is(err, ErrCircuitOpen), Retryable(err), FailureReason(err))
	}
	d, _ := New(nil, Options{BaseBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second})
	d.jitter = func(n int64) int64 { return n - 1 }
	if got := d.backoff(1, &CircuitOpenError{RetryIn: 2 * time.Second}); got != 2*time.Second+100*time.Millisecond-1 {
		t.Errorf("backoff after an open circuit = %v, want the rest of the cooldown plus jitter", got)
	}
	if got := d.backoff(1, &CircuitOpenError{RetryIn: time.Hour}); got != 5*time.Second {
		t.Errorf("backoff = %v, want MaxBackoff", got)
	}
}

// TestDispatcherBreaker: a dead provider opens its channel's circuit after
// Failures attempts; later attempts fail at once (circuit_open) without
// touching the provider and wait for the cooldown; the probe after it
// finds the provider back and the call goes out. Another channel carries
// on meanwhile.
func TestDispatcherBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dead := &recordingChannel{name: "sms", down: true, pid: "biz-1"}
		fine := &recordingChannel{name: "im"}
		reg := prometheus.NewRegistry()
		results := make(chan Result, 10)
		d, err := New([]Channel{dead, fine}, Options{Registerer: reg, Workers: 1, MaxAttempts: 20,
			BaseBackoff: 100 * time.Millisecond, MaxBackoff: time.Minute,
			Breaker:  Breaker{Failures: 3, Cooldown: 30 * time.Second},
			OnResult: func(r Result) { results <- r }})
		if err != nil {
			t.Fatal(err)
		}
		d.Run(t.Context())
		start := time.Now()
		if err := d.Call(t.Context(), testCall("c1", "sms")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // three quick failures
		synctest.Wait()
		if n := len(dead.sends()); n != 3 {
			t.Fatalf("%d sends before the circuit opened, want 3", n)
		}
		state := func(ch string) float64 { return testutil.ToFloat64(d.m.circuit.WithLabelValues(ch)) }
		if state("sms") != float64(CircuitOpen) || state("im") != float64(CircuitClosed) {
			t.Errorf("circuit states sms %v im %v, want open and closed", state("sms"), state("im"))
		}
		// The other channel is not held up.
		if err := d.Call(t.Context(), testCall("c2", "im")); err != nil {
			t.Fatal(err)
		}
		if r := <-results; r.Call.ID != "c2" || r.Err != nil {
			t.Fatalf("result %s %v, want c2 sent", r.Call.ID, r.Err)
		}
		time.Sleep(10 * time.Second)
		dead.setDown(false) // the provider is back before the cooldown ends
		r := <-results
		took := time.Since(start)
		if r.Call.ID != "c1" || r.Err != nil || r.ProviderID != "biz-1" {
			t.Fatalf("result %s %v %q, want c1 sent with the provider's id", r.Call.ID, r.Err, r.ProviderID)
		}
		if n := len(dead.sends()); n != 4 {
			t.Errorf("%d sends, want 4 (3 failures, 1 probe): refused attempts must not reach the provider", n)
		}
		if took < 30*time.Second || took > 90*time.Second {
			t.Errorf("sent after %v, want after the 30s cooldown, soon after", took)
		}
		if state("sms") != float64(CircuitClosed) {
			t.Errorf("sms circuit %v after the probe succeeded, want closed", state("sms"))
		}
		refused := testutil.ToFloat64(d.m.failures.WithLabelValues("sms", ReasonCircuit))
		if refused < 1 || int(refused)+4 != r.Attempts {
			t.Errorf("%v attempts refused as circuit_open, %d attempts in all; want ≥1 and 4 sends besides", refused, r.Attempts)
		}
		if err := d.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

// TestDispatcherBreakerFailsFast: while a channel's circuit is open, its
// calls end as retryable circuit_open failures once attempts run out,
// without a send, so that escalation can try another channel.
func TestDispatcherBreakerFailsFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dead := &recordingChannel{name: "sms", down: true}
		results := make(chan Result, 10)
		d, err := New([]Channel{dead}, Options{Workers: 1, MaxAttempts: 2,
			BaseBackoff: 10 * time.Millisecond, MaxBackoff: time.Second,
			Breaker:  Breaker{Failures: 2, Cooldown: time.Hour},
			OnResult: func(r Result) { results <- r }})
		if err != nil {
			t.Fatal(err)
		}
		d.Run(t.Context())
		if err := d.Call(t.Context(), testCall("c1", "sms")); err != nil {
			t.Fatal(err)
		}
		if r := <-results; r.Err == nil || errors.Is(r.Err, ErrCircuitOpen) {
			t.Fatalf("first call: %v, want the provider's error", r.Err)
		}
		for _, id := range []string{"c2", "c3"} {
			if err := d.Call(t.Context(), testCall(id, "sms")); err != nil {
				t.Fatal(err)
			}
			r := <-results
			if !errors.Is(r.Err, ErrCircuitOpen) || !Retryable(r.Err) || r.Attempts != 2 {
				t.Errorf("%s: %v after %d attempts, want circuit open after 2", id, r.Err, r.Attempts)
			}
		}
		if n := len(dead.sends()); n != 2 {
			t.Errorf("%d sends, want 2: calls made while open never reach the provider", n)
		}
		if err := d.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}
