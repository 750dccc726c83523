package sqldb

import (
	"context"
	"database/sql"
	"slices"
	"sync"

	"yujing/store"
)

// Write runs fn in a write transaction and returns fn's error, or the
// transaction's when it could not commit: when Write returns nil, what fn
// wrote is committed (on a SQLite file with synchronous=FULL, on disk).
// When fn returns an error nothing it wrote is kept.
//
// On a SQLite writer (NewWriter) the writes given to Write while an
// earlier commit is in flight are made together, in the next transaction,
// each inside a savepoint of its own: one commit and one fsync for all of
// them, and one's failure rolls back its savepoint only, never the
// others' writes. A write alone is made at once in a transaction of its
// own, with no waiting for company. Elsewhere (PostgreSQL) every Write is
// a transaction of its own.
//
// fn runs statements on tx with the ctx it is given, which is not
// cancelled once the write was taken into a transaction (on SQLite an
// interrupted statement would roll back the whole transaction, the
// others' writes too): a caller's ctx ends its wait only until then. fn
// may run more than once (again alone, when the shared transaction failed
// as a whole), so it must set what it returns through its closure on
// every run. It must not call Write, nor use the DB outside tx.
//
// A write whose ctx carries a fence (store.WithFence) runs it first, in
// a transaction of its own.
func (db *DB) Write(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	db.writes.Add(1)
	if db.group == nil || store.FenceFrom(ctx) != nil {
		return db.writeAlone(ctx, fn)
	}
	return db.group.write(ctx, fn)
}

// WriteExec runs one statement that returns no rows as a write: on a
// SQLite writer through Write (group commit), elsewhere on the pool in a
// transaction of its own (autocommit). The result is that of the
// committed statement.
func (db *DB) WriteExec(ctx context.Context, q string, args ...any) (res sql.Result, err error) {
	if db.group == nil && store.FenceFrom(ctx) == nil {
		db.writes.Add(1)
		if res, err = db.ExecContext(ctx, q, args...); err == nil {
			db.commits.Add(1)
		}
		return res, err
	}
	err = db.Write(ctx, func(ctx context.Context, tx *Tx) error {
		res, err = tx.ExecContext(ctx, q, args...)
		return err
	})
	return res, err
}

// WriteStats counts the writes of Write and WriteExec and the
// transactions that committed them.
type WriteStats struct {
	Writes, Commits int64
	// Queued is the number of writes waiting now for the next batch of a
	// SQLite writer.
	Queued int
}

// WriteStats returns the counts of writes and commits so far.
func (db *DB) WriteStats() WriteStats {
	st := WriteStats{Writes: db.writes.Load(), Commits: db.commits.Load()}
	if g := db.group; g != nil {
		g.mu.Lock()
		st.Queued = len(g.queue)
		g.mu.Unlock()
	}
	return st
}

// writeAlone runs fn in a transaction of its own.
func (db *DB) writeAlone(ctx context.Context, fn func(context.Context, *Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if f := store.FenceFrom(ctx); f != nil {
		if err := f.Check(ctx, tx.tx); err != nil {
			return err
		}
	}
	if err := fn(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	db.commits.Add(1)
	return nil
}

// The savepoint each write of a shared transaction runs in. SQLite's
// savepoints nest by name; each is released before the next begins.
const (
	savepoint           = `SAVEPOINT write`
	releaseSavepoint    = `RELEASE write`
	rollbackToSavepoint = `ROLLBACK TO write`
)

// maxBatch bounds the writes of one shared transaction.
const maxBatch = 256

// group is the group commit of a SQLite writer. No goroutine of its own:
// the caller whose write finds the writer idle makes it at once (the
// leader); the writes that arrive meanwhile queue, and when the leader's
// commit is done it hands the queue to the first of them, which makes
// them all in one transaction and hands on what queued in the meantime,
// and so on. Each caller returns as soon as the transaction holding its
// write ended.
type group struct {
	db    *DB
	mu    sync.Mutex
	busy  bool       // a leader is making a batch
	queue []*pending // the writes waiting for the next batch
}

// pending is one caller's write.
type pending struct {
	ctx  context.Context
	fn   func(context.Context, *Tx) error
	err  error
	done chan struct{}   // closed when err is final
	lead chan []*pending // the batch this caller is to make (it is first in it)
}

func (g *group) write(ctx context.Context, fn func(context.Context, *Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p := &pending{ctx: ctx, fn: fn, done: make(chan struct{}), lead: make(chan []*pending, 1)}
	g.mu.Lock()
	if !g.busy {
		g.busy = true
		g.mu.Unlock()
		g.lead([]*pending{p})
		return p.err
	}
	g.queue = append(g.queue, p)
	g.mu.Unlock()
	select {
	case batch := <-p.lead:
		g.lead(batch)
		return p.err
	case <-p.done:
		return p.err
	case <-ctx.Done():
	}
	g.mu.Lock()
	if i := slices.Index(g.queue, p); i >= 0 {
		g.queue = slices.Delete(g.queue, i, i+1)
		g.mu.Unlock()
		return ctx.Err()
	}
	g.mu.Unlock()
	// Taken into a batch already: its outcome is coming.
	select {
	case batch := <-p.lead:
		g.lead(batch)
	case <-p.done:
	}
	return p.err
}

// lead makes batch, then hands what queued meanwhile to the first of
// those writers, or leaves the writer idle.
func (g *group) lead(batch []*pending) {
	g.commit(batch)
	g.mu.Lock()
	if len(g.queue) == 0 {
		g.busy = false
		g.mu.Unlock()
		return
	}
	n := min(len(g.queue), maxBatch)
	next := slices.Clone(g.queue[:n])
	g.queue = slices.Delete(g.queue, 0, n)
	g.mu.Unlock()
	next[0].lead <- next
}

// commit makes the writes of batch, in one transaction when there are
// several, and gives each its outcome.
func (g *group) commit(batch []*pending) {
	defer func() {
		for _, p := range batch {
			close(p.done)
		}
	}()
	if len(batch) == 1 {
		batch[0].err = g.db.writeAlone(batch[0].ctx, batch[0].fn)
		return
	}
	if err := g.together(batch); err != nil {
		// The shared transaction failed as a whole (it could not begin,
		// a savepoint failed, SQLite rolled it back, or the commit
		// failed): nothing of it was kept. Each write again, alone.
		for _, p := range batch {
			p.err = g.db.writeAlone(p.ctx, p.fn)
		}
	}
}

// together makes the writes of batch in one transaction, each in a
// savepoint; a write whose fn fails is rolled back to its savepoint and
// gets its error. A write whose caller gave up before it began is not
// made. The error is the transaction's own.
func (g *group) together(batch []*pending) error {
	ctx := context.WithoutCancel(batch[0].ctx)
	tx, err := g.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, p := range batch {
		if p.err = p.ctx.Err(); p.err != nil {
			continue
		}
		if _, err := tx.ExecContext(ctx, savepoint); err != nil {
			return err
		}
		if p.err = p.fn(context.WithoutCancel(p.ctx), tx); p.err != nil {
			if _, err := tx.ExecContext(ctx, rollbackToSavepoint); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, releaseSavepoint); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	g.db.commits.Add(1)
	return nil
}
