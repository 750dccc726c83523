package notify

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Breaker configures the circuit breaker every channel has, so that a dead
// provider fails fast instead of tying up its channel's workers for a whole
// send timeout per attempt.
//
// The circuit is closed (sends go ahead) until Failures retryable failures
// in a row; then it opens and every attempt fails at once with a
// *CircuitOpenError (retryable, failure reason circuit_open), which the
// Dispatcher retries after at least the rest of the cooldown. After
// Cooldown it is half-open: one attempt, the probe, is let through; its
// success closes the circuit, a retryable failure opens it for another
// Cooldown. A permanent failure counts as the provider answering: it
// closes a half-open circuit and resets the count.
type Breaker struct {
	Failures int           `yaml:"failures"` // retryable failures in a row that open the circuit; default 5; negative: no breaker
	Cooldown time.Duration `yaml:"cooldown"` // time open before a probe; default 30s
}

// Defaults of Breaker.
const (
	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = 30 * time.Second
)

func (b *Breaker) setDefaults() {
	if b.Failures == 0 {
		b.Failures = DefaultBreakerFailures
	}
	if b.Cooldown == 0 {
		b.Cooldown = DefaultBreakerCooldown
	}
}

func (b Breaker) validate() error {
	if b.Cooldown < 0 {
		return fmt.Errorf("breaker cooldown %s is negative", b.Cooldown)
	}
	return nil
}

// CircuitState is the state of a channel's circuit, the value of the gauge
// yujing_notify_circuit_state.
type CircuitState int

// Circuit states.
const (
	CircuitClosed   CircuitState = 0 // sends go ahead
	CircuitHalfOpen CircuitState = 1 // one probe send is let through
	CircuitOpen     CircuitState = 2 // sends fail at once
)

func (s CircuitState) String() string {
	switch s {
	case CircuitClosed:
		return "closed"
	case CircuitHalfOpen:
		return "half-open"
	case CircuitOpen:
		return "open"
	}
	return fmt.Sprintf("CircuitState(%d)", int(s))
}

// ErrCircuitOpen matches (errors.Is) every *CircuitOpenError.
var ErrCircuitOpen = errors.New("circuit open")

// CircuitOpenError is the error of an attempt refused because its channel's
// circuit is open. It is retryable.
type CircuitOpenError struct {
	Channel string
	// RetryIn is how long until the circuit lets a probe through (0 when a
	// probe is under way). The Dispatcher waits at least this long.
	RetryIn time.Duration
}

func (e *CircuitOpenError) Error() string {
	return fmt.Sprintf("channel %s: circuit open after repeated failures; not tried", e.Channel)
}

// Is makes errors.Is(err, ErrCircuitOpen) true.
func (e *CircuitOpenError) Is(target error) bool { return target == ErrCircuitOpen }

// outcome is what a send let through by the breaker came to.
type outcome int

const (
	outcomeSuccess outcome = iota // sent, or a permanent failure: the provider answered
	outcomeFailure                // a retryable failure
	outcomeAborted                // cut short by shutdown: says nothing about the provider
)

// outcomeOf classifies a send's error for the breaker; aborted is true when
// the dispatcher's own context ended.
func outcomeOf(err error, aborted bool) outcome {
	switch {
	case aborted:
		return outcomeAborted
	case err == nil || !Retryable(err):
		return outcomeSuccess
	}
	return outcomeFailure
}

// circuit is one channel's breaker in force. A nil circuit lets everything
// through.
type circuit struct {
	cfg      Breaker
	now      func() time.Time
	onChange func(from, to CircuitState, failures int) // called with mu held; must not call back

	mu       sync.Mutex
	state    CircuitState
	fails    int       // retryable failures in a row
	openedAt time.Time // when it last opened
	probing  bool      // a half-open probe is under way
}

// newCircuit returns the breaker for cfg (defaults set), or nil when
// cfg.Failures is negative.
func newCircuit(cfg Breaker, now func() time.Time, onChange func(from, to CircuitState, failures int)) *circuit {
	if cfg.Failures < 0 {
		return nil
	}
	if onChange == nil {
		onChange = func(CircuitState, CircuitState, int) {}
	}
	return &circuit{cfg: cfg, now: now, onChange: onChange}
}

func (c *circuit) set(to CircuitState) {
	if c.state != to {
		from := c.state
		c.state = to
		c.onChange(from, to, c.fails)
	}
}

// allow reports whether a send may go ahead. When it may, its outcome must
// be reported with done. When not, retryIn is how long until a probe can go.
func (c *circuit) allow() (ok bool, retryIn time.Duration) {
	if c == nil {
		return true, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.state {
	case CircuitClosed:
		return true, 0
	case CircuitOpen:
		left := c.cfg.Cooldown - c.now().Sub(c.openedAt)
		if left > 0 {
			return false, left
		}
		c.set(CircuitHalfOpen)
	}
	if c.probing {
		return false, 0
	}
	c.probing = true
	return true, 0
}

// done records the outcome of a send that allow let through.
func (c *circuit) done(o outcome) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	probe := c.state == CircuitHalfOpen && c.probing
	if probe {
		c.probing = false
	}
	switch o {
	case outcomeAborted:
		// Nothing learned; a half-open circuit lets the next attempt probe.
	case outcomeSuccess:
		c.fails = 0
		c.set(CircuitClosed)
	case outcomeFailure:
		c.fails++
		switch {
		case probe:
			c.openedAt = c.now()
			c.set(CircuitOpen)
		case c.state == CircuitClosed && c.fails >= c.cfg.Failures:
			c.openedAt = c.now()
			c.set(CircuitOpen)
		}
	}
}

// current is the state, for tests.
func (c *circuit) current() CircuitState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}
