// Package alerting turns readings into warnings. It evaluates four-tier
// threshold rules in memory on every reading, keeps one alert per (rule,
// sensor) episode, carries it through its lifecycle (firing → acknowledged →
// disposing → resolved → closed) with every transition saved before anything
// is said about it, and hands calls to a Caller for delivery.
//
// The Engine is split by concern, one file each:
//
//   - engine.go: the Engine, its collaborators and locks, New, Restore, Run;
//   - rule.go: a rule's definition and its threshold tiers;
//   - ruleset.go: the rules in force: binding rules to sensors, reload
//     (SetRules), rule health;
//   - evaluate.go: conditions and their evaluation on readings, derived
//     values, faults and time (Observe, ObserveDerived, ObserveFault, Tick);
//   - lifecycle.go: a condition's level change as an alert transition;
//   - composite.go: composite rules (K of N conditions at a site);
//   - overdue.go: supervision of alerts not closed in time (督办);
//   - route.go: the calls a transition makes through the routes, and their
//     recovery after a crash;
//   - suppress.go: silences and inhibition as the engine applies them, over
//     packages silence and inhibit;
//   - actions.go: operators' actions (acknowledge, dispose, close);
//   - message.go: the warning text officials read;
//   - schedule.go, scheduledrule.go: rules on windowed aggregates, on cron
//     schedules;
//   - summary.go: daily summaries.
package alerting
