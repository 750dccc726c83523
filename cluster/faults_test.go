package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"yujing/internal/testenv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// A paused node (its goroutines stop without releasing anything, and
// resume after its leases expired) finds its fenced writes refused, gives
// its old leases up as Lost, and rejoins with new fences.
func testPaused(t *testing.T, pg *testenv.Postgres) {
	ctx := t.Context()
	url := migrated(t, pg)
	hist := &history{}
	a := startNode(t, url, "a", hist)
	b := startNode(t, url, "b", hist)
	waitFor(t, 10*testTTL, "two nodes balanced", func() error { return balanced(32, a, b) })
	p := a.Owned()[0]
	old := a.held(PartitionLease(p))
	if err := fencedWrite(ctx, a.pool, old, p, "a"); err != nil {
		t.Fatalf("a fenced write before the pause: %v", err)
	}

	a.kill() // the pause
	waitFor(t, 2*failoverBound, "b holds every partition", func() error {
		if n := len(b.Owned()); n != 32 {
			return fmt.Errorf("b holds %d", n)
		}
		return nil
	})
	// a resumes where it was: about to write for partition p.
	err := fencedWrite(ctx, a.pool, old, p, "a")
	if !errors.Is(err, ErrFenced) {
		t.Fatalf("a fenced write after the pause: %v, want ErrFenced", err)
	}
	a.run()
	waitFor(t, 10*testPeriod, "a rejoined", func() error { return balanced(32, a, b) })
	hist.check(t)
	lost := a.releasesOf(Lost)
	if len(lost) < 16 {
		t.Errorf("a announced %d Lost releases (%v), want its 16 old partitions", len(lost), lost)
	}
	if got := a.metric(t, "yujing_cluster_fenced_refusals_total", kindPartition); got != 1 {
		t.Errorf("yujing_cluster_fenced_refusals_total %v, want 1", got)
	}
	q := a.Owned()[0]
	if l := a.held(PartitionLease(q)); fencedWrite(ctx, a.pool, l, q, "a") != nil {
		t.Fatalf("a cannot write with its new lease")
	}
	var stale int
	if err := a.pool.QueryRow(ctx, `SELECT count(*) FROM writes WHERE partition = $1 AND fence = $2`, p, old.Fence).Scan(&stale); err != nil || stale != 1 {
		t.Fatalf("%d writes with the old fence (%v), want 1: the one before the pause", stale, err)
	}
}

