package notify

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"yujing"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 7, 1, 8, 0, 0, 0, time.UTC)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestTokenBucket(t *testing.T) {
	type step struct {
		advance time.Duration // move the clock first
		unres   bool          // give a token back instead of reserving
		want    time.Duration // wait returned by reserve
	}
	s := time.Second
	cases := []struct {
		name  string
		limit Limit
		steps []step
	}{
		{"burst then one every 3s", Limit{PerMinute: 20, Burst: 2}, []step{
			{0, false, 0}, {0, false, 0}, // the full bucket
			{0, false, 3 * s}, {0, false, 6 * s}, // queued behind each other
		}},
		{"refills with time", Limit{PerMinute: 60, Burst: 1}, []step{
			{0, false, 0}, {0, false, s}, {s, false, s}, {5 * s, false, 0},
		}},
		{"never more than burst", Limit{PerMinute: 60, Burst: 3}, []step{
			{time.Hour, false, 0}, {0, false, 0}, {0, false, 0}, {0, false, s},
		}},
		{"default burst is one", Limit{PerMinute: 6}, []step{
			{0, false, 0}, {0, false, 10 * s},
		}},
		{"unreserve gives a token back", Limit{PerMinute: 60, Burst: 1}, []step{
			{0, false, 0}, {0, false, s}, {0, true, 0}, {0, false, s},
		}},
		{"fractional rate", Limit{PerMinute: 0.5, Burst: 1}, []step{
			{0, false, 0}, {30 * s, false, 90 * s},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := newFakeClock()
			b := newTokenBucket(c.limit, clk.now)
			for i, st := range c.steps {
				clk.advance(st.advance)
				if st.unres {
					b.unreserve()
					continue
				}
				if got := b.reserve(); got != st.want {
					t.Errorf("step %d: reserve = %v, want %v", i, got, st.want)
				}
			}
		})
	}
}

func TestTokenBucketUnlimited(t *testing.T) {
	for _, l := range []Limit{{}, {PerMinute: 0, Burst: 5}} {
		if b := newTokenBucket(l, time.Now); b != nil {
			t.Errorf("newTokenBucket(%+v) = %+v, want nil (no limit)", l, b)
		}
	}
	var b *tokenBucket
	if waited, err := b.wait(t.Context()); waited || err != nil {
		t.Errorf("nil bucket: wait = %v, %v", waited, err)
	}
}

func TestTokenBucketWaitHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newTokenBucket(Limit{PerMinute: 1, Burst: 1}, time.Now)
		if waited, err := b.wait(t.Context()); waited || err != nil {
			t.Fatalf("first wait = %v, %v; want at once", waited, err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		waited, err := b.wait(ctx)
		if !waited || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 5*time.Second {
			t.Fatalf("wait = %v, %v after %v; want the deadline after 5s", waited, err, time.Since(start))
		}
		// The abandoned reservation was given back: the next token is due
		// a minute after the first, not two.
		start = time.Now()
		if waited, err := b.wait(t.Context()); !waited || err != nil || time.Since(start) != 55*time.Second {
			t.Errorf("wait = %v, %v after %v; want 55s", waited, err, time.Since(start))
		}
	})
}

func TestLimitValidate(t *testing.T) {
	cases := []struct {
		l    Limit
		want string
	}{
		{Limit{PerMinute: 20, Burst: 1}, ""},
		{Limit{}, ""},
		{Limit{PerMinute: -1}, "per_minute -1 must be a finite number ≥ 0"},
		{Limit{PerMinute: 10, Burst: -2}, "burst -2 is negative"},
	}
	for _, c := range cases {
		err := c.l.validate()
		if (err == nil) != (c.want == "") || (err != nil && err.Error() != c.want) {
			t.Errorf("validate(%+v) = %v, want %q", c.l, err, c.want)
		}
	}
}

// recordingChannel records when each send happened and fails while down
// is set.
type recordingChannel struct {
	name string
	mu   sync.Mutex
	at   []time.Time
	down bool
	pid  string // returned by SendID when set
}

func (r *recordingChannel) Name() string { return r.name }

func (r *recordingChannel) Send(ctx context.Context, c yujing.Call) error {
	_, err := r.SendID(ctx, c)
	return err
}

func (r *recordingChannel) SendID(context.Context, yujing.Call) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.at = append(r.at, time.Now())
	if r.down {
		return "", errors.New("provider down")
	}
	return r.pid, nil
}

func (r *recordingChannel) setDown(v bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = v
}

func (r *recordingChannel) sends() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.at...)
}

// limitedChannel declares a provider quota.
type limitedChannel struct {
	*recordingChannel
	limit Limit
}

func (l limitedChannel) DefaultLimit() Limit { return l.limit }

func testCall(id, channel string) yujing.Call {
	return yujing.Call{ID: id, Channel: channel, Event: yujing.EventRaised,
		Alert: yujing.Alert{ID: 1, Level: yujing.Red}, Person: yujing.Person{ID: "p1"}}
}

