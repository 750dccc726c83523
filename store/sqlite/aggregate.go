package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

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
