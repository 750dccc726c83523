package pgprobe

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The lease of a partition of sensors (or of a singleton job: scheduled
// ticks, summaries): one row per lease, its holder, a fencing token that
// grows at every change of holder, and an expiry on the database's clock.
const leaseSchema = `CREATE TABLE leases (
	name       text        PRIMARY KEY,
	holder     text        NOT NULL,
	token      bigint      NOT NULL,
	expires_at timestamptz NOT NULL
)`

// acquireLease takes or renews the lease name for holder for ttl. It
// succeeds when nobody holds it, the holder is holder (a renewal: the
// token stays), or the lease has expired (a takeover: the token grows).
// Every time is the database's now(): the nodes' clocks do not matter.
const acquireLease = `INSERT INTO leases AS l (name, holder, token, expires_at)
	VALUES ($1, $2, 1, now() + make_interval(secs => $3))
	ON CONFLICT (name) DO UPDATE SET
		holder     = excluded.holder,
		token      = CASE WHEN l.holder = excluded.holder THEN l.token ELSE l.token + 1 END,
		expires_at = excluded.expires_at
	WHERE l.holder = excluded.holder OR l.expires_at <= now()
	RETURNING token, extract(epoch FROM l.expires_at - now())::float8`

// acquire runs acquireLease; ok is false when another holder has it.
func acquire(t *testing.T, conn *pgx.Conn, name, holder string, ttl time.Duration) (token int64, left time.Duration, ok bool) {
	t.Helper()
	var secs float64
	err := conn.QueryRow(t.Context(), acquireLease, name, holder, ttl.Seconds()).Scan(&token, &secs)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, false
	}
	if err != nil {
		t.Fatalf("acquire %s for %s: %v", name, holder, err)
	}
	return token, time.Duration(secs * float64(time.Second)), true
}

// fencedStep advances an escalation only while holder holds the lease
// with token: the write and the check are one transaction, and FOR SHARE
// on the lease row makes a takeover wait until the write has committed,
// so the next holder reads the state after it.
func fencedStep(ctx context.Context, conn *pgx.Conn, lease, holder string, token, escalation int64) (bool, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(ctx)
	var held bool
	err = tx.QueryRow(ctx, `SELECT true FROM leases WHERE name = $1 AND holder = $2 AND token = $3
		AND expires_at > now() FOR SHARE`, lease, holder, token).Scan(&held)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil // lost the lease: do nothing
	}
	if err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, `UPDATE escalations SET step = step + 1, fence = $2 WHERE id = $1`, escalation, token); err != nil {
		return false, err
	}
	return true, tx.Commit(ctx)
}

func TestLeases(t *testing.T) {
	t.Parallel()
	pg := server(t)
	a, b := connect(t, pg.URL), connect(t, pg.URL) // two nodes
	exec(t, a, leaseSchema,
		`CREATE TABLE escalations (id bigint PRIMARY KEY, step int NOT NULL, fence bigint NOT NULL DEFAULT 0)`,
		`INSERT INTO escalations (id, step) VALUES (1, 1)`)
	const ttl = 15 * time.Second
	const lease = "partition/7"

	tokA, left, ok := acquire(t, a, lease, "node-a/boot-1", ttl)
	if !ok || tokA != 1 || left <= 0 || left > ttl {
		t.Fatalf("first acquire: token %d, %v left, ok %v; want token 1, (0, %v] left", tokA, left, ok, ttl)
	}
	if _, _, ok := acquire(t, b, lease, "node-b/boot-1", ttl); ok {
		t.Fatal("node b took a lease node a holds")
	}
	if tok, _, ok := acquire(t, a, lease, "node-a/boot-1", ttl); !ok || tok != tokA {
		t.Fatalf("renewal: token %d, ok %v; want %d (a renewal keeps the token)", tok, ok, tokA)
	}
	if ok, err := fencedStep(t.Context(), a, lease, "node-a/boot-1", tokA, 1); !ok || err != nil {
		t.Fatalf("node a's fenced step while holding the lease: %v %v", ok, err)
	}

	// Node a pauses (GC, a frozen VM) past its lease. Its expiry is moved
	// into the past on the database's clock, as the passing of ttl would.
	exec(t, b, `UPDATE leases SET expires_at = now() - interval '1 second' WHERE name = 'partition/7'`)
	if ok, err := fencedStep(t.Context(), a, lease, "node-a/boot-1", tokA, 1); ok || err != nil {
		t.Fatalf("node a's fenced step after its lease expired: ok %v, %v; want refused", ok, err)
	}
	tokB, _, ok := acquire(t, b, lease, "node-b/boot-1", ttl)
	if !ok || tokB != tokA+1 {
		t.Fatalf("takeover by node b: token %d, ok %v; want %d", tokB, ok, tokA+1)
	}
	// Node a wakes up and tries again with its old token: refused.
	if ok, err := fencedStep(t.Context(), a, lease, "node-a/boot-1", tokA, 1); ok || err != nil {
		t.Fatalf("node a's fenced step after the takeover: ok %v, %v; want refused", ok, err)
	}
	if ok, err := fencedStep(t.Context(), b, lease, "node-b/boot-1", tokB, 1); !ok || err != nil {
		t.Fatalf("node b's fenced step: %v %v", ok, err)
	}
	var step, fence int64
	if err := b.QueryRow(t.Context(), `SELECT step, fence FROM escalations WHERE id = 1`).Scan(&step, &fence); err != nil {
		t.Fatal(err)
	}
	if step != 3 || fence != tokB {
		t.Fatalf("escalation at step %d, fence %d; want 3 (one step by a, one by b), %d", step, fence, tokB)
	}
}

// A takeover waits for a fenced write in progress: the new holder starts
// from the state after it, never beside it.
func TestLeaseTakeoverWaitsForFencedWrite(t *testing.T) {
	t.Parallel()
	pg := server(t)
	a, b, admin := connect(t, pg.URL), connect(t, pg.URL), connect(t, pg.URL)
	exec(t, a, leaseSchema)
	if _, _, ok := acquire(t, a, "job/daily-summary", "node-a", time.Minute); !ok {
		t.Fatal("acquire")
	}
	tx, err := a.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(t.Context(), `SELECT 1 FROM leases WHERE name = 'job/daily-summary' AND holder = 'node-a' FOR SHARE`); err != nil {
		t.Fatal(err)
	}
	// Node b ends a's lease (an operator, or its expiry check) while a's
	// write is open: it must wait.
	pid := b.PgConn().PID()
	done := make(chan error, 1)
	go func() {
		_, err := b.Exec(context.Background(), `UPDATE leases SET holder = 'node-b', token = token + 1 WHERE name = 'job/daily-summary'`)
		done <- err
	}()
	waitBlocked(t, admin, pid)
	select {
	case err := <-done:
		t.Fatalf("the takeover did not wait for the fenced write (err %v)", err)
	default:
	}
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("takeover after the write: %v", err)
	}
}

// waitBlocked returns once the backend pid waits for a lock.
func waitBlocked(t *testing.T, admin *pgx.Conn, pid uint32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting bool
		if err := admin.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted)`,
			int32(pid)).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("backend %d never waited for a lock", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
