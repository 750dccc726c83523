// Package influx stores readings in InfluxDB through the v2 API of
// github.com/influxdata/influxdb-client-go/v2: InfluxDB 2.x, and InfluxDB
// 1.8+ through its v2 compatibility API (bucket "database/retention-policy",
// empty org, token "user:password" or empty; the server needs
// flux-enabled = true in its [http] section for queries).
//
// Schema: one point per reading. The measurement is the reading's family
// ("reading" when it has none), tags are site, sensor, unit, region and
// industry (each only when non-empty; written sorted by key, as InfluxDB
// keys its series), the one float field is named after the metric, and the
// timestamp keeps nanoseconds. Writing the same reading twice overwrites it,
// so a failed batch can be retried whole.
package influx
