package sqldb

import (
	"context"
	"database/sql"
	"strings"
	"unicode/utf8"
)

// DB is a connection pool whose statements are written with ?
// placeholders: it rebinds every statement for its dialect and cleans the
// text arguments (CleanText). It is safe for concurrent use.
type DB struct {
	db *sql.DB
	d  *Dialect
}

// NewDB wraps db, a pool of a database of dialect d.
func NewDB(db *sql.DB, d *Dialect) *DB { return &DB{db: db, d: d} }

// SQL returns the pool itself, for what the wrapper does not offer.
// Statements run on it are neither rebound nor cleaned.
func (db *DB) SQL() *sql.DB { return db.db }

// Dialect returns the pool's dialect.
func (db *DB) Dialect() *Dialect { return db.d }

// ExecContext runs a statement that returns no rows.
func (db *DB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return db.db.ExecContext(ctx, db.d.Bind(q), cleanArgs(args)...)
}

// QueryContext runs a query.
func (db *DB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return db.db.QueryContext(ctx, db.d.Bind(q), cleanArgs(args)...)
}

// QueryRowContext runs a query that returns at most one row.
func (db *DB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return db.db.QueryRowContext(ctx, db.d.Bind(q), cleanArgs(args)...)
}

// PrepareContext prepares a statement.
func (db *DB) PrepareContext(ctx context.Context, q string) (*Stmt, error) {
	st, err := db.db.PrepareContext(ctx, db.d.Bind(q))
	if err != nil {
		return nil, err
	}
	return &Stmt{st: st}, nil
}

// BeginTx begins a transaction: on a SQLite writer, BEGIN IMMEDIATE.
func (db *DB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	tx, err := db.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Tx{tx: tx, d: db.d}, nil
}

// Snapshot begins a read-only transaction whose statements all see one
// snapshot of the database. Roll it back when done.
func (db *DB) Snapshot(ctx context.Context) (*Tx, error) {
	return db.BeginTx(ctx, db.d.Snapshot())
}

// Close closes the pool.
func (db *DB) Close() error { return db.db.Close() }

// Tx is a transaction of a DB.
type Tx struct {
	tx *sql.Tx
	d  *Dialect
}

// ExecContext runs a statement that returns no rows.
func (tx *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return tx.tx.ExecContext(ctx, tx.d.Bind(q), cleanArgs(args)...)
}

// QueryContext runs a query.
func (tx *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return tx.tx.QueryContext(ctx, tx.d.Bind(q), cleanArgs(args)...)
}

// QueryRowContext runs a query that returns at most one row.
func (tx *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(ctx, tx.d.Bind(q), cleanArgs(args)...)
}

// StmtContext returns st for use in the transaction.
func (tx *Tx) StmtContext(ctx context.Context, st *Stmt) *Stmt {
	return &Stmt{st: tx.tx.StmtContext(ctx, st.st)}
}

// Lock takes the lock key until the transaction ends, so that the
// transactions taking it run one after the other, also on several nodes
// (PostgreSQL's pg_advisory_xact_lock). On SQLite a write transaction
// holds the database's one write lock already, and Lock does nothing. Take
// it first, before reading what the transaction decides on: under READ
// COMMITTED each statement after it sees what the previous holder
// committed.
func (tx *Tx) Lock(ctx context.Context, key int64) error { return tx.d.lock(ctx, tx.tx, key) }

// Commit commits the transaction.
func (tx *Tx) Commit() error { return tx.tx.Commit() }

// Rollback aborts the transaction; after Commit it does nothing.
func (tx *Tx) Rollback() error { return tx.tx.Rollback() }

// Stmt is a prepared statement.
type Stmt struct{ st *sql.Stmt }

// ExecContext runs the statement.
func (s *Stmt) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	return s.st.ExecContext(ctx, cleanArgs(args)...)
}

// QueryRowContext runs the statement as a query of at most one row.
func (s *Stmt) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	return s.st.QueryRowContext(ctx, cleanArgs(args)...)
}

// Close closes the statement.
func (s *Stmt) Close() error { return s.st.Close() }

// CleanText returns s as both databases can keep it: invalid UTF-8 and NUL
// characters (which PostgreSQL refuses in text, and SQLite keeps) become
// U+FFFD. Valid text is returned as it is. Text from outside (a provider's
// receipt, an SMS reply, a note) is cleaned on its way in, so that both
// backends store and return the same thing; a value that is hashed before
// it is stored (the audit chain) must be cleaned before it is hashed.
func CleanText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// cleanArgs returns args with every string (and valid sql.NullString)
// passed through CleanText, copying args only when one changes.
func cleanArgs(args []any) []any {
	out := args
	for i, a := range args {
		var s, c string
		switch v := a.(type) {
		case string:
			s = v
		case sql.NullString:
			if !v.Valid {
				continue
			}
			s = v.String
		default:
			continue
		}
		if c = CleanText(s); c == s {
			continue
		}
		if &out[0] == &args[0] {
			out = append([]any(nil), args...)
		}
		if _, ok := a.(sql.NullString); ok {
			out[i] = sql.NullString{String: c, Valid: true}
		} else {
			out[i] = c
		}
	}
	return out
}
