package notify

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"yujing"
)

func TestBackoff(t *testing.T) {
	d, err := New(nil, Options{BaseBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	source := d.jitter
	d.jitter = func(n int64) int64 { return n - 1 } // the largest draw
	ms := time.Millisecond
	cases := []struct {
		attempt int
		err     error
		want    time.Duration
	}{
		{1, errors.New("x"), 100*ms - 1},
		{2, errors.New("x"), 200*ms - 1},
		{3, errors.New("x"), 400*ms - 1},
		{4, errors.New("x"), 800*ms - 1},
		{5, errors.New("x"), time.Second - 1},  // capped
		{64, errors.New("x"), time.Second - 1}, // no overflow
		{1000, errors.New("x"), time.Second - 1},
		{1, &HTTPError{StatusCode: 429, RetryAfter: 300 * ms}, 300 * ms},       // the provider asks for longer
		{1, &HTTPError{StatusCode: 429, RetryAfter: time.Minute}, time.Minute}, // even beyond MaxBackoff: its window wins
		{4, &HTTPError{StatusCode: 503, RetryAfter: 10 * ms}, 800*ms - 1},      // a shorter ask changes nothing
		{1, fmt.Errorf("wrapped: %w", &HTTPError{StatusCode: 429, RetryAfter: 2 * time.Second}), 2 * time.Second},
	}
	for _, c := range cases {
		if got := d.backoff(c.attempt, c.err); got != c.want {
			t.Errorf("backoff(%d, %v) = %s, want %s", c.attempt, c.err, got, c.want)
		}
	}

	// Full jitter: the draw is uniform from zero.
	d.jitter = func(int64) int64 { return 0 }
	if got := d.backoff(3, errors.New("x")); got != 0 {
		t.Errorf("smallest draw gives %s, want 0", got)
	}
	d.jitter = source
	for range 1000 {
		if got := d.backoff(2, errors.New("x")); got < 0 || got >= 200*ms {
			t.Fatalf("backoff(2) = %s, want in [0, 200ms)", got)
		}
	}
}

// throttlingChannel answers its first sends with a 429 asking to wait
// after, then accepts.
type throttlingChannel struct {
	recordingChannel
	after    time.Duration
	refusals int
}

func (c *throttlingChannel) SendID(ctx context.Context, call yujing.Call) (string, error) {
	id, err := c.recordingChannel.SendID(ctx, call)
	if len(c.sends()) <= c.refusals {
		return "", &HTTPError{StatusCode: 429, RetryAfter: c.after}
	}
	return id, err
}

// TestProviderWaitBeatsMaxBackoff: a provider's own wait (RetryAfter) is
// kept even beyond MaxBackoff, up to MaxProviderWait; a provider asking for
// longer than that ends the call failed at the first attempt, throttled,
// instead of tying a worker up for an hour.
func TestProviderWaitBeatsMaxBackoff(t *testing.T) {
	cases := []struct {
		name     string
		after    time.Duration
		attempts int
		sent     bool
	}{
		{"a minute, over the 30s MaxBackoff", time.Minute, 2, true},
		{"ten minutes (a DingTalk robot's throttle)", 10 * time.Minute, 2, true},
		{"an hour, over MaxProviderWait", time.Hour, 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ch := &throttlingChannel{recordingChannel: recordingChannel{name: "sms"}, after: c.after, refusals: 1}
				results := make(chan Result, 1)
				d, err := New([]Channel{ch}, Options{Workers: 1, OnResult: func(r Result) { results <- r }})
				if err != nil {
					t.Fatal(err)
				}
				d.Run(t.Context())
				defer d.Stop(context.Background())
				if err := d.Call(t.Context(), yujing.Call{ID: "1-1-p-sms", Channel: "sms"}); err != nil {
					t.Fatal(err)
				}
				r := <-results
				if (r.Err == nil) != c.sent || r.Attempts != c.attempts {
					t.Fatalf("result err %v after %d attempts, want sent %v after %d", r.Err, r.Attempts, c.sent, c.attempts)
				}
				at := ch.sends()
				if c.sent && at[1].Sub(at[0]) < c.after {
					t.Errorf("retried %s after the provider asked for %s", at[1].Sub(at[0]), c.after)
				}
				if !c.sent && (Retryable(r.Err) || FailureReason(r.Err) != ReasonThrottled) {
					t.Errorf("err %v: want a permanent throttled failure", r.Err)
				}
			})
		})
	}
}
