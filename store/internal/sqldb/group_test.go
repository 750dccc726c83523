package sqldb

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"yujing/internal/testenv"
)

// kvMigrations is the schema of the group commit tests: k is unique, so a
// second insert of a key fails with a constraint error.
var kvMigrations = []string{`CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`}

const insertKV = `INSERT INTO kv (k, v) VALUES (?, ?)`

// kvFile is a SQLite file of the kv schema, opened as the state opens its
// own: a group-committing writer and a reader pool.
type kvFile struct {
	path string
	w, r *DB
}

func openKV(t *testing.T, path string) *kvFile {
	t.Helper()
	w, r, err := OpenSQLite(t.Context(), "kv", path, SyncFull, kvMigrations)
	if err != nil {
		t.Fatal(err)
	}
	f := &kvFile{path: path, w: NewWriter(w, SQLite()), r: NewDB(r, SQLite())}
	if err := f.w.Prepare(t.Context(), insertKV); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.close(t) })
	return f
}

func (f *kvFile) close(t *testing.T) {
	t.Helper()
	if f.w == nil {
		return
	}
	if err := errors.Join(f.w.Close(), f.r.Close()); err != nil {
		t.Error(err)
	}
	f.w, f.r = nil, nil
}

// keys returns the keys stored, read through the reader pool.
func (f *kvFile) keys(t *testing.T) map[string]bool {
	t.Helper()
	rows, err := f.r.QueryContext(t.Context(), `SELECT k FROM kv`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		out[k] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *kvFile) has(t *testing.T, k string) bool {
	t.Helper()
	var n int
	if err := f.r.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM kv WHERE k = ?`, k).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// hold makes a write that keeps the writer busy until release is called,
// so that the writes started meanwhile queue for one batch.
func (f *kvFile) hold(t *testing.T) (release func()) {
	t.Helper()
	started, released, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- f.w.Write(t.Context(), func(ctx context.Context, tx *Tx) error {
			close(started)
			<-released
			_, err := tx.ExecContext(ctx, insertKV, "holder", 0)
			return err
		})
	}()
	<-started
	return func() {
		close(released)
		if err := <-done; err != nil {
			t.Errorf("holder: %v", err)
		}
	}
}

// waitQueued waits until n writes queue for the writer's next batch.
func (f *kvFile) waitQueued(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for f.w.queued() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", f.w.queued(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

var errMiss = errors.New("conditional write found nothing to change")

// TestGroupCommit: writes started while a commit is in flight are made
// in one transaction, each is visible when its Write returns and after
// the file is closed and opened again, and a write that fails (a
// constraint error after a first insert; a conditional miss after an
// insert) fails only its caller, leaving nothing of itself behind. On
// the code before group commit every write was a commit of its own.
func TestGroupCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kv.db")
	f := openKV(t, path)
	before := f.w.WriteStats()
	release := f.hold(t)

	const writers = 40
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			k := fmt.Sprint("k", i)
			errs[i] = f.w.Write(t.Context(), func(ctx context.Context, tx *Tx) error {
				if _, err := tx.ExecContext(ctx, insertKV, k, i); err != nil {
					return err
				}
				switch i {
				case 7: // a constraint error after its first insert
					_, err := tx.ExecContext(ctx, insertKV, "k0-of-7", i)
					if err != nil {
						return err
					}
					_, err = tx.ExecContext(ctx, insertKV, "k0-of-7", i)
					return err
				case 13: // a conditional write that found nothing, ErrAnswered-style
					return errMiss
				}
				return nil
			})
			if errs[i] == nil && !f.has(t, k) {
				t.Errorf("%s not visible when its Write returned", k)
			}
		})
	}
	f.waitQueued(t, writers)
	release()
	wg.Wait()

	for i, err := range errs {
		switch i {
		case 7:
			if err == nil || !strings.Contains(err.Error(), "UNIQUE constraint failed") {
				t.Errorf("writer 7: %v, want its constraint error", err)
			}
		case 13:
			if !errors.Is(err, errMiss) {
				t.Errorf("writer 13: %v, want errMiss", err)
			}
		default:
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
		}
	}
	stats := f.w.WriteStats()
	if got := stats.Commits - before.Commits; got != 2 {
		t.Errorf("%d commits for the holder and %d writes queued behind it, want 2", got, writers)
	}
	if got := stats.Writes - before.Writes; got != writers+1 {
		t.Errorf("%d writes counted, want %d", got, writers+1)
	}
	f.close(t)

	f = openKV(t, path)
	keys := f.keys(t)
	for i := range writers {
		k := fmt.Sprint("k", i)
		if want := i != 7 && i != 13; keys[k] != want {
			t.Errorf("after reopening, %s stored: %v, want %v", k, keys[k], want)
		}
	}
	if keys["k0-of-7"] || !keys["holder"] || len(keys) != writers-2+1 {
		t.Errorf("after reopening: %v", keys)
	}
}

// TestGroupCommitBrokenTransaction: when the shared transaction fails as
// a whole (here a write ends it under the batch's feet), nothing of it
// is kept and every write is made again alone: all but the culprit land.
func TestGroupCommitBrokenTransaction(t *testing.T) {
	f := openKV(t, filepath.Join(t.TempDir(), "kv.db"))
	before := f.w.WriteStats()
	release := f.hold(t)
	const writers = 10
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			errs[i] = f.w.Write(t.Context(), func(ctx context.Context, tx *Tx) error {
				if i == 4 {
					if _, err := tx.ExecContext(ctx, `ROLLBACK`); err != nil {
						return err
					}
					return errMiss
				}
				_, err := tx.ExecContext(ctx, insertKV, fmt.Sprint("k", i), i)
				return err
			})
		})
	}
	f.waitQueued(t, writers)
	release()
	wg.Wait()
	keys := f.keys(t)
	for i, err := range errs {
		k := fmt.Sprint("k", i)
		if i == 4 {
			if !errors.Is(err, errMiss) || keys[k] {
				t.Errorf("writer 4: %v, stored %v", err, keys[k])
			}
			continue
		}
		if err != nil || !keys[k] {
			t.Errorf("writer %d: %v, stored %v", i, err, keys[k])
		}
	}
	if got := f.w.WriteStats().Commits - before.Commits; got != writers {
		t.Errorf("%d commits, want %d: the holder's and one for each write made again alone", got, writers)
	}
}

// TestGroupCommitCancelledWhileQueued: a caller that gives up while its
// write waits for a batch gets its context's error and its write is not
// made; the others are.
func TestGroupCommitCancelledWhileQueued(t *testing.T) {
	f := openKV(t, filepath.Join(t.TempDir(), "kv.db"))
	release := f.hold(t)
	ctx, cancel := context.WithCancel(t.Context())
	gaveUp := make(chan error, 1)
	go func() {
		gaveUp <- f.w.Write(ctx, func(ctx context.Context, tx *Tx) error {
			_, err := tx.ExecContext(ctx, insertKV, "cancelled", 0)
			return err
		})
	}()
	f.waitQueued(t, 1)
	stays := make(chan error, 1)
	go func() {
		stays <- f.w.Write(t.Context(), func(ctx context.Context, tx *Tx) error {
			_, err := tx.ExecContext(ctx, insertKV, "kept", 0)
			return err
		})
	}()
	f.waitQueued(t, 2)
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled write: %v", err)
	}
	release()
	if err := <-stays; err != nil {
		t.Error(err)
	}
	if keys := f.keys(t); keys["cancelled"] || !keys["kept"] {
		t.Errorf("stored %v, want kept and holder", keys)
	}
}

// TestPreparedStatements: a statement given to Prepare is run prepared,
// on the pool and in a transaction, with its ? placeholders rebound and
// its text cleaned, on SQLite and on PostgreSQL.
func TestPreparedStatements(t *testing.T) {
	const (
		insert = `INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO NOTHING`
		read   = `SELECT v FROM kv WHERE k = ?`
	)
	run := func(t *testing.T, db *DB) {
		if err := db.Prepare(t.Context(), insert, read); err != nil {
			t.Fatal(err)
		}
		if !db.prepared(insert) || !db.prepared(read) || db.prepared(`SELECT 1`) {
			t.Fatal("the statement cache does not hold what was prepared")
		}
		if _, err := db.WriteExec(t.Context(), insert, "a\x00", 1); err != nil {
			t.Fatal(err)
		}
		err := db.Write(t.Context(), func(ctx context.Context, tx *Tx) error {
			var v int
			if err := tx.QueryRowContext(ctx, read, "a\uFFFD").Scan(&v); err != nil || v != 1 {
				return fmt.Errorf("read in the transaction: %d, %w", v, err)
			}
			res, err := tx.ExecContext(ctx, insert, "b", 2)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); n != 1 || err != nil {
				return fmt.Errorf("inserted %d rows, %w", n, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var v int
		if err := db.QueryRowContext(t.Context(), read, "b").Scan(&v); err != nil || v != 2 {
			t.Fatalf("read on the pool: %d, %v", v, err)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		f := openKV(t, filepath.Join(t.TempDir(), "kv.db"))
		run(t, f.w)
	})
	t.Run("postgres", func(t *testing.T) {
		pg := testenv.StartPostgres(t)
		raw, _, err := OpenPostgres(t.Context(), pg.URL, PostgresOptions{MaxConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		if err := Migrate(t.Context(), raw, Postgres(), MigrationsTable, kvMigrations); err != nil {
			t.Fatal(err)
		}
		db := NewDB(raw, Postgres())
		defer db.Close()
		run(t, db)
	})
}
