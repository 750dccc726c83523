package sqlstate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"yujing/audit"
)

var auditT0 = time.Date(2026, 7, 1, 8, 0, 0, 123456789, time.FixedZone("CST", 8*3600))

// appendAudit appends n entries: actors li and wang in turn, actions ack
// and close in turn, one minute apart from auditT0.
func appendAudit(t *testing.T, l *AuditLog, n int) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	for i := range n {
		e := audit.Entry{
			At:     auditT0.Add(time.Duration(i) * time.Minute),
			Actor:  []string{"li", "wang"}[i%2],
			Action: []string{"POST /api/v1/alerts/{id}/ack", "POST /api/v1/alerts/{id}/close"}[i%2],
			Object: fmt.Sprintf("/api/v1/alerts/%d", i+1),
			Detail: fmt.Sprintf(`{"by":"x","note":"第 %d 次"}`, i+1),
			From:   "127.0.0.1:5000 ua=\"curl/8\"",
		}
		if err := l.Append(t.Context(), &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func verifyLog(t *testing.T, l audit.Store) audit.Report {
	t.Helper()
	r, err := audit.Verify(t.Context(), l)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func testAuditAppendChainsAndVerifies(t *testing.T, b backend) {
	s := b.open(t)
	l := s.AuditLog()
	if r := verifyLog(t, l); !r.OK || r.Entries != 0 || r.LastHash != audit.GenesisHash {
		t.Fatalf("empty log: %+v", r)
	}
	es := appendAudit(t, l, 5)
	prev := audit.GenesisHash
	for i, e := range es {
		if e.Seq != int64(i+1) || e.PrevHash != prev || e.Hash != e.Sum() || len(e.Hash) != 64 {
			t.Errorf("entry %d: seq %d prev %s hash %s", i, e.Seq, e.PrevHash, e.Hash)
		}
		if e.At.Location() != time.UTC || !e.At.Equal(auditT0.Add(time.Duration(i)*time.Minute)) {
			t.Errorf("entry %d: at %v", i, e.At)
		}
		prev = e.Hash
	}
	r := verifyLog(t, l)
	if !r.OK || r.Entries != 5 || r.LastSeq != 5 || r.LastHash != es[4].Hash || r.Problem != "" {
		t.Fatalf("report %+v", r)
	}
	if want := "audit log intact: 5 entries, last hash " + es[4].Hash; r.String() != want {
		t.Errorf("report says %q, want %q", r, want)
	}

	// What is stored is what Append returned, to the nanosecond.
	var all []audit.Entry
	if err := l.All(t.Context(), func(e audit.Entry) error { all = append(all, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(all) != fmt.Sprint(es) {
		t.Errorf("All:\n%v\nwant\n%v", all, es)
	}

	// An entry without a time is refused and leaves nothing behind.
	bad := audit.Entry{Actor: "li", Action: "x"}
	if err := l.Append(t.Context(), &bad); err == nil || bad.Seq != 0 {
		t.Errorf("entry without time: err %v, seq %d", err, bad.Seq)
	}
	if r := verifyLog(t, l); !r.OK || r.Entries != 5 {
		t.Errorf("after a refused append: %+v", r)
	}
}

func testAuditList(t *testing.T, b backend) {
	s := b.open(t)
	l := s.AuditLog()
	es := appendAudit(t, l, 6)
	seqs := func(f audit.Filter) string {
		t.Helper()
		got, err := l.List(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range got {
			out = append(out, fmt.Sprint(e.Seq))
			if !f.Match(e) {
				t.Errorf("%+v: entry %d listed but Match says no", f, e.Seq)
			}
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct {
		f    audit.Filter
		want string
	}{
		{audit.Filter{}, "1,2,3,4,5,6"},
		{audit.Filter{NewestFirst: true}, "6,5,4,3,2,1"},
		{audit.Filter{Actor: "wang"}, "2,4,6"},
		{audit.Filter{Action: "/ack"}, "1,3,5"},
		{audit.Filter{Actor: "li", Action: "close"}, ""},
		{audit.Filter{From: es[1].At, To: es[4].At}, "2,3,4"},
		{audit.Filter{From: es[1].At.Add(time.Nanosecond)}, "3,4,5,6"},
		{audit.Filter{Limit: 2, Offset: 1}, "2,3"},
		{audit.Filter{Limit: 2, NewestFirst: true}, "6,5"},
		{audit.Filter{Actor: "li", Limit: 1, Offset: 1}, "3"},
	} {
		if got := seqs(c.f); got != c.want {
			t.Errorf("%+v: %s, want %s", c.f, got, c.want)
		}
	}
}

func testAuditConcurrentAppendsKeepOneChain(t *testing.T, b backend) {
	s := b.open(t)
	l := s.AuditLog()
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				e := audit.Entry{At: time.Now(), Actor: fmt.Sprintf("w%d", w), Action: "POST /x", Object: fmt.Sprint(i)}
				if err := l.Append(t.Context(), &e); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if r := verifyLog(t, l); !r.OK || r.Entries != writers*each {
		t.Fatalf("after concurrent appends: %s", r)
	}
}

// tamper opens the state database as anyone with access to it could and
// runs stmts on it, past the append-only triggers.
func tamper(t *testing.T, b backend, where string, stmts ...string) {
	t.Helper()
	db := b.raw(t, where)
	for _, q := range stmts {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func testAuditAppendOnlyTriggers(t *testing.T, b backend) {
	where := b.fresh(t)
	s := b.openAt(t, where)
	appendAudit(t, s.AuditLog(), 3)
	db := b.raw(t, where)
	refused := []string{
		`UPDATE audit_log SET actor = 'someone else' WHERE seq = 2`,
		`DELETE FROM audit_log WHERE seq = 3`,
	}
	if b.postgres() {
		refused = append(refused, `TRUNCATE audit_log`) // fires no row trigger
	}
	for _, q := range refused {
		if _, err := db.ExecContext(t.Context(), q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err %v, want append-only refusal", q, err)
		}
	}
}

func testAuditVerifyFindsTampering(t *testing.T, b backend) {
	for _, c := range []struct {
		name    string
		stmts   []string
		bad     int64
		problem string
	}{
		{"edited actor", []string{`UPDATE audit_log SET actor = 'someone else' WHERE seq = 3`},
			3, "row 3 was changed: its hash does not match its content"},
		{"edited time", []string{`UPDATE audit_log SET at = at + 1 WHERE seq = 4`},
			4, "row 4 was changed: its hash does not match its content"},
		{"moved text between fields", []string{`UPDATE audit_log SET object = object || substr(detail, 1, 1), detail = substr(detail, 2) WHERE seq = 2`},
			2, "row 2 was changed: its hash does not match its content"},
		{"deleted row", []string{`DELETE FROM audit_log WHERE seq = 3`},
			3, "row 3 is missing"},
		{"deleted rows", []string{`DELETE FROM audit_log WHERE seq IN (2, 3, 4)`},
			2, "rows 2 to 4 are missing"},
		{"deleted first row", []string{`DELETE FROM audit_log WHERE seq = 1`},
			1, "row 1 is missing"},
		{"deleted and renumbered", []string{`DELETE FROM audit_log WHERE seq = 3`, `UPDATE audit_log SET seq = seq - 1 WHERE seq > 3`},
			3, "row 3 was changed: its hash does not match its content"},
		{"rehashed by hand", nil, // see below: row 3 changed and its hash recomputed
			4, "row 4's previous-hash does not match row 3"},
		{"first link", []string{`UPDATE audit_log SET prev_hash = hash WHERE seq = 1`},
			1, "row 1 was changed: its hash does not match its content"},
	} {
		t.Run(c.name, func(t *testing.T) {
			where := b.fresh(t)
			s := b.openAt(t, where)
			l := s.AuditLog()
			es := appendAudit(t, l, 6)
			stmts := c.stmts
			if stmts == nil {
				e := es[2]
				e.Actor = "someone else"
				stmts = []string{fmt.Sprintf(`UPDATE audit_log SET actor = 'someone else', hash = '%s' WHERE seq = 3`, e.Sum())}
			}
			tamper(t, b, where, append(b.dropAuditTriggers, stmts...)...)
			for name, st := range map[string]audit.Store{"live": l, "read-only": openReadOnly(t, where)} {
				r := verifyLog(t, st)
				if r.OK || r.BadSeq != c.bad || r.Problem != c.problem {
					t.Errorf("%s: report %+v, want row %d: %s", name, r, c.bad, c.problem)
				}
				if r.LastSeq != c.bad-1 || (r.LastSeq > 0 && c.stmts != nil && r.LastHash != es[r.LastSeq-1].Hash) {
					t.Errorf("%s: last intact %d %s", name, r.LastSeq, r.LastHash)
				}
				if !strings.HasPrefix(r.String(), "audit log broken: "+c.problem) {
					t.Errorf("%s: %q", name, r)
				}
			}
		})
	}
}

func openReadOnly(t *testing.T, path string) *AuditLog {
	t.Helper()
	l, err := OpenAuditLog(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	})
	return l
}

// testAuditReadOnly: a log opened read-only beside the State (yujing audit
// verify while yujing serve runs) reads the chain, sees what is appended
// after it was opened, and refuses to append.
func testAuditReadOnly(t *testing.T, b backend) {
	where := b.fresh(t)
	s := b.openAt(t, where)
	appendAudit(t, s.AuditLog(), 3)
	ro := openReadOnly(t, where)
	if r := verifyLog(t, ro); !r.OK || r.Entries != 3 {
		t.Fatalf("read-only while open: %s", r)
	}
	e := audit.Entry{At: time.Now(), Action: "x"}
	if err := ro.Append(t.Context(), &e); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("append to a read-only log: %v", err)
	}
	appendAudit(t, s.AuditLog(), 1)
	if r := verifyLog(t, ro); !r.OK || r.Entries != 4 {
		t.Errorf("read-only sees a new entry: %s", r)
	}
	if b.postgres() {
		// A read-only connection cannot write, whatever it is asked.
		if _, err := ro.r.ExecContext(t.Context(), `INSERT INTO meta (key, value) VALUES ('x', 'y')`); err == nil {
			t.Error("the read-only log's connection wrote")
		}
	}
	// A database without the table (one no yujing has opened yet;
	// TestOpenAuditLogRefuses for SQLite files).
	if b.postgres() {
		if _, err := OpenAuditLog(t.Context(), b.fresh(t)); err == nil || !strings.Contains(err.Error(), "no audit log yet") {
			t.Errorf("state database without the table: %v", err)
		}
	}
}

func TestAuditReadOnlyAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := OpenSQLite(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	es := appendAudit(t, s.AuditLog(), 3)

	// While the state database is open (yujing serve running).
	ro, err := OpenAuditLog(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if r := verifyLog(t, ro); !r.OK || r.Entries != 3 {
		t.Fatalf("read-only while open: %s", r)
	}
	e := audit.Entry{At: time.Now(), Action: "x"}
	if err := ro.Append(t.Context(), &e); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("append to a read-only log: %v", err)
	}
	appendAudit(t, s.AuditLog(), 1)
	if r := verifyLog(t, ro); !r.OK || r.Entries != 4 {
		t.Errorf("read-only sees a new entry: %s", r)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// After yujing stopped: the WAL is checkpointed and gone, and reading
	// creates no -wal or -shm files (they would belong to whoever reads).
	ro2 := openReadOnly(t, path)
	if r := verifyLog(t, ro2); !r.OK || r.Entries != 4 {
		t.Fatalf("read-only after close: %s", r)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + suffix); err == nil {
			t.Errorf("%s created by the read-only open", suffix)
		}
	}

	// Reopened, the chain goes on where it stopped.
	s, err = OpenSQLite(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	next := appendAudit(t, s.AuditLog(), 1)[0]
	var fourth audit.Entry
	s.AuditLog().All(t.Context(), func(e audit.Entry) error {
		if e.Seq == 4 {
			fourth = e
		}
		return nil
	})
	if next.Seq != 5 || next.PrevHash != fourth.Hash || fourth.PrevHash != es[2].Hash {
		t.Errorf("after reopen: seq %d prev %s, want 5 after %s", next.Seq, next.PrevHash, fourth.Hash)
	}
	if r := verifyLog(t, s.AuditLog()); !r.OK || r.Entries != 5 {
		t.Errorf("after reopen: %s", r)
	}
}

func TestOpenAuditLogRefuses(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenAuditLog(t.Context(), filepath.Join(dir, "none.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); !os.IsNotExist(err) {
		t.Errorf("OpenAuditLog created the file: %v", err)
	}
	old := filepath.Join(dir, "old.db")
	tamper(t, sqliteBackend(), old, `CREATE TABLE alerts (id INTEGER PRIMARY KEY)`)
	if _, err := OpenAuditLog(t.Context(), old); err == nil || !strings.Contains(err.Error(), "no audit log yet") {
		t.Errorf("state database without the table: %v", err)
	}
}
