package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yujing"
	"yujing/store"
)

// OutboxStore keeps calls durably; store/sqlstate.State is one. Every
// write must be on disk when it returns.
type OutboxStore interface {
	// RecordCall stores c as pending unless a call with its ID is already
	// stored, and reports whether it stored it.
	RecordCall(ctx context.Context, c yujing.Call) (recorded bool, err error)
	// PendingCalls returns the calls recorded and not yet marked sent or
	// failed, oldest first, each with when an attempt to send it last
	// began (zero when never).
	PendingCalls(ctx context.Context) ([]store.PendingCall, error)
	// MarkSending records that an attempt to send the calls ids begins at
	// at (only pending calls are marked).
	MarkSending(ctx context.Context, ids []string, at time.Time) error
	// MarkCall records how a run of deliveries of a call ended.
	MarkCall(ctx context.Context, u store.CallUpdate) error
}

// OutboxOptions tune an Outbox.
type OutboxOptions struct {
	Logger     *slog.Logger          // default: discard
	Registerer prometheus.Registerer // metrics go here; nil registers nothing
	// MarkTimeout bounds the write that marks a call sent or failed; the
	// mark runs on a dispatcher worker, outside any caller's context.
	// Default 10s.
	MarkTimeout time.Duration
	// OnOutcome, when set, is told how each call's delivery ended for
	// good — sent, or failed (refused for good, or every attempt failed) —
	// once its mark is on disk. Call-and-answer moves a failed call on to
	// the next channel of its ladder from here; notify never does. It runs
	// on a dispatcher worker and must not block (an internal/mailbox.Box).
	OnOutcome func(yujing.CallResult)
}

// Outbox records every call durably before it is handed to the Dispatcher,
// and marks it sent or failed from the Dispatcher's OnResult, so that:
//
//   - a call the alerting stage was told was accepted (Call returned nil or
//     an error saying it is recorded) is never lost: after a crash or a
//     restart, Resume hands every call still pending to the Dispatcher
//     again;
//   - a call marked sent is never sent again;
//   - the same call (the same idempotency key) recorded twice is sent once.
//
// These hold per call when the Dispatcher groups calls (Options.GroupWait):
// each member of a group is recorded on its own, stays in flight while it
// is held, and is marked from its own Result; a member held when the
// process dies is pending, and Resume hands it on again to be grouped
// again.
//
// One window remains: the provider may have accepted a call whose "sent"
// mark did not reach the disk (a crash while the request was in flight, or
// before the mark). Such a call is in doubt, and the outbox knows it:
// before each attempt's request, the Dispatcher's OnSend (Sending) writes
// the attempt's start to the call's record, on disk. After a restart,
// Resume hands a pending call without one on as before (it never left),
// and one with one through CallInDoubt: a channel whose provider can be
// asked (a StatusQuerier: Alibaba Cloud and Tencent Cloud SMS) is asked
// first and the call sent only if the provider has no record of it; a
// Deduplicator (the webhook) sends it again with the same key; any other
// channel sends it again, and the person may get it twice (counted in
// yujing_notify_in_doubt_total, logged).
//
// Wire it in three steps, because each side needs the other:
//
//	ob, _ := notify.NewOutbox(state, notify.OutboxOptions{...})
//	d, _ := notify.New(channels, notify.Options{OnResult: ob.Result, OnSend: ob.Sending, ...})
//	ob.Attach(d)
//	d.Run(ctx)
//	ob.Resume(ctx) // resend what a previous run left pending
//
// and give ob (not d) to call-and-answer (alerting/escalate) as its Caller.
type Outbox struct {
	onOutcome   func(yujing.CallResult)
	st          OutboxStore
	log         *slog.Logger
	markTimeout time.Duration
	m           *outboxMetrics

	mu       sync.Mutex
	d        *Dispatcher
	inflight map[string]struct{} // handed to the dispatcher, no result yet
}

type outboxMetrics struct {
	resumed     prometheus.Counter
	storeErrors *prometheus.CounterVec
}

