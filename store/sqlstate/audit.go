package sqlstate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"

	"yujing/audit"
	"yujing/store/internal/sqldb"
)

// AuditLog is the audit log (package audit) kept in the state database,
// table audit_log: append-only (triggers refuse UPDATE and DELETE) and
// hash-chained. Get the log of an open State with State.AuditLog, or open a
// state database's log read-only with OpenAuditLog. It is safe for
// concurrent use, also by several processes or nodes.
type AuditLog struct {
	path string
	w    *sqldb.DB // the State's writer; nil when read-only
	r    *sqldb.DB
	own  bool // opened by OpenAuditLog: Close closes r
}

var _ audit.Store = (*AuditLog)(nil)

// AuditLog returns the audit log of the state database. It shares the
// State's connections (on SQLite the single writer, so appends are
// serialized with each other and with alert changes; on PostgreSQL appends
// take the audit lock). Closing the State closes it.
func (s *State) AuditLog() *AuditLog {
	return &AuditLog{path: s.db.path, w: s.db.w, r: s.db.r}
}

// OpenAuditLog opens the audit log of the state database where names for
// reading only (yujing audit verify and export): it neither creates nor
// migrates the database, and it may be used while yujing serve has it
// open. where is a SQLite file's path or a PostgreSQL URL, as for Open.
// Append fails. Close it when done.
func OpenAuditLog(ctx context.Context, where string) (*AuditLog, error) {
	if sqldb.IsPostgresURL(where) {
		db, name, err := sqldb.OpenPostgres(ctx, where, sqldb.PostgresOptions{MaxConns: 2, ReadOnly: true})
		if err != nil {
			return nil, fmt.Errorf("audit log %w", err)
		}
		d := sqldb.Postgres()
		var ok bool
		if err := db.QueryRowContext(ctx, `SELECT to_regclass('audit_log') IS NOT NULL`).Scan(&ok); err != nil {
			db.Close()
			return nil, fmt.Errorf("audit log %s: open: %w", name, err)
		}
		if !ok {
			db.Close()
			return nil, fmt.Errorf("audit log %s: the state database has no audit log yet (run yujing serve once)", name)
		}
		return &AuditLog{path: name, r: sqldb.NewDB(db, d), own: true}, nil
	}
	path := strings.TrimPrefix(where, "sqlite:")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("audit log: state database: %w", err)
	}
	// Should yujing serve start during the read of a file nobody had
	// open (read as immutable), a verify may see a half-written page and
	// report it; running it again settles that.
	r, err := sqldb.OpenSQLiteReadOnly(path)
	if err != nil {
		return nil, fmt.Errorf("audit log %s: open: %w", path, err)
	}
	var n int
	if err := r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'`).Scan(&n); err != nil {
		r.Close()
		return nil, fmt.Errorf("audit log %s: open: %w", path, err)
	}
	if n == 0 {
		r.Close()
		return nil, fmt.Errorf("audit log %s: the state database has no audit log yet (it was last opened by an older yujing; run yujing serve once)", path)
	}
	return &AuditLog{path: path, r: sqldb.NewDB(r, sqldb.SQLite()), own: true}, nil
}

// Close closes a log opened with OpenAuditLog; for State.AuditLog it does
// nothing (close the State).
func (l *AuditLog) Close() error {
	if !l.own {
		return nil
	}
	if err := l.r.Close(); err != nil {
		return fmt.Errorf("audit log %s: close: %w", l.path, err)
	}
	return nil
}

const auditColumns = `seq, at, actor, action, object, detail, source, prev_hash, hash`

