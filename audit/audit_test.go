package audit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"yujing/audit"
)

// memStore is a Store in memory; tests change its entries directly.
type memStore struct {
	mu      sync.Mutex
	entries []audit.Entry
	failAll error
}

func (m *memStore) Append(_ context.Context, e *audit.Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	prev := audit.GenesisHash
	if n := len(m.entries); n > 0 {
		prev = m.entries[n-1].Hash
	}
	if err := e.Seal(int64(len(m.entries)+1), prev); err != nil {
		return err
	}
	m.entries = append(m.entries, *e)
	return nil
}

func (m *memStore) List(_ context.Context, f audit.Filter) ([]audit.Entry, error) {
	return nil, errors.New("not used")
}

func (m *memStore) All(_ context.Context, fn func(audit.Entry) error) error {
	if m.failAll != nil {
		return m.failAll
	}
	m.mu.Lock()
	es := append([]audit.Entry(nil), m.entries...)
	m.mu.Unlock()
	for _, e := range es {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

var t0 = time.Date(2026, 7, 1, 8, 0, 0, 5, time.UTC)

func filled(t *testing.T, n int) *memStore {
	t.Helper()
	m := &memStore{}
	for i := range n {
		e := audit.Entry{At: t0.Add(time.Duration(i) * time.Hour), Actor: []string{"li", "wang"}[i%2],
			Action: []string{"POST /api/v1/alerts/{id}/ack", "DELETE /api/v1/sensors/{id}"}[i%2],
			Object: fmt.Sprint("/o/", i+1), Detail: `{"note":"阀门已更换, \"quoted\" <b>"}`, From: "127.0.0.1:1 ua=\"x\""}
		if err := m.Append(t.Context(), &e); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// TestSumEncoding pins the hashed encoding: changing it would make every
// log written before look tampered with.
func TestAuditSumEncoding(t *testing.T) {
	e := audit.Entry{Seq: 7, At: time.Date(2026, 7, 1, 0, 0, 0, 1, time.FixedZone("CST", 8*3600)),
		Actor: "li", Action: "POST /x", Object: "/x/1", Detail: "{}", From: "ip", PrevHash: audit.GenesisHash}
	var b bytes.Buffer
	num := func(v int64) { binary.Write(&b, binary.BigEndian, v) }
	str := func(s string) { num(int64(len(s))); b.WriteString(s) }
	str("yujing audit entry v1")
	num(7)
	num(e.At.UnixNano())
	for _, s := range []string{"li", "POST /x", "/x/1", "{}", "ip", audit.GenesisHash} {
		str(s)
	}
	sum := sha256.Sum256(b.Bytes())
	if got, want := e.Sum(), hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("Sum = %s, want %s", got, want)
	}

	// Every field counts, and so do field boundaries.
	base := e.Sum()
	for name, change := range map[string]func(*audit.Entry){
		"seq":      func(e *audit.Entry) { e.Seq++ },
		"at":       func(e *audit.Entry) { e.At = e.At.Add(time.Nanosecond) },
		"actor":    func(e *audit.Entry) { e.Actor = "wang" },
		"action":   func(e *audit.Entry) { e.Action = "PUT /x" },
		"object":   func(e *audit.Entry) { e.Object = "/x/2" },
		"detail":   func(e *audit.Entry) { e.Detail = "{ }" },
		"from":     func(e *audit.Entry) { e.From = "ip2" },
		"prev":     func(e *audit.Entry) { e.PrevHash = strings.Repeat("1", 64) },
		"boundary": func(e *audit.Entry) { e.Actor, e.Action = "liPOST", " /x" },
		"shift":    func(e *audit.Entry) { e.Object, e.Detail = "/x/1{", "}" },
	} {
		c := e
		change(&c)
		if c.Sum() == base {
			t.Errorf("changing %s keeps the hash", name)
		}
	}
	// The zone does not: At is an instant.
	c := e
	c.At = c.At.UTC()
	if c.Sum() != base {
		t.Error("the time zone of At changes the hash")
	}
}

func TestAuditSeal(t *testing.T) {
	e := audit.Entry{At: time.Now().In(time.FixedZone("CST", 8*3600)), Actor: "li"}
	if err := e.Seal(3, strings.Repeat("a", 64)); err != nil {
		t.Fatal(err)
	}
	if e.Seq != 3 || e.PrevHash != strings.Repeat("a", 64) || e.Hash != e.Sum() || e.At.Location() != time.UTC {
		t.Errorf("sealed %+v", e)
	}
	if err := (&audit.Entry{}).Seal(1, audit.GenesisHash); err == nil {
		t.Error("sealed an entry without a time")
	}
	if err := (&audit.Entry{At: time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)}).Seal(1, audit.GenesisHash); err == nil {
		t.Error("sealed an entry from 1500")
	}
}

func TestAuditVerify(t *testing.T) {
	for _, c := range []struct {
		name    string
		change  func(es []audit.Entry) []audit.Entry
		bad     int64
		problem string
	}{
		{"intact", func(es []audit.Entry) []audit.Entry { return es }, 0, ""},
		{"changed", func(es []audit.Entry) []audit.Entry { es[2].Actor = "someone else"; return es },
			3, "row 3 was changed: its hash does not match its content"},
		{"missing", func(es []audit.Entry) []audit.Entry { return append(es[:2], es[3:]...) },
			3, "row 3 is missing"},
		{"missing several", func(es []audit.Entry) []audit.Entry { return append(es[:1], es[4:]...) },
			2, "rows 2 to 4 are missing"},
		{"rehashed", func(es []audit.Entry) []audit.Entry {
			es[2].Detail = "{}"
			es[2].Hash = es[2].Sum()
			return es
		}, 4, "row 4's previous-hash does not match row 3"},
		{"new genesis", func(es []audit.Entry) []audit.Entry {
			es[0].PrevHash = strings.Repeat("f", 64)
			es[0].Hash = es[0].Sum()
			return es
		}, 1, "row 1's previous-hash is not the genesis hash"},
		{"duplicated", func(es []audit.Entry) []audit.Entry { return append(es[:3], es[2:]...) },
			3, "row 3 is out of sequence: expected row 4"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := filled(t, 6)
			m.entries = c.change(m.entries)
			r, err := audit.Verify(t.Context(), m)
			if err != nil {
				t.Fatal(err)
			}
			if r.OK != (c.problem == "") || r.BadSeq != c.bad || r.Problem != c.problem {
				t.Errorf("report %+v, want row %d: %q", r, c.bad, c.problem)
			}
			if c.problem == "" && (r.Entries != 6 || r.LastSeq != 6 || r.LastHash != m.entries[5].Hash) {
				t.Errorf("report %+v", r)
			}
		})
	}
	m := &memStore{failAll: errors.New("disk on fire")}
	if _, err := audit.Verify(t.Context(), m); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("read error: %v", err)
	}
}