// TestDispatcherRateLimit: sends wait for their channel's tokens (a
// configured limit overrides the channel's default), other channels are
// not held up, and every wait is counted.
func TestDispatcherRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		robot := limitedChannel{&recordingChannel{name: "robot"}, Limit{PerMinute: 6, Burst: 1}} // default: one per 10s
		sms := limitedChannel{&recordingChannel{name: "sms"}, Limit{PerMinute: 1}}               // overridden below
		free := &recordingChannel{name: "free"}
		reg := prometheus.NewRegistry()
		results := make(chan Result, 20)
		d, err := New([]Channel{robot, sms, free}, Options{Registerer: reg, Workers: 2,
			Limits:   map[string]Limit{"sms": {PerMinute: 60, Burst: 2}},
			OnResult: func(r Result) { results <- r }})
		if err != nil {
			t.Fatal(err)
		}
		d.Run(t.Context())
		start := time.Now()
		for i := range 4 {
			for _, ch := range []string{"robot", "sms", "free"} {
				if err := d.Call(t.Context(), testCall(ch+string(rune('a'+i)), ch)); err != nil {
					t.Fatal(err)
				}
			}
		}
		for range 12 {
			if r := <-results; r.Err != nil {
				t.Errorf("%s: %v", r.Call.ID, r.Err)
			}
		}
		offsets := func(ch *recordingChannel) []time.Duration {
			var out []time.Duration
			for _, at := range ch.sends() {
				out = append(out, at.Sub(start))
			}
			return out
		}
		s := time.Second
		for _, c := range []struct {
			ch   *recordingChannel
			want []time.Duration
		}{
			{robot.recordingChannel, []time.Duration{0, 10 * s, 20 * s, 30 * s}},
			{sms.recordingChannel, []time.Duration{0, 0, s, 2 * s}},
			{free, []time.Duration{0, 0, 0, 0}},
		} {
			got := offsets(c.ch)
			if len(got) != len(c.want) {
				t.Errorf("%s: sends at %v, want %v", c.ch.name, got, c.want)
				continue
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("%s: sends at %v, want %v", c.ch.name, got, c.want)
					break
				}
			}
		}
		stopCtx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if err := d.Stop(stopCtx); err != nil {
			t.Fatal(err)
		}
		want := `# HELP yujing_notify_rate_limited_total Send attempts that waited for their channel's rate limit.
# TYPE yujing_notify_rate_limited_total counter
yujing_notify_rate_limited_total{channel="free"} 0
yujing_notify_rate_limited_total{channel="robot"} 3
yujing_notify_rate_limited_total{channel="sms"} 2
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "yujing_notify_rate_limited_total"); err != nil {
			t.Error(err)
		}
	})
}

// TestDispatcherRateLimitStop: a call waiting for a token when Stop's
// deadline passes is abandoned (reported with ErrStopped), not sent.
func TestDispatcherRateLimitStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ch := limitedChannel{&recordingChannel{name: "robot"}, Limit{PerMinute: 1, Burst: 1}}
		results := make(chan Result, 2)
		d, err := New([]Channel{ch}, Options{Workers: 1, OnResult: func(r Result) { results <- r }})
		if err != nil {
			t.Fatal(err)
		}
		d.Run(t.Context())
		for _, id := range []string{"a", "b"} {
			if err := d.Call(t.Context(), testCall(id, "robot")); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if err := d.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Stop = %v, want deadline exceeded", err)
		}
		if r := <-results; r.Call.ID != "a" || r.Err != nil {
			t.Errorf("first result %s %v, want a sent", r.Call.ID, r.Err)
		}
		if r := <-results; r.Call.ID != "b" || !errors.Is(r.Err, ErrStopped) {
			t.Errorf("second result %s %v, want b abandoned", r.Call.ID, r.Err)
		}
		if n := len(ch.sends()); n != 1 {
			t.Errorf("%d sends, want 1", n)
		}
	})
}

func TestDispatcherRefusesBadLimits(t *testing.T) {
	ch := &recordingChannel{name: "robot"}
	cases := []struct {
		opts Options
		ch   Channel
		want string
	}{
		{Options{Limits: map[string]Limit{"robot": {PerMinute: -5}}}, ch, `limit of channel "robot": per_minute -5`},
		{Options{Limits: map[string]Limit{"sms": {PerMinute: 5}}}, ch, `limit for channel "sms", which is not configured`},
		{Options{Breaker: Breaker{Cooldown: -time.Second}}, ch, "breaker cooldown -1s is negative"},
		{Options{}, limitedChannel{ch, Limit{Burst: -1, PerMinute: 1}}, `default limit of channel "robot": burst -1`},
	}
	for _, c := range cases {
		if _, err := New([]Channel{c.ch}, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New = %v, want %q", err, c.want)
		}
	}
}
