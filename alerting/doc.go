// Package alerting turns readings into warnings. It evaluates four-tier
// threshold rules in memory on every reading (and scheduled rules on
// windowed aggregates), keeps one condition per (rule, sensor), and
// decides each alert's changes — raised, reopened, upgraded, downgraded,
// resolved, overdue — which it has the alert lifecycle (package
// alerting/lifecycle) save; the lifecycle then tells call-and-answer
// (package alerting/escalate), which makes the calls. The engine makes no
// call itself.
//
// The Engine is split by concern, one file each:
//
//   - engine.go: the Engine, its collaborators and locks, New, Restore, Run;
//   - rule.go: a rule's definition and its threshold tiers;
//   - ruleset.go: the rules in force: binding rules to sensors, reload
//     (SetRules), rule health;
//   - evaluate.go: conditions and their evaluation on readings, derived
//     values, faults and time (Observe, ObserveDerived, ObserveFault, Tick),
//     and a condition's level change as an alert change, saved by the
//     lifecycle (apply, transition): a reading's path through the engine;
//   - composite.go: composite rules (K of N conditions at a site);
//   - overdue.go: supervision of alerts not closed in time (督办);
//   - message.go: what the engine knows of a change for its note
//     (Alert.Message), which package message writes;
//   - schedule.go, scheduledrule.go: rules on windowed aggregates, on cron
//     schedules.
//
// Silences, inhibition and operators' actions belong to the lifecycle;
// routes, escalation policies and the daily summaries to call-and-answer.
package alerting
