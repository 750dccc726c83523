// Package alerting turns readings into warnings. It evaluates four-tier
// threshold rules in memory on every reading, keeps one alert per (rule,
// sensor) episode, carries it through its lifecycle (firing → acknowledged →
// disposing → resolved → closed) with every transition saved before anything
// is said about it, and hands calls to a Caller for delivery.
package alerting
