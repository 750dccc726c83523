package escalate_test

import (
	"context"
	"testing"
	"time"

	"yujing"
	"yujing/alerting/escalate"
	"yujing/alerting/lifecycle"
	"yujing/store"
)

// withPolicy returns the test policies with p added.
func withPolicy(p escalate.Policy) escalate.Settings {
	set := policies()
	set.Policies = append(set.Policies, p)
	return set
}

// yellowPolicy calls li by SMS.
var yellowPolicy = escalate.Policy{Name: "yellow", Levels: []yujing.Level{yujing.Yellow},
	Steps: []escalate.Step{{Targets: []escalate.Target{{Person: "li"}}, Ladder: []string{"sms"}, Deadline: 5 * time.Minute}}}

// escalationsOf returns the escalations of the (only) alert.
func (w *world) escalationsOf() (yujing.Alert, []store.Escalation) {
	w.t.Helper()
	a, es, _ := w.alert()
	return a, es
}

// quiet checks that the engine, stepped through the next hour, makes no
// call beyond the n on record: the outbox records a call before Call
// returns, so the record is complete when Step returns.
func (w *world) quiet(t *testing.T, n int) {
	t.Helper()
	for range 12 {
		w.at(5 * time.Minute)
	}
	if _, _, cs := w.alert(); len(cs) != n {
		var got []string
		for _, c := range cs {
			got = append(got, c.Person+"@"+c.Channel+":"+c.ID)
		}
		t.Errorf("%d calls on record, want %d: %v", len(cs), n, got)
	}
}

// An unanswered red escalation keeps running while its warning falls
// through orange, yellow and blue and rises to yellow again (issue 14
// item 2: it was stopped as "superseded: upgraded to yellow", and with no
// yellow policy the chain just ended): step 2 is called at its deadline
// and the top is recorded. With a yellow policy the running red chain
// covers the yellow upgrade, so no yellow chain starts — not even after a
// restart once the red chain has reached the top.
func TestUnansweredChainOutlivesLowerLevels(t *testing.T) {
	for _, c := range []struct {
		name string
		set  escalate.Settings
	}{
		{"no yellow policy", policies()},
		{"a yellow policy", withPolicy(yellowPolicy)},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorldWith(t, c.set)
			w.reading(60)
			w.at(0)
			w.rcv.calls(t, 2)
			for _, v := range []float64{30, 22, 15, 22} { // orange, yellow, blue, yellow again
				w.clock.add(10 * time.Second)
				w.reading(v)
				w.at(0)
			}
			a, es := w.escalationsOf()
			if a.Level != yujing.Yellow || a.State != yujing.StateFiring {
				t.Fatalf("alert %s %s, want a firing yellow", a.Level, a.State)
			}
			if len(es) != 1 || es[0].Policy != "red" || es[0].State != store.EscalationActive || es[0].Reason != "" {
				t.Fatalf("escalations %+v, want the red one still active and no other", es)
			}
			w.at(5*time.Minute - 40*time.Second) // t0+5m: step 1's deadline
			got := w.rcv.calls(t, 3)
			if p := got[2]; p.Person != "chen" || p.Message != "/voice" || p.Step != 2 {
				t.Fatalf("after step 1's deadline: %v, want chen@voice at step 2", ids(got[2:]))
			}
			w.at(5 * time.Minute) // t0+10m: step 2's deadline, the top
			_, es = w.escalationsOf()
			if len(es) != 1 || es[0].State != store.EscalationExhausted || es[0].Reason != store.ReasonTopReached ||
				es[0].TopReachedAt == nil || !es[0].TopReachedAt.Equal(t0.Add(10*time.Minute)) {
				t.Fatalf("escalations %+v, want the red one exhausted (top reached) at %v", es, t0.Add(10*time.Minute))
			}
			w.restart()
			w.quiet(t, 3)
			if _, es = w.escalationsOf(); len(es) != 1 {
				t.Errorf("after a restart: escalations %+v, want only the red one", es)
			}
		})
	}
}

// A warning back at the level of its running escalation, or anywhere
// below it, starts nothing: red → yellow → red keeps the first red chain,
// whose step 2 comes at the first chain's deadline.
func TestUpgradeBackToRunningLevelKeepsChain(t *testing.T) {
	w := newWorldWith(t, withPolicy(yellowPolicy))
	w.reading(60)
	w.at(0)
	w.rcv.calls(t, 2)
	for _, v := range []float64{22, 60} { // down to yellow, back to red
		w.clock.add(10 * time.Second)
		w.reading(v)
		w.at(0)
	}
	_, es := w.escalationsOf()
	if len(es) != 1 || es[0].State != store.EscalationActive || es[0].Step != 1 {
		t.Fatalf("escalations %+v, want the first red one at step 1 and no other", es)
	}
	w.at(5*time.Minute - 20*time.Second)
	got := w.rcv.calls(t, 3)
	if p := got[2]; p.Person != "chen" || p.Step != 2 {
		t.Fatalf("at t0+5m: %v, want chen at step 2", ids(got[2:]))
	}
	w.quiet(t, 3)
}

