package sqlstate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"yujing/store"
	"yujing/store/internal/sqldb"
)

// ErrNotFound is returned (wrapped) when an alert, call, user or other
// record does not exist. It is store.ErrNotFound, so callers can match
// either.
var ErrNotFound = store.ErrNotFound

// pools is the database the State works on: on SQLite a single writer
// connection and a small read-only pool; on PostgreSQL one pool, w and r
// alike. Every write goes through w.
type pools struct {
	path string // what errors name: the file, or the URL without its password
	w    *sqldb.DB
	r    *sqldb.DB
	d    *sqldb.Dialect
}

func (p *pools) close() error {
	if p.r == p.w {
		return p.w.Close()
	}
	return errors.Join(p.r.Close(), p.w.Close())
}

// Options tune Open.
type Options struct {
	// MaxConns bounds the PostgreSQL pool (default
	// sqldb.PostgresMaxConns). SQLite has one writer and four readers.
	MaxConns int
	// PostgresSchemas are more versioned schemas applied on PostgreSQL
	// after the state's own, each recorded in its own table (the cluster's
	// tables: cluster.Migrations()). SQLite ignores them.
	PostgresSchemas []Schema
}

// Schema is a versioned migration list of another package, kept in the
// state's PostgreSQL database.
type Schema struct {
	// Table records the versions applied, e.g. "cluster_schema_migrations".
	Table string
	// Migrations are the versions, oldest first; entry i is version i+1.
	// Append, never edit.
	Migrations []string
}

// Open opens the state database where names, creating its schema or
// migrating it as needed: a PostgreSQL URL (postgres://… or
// postgresql://…), shared by every node that names it, or else a SQLite
// file: a path, or sqlite:PATH. No error Open returns holds a
// PostgreSQL password.
func Open(ctx context.Context, where string, opts Options) (*State, error) {
	if sqldb.IsPostgresURL(where) {
		return OpenPostgres(ctx, where, opts)
	}
	return OpenSQLite(ctx, strings.TrimPrefix(where, "sqlite:"), opts)
}

// OpenSQLite opens (creating if needed) the embedded state database at
// path and applies pending schema migrations. Every commit is fsynced
// (synchronous=FULL): a change is on disk when the call returns.
func OpenSQLite(ctx context.Context, path string, opts Options) (*State, error) {
	w, r, err := sqldb.OpenSQLite(ctx, "state", path, sqldb.SyncFull, stateMigrations)
	if err != nil {
		return nil, err
	}
	d := sqldb.SQLite()
	return newState(ctx, &pools{path: path, w: sqldb.NewWriter(w, d), r: sqldb.NewDB(r, d), d: d})
}

// OpenPostgres opens the state database in the PostgreSQL database url
// names and applies pending schema migrations, each once however many
// nodes start at once. PostgreSQL's defaults (fsync, synchronous_commit
// on) make a change durable when the call returns, as on SQLite. The role
// must be able to create tables (own the database, or hold CREATE on its
// schema).
func OpenPostgres(ctx context.Context, url string, opts Options) (*State, error) {
	db, where, err := sqldb.OpenPostgres(ctx, url, sqldb.PostgresOptions{MaxConns: opts.MaxConns})
	if err != nil {
		return nil, fmt.Errorf("state %w", err)
	}
	d := sqldb.Postgres()
	if err := sqldb.Migrate(ctx, db, d, sqldb.MigrationsTable, postgresMigrations); err != nil {
		db.Close()
		return nil, fmt.Errorf("state %s: %w", where, err)
	}
	for _, sc := range opts.PostgresSchemas {
		if err := sqldb.Migrate(ctx, db, d, sc.Table, sc.Migrations); err != nil {
			db.Close()
			return nil, fmt.Errorf("state %s: %s: %w", where, sc.Table, err)
		}
	}
	p := sqldb.NewDB(db, d)
	return newState(ctx, &pools{path: where, w: p, r: p, d: d})
}

// Keys of the transaction-level locks (sqldb.Tx.Lock) that keep an
// invariant over several rows with several nodes writing: "yujing" and
// two letters.
const (
	lockUsers int64 = 0x79756a696e677573 // "yujingus": the first user, the last admin
	lockAudit int64 = 0x79756a696e676175 // "yujingau": the audit chain's next seq
)

// Conversions between times and the Unix nanoseconds both databases keep
// (package sqldb).

func nanos(t time.Time) (int64, error)             { return sqldb.Nanos(t) }
func boundNanos(t time.Time) int64                 { return sqldb.BoundNanos(t) }
func nullTime(t *time.Time) (sql.NullInt64, error) { return sqldb.NullTime(t) }
func timeOf(n sql.NullInt64) time.Time             { return sqldb.TimeOf(n) }
func timePtrOf(n sql.NullInt64) *time.Time         { return sqldb.TimePtrOf(n) }
func floatOf(f sql.NullFloat64) float64            { return sqldb.FloatOf(f) }
