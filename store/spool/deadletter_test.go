package spool

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"yujing"
)

func TestDeadLetterCodecRoundTrip(t *testing.T) {
	long := strings.Repeat("写", 600) // 1800 bytes: clipped at a rune boundary
	cases := []struct {
		name string
		dl   DeadLetter
		err  string // as stored
	}{
		{"typical", DeadLetter{At: t0, Reason: "max_values_per_tag", Err: `partial write: max-values-per-tag limit exceeded (5/5): measurement="gas" tag="sensor" value="S6" dropped=3`,
			Attempts: 2, Readings: batch(6, 4)}, ""},
		{"no text", DeadLetter{At: t0.Add(-time.Hour), Reason: "", Readings: batch(1, 1)}, ""},
		{"clipped", DeadLetter{At: t0, Reason: "other", Err: long, Readings: batch(2, 3)}, strings.Repeat("写", 341)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := encodeDeadLetter(nil, c.dl)
			if got := payloadCount(p); got != len(c.dl.Readings) {
				t.Fatalf("payloadCount = %d, want %d", got, len(c.dl.Readings))
			}
			head, err := decodeDeadLetter(p, false)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeDeadLetter(p, true)
			if err != nil {
				t.Fatal(err)
			}
			want := c.err
			if want == "" {
				want = c.dl.Err
			}
			for _, g := range []DeadLetter{head, got} {
				if !g.At.Equal(c.dl.At) || g.Reason != c.dl.Reason || g.Err != want || g.Attempts != c.dl.Attempts || g.Count != len(c.dl.Readings) {
					t.Fatalf("decoded %+v, want %+v (text %q)", g, c.dl, want)
				}
			}
			if head.Readings != nil {
				t.Fatal("header-only decode decoded the readings")
			}
			sameReadings(t, got.Readings, c.dl.Readings)
			for i := range p {
				if _, err := decodeDeadLetter(p[:i], true); err == nil {
					t.Fatalf("decoding the first %d bytes: no error", i)
				}
			}
		})
	}
}

func FuzzDecodeDeadLetter(f *testing.F) {
	f.Add(encodeDeadLetter(nil, DeadLetter{At: t0, Reason: "max_values_per_tag", Err: "partial write", Readings: batch(1, 3)}))
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		head, herr := decodeDeadLetter(p, false)
		dl, err := decodeDeadLetter(p, true)
		if err != nil {
			return
		}
		if herr != nil || head.Count != dl.Count || len(dl.Readings) != dl.Count {
			t.Fatalf("header %+v (%v), full %d readings of %d", head, herr, len(dl.Readings), dl.Count)
		}
		again, err := decodeDeadLetter(encodeDeadLetter(nil, dl), true)
		if err != nil || again.Count != dl.Count || again.Reason != dl.Reason || again.Err != dl.Err || !again.At.Equal(dl.At) {
			t.Fatalf("re-encoding %+v: %+v, %v", dl, again, err)
		}
	})
}

// refusingPrimary takes every reading except those of sensors in refuse,
// which it refuses for good, or fails as a down server.
type refusingPrimary struct {
	fakePrimary
	refuseAll map[string]bool
}

func (p *refusingPrimary) Write(ctx context.Context, rs []yujing.Reading) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writes++
	if p.down {
		return errDown
	}
	var bad []string
	for _, r := range rs {
		if p.refuseAll[r.Sensor] {
			bad = append(bad, r.Sensor)
			continue
		}
		p.got = append(p.got, r)
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: sensor %s", errConflict, bad[0])
	}
	return nil
}

// refusedBySensor says that exactly the refused sensors' readings were
// refused, for the reason "conflict".
func refusedBySensor(p *refusingPrimary) func(error, []yujing.Reading) []Refusal {
	return func(err error, rs []yujing.Reading) []Refusal {
		var bad []yujing.Reading
		for _, r := range rs {
			if p.refuseAll[r.Sensor] {
				bad = append(bad, r)
			}
		}
		return []Refusal{{Reason: "conflict", Err: err.Error(), Readings: bad}}
	}
}

