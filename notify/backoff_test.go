package notify

import (
	"errors"
	"testing"
	"time"
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
		{1, &HTTPError{StatusCode: 429, RetryAfter: 300 * ms}, 300 * ms},     // the provider asks for longer
		{1, &HTTPError{StatusCode: 429, RetryAfter: time.Hour}, time.Second}, // but not beyond MaxBackoff
		{4, &HTTPError{StatusCode: 503, RetryAfter: 10 * ms}, 800*ms - 1},    // a shorter ask changes nothing
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
