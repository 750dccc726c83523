package pgprobe

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"yujing/internal/testenv"
)

// connect opens a native pgx connection to url, closed when the test ends.
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

// openDB opens url through database/sql with pgx's stdlib driver, the way
// a store shared with SQLite would.
func openDB(t *testing.T, url string) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() })
	return db
}

// exec runs statements on conn, failing the test on the first error.
func exec(t *testing.T, conn *pgx.Conn, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := conn.Exec(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// rebind turns the ? placeholders of a query written for SQLite into
// PostgreSQL's $1, $2, …, leaving ? inside quoted strings and identifiers
// alone. ?NNN (SQLite's numbered form) becomes $NNN.
func rebind(q string) string {
	var b strings.Builder
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
			b.WriteByte(c)
		case c == '\'' || c == '"':
			quote = c
			b.WriteByte(c)
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			if j > i+1 {
				b.WriteString("$" + q[i+1:j])
				i = j - 1
				continue
			}
			n++
			b.WriteString("$" + strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func TestRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"WHERE a = ? AND b IN (?, ?)", "WHERE a = $1 AND b IN ($2, $3)"},
		{`INSERT INTO t ("key", "text?") VALUES (?, '?'), (?, 'it''s ?')`, `INSERT INTO t ("key", "text?") VALUES ($1, '?'), ($2, 'it''s ?')`},
		{"WHERE sensor = ?1 AND metric > ?2 OR sensor = ?1", "WHERE sensor = $1 AND metric > $2 OR sensor = $1"},
	}
	for _, tt := range tests {
		if got := rebind(tt.in); got != tt.want {
			t.Errorf("rebind(%q) = %q, want %q", tt.in, got, tt.want)
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

// server starts one PostgreSQL for a test's subtests; each subtest takes a
// database of its own with NewDatabase.
func server(t *testing.T) *testenv.Postgres {
	t.Helper()
	return testenv.StartPostgres(t)
}
