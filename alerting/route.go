package alerting

import (
	"context"
	"fmt"
	"slices"
	"time"

	"yujing"
)

// Route says who is called, through which channels, for which levels and
// events. It is the skeleton of call-and-answer: every matching route calls
// every person on every channel it names.
type Route struct {
	Levels   []yujing.Level // empty means every level
	Events   []yujing.Event // empty means raised, reopened and upgraded
	People   []yujing.Person
	Channels []string // each person is called on every one of these
	// Ladder: each person is called on the first; if that channel fails for
	// good, on the next, and so on (e.g. dingtalk, sms, voice).
	Ladder []string
}

// DefaultRouteEvents are the events that call people unless a route says
// otherwise. A downgrade never restarts calls.
var DefaultRouteEvents = []yujing.Event{yujing.EventRaised, yujing.EventReopened, yujing.EventUpgraded}

func (r *Route) matches(l yujing.Level, ev yujing.Event) bool {
	if len(r.Levels) > 0 && !slices.Contains(r.Levels, l) {
		return false
	}
	evs := r.Events
	if len(evs) == 0 {
		evs = DefaultRouteEvents
	}
	return slices.Contains(evs, ev)
}

// callsFor appends the calls that transition t of alert a makes through
// the routes, unless a silence or an inhibition holds them back (amu held).
func (e *Engine) callsFor(a *yujing.Alert, t *yujing.Transition, calls []yujing.Call) []yujing.Call {
	if id, ok := e.silenced(a, t.At); ok {
		e.m.suppressed.WithLabelValues("silence").Inc()
		e.log.Info("calls suppressed by a silence", "alert_id", a.ID, "event", t.Event, "silence_id", id)
		return calls
	}
	if src, ok := e.inhibited(a); ok {
		e.m.suppressed.WithLabelValues("inhibit").Inc()
		e.log.Info("calls suppressed by inhibition", "alert_id", a.ID, "event", t.Event, "by_alert", src)
		return calls
	}
	// A call's id says what it is — <instance>-<alert>-<transition>-
	// <person>-<channel>, e.g. k7f3q2mzab-12-34-zhang-sms — so the same
	// call made again (RecoverCalls) has the same id.
	for _, r := range e.routes {
		if !r.matches(a.Level, t.Event) {
			continue
		}
		for _, p := range r.People {
			for _, ch := range r.Channels {
				calls = append(calls, yujing.Call{
					ID:    e.ids.Route(a.ID, t.ID, p.ID, ch),
					Alert: *a, Event: t.Event, Person: p, Channel: ch, Created: t.At,
				})
			}
			if len(r.Ladder) > 0 {
				calls = append(calls, yujing.Call{
					ID:    e.ids.Route(a.ID, t.ID, p.ID, r.Ladder[0]),
					Alert: *a, Event: t.Event, Person: p, Channel: r.Ladder[0], Created: t.At, Fallback: r.Ladder[1:],
				})
			}
		}
	}
	return calls
}

// RecoverCalls makes again the calls of each open alert's latest change,
// when that change is at most window old: a crash between saving a change
// and recording its calls in the outbox would otherwise lose them. Every
// call's id is derived from the alert, the change, the person and the
// channel, and the outbox records a call once by its id, so a call made
// before the crash is not made again; only a missing one is. Call it once
// after Restore, with the outbox ready. It returns how many calls it handed
// on (the outbox drops those it already has).
func (e *Engine) RecoverCalls(ctx context.Context, window time.Duration) (int, error) {
	as, err := e.st.OpenAlerts(ctx)
	if err != nil {
		return 0, fmt.Errorf("alerting: recover calls: %w", err)
	}
	now := e.now()
	var calls []yujing.Call
	for i := range as {
		a := as[i]
		if now.Sub(a.UpdatedAt) > window {
			continue
		}
		_, hist, err := e.st.Alert(ctx, a.ID)
		if err != nil {
			return 0, fmt.Errorf("alerting: recover calls of alert %d: %w", a.ID, err)
		}
		if len(hist) == 0 {
			continue
		}
		t := hist[len(hist)-1]
		if now.Sub(t.At) > window {
			continue
		}
		e.mu.RLock()
		e.amu.Lock()
		calls = e.callsFor(&a, &t, calls)
		e.amu.Unlock()
		e.mu.RUnlock()
	}
	e.dispatch(ctx, calls)
	return len(calls), nil
}

func (e *Engine) dispatch(ctx context.Context, calls []yujing.Call) {
	for _, c := range calls {
		if err := e.caller.Call(ctx, c); err != nil {
			e.m.callErrors.Inc()
			e.log.Error("call not queued", "call_id", c.ID, "alert_id", c.Alert.ID, "channel", c.Channel, "err", err)
		}
	}
}
