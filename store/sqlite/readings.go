package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"yujing"
)

// readingsMigrations is the schema of the reading store, one entry per
// version; append, never edit.
var readingsMigrations = []string{
	// 1: one row per (sensor, metric, instant). The primary key is the
	// clustering order, so a series' range scan is one b-tree walk, and a
	// replayed duplicate replaces itself.
	`CREATE TABLE readings (
		sensor TEXT    NOT NULL,
		metric TEXT    NOT NULL,
		ts     INTEGER NOT NULL,
		value  REAL    NOT NULL,
		site   TEXT    NOT NULL DEFAULT '',
		family TEXT    NOT NULL DEFAULT '',
		unit   TEXT    NOT NULL DEFAULT '',
		PRIMARY KEY (sensor, metric, ts)
	) WITHOUT ROWID`,
}

// pruneBatch is how many series one Prune transaction visits before it
// commits and lets waiting writers in.
const pruneBatch = 256

// Readings is the embedded reading store: a SQLite file of time series,
// written in batches by ingest and queried by alerting and the console.
// It is safe for concurrent use.
type Readings struct {
	db        *pools
	retention time.Duration
	log       *slog.Logger
	insert    *sql.Stmt
	closeOnce sync.Once
	closeErr  error
}

// ReadingsOption configures OpenReadings.
type ReadingsOption func(*Readings)

// WithLogger sets the logger RunRetention reports to. The default discards.
func WithLogger(l *slog.Logger) ReadingsOption {
	return func(r *Readings) {
		if l != nil {
			r.log = l
		}
	}
}

