package notify

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"yujing"
)

// InDoubt describes a call that may have reached its provider already: a
// previous run began sending it (the outbox's sending mark, on disk before
// the request) and stopped before it learnt how the send ended. Its
// attempts were made between From and To.
type InDoubt struct {
	From, To time.Time
}

// SendState is what a provider says about a call in doubt.
type SendState int

// Send states.
const (
	// SendUnknown: the provider cannot tell (yet; see SendStatus.AskAgainIn).
	SendUnknown SendState = iota
	// SendAccepted: the provider has the call; it is not sent again.
	SendAccepted
	// SendNotFound: the provider has no record of it; it is sent.
	SendNotFound
)

// SendStatus is a provider's answer about a call in doubt.
type SendStatus struct {
	State SendState
	// ProviderID is the provider's id for an accepted call, when its answer
	// names it (Tencent's SerialNo); "" otherwise.
	ProviderID string
	// AskAgainIn, with SendUnknown, is when asking again may tell: the
	// provider's records lag behind its sends. 0: it will not tell; the call
	// is sent again.
	AskAgainIn time.Duration
}

// StatusQuerier is implemented by a Channel whose provider can be asked
// whether a send happened (Alibaba Cloud SMS: QuerySendDetails by OutId;
// Tencent Cloud SMS: PullSmsSendStatusByPhoneNumber by SessionContext).
// After a restart, the Dispatcher asks it about every call in doubt (see
// CallInDoubt) before sending it again, and sends it again only when the
// provider has no record of it or cannot tell. It must honour ctx (the
// Dispatcher gives it SendTimeout) and classify its errors as Send does:
// a retryable error is asked again with backoff, a permanent one (the
// query is refused: no permission) makes the call go out again.
type StatusQuerier interface {
	SendStatus(ctx context.Context, c yujing.Call, doubt InDoubt) (SendStatus, error)
}

// Deduplicator is implemented by a Channel whose receiver drops a
// repeated delivery of the same call by a key sent with it (the webhook's
// Idempotency-Key, the call id, the same on every try). Deduplicates
// reports whether this channel's receiver is held to that. A call in doubt
// through it is sent again as it was, and counted as resent_same_key.
type Deduplicator interface {
	Deduplicates() bool
}

// Outcomes of a call in doubt, the values of the outcome label of
// yujing_notify_in_doubt_total.
const (
	InDoubtConfirmed     = "confirmed"       // the provider had it: marked sent, not sent again
	InDoubtNotFound      = "not_found"       // the provider had no record of it: sent
	InDoubtResentSameKey = "resent_same_key" // sent again with the same key, which the receiver drops
	InDoubtResent        = "resent"          // sent again without a way to tell: the person may get it twice
)

// InDoubtOutcomes lists every outcome of a call in doubt.
var InDoubtOutcomes = [...]string{InDoubtConfirmed, InDoubtNotFound, InDoubtResentSameKey, InDoubtResent}

// CallInDoubt is Call for a call that a previous run may have sent (see
// InDoubt; the Outbox's Resume hands such calls on with it). Through a
// channel that is a StatusQuerier, the call is queued on its own and the
// provider is asked first: a call the provider has is marked sent without
// being sent again (OnResult with a nil error); one it has no record of
// is sent. Through any other channel the call is sent again at once, as
// Call would, and counted in yujing_notify_in_doubt_total — as
// resent_same_key when the channel is a Deduplicator, else as resent: the
// person may get that call twice.
func (d *Dispatcher) CallInDoubt(ctx context.Context, c yujing.Call, doubt InDoubt) error {
	return d.call(ctx, c, &doubt)
}

