package sqlstate

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
)

// ErrServedElsewhere is returned (wrapped) by LockServing and
// ServingLock.Check when another process holds the state database's
// serving lock.
var ErrServedElsewhere = errors.New("another yujing node is serving this state database")

// lockServing is the key of the serving lock: "yujingsv".
const lockServing int64 = 0x79756a696e677376

// ServingLock is the state database's serving lock held by this process
// (State.LockServing).
type ServingLock struct {
	s        *State
	mu       sync.Mutex
	conn     *sql.Conn // nil on SQLite, after Release, and while lost
	released bool      // by Release; on SQLite from the start
}

// LockServing takes the state database's serving lock, held until
// Release or the end of the process, and fails at once with an error
// wrapping ErrServedElsewhere when another process holds it.
//
// Until the cluster's partitions and fenced escalations are wired into
// serve (docs/CLUSTER.md), two nodes serving one PostgreSQL database
// would both evaluate every sensor and both make every call; the lock
// keeps a second node from starting. On PostgreSQL it is a session
// advisory lock on a connection set apart from the pool. It is a guard,
// not a fence: the lock ends with its connection (a restart of
// PostgreSQL, a network cut), and nothing stops the node that held it;
// Check, called every few seconds, takes it again. On SQLite it does
// nothing (the file is one data directory's).
func (s *State) LockServing(ctx context.Context) (*ServingLock, error) {
	l := &ServingLock{s: s}
	if !s.db.d.Postgres() {
		l.released = true
		return l, nil
	}
	conn, err := l.take(ctx)
	if err != nil {
		return nil, err
	}
	l.conn = conn
	return l, nil
}

// take takes the lock on a new connection of the pool.
func (l *ServingLock) take(ctx context.Context) (*sql.Conn, error) {
	s := l.s
	conn, err := s.db.w.SQL().Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("state %s: serving lock: %w", s.db.path, err)
	}
	var held bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, lockServing).Scan(&held); err != nil {
		drop(conn)
		return nil, fmt.Errorf("state %s: serving lock: %w", s.db.path, err)
	}
	if !held {
		conn.Close()
		return nil, fmt.Errorf("state %s: %w (running several nodes needs the cluster, not wired into serve yet: docs/CLUSTER.md)",
			s.db.path, ErrServedElsewhere)
	}
	return conn, nil
}

// Check makes sure the lock is still held: it asks on the lock's
// connection, and when that connection has ended (and the lock with it)
// takes the lock again on a new one. retaken reports that it did; an
// error wrapping ErrServedElsewhere means another process took the lock
// meanwhile, and both may be serving (each later Check tries again and
// says so again). After Release, and on SQLite, it does nothing.
func (l *ServingLock) Check(ctx context.Context) (retaken bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return false, nil
	}
	// A session's advisory lock ends only with an unlock (Release) or
	// with the session: while the connection answers, the lock is held.
	if l.conn != nil {
		if err := l.conn.PingContext(ctx); err == nil {
			return false, nil
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		drop(l.conn)
		l.conn = nil
	}
	conn, err := l.take(ctx)
	if err != nil {
		return false, err
	}
	l.conn = conn
	return true, nil
}

// Release lets the lock go. The lock belongs to its connection's session:
// it is unlocked before the connection goes back to the pool, or the
// connection is dropped.
func (l *ServingLock) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.released = true
	if l.conn == nil {
		return nil
	}
	conn := l.conn
	l.conn = nil
	if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, lockServing); err != nil {
		drop(conn)
		return fmt.Errorf("state %s: serving lock: release: %w", l.s.db.path, err)
	}
	return conn.Close()
}

// drop closes conn and keeps database/sql from reusing it.
func drop(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}