// OpenReadings opens (creating if needed) the reading store at path and
// applies pending schema migrations. Readings older than retention are
// removed by Prune; retention 0 keeps them forever.
func OpenReadings(ctx context.Context, path string, retention time.Duration, opts ...ReadingsOption) (*Readings, error) {
	if retention < 0 {
		return nil, fmt.Errorf("readings %s: negative retention %s", path, retention)
	}
	db, err := openPools(ctx, "readings", path, syncNormal, readingsMigrations)
	if err != nil {
		return nil, err
	}
	r := &Readings{db: db, retention: retention, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(r)
	}
	r.insert, err = db.w.PrepareContext(ctx, `INSERT OR REPLACE INTO readings
		(sensor, metric, ts, value, site, family, unit) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		db.close()
		return nil, fmt.Errorf("readings %s: prepare: %w", path, err)
	}
	return r, nil
}

// Path returns the file the store was opened from.
func (r *Readings) Path() string { return r.db.path }

// Retention returns how long readings are kept (0: forever).
func (r *Readings) Retention() time.Duration { return r.retention }

// Write stores rs in one transaction: either all of them are stored or, on
// error, none. A reading with the same sensor, metric and time as a stored
// one replaces it, so replaying a batch is harmless. A reading without
// sensor or metric, with a NaN value or with a time outside what int64
// nanoseconds hold (1677-09-21 to 2262-04-11) fails the whole batch.
func (r *Readings) Write(ctx context.Context, rs []yujing.Reading) error {
	if len(rs) == 0 {
		return nil
	}
	for i := range rs {
		if err := checkReading(&rs[i]); err != nil {
			return fmt.Errorf("readings %s: write: reading %d: %w", r.db.path, i, err)
		}
	}
	tx, err := r.db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("readings %s: write: %w", r.db.path, err)
	}
	defer tx.Rollback()
	st := tx.StmtContext(ctx, r.insert)
	for i := range rs {
		x := &rs[i]
		if _, err := st.ExecContext(ctx, x.Sensor, x.Metric, x.Time.UnixNano(), x.Value, x.Site, string(x.Family), x.Unit); err != nil {
			return fmt.Errorf("readings %s: write: reading %d (%s/%s): %w", r.db.path, i, x.Sensor, x.Metric, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("readings %s: write: commit: %w", r.db.path, err)
	}
	return nil
}

func checkReading(x *yujing.Reading) error {
	switch {
	case x.Sensor == "":
		return fmt.Errorf("empty sensor")
	case x.Metric == "":
		return fmt.Errorf("%s: empty metric", x.Sensor)
	case math.IsNaN(x.Value):
		return fmt.Errorf("%s/%s: value is NaN", x.Sensor, x.Metric)
	}
	if _, err := nanos(x.Time); err != nil {
		return fmt.Errorf("%s/%s: %w", x.Sensor, x.Metric, err)
	}
	return nil
}

const rangeQuery = `SELECT sensor, metric, ts, value, site, family, unit
	FROM readings WHERE sensor = ? AND metric = ? AND ts >= ? AND ts < ? ORDER BY ts`

// Query returns the readings of one series with from <= time < to, oldest
// first. A zero from or to leaves that end open.
func (r *Readings) Query(ctx context.Context, sensor, metric string, from, to time.Time) ([]yujing.Reading, error) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !from.IsZero() {
		lo = boundNanos(from)
	}
	if !to.IsZero() {
		hi = boundNanos(to)
	}
	rows, err := r.db.r.QueryContext(ctx, rangeQuery, sensor, metric, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("readings %s: query %s/%s: %w", r.db.path, sensor, metric, err)
	}
	out, err := scanReadings(rows)
	if err != nil {
		return nil, fmt.Errorf("readings %s: query %s/%s: %w", r.db.path, sensor, metric, err)
	}
	return out, nil
}

// Last returns the newest reading of every metric of sensor, ordered by
// metric. It costs one index seek per metric however long the history is.
func (r *Readings) Last(ctx context.Context, sensor string) ([]yujing.Reading, error) {
	rows, err := r.db.r.QueryContext(ctx, lastQuery, sensor)
	if err != nil {
		return nil, fmt.Errorf("readings %s: last %s: %w", r.db.path, sensor, err)
	}
	out, err := scanReadings(rows)
	if err != nil {
		return nil, fmt.Errorf("readings %s: last %s: %w", r.db.path, sensor, err)
	}
	return out, nil
}

// lastQuery is a loose index scan: it hops from metric to metric of sensor
// ?1 along the primary key, then seeks the newest row of each. CROSS JOIN
// keeps m the outer loop, so every readings lookup is a full-key seek.
const lastQuery = `WITH RECURSIVE m(metric) AS (
		SELECT (SELECT MIN(metric) FROM readings WHERE sensor = ?1)
		UNION ALL
		SELECT (SELECT MIN(metric) FROM readings WHERE sensor = ?1 AND metric > m.metric)
		FROM m WHERE m.metric IS NOT NULL
	)
	SELECT r.sensor, r.metric, r.ts, r.value, r.site, r.family, r.unit
	FROM m CROSS JOIN readings r ON r.sensor = ?1 AND r.metric = m.metric
		AND r.ts = (SELECT MAX(ts) FROM readings WHERE sensor = ?1 AND metric = m.metric)
	ORDER BY r.metric`

func scanReadings(rows *sql.Rows) ([]yujing.Reading, error) {
	defer rows.Close()
	var out []yujing.Reading
	for rows.Next() {
		var x yujing.Reading
		var ts int64
		var family string
		if err := rows.Scan(&x.Sensor, &x.Metric, &ts, &x.Value, &x.Site, &family, &x.Unit); err != nil {
			return nil, err
		}
		x.Time = time.Unix(0, ts).UTC()
		x.Family = yujing.Family(family)
		out = append(out, x)
	}
	return out, rows.Err()
}

// Prune deletes the readings older than now minus the retention and returns
// how many it deleted; with retention 0 it deletes nothing. It works series
// by series along the primary key and commits every few hundred series, so
// it never scans the whole table in one go nor holds the write lock for
// long.
func (r *Readings) Prune(ctx context.Context, now time.Time) (int64, error) {
	if r.retention == 0 {
		return 0, nil
	}
	cutoff := boundNanos(now.Add(-r.retention))
	var total int64
	// The cursor starts before every series: Write refuses an empty sensor
	// or metric, so no series sorts at or below ("", "").
	var sensor, metric string
	for {
		n, more, err := r.pruneSome(ctx, cutoff, &sensor, &metric)
		total += n
		if err != nil {
			return total, fmt.Errorf("readings %s: prune: %w", r.db.path, err)
		}
		if !more {
			return total, nil
		}
	}
}

// pruneSome prunes, in one transaction, up to pruneBatch series that sort
// after (*sensor, *metric), advancing that cursor.
func (r *Readings) pruneSome(ctx context.Context, cutoff int64, sensor, metric *string) (deleted int64, more bool, err error) {
	tx, err := r.db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, false, err
	}
	defer tx.Rollback()
	next, err := tx.PrepareContext(ctx, nextSeriesQuery)
	if err != nil {
		return 0, false, err
	}
	defer next.Close()
	del, err := tx.PrepareContext(ctx, deleteOldQuery)
	if err != nil {
		return 0, false, err
	}
	defer del.Close()
	for i := 0; i < pruneBatch; i++ {
		switch err := next.QueryRowContext(ctx, *sensor, *metric).Scan(sensor, metric); {
		case errors.Is(err, sql.ErrNoRows):
			return deleted, false, commit(tx, deleted)
		case err != nil:
			return 0, false, err
		}
		res, err := del.ExecContext(ctx, *sensor, *metric, cutoff)
		if err != nil {
			return 0, false, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, false, err
		}
		deleted += n
	}
	return deleted, true, commit(tx, deleted)
}

// deleteOldQuery deletes the readings of one series before a time.
const deleteOldQuery = `DELETE FROM readings WHERE sensor = ? AND metric = ? AND ts < ?`

// nextSeriesQuery finds the first series after (?1, ?2) by one seek.
const nextSeriesQuery = `SELECT sensor, metric FROM readings
	WHERE (sensor, metric) > (?, ?) ORDER BY sensor, metric LIMIT 1`

func commit(tx *sql.Tx, deleted int64) error {
	if deleted == 0 {
		return nil // nothing written; the deferred rollback ends it
	}
	return tx.Commit()
}

// RunRetention calls Prune at once and then every interval until ctx is
// done, logging what it removed and any failure (a failed prune is retried
// at the next tick). It returns nil when ctx is done (with retention 0 it
// only waits for that) and an error only for an interval that is not
// positive.
func (r *Readings) RunRetention(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("readings %s: retention interval %s is not positive", r.db.path, every)
	}
	if r.retention == 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := r.Prune(ctx, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			r.log.Error("readings prune failed", "path", r.db.path, "err", err)
		case n > 0:
			r.log.Info("readings pruned", "path", r.db.path, "deleted", n, "retention", r.retention)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Close closes the store; cancel RunRetention's context first. Calling it
// again returns the first result.
func (r *Readings) Close() error {
	r.closeOnce.Do(func() {
		r.insert.Close()
		r.closeErr = r.db.close()
		if r.closeErr != nil {
			r.closeErr = fmt.Errorf("readings %s: close: %w", r.db.path, r.closeErr)
		}
	})
	return r.closeErr
}
