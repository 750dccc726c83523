// Package alertingtest builds the alerting stages for tests as serve
// builds them, in flow order: the alert lifecycle over a state store,
// call-and-answer reading its changes (when a test wants calls), and the
// rule engine driving it.
package alertingtest

import (
	"context"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/escalate"
	"yujing/alerting/lifecycle"
	"yujing/duty"
	"yujing/internal/mailbox"
	"yujing/store"
)

// Store is what the stages keep their state in (sqlite.State).
type Store interface {
	lifecycle.Store
	escalate.Store
}

// Catalog knows the sensors and sites (ingest.Registry).
type Catalog interface {
	alerting.Catalog
	lifecycle.Catalog
	escalate.Sites
}

// Options say how the stages are built. With Calls set, call-and-answer
// is built with Routes and Escalation and hands its calls to Calls;
// without, nothing calls anyone. Lifecycle's and CallOptions' Now and
// Location default to Engine's; CallOptions.Key to a fixed test key.
type Options struct {
	Engine      alerting.Options
	Lifecycle   lifecycle.Options
	Routes      []escalate.Route
	Escalation  escalate.Settings
	CallOptions escalate.Options
	Directory   escalate.Directory // default: nobody
	Calls       escalate.Caller
}

// Stack is the rule engine on the alert lifecycle, and call-and-answer
// when calls are wanted, restored as serve restores them. Both the engine
// and the lifecycle are embedded: a test feeds readings (Observe) and
// reads and acts on alerts (List, Ack) on the one value.
type Stack struct {
	*alerting.Engine
	*lifecycle.Alerts
	Escalate *escalate.Engine // nil without Options.Calls
}

// New builds and restores the stages on st.
func New(tb testing.TB, rules []*alerting.Rule, st Store, cat Catalog, o Options) *Stack {
	tb.Helper()
	ctx := context.Background()
	if o.Lifecycle.Now == nil {
		o.Lifecycle.Now = o.Engine.Now
	}
	if o.Lifecycle.Location == nil {
		o.Lifecycle.Location = o.Engine.Location
	}
	var changes *mailbox.Box[lifecycle.Change]
	if o.Calls != nil {
		changes = mailbox.New[lifecycle.Change]()
		tell := o.Lifecycle.OnChange
		o.Lifecycle.OnChange = func(c lifecycle.Change) {
			if tell != nil {
				tell(c)
			}
			changes.Put(c)
		}
	}
	s := &Stack{}
	var err error
	if s.Alerts, err = lifecycle.New(st, cat, o.Lifecycle); err != nil {
		tb.Fatal(err)
	}
	if err := s.Alerts.Restore(ctx); err != nil {
		tb.Fatal(err)
	}
	if o.Calls != nil {
		if o.Directory == nil {
			dir, err := duty.New(duty.Spec{})
			if err != nil {
				tb.Fatal(err)
			}
			o.Directory = dir
		}
		eo := o.CallOptions
		if eo.Now == nil {
			eo.Now = o.Engine.Now
		}
		if eo.Location == nil {
			eo.Location = o.Engine.Location
		}
		if eo.Key == nil {
			eo.Key = []byte("0123456789abcdef0123456789abcdef")
		}
		set := o.Escalation
		set.Routes = append(set.Routes, o.Routes...)
		s.Escalate, err = escalate.New(set,
			escalate.Parts{Store: st, Alerts: s.Alerts, Changes: changes, Calls: o.Calls, Directory: o.Directory, Sites: cat}, eo)
		if err != nil {
			tb.Fatal(err)
		}
		if err := s.Escalate.Restore(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	if s.Engine, err = alerting.New(rules, s.Alerts, cat, o.Engine); err != nil {
		tb.Fatal(err)
	}
	if err := s.Engine.Restore(ctx); err != nil {
		tb.Fatal(err)
	}
	return s
}

// Observe is the engine's Observe, then Step: the calls of the changes
// the readings brought are made before it returns.
func (s *Stack) Observe(ctx context.Context, rs []yujing.Reading) {
	s.Engine.Observe(ctx, rs)
	s.Step(ctx)
}

// Tick is the engine's Tick, then Step.
func (s *Stack) Tick(ctx context.Context, now time.Time) {
	s.Engine.Tick(ctx, now)
	s.Step(ctx)
}

// Step has call-and-answer handle the changes saved so far and make every
// call due now (escalate.Engine.Step); without calls it does nothing.
func (s *Stack) Step(ctx context.Context) {
	if s.Escalate != nil {
		s.Escalate.Step(ctx)
	}
}

// List is the lifecycle's (the engine's List reads the same).
func (s *Stack) List(ctx context.Context, f store.AlertFilter) ([]yujing.Alert, error) {
	return s.Alerts.List(ctx, f)
}
