package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"yujing"
	"yujing/store"
)

// A call's way through notify, in order: the Outbox records it in its
// Journal (Call), the Dispatcher queues it on its channel's lane (Call,
// call, enqueue), a worker takes it (work) and delivers it — the retry
// stage: each attempt behind the channel's breaker and rate limit, the
// waits between them (deliver, attempt, backoff), the Journal told before
// each request (Sending) — and finish reports how it ended to the
// Journal's Result, which marks it and reports the outcome to
// call-and-answer.

// Call records c and hands it to the Dispatcher. It returns nil once c is
// recorded and queued (or held by the Dispatcher, to go out grouped with
// other calls of its site, person and channel), and also when c (the same
// ID) was recorded before or is being handled now: the earlier record is sent, or was, once. An error wrapping
// ErrNotRecorded means nothing was recorded or sent. Any other error means
// c is recorded but could not be queued (shutdown began, ctx ended): it is
// sent by Resume after the next start, unless its channel is unknown, in
// which case it is marked failed.
func (o *Outbox) Call(ctx context.Context, c yujing.Call) error {
	if c.ID == "" {
		return fmt.Errorf("%w: call for alert %d through %q has no id", ErrNotRecorded, c.Alert.ID, c.Channel)
	}
	// Claim the id before recording it: once recorded, a concurrent Resume
	// must find it in flight, or it could send it (and see it sent) before
	// this Call hands it on, which would send it twice.
	j := o.j
	if !j.claim(c.ID) {
		j.log.Debug("notify call already in flight", "call_id", c.ID, "channel", c.Channel, "alert_id", c.Alert.ID)
		return nil
	}
	release := func() { j.release(c.ID) }
	recorded, err := j.st.RecordCall(ctx, c)
	if err != nil {
		release()
		j.m.storeErrors.WithLabelValues("record").Inc()
		return fmt.Errorf("%w: %s: %w", ErrNotRecorded, c.ID, err)
	}
	if !recorded {
		release()
		j.log.Debug("notify call already recorded", "call_id", c.ID, "channel", c.Channel, "alert_id", c.Alert.ID)
		return nil
	}
	err = o.d.Call(ctx, c)
	if err == nil {
		return nil
	}
	release()
	if errors.Is(err, ErrUnknownChannel) {
		j.mark(store.CallUpdate{ID: c.ID, Status: store.CallFailed, LastError: err.Error(), At: time.Now()})
		return err
	}
	return fmt.Errorf("call %s recorded, sent after the next start: %w", c.ID, err)
}

// Call queues c for delivery through the channel it names. It blocks while
// that channel's queue is full (back-pressure) until ctx ends, and fails at
// once for an unknown channel, a call without an ID, or after Stop began.
// It is safe for concurrent use, and may be called before Run.
//
// With Options.GroupWait, a call that Groupable accepts, for a channel that
// is a GroupSender, is held instead and Call returns nil at once: it goes
// out with the other calls of its site, person and channel when the wait
// of the first of them ends. A call of that key that is not held (a red
// warning, an upgrade, a resolution) goes out at once and releases the
// held ones ahead of it, so nobody hears of them after it.
func (d *Dispatcher) Call(ctx context.Context, c yujing.Call) error {
	return d.call(ctx, c, nil)
}

// call is Call, and CallInDoubt when doubt is set.
func (d *Dispatcher) call(ctx context.Context, c yujing.Call, doubt *InDoubt) error {
	l, ok := d.lanes[c.Channel]
	if !ok {
		return fmt.Errorf("%w %q (call %s)", ErrUnknownChannel, c.Channel, c.ID)
	}
	if c.ID == "" {
		return fmt.Errorf("notify: call for alert %d through %q has no id", c.Alert.ID, c.Channel)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("notify: call %s not queued: %w", c.ID, err)
	}
	d.mu.RLock()
	if d.closed {
		d.mu.RUnlock()
		return fmt.Errorf("call %s not queued: %w", c.ID, ErrStopped)
	}
	d.senders.Add(1)
	d.mu.RUnlock()
	defer d.senders.Done()

	if doubt != nil {
		if _, ok := l.ch.(StatusQuerier); ok {
			// Asked about before anything else, on its own.
			return d.enqueue(ctx, l, delivery{call: c, doubt: doubt})
		}
		d.resentInDoubt(l, c)
	}
	if l.group != nil {
		if Groupable(c) {
			l.group.add(c, time.Now().Add(d.opts.GroupWait), d.groupTimer(l))
			return nil
		}
		if g := l.group.takeKey(GroupKey(c)); g != nil {
			if d.enqueueGroup(ctx, l, g) != nil {
				l.group.putBack(g, d.groupTimer(l)) // c fails below for the same reason
			}
		}
	}
	return d.enqueue(ctx, l, delivery{call: c})
}