// An upgrade to a level without a policy supersedes nothing: the running
// lower chain is the only one calling, so it goes on.
func TestUpgradeWithoutPolicyKeepsLowerChain(t *testing.T) {
	set := policies()
	set.Policies = set.Policies[1:] // orange only
	w := newWorldWith(t, set)
	w.reading(30)
	w.at(0)
	w.rcv.calls(t, 1)
	w.clock.add(10 * time.Second)
	w.reading(60)
	w.at(0)
	a, es := w.escalationsOf()
	if a.Level != yujing.Red || len(es) != 1 || es[0].Policy != "orange" || es[0].State != store.EscalationActive {
		t.Fatalf("alert %s, escalations %+v: want the orange one still active", a.Level, es)
	}
	w.at(50 * time.Second) // orange's ladder: SMS a minute after IM
	if got := w.rcv.calls(t, 2); got[1].Person != "zhang" || got[1].Message != "/sms" {
		t.Errorf("orange's ladder after the upgrade: %v", ids(got))
	}
}

// The end of a chain by resolve, reopen and close, with and without
// continue_after_resolve; each record says why.
func TestResolveReopenClose(t *testing.T) {
	for _, c := range []struct {
		name      string
		continues bool
		reopenAt  float64 // the reading that reopens the warning
		// after the reopen: the escalations' policies and states
		want []string
		// calls by t0+5m (step 1 of each chain, and step 2 of a running one)
		calls int
	}{
		{"stops when resolved; reopen starts anew", false, 60,
			[]string{"red " + store.EscalationStopped + " " + store.ReasonResolved, "red " + store.EscalationActive + " "}, 4},
		{"continues after resolve; reopen at red keeps it", true, 60,
			[]string{"red " + store.EscalationActive + " "}, 3},
		{"continues after resolve; reopen at orange keeps it", true, 30,
			[]string{"red " + store.EscalationActive + " "}, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			set := policies()
			set.Policies[0].ContinueAfterResolve = c.continues
			w := newWorldWith(t, set)
			w.reading(60)
			w.at(0)
			w.rcv.calls(t, 2)
			w.clock.add(10 * time.Second)
			w.reading(1)
			w.at(0)
			w.clock.add(10 * time.Second)
			w.reading(c.reopenAt)
			w.at(0)
			_, es := w.escalationsOf()
			var got []string
			for _, e := range es {
				got = append(got, e.Policy+" "+e.State+" "+e.Reason)
			}
			if len(got) != len(c.want) || !equal(got, c.want) {
				t.Fatalf("escalations after resolve and reopen: %q, want %q", got, c.want)
			}
			w.at(5*time.Minute - 20*time.Second) // t0+5m
			if n := len(w.rcv.calls(t, c.calls)); n != c.calls {
				t.Errorf("%d calls by t0+5m, want %d", n, c.calls)
			}
			// Resolve again and close: the chain still running stops as closed.
			w.clock.add(10 * time.Second)
			w.reading(1)
			w.at(0)
			a, _ := w.escalationsOf()
			if _, err := w.alerts.Close(context.Background(), a.ID, lifecycle.Action{By: "op1", Reason: yujing.ReasonFalseAlarm, Note: "核查"}); err != nil {
				t.Fatal(err)
			}
			w.at(0)
			_, es = w.escalationsOf()
			last := es[len(es)-1]
			wantState, wantReason := store.EscalationStopped, store.ReasonResolved
			if c.continues {
				wantReason = store.ReasonClosed
			}
			if last.State != wantState || last.Reason != wantReason {
				t.Errorf("last escalation after resolve and close: %s %q, want %s %q", last.State, last.Reason, wantState, wantReason)
			}
		})
	}
}

func equal(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// A chain covers a rise only while it runs: when the warning rises to
// yellow after the red chain's top was due (though the engine had not yet
// stepped to record it), the yellow policy runs — as it would after a
// restart, which sees the top recorded before the rise.
func TestChainPastItsTopCoversNothing(t *testing.T) {
	w := newWorldWith(t, withPolicy(yellowPolicy))
	w.reading(60)
	w.at(0)
	w.rcv.calls(t, 2)
	w.clock.add(11 * time.Minute) // the red chain's top was due at t0+10m
	w.reading(15)                 // down to blue
	w.reading(22)                 // up to yellow
	w.at(0)
	_, es := w.escalationsOf()
	var got []string
	for _, e := range es {
		got = append(got, e.Policy+" "+e.State+" "+e.Reason)
	}
	want := []string{"red " + store.EscalationExhausted + " " + store.ReasonTopReached, "yellow " + store.EscalationActive + " "}
	if !equal(got, want) {
		t.Fatalf("escalations %q, want %q", got, want)
	}
}
