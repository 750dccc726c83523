package escalate

import (
	"context"
	"fmt"
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
	return e.recoverCalls(ctx, window, e.owned)
}

// recoverCalls is RecoverCalls for the warnings of the sites which names.
func (e *Engine) recoverCalls(ctx context.Context, window time.Duration, which func(site string) bool) (int, error) {
	e.mu.Lock()
	routes := e.set.Routes
	e.mu.Unlock()
	now := e.now()
	var calls []yujing.Call
	for _, a := range e.alerts.Open() {
		if now.Sub(a.UpdatedAt) > window || !which(a.Site) {
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
