package cluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// The statements on leases. Every time is the database's: the nodes'
// clocks never meet the table.
const (
	// takeLease takes the lease $1 for holder $2 for $3 seconds when it has
	// no row yet, or its row has expired (a released lease expires at
	// -infinity). The fence grows by one at every take.
	takeLease = `INSERT INTO leases AS l (name, holder, fence, expires_at, taken_at)
	VALUES ($1, $2, 1, now() + make_interval(secs => $3), now())
	ON CONFLICT (name) DO UPDATE SET
		holder     = excluded.holder,
		fence      = l.fence + 1,
		expires_at = excluded.expires_at,
		taken_at   = excluded.taken_at,
		taken_from = l.holder
	WHERE l.expires_at <= now()
	RETURNING fence, taken_from`

	// renewLeases extends, by $2 seconds from now, the leases of holder $1
	// named in $3 with the fences in $4 that have not expired, in one
	// statement, and returns those it extended. A lease row locked by a
	// fenced transaction in progress (FOR SHARE) is skipped rather than
	// waited for, so that one busy partition does not hold the renewal of
	// all the others back; heldLeases tells it from a lost one.
	renewLeases = `WITH mine AS (
		SELECT name FROM leases
		WHERE holder = $1 AND expires_at > now()
			AND (name, fence) IN (SELECT * FROM unnest($3::text[], $4::bigint[]))
		FOR NO KEY UPDATE SKIP LOCKED)
	UPDATE leases l SET expires_at = now() + make_interval(secs => $2)
	FROM mine WHERE l.name = mine.name
	RETURNING l.name`

	// heldLeases returns which of the leases named in $2 with the fences in
	// $3 holder $1 still holds, without waiting for any lock.
	heldLeases = `SELECT name FROM leases
	WHERE holder = $1 AND expires_at > now()
		AND (name, fence) IN (SELECT * FROM unnest($2::text[], $3::bigint[]))`

	// releaseLeases frees the leases of holder $1 named in $2 with the
	// fences in $3: another node may take them at once.
	releaseLeases = `UPDATE leases SET holder = '', expires_at = '-infinity'
	WHERE holder = $1 AND (name, fence) IN (SELECT * FROM unnest($2::text[], $3::bigint[]))`

	// checkFence is Fenced's check: the lease row still names this holder
	// with this fence and has not expired, by the database's clock at this
	// statement (not at the transaction's start). FOR SHARE keeps the row
	// as it is until the transaction ends, so a takeover (an UPDATE) waits
	// for the fenced write to commit or roll back. The transaction's idle
	// time is bounded by $4 ms, so that a node cut off in the middle of a
	// fenced transaction cannot hold the row, and with it the takeover,
	// past its lease's expiry.
	checkFence = `SELECT set_config('idle_in_transaction_session_timeout', $4, true)
	FROM leases
	WHERE name = $1 AND holder = $2 AND fence = $3 AND expires_at > clock_timestamp()
	FOR SHARE`
)

// ErrFenced is the error of a write refused because the lease it was made
// for is no longer held by this node with this fence. errors.Is matches
// every *FencedError with it.
var ErrFenced = errors.New("cluster: lease no longer held")

// FencedError is the error Fenced returns when it refuses.
type FencedError struct {
	Lease string
	Fence int64
	// Why: "not held" (the node had already let it go by its own
	// deadline, a release or an earlier refusal) or "taken or expired"
	// (the database's row names another holder or fence, or has expired).
	Why string
}

func (e *FencedError) Error() string {
	return fmt.Sprintf("cluster: lease %s (fence %d): %s", e.Lease, e.Fence, e.Why)
}

// Is makes errors.Is(err, ErrFenced) true.
func (e *FencedError) Is(target error) bool { return target == ErrFenced }

// Why values of FencedError.
const (
	whyNotHeld = "not held"
	whyTaken   = "taken or expired"
)

// endCause says how a lease ended.
type endCause int

const (
	endExpired  endCause = iota + 1 // its deadline passed
	endNotFound                     // a renewal did not find it
	endFenced                       // a fenced check did not find it
	endReleased                     // given up on purpose
)

// Lease is a lease this node holds or held. Name and Fence never change: a
// lease taken again is a new Lease with a greater fence.
type Lease struct {
	Name  string
	Fence int64

	holder  string
	kind    string        // kindPartition or kindLeader, the metrics' label
	window  time.Duration // ttl − margin: how long after a renewal was sent the lease is held
	idleMS  string        // Fenced's idle_in_transaction_session_timeout
	m       *metrics
	onEnded func() // tells the node; called without l.mu

	mu       sync.Mutex
	deadline time.Time // on the monotonic clock
	renewed  time.Time // the last successful take or renewal
	ended    bool
	endedAt  time.Time
	timer    *time.Timer
	lost     chan struct{}
}

