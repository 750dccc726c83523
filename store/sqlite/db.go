package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"yujing/store/internal/sqldb"
	"yujing/store/sqlstate"
)

// Synchronous settings of the two files; see the package comment.
const (
	syncNormal = sqldb.SyncNormal
	syncFull   = sqldb.SyncFull
)

// pools is one database file opened as a single writer connection and a
// small read-only pool.
type pools struct {
	path string
	w    *sql.DB // exactly one connection; transactions BEGIN IMMEDIATE
	r    *sql.DB // query_only connections
}

// openPools opens path, applies the pending migrations and returns the
// writer and reader pools. name ("readings" or "state") is used in errors.
func openPools(ctx context.Context, name, path, synchronous string, migrations []string) (*pools, error) {
	w, r, err := sqldb.OpenSQLite(ctx, name, path, synchronous, migrations)
	if err != nil {
		return nil, err
	}
	return &pools{path: path, w: w, r: r}, nil
}

func (p *pools) close() error {
	return errors.Join(p.r.Close(), p.w.Close())
}

// nanos converts t to Unix nanoseconds (sqldb.Nanos).
func nanos(t time.Time) (int64, error) { return sqldb.Nanos(t) }

// boundNanos converts a query bound to Unix nanoseconds (sqldb.BoundNanos).
func boundNanos(t time.Time) int64 { return sqldb.BoundNanos(t) }

// OpenState opens (creating if needed) the embedded state database at
// path (package sqlstate, on SQLite) and applies pending schema
// migrations. The state database is shared with PostgreSQL; see
// sqlstate.Open.
func OpenState(ctx context.Context, path string) (*sqlstate.State, error) {
	return sqlstate.OpenSQLite(ctx, path, sqlstate.Options{})
}

// OpenAuditLog opens the audit log of the state database file at path for
// reading only (sqlstate.OpenAuditLog).
func OpenAuditLog(ctx context.Context, path string) (*sqlstate.AuditLog, error) {
	return sqlstate.OpenAuditLog(ctx, path)
}
