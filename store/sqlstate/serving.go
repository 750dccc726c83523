package sqlstate

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
)

// ErrServedElsewhere is returned (wrapped) by LockServing when another
// process holds the state database's serving lock.
var ErrServedElsewhere = errors.New("another yujing node is serving this state database")

// lockServing is the key of the serving lock: "yujingsv".
const lockServing int64 = 0x79756a696e677376

// LockServing takes the state database's serving lock, held until release
// is called or the process ends, and fails at once with an error wrapping
// ErrServedElsewhere when another process holds it.
//
// Until the cluster's partitions and fenced escalations are wired into
// serve (docs/CLUSTER.md), two nodes serving one PostgreSQL database
// would both evaluate every sensor and both make every call; the lock
// keeps a second node from starting. On PostgreSQL it is a session
// advisory lock on a connection set apart from the pool. It is a guard at
// start, not a fence: the lock ends with its connection (a restart of
// PostgreSQL, a network cut), and the node that held it is not told. On
// SQLite it does nothing (the file is one data directory's).
func (s *State) LockServing(ctx context.Context) (release func() error, err error) {
	if !s.db.d.Postgres() {
		return func() error { return nil }, nil
	}
	conn, err := s.db.w.SQL().Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("state %s: serving lock: %w", s.db.path, err)
	}
	var held bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, lockServing).Scan(&held); err != nil {
		conn.Close()
		return nil, fmt.Errorf("state %s: serving lock: %w", s.db.path, err)
	}
	if !held {
		conn.Close()
		return nil, fmt.Errorf("state %s: %w (running several nodes needs the cluster, not wired into serve yet: docs/CLUSTER.md)",
			s.db.path, ErrServedElsewhere)
	}
	return func() error {
		// The lock belongs to the connection's session: unlock before it
		// goes back to the pool, or drop the connection.
		_, err := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockServing)
		if err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		return errors.Join(err, conn.Close())
	}, nil
}
