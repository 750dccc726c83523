package store

import (
	"fmt"
	"time"
)

// Func is an aggregate over the readings of one series (one metric of one
// sensor) in a half-open window [from, to): readings exactly at from count,
// readings exactly at to do not.
//
// Every reading store answers the same question the same way (store/sqlite
// in SQL, store/influx in InfluxQL); store/parity holds them to it.
type Func string

// The aggregates. Each Aggregate call also returns n, the number of readings
// in the window; n = 0 means the window held no data.
const (
	// FuncSum adds the values (rainfall accumulated over the window).
	FuncSum Func = "sum"
	// FuncMean is the arithmetic mean of the values (not time-weighted).
	FuncMean Func = "mean"
	// FuncMax is the largest value.
	FuncMax Func = "max"
	// FuncMin is the smallest value.
	FuncMin Func = "min"
	// FuncLast is the value of the newest reading.
	FuncLast Func = "last"
	// FuncCount is the number of readings. It is the one aggregate defined
	// on an empty window: value 0 with n = 0.
	FuncCount Func = "count"
	// FuncRate is the change per minute between the oldest and the newest
	// reading: (last − first) / (minutes between them). It needs two
	// readings at different times; with fewer it returns n = 0, as for an
	// empty window.
	FuncRate Func = "rate"
)

// Funcs lists every aggregate.
var Funcs = []Func{FuncSum, FuncMean, FuncMax, FuncMin, FuncLast, FuncCount, FuncRate}

// Valid reports whether f is one of Funcs.
func (f Func) Valid() bool {
	for _, g := range Funcs {
		if f == g {
			return true
		}
	}
	return false
}

// RatePer is the time unit of FuncRate: values per minute.
const RatePer = time.Minute

// Rate returns FuncRate's value for the oldest (t0, v0) and newest (t1, v1)
// reading of a window, and false when it is undefined (t1 not after t0).
// Both stores compute the rate with it so that they agree to the last bit.
func Rate(t0 time.Time, v0 float64, t1 time.Time, v1 float64) (float64, bool) {
	d := t1.Sub(t0)
	if d <= 0 {
		return 0, false
	}
	return (v1 - v0) / (float64(d) / float64(RatePer)), true
}

// UnknownFuncError says an aggregate name is not one of Funcs.
type UnknownFuncError struct{ Func Func }

func (e *UnknownFuncError) Error() string {
	return fmt.Sprintf("unknown aggregate %q (want one of %v)", string(e.Func), Funcs)
}
