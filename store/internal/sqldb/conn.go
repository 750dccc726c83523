package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// DB is a connection pool whose statements are written with ?
// placeholders: it rebinds every statement for its dialect and cleans the
// text arguments (CleanText). The statements given to Prepare are
// prepared once and reused by every call that runs the same text, on the
// pool and in its transactions. It is safe for concurrent use.
type DB struct {
	db    *sql.DB
	d     *Dialect
	stmts stmtCache
	// group coalesces the writes of Write (a SQLite writer: NewWriter);
	// nil: each runs in a transaction of its own.
	group *group
	// writes and commits count Write's writes and the transactions that
	// committed them (WriteStats).
	writes, commits atomic.Int64
}

// NewDB wraps db, a pool of a database of dialect d.
func NewDB(db *sql.DB, d *Dialect) *DB { return &DB{db: db, d: d} }

// NewWriter wraps db, the one writer connection of a SQLite file (see
// OpenSQLite), for group commit: the writes that Write is given while a
// commit is in flight are made in the next transaction together, one
// commit (one fsync) for all of them.
func NewWriter(db *sql.DB, d *Dialect) *DB {
	w := NewDB(db, d)
	w.group = &group{db: w}
	return w
}

// SQL returns the pool itself, for what the wrapper does not offer.
// Statements run on it are neither rebound nor cleaned.
func (db *DB) SQL() *sql.DB { return db.db }

// Dialect returns the pool's dialect.
func (db *DB) Dialect() *Dialect { return db.d }

// Prepare prepares the statements qs (written with ? placeholders) once,
// at open: from then on every ExecContext, QueryContext and
// QueryRowContext of the same text, on the pool or in one of its
// transactions, runs the prepared statement instead of parsing the text
// again. Call it before the pool is used: on a SQLite writer, preparing
// needs the one connection.
func (db *DB) Prepare(ctx context.Context, qs ...string) error {
	if db.group != nil {
		qs = append(qs[:len(qs):len(qs)], savepoint, releaseSavepoint, rollbackToSavepoint)
	}
	for _, q := range qs {
		if db.stmts.get(q) != nil {
			continue
		}
		st, err := db.db.PrepareContext(ctx, db.d.Bind(q))
		if err != nil {
			return fmt.Errorf("prepare %q: %w", firstLine(q), err)
		}
		db.stmts.put(q, st)
	}
	return nil
}

// ExecContext runs a statement that returns no rows.
func (db *DB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := db.stmts.get(q); st != nil {
		return st.ExecContext(ctx, cleanArgs(args)...)
	}
	return db.db.ExecContext(ctx, db.d.Bind(q), cleanArgs(args)...)
}

// QueryContext runs a query.
func (db *DB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := db.stmts.get(q); st != nil {
		return st.QueryContext(ctx, cleanArgs(args)...)
	}
	return db.db.QueryContext(ctx, db.d.Bind(q), cleanArgs(args)...)
}

// QueryRowContext runs a query that returns at most one row.
func (db *DB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := db.stmts.get(q); st != nil {
		return st.QueryRowContext(ctx, cleanArgs(args)...)
	}
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
	return &Tx{tx: tx, db: db}, nil
}

// Snapshot begins a read-only transaction whose statements all see one
// snapshot of the database. Roll it back when done.
func (db *DB) Snapshot(ctx context.Context) (*Tx, error) {
	return db.BeginTx(ctx, db.d.Snapshot())
}

// Close closes the prepared statements and the pool.
func (db *DB) Close() error {
	return errors.Join(db.stmts.close(), db.db.Close())
}

// Tx is a transaction of a DB.
type Tx struct {
	tx *sql.Tx
	db *DB
}

// ExecContext runs a statement that returns no rows.
func (tx *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := tx.db.stmts.get(q); st != nil {
		return tx.tx.StmtContext(ctx, st).ExecContext(ctx, cleanArgs(args)...)
	}
	return tx.tx.ExecContext(ctx, tx.db.d.Bind(q), cleanArgs(args)...)
}

// QueryContext runs a query.
func (tx *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := tx.db.stmts.get(q); st != nil {
		return tx.tx.StmtContext(ctx, st).QueryContext(ctx, cleanArgs(args)...)
	}
	return tx.tx.QueryContext(ctx, tx.db.d.Bind(q), cleanArgs(args)...)
}

// QueryRowContext runs a query that returns at most one row.
func (tx *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := tx.db.stmts.get(q); st != nil {
		return tx.tx.StmtContext(ctx, st).QueryRowContext(ctx, cleanArgs(args)...)
	}
	return tx.tx.QueryRowContext(ctx, tx.db.d.Bind(q), cleanArgs(args)...)
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
func (tx *Tx) Lock(ctx context.Context, key int64) error { return tx.db.d.lock(ctx, tx.tx, key) }

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

// stmtCache holds a pool's prepared statements by their text (as
// written, with ? placeholders). It only grows, by Prepare: its size is
// the number of statements a store names as hot.
type stmtCache struct {
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func (c *stmtCache) get(q string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[q]
}

func (c *stmtCache) put(q string, st *sql.Stmt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[q] = st
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.m {
		errs = append(errs, st.Close())
	}
	c.m = nil
	return errors.Join(errs...)
}

// firstLine is the start of a statement, for errors.
func firstLine(q string) string {
	q, _, _ = strings.Cut(strings.TrimSpace(q), "\n")
	return q
}

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