// NewOutbox builds an Outbox over st. Attach a Dispatcher before Call or
// Resume.
func NewOutbox(st OutboxStore, opts OutboxOptions) (*Outbox, error) {
	if st == nil {
		return nil, errors.New("notify: outbox: nil store")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MarkTimeout <= 0 {
		opts.MarkTimeout = 10 * time.Second
	}
	m := &outboxMetrics{
		resumed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yujing_notify_outbox_resumed_total", Help: "Pending calls handed to the dispatcher again after a restart."}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_notify_outbox_store_errors_total", Help: "Outbox writes that failed, by operation."},
			[]string{"op"}),
	}
	for _, op := range []string{"record", "sending", "mark"} {
		m.storeErrors.WithLabelValues(op)
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{m.resumed, m.storeErrors} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("notify: outbox: register metrics: %w", err)
			}
		}
	}
	return &Outbox{onOutcome: opts.OnOutcome, st: st, log: opts.Logger, markTimeout: opts.MarkTimeout, m: m, inflight: map[string]struct{}{}}, nil
}

// Attach sets the Dispatcher calls are handed to. The Dispatcher's
// Options.OnResult must be this Outbox's Result.
func (o *Outbox) Attach(d *Dispatcher) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.d = d
}

// ErrNotRecorded is wrapped by Call's error when the call could not be
// recorded, and so was not sent.
var ErrNotRecorded = errors.New("notify: call not recorded")

// Resume hands every pending call to the Dispatcher: the calls a previous
// run recorded but did not see sent (it crashed, or stopped with them
// queued). A call an attempt had begun to send goes through CallInDoubt
// (the provider may have it; see Outbox), the others through Call. Calls
// already with the Dispatcher are skipped, so it is safe to call again at
// any time. It stops at the first call that cannot be queued.
func (o *Outbox) Resume(ctx context.Context) error {
	o.mu.Lock()
	d := o.d
	if d == nil {
		o.mu.Unlock()
		return errors.New("notify: outbox: resume: no dispatcher attached")
	}
	// The pending list is read and claimed under mu: a call whose result
	// arrives meanwhile is either marked before the read (not pending) or
	// still in flight (skipped), never both missed and resent.
	pending, err := o.st.PendingCalls(ctx)
	if err != nil {
		o.mu.Unlock()
		return fmt.Errorf("notify: outbox: resume: %w", err)
	}
	var todo []store.PendingCall
	for _, p := range pending {
		if _, busy := o.inflight[p.Call.ID]; !busy {
			o.inflight[p.Call.ID] = struct{}{}
			todo = append(todo, p)
		}
	}
	o.mu.Unlock()
	release := func(ps []store.PendingCall) {
		o.mu.Lock()
		defer o.mu.Unlock()
		for _, p := range ps {
			delete(o.inflight, p.Call.ID)
		}
	}
	for i, p := range todo {
		c := p.Call
		inDoubt := !p.SendingAt.IsZero()
		var err error
		if inDoubt {
			err = d.CallInDoubt(ctx, c, InDoubt{From: c.Created, To: p.SendingAt})
		} else {
			err = d.Call(ctx, c)
		}
		switch {
		case err == nil:
			o.m.resumed.Inc()
			o.log.Info("notify pending call resent", "call_id", c.ID, "channel", c.Channel, "alert_id", c.Alert.ID, "in_doubt", inDoubt)
		case errors.Is(err, ErrUnknownChannel):
			// The channel was removed from the configuration: this call
			// cannot go out as recorded; the others may.
			o.mark(store.CallUpdate{ID: c.ID, Status: store.CallFailed, LastError: err.Error(), At: time.Now()})
			release(todo[i : i+1])
			o.log.Error("notify pending call dropped: channel no longer configured", "call_id", c.ID,
				"channel", c.Channel, "alert_id", c.Alert.ID)
		default:
			release(todo[i:])
			return fmt.Errorf("notify: outbox: resume: %d of %d pending calls not queued: %w", len(todo)-i, len(todo), err)
		}
	}
	if len(todo) > 0 {
		o.log.Info("notify outbox resumed", "pending", len(todo))
	}
	return nil
}

func (o *Outbox) mark(u store.CallUpdate) {
	ctx, cancel := context.WithTimeout(context.Background(), o.markTimeout)
	defer cancel()
	if err := o.st.MarkCall(ctx, u); err != nil {
		o.m.storeErrors.WithLabelValues("mark").Inc()
		// A sent call left pending is sent again after a restart: the one
		// duplicate window, widened by this failure.
		o.log.Error("notify call not marked", "call_id", u.ID, "status", u.Status, "err", err)
	}
}
