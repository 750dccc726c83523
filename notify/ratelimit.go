package notify

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"
)

// Limit is a channel's sending budget, a token bucket: PerMinute tokens
// are added each minute, at most Burst are kept, and every send attempt
// (retries included) takes one. A send that finds the bucket empty waits
// for its token; it does not fail.
//
// In any window of w the bucket lets through at most Burst + PerMinute·w/1m
// sends. For a provider with a hard quota of N a minute (DingTalk and WeCom
// robots: 20), PerMinute N with Burst 1 stays within it.
type Limit struct {
	PerMinute float64 `yaml:"per_minute"` // average sends a minute; 0 means no limit
	Burst     int     `yaml:"burst"`      // sends allowed at once after a quiet spell; default 1
}

// Unlimited reports whether l limits nothing.
func (l Limit) Unlimited() bool { return l.PerMinute <= 0 }

func (l Limit) validate() error {
	switch {
	case math.IsNaN(l.PerMinute) || math.IsInf(l.PerMinute, 0) || l.PerMinute < 0:
		return fmt.Errorf("per_minute %v must be a finite number ≥ 0", l.PerMinute)
	case l.Burst < 0:
		return fmt.Errorf("burst %d is negative", l.Burst)
	}
	return nil
}

// DefaultLimiter is implemented by a Channel whose provider has a send
// quota (an IM robot's messages a minute, an SMS account's QPS). The
// Dispatcher applies DefaultLimit unless Options.Limits names the channel.
// Each channel documents its default in its README.
type DefaultLimiter interface {
	DefaultLimit() Limit
}

// tokenBucket is a Limit in force. Reservations may take the bucket below
// zero, so that waiting senders queue in the order they asked.
type tokenBucket struct {
	perSec float64
	burst  float64
	now    func() time.Time

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// newTokenBucket returns a full bucket for l, or nil when l is unlimited.
func newTokenBucket(l Limit, now func() time.Time) *tokenBucket {
	if l.Unlimited() {
		return nil
	}
	burst := float64(max(l.Burst, 1))
	return &tokenBucket{perSec: l.PerMinute / 60, burst: burst, now: now, tokens: burst, last: now()}
}

// advance adds the tokens earned since the last call. Callers hold mu.
func (b *tokenBucket) advance(now time.Time) {
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(b.burst, b.tokens+el.Seconds()*b.perSec)
		b.last = now
	}
}

// reserve takes a token and returns how long to wait before using it: 0
// when one was available.
func (b *tokenBucket) reserve() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(b.now())
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(math.Ceil(-b.tokens / b.perSec * float64(time.Second)))
}

// unreserve gives back a token reserved but not used.
func (b *tokenBucket) unreserve() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(b.now())
	b.tokens = min(b.burst, b.tokens+1)
}

// wait takes a token, sleeping until it is due or ctx ends (then the token
// is given back and ctx's error returned). waited reports whether it had to
// wait. A nil bucket never waits.
func (b *tokenBucket) wait(ctx context.Context) (waited bool, err error) {
	if b == nil {
		return false, nil
	}
	d := b.reserve()
	if d <= 0 {
		return false, nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true, nil
	case <-ctx.Done():
		b.unreserve()
		return true, ctx.Err()
	}
}
