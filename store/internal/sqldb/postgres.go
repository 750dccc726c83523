package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgresMaxConns is the size of a node's PostgreSQL pool when the caller
// gives none: enough for the engine, the outbox and the console's reads
// at once, small beside PostgreSQL's default max_connections (100) with a
// few nodes.
const PostgresMaxConns = 10

// IsPostgresURL reports whether where names a PostgreSQL database
// (postgres:// or postgresql://) rather than a SQLite file.
func IsPostgresURL(where string) bool {
	return strings.HasPrefix(where, "postgres://") || strings.HasPrefix(where, "postgresql://")
}

// PostgresOptions tune OpenPostgres.
type PostgresOptions struct {
	// MaxConns bounds the pool (0: PostgresMaxConns).
	MaxConns int
	// ReadOnly makes every transaction of the pool read-only
	// (default_transaction_read_only).
	ReadOnly bool
}

// OpenPostgres opens a pool to the PostgreSQL database rawURL names
// (postgres://user:password@host:5432/db?sslmode=…) through pgx's
// database/sql driver, checks that it answers, and returns it with the
// database's name for errors and logs: the URL without its password. No
// error it returns holds the password.
func OpenPostgres(ctx context.Context, rawURL string, opts PostgresOptions) (db *sql.DB, where string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URL, password and all
		}
		return nil, "postgres", redact(fmt.Errorf("postgres: not a URL: %w", err), secretsOf(rawURL, nil))
	}
	secrets := secretsOf(rawURL, u)
	where = Where(u)
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner // the outer error quotes the URL; pgx hides its password as best it can
		}
		return nil, where, redact(fmt.Errorf("%s: %w", where, err), secrets)
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "yujing"
	}
	if opts.ReadOnly {
		cfg.RuntimeParams["default_transaction_read_only"] = "on"
	}
	maxConns := opts.MaxConns
	if maxConns <= 0 {
		maxConns = PostgresMaxConns
	}
	db = stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, where, redact(fmt.Errorf("%s: connect: %w", where, err), secrets)
	}
	return db, where, nil
}

// Where names the database u points at without its password:
// postgres://user@host:port/db.
func Where(u *url.URL) string {
	host := u.Host
	if host == "" {
		host = u.Query().Get("host")
	}
	if _, _, err := net.SplitHostPort(host); err != nil && host != "" && !strings.Contains(host, ",") {
		host = net.JoinHostPort(strings.Trim(host, "[]"), "5432")
	}
	user := ""
	if u.User != nil {
		user = u.User.Username() + "@"
	}
	return "postgres://" + user + host + u.EscapedPath()
}

// secretsOf returns the password of a PostgreSQL URL, as written and
// decoded, in the userinfo or in a password parameter.
func secretsOf(raw string, u *url.URL) []string {
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s)
			if q := url.QueryEscape(s); q != s {
				out = append(out, q)
			}
			if p := url.PathEscape(s); p != s {
				out = append(out, p)
			}
		}
	}
	if u != nil {
		if p, ok := u.User.Password(); ok {
			add(p)
		}
		add(u.Query().Get("password"))
	}
	// What a URL that does not parse may hold between "user:" and "@".
	if _, rest, ok := strings.Cut(raw, "://"); ok {
		if at := strings.LastIndex(rest, "@"); at > 0 {
			if _, pw, ok := strings.Cut(rest[:at], ":"); ok {
				add(pw)
				if d, err := url.PathUnescape(pw); err == nil {
					add(d)
				}
			}
		}
	}
	return out
}

// redact returns err with every secret in its message replaced, keeping
// what errors.Is and errors.As find.
func redact(err error, secrets []string) error {
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			msg, changed = strings.ReplaceAll(msg, s, "xxxxx"), true
		}
	}
	if !changed {
		return err
	}
	return &redacted{msg: msg, err: err}
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }

// Unwrap lets errors.Is and errors.As see the causes; their own messages
// may hold the secret, so print r, never what it wraps.
func (r *redacted) Unwrap() error { return r.err }
