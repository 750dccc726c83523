package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"

	"yujing/config"
	"yujing/store/sqlstate"
)

// openState opens the state database serve keeps its warnings, calls,
// users and audit log in: the PostgreSQL database of state.url, shared by
// the nodes of a cluster (cluster.go), or else the embedded
// <data_dir>/state.db. closeState closes it. Neither the log nor an
// error holds the URL's password.
func openState(ctx context.Context, cfg *config.Config, log *slog.Logger) (st *sqlstate.State, closeState func(), err error) {
	if cfg.State == nil {
		st, err = sqlstate.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "state.db"), sqlstate.Options{})
	} else {
		st, err = sqlstate.OpenPostgres(ctx, cfg.State.URL, sqlstate.Options{})
	}
	if err != nil {
		return nil, nil, err
	}
	if cfg.State != nil {
		log.Info("state database", "kind", "postgres", "where", st.Path(), "cluster", true)
	}
	return st, func() { _ = st.Close() }, nil
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
