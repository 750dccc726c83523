// Package parity holds no code: its tests hold the reading stores to the same
// answers. The same readings go to the embedded store (store/sqlite) and to a
// real InfluxDB 1.8 (store/influx), and every query the stores answer must
// agree between the two and with a reference computed in Go: each windowed
// aggregate of one sensor (Aggregate) and of many in one query
// (AggregateBySensor, what scheduled rules ask), and the readings of a
// window (Query, what the console's charts ask).
package parity
