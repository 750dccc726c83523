package sqldb

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"yujing/internal/testenv"
)

// TestMigrations: a SQLite file's migrations are applied once each, in
// order; a file of a newer build is refused, as is a migration that fails,
// which leaves the file at the version before it.
func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	v1 := []string{`CREATE TABLE a (x INTEGER)`}
	v3 := append(v1, `CREATE TABLE b (y INTEGER)`, `ALTER TABLE a ADD COLUMN z TEXT; CREATE INDEX a_z ON a (z)`)
	broken := append(v3[:3:3], `CREATE TABLE a (x INTEGER)`) // a already exists

	tests := []struct {
		name       string
		migrations []string
		wantErr    string
		wantRows   int
	}{
		{"first", v1, "", 1},
		{"again", v1, "", 1},
		{"two more", v3, "", 3},
		{"again", v3, "", 3},
		{"older build", v1, "schema version 3 is newer than this build knows (1)", 3},
		{"failing migration", broken, "migration 4:", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, r, err := OpenSQLite(t.Context(), "test", path, SyncFull, tt.migrations)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatal(err)
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("error %v, want one containing %q and the path", err, tt.wantErr)
				}
				if w, r, err = OpenSQLite(t.Context(), "test", path, SyncFull, v3); err != nil {
					t.Fatal(err)
				}
			}
			defer w.Close()
			defer r.Close()
			var n int
			if err := r.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != tt.wantRows {
				t.Errorf("%d migrations recorded (%v), want %d", n, err, tt.wantRows)
			}
			var applied string
			if err := r.QueryRow(`SELECT applied_at FROM schema_migrations WHERE version = 1`).Scan(&applied); err != nil {
				t.Fatal(err)
			}
			if _, err := time.Parse(time.RFC3339Nano, applied); err != nil {
				t.Errorf("applied_at %q: %v", applied, err)
			}
		})
	}
}

