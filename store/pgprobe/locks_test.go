package pgprobe

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Advisory lock keys are int64s the application picks; one constant per
// purpose, so that no two purposes collide.
const (
	lockMigrate   int64 = 0x79756a696e670001 // "yujing" + 1: schema migrations
	lockSingleton int64 = 0x79756a696e670002 // a singleton job
)

// A session-level advisory lock belongs to the connection that took it:
// another connection cannot have it, and it is released when its
// connection ends, also when that connection dies without a word.
func TestAdvisoryLockSession(t *testing.T) {
	t.Parallel()
	pg := server(t)
	a, b := connect(t, pg.URL), connect(t, pg.URL)
	super := connect(t, pg.SuperuserURL)
	try := func(c *pgx.Conn) bool {
		t.Helper()
		var got bool
		if err := c.QueryRow(t.Context(), `SELECT pg_try_advisory_lock($1)`, lockSingleton).Scan(&got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if !try(a) {
		t.Fatal("a could not take a free lock")
	}
	if try(b) {
		t.Fatal("b took the lock a holds")
	}
	// a's backend is killed (its node lost the network; an operator ended
	// it). pg_terminate_backend with a timeout waits for the backend to be
	// gone (PostgreSQL 14+), and with it the lock.
	var ended bool
	if err := super.QueryRow(t.Context(), `SELECT pg_terminate_backend($1, 10000)`, int32(a.PgConn().PID())).Scan(&ended); err != nil || !ended {
		t.Fatalf("terminate a: %v %v", ended, err)
	}
	if !try(b) {
		t.Fatal("b could not take the lock after a's connection ended")
	}
	// a finds out only when it next uses its connection.
	if err := a.Ping(t.Context()); err == nil {
		t.Fatal("a's connection still works after it was terminated")
	}
}

// A transaction-level advisory lock is released at commit or rollback.
func TestAdvisoryLockTransaction(t *testing.T) {
	t.Parallel()
	pg := server(t)
	a, b := connect(t, pg.URL), connect(t, pg.URL)
	tx, err := a.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), `SELECT pg_advisory_xact_lock($1)`, lockMigrate); err != nil {
		t.Fatal(err)
	}
	var got bool
	if err := b.QueryRow(t.Context(), `SELECT pg_try_advisory_xact_lock($1)`, lockMigrate).Scan(&got); err != nil || got {
		t.Fatalf("b took a's transaction lock: %v %v", got, err)
	}
	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRow(t.Context(), `SELECT pg_try_advisory_xact_lock($1)`, lockMigrate).Scan(&got); err != nil || !got {
		t.Fatalf("b could not take the lock after a's rollback: %v %v", got, err)
	}
}

