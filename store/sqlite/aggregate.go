package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"yujing/store"
)

// aggregateQuery computes every aggregate of one series' window in one
// statement: the plain aggregates in a single range scan along the primary
// key, the oldest and newest readings by one index seek each.
const aggregateQuery = `SELECT COUNT(*), SUM(value), AVG(value), MAX(value), MIN(value),
		(SELECT ts FROM readings WHERE sensor = ?1 AND metric = ?2 AND ts >= ?3 AND ts < ?4 ORDER BY ts LIMIT 1),
		(SELECT value FROM readings WHERE sensor = ?1 AND metric = ?2 AND ts >= ?3 AND ts < ?4 ORDER BY ts LIMIT 1),
		(SELECT ts FROM readings WHERE sensor = ?1 AND metric = ?2 AND ts >= ?3 AND ts < ?4 ORDER BY ts DESC LIMIT 1),
		(SELECT value FROM readings WHERE sensor = ?1 AND metric = ?2 AND ts >= ?3 AND ts < ?4 ORDER BY ts DESC LIMIT 1)
	FROM readings WHERE sensor = ?1 AND metric = ?2 AND ts >= ?3 AND ts < ?4`

// Aggregate returns fn over the readings of one series with from <= time <
// to, and n, how many readings the window held. An empty window (or one
// where from is not before to) gives n = 0 and value 0: no data, which a
// rule must not take for a recovery. See store.Func for each aggregate.
func (r *Readings) Aggregate(ctx context.Context, sensor, metric string, fn store.Func, from, to time.Time) (float64, int, error) {
	if !fn.Valid() {
		return 0, 0, fmt.Errorf("readings %s: aggregate %s/%s: %w", r.db.path, sensor, metric, &store.UnknownFuncError{Func: fn})
	}
	if !from.Before(to) {
		return 0, 0, nil
	}
	var (
		n                     int
		sum, mean, maxV, minV sql.NullFloat64
		firstTS, lastTS       sql.NullInt64
		firstV, lastV         sql.NullFloat64
		lo, hi                = boundNanos(from), boundNanos(to)
		row                   = r.db.r.QueryRowContext(ctx, aggregateQuery, sensor, metric, lo, hi)
	)
	if err := row.Scan(&n, &sum, &mean, &maxV, &minV, &firstTS, &firstV, &lastTS, &lastV); err != nil {
		return 0, 0, fmt.Errorf("readings %s: aggregate %s over %s/%s: %w", r.db.path, fn, sensor, metric, err)
	}
	if n == 0 {
		return 0, 0, nil
	}
	switch fn {
	case store.FuncSum:
		return sum.Float64, n, nil
	case store.FuncMean:
		return mean.Float64, n, nil
	case store.FuncMax:
		return maxV.Float64, n, nil
	case store.FuncMin:
		return minV.Float64, n, nil
	case store.FuncLast:
		return lastV.Float64, n, nil
	case store.FuncCount:
		return float64(n), n, nil
	default: // store.FuncRate
		v, ok := store.Rate(time.Unix(0, firstTS.Int64), firstV.Float64, time.Unix(0, lastTS.Int64), lastV.Float64)
		if !ok {
			return 0, 0, nil
		}
		return v, n, nil
	}
}