// resentInDoubt counts and logs a call in doubt through a channel that
// cannot be asked, which goes out again.
func (d *Dispatcher) resentInDoubt(l *lane, c yujing.Call) {
	if dd, ok := l.ch.(Deduplicator); ok && dd.Deduplicates() {
		d.m.inDoubt.WithLabelValues(l.name, InDoubtResentSameKey).Inc()
		d.log.Info("notify call in doubt sent again with the same key", "call_id", c.ID, "channel", l.name,
			"alert_id", c.Alert.ID, "person", c.Person.ID)
		return
	}
	d.m.inDoubt.WithLabelValues(l.name, InDoubtResent).Inc()
	d.log.Warn("notify call in doubt sent again: it may reach the person twice", "call_id", c.ID, "channel", l.name,
		"alert_id", c.Alert.ID, "person", c.Person.ID, "reason", "the channel cannot be asked whether it was sent")
}

// settle asks the provider about dv, a call in doubt, for the queries-th
// time. It returns done once the delivery has ended (the provider has the
// call, the provider could not be reached, shutdown); otherwise, with
// dv.doubt cleared, the call is to be sent now, or, with dv.doubt still
// set, asked about again after wait.
func (d *Dispatcher) settle(ctx context.Context, l *lane, dv *delivery, queries int) (wait time.Duration, done bool, err error) {
	c := dv.call
	q := l.ch.(StatusQuerier)
	qctx, cancel := context.WithTimeout(ctx, d.opts.SendTimeout)
	st, err := q.SendStatus(qctx, c, *dv.doubt)
	cancel()
	err = RedactError(err)
	attrs := []any{"call_id", c.ID, "channel", l.name, "alert_id", c.Alert.ID, "person", c.Person.ID}
	resend := func(why string, err error) {
		d.m.inDoubt.WithLabelValues(l.name, InDoubtResent).Inc()
		a := append(attrs, "reason", why)
		if err != nil {
			a = append(a, "err", err)
		}
		d.log.Warn("notify call in doubt sent again: it may reach the person twice", a...)
		dv.doubt = nil
	}
	switch {
	case ctx.Err() != nil:
		d.finish(*dv, shutdownErr(err), 0, leftPending, "")
		return 0, true, err
	case err != nil && Retryable(err) && queries < d.opts.MaxAttempts:
		wait = d.backoff(queries, err)
		lvl := slog.LevelDebug
		if queries == 1 {
			lvl = slog.LevelWarn
		}
		d.log.Log(ctx, lvl, "notify send status query failed", append(attrs, "attempt", queries,
			"reason", FailureReason(err), "retry_in", wait, "err", err)...)
		return wait, false, err
	case err != nil && Retryable(err):
		// The provider cannot be reached: the call fails as a send to it
		// would, and the ladder's next channel takes over.
		err = fmt.Errorf("asking whether call %s was sent: %w", c.ID, err)
		d.log.Error("notify call failed", append(attrs, "attempts", 0, "queries", queries,
			"reason", FailureReason(err), "retryable", true, "err", err)...)
		d.finish(*dv, err, 0, notLeft, "")
		return 0, true, err
	case err != nil:
		resend("the provider refuses to be asked", err)
	case st.State == SendAccepted:
		d.m.inDoubt.WithLabelValues(l.name, InDoubtConfirmed).Inc()
		d.log.Info("notify call in doubt confirmed sent by the provider", append(attrs, "provider_id", st.ProviderID)...)
		d.finish(*dv, nil, 0, notLeft, st.ProviderID)
		return 0, true, nil
	case st.State == SendNotFound:
		d.m.inDoubt.WithLabelValues(l.name, InDoubtNotFound).Inc()
		d.log.Info("notify call in doubt not found at the provider: sending it", attrs...)
		dv.doubt = nil
	case st.AskAgainIn > 0 && queries < d.opts.MaxAttempts:
		d.log.Debug("notify call in doubt: the provider cannot tell yet", append(attrs, "ask_again_in", st.AskAgainIn)...)
		return st.AskAgainIn, false, nil
	default:
		resend("the provider cannot tell", nil)
	}
	return 0, false, nil
}
