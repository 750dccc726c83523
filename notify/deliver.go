package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// The retry stage of the Dispatcher: one delivery's attempts, each behind
// the channel's breaker and rate limit, and the waits between them.

// deliver sends dv until it succeeds, fails permanently, runs out of
// attempts, or shutdown leaves it for the next start: once Stop began, a
// call is tried at most once more (a call not tried yet), never after a
// backoff; when ctx ends (Stop's deadline) the request in flight is cut
// off. Each attempt first asks the channel's breaker, then waits for the
// channel's rate limit.
func (d *Dispatcher) deliver(ctx context.Context, l *lane, dv delivery) {
	c := dv.call
	var err error
	attempts, queries := 0, 0
	for {
		if ctx.Err() != nil || (d.stopping() && attempts+queries > 0) {
			d.finish(dv, shutdownErr(err), attempts, leftPending, "")
			return
		}
		if dv.doubt != nil {
			// A previous run may have sent it: ask the provider first.
			queries++
			var wait time.Duration
			var done bool
			wait, done, err = d.settle(ctx, l, &dv, queries)
			if done {
				return
			}
			if dv.doubt != nil { // ask again after wait
				d.pause(ctx, wait)
				continue
			}
		}
		attempts++
		d.m.attempts.WithLabelValues(l.name).Inc()
		var providerID string
		var requested bool
		providerID, requested, err = d.attempt(ctx, l, dv)
		// Whatever the channel left in its error, no URL credential, query
		// value or credential-named field reaches the log or OnResult (the
		// outbox's last_error, which every role of the API reads).
		err = RedactError(err)
		if err == nil {
			d.finish(dv, nil, attempts, notLeft, providerID)
			return
		}
		if ctx.Err() != nil { // cut short by shutdown, not the channel's fault
			left := leftPending
			if requested {
				left = leftInFlight
			}
			d.finish(dv, shutdownErr(err), attempts, left, "")
			return
		}
		reason := FailureReason(err)
		d.m.failures.WithLabelValues(l.name, reason).Inc()
		if pw := providerWait(err); pw > d.opts.MaxProviderWait && Retryable(err) {
			err = Permanent(fmt.Errorf("%w (the provider asks to wait %s, longer than %s)", err, pw, d.opts.MaxProviderWait))
		}
		if !Retryable(err) || attempts >= d.opts.MaxAttempts {
			d.log.Error("notify call failed", "call_id", c.ID, "channel", l.name, "alert_id", c.Alert.ID,
				"person", c.Person.ID, "calls", len(dv.calls()), "attempts", attempts, "reason", reason,
				"retryable", Retryable(err), "err", err)
			d.finish(dv, err, attempts, notLeft, "")
			return
		}
		if d.stopping() {
			// No retry at shutdown: the next start makes it (the summary
			// of Stop counts it).
			d.finish(dv, shutdownErr(err), attempts, leftPending, "")
			return
		}
		wait := d.backoff(attempts, err)
		// The first failure of a call is a warning; later retries of the same
		// call are debug detail, so a dead endpoint does not flood the log
		// (the final outcome is logged as an error above).
		lvl := slog.LevelDebug
		if attempts == 1 {
			lvl = slog.LevelWarn
		}
		d.log.Log(ctx, lvl, "notify attempt failed", "call_id", c.ID, "channel", l.name, "alert_id", c.Alert.ID,
			"attempt", attempts, "reason", reason, "retry_in", wait, "err", err)
		d.pause(ctx, wait)
	}
}

// stopping reports whether Stop began.
func (d *Dispatcher) stopping() bool {
	select {
	case <-d.closing:
		return true
	default:
		return false
	}
}

// pause waits for wait, or less when ctx ends or Stop begins.
func (d *Dispatcher) pause(ctx context.Context, wait time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-d.closing:
	}
}