func openDead(t *testing.T, dir string, o Options) *DeadLetters {
	t.Helper()
	d, err := OpenDeadLetters(dir, o)
	if err != nil {
		t.Fatalf("OpenDeadLetters: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func addOK(t *testing.T, d *DeadLetters, dl DeadLetter) {
	t.Helper()
	if err := d.Add(t.Context(), dl); err != nil {
		t.Fatalf("Add: %v", err)
	}
}

func list(t *testing.T, dir string) []DeadLetter {
	t.Helper()
	var out []DeadLetter
	if err := ScanDeadLetters(dir, true, func(dl DeadLetter) error { out = append(out, dl); return nil }); err != nil {
		t.Fatalf("ScanDeadLetters: %v", err)
	}
	return out
}

// TestDeadLettersReplay: dead letters survive a restart with their
// counts; a replay writes them oldest first, removes those the store
// takes and keeps at the end those it refuses again (one more attempt,
// same first time); a replay until refused stops at the first refused
// again; a failing store stops a replay with everything kept.
func TestDeadLettersReplay(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	d := openDead(t, dir, Options{SegmentBytes: 1 << 10, Registerer: reg})
	for id := range 6 { // sensors S0 … S5, 3 readings each
		addOK(t, d, DeadLetter{At: t0.Add(time.Duration(id) * time.Minute), Reason: []string{"a", "b"}[id%2], Err: "refused", Readings: batch(id, 3)})
	}
	want := DeadLetterStatus{Readings: 18, Records: 6, Since: t0, Reasons: map[string]int64{"a": 9, "b": 9}}
	check := func(d *DeadLetters, want DeadLetterStatus) {
		t.Helper()
		st := d.Status()
		st.Bytes, st.MaxBytes = 0, 0
		if !st.Since.Equal(want.Since) {
			t.Fatalf("since %v, want %v", st.Since, want.Since)
		}
		st.Since = want.Since
		if len(want.Reasons) == 0 {
			want.Reasons = map[string]int64{}
		}
		if !reflect.DeepEqual(st, want) {
			t.Fatalf("status %+v, want %+v", st, want)
		}
		if n := testutil.ToFloat64(d.m.readings); n != float64(want.Readings) {
			t.Fatalf("yujing_store_dead_letter_readings = %g, want %d", n, want.Readings)
		}
	}
	check(d, want)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = openDead(t, dir, Options{SegmentBytes: 1 << 10})
	check(d, want) // counted again at open

	// The store is down: nothing changes.
	p := &refusingPrimary{refuseAll: map[string]bool{"S1": true, "S4": true}}
	p.down = true
	o := ReplayOptions{Retryable: retryable, Refused: refusedBySensor(p)}
	res, err := d.Replay(t.Context(), p, o)
	if !errors.Is(err, errDown) || res != (ReplayResult{Left: 18}) {
		t.Fatalf("replay to a down store: %+v, %v", res, err)
	}
	check(d, want)

	// Until refused: S0 goes in, S1 is refused again and kept, the rest wait.
	p.down = false
	o.UntilRefused = true
	res, err = d.Replay(t.Context(), p, o)
	if err != nil || res != (ReplayResult{Written: 3, Kept: 3, Left: 12}) {
		t.Fatalf("replay until refused: %+v, %v", res, err)
	}
	check(d, DeadLetterStatus{Readings: 15, Records: 5, Since: t0.Add(time.Minute), Reasons: map[string]int64{"a": 6, "conflict": 3, "b": 6}})

	// A whole replay: S2, S3, S5 go in, S4 and S1 (again) are kept.
	o.UntilRefused = false
	res, err = d.Replay(t.Context(), p, o)
	if err != nil || res != (ReplayResult{Written: 9, Kept: 6}) {
		t.Fatalf("replay: %+v, %v", res, err)
	}
	check(d, DeadLetterStatus{Readings: 6, Records: 2, Since: t0.Add(time.Minute), Reasons: map[string]int64{"conflict": 6}})
	var sensors []string
	for _, dl := range list(t, dir) {
		sensors = append(sensors, fmt.Sprintf("%s×%d", dl.Readings[0].Sensor, dl.Attempts))
		if dl.Reason != "conflict" || !strings.Contains(dl.Err, "field type conflict") {
			t.Errorf("kept again as %q: %q", dl.Reason, dl.Err)
		}
	}
	if got := strings.Join(sensors, " "); got != "S4×1 S1×2" {
		t.Errorf("kept %s, want S4 once refused again, then S1 twice", got)
	}
	// The cause fixed: everything goes in, in order, nothing is left.
	clear(p.refuseAll)
	if res, err = d.Replay(t.Context(), p, o); err != nil || res != (ReplayResult{Written: 6}) {
		t.Fatalf("replay after the fix: %+v, %v", res, err)
	}
	check(d, DeadLetterStatus{})
	var stored []int
	for _, r := range p.readings() {
		stored = append(stored, batchID(r))
	}
	if got, want := fmt.Sprint(stored), "[0 0 0 2 2 2 3 3 3 5 5 5 4 4 4 1 1 1]"; got != want {
		t.Errorf("stored batches %s, want %s", got, want)
	}
	if n := testutil.ToFloat64(d.m.replayed); n != 18 {
		t.Errorf("replayed counter %g, want 18", n)
	}
	if !d.Empty() || len(list(t, dir)) != 0 {
		t.Error("dead letters not empty after everything was replayed")
	}
}

// TestDeadLettersReplayReason replays and drops only the dead letters of
// one reason; the others stay.
func TestDeadLettersReplayReason(t *testing.T) {
	dir := t.TempDir()
	d := openDead(t, dir, Options{})
	for id := range 4 {
		addOK(t, d, DeadLetter{At: t0, Reason: []string{"limit", "invalid"}[id%2], Readings: batch(id, 2)})
	}
	p := &refusingPrimary{}
	res, err := d.Replay(t.Context(), p, ReplayOptions{Reason: "limit"})
	if err != nil || res != (ReplayResult{Written: 4}) {
		t.Fatalf("replay of reason limit: %+v, %v", res, err)
	}
	if st := d.Status(); st.Readings != 4 || st.Reasons["invalid"] != 4 {
		t.Fatalf("after replaying limit: %+v", st)
	}
	n, err := d.Drop(t.Context(), "nosuch")
	if err != nil || n != 0 || d.Status().Readings != 4 {
		t.Fatalf("drop of another reason: %d, %v, %+v", n, err, d.Status())
	}
	n, err = d.Drop(t.Context(), "")
	if err != nil || n != 4 || !d.Empty() || d.Status().Readings != 0 {
		t.Fatalf("drop all: %d, %v, %+v", n, err, d.Status())
	}
}

// TestOpenLocked: a spool directory is open in one place at a time; the
// dead letters can be listed while it is.
func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	if err := s.DeadLetters().Add(t.Context(), DeadLetter{At: t0, Reason: "r", Readings: batch(1, 2)}); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if _, err := OpenDeadLetters(DeadLetterDir(dir), Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("OpenDeadLetters while the spool is open: %v, want ErrLocked", err)
	}
	if got := list(t, DeadLetterDir(dir)); len(got) != 1 || got[0].Count != 2 {
		t.Fatalf("listing while open: %+v", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	d := openDead(t, DeadLetterDir(dir), Options{})
	if d.Status().Readings != 2 {
		t.Fatalf("reopened dead letters: %+v", d.Status())
	}
}

// TestBufferedDeadLettersFull: when a refusal does not fit in the dead
// letters, Write fails (the broker keeps the messages, nothing
// acknowledged is lost), loudly; once the store takes the dead letters
// (offered again at the next start) there is room again.
func TestBufferedDeadLettersFull(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentBytes: 1 << 10, DeadLetterMaxBytes: 3 << 10}
	// A minute for the primary's answer: on a loaded machine the tests'
	// 50 ms let a refusal time out into the spool, whose drain then moved
	// it to the dead letters behind the loop's back (110 for 100 kept).
	e := newBuffered(t, dir, o, BufferedOptions{DeadLetterRetry: time.Hour, WriteTimeout: time.Minute})
	e.p.set(func(p *fakePrimary) { p.refuse = "S3" })
	var kept []yujing.Reading
	var err error
	for id := 3; err == nil; id += 7 { // S3 every time
		if err = e.b.Write(t.Context(), batch(id, 10)); err == nil {
			kept = append(kept, batch(id, 10)...)
		}
	}
	if !errors.Is(err, ErrFull) {
		t.Fatalf("Write: %v, want ErrFull", err)
	}
	dead := e.b.DeadLetters()
	if st := dead.Status(); !st.Full || st.Readings != int64(len(kept)) {
		t.Fatalf("status %+v, want full with %d readings", st, len(kept))
	}
	if testutil.ToFloat64(dead.m.full) != 1 {
		t.Fatal("yujing_store_dead_letter_full is not 1")
	}
	for range 5 {
		_ = e.b.Write(t.Context(), batch(3, 10))
	}
	if n := strings.Count(e.logs.String(), "dead letters full; readings the store refuses stay unacknowledged at the MQTT broker"); n != 1 {
		t.Errorf("full dead letters logged %d times in a burst, want 1:\n%s", n, e.logs.String())
	}
	if err := e.b.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	// The cause fixed: the next start replays them.
	e2 := newBuffered(t, dir, o, BufferedOptions{DeadLetterRetry: time.Hour})
	dead = e2.b.DeadLetters()
	waitUntil(t, "the dead letters' replay", dead.Empty)
	if st := dead.Status(); st.Full || st.Readings != 0 || testutil.ToFloat64(dead.m.full) != 0 {
		t.Fatalf("after the replay: %+v", st)
	}
	got := map[float64]bool{}
	for _, r := range e2.p.readings() {
		got[r.Value] = true
	}
	for _, r := range kept {
		if !got[r.Value] {
			t.Fatalf("kept reading %g never reached the store", r.Value)
		}
	}
	waitUntil(t, "the end-of-replay log", func() bool { return strings.Contains(e2.logs.String(), "the store took every dead letter") })
	e2.write(t, batch(3, 10))
}

// TestBufferedRetriesDeadLetters: while dead letters are held they are
// offered to the store every DeadLetterRetry; once it takes them, they
// are gone, without a restart.
func TestBufferedRetriesDeadLetters(t *testing.T) {
	e := newBuffered(t, t.TempDir(), Options{}, BufferedOptions{DeadLetterRetry: 10 * time.Millisecond})
	e.p.set(func(p *fakePrimary) { p.refuse = "S3" })
	e.write(t, batch(3, 5))
	e.write(t, batch(10, 5)) // S3
	waitUntil(t, "a retry refused again", func() bool { return strings.Contains(e.logs.String(), "the store still refuses the dead letters") })
	if st := e.b.DeadLetters().Status(); st.Readings != 10 {
		t.Fatalf("dead letters %+v, want 10 readings", st)
	}
	e.p.set(func(p *fakePrimary) { p.refuse = "" })
	waitUntil(t, "the dead letters' replay", e.b.DeadLetters().Empty)
	// Each retry moved the batch refused again to the end.
	got := e.p.readings()
	slices.SortFunc(got, func(a, b yujing.Reading) int { return cmp.Compare(a.Value, b.Value) })
	sameReadings(t, got, append(batch(3, 5), batch(10, 5)...))
}