// A node whose lease the database let go while its own clock stood still
// (a frozen VM resumes; its monotonic deadline has not passed) is stopped
// by the database: the fenced write is refused, and the renewal finds the
// lease gone. The freeze is a stop of the node's goroutines while the
// test moves the leases' expiry into the past in the database.
func testFrozenClock(t *testing.T, pg *testenv.Postgres) {
	ctx := t.Context()
	url := migrated(t, pg)
	hist := &history{}
	a := startNode(t, url, "a", hist)
	waitFor(t, 10*testTTL, "a holds every partition", func() error { return balanced(32, a) })
	admin := openPool(t, url)
	// The database's time passes a's leases of partitions 5 and 6 by, and
	// another holder takes them, all before a's deadline.
	steal := func(p int) {
		t.Helper()
		name := PartitionLease(p)
		if _, err := admin.Exec(ctx, `UPDATE leases SET expires_at = now() - interval '1 millisecond' WHERE name = $1`, name); err != nil {
			t.Fatal(err)
		}
		var fence int64
		var from string
		if err := admin.QueryRow(ctx, takeLease, name, "intruder/0", 60.0).Scan(&fence, &from); err != nil {
			t.Fatal(err)
		}
		if old := a.held(name); fence != old.Fence+1 || from != a.ID() {
			t.Fatalf("intruder took %s with fence %d from %q; want %d from %s", name, fence, from, old.Fence+1, a.ID())
		}
	}
	l5, l6 := a.held(PartitionLease(5)), a.held(PartitionLease(6))
	// a freezes just after a renewal: nothing of it runs, and its
	// deadlines are 1.6 s away.
	d0 := l5.Deadline()
	waitFor(t, 2*testPeriod, "a renewal", func() error {
		if l5.Deadline().Equal(d0) {
			return errors.New("no renewal")
		}
		return nil
	})
	a.kill()
	steal(5)
	steal(6)
	if !l5.Held() {
		t.Fatal("a's lease of partition 5 is no longer held locally; the test needs it held")
	}
	err := fencedWrite(ctx, a.pool, l5, 5, "a")
	var fe *FencedError
	if !errors.As(err, &fe) || fe.Why != whyTaken {
		t.Fatalf("a fenced write with a lease the database gave away: %v, want FencedError %q", err, whyTaken)
	}
	if l5.Held() {
		t.Fatal("a still holds partition 5 after the refusal")
	}
	// a resumes; partition 6 is found gone by its next renewal.
	a.run()
	waitFor(t, 2*testPeriod, "a gives both up as Lost", func() error {
		if lost := a.releasesOf(Lost); !slices.Contains(lost, "partition/5") || !slices.Contains(lost, "partition/6") {
			return fmt.Errorf("Lost releases %v", lost)
		}
		return nil
	})
	if l6.Held() {
		t.Fatal("a still holds partition 6")
	}
	if got := a.metric(t, "yujing_cluster_leases_lost_total", kindPartition); got != 2 {
		t.Errorf("yujing_cluster_leases_lost_total %v, want 2", got)
	}
	if got := a.metric(t, "yujing_cluster_fenced_refusals_total", kindPartition); got != 1 {
		t.Errorf("yujing_cluster_fenced_refusals_total %v, want 1", got)
	}
	var n int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM writes`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d writes (%v), want none", n, err)
	}
	// a does not take them back while the intruder holds them.
	if slices.Contains(a.Owned(), 5) || slices.Contains(a.Owned(), 6) {
		t.Fatalf("a owns %v", a.Owned())
	}
}

// A node cut off from PostgreSQL (a network partition: nothing arrives,
// nothing is refused) stops holding each lease by its own deadline, before
// the other node takes it over; even a fenced transaction left open by the
// cut does not hold the takeover past the lease's expiry. Healed, it
// rejoins.
func testCutOff(t *testing.T, pg *testenv.Postgres) {
	ctx := t.Context()
	url := migrated(t, pg)
	hist := &history{}
	pxy := startProxy(t, pg.Addr)
	a := startNode(t, url, "a", hist, withPool(openPool(t, pxy.url(url, pg.Addr))))
	b := startNode(t, url, "b", hist)
	waitFor(t, 10*testTTL, "two nodes balanced", func() error { return balanced(32, a, b) })

	aHeld := map[int]*Lease{}
	for _, p := range a.Owned() {
		aHeld[p] = a.held(PartitionLease(p))
	}
	// a's owner is in the middle of a fenced transaction when the cut comes.
	p := a.Owned()[0]
	tx, err := a.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // before the pool's Close, which waits for tx's connection
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		tx.Rollback(ctx)
	})
	if err := Fenced(ctx, tx, aHeld[p]); err != nil {
		t.Fatal(err)
	}
	pxy.Cut()
	cut := time.Now()
	waitFor(t, 2*failoverBound, "b holds every partition", func() error {
		if n := len(b.Owned()); n != 32 {
			return fmt.Errorf("b holds %d", n)
		}
		return nil
	})
	took := time.Since(cut)
	t.Logf("b took a's partitions %v after the cut (bound %v)", took.Round(time.Millisecond), failoverBound)
	if took > failoverBound {
		t.Errorf("takeover %v after the cut, more than %v", took, failoverBound)
	}
	for q, l := range aHeld {
		if l.Held() {
			t.Errorf("a still holds partition %d", q)
		}
		if end := l.Deadline(); end.After(cut.Add(testTTL - testTTL/5)) {
			t.Errorf("a held partition %d until %v after the cut, past ttl − margin", q, end.Sub(cut))
		}
	}
	hist.check(t)
	pxy.Heal()
	waitFor(t, 10*testPeriod+connectTimeout, "a rejoined", func() error { return balanced(32, a, b) })
	hist.check(t)
	if got := a.metric(t, "yujing_cluster_renewal_failures_total"); got < 1 {
		t.Errorf("yujing_cluster_renewal_failures_total %v, want at least 1", got)
	}
}

// A fenced transaction in progress locks its lease row: the renewal skips
// that one lease (it stays held) and renews the others, instead of
// waiting; once the transaction ends the lease is renewed again, without
// waiting for the next period.
func testBusyLease(t *testing.T, pg *testenv.Postgres) {
	ctx := t.Context()
	url := migrated(t, pg)
	a := startNode(t, url, "a", &history{})
	waitFor(t, 10*testTTL, "a holds every partition", func() error { return balanced(32, a) })
	busy, other := a.held(PartitionLease(0)), a.held(PartitionLease(1))
	// The transaction's work waits for a lock the test holds (active, not
	// idle: an idle one would be ended after the margin).
	admin := openPool(t, url)
	gate, err := admin.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Release()
	if _, err := gate.Exec(ctx, `SELECT pg_advisory_lock(7)`); err != nil {
		t.Fatal(err)
	}
	// Begin just after a round, so that the next one comes a period later.
	d0 := other.Deadline()
	waitFor(t, 2*testPeriod, "a round", func() error {
		if other.Deadline().Equal(d0) {
			return errors.New("no renewal")
		}
		return nil
	})
	tx, err := a.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	began := time.Now()
	if err := Fenced(ctx, tx, busy); err != nil {
		t.Fatal(err)
	}
	work := make(chan error, 1)
	go func() {
		_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7)`)
		work <- err
	}()
	const window = testTTL - testTTL/5
	waitFor(t, 2*testPeriod, "another lease renewed during the transaction", func() error {
		if d := other.Deadline(); d.Before(began.Add(window)) {
			return fmt.Errorf("partition 1's deadline %v after the transaction began", d.Sub(began))
		}
		return nil
	})
	if !busy.Held() {
		t.Fatal("the busy lease was let go")
	}
	if d := busy.Deadline(); !d.Before(began.Add(window)) {
		t.Fatalf("the busy lease was renewed while its row was locked (deadline %v after)", d.Sub(began))
	}
	if _, err := gate.Exec(ctx, `SELECT pg_advisory_unlock(7)`); err != nil {
		t.Fatal(err)
	}
	if err := <-work; err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	committed := time.Now()
	waitFor(t, testPeriod/2, "the busy lease renewed soon after the commit", func() error {
		if !busy.Held() {
			return errors.New("lost")
		}
		if d := busy.Deadline(); d.Before(committed.Add(window)) {
			return fmt.Errorf("deadline %v after the commit", d.Sub(committed))
		}
		return nil
	})
	if lost := a.releasesOf(Lost); len(lost) > 0 {
		t.Fatalf("lost %v", lost)
	}
}

