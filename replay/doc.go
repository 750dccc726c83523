// Package replay runs recorded readings through a configuration's rules,
// offline: no broker, no HTTP, no calls. It is `yujing replay`, the tool
// for tuning thresholds against history.
//
// Read takes a recording (CSV: time,sensor,metric,value; or InfluxDB line
// protocol) and binds each value to its sensor as ingest would (metric
// map, known metric, finite value; one outside the sensor's physical range
// is kept for the fault rules); bad lines are reported as file:line:
// message and skipped. Run feeds the readings to an alerting.Engine on a
// fake clock that follows the readings' times, ticks the engine's
// time-driven checks between them as serve does, runs the scheduled (cron)
// rules over an embedded reading store at their ticks inside the
// recording, and writes every warning event, then a summary per rule and
// level.
package replay
