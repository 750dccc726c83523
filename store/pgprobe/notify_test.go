package pgprobe

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const channel = "yujing_changes"

// listen opens a dedicated connection (never one of a pool: LISTEN belongs
// to the session) and listens on channel.
func listen(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn := connect(t, url)
	exec(t, conn, "LISTEN "+channel)
	return conn
}

// next waits up to 10 s for the next notification on conn.
func next(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	n, err := conn.WaitForNotification(ctx)
	if err != nil {
		t.Fatalf("wait for a notification: %v", err)
	}
	if n.Channel != channel {
		t.Fatalf("notification on %q, want %q", n.Channel, channel)
	}
	return n.Payload
}

func notify(t *testing.T, conn interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, payload string) {
	t.Helper()
	if _, err := conn.Exec(t.Context(), `SELECT pg_notify($1, $2)`, channel, payload); err != nil {
		t.Fatalf("notify %q: %v", payload, err)
	}
}

// LISTEN/NOTIFY: a notification is delivered when its transaction
// commits, never when it rolls back, in commit order; identical ones in
// one transaction are delivered once; a payload is at most 7999 bytes.
func TestNotify(t *testing.T) {
	t.Parallel()
	pg := server(t)
	l := listen(t, pg.URL)
	n := connect(t, pg.URL)

	tx, err := n.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	notify(t, tx, "rolled back")
	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	tx, err = n.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	notify(t, tx, "alert 7 changed")
	notify(t, tx, "alert 7 changed") // folded into the first
	notify(t, tx, "alert 8 changed")
	began := time.Now()
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := next(t, l); got != "alert 7 changed" {
		t.Fatalf("first notification %q; want the committed one (the rolled-back one is never sent)", got)
	}
	t.Logf("commit to notification: %v", time.Since(began))
	notify(t, n, "end")
	var got []string
	for p := next(t, l); p != "end"; p = next(t, l) {
		got = append(got, p)
	}
	if strings.Join(got, "|") != "alert 8 changed" {
		t.Fatalf("then %q; want only alert 8 (a repeated payload in one transaction is sent once)", got)
	}

	_, err = n.Exec(t.Context(), `SELECT pg_notify($1, $2)`, channel, strings.Repeat("x", 8000))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "22023" {
		t.Fatalf("an 8000-byte payload: %v; want invalid_parameter_value (22023)", err)
	}
	notify(t, n, strings.Repeat("x", 7999))
	if got := next(t, l); len(got) != 7999 {
		t.Fatalf("7999-byte payload arrived as %d bytes", len(got))
	}
}

// A listener's connection does not survive a server restart, and what is
// notified before it listens again is lost to it: after (re)connecting, a
// node must LISTEN first and then re-read the state it follows.
func TestNotifyAcrossRestart(t *testing.T) {
	t.Parallel()
	pg := server(t)
	l := listen(t, pg.URL)
	pg.Restart()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := l.WaitForNotification(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("WaitForNotification across a restart: %v (context %v); want a connection error at once", err, ctx.Err())
	}
	n := connect(t, pg.URL)
	notify(t, n, "while nobody listened")
	l = listen(t, pg.URL)
	notify(t, n, "after LISTEN")
	if got := next(t, l); got != "after LISTEN" {
		t.Fatalf("first notification after listening again: %q", got)
	}
}
