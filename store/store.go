// Package store holds what the reading stores and state databases have in
// common: query filters and errors. Implementations live in sub-packages:
// readings in store/sqlite (embedded, the default) and store/influx
// (InfluxDB); the state in store/sqlstate (embedded SQLite, the default,
// or PostgreSQL shared by several nodes).
package store

import (
	"errors"
	"time"

	"yujing"
)

// ErrNotFound is returned when a looked-up record does not exist.
var ErrNotFound = errors.New("not found")

// AlertFilter selects alerts. Zero fields do not filter.
type AlertFilter struct {
	States []yujing.State
	Levels []yujing.Level
	Site   string
	Sites  []string // any of these sites (a region's); nil: no filter, empty: none
	Sensor string
	Rule   string
	Family string
	From   time.Time // on started_at, inclusive
	To     time.Time // on started_at, exclusive
	Limit  int
	Offset int
	// Order is the list's order: newest first (the zero value) or
	// OrderSeverity.
	Order AlertOrder
}

// AlertOrder is an order of a list of alerts.
type AlertOrder string

// The orders of a list of alerts.
const (
	// OrderNewest: the newest (highest id) first.
	OrderNewest AlertOrder = ""
	// OrderSeverity is the duty room's order: the highest level first,
	// then the longest waiting (oldest start), then by id.
	OrderSeverity AlertOrder = "severity"
)
