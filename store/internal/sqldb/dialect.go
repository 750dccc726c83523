package sqldb

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"
)

// Dialect is what the shared statements need said differently on one
// database: the placeholders, snapshot reads, locks, a few functions and
// the table that records migrations. The schema (DDL) is not here: each
// store keeps one migration list per dialect.
type Dialect struct {
	name     string
	postgres bool
	// migrationsTable creates the table %s that records migrations;
	// recordMigration inserts one version into it (see migrationArgs).
	migrationsTable, recordMigration string
	snapshot                         *sql.TxOptions
	contains                         string
}

// SQLite is the embedded database's dialect.
func SQLite() *Dialect {
	return &Dialect{
		name: "sqlite",
		migrationsTable: `CREATE TABLE IF NOT EXISTS %s (
			version    INTEGER PRIMARY KEY,
			applied_at TEXT NOT NULL
		)`,
		recordMigration: `INSERT INTO %s (version, applied_at) VALUES (?, ?)`,
		contains:        "instr(%s, ?) > 0",
	}
}

// Postgres is PostgreSQL's dialect (version 15 and later).
func Postgres() *Dialect {
	return &Dialect{
		name:     "postgres",
		postgres: true,
		migrationsTable: `CREATE TABLE IF NOT EXISTS %s (
			version    bigint      PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`,
		recordMigration: `INSERT INTO %s (version) VALUES (?)`,
		// READ COMMITTED, PostgreSQL's default, takes a new snapshot for
		// every statement: a read of several statements that must agree
		// asks for one.
		snapshot: &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
		contains: "strpos(%s, ?) > 0",
	}
}

// Name is "sqlite" or "postgres".
func (d *Dialect) Name() string { return d.name }

// Postgres reports whether d is PostgreSQL's dialect.
func (d *Dialect) Postgres() bool { return d.postgres }

// Bind rewrites a statement written with ? placeholders for the dialect:
// on PostgreSQL ? becomes $1, $2, … in order, and ?N (SQLite's numbered
// form) becomes $N; a ? inside quotes is left alone.
func (d *Dialect) Bind(q string) string {
	if !d.postgres {
		return q
	}
	return rebind(q)
}

// Snapshot is the options of a read transaction whose statements all see
// one snapshot of the database (nil on SQLite, where every read
// transaction is one).
func (d *Dialect) Snapshot() *sql.TxOptions { return d.snapshot }

// Contains is the condition that column col contains the text of the next
// argument.
func (d *Dialect) Contains(col string) string { return strings.Replace(d.contains, "%s", col, 1) }

// lock takes the transaction-level lock key: on PostgreSQL
// pg_advisory_xact_lock, held until the transaction ends; on SQLite
// nothing, since a write transaction (BEGIN IMMEDIATE) holds the
// database's one write lock from its start.
func (d *Dialect) lock(ctx context.Context, tx *sql.Tx, key int64) error {
	if !d.postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, key)
	return err
}

// migrationArgs are the arguments of recordMigration for version.
func (d *Dialect) migrationArgs(version int) []any {
	if d.postgres {
		return []any{version}
	}
	return []any{version, time.Now().UTC().Format(time.RFC3339Nano)}
}

// rebind turns the ? placeholders of q into $1, $2, …, leaving ? inside
// quoted strings and identifiers alone. ?NNN becomes $NNN.
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
			b.WriteByte(c)
		case c == '\'' || c == '"':
			quote = c
			b.WriteByte(c)
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			if j > i+1 {
				b.WriteString("$" + q[i+1:j])
				i = j - 1
				continue
			}
			n++
			b.WriteString("$" + strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
