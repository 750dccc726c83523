package pgprobe

import (
	"crypto/rand"
	"database/sql"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// code returns the SQLSTATE of a PostgreSQL error, "" for nil, and
// "not postgres: …" for another error.
func code(err error) string {
	if err == nil {
		return ""
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return "not postgres: " + err.Error()
}

// TestDialect runs statements of store/sqlite (as they are there, with ?
// placeholders rebound to $n) and the constructs around them through
// database/sql with pgx's stdlib driver, recording which work unchanged
// on PostgreSQL 15 and which do not. Each case has a database of its own.
func TestDialect(t *testing.T) {
	t.Parallel()
	pg := server(t)
	// The columns of store/sqlite's calls and users tables that the cases
	// touch, typed as a PostgreSQL schema would type them.
	schema := []string{
		`CREATE TABLE calls (
			id text PRIMARY KEY, channel text NOT NULL, status text NOT NULL DEFAULT 'pending',
			attempts integer NOT NULL DEFAULT 0, last_error text NOT NULL DEFAULT '',
			provider_id text NOT NULL DEFAULT '', sent_at bigint, answered_at bigint, on_site integer)`,
		`CREATE TABLE users (username text PRIMARY KEY, role text NOT NULL, password_hash text NOT NULL,
			disabled integer NOT NULL DEFAULT 0, created_at bigint NOT NULL, updated_at bigint NOT NULL)`,
		`CREATE TABLE flags (id int PRIMARY KEY, on_site boolean)`,
		`CREATE TABLE api_tokens (name text PRIMARY KEY, role text NOT NULL, revoked_at bigint)`,
		`CREATE TABLE silences (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text NOT NULL)`,
		`CREATE TABLE ts (id int PRIMARY KEY, at timestamptz, n bigint, v double precision)`,
		`INSERT INTO calls (id, channel) VALUES ('c1', 'sms')`,
	}
	tests := []struct {
		name string
		run  func(t *testing.T, db *sql.DB)
	}{
		{"LastInsertId is not supported; RETURNING is", func(t *testing.T, db *sql.DB) {
			res, err := db.ExecContext(t.Context(), rebind(`INSERT INTO silences (body) VALUES (?)`), "{}")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := res.LastInsertId(); err == nil {
				t.Fatal("LastInsertId: no error")
			}
			var id int64
			if err := db.QueryRowContext(t.Context(), rebind(`INSERT INTO silences (body) VALUES (?) RETURNING id`), "{}").Scan(&id); err != nil || id != 2 {
				t.Fatalf("RETURNING id: %d, %v; want 2", id, err)
			}
		}},
		{"MarkCall's UPDATE works as it is", func(t *testing.T, db *sql.DB) {
			// store/sqlite/outbox.go MarkCall, verbatim.
			res, err := db.ExecContext(t.Context(), rebind(`UPDATE calls SET
				status      = CASE WHEN status = 'sent' THEN status ELSE ? END,
				attempts    = attempts + ?,
				last_error  = CASE WHEN status = 'sent' THEN last_error ELSE ? END,
				provider_id = CASE WHEN ? = '' THEN provider_id ELSE ? END,
				sent_at     = COALESCE(sent_at, ?)
				WHERE id = ?`), "sent", 1, "", "p-1", "p-1", sql.NullInt64{Int64: 42, Valid: true}, "c1")
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				t.Fatalf("RowsAffected %d", n)
			}
		}},
		{"a Go bool into an integer column fails", func(t *testing.T, db *sql.DB) {
			// store/sqlite passes bools for users.disabled (modernc stores 1/0).
			_, err := db.ExecContext(t.Context(), rebind(`INSERT INTO users (username, role, password_hash, disabled, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?)`), "alice", "admin", "x", false, 1, 1)
			if err == nil {
				t.Fatal("no error")
			}
			t.Logf("error: %v", err)
		}},
		{"an integer column scans into a Go bool through database/sql", func(t *testing.T, db *sql.DB) {
			var b bool
			if err := db.QueryRowContext(t.Context(), `SELECT 1::integer`).Scan(&b); err != nil || !b {
				t.Fatalf("%v %v", b, err)
			}
		}},
		{"a Go bool into a boolean column, compared with TRUE", func(t *testing.T, db *sql.DB) {
			if _, err := db.ExecContext(t.Context(), rebind(`INSERT INTO flags VALUES (?, ?)`), 1, true); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM flags WHERE on_site = TRUE`).Scan(&n); err != nil || n != 1 {
				t.Fatalf("%d %v", n, err)
			}
			_, err := db.ExecContext(t.Context(), `SELECT COUNT(*) FROM flags WHERE on_site = 1`)
			if code(err) != "42883" {
				t.Fatalf("boolean = 1: %v; want undefined_function (42883)", err)
			}
		}},
		{"CreateFirstUser's INSERT … SELECT ? infers the parameter types", func(t *testing.T, db *sql.DB) {
			res, err := db.ExecContext(t.Context(), rebind(`INSERT INTO users (username, role, password_hash, disabled, created_at, updated_at)
				SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM users)`), "root", "admin", "x", 0, 1, 1)
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				t.Fatalf("RowsAffected %d", n)
			}
		}},
		{"WHERE 0 is an error; WHERE FALSE works in both", func(t *testing.T, db *sql.DB) {
			_, err := db.QueryContext(t.Context(), `SELECT id FROM calls WHERE 0`)
			if code(err) != "42804" {
				t.Fatalf("WHERE 0: %v; want datatype_mismatch (42804)", err)
			}
			rows, err := db.QueryContext(t.Context(), `SELECT id FROM calls WHERE FALSE`)
			if err != nil {
				t.Fatal(err)
			}
			rows.Close()
		}},
		{"instr does not exist; strpos does", func(t *testing.T, db *sql.DB) {
			_, err := db.QueryContext(t.Context(), rebind(`SELECT id FROM calls WHERE instr(channel, ?) > 0`), "sm")
			if code(err) != "42883" {
				t.Fatalf("instr: %v; want undefined_function (42883)", err)
			}
			var id string
			if err := db.QueryRowContext(t.Context(), rebind(`SELECT id FROM calls WHERE strpos(channel, ?) > 0`), "sm").Scan(&id); err != nil {
				t.Fatal(err)
			}
		}},
		{"INSERT OR REPLACE and AUTOINCREMENT are syntax errors", func(t *testing.T, db *sql.DB) {
			for _, q := range []string{
				`INSERT OR REPLACE INTO flags VALUES (1, true)`,
				`CREATE TABLE x (id INTEGER PRIMARY KEY AUTOINCREMENT)`,
				`CREATE TABLE y (id int PRIMARY KEY) WITHOUT ROWID`,
			} {
				if _, err := db.ExecContext(t.Context(), q); code(err) != "42601" {
					t.Errorf("%s: %v; want syntax_error (42601)", q, err)
				}
			}
		}},
		{"ON CONFLICT forms of store/sqlite work as they are", func(t *testing.T, db *sql.DB) {
			ins := rebind(`INSERT INTO api_tokens (name, role, revoked_at) VALUES (?, ?, NULL)
				ON CONFLICT (name) DO UPDATE SET role = excluded.role, revoked_at = NULL
				WHERE api_tokens.revoked_at IS NOT NULL`)
			for i, want := range []int64{1, 0} { // the second: in force, not replaced
				res, err := db.ExecContext(t.Context(), ins, "ci", "viewer")
				if err != nil {
					t.Fatal(err)
				}
				if n, _ := res.RowsAffected(); n != want {
					t.Fatalf("insert %d: RowsAffected %d, want %d", i, n, want)
				}
			}
			res, err := db.ExecContext(t.Context(), rebind(`INSERT INTO silences (id, body) OVERRIDING SYSTEM VALUE VALUES (?, ?) ON CONFLICT DO NOTHING`), 100, "{}")
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				t.Fatalf("ON CONFLICT DO NOTHING: RowsAffected %d", n)
			}
		}},
		{"several statements in one Exec: only without arguments", func(t *testing.T, db *sql.DB) {
			if _, err := db.ExecContext(t.Context(), `CREATE TABLE m1 (id int); CREATE INDEX m1_id ON m1 (id);`); err != nil {
				t.Fatalf("without arguments: %v", err)
			}
			_, err := db.ExecContext(t.Context(), `INSERT INTO m1 VALUES ($1); INSERT INTO m1 VALUES (2);`, 1)
			if code(err) != "42601" {
				t.Fatalf("with arguments: %v; want syntax_error (42601: cannot insert multiple commands into a prepared statement)", err)
			}
		}},
		{"text refuses NUL and invalid UTF-8", func(t *testing.T, db *sql.DB) {
			for _, s := range []string{"a\x00b", "a\xffb"} {
				_, err := db.ExecContext(t.Context(), rebind(`UPDATE calls SET last_error = ? WHERE id = 'c1'`), s)
				if code(err) != "22021" {
					t.Errorf("%q: %v; want character_not_in_repertoire (22021)", s, err)
				}
			}
		}},
		{"a long text in a unique index fails; an index on its hash does not", func(t *testing.T, db *sql.DB) {
			// store/sqlite's call_receipts_once indexes the reply's "text".
			var b strings.Builder
			for range 300 {
				b.WriteString(rand.Text()) // 26 random characters: nothing to compress
			}
			long := b.String()
			for _, q := range []string{
				`CREATE TABLE r1 (call_id text, "text" text); CREATE UNIQUE INDEX r1_once ON r1 (call_id, "text");`,
				`CREATE TABLE r2 (call_id text, "text" text); CREATE UNIQUE INDEX r2_once ON r2 (call_id, md5("text"));`,
			} {
				if _, err := db.ExecContext(t.Context(), q); err != nil {
					t.Fatal(err)
				}
			}
			_, err := db.ExecContext(t.Context(), `INSERT INTO r1 VALUES ('c1', $1) ON CONFLICT DO NOTHING`, long)
			if code(err) != "54000" {
				t.Fatalf("long text in a btree: %v; want program_limit_exceeded (54000)", err)
			}
			for i, want := range []int64{1, 0} {
				res, err := db.ExecContext(t.Context(), `INSERT INTO r2 VALUES ('c1', $1) ON CONFLICT DO NOTHING`, long)
				if err != nil {
					t.Fatal(err)
				}
				if n, _ := res.RowsAffected(); n != want {
					t.Fatalf("insert %d through the hash index: RowsAffected %d, want %d", i, n, want)
				}
			}
		}},
		{"bigint holds every int64 nanosecond bound", func(t *testing.T, db *sql.DB) {
			for i, n := range []int64{math.MinInt64, math.MaxInt64} {
				var got int64
				if err := db.QueryRowContext(t.Context(), rebind(`INSERT INTO ts (id, n) VALUES (?, ?) RETURNING n`), i, n).Scan(&got); err != nil || got != n {
					t.Fatalf("%d: %d %v", n, got, err)
				}
			}
		}},
		{"timestamptz keeps microseconds, not nanoseconds", func(t *testing.T, db *sql.DB) {
			at := time.Now().Truncate(time.Second).Add(123456789)
			var got time.Time
			if err := db.QueryRowContext(t.Context(), rebind(`INSERT INTO ts (id, at) VALUES (3, ?) RETURNING at`), at).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got.Equal(at) || !got.Equal(at.Truncate(time.Microsecond)) {
				t.Fatalf("stored %v, read %v; want it cut to microseconds", at, got)
			}
		}},
		{"NaN is stored as NaN (SQLite stores NULL)", func(t *testing.T, db *sql.DB) {
			var v sql.NullFloat64
			if err := db.QueryRowContext(t.Context(), rebind(`INSERT INTO ts (id, v) VALUES (4, ?) RETURNING v`), math.NaN()).Scan(&v); err != nil {
				t.Fatal(err)
			}
			if !v.Valid || !math.IsNaN(v.Float64) {
				t.Fatalf("read %+v", v)
			}
		}},
		{"row values, LIMIT ? OFFSET ?, COUNT(*) into int", func(t *testing.T, db *sql.DB) {
			var id string
			if err := db.QueryRowContext(t.Context(), rebind(`SELECT id FROM calls WHERE (channel, id) > (?, ?)
				ORDER BY channel, id LIMIT ? OFFSET ?`), "sms", "c0", 1, 0).Scan(&id); err != nil || id != "c1" {
				t.Fatalf("%q %v", id, err)
			}
		}},
		{"LIKE is case-sensitive (SQLite's is not, for ASCII)", func(t *testing.T, db *sql.DB) {
			var n int
			if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM calls WHERE channel LIKE 'SMS'`).Scan(&n); err != nil || n != 0 {
				t.Fatalf("%d %v", n, err)
			}
		}},
		{"ORDER BY text follows the database's collation; COLLATE \"C\" is SQLite's byte order", func(t *testing.T, db *sql.DB) {
			words := []string{"b", "B", "a-c", "ab", "_x", "Z", "站点2", "站点10"}
			order := func(collate string) []string {
				rows, err := db.QueryContext(t.Context(), `SELECT w FROM unnest($1::text[]) w ORDER BY w`+collate, words)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var out []string
				for rows.Next() {
					var w string
					if err := rows.Scan(&w); err != nil {
						t.Fatal(err)
					}
					out = append(out, w)
				}
				return out
			}
			bytes := slices.Clone(words)
			slices.Sort(bytes) // Go compares strings byte by byte, as SQLite's BINARY does
			if got := order(` COLLATE "C"`); !slices.Equal(got, bytes) {
				t.Fatalf("COLLATE \"C\": %q; want byte order %q", got, bytes)
			}
			got := order("")
			if slices.Equal(got, bytes) {
				t.Fatalf("the database's collation sorts in byte order %q; the probe expected ICU en-US", got)
			}
			t.Logf("byte order:    %s\nen-US (ICU):   %s", strings.Join(bytes, " "), strings.Join(got, " "))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := openDB(t, pg.NewDatabase(t))
			for _, s := range schema {
				if _, err := db.ExecContext(t.Context(), s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			tt.run(t, db)
		})
	}
}