// TestPostgresMigrations: nodes starting at once on one PostgreSQL apply
// each migration once (the advisory lock comes before everything, even
// CREATE TABLE IF NOT EXISTS); a migration failing half-way leaves
// nothing behind; a newer database is refused; and another package's
// list is kept in a table of its own.
func TestPostgresMigrations(t *testing.T) {
	pg := testenv.StartPostgres(t)
	migrations := []string{
		`CREATE TABLE alerts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, rule text NOT NULL);
		 CREATE INDEX alerts_rule ON alerts (rule);`,
		`ALTER TABLE alerts ADD COLUMN overdue_at bigint;`,
		`CREATE TABLE leases (name text PRIMARY KEY, holder text NOT NULL, fence bigint NOT NULL);`,
	}
	open := func(t *testing.T) *sql.DB {
		db, _, err := OpenPostgres(t.Context(), pg.URL, PostgresOptions{MaxConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	versions := func(t *testing.T, table string) []int64 {
		t.Helper()
		rows, err := open(t).QueryContext(t.Context(), `SELECT version FROM `+table+` ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []int64
		for rows.Next() {
			var v int64
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		return out
	}
	const nodes = 6
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	start := make(chan struct{})
	for i := range nodes {
		db := open(t) // each node its own pool
		wg.Go(func() {
			<-start
			errs[i] = Migrate(t.Context(), db, Postgres(), MigrationsTable, migrations)
			if errs[i] == nil {
				errs[i] = Migrate(t.Context(), db, Postgres(), "other_schema_migrations", []string{`CREATE TABLE others (x int)`})
			}
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := versions(t, MigrationsTable); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Fatalf("schema_migrations holds %v; want each of 1, 2, 3 once", got)
	}
	if got := versions(t, "other_schema_migrations"); !slices.Equal(got, []int64{1}) {
		t.Fatalf("other_schema_migrations holds %v; want 1 once", got)
	}

	bad := append(slices.Clone(migrations), `CREATE TABLE half (id int); CREATE TABLE half (id int);`)
	if err := Migrate(t.Context(), open(t), Postgres(), MigrationsTable, bad); err == nil || !strings.Contains(err.Error(), "migration 4:") {
		t.Fatalf("a failing migration: %v", err)
	}
	var half bool
	if err := open(t).QueryRowContext(t.Context(), `SELECT to_regclass('half') IS NOT NULL`).Scan(&half); err != nil || half {
		t.Fatalf("table of the failed migration exists: %v %v", half, err)
	}
	if err := Migrate(t.Context(), open(t), Postgres(), MigrationsTable, migrations[:2]); err == nil ||
		!strings.Contains(err.Error(), "schema version 3 is newer than this build knows (2)") {
		t.Fatalf("an older build: %v", err)
	}
}

func TestRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"WHERE a = ? AND b IN (?, ?)", "WHERE a = $1 AND b IN ($2, $3)"},
		{`INSERT INTO t ("key", "text?") VALUES (?, '?'), (?, 'it''s ?')`, `INSERT INTO t ("key", "text?") VALUES ($1, '?'), ($2, 'it''s ?')`},
		{"WHERE sensor = ?1 AND metric > ?2 OR sensor = ?1", "WHERE sensor = $1 AND metric > $2 OR sensor = $1"},
	}
	for _, tt := range tests {
		if got := Postgres().Bind(tt.in); got != tt.want {
			t.Errorf("Bind(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := SQLite().Bind(tt.in); got != tt.in {
			t.Errorf("SQLite Bind(%q) = %q, want it unchanged", tt.in, got)
		}
	}
}

// FuzzRebind: rebind never panics, changes nothing in a query without ?,
// and leaves no ? outside quotes.
func FuzzRebind(f *testing.F) {
	for _, s := range []string{"SELECT ?", "'?'", `"?"`, "?1 ?22", "'unterminated ?", "??", "'a''?'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		out := rebind(q)
		if !strings.Contains(q, "?") && out != q {
			t.Fatalf("rebind(%q) = %q, want it unchanged", q, out)
		}
		if n := unquoted(out, '?'); n != 0 {
			t.Fatalf("rebind(%q) = %q: %d ? left outside quotes", q, out, n)
		}
	})
}

// unquoted counts c outside '…' and "…" in s.
func unquoted(s string, c byte) int {
	n := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		switch {
		case quote != 0:
			if s[i] == quote {
				quote = 0
			}
		case s[i] == '\'' || s[i] == '"':
			quote = s[i]
		case s[i] == c:
			n++
		}
	}
	return n
}

// FuzzCleanText: the result is valid UTF-8 without NUL, valid text comes
// back unchanged, and cleaning twice changes nothing more.
func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"", "收到", "a\x00b", "\xff\xfe", "ok\xe6\x94", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := CleanText(s)
		if !utf8Valid(c) || strings.IndexByte(c, 0) >= 0 {
			t.Fatalf("CleanText(%q) = %q", s, c)
		}
		if utf8Valid(s) && strings.IndexByte(s, 0) < 0 && c != s {
			t.Fatalf("CleanText(%q) = %q, want it unchanged", s, c)
		}
		if CleanText(c) != c {
			t.Fatalf("CleanText is not idempotent on %q", s)
		}
	})
}

func TestCleanArgs(t *testing.T) {
	args := []any{"ok", "a\x00", sql.NullString{String: "\xff", Valid: true}, sql.NullString{}, 3, []byte{0}}
	got := cleanArgs(args)
	want := []any{"ok", "a\uFFFD", sql.NullString{String: "\uFFFD", Valid: true}, sql.NullString{}, 3, []byte{0}}
	for i := range want {
		if g, w := fmtAny(got[i]), fmtAny(want[i]); g != w {
			t.Errorf("arg %d: %s, want %s", i, g, w)
		}
	}
	if args[1] != "a\x00" {
		t.Error("cleanArgs changed its input")
	}
	clean := []any{"a", 1}
	if out := cleanArgs(clean); &out[0] != &clean[0] {
		t.Error("cleanArgs copied arguments that needed nothing")
	}
}

func utf8Valid(s string) bool { return utf8.ValidString(s) }

func fmtAny(v any) string { return fmt.Sprintf("%#v", v) }

// TestPostgresErrorsHideThePassword: whatever goes wrong opening a
// PostgreSQL URL (it does not parse, pgx refuses a parameter, the server
// refuses the password, nothing listens), the error names the database
// without the password.
func TestPostgresErrorsHideThePassword(t *testing.T) {
	pg := testenv.StartPostgres(t)
	const secret = "Pa55-w0rd%21secret"
	decoded, _ := url.PathUnescape(secret)
	for _, c := range []struct {
		name, url, want string
	}{
		{"not a URL", "postgres://yujing:" + secret + "@127.0.0.1:port/db", "postgres: not a URL"},
		{"bad escape", "postgres://yujing:" + secret + "%zz@127.0.0.1:5432/db", "postgres: not a URL"},
		{"bad parameter", "postgres://yujing:" + secret + "@127.0.0.1:5432/db?connect_timeout=soon", "postgres://yujing@127.0.0.1:5432/db"},
		{"wrong password", "postgres://" + pg.User + ":" + secret + "@" + pg.Addr + "/" + pg.Database + "?sslmode=disable",
			"postgres://" + pg.User + "@" + pg.Addr + "/" + pg.Database + ": connect:"},
		{"nothing listens", "postgres://yujing:" + secret + "@127.0.0.1:1/db?sslmode=disable&connect_timeout=5", "postgres://yujing@127.0.0.1:1/db: connect:"},
		{"password parameter", "postgres://127.0.0.1:1/db?user=yujing&password=" + secret + "&sslmode=disable", "postgres://127.0.0.1:1/db: connect:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, where, err := OpenPostgres(t.Context(), c.url, PostgresOptions{})
			if err == nil {
				db.Close()
				t.Fatal("no error")
			}
			msg := fmt.Sprintf("%v %+v %s", err, err, where)
			if strings.Contains(msg, secret) || strings.Contains(msg, decoded) || strings.Contains(msg, "Pa55") {
				t.Errorf("error shows the password: %s", msg)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to contain %q", err, c.want)
			}
		})
	}
}