// A take committed in the database whose answer never reached the node (a
// timeout just after the commit) leaves a lease the node holds without
// knowing it. Nobody acts for it; the node's next round releases it, and
// it is taken again at once instead of after its expiry.
func testUnansweredTake(t *testing.T, pg *testenv.Postgres) {
	ctx := t.Context()
	url := migrated(t, pg)
	hist := &history{}
	a := startNode(t, url, "a", hist)
	b := startNode(t, url, "b", hist)
	waitFor(t, 10*testTTL, "two nodes balanced", func() error { return balanced(32, a, b) })
	p := b.Owned()[0]
	name := PartitionLease(p)
	b.kill()
	// a's take of p after b's death committed, but its answer was lost;
	// the lease lasts a minute.
	admin := openPool(t, url)
	var fence int64
	if err := admin.QueryRow(ctx, `UPDATE leases SET holder = $2, fence = fence + 1, expires_at = now() + interval '1 minute',
		taken_at = now(), taken_from = holder WHERE name = $1 RETURNING fence`, name, a.ID()).Scan(&fence); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*failoverBound, "a holds every partition", func() error { return balanced(32, a) })
	if got := a.held(name).Fence; got != fence+1 {
		t.Errorf("a holds %s with fence %d, want %d: released and taken again", name, got, fence+1)
	}
	hist.check(t)
}

// FencedSQL, for a store on database/sql with pgx's stdlib driver, lets a
// write through while the lease is held and refuses it once the database
// has given the lease to another holder.
func testFencedSQL(t *testing.T, pg *testenv.Postgres) {
	ctx := t.Context()
	url := migrated(t, pg)
	a := startNode(t, url, "a", &history{})
	waitFor(t, 10*testTTL, "a holds every partition", func() error { return balanced(32, a) })
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() })
	write := func(l *Lease, p int) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if err := FencedSQL(ctx, tx, l); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO writes (partition, fence, node) VALUES ($1, $2, 'a')`, p, l.Fence); err != nil {
			return err
		}
		return tx.Commit()
	}
	l := a.held(PartitionLease(3))
	if err := write(l, 3); err != nil {
		t.Fatalf("a fenced write while held: %v", err)
	}
	a.kill() // frozen, so that its own renewal does not find the lease gone first
	if _, err := db.ExecContext(ctx, `UPDATE leases SET holder = 'intruder/0', fence = fence + 1 WHERE name = 'partition/3'`); err != nil {
		t.Fatal(err)
	}
	var fe *FencedError
	if err := write(l, 3); !errors.As(err, &fe) || fe.Why != whyTaken {
		t.Fatalf("a fenced write after the takeover: %v, want FencedError %q", err, whyTaken)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM writes`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d writes (%v), want 1", n, err)
	}
}
