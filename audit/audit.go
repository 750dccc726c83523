package audit

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GenesisHash is the PrevHash of the first entry.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// hashDomain starts every hashed encoding, so that a hash of an entry can
// never be mistaken for a hash of anything else, and names the version of
// the encoding.
const hashDomain = "yujing audit entry v1"

// Entry is one recorded action.
type Entry struct {
	Seq    int64     `json:"seq"`    // 1, 2, 3, … assigned by the Store
	At     time.Time `json:"at"`     // when it happened (kept to the nanosecond, in UTC)
	Actor  string    `json:"actor"`  // who: a person's id or name, "anonymous" when unknown
	Action string    `json:"action"` // what, e.g. "POST /api/v1/alerts/{id}/ack"
	Object string    `json:"object"` // what it was done to, e.g. "/api/v1/alerts/17/ack"
	Detail string    `json:"detail"` // the particulars: JSON or text, secrets redacted
	From   string    `json:"from"`   // where from: remote address, user agent
	// PrevHash is the Hash of the entry before (GenesisHash for the first);
	// Hash is Sum of this entry. Both are lowercase hex, set by the Store.
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// Sum returns the hash the entry must carry: hex SHA-256 over its Seq, At
// (Unix nanoseconds), Actor, Action, Object, Detail, From and PrevHash.
// Every field is encoded with its length first (integers as 8 bytes big
// endian, strings as an 8-byte length and the bytes), after a fixed
// domain string, so that no two different entries share an encoding: moving
// text from one field into the next changes the hash.
func (e Entry) Sum() string {
	h := sha256.New()
	var n [8]byte
	putInt := func(v int64) {
		binary.BigEndian.PutUint64(n[:], uint64(v))
		h.Write(n[:])
	}
	putString := func(s string) {
		putInt(int64(len(s)))
		io.WriteString(h, s)
	}
	putString(hashDomain)
	putInt(e.Seq)
	putInt(e.At.UnixNano())
	for _, s := range []string{e.Actor, e.Action, e.Object, e.Detail, e.From, e.PrevHash} {
		putString(s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// The times an entry can have: At is hashed as int64 Unix nanoseconds.
var (
	minTime = time.Unix(0, math.MinInt64).UTC()
	maxTime = time.Unix(0, math.MaxInt64).UTC()
)

// Seal makes e the entry after prevHash at position seq: it sets Seq,
// PrevHash and Hash, and At to UTC. A zero At is an error (the time of an
// action is part of the record), as is one outside 1678..2262. A Store
// calls it while it holds the write lock, after reading the last entry's
// hash.
func (e *Entry) Seal(seq int64, prevHash string) error {
	if e.At.IsZero() {
		return errors.New("audit: entry without a time")
	}
	if e.At.Before(minTime) || e.At.After(maxTime) {
		return fmt.Errorf("audit: entry time %s outside %d..%d", e.At.Format(time.RFC3339), minTime.Year(), maxTime.Year())
	}
	e.At = e.At.UTC().Round(0) // no monotonic reading: At is what is stored
	e.Seq, e.PrevHash = seq, prevHash
	e.Hash = e.Sum()
	return nil
}

// Store keeps the log. Implementations must be safe for concurrent use and
// serialize appends, so that the chain stays linear. There is no way to
// change or remove an entry.
type Store interface {
	// Append records e: it assigns e.Seq (the last Seq + 1), e.PrevHash
	// (the last entry's Hash) and e.Hash (see Seal) atomically.
	Append(ctx context.Context, e *Entry) error
	// List returns the entries f selects, oldest first unless
	// f.NewestFirst.
	List(ctx context.Context, f Filter) ([]Entry, error)
	// All calls fn with every entry, oldest first, from one consistent
	// snapshot, and stops at fn's first error, which it returns.
	All(ctx context.Context, fn func(Entry) error) error
}

// Limits of Store.List.
const (
	DefaultLimit = 500
	MaxLimit     = 5000
)

// Filter selects entries. Zero fields do not filter: From <= At < To, a
// zero time leaving that end open; Actor matches exactly; Action matches
// any entry whose action contains it (e.g. "/ack"); Text any entry whose
// actor, action, object or detail contains it, ASCII letters in either
// case (GT-101 finds gt-101; other letters as they are). For List, a Limit of 0
// (or less) means DefaultLimit and it is capped at MaxLimit; for Export, 0
// means every entry. Offset skips that many matching entries.
type Filter struct {
	From, To    time.Time
	Actor       string
	Action      string
	Text        string
	Limit       int
	Offset      int
	NewestFirst bool // List only; Export is always oldest first
}

// Match reports whether f selects e (ignoring Limit and Offset).
func (f Filter) Match(e Entry) bool {
	switch {
	case !f.From.IsZero() && e.At.Before(f.From),
		!f.To.IsZero() && !e.At.Before(f.To),
		f.Actor != "" && e.Actor != f.Actor,
		f.Action != "" && !strings.Contains(e.Action, f.Action):
		return false
	case f.Text != "":
		t := asciiLower(f.Text)
		return slices.ContainsFunc([]string{e.Actor, e.Action, e.Object, e.Detail}, func(s string) bool {
			return strings.Contains(asciiLower(s), t)
		})
	}
	return true
}

// asciiLower lowers the ASCII letters of s only, as SQL's lower() does
// (so that List and Export select the same entries).
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// Report is the outcome of Verify.
type Report struct {
	OK       bool   `json:"ok"`
	Entries  int64  `json:"entries"`   // entries checked: all of them when OK
	LastSeq  int64  `json:"last_seq"`  // the last entry found intact
	LastHash string `json:"last_hash"` // its hash (GenesisHash for an empty log)
	// BadSeq is the first entry found wrong and Problem says what is wrong
	// with it; both are empty when OK.
	BadSeq  int64  `json:"bad_seq,omitempty"`
	Problem string `json:"problem,omitempty"`
}

// String is the report in one line: "audit log intact: N entries, last
// hash H" or the problem.
func (r Report) String() string {
	if r.OK {
		noun := "entries"
		if r.Entries == 1 {
			noun = "entry"
		}
		return fmt.Sprintf("audit log intact: %d %s, last hash %s", r.Entries, noun, r.LastHash)
	}
	s := "audit log broken: " + r.Problem
	if r.LastSeq > 0 {
		s += fmt.Sprintf("; entries 1 to %d are intact, the last with hash %s", r.LastSeq, r.LastHash)
	}
	return s
}

// errBroken stops All at the first problem.
var errBroken = errors.New("audit chain broken")

// Verify reads the whole log and checks that its sequence numbers run 1, 2,
// 3, … without a gap, that every entry's Hash matches its content, and that
// every PrevHash is the Hash of the entry before (GenesisHash for the
// first). It stops at the first problem and describes it in the Report; the
// error is for failing to read the log.
func Verify(ctx context.Context, st Store) (Report, error) {
	r := Report{OK: true, LastHash: GenesisHash}
	bad := func(seq int64, format string, args ...any) error {
		r.OK, r.BadSeq, r.Problem = false, seq, fmt.Sprintf(format, args...)
		return errBroken
	}
	err := st.All(ctx, func(e Entry) error {
		want := r.LastSeq + 1
		switch {
		case e.Seq == want+1:
			return bad(want, "row %d is missing", want)
		case e.Seq > want:
			return bad(want, "rows %d to %d are missing", want, e.Seq-1)
		case e.Seq < want:
			return bad(e.Seq, "row %d is out of sequence: expected row %d", e.Seq, want)
		}
		r.Entries++
		if e.Sum() != e.Hash {
			return bad(e.Seq, "row %d was changed: its hash does not match its content", e.Seq)
		}
		if e.PrevHash != r.LastHash {
			if e.Seq == 1 {
				return bad(e.Seq, "row 1's previous-hash is not the genesis hash")
			}
			return bad(e.Seq, "row %d's previous-hash does not match row %d", e.Seq, e.Seq-1)
		}
		r.LastSeq, r.LastHash = e.Seq, e.Hash
		return nil
	})
	if err != nil && !errors.Is(err, errBroken) {
		return Report{}, fmt.Errorf("audit: verify: %w", err)
	}
	return r, nil
}

// Format is an export format.
type Format string

// Export formats.
const (
	CSV  Format = "csv"  // a header row (CSVHeader), then one row per entry
	JSON Format = "json" // an array of entries, one per line
)

// ParseFormat checks an export format's name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case CSV, JSON:
		return f, nil
	}
	return "", fmt.Errorf("format %q: want csv or json", s)
}

// CSVHeader is the first row of a CSV export.
var CSVHeader = []string{"seq", "at", "actor", "action", "object", "detail", "from", "prev_hash", "hash"}

// Record is e as a CSV row under CSVHeader; At is RFC 3339 with
// nanoseconds in UTC, so the row holds everything Sum needs. Values are
// written as they are (a CSV export is evidence, not a report).
func (e Entry) Record() []string {
	return []string{strconv.FormatInt(e.Seq, 10), e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.Action,
		e.Object, e.Detail, e.From, e.PrevHash, e.Hash}
}

// errEnough stops All once Export has written Limit entries.
var errEnough = errors.New("export limit reached")

// Export writes the entries f selects to w in format, oldest first, from one
// snapshot of the log (Store.All), streaming: the log is never held in
// memory. f.Limit 0 exports every matching entry.
func Export(ctx context.Context, st Store, f Filter, format Format, w io.Writer) error {
	var put func(Entry) error
	var end func() error
	switch format {
	case CSV:
		cw := csv.NewWriter(w)
		if err := cw.Write(CSVHeader); err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
		put = func(e Entry) error { return cw.Write(e.Record()) }
		end = func() error { cw.Flush(); return cw.Error() }
	case JSON:
		n := 0
		put = func(e Entry) error {
			b, err := marshal(e)
			if err != nil {
				return err
			}
			sep := ",\n"
			if n == 0 {
				sep = "[\n"
			}
			n++
			_, err = io.WriteString(w, sep+string(b))
			return err
		}
		end = func() error {
			tail := "\n]\n"
			if n == 0 {
				tail = "[]\n"
			}
			_, err := io.WriteString(w, tail)
			return err
		}
	default:
		return fmt.Errorf("audit: export: format %q: want csv or json", format)
	}
	skipped, written := 0, 0
	err := st.All(ctx, func(e Entry) error {
		if !f.Match(e) {
			return nil
		}
		if skipped < f.Offset {
			skipped++
			return nil
		}
		if err := put(e); err != nil {
			return err
		}
		written++
		if f.Limit > 0 && written >= f.Limit {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return fmt.Errorf("audit: export: %w", err)
	}
	if err := end(); err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	return nil
}

// marshal encodes e as one line of JSON, leaving <, > and & as they are.
func marshal(e Entry) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}
