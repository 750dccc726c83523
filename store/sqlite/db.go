package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"yujing/store"
)

// ErrNotFound is returned (wrapped) when an alert does not exist. It is
// store.ErrNotFound, so callers can match either.
var ErrNotFound = store.ErrNotFound

// readPoolSize bounds the read-only connection pool of each file. Every
// connection carries its own page cache, so a few are enough.
const readPoolSize = 4

// Synchronous settings of the two files; see the package comment.
const (
	syncNormal = "NORMAL"
	syncFull   = "FULL"
)

// pools is one database file opened as a single writer connection and a
// small read-only pool.
type pools struct {
	path string
	w    *sql.DB // exactly one connection; transactions BEGIN IMMEDIATE
	r    *sql.DB // query_only connections
}

// dsn builds a modernc.org/sqlite data source name for path. The path is
// written as a file: URI so that '?' or '#' in a file name cannot be taken
// for the start of the parameters.
func dsn(path string, params []string) string {
	u := (&url.URL{Path: filepath.Clean(path)}).EscapedPath()
	return "file:" + u + "?" + strings.Join(params, "&")
}

// openPools opens path, applies the pending migrations and returns the
// writer and reader pools. name ("readings" or "state") is used in errors.
func openPools(ctx context.Context, name, path, synchronous string, migrations []string) (*pools, error) {
	if path == "" {
		return nil, fmt.Errorf("%s: empty database path", name)
	}
	common := []string{
		"_pragma=busy_timeout(5000)",
		"_pragma=foreign_keys(ON)",
	}
	w, err := sql.Open("sqlite", dsn(path, append(common[:len(common):len(common)],
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous("+synchronous+")",
		"_txlock=immediate",
	)))
	if err != nil {
		return nil, fmt.Errorf("%s %s: open: %w", name, path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("%s %s: open: %w", name, path, err)
	}
	if err := migrate(ctx, w, migrations); err != nil {
		w.Close()
		return nil, fmt.Errorf("%s %s: %w", name, path, err)
	}
	// The reader pool is opened after the writer has created the file and
	// switched it to WAL (journal_mode is persistent), so readers need not
	// and cannot change it.
	r, err := sql.Open("sqlite", dsn(path, append(common[:len(common):len(common)],
		"_pragma=query_only(1)",
	)))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("%s %s: open reader: %w", name, path, err)
	}
	r.SetMaxOpenConns(readPoolSize)
	r.SetMaxIdleConns(readPoolSize)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("%s %s: open reader: %w", name, path, err)
	}
	return &pools{path: path, w: w, r: r}, nil
}

func (p *pools) close() error {
	return errors.Join(p.r.Close(), p.w.Close())
}

// migrate applies, in order and each in its own transaction, the migrations
// the database has not recorded in schema_migrations. Migration i (0-based)
// is version i+1. The current version is read inside each write transaction,
// so two processes opening the same file cannot apply a migration twice.
func migrate(ctx context.Context, db *sql.DB, migrations []string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for {
		done, err := migrateOne(ctx, db, migrations)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

func migrateOne(ctx context.Context, db *sql.DB, migrations []string) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return false, fmt.Errorf("migrate: read schema version: %w", err)
	}
	switch {
	case version > len(migrations):
		return false, fmt.Errorf("schema version %d is newer than this build knows (%d)", version, len(migrations))
	case version == len(migrations):
		return true, nil
	}
	next := version + 1
	if _, err := tx.ExecContext(ctx, migrations[version]); err != nil {
		return false, fmt.Errorf("migration %d: %w", next, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		next, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return false, fmt.Errorf("migration %d: record: %w", next, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %d: commit: %w", next, err)
	}
	return false, nil
}

// The times an int64 of Unix nanoseconds can hold.
var (
	minNanoTime = time.Unix(0, math.MinInt64).UTC()
	maxNanoTime = time.Unix(0, math.MaxInt64).UTC()
)

// nanos converts t to Unix nanoseconds, failing for times outside
// 1678..2262 where time.Time.UnixNano is undefined.
func nanos(t time.Time) (int64, error) {
	if t.Before(minNanoTime) || t.After(maxNanoTime) {
		return 0, fmt.Errorf("time %s outside the storable range %d..%d", t.Format(time.RFC3339), minNanoTime.Year(), maxNanoTime.Year())
	}
	return t.UnixNano(), nil
}

// boundNanos converts a query bound to Unix nanoseconds, clamping times
// outside the storable range to its ends.
func boundNanos(t time.Time) int64 {
	switch {
	case t.Before(minNanoTime):
		return math.MinInt64
	case t.After(maxNanoTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// nullTime converts an optional time for storage: nil and the zero time
// are NULL.
func nullTime(t *time.Time) (sql.NullInt64, error) {
	if t == nil || t.IsZero() {
		return sql.NullInt64{}, nil
	}
	n, err := nanos(*t)
	if err != nil {
		return sql.NullInt64{}, err
	}
	return sql.NullInt64{Int64: n, Valid: true}, nil
}

// timeOf converts a stored time back: NULL is the zero time.
func timeOf(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// timePtrOf converts a stored optional time back: NULL is nil.
func timePtrOf(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := time.Unix(0, n.Int64).UTC()
	return &t
}

// floatOf converts a stored REAL back. SQLite stores NaN as NULL, so NULL
// reads back as NaN.
func floatOf(f sql.NullFloat64) float64 {
	if !f.Valid {
		return math.NaN()
	}
	return f.Float64
}