func TestAuditReportString(t *testing.T) {
	ok := audit.Report{OK: true, Entries: 2, LastSeq: 2, LastHash: "abc"}
	if got := ok.String(); got != "audit log intact: 2 entries, last hash abc" {
		t.Errorf("%q", got)
	}
	one := audit.Report{OK: true, Entries: 1, LastSeq: 1, LastHash: "abc"}
	if got := one.String(); got != "audit log intact: 1 entry, last hash abc" {
		t.Errorf("%q", got)
	}
	bad := audit.Report{Entries: 3, LastSeq: 2, LastHash: "abc", BadSeq: 3, Problem: "row 3 was changed: its hash does not match its content"}
	if got := bad.String(); got != "audit log broken: row 3 was changed: its hash does not match its content; entries 1 to 2 are intact, the last with hash abc" {
		t.Errorf("%q", got)
	}
	first := audit.Report{BadSeq: 1, Problem: "row 1 is missing", LastHash: audit.GenesisHash}
	if got := first.String(); got != "audit log broken: row 1 is missing" {
		t.Errorf("%q", got)
	}
}

func TestAuditExport(t *testing.T) {
	m := filled(t, 5)
	var b bytes.Buffer
	if err := audit.Export(t.Context(), m, audit.Filter{}, audit.CSV, &b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 || strings.Join(rows[0], ",") != "seq,at,actor,action,object,detail,from,prev_hash,hash" {
		t.Fatalf("csv rows %q", rows)
	}
	// A row holds everything needed to check its hash again.
	for i, r := range rows[1:] {
		at, err := time.Parse(time.RFC3339Nano, r[1])
		if err != nil {
			t.Fatal(err)
		}
		e := audit.Entry{Seq: int64(i + 1), At: at, Actor: r[2], Action: r[3], Object: r[4], Detail: r[5], From: r[6], PrevHash: r[7], Hash: r[8]}
		if r[0] != fmt.Sprint(i+1) || e.Sum() != e.Hash || e.Hash != m.entries[i].Hash {
			t.Errorf("csv row %d %q does not hash back", i+1, r)
		}
	}

	for _, c := range []struct {
		f    audit.Filter
		want []int64
	}{
		{audit.Filter{}, []int64{1, 2, 3, 4, 5}},
		{audit.Filter{Actor: "li"}, []int64{1, 3, 5}},
		{audit.Filter{Action: "DELETE"}, []int64{2, 4}},
		{audit.Filter{From: t0.Add(time.Hour), To: t0.Add(3 * time.Hour)}, []int64{2, 3}},
		{audit.Filter{Offset: 1, Limit: 2}, []int64{2, 3}},
		{audit.Filter{Actor: "li", Offset: 1}, []int64{3, 5}},
		{audit.Filter{Actor: "nobody"}, nil},
	} {
		b.Reset()
		if err := audit.Export(t.Context(), m, c.f, audit.JSON, &b); err != nil {
			t.Fatal(err)
		}
		var got []audit.Entry
		if err := json.Unmarshal(b.Bytes(), &got); err != nil {
			t.Fatalf("%+v: %v\n%s", c.f, err, b.String())
		}
		var seqs []int64
		for _, e := range got {
			seqs = append(seqs, e.Seq)
			if e.Sum() != e.Hash {
				t.Errorf("json entry %d does not hash back", e.Seq)
			}
		}
		if fmt.Sprint(seqs) != fmt.Sprint(c.want) {
			t.Errorf("%+v: %v, want %v", c.f, seqs, c.want)
		}
		if len(c.want) == 0 && b.String() != "[]\n" {
			t.Errorf("empty export %q", b.String())
		}
	}
	b.Reset()
	audit.Export(t.Context(), m, audit.Filter{Limit: 1}, audit.JSON, &b)
	if !strings.Contains(b.String(), `阀门已更换, \\\"quoted\\\" <b>`) {
		t.Errorf("JSON export escapes the detail: %s", b.String())
	}
	if err := audit.Export(t.Context(), m, audit.Filter{}, "xml", &b); err == nil {
		t.Error("exported xml")
	}
	for in, want := range map[string]audit.Format{"csv": audit.CSV, "JSON": audit.JSON} {
		if f, err := audit.ParseFormat(in); err != nil || f != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, f, err)
		}
	}
	if _, err := audit.ParseFormat("yaml"); err == nil {
		t.Error("ParseFormat(yaml) succeeded")
	}
}
