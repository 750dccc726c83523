// Package influx stores readings in InfluxDB and queries them back.
//
// Writes go through the v2 write API of
// github.com/influxdata/influxdb-client-go/v2: InfluxDB 2.x and 3.x, and
// InfluxDB 1.8+ through its v2 compatibility API (bucket
// "database/retention-policy", empty org, token "user:password" or empty).
// Queries are InfluxQL through the v1 endpoint POST /query, which InfluxDB
// 1.8, 2.x (a DBRP mapping: 2.1 and later map each bucket by itself) and
// 3.x all serve — Flux is in maintenance and InfluxDB 3 has none. The
// bucket names the database and retention policy, the token goes in an
// "Authorization: Token" header. Scheduled rules ask for one aggregate of
// many sensors at once (AggregateBySensor: one request per rule and window,
// grouped by sensor); the console's charts for one sensor's readings
// (Query).
//
// Schema: one point per reading. The measurement is the reading's family
// ("reading" when it has none), tags are site, sensor, unit, region and
// industry (each only when non-empty; written sorted by key, as InfluxDB
// keys its series), the one float field is named after the metric, and the
// timestamp keeps nanoseconds. Writing the same reading twice overwrites it,
// so a failed batch can be retried whole.
//
// Write tells a failure that may pass (Retryable: the server down, slow or
// failing) from a refusal for good: a request answered 400, 413 or 422 (a
// limit such as InfluxDB 1.8's max-values-per-tag reached, a field type
// conflict) or invalid readings. It goes on past refusals and returns a
// *RefusedError whose Refusals hold the readings that may be missing and a
// reason fit for a metric label; InfluxDB 1.8 does not say which points of
// a partial write it dropped, so a refusal holds its whole request.
// Writer.Limits reads InfluxDB 1.8's limits (SHOW DIAGNOSTICS), and
// DemandOf what a set of sensors needs of them.
package influx
