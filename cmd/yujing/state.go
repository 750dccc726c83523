package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"

	"yujing/config"
	"yujing/store/sqlstate"
)

// openState opens the state database serve keeps its warnings, calls,
// users and audit log in: the PostgreSQL database of state.url, or else
// the embedded <data_dir>/state.db. On PostgreSQL it takes the serving
// lock, so that a second node on the same database refuses to start
// until the cluster is wired (sqlstate.State.LockServing). close releases
// the lock and closes the database. Neither the log nor an error holds
// the URL's password.
func openState(ctx context.Context, cfg *config.Config, log *slog.Logger) (st *sqlstate.State, close func(), err error) {
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
	release, err := st.LockServing(ctx)
	if err != nil {
		return nil, nil, errors.Join(err, st.Close())
	}
	log.Info("state database", "kind", "postgres", "where", st.Path())
	return st, func() {
		if err := release(); err != nil {
			log.Warn("state database: releasing the serving lock", "where", st.Path(), "err", err)
		}
		_ = st.Close()
	}, nil
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
