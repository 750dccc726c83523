package influx

import (
	"context"
	"fmt"
	"strings"
	"time"

	"yujing/store"
)

// An aggregate is one InfluxQL request over every measurement (a sensor's
// readings are under its family's, and a family may change) with a
// statement per part of the answer, grouped by sensor:
//
//	SELECT sum("rain"::field) FROM /.*/ WHERE "sensor"::tag =~ /^(RG-1|RG-2)$/
//	  AND time >= '…' AND time < '…' GROUP BY "sensor"
//
// A sensor whose readings lie under two measurements in the window has a
// series under each; the parts are chosen so that they merge exactly: sum
// and count add up, max and min compare, mean is the sum of sums over the
// sum of counts, last and first (for rate) are selectors, each alone in its
// statement so that its row carries the reading's time. The time filter is
// half-open, as store.Func says. A sensor without readings in the window
// has no series.

// aggPart is one statement's aggregate.
type aggPart int

const (
	partSum      aggPart = iota // sum(f)
	partCount                   // count(f)
	partSumCount                // sum(f), count(f)
	partMax                     // max(f)
	partMin                     // min(f)
	partFirst                   // first(f), with its time
	partLast                    // last(f), with its time
)

// parts returns the statements fn needs; withCount adds the number of
// readings when fn's own parts lack it.
func parts(fn store.Func, withCount bool) ([]aggPart, bool) {
	var ps []aggPart
	switch fn {
	case store.FuncSum:
		ps = []aggPart{partSum}
	case store.FuncMean:
		return []aggPart{partSumCount}, true
	case store.FuncMax:
		ps = []aggPart{partMax}
	case store.FuncMin:
		ps = []aggPart{partMin}
	case store.FuncCount:
		return []aggPart{partCount}, true
	case store.FuncLast:
		ps = []aggPart{partLast}
	case store.FuncRate:
		ps = []aggPart{partFirst, partLast}
	default:
		return nil, false
	}
	if withCount {
		ps = append(ps, partCount)
	}
	return ps, true
}

// selectOf is the SELECT list of a part for field f.
func selectOf(p aggPart, f string) string {
	switch p {
	case partSum:
		return "sum(" + f + ")"
	case partCount:
		return "count(" + f + ")"
	case partSumCount:
		return "sum(" + f + "), count(" + f + ")"
	case partMax:
		return "max(" + f + ")"
	case partMin:
		return "min(" + f + ")"
	case partFirst:
		return "first(" + f + ")"
	}
	return "last(" + f + ")"
}

// aggregateQL writes the request: one statement per part, sensorCond
// selecting the sensors.
func aggregateQL(ps []aggPart, metric, sensorCond string, from, to time.Time) string {
	var b strings.Builder
	f := qlIdent(metric) + "::field"
	where := " FROM /.*/ WHERE " + sensorCond + " AND time >= " + qlTime(from) + " AND time < " + qlTime(to) + ` GROUP BY "sensor"`
	for i, p := range ps {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString("SELECT " + selectOf(p, f) + where)
	}
	return b.String()
}

// aggAcc gathers one sensor's parts across its series.
type aggAcc struct {
	n                   int64
	sum, v, first, last float64
	firstT, lastT       int64
	hasSum, hasV        bool
	hasFirst, hasLast   bool
}

// add merges one row of part p into a.
func (a *aggAcc) add(p aggPart, row []any) error {
	if len(row) < 2 {
		return fmt.Errorf("row %v: want a time and a value", row)
	}
	t, err := qlTimeOf(row[0])
	if err != nil {
		return err
	}
	x, ok, err := qlFloat(row[1])
	if err != nil || !ok {
		return err
	}
	switch p {
	case partSum:
		a.sum += x
		a.hasSum = true
	case partCount:
		a.n += int64(x)
	case partSumCount:
		if len(row) < 3 {
			return fmt.Errorf("row %v: want a time, a sum and a count", row)
		}
		c, ok, err := qlFloat(row[2])
		if err != nil || !ok {
			return err
		}
		a.sum += x
		a.n += int64(c)
		a.hasSum = true
	case partMax:
		if !a.hasV || x > a.v {
			a.v = x
		}
		a.hasV = true
	case partMin:
		if !a.hasV || x < a.v {
			a.v = x
		}
		a.hasV = true
	case partFirst:
		if !a.hasFirst || t < a.firstT {
			a.first, a.firstT = x, t
		}
		a.hasFirst = true
	case partLast:
		if !a.hasLast || t > a.lastT {
			a.last, a.lastT = x, t
		}
		a.hasLast = true
	}
	return nil
}

