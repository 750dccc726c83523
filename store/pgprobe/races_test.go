package pgprobe

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// store/sqlite keeps several invariants only because SQLite has one
// writer at a time (one writer connection, BEGIN IMMEDIATE): a
// transaction's reads cannot be overtaken by another writer. On
// PostgreSQL (READ COMMITTED, the default) two nodes can interleave. Each
// case shows the interleaving breaking the invariant, step by step on two
// connections, and the remedy working.
func TestReadCommittedRaces(t *testing.T) {
	t.Parallel()
	pg := server(t)

	begin := func(t *testing.T, conn *pgx.Conn, opts pgx.TxOptions) pgx.Tx {
		t.Helper()
		tx, err := conn.BeginTx(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tx.Rollback(context.Background()) })
		return tx
	}
	affected := func(t *testing.T, tx pgx.Tx, q string, args ...any) int64 {
		t.Helper()
		tag, err := tx.Exec(t.Context(), q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return tag.RowsAffected()
	}
	count := func(t *testing.T, q pgx.Tx, query string) int {
		t.Helper()
		var n int
		if err := q.QueryRow(t.Context(), query).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	commit := func(t *testing.T, tx pgx.Tx) error {
		t.Helper()
		return tx.Commit(t.Context())
	}
	// setup gives a case its own database with store/sqlite's users,
	// calls and audit_log columns, and two connections: two nodes.
	setup := func(t *testing.T) (a, b, admin *pgx.Conn) {
		url := pg.NewDatabase(t)
		a, b, admin = connect(t, url), connect(t, url), connect(t, url)
		exec(t, a,
			`CREATE TABLE users (username text PRIMARY KEY, role text NOT NULL, disabled boolean NOT NULL DEFAULT false)`,
			`CREATE TABLE calls (id text PRIMARY KEY, answered_at bigint, answered_by text)`,
			`CREATE TABLE audit_log (seq bigint PRIMARY KEY, hash text NOT NULL)`,
			`INSERT INTO calls (id) VALUES ('c1')`)
		return a, b, admin
	}
	const firstUser = `INSERT INTO users (username, role) SELECT $1, 'admin' WHERE NOT EXISTS (SELECT 1 FROM users)`

	t.Run("CreateFirstUser makes two first users", func(t *testing.T) {
		t.Parallel()
		a, b, _ := setup(t)
		txA, txB := begin(t, a, pgx.TxOptions{}), begin(t, b, pgx.TxOptions{})
		nA := affected(t, txA, firstUser, "alice")
		nB := affected(t, txB, firstUser, "bob") // does not see alice: not committed
		if err := commit(t, txA); err != nil {
			t.Fatal(err)
		}
		if err := commit(t, txB); err != nil {
			t.Fatal(err)
		}
		if nA != 1 || nB != 1 {
			t.Fatalf("inserted %d and %d; the race did not happen", nA, nB)
		}
	})
	t.Run("CreateFirstUser under an advisory lock makes one", func(t *testing.T) {
		t.Parallel()
		a, b, admin := setup(t)
		const lock = `SELECT pg_advisory_xact_lock(42)`
		txA := begin(t, a, pgx.TxOptions{})
		affected(t, txA, lock)
		nA := affected(t, txA, firstUser, "alice")
		res := make(chan int64, 1)
		go func() {
			// A statement after the lock takes a snapshot after txA's
			// commit, under READ COMMITTED.
			txB, err := b.Begin(context.Background())
			if err != nil {
				res <- -1
				return
			}
			defer txB.Rollback(context.Background())
			if _, err := txB.Exec(context.Background(), lock); err != nil {
				res <- -1
				return
			}
			tag, err := txB.Exec(context.Background(), firstUser, "bob")
			if err != nil || txB.Commit(context.Background()) != nil {
				res <- -1
				return
			}
			res <- tag.RowsAffected()
		}()
		waitBlocked(t, admin, b.PgConn().PID())
		if err := commit(t, txA); err != nil {
			t.Fatal(err)
		}
		if nB := <-res; nA != 1 || nB != 0 {
			t.Fatalf("inserted %d and %d; want 1 and 0", nA, nB)
		}
	})
	t.Run("the last-admin check lets two demotions leave no admin", func(t *testing.T) {
		t.Parallel()
		a, b, _ := setup(t)
		exec(t, a, `INSERT INTO users VALUES ('alice', 'admin', false), ('bob', 'admin', false)`)
		const admins = `SELECT COUNT(*) FROM users WHERE role = 'admin' AND NOT disabled`
		txA, txB := begin(t, a, pgx.TxOptions{}), begin(t, b, pgx.TxOptions{})
		affected(t, txA, `UPDATE users SET role = 'viewer' WHERE username = 'alice'`)
		affected(t, txB, `UPDATE users SET role = 'viewer' WHERE username = 'bob'`)
		if count(t, txA, admins) != 1 || count(t, txB, admins) != 1 {
			t.Fatal("each should still see one admin")
		}
		if commit(t, txA) != nil || commit(t, txB) != nil {
			t.Fatal("commit")
		}
		var left int
		if err := a.QueryRow(t.Context(), admins).Scan(&left); err != nil || left != 0 {
			t.Fatalf("%d admins left, %v; the race did not happen", left, err)
		}
	})
	t.Run("SERIALIZABLE refuses the second demotion", func(t *testing.T) {
		t.Parallel()
		a, b, _ := setup(t)
		exec(t, a, `INSERT INTO users VALUES ('alice', 'admin', false), ('bob', 'admin', false)`)
		const admins = `SELECT COUNT(*) FROM users WHERE role = 'admin' AND NOT disabled`
		ser := pgx.TxOptions{IsoLevel: pgx.Serializable}
		txA, txB := begin(t, a, ser), begin(t, b, ser)
		count(t, txA, admins)
		count(t, txB, admins)
		affected(t, txA, `UPDATE users SET role = 'viewer' WHERE username = 'alice'`)
		affected(t, txB, `UPDATE users SET role = 'viewer' WHERE username = 'bob'`)
		count(t, txA, admins)
		count(t, txB, admins)
		errA, errB := commit(t, txA), commit(t, txB)
		if errA != nil || code(errB) != "40001" {
			t.Fatalf("commits: %v, %v; want nil and serialization_failure (40001)", errA, errB)
		}
	})
	t.Run("audit Append: two nodes read the same last seq", func(t *testing.T) {
		t.Parallel()
		a, b, _ := setup(t)
		const last = `SELECT COALESCE(MAX(seq), 0) FROM audit_log`
		txA, txB := begin(t, a, pgx.TxOptions{}), begin(t, b, pgx.TxOptions{})
		seqA, seqB := count(t, txA, last)+1, count(t, txB, last)+1
		affected(t, txA, `INSERT INTO audit_log VALUES ($1, 'a')`, seqA)
		if err := commit(t, txA); err != nil {
			t.Fatal(err)
		}
		_, err := txB.Exec(t.Context(), `INSERT INTO audit_log VALUES ($1, 'b')`, seqB)
		if seqA != seqB || code(err) != "23505" {
			t.Fatalf("seqs %d, %d; second insert: %v; want the same seq and unique_violation (23505)", seqA, seqB, err)
		}
	})
	t.Run("AnswerCall: read-then-update lets the second answer overwrite the first", func(t *testing.T) {
		t.Parallel()
		a, b, _ := setup(t)
		const read = `SELECT COUNT(*) FROM calls WHERE id = 'c1' AND answered_at IS NOT NULL`
		txA, txB := begin(t, a, pgx.TxOptions{}), begin(t, b, pgx.TxOptions{})
		if count(t, txA, read) != 0 || count(t, txB, read) != 0 {
			t.Fatal("answered already")
		}
		affected(t, txA, `UPDATE calls SET answered_at = 1, answered_by = 'alice' WHERE id = 'c1'`)
		if err := commit(t, txA); err != nil {
			t.Fatal(err)
		}
		affected(t, txB, `UPDATE calls SET answered_at = 2, answered_by = 'bob' WHERE id = 'c1'`)
		if err := commit(t, txB); err != nil {
			t.Fatal(err)
		}
		var by string
		if err := a.QueryRow(t.Context(), `SELECT answered_by FROM calls WHERE id = 'c1'`).Scan(&by); err != nil || by != "bob" {
			t.Fatalf("answered by %q, %v; the race did not happen", by, err)
		}
	})
	t.Run("AnswerCall: a conditional UPDATE has one winner", func(t *testing.T) {
		t.Parallel()
		a, b, admin := setup(t)
		const answer = `UPDATE calls SET answered_at = $1, answered_by = $2 WHERE id = 'c1' AND answered_at IS NULL`
		txA := begin(t, a, pgx.TxOptions{})
		nA := affected(t, txA, answer, 1, "alice")
		res := make(chan int64, 1)
		go func() {
			tag, err := b.Exec(context.Background(), answer, 2, "bob") // waits for txA's row lock
			if err != nil {
				res <- -1
				return
			}
			res <- tag.RowsAffected()
		}()
		waitBlocked(t, admin, b.PgConn().PID())
		if err := commit(t, txA); err != nil {
			t.Fatal(err)
		}
		// After the wait PostgreSQL checks the WHERE again on the row txA
		// wrote: answered_at is set, so bob's answer changes nothing.
		if nB := <-res; nA != 1 || nB != 0 {
			t.Fatalf("rows %d and %d; want 1 and 0", nA, nB)
		}
	})
	t.Run("a READ COMMITTED read transaction is no snapshot; REPEATABLE READ is", func(t *testing.T) {
		t.Parallel()
		a, b, _ := setup(t)
		const calls = `SELECT COUNT(*) FROM calls`
		for _, tc := range []struct {
			iso  pgx.TxIsoLevel
			same bool
		}{{pgx.ReadCommitted, false}, {pgx.RepeatableRead, true}} {
			tx := begin(t, a, pgx.TxOptions{IsoLevel: tc.iso, AccessMode: pgx.ReadOnly})
			before := count(t, tx, calls)
			exec(t, b, `INSERT INTO calls (id) VALUES ('c-`+string(tc.iso)+`')`)
			after := count(t, tx, calls)
			if (before == after) != tc.same {
				t.Errorf("%s: %d calls, then %d within one transaction", tc.iso, before, after)
			}
			tx.Rollback(t.Context())
		}
	})
}
