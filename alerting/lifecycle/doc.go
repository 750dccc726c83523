// Package lifecycle keeps the open alerts and carries each through its
// lifecycle — firing → acknowledged → disposing → resolved → closed — with
// every change saved in the state database before anything is said about
// it, and then handed, in order, to OnChange: the console's live stream and
// call-and-answer (package escalate), which makes the calls.
//
// It owns what applies to an alert whatever raised it:
//
//   - lifecycle.go: the open alerts, Apply (a change the rule engine
//     decides: raise, upgrade, downgrade, resolve, overdue), Restore after a
//     restart, and the change fan-out;
//   - actions.go: operators' actions (acknowledge, dispose, close) and
//     reading alerts with their history;
//   - suppress.go: silences and inhibition, which hold back an alert's
//     calls, never its record: every change carries Alert.Silenced and
//     Alert.Inhibited as they stood when it was saved.
//
// The rule engine (package alerting) is built after it and drives it; call
// and answer is built after it too, and acknowledges through it when an
// answer comes.
package lifecycle