func newLease(name string, fence int64, holder, kind string, sent time.Time, cfg Config, m *metrics, onEnded func()) *Lease {
	l := &Lease{
		Name: name, Fence: fence,
		holder: holder, kind: kind, window: cfg.TTL - cfg.Margin,
		idleMS: strconv.FormatInt(cfg.Margin.Milliseconds(), 10),
		m:      m, onEnded: onEnded,
		deadline: sent.Add(cfg.TTL - cfg.Margin),
		renewed:  time.Now(),
		lost:     make(chan struct{}),
	}
	l.mu.Lock()
	l.timer = time.AfterFunc(time.Until(l.deadline), l.expire)
	l.mu.Unlock()
	return l
}

// Held reports whether the node still holds the lease: it has not let it
// go, and its deadline has not passed. Once false, it stays false.
func (l *Lease) Held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.ended && time.Now().Before(l.deadline)
}

// Lost is closed once the node no longer holds the lease, for whatever
// reason: its deadline passed, it was found taken, a fenced write was
// refused, or it was released. Held is false from the instant Deadline
// returns then, which may be a little before Lost is closed.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Deadline returns the instant, on this process's monotonic clock, until
// which the lease is held unless it is renewed: the time the last
// successful renewal (or the take) was sent plus ttl − margin. Once the
// lease has ended, the instant it ended. Work that cannot be fenced by the
// database (a send) should not begin unless it can end before it.
func (l *Lease) Deadline() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended && l.endedAt.Before(l.deadline) {
		return l.endedAt
	}
	return l.deadline
}

// age returns the time since the last successful renewal.
func (l *Lease) age() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Since(l.renewed)
}

// extend moves the deadline to sent + ttl − margin after a renewal sent at
// sent succeeded. It reports false, and changes nothing, when the lease
// has already ended (or its deadline passed before the answer came): a
// lease let go is never held again.
func (l *Lease) extend(sent time.Time) bool {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return false
	}
	now := time.Now()
	if !now.Before(l.deadline) {
		l.endLocked(endExpired, l.deadline)
		l.mu.Unlock()
		l.onEnded()
		return false
	}
	if d := sent.Add(l.window); d.After(l.deadline) {
		l.deadline = d
		l.timer.Reset(d.Sub(now))
	}
	l.renewed = now
	l.mu.Unlock()
	return true
}

// expire runs when the deadline's timer fires.
func (l *Lease) expire() {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return
	}
	if left := time.Until(l.deadline); left > 0 { // extended meanwhile
		l.timer.Reset(left)
		l.mu.Unlock()
		return
	}
	l.endLocked(endExpired, l.deadline)
	l.mu.Unlock()
	l.onEnded()
}

// end lets the lease go now; it reports whether it was still held.
func (l *Lease) end(cause endCause) bool {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return false
	}
	now := time.Now()
	if !now.Before(l.deadline) {
		cause, now = endExpired, l.deadline
	}
	l.endLocked(cause, now)
	l.mu.Unlock()
	l.onEnded()
	return true
}

func (l *Lease) endLocked(cause endCause, at time.Time) {
	l.ended, l.endedAt = true, at
	l.timer.Stop()
	close(l.lost)
	if cause != endReleased {
		l.m.lost.WithLabelValues(l.kind).Inc()
	}
}

// Fenced checks, as the first statement of tx, that the node still holds
// l: locally (its deadline has not passed) and in the database (the row
// names this node and this fence and has not expired, by the database's
// clock). It locks the lease row FOR SHARE until tx ends, so the lease
// cannot be taken over before tx has committed or rolled back, and bounds
// tx's idle time (idle_in_transaction_session_timeout) by the margin. On
// refusal it returns a *FencedError (errors.Is ErrFenced): roll tx back and
// drop the lease's work; the node lets the lease go (Lost is closed) and
// announces it with OnRelease(…, Lost). Keep fenced transactions short,
// well under ttl/3: the node's own renewal of the lease waits for them
// too.
func Fenced(ctx context.Context, tx pgx.Tx, l *Lease) error {
	return l.fenced(func(args ...any) error {
		var s string
		err := tx.QueryRow(ctx, checkFence, args...).Scan(&s)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoRow
		}
		return err
	})
}

// FencedSQL is Fenced for a transaction of database/sql on pgx's stdlib
// driver.
func FencedSQL(ctx context.Context, tx *sql.Tx, l *Lease) error {
	return l.fenced(func(args ...any) error {
		var s string
		err := tx.QueryRowContext(ctx, checkFence, args...).Scan(&s)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoRow
		}
		return err
	})
}

var errNoRow = errors.New("no row")

func (l *Lease) fenced(query func(args ...any) error) error {
	if l == nil {
		return &FencedError{Why: whyNotHeld}
	}
	if !l.Held() {
		l.m.refused.WithLabelValues(l.kind).Inc()
		return &FencedError{Lease: l.Name, Fence: l.Fence, Why: whyNotHeld}
	}
	err := query(l.Name, l.holder, l.Fence, l.idleMS)
	if errors.Is(err, errNoRow) {
		l.end(endFenced)
		l.m.refused.WithLabelValues(l.kind).Inc()
		return &FencedError{Lease: l.Name, Fence: l.Fence, Why: whyTaken}
	}
	if err != nil {
		return fmt.Errorf("cluster: lease %s (fence %d): fence check: %w", l.Name, l.Fence, err)
	}
	return nil
}