// SELECT … FOR UPDATE SKIP LOCKED: two workers claiming due work at the
// same time get disjoint rows, and nothing that is not due.
func TestSkipLocked(t *testing.T) {
	t.Parallel()
	pg := server(t)
	a, b := connect(t, pg.URL), connect(t, pg.URL)
	exec(t, a, `CREATE TABLE due_steps (
			id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			due_at     timestamptz NOT NULL,
			claimed_by text,
			claimed_until timestamptz
		)`,
		`CREATE INDEX due_steps_due ON due_steps (due_at) WHERE claimed_by IS NULL`,
		`INSERT INTO due_steps (due_at) SELECT now() - make_interval(secs => g) FROM generate_series(1, 10) g`,
		`INSERT INTO due_steps (due_at) SELECT now() + interval '1 hour' FROM generate_series(1, 5)`)
	const claim = `SELECT id FROM due_steps WHERE due_at <= now() AND claimed_by IS NULL
		ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED`
	ids := func(tx pgx.Tx, limit int) []int64 {
		t.Helper()
		rows, err := tx.Query(t.Context(), claim, limit)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	txA, err := a.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer txA.Rollback(context.Background())
	txB, err := b.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer txB.Rollback(context.Background())
	gotA := ids(txA, 4)
	gotB := ids(txB, 100) // while a holds its rows: b skips them, without waiting
	all := append(slices.Clone(gotA), gotB...)
	slices.Sort(all)
	if len(gotA) != 4 || len(gotB) != 6 || len(slices.Compact(all)) != 10 {
		t.Fatalf("a claimed %v, b claimed %v; want 4 and the other 6 of the 10 due", gotA, gotB)
	}
	// The one-statement form: claim and mark with a visibility timeout, so
	// a claimer that dies leaves the step to be claimed again later.
	if err := txA.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := txB.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	tag, err := a.Exec(t.Context(), `UPDATE due_steps SET claimed_by = 'node-a', claimed_until = now() + interval '30 seconds'
		WHERE id IN (SELECT id FROM due_steps WHERE due_at <= now() AND claimed_by IS NULL
			ORDER BY due_at LIMIT 3 FOR UPDATE SKIP LOCKED)`)
	if err != nil || tag.RowsAffected() != 3 {
		t.Fatalf("claim-and-mark: %v rows, %v", tag.RowsAffected(), err)
	}
}

// Schema migrations with several nodes starting at once: each migration
// runs in a transaction that first takes a transaction-level advisory
// lock and then reads the version, so every version is applied once, by
// one node, and the others wait and then find nothing to do. Without the
// lock, even CREATE TABLE IF NOT EXISTS can fail when two run at once
// (a unique violation in pg_type).
func TestMigrationsConcurrent(t *testing.T) {
	t.Parallel()
	pg := server(t)
	migrations := []string{
		`CREATE TABLE alerts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, rule text NOT NULL);
		 CREATE INDEX alerts_rule ON alerts (rule);`,
		`ALTER TABLE alerts ADD COLUMN overdue_at bigint;`,
		`CREATE TABLE leases (name text PRIMARY KEY, holder text NOT NULL, token bigint NOT NULL, expires_at timestamptz NOT NULL);`,
	}
	const nodes = 4
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	start := make(chan struct{})
	for i := range nodes {
		db := openDB(t, pg.URL) // each node its own pool
		wg.Go(func() {
			<-start
			errs[i] = migrate(t.Context(), db, migrations)
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	conn := connect(t, pg.URL)
	rows, err := conn.Query(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(versions, []int64{1, 2, 3}) {
		t.Fatalf("schema_migrations holds %v; want each of 1, 2, 3 once", versions)
	}

	// DDL is transactional: a migration that fails half-way leaves
	// nothing behind and is not recorded.
	bad := append(slices.Clone(migrations), `CREATE TABLE half (id int); CREATE TABLE half (id int);`)
	if err := migrate(t.Context(), openDB(t, pg.URL), bad); err == nil {
		t.Fatal("a failing migration: no error")
	}
	var half bool
	if err := conn.QueryRow(t.Context(), `SELECT to_regclass('half') IS NOT NULL`).Scan(&half); err != nil || half {
		t.Fatalf("table of the failed migration exists: %v %v", half, err)
	}
}

// migrate is store/sqlite's migrate for PostgreSQL: one transaction per
// migration, the advisory lock first, then the version.
func migrate(ctx context.Context, db *sql.DB, migrations []string) error {
	for {
		done, err := migrateOne(ctx, db, migrations)
		if err != nil || done {
			return err
		}
	}
}

func migrateOne(ctx context.Context, db *sql.DB, migrations []string) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockMigrate); err != nil {
		return false, fmt.Errorf("migrate: lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    bigint PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return false, err
	}
	switch {
	case version > len(migrations):
		return false, fmt.Errorf("schema version %d is newer than this build knows (%d)", version, len(migrations))
	case version == len(migrations):
		return true, nil
	}
	// No arguments: pgx sends it with the simple protocol, which takes
	// several statements in one string, as SQLite's Exec does.
	if _, err := tx.ExecContext(ctx, migrations[version]); err != nil {
		return false, fmt.Errorf("migration %d: %w", version+1, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, version+1); err != nil {
		return false, err
	}
	return false, tx.Commit()
}
