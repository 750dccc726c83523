package testenv_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"yujing/internal/testenv"
)

// connect opens a connection to url, closed when the test ends.
func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// count returns the number of rows of table t.
func count(t *testing.T, conn *pgx.Conn, table string) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	pg := testenv.StartPostgres(t)
	if !strings.HasPrefix(pg.URL, "postgres://yujing:") || !strings.HasSuffix(pg.URL, "@"+pg.Addr+"/yujing?sslmode=disable") {
		t.Fatalf("URL = %q", pg.URL)
	}
	conn := connect(t, pg.URL)

	// The server is PostgreSQL 15, durable as in production, and the
	// role is an ordinary one that owns its database.
	var version, fsync, syncCommit, user, owner string
	var super bool
	if err := conn.QueryRow(t.Context(), `SELECT current_setting('server_version'), current_setting('fsync'),
		current_setting('synchronous_commit'), current_user, pg_get_userbyid(d.datdba), r.rolsuper
		FROM pg_database d, pg_roles r WHERE d.datname = current_database() AND r.rolname = current_user`).
		Scan(&version, &fsync, &syncCommit, &user, &owner, &super); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(version, "15.") || fsync != "on" || syncCommit != "on" || user != "yujing" || owner != "yujing" || super {
		t.Fatalf("server %s fsync=%s synchronous_commit=%s, user %s, owner %s, superuser %v; want 15.x, on, on, yujing, yujing, false",
			version, fsync, syncCommit, user, owner, super)
	}
	// A wrong password is refused: the URL's password is checked.
	bad := strings.Replace(pg.URL, ":"+pg.Password+"@", ":wrong@", 1)
	_, err := pgx.Connect(t.Context(), bad)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Fatalf("connect with a wrong password: %v; want invalid_password (28P01)", err)
	}

	// A committed row survives a restart.
	if _, err := conn.Exec(t.Context(), `CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), `INSERT INTO t VALUES (1, '预警')`); err != nil {
		t.Fatal(err)
	}
	pg.Restart()
	if _, err := conn.Exec(t.Context(), `SELECT 1`); err == nil {
		t.Fatal("a connection from before the restart still works")
	}
	conn = connect(t, pg.URL)
	var v string
	if err := conn.QueryRow(t.Context(), `SELECT v FROM t WHERE id = 1`).Scan(&v); err != nil || v != "预警" {
		t.Fatalf("after restart: %q, %v", v, err)
	}

	// Stopped, it refuses connections; started, it has the same data.
	pg.Stop()
	if pg.Running() {
		t.Fatal("running after Stop")
	}
	if c, err := net.DialTimeout("tcp", pg.Addr, time.Second); err == nil {
		c.Close()
		t.Fatal("accepts connections after Stop")
	}
	pg.Stop() // twice is fine
	pg.Start()
	conn = connect(t, pg.URL)
	if n := count(t, conn, "t"); n != 1 {
		t.Fatalf("rows after Stop and Start: %d, want 1", n)
	}
	// Stop shut it down cleanly: no recovery.
	if log := pg.Log(); strings.Contains(log, "recovery") {
		t.Fatalf("the server recovered after a clean Stop:\n%s", log)
	}
}

// A SIGKILL of the whole server loses no committed transaction, drops
// the uncommitted one, and Start recovers from the WAL.
func TestPostgresKill(t *testing.T) {
	t.Parallel()
	pg := testenv.StartPostgres(t)
	conn := connect(t, pg.URL)
	if _, err := conn.Exec(t.Context(), `CREATE TABLE t (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	const committed = 50
	for i := range committed {
		if _, err := conn.Exec(t.Context(), `INSERT INTO t VALUES ($1)`, i); err != nil {
			t.Fatal(err)
		}
	}
	open := connect(t, pg.URL)
	tx, err := open.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), `INSERT INTO t SELECT g FROM generate_series(1000, 1999) g`); err != nil {
		t.Fatal(err)
	}

	pg.Kill()
	if pg.Running() {
		t.Fatal("running after Kill")
	}
	if err := conn.Ping(t.Context()); err == nil {
		t.Fatal("a connection survived Kill")
	}
	pg.Kill() // twice is fine
	pg.Start()
	conn = connect(t, pg.URL)
	if n := count(t, conn, "t"); n != committed {
		t.Fatalf("rows after Kill and Start: %d, want the %d committed", n, committed)
	}
	// It was a crash: the server recovered from its WAL.
	if log := pg.Log(); !strings.Contains(log, "automatic recovery in progress") {
		t.Fatalf("the server's log since Start does not tell of crash recovery:\n%s", log)
	}
}

// NewDatabase gives each caller an empty database of its own on one
// server, owned by the same role.
func TestPostgresNewDatabase(t *testing.T) {
	t.Parallel()
	pg := testenv.StartPostgres(t)
	first := connect(t, pg.URL)
	if _, err := first.Exec(t.Context(), `CREATE TABLE mine (id int)`); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{pg.Database: true}
	for range 3 {
		url := pg.NewDatabase(t)
		conn := connect(t, url)
		var db string
		var tables int
		if err := conn.QueryRow(t.Context(), `SELECT current_database(),
			(SELECT count(*) FROM pg_tables WHERE schemaname = 'public')`).Scan(&db, &tables); err != nil {
			t.Fatal(err)
		}
		if seen[db] || tables != 0 {
			t.Fatalf("NewDatabase gave %s with %d tables; seen %v", db, tables, seen)
		}
		seen[db] = true
		// The role can create its tables there.
		if _, err := conn.Exec(t.Context(), `CREATE TABLE mine (id int)`); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkStartPostgres measures StartPostgres: copying the cached
// template, starting the server and creating the role and database.
func BenchmarkStartPostgres(b *testing.B) {
	testenv.StartPostgres(b) // the template is made (once) outside the timing
	b.ResetTimer()
	for b.Loop() {
		pg := testenv.StartPostgres(b)
		b.StopTimer()
		pg.Stop()
		b.StartTimer()
	}
}

// BenchmarkPostgresNewDatabase measures NewDatabase: CREATE DATABASE on a
// running server (PostgreSQL 15's default WAL_LOG strategy).
func BenchmarkPostgresNewDatabase(b *testing.B) {
	pg := testenv.StartPostgres(b)
	for b.Loop() {
		pg.NewDatabase(b)
	}
}
