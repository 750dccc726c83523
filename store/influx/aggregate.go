package influx

import (
	"context"
	"fmt"
	"time"

	"yujing/store"
)

// aggregateFlux is the Flux script for one aggregate: the window's series
// merged into one table (a sensor's unit may have changed, which makes a
// second series), then one or more named results:
//
//   - "n": the number of readings, for every aggregate;
//   - "v": the aggregate itself, for sum, mean, max, min and last;
//   - "first" and "last": the oldest and newest readings, for rate.
//
// Flux's range() stop is exclusive, but InfluxDB 1.8 includes points at
// exactly stop (influxdata/influxdb#19966); the filter on _time makes the
// window half-open on every server, as in Query.
const aggregateFlux = `data = from(bucket: %[1]s)
  |> range(start: %[2]s, stop: %[3]s)
  |> filter(fn: (r) => r._field == %[4]s and r.sensor == %[5]s and r._time < %[3]s)
  |> keep(columns: ["_time", "_value"])
  |> group()
data |> count() |> yield(name: "n")
%[6]s`

// fluxAggregate returns the part of the script after "n" for fn. The
// selectors sort by time first: after group() the rows of merged series are
// not in time order.
func fluxAggregate(fn store.Func) (string, bool) {
	switch fn {
	case store.FuncSum, store.FuncMean, store.FuncMax, store.FuncMin:
		return `data |> ` + string(fn) + `() |> yield(name: "v")`, true
	case store.FuncLast:
		return `data |> sort(columns: ["_time"]) |> last() |> yield(name: "v")`, true
	case store.FuncCount:
		return ``, true
	case store.FuncRate:
		return `sorted = data |> sort(columns: ["_time"])
sorted |> first() |> yield(name: "first")
sorted |> last() |> yield(name: "last")`, true
	}
	return "", false
}

// Aggregate returns fn over the values of one metric of one sensor with
// from <= time < to, and n, how many readings the window held. An empty
// window (or one where from is not before to) gives n = 0 and value 0: no
// data, which a rule must not take for a recovery. See store.Func for each
// aggregate; the embedded store (store/sqlite) gives the same answers.
func (w *Writer) Aggregate(ctx context.Context, sensor, metric string, fn store.Func, from, to time.Time) (float64, int, error) {
	extra, ok := fluxAggregate(fn)
	if !ok {
		return 0, 0, fmt.Errorf("influx: aggregate %s/%s: %w", sensor, metric, &store.UnknownFuncError{Func: fn})
	}
	if !from.Before(to) {
		return 0, 0, nil
	}
	flux := fmt.Sprintf(aggregateFlux, fluxString(w.bucket), fluxTime(from), fluxTime(to), fluxString(metric), fluxString(sensor), extra)
	fail := func(err error) (float64, int, error) {
		return 0, 0, fmt.Errorf("influx: aggregate %s over bucket %q sensor %q metric %q: %w", fn, w.bucket, sensor, metric, err)
	}
	res, err := w.query.Query(ctx, flux)
	if err != nil {
		return fail(err)
	}
	defer res.Close()
	var (
		n                       int64
		v, first, last          float64
		firstT, lastT           time.Time
		hasV, hasFirst, hasLast bool
	)
	for res.Next() {
		rec := res.Record()
		if rec.Value() == nil { // an aggregate of an empty table
			continue
		}
		x, ok := float(rec.Value())
		if !ok {
			return fail(fmt.Errorf("value %v (%T) is not a number", rec.Value(), rec.Value()))
		}
		switch rec.Result() {
		case "n":
			n += int64(x)
		case "v":
			v, hasV = x, true
		case "first":
			first, firstT, hasFirst = x, rec.Time(), true
		case "last":
			last, lastT, hasLast = x, rec.Time(), true
		}
	}
	if err := res.Err(); err != nil {
		return fail(err)
	}
	if n == 0 {
		return 0, 0, nil
	}
	switch fn {
	case store.FuncCount:
		return float64(n), int(n), nil
	case store.FuncRate:
		if !hasFirst || !hasLast {
			return fail(fmt.Errorf("%d readings but no first or last row", n))
		}
		r, ok := store.Rate(firstT, first, lastT, last)
		if !ok {
			return 0, 0, nil
		}
		return r, int(n), nil
	}
	if !hasV {
		return fail(fmt.Errorf("%d readings but no %s row", n, fn))
	}
	return v, int(n), nil
}
