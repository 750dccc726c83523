package escalate

import (
	"context"

	"yujing"
)

// fallBack calls the same person on the next channel of a call's ladder
// once notify reports that its channel failed for good (a permanent error
// at once; a transient one after the dispatcher's retries): the failed
// call stays on record, the next one joins it in the alert's timeline. Its
// id extends the failed call's — <failed id>">"<channel> — so the outbox
// records it once however often it is made. A call sent, or failed with
// no channel left, ends here.
func (e *Engine) fallBack(ctx context.Context, r yujing.CallResult) {
	failed := r.Call
	if r.Sent || len(failed.Fallback) == 0 {
		return
	}
	next := failed
	next.ID = failed.ID + ">" + failed.Fallback[0]
	next.Channel, next.Fallback = failed.Fallback[0], failed.Fallback[1:]
	e.m.fallbacks.WithLabelValues(failed.Channel, next.Channel).Inc()
	e.log.Warn("falling back to the next channel", "call_id", failed.ID, "from", failed.Channel, "to", next.Channel,
		"alert_id", failed.Alert.ID, "person", failed.Person.ID, "reason", r.Reason)
	if err := e.caller.Call(ctx, next); err != nil {
		e.m.callErrors.Inc()
		e.log.Error("fallback call not queued", "call_id", next.ID, "err", err)
		return
	}
	if next.Escalation != 0 {
		// The calls an escalation's first visit after a restart takes as
		// made (Restore read them) must include this one.
		e.mu.Lock()
		if r := e.active[next.Escalation]; r != nil && r.made != nil {
			r.made.add(next.ID, madeSlot{next.Round, next.Step, next.Person.ID, next.Channel})
		}
		e.mu.Unlock()
	}
}
