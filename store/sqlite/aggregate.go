package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"yujing/store"
)

// aggregateWhere selects one series' window along the primary key.
const aggregateWhere = ` FROM readings WHERE sensor = ?1 AND metric = ?2 AND ts >= ?3 AND ts < ?4`

// aggregateQuery returns the query of fn: the aggregate and the number of
// readings, in one range scan along the primary key; last and rate add one
// index seek for the newest (and the oldest) reading.
func aggregateQuery(fn store.Func) (string, bool) {
	const first, last = ` ORDER BY ts LIMIT 1)`, ` ORDER BY ts DESC LIMIT 1)`
	switch fn {
	case store.FuncSum:
		return `SELECT COUNT(*), SUM(value)` + aggregateWhere, true
	case store.FuncMean:
		return `SELECT COUNT(*), AVG(value)` + aggregateWhere, true
	case store.FuncMax:
		return `SELECT COUNT(*), MAX(value)` + aggregateWhere, true
	case store.FuncMin:
		return `SELECT COUNT(*), MIN(value)` + aggregateWhere, true
	case store.FuncCount:
		return `SELECT COUNT(*), NULL` + aggregateWhere, true
	case store.FuncLast:
		return `SELECT COUNT(*), (SELECT value` + aggregateWhere + last + aggregateWhere, true
	case store.FuncRate:
		return `SELECT COUNT(*), (SELECT ts` + aggregateWhere + first + `, (SELECT value` + aggregateWhere + first +
			`, (SELECT ts` + aggregateWhere + last + `, (SELECT value` + aggregateWhere + last + aggregateWhere, true
	}
	return "", false
}

// Aggregate returns fn over the readings of one series with from <= time <
// to, and n, how many readings the window held. An empty window (or one
// where from is not before to) gives n = 0 and value 0: no data, which a
// rule must not take for a recovery. See store.Func for each aggregate.
func (r *Readings) Aggregate(ctx context.Context, sensor, metric string, fn store.Func, from, to time.Time) (float64, int, error) {
	query, ok := aggregateQuery(fn)
	if !ok {
		return 0, 0, fmt.Errorf("readings %s: aggregate %s/%s: %w", r.db.path, sensor, metric, &store.UnknownFuncError{Func: fn})
	}
	if !from.Before(to) {
		return 0, 0, nil
	}
	fail := func(err error) (float64, int, error) {
		return 0, 0, fmt.Errorf("readings %s: aggregate %s over %s/%s: %w", r.db.path, fn, sensor, metric, err)
	}
	row := r.db.r.QueryRowContext(ctx, query, sensor, metric, boundNanos(from), boundNanos(to))
	var n int
	if fn == store.FuncRate {
		var t0, t1 sql.NullInt64
		var v0, v1 sql.NullFloat64
		if err := row.Scan(&n, &t0, &v0, &t1, &v1); err != nil {
			return fail(err)
		}
		v, ok := store.Rate(time.Unix(0, t0.Int64), v0.Float64, time.Unix(0, t1.Int64), v1.Float64)
		if n == 0 || !ok {
			return 0, 0, nil
		}
		return v, n, nil
	}
	var v sql.NullFloat64
	if err := row.Scan(&n, &v); err != nil {
		return fail(err)
	}
	switch {
	case n == 0:
		return 0, 0, nil
	case fn == store.FuncCount:
		return float64(n), n, nil
	}
	return v.Float64, n, nil
}

// bySensorWhere selects, in a subquery, the window of the series of the
// sensor on the current row of json_each(?1).
const bySensorWhere = ` FROM readings WHERE sensor = j.value AND metric = ?2 AND ts >= ?3 AND ts < ?4`

// bySensorQuery returns the query of fn for many sensors at once: one row
// per sensor of the JSON array ?1, each computed by subqueries that walk
// that sensor's window along the primary key, as aggregateQuery does for
// one. A NULL (a COUNT of 0) is a window without data.
func bySensorQuery(fn store.Func) (string, bool) {
	sub := func(expr, tail string) string { return `(SELECT ` + expr + bySensorWhere + tail + `)` }
	const first, last = ` ORDER BY ts LIMIT 1`, ` ORDER BY ts DESC LIMIT 1`
	var cols string
	switch fn {
	case store.FuncSum:
		cols = sub("SUM(value)", "")
	case store.FuncMean:
		cols = sub("AVG(value)", "")
	case store.FuncMax:
		cols = sub("MAX(value)", "")
	case store.FuncMin:
		cols = sub("MIN(value)", "")
	case store.FuncCount:
		cols = sub("NULLIF(COUNT(*), 0)", "")
	case store.FuncLast:
		cols = sub("value", last)
	case store.FuncRate:
		cols = sub("ts", first) + `, ` + sub("value", first) + `, ` + sub("ts", last) + `, ` + sub("value", last)
	default:
		return "", false
	}
	return `SELECT j.value, ` + cols + ` FROM json_each(?1) j`, true
}

// AggregateBySensor returns fn over the readings of metric with from <=
// time < to for each of sensors, in one query: a sensor is in the answer
// when its window holds data (for FuncRate: two readings at different
// times), with the value Aggregate would give. An empty window (or one
// where from is not before to) leaves the sensor out; a scheduled rule
// must not take that for a recovery. The answer is never nil.
func (r *Readings) AggregateBySensor(ctx context.Context, metric string, fn store.Func, from, to time.Time, sensors []string) (map[string]float64, error) {
	query, ok := bySensorQuery(fn)
	if !ok {
		return nil, fmt.Errorf("readings %s: aggregate %s of %d sensors: %w", r.db.path, metric, len(sensors), &store.UnknownFuncError{Func: fn})
	}
	out := make(map[string]float64, len(sensors))
	if !from.Before(to) || len(sensors) == 0 {
		return out, nil
	}
	fail := func(err error) (map[string]float64, error) {
		return nil, fmt.Errorf("readings %s: aggregate %s over %s of %d sensors: %w", r.db.path, fn, metric, len(sensors), err)
	}
	// JSON holds only valid UTF-8: an id that is not (no configured one,
	// but ids are bytes to the store) is asked for on its own.
	valid := sensors
	if i := slices.IndexFunc(sensors, func(s string) bool { return !utf8.ValidString(s) }); i >= 0 {
		valid = slices.DeleteFunc(slices.Clone(sensors), func(s string) bool { return !utf8.ValidString(s) })
		for _, s := range sensors[i:] {
			if utf8.ValidString(s) {
				continue
			}
			v, n, err := r.Aggregate(ctx, s, metric, fn, from, to)
			if err != nil {
				return nil, err
			}
			if n > 0 {
				out[s] = v
			}
		}
	}
	ids, err := json.Marshal(valid)
	if err != nil {
		return fail(err)
	}
	rows, err := r.db.r.QueryContext(ctx, query, string(ids), metric, boundNanos(from), boundNanos(to))
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	for rows.Next() {
		var sensor string
		if fn == store.FuncRate {
			var t0, t1 sql.NullInt64
			var v0, v1 sql.NullFloat64
			if err := rows.Scan(&sensor, &t0, &v0, &t1, &v1); err != nil {
				return fail(err)
			}
			if !t0.Valid {
				continue
			}
			if v, ok := store.Rate(time.Unix(0, t0.Int64), v0.Float64, time.Unix(0, t1.Int64), v1.Float64); ok {
				out[sensor] = v
			}
			continue
		}
		var v sql.NullFloat64
		if err := rows.Scan(&sensor, &v); err != nil {
			return fail(err)
		}
		if v.Valid {
			out[sensor] = v.Float64
		}
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	return out, nil
}