// enqueue puts dv on l's queue, waiting for room until ctx ends or Stop
// begins. The caller holds a senders slot.
func (d *Dispatcher) enqueue(ctx context.Context, l *lane, dv delivery) error {
	select {
	case l.queue <- dv:
		return nil
	default:
	}
	select {
	case l.queue <- dv:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("notify: call %s not queued, queue of channel %q full: %w", dv.call.ID, l.name, ctx.Err())
	case <-d.closing:
		return fmt.Errorf("call %s not queued: %w", dv.call.ID, ErrStopped)
	}
}

func (d *Dispatcher) work(ctx context.Context, l *lane) {
	defer d.workers.Done()
	for dv := range l.queue {
		d.deliver(ctx, l, dv)
	}
}

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
		if errors.Is(err, ErrHandedOver) { // not sent; the lease's new holder sends it
			d.log.Info("notify call handed over: this node no longer holds its lease", "call_id", c.ID, "channel", l.name, "alert_id", c.Alert.ID)
			d.finish(dv, err, attempts-1, notLeft, "")
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
		// On disk before the request: a crash from now on leaves the calls
		// in doubt. Refused when this node no longer holds the calls'
		// lease: the node that took it over sends them.
		if err := d.opts.OnSend(dv.calls()); err != nil {
			l.circuit.done(outcomeAborted)
			return "", false, err
		}
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

// Sending records that an attempt to send calls begins now, on disk when
// it returns (use it as the Dispatcher's Options.OnSend): from now on the
// provider may have them, and a restart treats them as in doubt until they
// are marked. A failed write is logged and counted (op "sending"); the
// attempt goes ahead, and a crash during it sends the calls again without
// asking.
//
// With OutboxOptions.Fence, the mark is fenced by the lease of the calls'
// warning: once another node holds that lease it fails with
// ErrHandedOver, and the calls are not sent here.
func (j *Journal) Sending(calls []yujing.Call) error {
	ids := make([]string, len(calls))
	for i, c := range calls {
		ids[i] = c.ID
	}
	ctx, cancel := context.WithTimeout(context.Background(), j.markTimeout)
	defer cancel()
	if j.fence != nil && len(calls) > 0 {
		ctx = j.fence(ctx, calls[0])
	}
	if err := j.st.MarkSending(ctx, ids, time.Now()); err != nil {
		if errors.Is(err, store.ErrFenced) {
			return fmt.Errorf("%w: %w", ErrHandedOver, err)
		}
		j.m.storeErrors.WithLabelValues("sending").Inc()
		j.log.Error("notify call not marked sending", "call_id", ids[0], "calls", len(ids), "err", err)
	}
	return nil
}

// Result marks a call from the Dispatcher's report (use it as the
// Dispatcher's Options.OnResult): sent, failed, or still pending when shutdown left it,
// so that the next start sends it; a call sent or failed is then reported
// to OnOutcome. A call shutdown left without trying it is pending on
// record already: nothing is written for it, so that a shutdown that
// leaves many queued calls does not spend its time on them.
func (j *Journal) Result(r Result) {
	u := store.CallUpdate{ID: r.Call.ID, Attempts: r.Attempts, ProviderID: r.ProviderID, At: r.At}
	switch {
	case r.Err == nil:
		u.Status = store.CallSent
	case errors.Is(r.Err, ErrHandedOver):
		j.release(r.Call.ID) // pending on record: the lease's new holder sends it
		return
	case errors.Is(r.Err, ErrStopped):
		u.Status, u.LastError = store.CallPending, r.Err.Error()
	default:
		u.Status, u.LastError = store.CallFailed, r.Err.Error()
	}
	if u.Status != store.CallPending || r.Attempts > 0 {
		j.mark(u)
	}
	// Only now: until the mark is written, Resume must see it in flight.
	j.release(r.Call.ID)
	if u.Status == store.CallPending || j.onOutcome == nil {
		return
	}
	out := yujing.CallResult{Call: r.Call, Sent: u.Status == store.CallSent, At: r.At}
	if !out.Sent {
		out.Reason, out.Error = FailureReason(r.Err), u.LastError
	}
	j.onOutcome(out)
}
