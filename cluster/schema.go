package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// migrations is the cluster's schema for PostgreSQL, one entry per version,
// oldest first: append, never edit. Every statement is IF NOT EXISTS, so
// that the entries can also be appended to the store's own migration list
// in a database Migrate has already brought up to date.
var migrations = [...]string{
	// 1: the node registry and the leases.
	`CREATE TABLE IF NOT EXISTS nodes (
	id           text        PRIMARY KEY,            -- <hostname>/<16 hex digits>, new at every start
	hostname     text        NOT NULL,
	partitions   integer     NOT NULL,               -- the node's Config.Partitions
	started_at   timestamptz NOT NULL DEFAULT now(),
	heartbeat    timestamptz NOT NULL DEFAULT now(), -- last heartbeat, the database's clock
	expires_at   timestamptz NOT NULL,               -- heartbeat + the node's ttl: live while in the future
	config_hash  text        NOT NULL DEFAULT '',
	reload_at    timestamptz,                        -- last reload, NULL before the first
	reload_error text        NOT NULL DEFAULT ''     -- its error, '' when it succeeded
);
CREATE TABLE IF NOT EXISTS leases (
	name       text        PRIMARY KEY,  -- partition/<n> or leader
	holder     text        NOT NULL,     -- a nodes.id, '' once released
	fence      bigint      NOT NULL,     -- grows by one at every take
	expires_at timestamptz NOT NULL,     -- held while in the future; -infinity once released
	taken_at   timestamptz NOT NULL,
	taken_from text        NOT NULL DEFAULT '' -- the holder whose expired lease was taken ('' when it was free)
);`,
}

// Migrations returns the cluster's schema for PostgreSQL as versioned SQL,
// oldest first; entry i is version i+1. Each entry takes no arguments and
// may hold several statements (pgx runs an argument-less Exec with the
// simple protocol). A store that keeps its own migration list may append
// these to it; every statement is IF NOT EXISTS, so a database Migrate set
// up before is taken over without error.
func Migrations() []string { return slices.Clone(migrations[:]) }

// migrateLock is the key of the transaction-level advisory lock taken by
// each migration transaction: "yujing" followed by "cm" (cluster migrate).
const migrateLock int64 = 0x79756a696e67636d

// versionTable records the versions of Migrations applied by Migrate.
const versionTable = "cluster_schema_migrations"

// Beginner is what Migrate needs of a pool or a connection.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Migrate applies the versions of Migrations that db has not recorded, each
// in its own transaction, and returns how many it applied. Each
// transaction first takes an advisory lock, then reads the version, so
// several nodes starting at once apply each version once: the others wait
// and then find nothing to do. A database at a version newer than this
// build knows is refused.
func Migrate(ctx context.Context, db Beginner) (applied int, err error) {
	return migrate(ctx, db, versionTable, migrateLock, Migrations())
}

func migrate(ctx context.Context, db Beginner, table string, lock int64, list []string) (int, error) {
	applied := 0
	for {
		done, err := migrateOne(ctx, db, table, lock, list)
		if err != nil || done {
			return applied, err
		}
		applied++
	}
}

// migrateOne applies the next version, if any, in one transaction.
func migrateOne(ctx context.Context, db Beginner, table string, lock int64, list []string) (done bool, err error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("cluster: migrate: %w", err)
	}
	defer func() {
		if rerr := tx.Rollback(context.WithoutCancel(ctx)); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) && err == nil {
			err = fmt.Errorf("cluster: migrate: rollback: %w", rerr)
		}
	}()
	// The lock comes first: even CREATE TABLE IF NOT EXISTS fails when two
	// run at once (a unique violation in pg_type).
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lock); err != nil {
		return false, fmt.Errorf("cluster: migrate: lock: %w", err)
	}
	ident := pgx.Identifier{table}.Sanitize()
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+ident+` (
		version    bigint      PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return false, fmt.Errorf("cluster: migrate: %s: %w", table, err)
	}
	var version int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+ident).Scan(&version); err != nil {
		return false, fmt.Errorf("cluster: migrate: %s: %w", table, err)
	}
	switch {
	case version > len(list):
		return false, fmt.Errorf("cluster: migrate: %s: schema version %d is newer than this build knows (%d)", table, version, len(list))
	case version == len(list):
		return true, nil
	}
	if _, err := tx.Exec(ctx, list[version]); err != nil {
		return false, fmt.Errorf("cluster: migrate: version %d: %w", version+1, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO `+ident+` (version) VALUES ($1)`, version+1); err != nil {
		return false, fmt.Errorf("cluster: migrate: %s: record version %d: %w", table, version+1, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("cluster: migrate: version %d: commit: %w", version+1, err)
	}
	return false, nil
}
