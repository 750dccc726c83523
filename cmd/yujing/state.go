package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"yujing/config"
	"yujing/store/sqlstate"
)

// openState opens the state database serve keeps its warnings, calls,
// users and audit log in: the PostgreSQL database of state.url, or else
// the embedded <data_dir>/state.db. On PostgreSQL it takes the serving
// lock, so that a second node on the same database refuses to start
// until the cluster is wired (sqlstate.State.LockServing), and checks it
// every few seconds (checkServing). closeState releases the lock and
// closes the database. Neither the log nor an error holds the URL's
// password.
func openState(ctx context.Context, cfg *config.Config, log *slog.Logger) (st *sqlstate.State, closeState func(), err error) {
	if cfg.State == nil {
		st, err := sqlstate.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "state.db"), sqlstate.Options{})
		if err != nil {
			return nil, nil, err
		}
		return st, func() { _ = st.Close() }, nil
	}
	st, err = sqlstate.OpenPostgres(ctx, cfg.State.URL, sqlstate.Options{})
	if err != nil {
		return nil, nil, err
	}
	if cfg.State.Cluster != nil {
		// One of several nodes: the cluster's leases say who does what.
		log.Info("state database", "kind", "postgres", "where", st.Path(), "cluster", true)
		return st, func() { _ = st.Close() }, nil
	}
	lock, err := st.LockServing(ctx)
	if err != nil {
		return nil, nil, errors.Join(err, st.Close())
	}
	log.Info("state database", "kind", "postgres", "where", st.Path())
	checkCtx, stopChecks := context.WithCancel(context.WithoutCancel(ctx))
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		checkServing(checkCtx, lock, st.Path(), log, servingCheckEvery)
	}()
	return st, func() {
		stopChecks()
		<-checked
		if err := lock.Release(); err != nil {
			log.Warn("state database: releasing the serving lock", "where", st.Path(), "err", err)
		}
		_ = st.Close()
	}, nil
}

// servingCheckEvery is how often serve checks that it still holds the
// serving lock.
const servingCheckEvery = 5 * time.Second

// checkServing checks the serving lock every period until ctx ends: a
// lock lost with its connection (a PostgreSQL restart) is taken again, so
// that a node started afterwards is still refused; a lock another node
// took meanwhile is logged as an error at every check, since both may be
// serving.
func checkServing(ctx context.Context, lock *sqlstate.ServingLock, where string, log *slog.Logger, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, period)
		retaken, err := lock.Check(cctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, sqlstate.ErrServedElsewhere):
			log.Error("state database: another node took the serving lock while this node's connection was down; both may be serving: stop one",
				"where", where, "err", err)
		case err != nil:
			log.Warn("state database: serving lock not checked", "where", where, "err", err)
		case retaken:
			log.Info("state database: serving lock taken again after its connection ended", "where", where)
		}
	}
}

// stateURLEnv is the environment variable the administration commands
// (yujing users, tokens, audit) take a PostgreSQL state database's URL
// from, instead of -data: not a flag, which ps would show, password and
// all.
const stateURLEnv = "YUJING_STATE_URL"

// adminState returns where an administration command finds the state
// database: $YUJING_STATE_URL when set, else DIR/state.db; pg reports the
// former.
func adminState(dataDir string) (where string, pg bool) {
	if u := os.Getenv(stateURLEnv); u != "" {
		return u, true
	}
	return filepath.Join(dataDir, "state.db"), false
}