// value is fn's value from the parts; ok is false when the window holds
// no data (for rate: not two readings at different times).
func (a *aggAcc) value(fn store.Func) (float64, bool) {
	switch fn {
	case store.FuncSum:
		return a.sum, a.hasSum
	case store.FuncMean:
		if a.n == 0 {
			return 0, false
		}
		return a.sum / float64(a.n), true
	case store.FuncMax, store.FuncMin:
		return a.v, a.hasV
	case store.FuncCount:
		return float64(a.n), a.n > 0
	case store.FuncLast:
		return a.last, a.hasLast
	case store.FuncRate:
		if !a.hasFirst || !a.hasLast {
			return 0, false
		}
		return store.Rate(time.Unix(0, a.firstT), a.first, time.Unix(0, a.lastT), a.last)
	}
	return 0, false
}

// aggregate runs fn's request for the sensors sensorCond selects and
// returns each sensor's parts.
func (w *Writer) aggregate(ctx context.Context, metric string, fn store.Func, from, to time.Time, sensorCond string, withCount bool) (map[string]*aggAcc, error) {
	ps, ok := parts(fn, withCount)
	if !ok {
		return nil, &store.UnknownFuncError{Func: fn}
	}
	accs := map[string]*aggAcc{}
	if !from.Before(to) {
		return accs, nil
	}
	err := w.influxQL(ctx, aggregateQL(ps, metric, sensorCond, from, to), func(stmt int, s *qlSeries) error {
		return addSeries(accs, ps, stmt, s)
	})
	return accs, err
}

// addSeries merges one series of the answer to statement stmt (part
// ps[stmt]) into its sensor's parts.
func addSeries(accs map[string]*aggAcc, ps []aggPart, stmt int, s *qlSeries) error {
	if stmt < 0 || stmt >= len(ps) {
		return fmt.Errorf("an answer to statement %d of %d", stmt, len(ps))
	}
	sensor := s.Tags["sensor"]
	a := accs[sensor]
	if a == nil {
		a = &aggAcc{}
		accs[sensor] = a
	}
	for _, row := range s.Values {
		if err := a.add(ps[stmt], row); err != nil {
			return fmt.Errorf("series %s sensor %q: %w", s.Name, sensor, err)
		}
	}
	return nil
}

// Aggregate returns fn over the values of one metric of one sensor with
// from <= time < to, and n, how many readings the window held. An empty
// window (or one where from is not before to) gives n = 0 and value 0: no
// data, which a rule must not take for a recovery. See store.Func for each
// aggregate; the embedded store (store/sqlite) gives the same answers.
// AggregateBySensor asks for many sensors in one request.
func (w *Writer) Aggregate(ctx context.Context, sensor, metric string, fn store.Func, from, to time.Time) (float64, int, error) {
	accs, err := w.aggregate(ctx, metric, fn, from, to, `"sensor"::tag = `+qlString(sensor), true)
	if err != nil {
		return 0, 0, fmt.Errorf("influx: aggregate %s over bucket %q sensor %q metric %q: %w", fn, w.bucket, sensor, metric, err)
	}
	a := accs[sensor]
	if a == nil || a.n == 0 {
		return 0, 0, nil
	}
	v, ok := a.value(fn)
	if !ok {
		return 0, 0, nil
	}
	return v, int(a.n), nil
}

// AggregateBySensor returns fn over the values of metric with from <= time
// < to for each of sensors, in one request: a sensor is in the answer when
// its window holds data (for FuncRate: two readings at different times),
// with the value Aggregate would give. An empty window (or one where from
// is not before to) leaves the sensor out; a scheduled rule must not take
// that for a recovery. The answer is never nil.
//
// The sensors are selected by one regular expression, an alternation of
// literals (qlOneOf).
func (w *Writer) AggregateBySensor(ctx context.Context, metric string, fn store.Func, from, to time.Time, sensors []string) (map[string]float64, error) {
	out := make(map[string]float64, len(sensors))
	if len(sensors) == 0 {
		if _, ok := parts(fn, false); !ok {
			return nil, fmt.Errorf("influx: aggregate %s: %w", metric, &store.UnknownFuncError{Func: fn})
		}
		return out, nil
	}
	accs, err := w.aggregate(ctx, metric, fn, from, to, `"sensor"::tag =~ `+qlOneOf(sensors), false)
	if err != nil {
		return nil, fmt.Errorf("influx: aggregate %s over bucket %q metric %q of %d sensors: %w", fn, w.bucket, metric, len(sensors), err)
	}
	for sensor, a := range accs {
		if v, ok := a.value(fn); ok {
			out[sensor] = v
		}
	}
	return out, nil
}
