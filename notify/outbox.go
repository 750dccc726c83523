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

// OutboxOptions tune an outbox's Journal.
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
	// Fence returns ctx fenced by the lease under which this node sends
	// call c (store.WithFence): the mark that a call is being sent fails
	// once another node holds it, and the call is not sent here. Nil: no
	// fencing.
	Fence func(ctx context.Context, c yujing.Call) context.Context
}

// Outbox records every call durably (in its Journal) before it is handed
// to the Dispatcher, and the Journal marks it sent or failed from the
// Dispatcher's OnResult, so that:
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
// before each attempt's request, the Dispatcher's OnSend (Journal.Sending) writes
// the attempt's start to the call's record, on disk. After a restart,
// Resume hands a pending call without one on as before (it never left),
// and one with one through CallInDoubt: a channel whose provider can be
// asked (a StatusQuerier: Alibaba Cloud and Tencent Cloud SMS) is asked
// first and the call sent only if the provider has no record of it; a
// Deduplicator (the webhook) sends it again with the same key; any other
// channel sends it again, and the person may get it twice (counted in
// yujing_notify_in_doubt_total, logged).
//
// Build it in flow order, each part given what it needs, the dependency
// one way: the Journal knows neither the Dispatcher nor the Outbox, the
// Dispatcher reports to the Journal through its options, and the Outbox
// hands calls to the Dispatcher:
//
//	j, _ := notify.NewJournal(state, notify.OutboxOptions{...})
//	d, _ := notify.New(channels, notify.Options{OnResult: j.Result, OnSend: j.Sending, ...})
//	ob, _ := notify.NewOutbox(j, d)
//	d.Run(ctx)
//	ob.Resume(ctx) // resend what a previous run left pending
//
// and give ob (not d) to call-and-answer (alerting/escalate) as its Caller.
type Outbox struct {
	j *Journal
	d *Dispatcher
}

// Journal is the outbox's record of calls: the store, the calls in flight
// (claimed by the Outbox, handed to the Dispatcher, no result yet) and the
// marks the Dispatcher reports — Sending before each request, Result when
// a call ended — each outcome then told to OutboxOptions.OnOutcome. It
// knows neither the Dispatcher nor the Outbox.
type Journal struct {
	onOutcome   func(yujing.CallResult)
	st          OutboxStore
	log         *slog.Logger
	markTimeout time.Duration
	fence       func(ctx context.Context, c yujing.Call) context.Context
	m           *outboxMetrics

	mu       sync.Mutex
	inflight map[string]struct{} // handed to the dispatcher, no result yet
}

type outboxMetrics struct {
	resumed     prometheus.Counter
	storeErrors *prometheus.CounterVec
}

// NewJournal builds the outbox's Journal over st: build it first, give its
// Result and Sending to the Dispatcher (Options.OnResult, OnSend), then
// build the Outbox with both (NewOutbox).
func NewJournal(st OutboxStore, opts OutboxOptions) (*Journal, error) {
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
	return &Journal{onOutcome: opts.OnOutcome, st: st, log: opts.Logger, markTimeout: opts.MarkTimeout, fence: opts.Fence, m: m, inflight: map[string]struct{}{}}, nil
}

// NewOutbox builds the Outbox that records calls in j and hands them to d;
// d's Options.OnResult and OnSend must be j's Result and Sending.
func NewOutbox(j *Journal, d *Dispatcher) (*Outbox, error) {
	if j == nil || d == nil {
		return nil, errors.New("notify: outbox: a journal and a dispatcher are required")
	}
	return &Outbox{j: j, d: d}, nil
}

// claim marks the call id in flight; false when it already is.
func (j *Journal) claim(id string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, busy := j.inflight[id]; busy {
		return false
	}
	j.inflight[id] = struct{}{}
	return true
}

// release ends the calls ids' flight.
func (j *Journal) release(ids ...string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, id := range ids {
		delete(j.inflight, id)
	}
}

// claimPending returns the pending calls not in flight, claimed. The
// pending list is read and claimed under mu: a call whose result arrives
// meanwhile is either marked before the read (not pending) or still in
// flight (skipped), never both missed and resent.
func (j *Journal) claimPending(ctx context.Context, which func(yujing.Call) bool) ([]store.PendingCall, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	pending, err := j.st.PendingCalls(ctx)
	if err != nil {
		return nil, err
	}
	var todo []store.PendingCall
	for _, p := range pending {
		if which != nil && !which(p.Call) {
			continue
		}
		if _, busy := j.inflight[p.Call.ID]; !busy {
			j.inflight[p.Call.ID] = struct{}{}
			todo = append(todo, p)
		}
	}
	return todo, nil
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
	return o.ResumeWhere(ctx, nil)
}

// ResumeWhere is Resume for the pending calls which says yes to (nil:
// all): in a cluster, a node resumes the calls of the partitions it has
// just taken.
func (o *Outbox) ResumeWhere(ctx context.Context, which func(yujing.Call) bool) error {
	j, d := o.j, o.d
	todo, err := j.claimPending(ctx, which)
	if err != nil {
		return fmt.Errorf("notify: outbox: resume: %w", err)
	}
	release := func(ps []store.PendingCall) {
		for _, p := range ps {
			j.release(p.Call.ID)
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
			j.m.resumed.Inc()
			j.log.Info("notify pending call resent", "call_id", c.ID, "channel", c.Channel, "alert_id", c.Alert.ID, "in_doubt", inDoubt)
		case errors.Is(err, ErrUnknownChannel):
			// The channel was removed from the configuration: this call
			// cannot go out as recorded; the others may.
			j.mark(store.CallUpdate{ID: c.ID, Status: store.CallFailed, LastError: err.Error(), At: time.Now()})
			release(todo[i : i+1])
			j.log.Error("notify pending call dropped: channel no longer configured", "call_id", c.ID,
				"channel", c.Channel, "alert_id", c.Alert.ID)
		default:
			release(todo[i:])
			return fmt.Errorf("notify: outbox: resume: %d of %d pending calls not queued: %w", len(todo)-i, len(todo), err)
		}
	}
	if len(todo) > 0 {
		j.log.Info("notify outbox resumed", "pending", len(todo))
	}
	return nil
}

func (j *Journal) mark(u store.CallUpdate) {
	ctx, cancel := context.WithTimeout(context.Background(), j.markTimeout)
	defer cancel()
	if err := j.st.MarkCall(ctx, u); err != nil {
		j.m.storeErrors.WithLabelValues("mark").Inc()
		// A sent call left pending is sent again after a restart: the one
		// duplicate window, widened by this failure.
		j.log.Error("notify call not marked", "call_id", u.ID, "status", u.Status, "err", err)
	}
}
