package escalate

import (
	"context"
	"fmt"
	"slices"
	"time"

	"yujing"
)

// Route is a plain notification (configuration "notify:"): a policy of one
// step that expects no answer. For every alert change of its levels and
// events it calls each of its people at once, on every one of its
// channels, and on its ladder; no deadline, no answer link, no escalation
// record. Like every call, a route's are held back while a silence or an
// inhibition holds the alert's calls back.
type Route struct {
	Levels   []yujing.Level // empty means every level
	Events   []yujing.Event // empty means raised, reopened and upgraded (DefaultRouteEvents)
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

// Check reports what is wrong with a route, for configuration errors.
func (r *Route) Check() []string {
	var errs []string
	if len(r.People) == 0 {
		errs = append(errs, "a route needs people")
	}
	if len(r.Channels) == 0 && len(r.Ladder) == 0 {
		errs = append(errs, "a route needs channels or a ladder")
	}
	return errs
}

// notify makes the routes' calls about change t of alert a, unless a
// silence or an inhibition holds them back (a.Silenced, a.Inhibited: the
// lifecycle says so with every change).
func (e *Engine) notify(ctx context.Context, a yujing.Alert, t yujing.Transition) {
	if a.Silenced || a.Inhibited {
		return // the lifecycle logged and counted it
	}
	e.mu.Lock()
	routes := e.set.Routes
	e.mu.Unlock()
	e.dispatch(ctx, e.routeCalls(routes, a, t, nil))
}

// routeCalls appends the calls the routes make for change t of alert a.
// A call's id says what it is — <instance>-<alert>-<transition>-<person>-
// <channel>, e.g. k7f3q2mzab-12-34-zhang-sms (store.CallIDs) — so the same
// call made again (RecoverCalls) has the same id, and the outbox drops it.
func (e *Engine) routeCalls(routes []Route, a yujing.Alert, t yujing.Transition, calls []yujing.Call) []yujing.Call {
	a.Silenced, a.Inhibited = false, false
	for _, r := range routes {
		if !r.matches(a.Level, t.Event) {
			continue
		}
		for _, p := range r.People {
			for _, ch := range r.Channels {
				calls = append(calls, yujing.Call{
					ID:    e.ids.Route(a.ID, t.ID, p.ID, ch),
					Alert: a, Event: t.Event, Person: p, Channel: ch, Created: t.At,
				})
			}
			if len(r.Ladder) > 0 {
				calls = append(calls, yujing.Call{
					ID:    e.ids.Route(a.ID, t.ID, p.ID, r.Ladder[0]),
					Alert: a, Event: t.Event, Person: p, Channel: r.Ladder[0], Created: t.At, Fallback: r.Ladder[1:],
				})
			}
		}
	}
	return calls
}

// dispatch hands calls that expect no answer to notify; one that cannot be
// queued is logged and counted (yujing_alert_call_errors_total).
func (e *Engine) dispatch(ctx context.Context, calls []yujing.Call) {
	for _, c := range calls {
		if err := e.caller.Call(ctx, c); err != nil {
			e.m.callErrors.Inc()
			e.log.Error("call not queued", "call_id", c.ID, "alert_id", c.Alert.ID, "channel", c.Channel, "err", err)
		}
	}
}

// RecoverCalls makes again the routes' calls about each open alert's
// latest change, when that change is at most window old: a crash between
// saving a change and recording its calls in the outbox would otherwise
// lose them. Every call's id is derived from the alert, the change, the
// person and the channel, and the outbox records a call once by its id, so
// a call made before the crash is not made again; only a missing one is.
// A silence or an inhibition holds them back as it would have then. Call
// it once after Restore, with notify ready. It returns how many calls it
// handed on (the outbox drops those it already has).
func (e *Engine) RecoverCalls(ctx context.Context, window time.Duration) (int, error) {
	e.mu.Lock()
	routes := e.set.Routes
	e.mu.Unlock()
	now := e.now()
	var calls []yujing.Call
	for _, a := range e.alerts.Open() {
		if now.Sub(a.UpdatedAt) > window {
			continue
		}
		_, hist, err := e.alerts.Get(ctx, a.ID)
		if err != nil {
			return 0, fmt.Errorf("escalate: recover calls of alert %d: %w", a.ID, err)
		}
		if len(hist) == 0 {
			continue
		}
		t := hist[len(hist)-1]
		if now.Sub(t.At) > window {
			continue
		}
		if e.alerts.DecorateAt(&a, t.At); a.Silenced || a.Inhibited {
			continue
		}
		calls = e.routeCalls(routes, a, t, calls)
	}
	e.dispatch(ctx, calls)
	return len(calls), nil
}
