// Package parity holds no code: its tests hold the reading stores to the same
// answers. The same readings go to the embedded store (store/sqlite) and to a
// real InfluxDB 1.8 (store/influx), and every windowed aggregate must agree
// between the two and with a reference computed in Go.
package parity
