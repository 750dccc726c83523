// Package sqldb is the SQL layer under yujing's embedded reading store
// (store/sqlite) and its state database (store/sqlstate): opening a SQLite
// file as one writer and a small read pool, or a PostgreSQL database as
// one pool; versioned migrations for either; the dialect, which says the
// few things the shared statements must say differently; and the
// conversion of times to the Unix nanoseconds both keep.
//
// Statements are written once, with ? placeholders, in the forms both
// databases accept with the same meaning (RETURNING instead of
// LastInsertId, TRUE and FALSE, ON CONFLICT). [DB] rebinds them for
// PostgreSQL ($1, $2, …) and cleans the text it is given (see
// [CleanText]), so that both keep the same values. The statements a store
// names hot are prepared once ([DB.Prepare]); on a SQLite writer, the
// writes given to [DB.Write] at once share one transaction and one
// commit (group commit).
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// readPoolSize bounds the read-only connection pool of each SQLite file.
// Every connection carries its own page cache, so a few are enough.
const readPoolSize = 4

// Synchronous settings of SQLite files: Normal survives a crash of the
// process, Full also one of the machine (every commit is fsynced).
const (
	SyncNormal = "NORMAL"
	SyncFull   = "FULL"
)

// dsn builds a modernc.org/sqlite data source name for path. The path is
// written as a file: URI so that '?' or '#' in a file name cannot be taken
// for the start of the parameters.
func dsn(path string, params []string) string {
	u := (&url.URL{Path: filepath.Clean(path)}).EscapedPath()
	return "file:" + u + "?" + strings.Join(params, "&")
}

// OpenSQLite opens the SQLite file at path (creating it if needed),
// applies the pending migrations and returns its writer (exactly one
// connection, transactions BEGIN IMMEDIATE, so writes queue in Go instead
// of spinning on SQLITE_BUSY) and its read-only pool. name ("readings" or
// "state") is used in errors.
func OpenSQLite(ctx context.Context, name, path, synchronous string, migrations []string) (w, r *sql.DB, err error) {
	if path == "" {
		return nil, nil, fmt.Errorf("%s: empty database path", name)
	}
	common := []string{
		"_pragma=busy_timeout(5000)",
		"_pragma=foreign_keys(ON)",
	}
	w, err = sql.Open("sqlite", dsn(path, append(common[:len(common):len(common)],
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous("+synchronous+")",
		"_txlock=immediate",
	)))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: open: %w", name, path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("%s %s: open: %w", name, path, err)
	}
	if err := Migrate(ctx, w, SQLite(), MigrationsTable, migrations); err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("%s %s: %w", name, path, err)
	}
	// The reader pool is opened after the writer has created the file and
	// switched it to WAL (journal_mode is persistent), so readers need not
	// and cannot change it.
	r, err = sql.Open("sqlite", dsn(path, append(common[:len(common):len(common)],
		"_pragma=query_only(1)",
	)))
	if err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("%s %s: open reader: %w", name, path, err)
	}
	r.SetMaxOpenConns(readPoolSize)
	r.SetMaxIdleConns(readPoolSize)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, nil, fmt.Errorf("%s %s: open reader: %w", name, path, err)
	}
	return w, r, nil
}

// OpenSQLiteReadOnly opens the existing SQLite file at path for reading
// only, beside a process that may have it open for writing. It neither
// creates nor migrates the file. When no -wal file lies beside it (nobody
// has it open, and nobody died with it open), the file is read as
// immutable, which keeps SQLite from creating -wal and -shm files: they
// would belong to whoever reads (root, say) and could then keep the
// service's own user from opening the database.
func OpenSQLiteReadOnly(path string) (*sql.DB, error) {
	params := []string{"mode=ro", "_pragma=busy_timeout(5000)", "_pragma=query_only(1)"}
	if _, err := os.Stat(path + "-wal"); errors.Is(err, fs.ErrNotExist) {
		params = append(params, "immutable=1")
	}
	db, err := sql.Open("sqlite", dsn(path, params))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// MigrationsTable is the table that records the versions applied of a
// database's own migration list.
const MigrationsTable = "schema_migrations"

// migrateLock is the key of the PostgreSQL advisory lock every migration
// transaction takes first: "yujingsm" (state migrate).
const migrateLock int64 = 0x79756a696e67736d

// Migrate applies, in order and each in its own transaction, the
// migrations the database has not recorded in table. Migration i
// (0-based) is version i+1. Each transaction first takes the migration
// lock (on SQLite, BEGIN IMMEDIATE; on PostgreSQL an advisory lock, taken
// before anything else: even CREATE TABLE IF NOT EXISTS fails when two
// run at once), then reads the current version, so several processes or
// nodes opening one database at once apply each migration once: the others
// wait and then find nothing to do. A database at a version newer than the
// list is refused. Migrations take no arguments and may hold several
// statements.
func Migrate(ctx context.Context, db *sql.DB, d *Dialect, table string, migrations []string) error {
	for {
		done, err := migrateOne(ctx, db, d, table, migrations)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

func migrateOne(ctx context.Context, db *sql.DB, d *Dialect, table string, migrations []string) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if err := d.lock(ctx, tx, migrateLock); err != nil {
		return false, fmt.Errorf("migrate: lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(d.migrationsTable, table)); err != nil {
		return false, fmt.Errorf("create %s: %w", table, err)
	}
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+table).Scan(&version); err != nil {
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
	if _, err := tx.ExecContext(ctx, d.Bind(fmt.Sprintf(d.recordMigration, table)), d.migrationArgs(next)...); err != nil {
		return false, fmt.Errorf("migration %d: record: %w", next, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %d: commit: %w", next, err)
	}
	return false, nil
}

// The times an int64 of Unix nanoseconds can hold.
var (
	MinNanoTime = time.Unix(0, math.MinInt64).UTC()
	MaxNanoTime = time.Unix(0, math.MaxInt64).UTC()
)

// Nanos converts t to Unix nanoseconds, failing for times outside
// 1678..2262 where time.Time.UnixNano is undefined.
func Nanos(t time.Time) (int64, error) {
	if t.Before(MinNanoTime) || t.After(MaxNanoTime) {
		return 0, fmt.Errorf("time %s outside the storable range %d..%d", t.Format(time.RFC3339), MinNanoTime.Year(), MaxNanoTime.Year())
	}
	return t.UnixNano(), nil
}

// BoundNanos converts a query bound to Unix nanoseconds, clamping times
// outside the storable range to its ends.
func BoundNanos(t time.Time) int64 {
	switch {
	case t.Before(MinNanoTime):
		return math.MinInt64
	case t.After(MaxNanoTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// NullTime converts an optional time for storage: nil and the zero time
// are NULL.
func NullTime(t *time.Time) (sql.NullInt64, error) {
	if t == nil || t.IsZero() {
		return sql.NullInt64{}, nil
	}
	n, err := Nanos(*t)
	if err != nil {
		return sql.NullInt64{}, err
	}
	return sql.NullInt64{Int64: n, Valid: true}, nil
}

// TimeOf converts a stored time back: NULL is the zero time.
func TimeOf(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// TimePtrOf converts a stored optional time back: NULL is nil.
func TimePtrOf(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := time.Unix(0, n.Int64).UTC()
	return &t
}

// FloatOf converts a stored float back. SQLite stores NaN as NULL, so
// NULL reads back as NaN (PostgreSQL keeps NaN as it is).
func FloatOf(f sql.NullFloat64) float64 {
	if !f.Valid {
		return math.NaN()
	}
	return f.Float64
}