// attempt makes one attempt: refused at once while the breaker is open,
// else after waiting for the rate limit, one send with SendTimeout. A group
// is one attempt, through SendGroup. requested reports whether the request
// began (OnSend was told).
func (d *Dispatcher) attempt(ctx context.Context, l *lane, dv delivery) (providerID string, requested bool, err error) {
	if ok, retryIn := l.circuit.allow(); !ok {
		return "", false, &CircuitOpenError{Channel: l.name, RetryIn: retryIn}
	}
	waited, err := l.limit.wait(ctx)
	if waited {
		d.m.rateLimited.WithLabelValues(l.name).Inc()
	}
	if err != nil {
		l.circuit.done(outcomeAborted)
		return "", false, fmt.Errorf("waiting for the rate limit of channel %s: %w", l.name, err)
	}
	if d.opts.OnSend != nil {
		d.opts.OnSend(dv.calls()) // on disk before the request: a crash from now on leaves the calls in doubt
	}
	sctx, cancel := context.WithTimeout(ctx, d.opts.SendTimeout)
	start := time.Now()
	if gs, ok := l.ch.(GroupSender); ok && dv.members != nil {
		providerID, err = gs.SendGroup(sctx, Group{Call: dv.call, Members: dv.members})
	} else if s, ok := l.ch.(IDSender); ok {
		providerID, err = s.SendID(sctx, dv.call)
	} else {
		err = l.ch.Send(sctx, dv.call)
	}
	cancel()
	d.m.send.WithLabelValues(l.name).Observe(time.Since(start).Seconds())
	l.circuit.done(outcomeOf(err, ctx.Err() != nil))
	return providerID, true, err
}

func shutdownErr(last error) error {
	if last == nil {
		return ErrStopped
	}
	return fmt.Errorf("%w: %w", ErrStopped, last)
}

// leftKind says whether, and how, shutdown left a delivery for the next
// start.
type leftKind int

const (
	notLeft      leftKind = iota // it ended: sent or failed
	leftPending                  // not tried, or waiting for a retry
	leftInFlight                 // its request was cut off: in doubt
)

// finish records how a delivery ended, for each call it stands for: the
// members of a group share its outcome, attempts and provider id. A call
// left by shutdown is counted for Stop's summary, not logged on its own
// (but at Debug).
func (d *Dispatcher) finish(dv delivery, err error, attempts int, left leftKind, providerID string) {
	at := d.now()
	for _, c := range dv.calls() {
		attrs := []any{"call_id", c.ID, "channel", c.Channel, "alert_id", c.Alert.ID, "person", c.Person.ID, "attempts", attempts}
		if dv.members != nil {
			attrs = append(attrs, "group", dv.call.ID)
		}
		switch {
		case err == nil:
			d.m.calls.WithLabelValues(c.Channel, OutcomeSent).Inc()
			d.log.Info("notify call sent", attrs...)
		case left != notLeft:
			d.left.add(c, attempts, left == leftInFlight)
			d.m.calls.WithLabelValues(c.Channel, OutcomeFailed).Inc()
			d.log.Debug("notify call left for the next start", append(attrs, "in_flight", left == leftInFlight, "err", err)...)
		default:
			d.m.calls.WithLabelValues(c.Channel, OutcomeFailed).Inc()
		}
		if d.opts.OnResult != nil {
			d.opts.OnResult(Result{Call: c, Err: err, Attempts: attempts, ProviderID: providerID, At: at})
		}
	}
}

// backoff is the wait before attempt+1: full jitter, uniform in
// [0, min(MaxBackoff, BaseBackoff·2^(attempt-1))), but at least the wait
// the provider asked for (providerWait), which MaxBackoff does not cut:
// deliver has given up on waits beyond MaxProviderWait. After an open
// circuit, the rest of its cooldown plus that jitter, capped at
// MaxBackoff.
func (d *Dispatcher) backoff(attempt int, err error) time.Duration {
	ceil := d.opts.MaxBackoff
	if shift := attempt - 1; shift < 62 {
		if c := d.opts.BaseBackoff << shift; c > 0 && c>>shift == d.opts.BaseBackoff && c < ceil {
			ceil = c
		}
	}
	var wait time.Duration
	if ceil > 0 {
		wait = time.Duration(d.jitter(int64(ceil)))
	}
	if pw := providerWait(err); pw > wait {
		wait = pw
	}
	// An open circuit: try again once it lets a probe through, spread by
	// the jitter above so that the waiting calls do not all come at once.
	var co *CircuitOpenError
	if errors.As(err, &co) && co.RetryIn > 0 {
		wait = min(co.RetryIn+wait, d.opts.MaxBackoff)
	}
	return wait
}

// providerWait is the wait before a retry that the provider asked for:
// the RetryAfter of the *HTTPError in err (a Retry-After header, or a
// channel's classification of a rate limit with a known window), or 0.
func providerWait(err error) time.Duration {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.RetryAfter
	}
	return 0
}