// Append records e at the end of the chain. In one write transaction that
// holds the audit lock (BEGIN IMMEDIATE on SQLite, so also against another
// process; an advisory lock on PostgreSQL, so also against another node)
// it reads the last entry's seq and hash, seals e after it
// (audit.Entry.Seal) and inserts it; concurrent appends therefore keep one
// linear chain. On success e holds the stored entry (Seq, PrevHash, Hash,
// At in UTC); on failure e is unchanged.
func (l *AuditLog) Append(ctx context.Context, e *audit.Entry) error {
	if e == nil {
		return fmt.Errorf("audit log %s: append: nil entry", l.path)
	}
	if l.w == nil {
		return fmt.Errorf("audit log %s: append: opened read-only", l.path)
	}
	ent := *e
	if err := l.append(ctx, &ent); err != nil {
		return fmt.Errorf("audit log %s: append %s: %w", l.path, e.Action, err)
	}
	*e = ent
	return nil
}

func (l *AuditLog) append(ctx context.Context, e *audit.Entry) error {
	tx, err := l.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Without the lock two nodes read the same last entry, and the second
	// insert of the same seq fails.
	if err := tx.Lock(ctx, lockAudit); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	var last int64
	prev := audit.GenesisHash
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read the last entry: %w", err)
	}
	// The chain seals the text as it is stored: cleaned first, so that
	// the database (PostgreSQL refuses NUL and invalid UTF-8) keeps what
	// the hash covers.
	for _, f := range []*string{&e.Actor, &e.Action, &e.Object, &e.Detail, &e.From} {
		*f = sqldb.CleanText(*f)
	}
	if err := e.Seal(last+1, prev); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, e.At.UnixNano(), e.Actor, e.Action, e.Object, e.Detail, e.From, e.PrevHash, e.Hash); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// List returns the entries f selects (see audit.Filter), oldest first
// unless f.NewestFirst.
func (l *AuditLog) List(ctx context.Context, f audit.Filter) ([]audit.Entry, error) {
	var conds []string
	var args []any
	if !f.From.IsZero() {
		conds, args = append(conds, "at >= ?"), append(args, boundNanos(f.From))
	}
	if !f.To.IsZero() {
		conds, args = append(conds, "at < ?"), append(args, boundNanos(f.To))
	}
	if f.Actor != "" {
		conds, args = append(conds, "actor = ?"), append(args, f.Actor)
	}
	if f.Action != "" {
		conds, args = append(conds, l.r.Dialect().Contains("action")), append(args, f.Action)
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	order := "ASC"
	if f.NewestFirst {
		order = "DESC"
	}
	limit := f.Limit
	if limit <= 0 {
		limit = audit.DefaultLimit
	}
	args = append(args, min(limit, audit.MaxLimit), max(f.Offset, 0))
	rows, err := l.r.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log`+where+
		` ORDER BY seq `+order+` LIMIT ? OFFSET ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("audit log %s: list: %w", l.path, err)
	}
	defer rows.Close()
	var out []audit.Entry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("audit log %s: list: %w", l.path, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit log %s: list: %w", l.path, err)
	}
	return out, nil
}

// All calls fn with every entry, oldest first, inside one read transaction
// (a snapshot: entries appended meanwhile are not seen). It returns fn's
// first error as it is, so that callers can match their own.
func (l *AuditLog) All(ctx context.Context, fn func(audit.Entry) error) error {
	tx, err := l.r.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("audit log %s: read: %w", l.path, err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY seq`)
	if err != nil {
		return fmt.Errorf("audit log %s: read: %w", l.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return fmt.Errorf("audit log %s: read: %w", l.path, err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit log %s: read: %w", l.path, err)
	}
	return nil
}

// scanAudit reads one row of auditColumns. Columns are read as they are
// stored, whatever someone may have written into them, so that Verify sees
// (and reports) a change rather than failing to read it.
func scanAudit(r scanner) (audit.Entry, error) {
	var e audit.Entry
	var at sql.NullInt64
	var actor, action, object, detail, source, prev, hash sql.NullString
	if err := r.Scan(&e.Seq, &at, &actor, &action, &object, &detail, &source, &prev, &hash); err != nil {
		return audit.Entry{}, err
	}
	e.At = timeOf(at)
	e.Actor, e.Action, e.Object, e.Detail = actor.String, action.String, object.String, detail.String
	e.From, e.PrevHash, e.Hash = source.String, prev.String, hash.String
	return e, nil
}
