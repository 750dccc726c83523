package spool

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"yujing"
)

var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// batch returns n readings that name batch id: sensor "S<id%7>", value
// id*1000+i, one millisecond apart.
func batch(id, n int) []yujing.Reading {
	rs := make([]yujing.Reading, n)
	for i := range rs {
		rs[i] = yujing.Reading{Sensor: fmt.Sprintf("S%d", id%7), Site: "plant-a", Family: yujing.FamilyGas,
			Metric: "lel", Unit: "%LEL", Value: float64(id*1000 + i),
			Time: t0.Add(time.Duration(id)*time.Second + time.Duration(i)*time.Millisecond)}
	}
	return rs
}

// batchID returns the id that batch put in r.
func batchID(r yujing.Reading) int { return int(r.Value) / 1000 }

func open(t testing.TB, dir string, o Options) *Spool {
	t.Helper()
	s, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func appendOK(t testing.TB, s *Spool, rs []yujing.Reading) {
	t.Helper()
	if err := s.Append(t.Context(), rs); err != nil {
		t.Fatalf("Append(%d readings): %v", len(rs), err)
	}
}

// drainAll reads and commits everything, max readings at a time.
func drainAll(t *testing.T, s *Spool, max int) []yujing.Reading {
	t.Helper()
	var out []yujing.Reading
	for !s.Empty() {
		b, err := s.Read(max)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if b.Records == 0 {
			t.Fatalf("Read returned nothing from a spool that is not empty")
		}
		if len(b.Readings) > max && b.Records > 1 {
			t.Fatalf("Read(%d) returned %d readings in %d records", max, len(b.Readings), b.Records)
		}
		out = append(out, b.Readings...)
		if err := s.Commit(b); err != nil {
			t.Fatalf("Commit: %v", err)
		}
	}
	return out
}

func sameReadings(t *testing.T, got, want []yujing.Reading) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d readings, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.Time.Equal(w.Time) || g.Time.Location() != time.UTC {
			t.Fatalf("reading %d: time %v, want %v in UTC", i, g.Time, w.Time)
		}
		g.Time, w.Time = time.Time{}, time.Time{}
		if g != w && !(math.IsNaN(g.Value) && math.IsNaN(w.Value)) {
			t.Fatalf("reading %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segmentExt))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCodecRoundTrip(t *testing.T) {
	rs := []yujing.Reading{
		{Sensor: "GT-101", Site: "厂区-甲", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Value: 31.5, Time: t0, Region: "320506", Industry: "危险化学品"},
		{Sensor: "GT-101", Site: "厂区-甲", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Value: -0.125, Time: t0.Add(-time.Hour + 7)},
		{Sensor: "TK-9", Metric: "level", Value: math.MaxFloat64, Time: time.Unix(0, 1).UTC()},
		{Sensor: "TK-9", Metric: "pressure", Value: math.SmallestNonzeroFloat64, Time: time.Date(1900, 1, 1, 0, 0, 0, 999999999, time.UTC)},
		{Sensor: "", Metric: "", Value: math.Inf(-1), Time: time.Date(2262, 4, 11, 0, 0, 0, 0, time.UTC)},
	}
	for n := range len(rs) + 1 {
		p := encodeBatch(nil, rs[:n])
		if got := payloadCount(p); got != n {
			t.Fatalf("payloadCount = %d, want %d", got, n)
		}
		got, err := decodeBatch(nil, p)
		if err != nil {
			t.Fatalf("decode %d readings: %v", n, err)
		}
		sameReadings(t, got, rs[:n])
	}
	// A gas reading costs about 20 bytes in a batch of one sensor.
	p := encodeBatch(nil, batch(3, 500))
	if per := float64(len(p)) / 500; per > 22 {
		t.Errorf("%.1f bytes a reading, want at most 22", per)
	}
	// Truncated or garbled payloads are refused, never a panic.
	for i := range p[:200] {
		if _, err := decodeBatch(nil, p[:i]); err == nil {
			t.Fatalf("decoding the first %d bytes: no error", i)
		}
	}
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add(encodeBatch(nil, batch(1, 3)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, p []byte) {
		rs, err := decodeBatch(nil, p)
		if err != nil {
			return
		}
		again, err := decodeBatch(nil, encodeBatch(nil, rs))
		if err != nil || len(again) != len(rs) {
			t.Fatalf("re-encoding %d readings: %d, %v", len(rs), len(again), err)
		}
	})
}

// TestOrderAcrossSegments appends batches of varied sizes over many small
// segments and replays them in order, a few readings at a time; replayed
// segments are deleted as it goes.
func TestOrderAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	s := open(t, dir, Options{SegmentBytes: 4 << 10, Registerer: reg})
	var want []yujing.Reading
	for id := range 300 {
		rs := batch(id, 1+id%23)
		want = append(want, rs...)
		appendOK(t, s, rs)
	}
	st := s.Stats()
	if st.Segments < 10 || st.Bytes > 4<<10*int64(st.Segments) {
		t.Fatalf("stats after appending = %+v, want many segments of at most 4 KiB", st)
	}
	if n := len(segmentFiles(t, dir)); n != st.Segments {
		t.Fatalf("%d segment files, stats say %d", n, st.Segments)
	}
	got := drainAll(t, s, 50)
	sameReadings(t, got, want)
	st = s.Stats()
	if st.Segments != 1 || st.Bytes != headerSize {
		t.Fatalf("stats after replay = %+v, want one empty segment", st)
	}
	if files := segmentFiles(t, dir); len(files) != 1 {
		t.Fatalf("segment files after replay: %v", files)
	}
	if got, want := testutil.ToFloat64(s.m.appended), float64(len(want)); got != want {
		t.Errorf("appended readings metric = %g, want %g", got, want)
	}
	if got, want := testutil.ToFloat64(s.m.replayed), float64(len(want)); got != want {
		t.Errorf("replayed readings metric = %g, want %g", got, want)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP yujing_spool_bytes Bytes of spool segment files on disk.
# TYPE yujing_spool_bytes gauge
yujing_spool_bytes 8
# HELP yujing_spool_segments Spool segment files on disk.
# TYPE yujing_spool_segments gauge
yujing_spool_segments 1
# HELP yujing_spool_full 1 while the spool is full: readings stay unacknowledged at the broker.
# TYPE yujing_spool_full gauge
yujing_spool_full 0
`), "yujing_spool_bytes", "yujing_spool_segments", "yujing_spool_full"); err != nil {
		t.Error(err)
	}

	// It keeps working after the drain retired the segment.
	appendOK(t, s, batch(1000, 3))
	sameReadings(t, drainAll(t, s, 50), batch(1000, 3))
}

// TestGroupSync holds the first fsync until every other Append has
// written its record: they then share one fsync.
func TestGroupSync(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	const writers = 16
	rec := int64(len(encodeBatch(make([]byte, recordHeader), batch(0, 4))))
	allWritten := headerSize + writers*rec
	var first sync.Once
	s.beforeSync = func() {
		first.Do(func() {
			for {
				s.mu.Lock()
				n := s.written.off
				s.mu.Unlock()
				if n == allWritten {
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			if err := s.Append(t.Context(), batch(0, 4)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := s.syncs.Load(); n != 2 {
		t.Fatalf("%d appends took %d fsyncs, want 2 (the held one, then one for the other %d)", writers, n, writers-1)
	}
}

// TestConcurrentAppend appends from many goroutines with real fsyncs and
// replays every batch exactly once, each writer's in its order.
func TestConcurrentAppend(t *testing.T) {
	s := open(t, t.TempDir(), Options{SegmentBytes: 32 << 10})
	const writers, each = 8, 150
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := s.Append(t.Context(), batch(w*each+i, 1+i%5)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	// Replay while they append.
	var got []yujing.Reading
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		b, err := s.Read(64)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b.Readings...)
		if err := s.Commit(b); err != nil {
			t.Fatal(err)
		}
	}
	got = append(got, drainAll(t, s, 64)...)
	next := make([]int, writers) // next batch index expected per writer
	var total int
	for i := 0; i < len(got); {
		id := batchID(got[i])
		w, k := id/each, id%each
		if k != next[w] {
			t.Fatalf("writer %d: batch %d replayed, want %d", w, k, next[w])
		}
		sameReadings(t, got[i:i+1+k%5], batch(id, 1+k%5))
		next[w]++
		i += 1 + k%5
		total++
	}
	if total != writers*each {
		t.Fatalf("replayed %d batches, want %d", total, writers*each)
	}
	t.Logf("%d appends, %d fsyncs", writers*each, s.syncs.Load())
}

func TestFull(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := open(t, t.TempDir(), Options{SegmentBytes: 1 << 10, MaxBytes: 4 << 10, Registerer: reg})
	var n int
	var err error
	for ; n < 1000; n++ {
		if err = s.Append(t.Context(), batch(n, 10)); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrFull) {
		t.Fatalf("Append %d: %v, want ErrFull", n, err)
	}
	if st := s.Stats(); !st.Full || st.Bytes > 4<<10 {
		t.Fatalf("stats = %+v, want full within 4 KiB", st)
	}
	if testutil.ToFloat64(s.m.full) != 1 {
		t.Fatal("yujing_spool_full is not 1")
	}
	// Still full: nothing was taken.
	if err := s.Append(t.Context(), batch(n, 10)); !errors.Is(err, ErrFull) {
		t.Fatalf("Append when full: %v", err)
	}
	// Replaying the first segment gives its space back.
	b, err := s.Read(10)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if err := s.Commit(b); err != nil {
			t.Fatal(err)
		}
		if s.Stats().Bytes < 3<<10 {
			break
		}
		if b, err = s.Read(10); err != nil {
			t.Fatal(err)
		}
	}
	if testutil.ToFloat64(s.m.full) != 0 {
		t.Fatal("yujing_spool_full still 1 after space was freed")
	}
	appendOK(t, s, batch(n, 10))
	if st := s.Stats(); st.Full {
		t.Fatalf("stats = %+v after a successful append", st)
	}
	var want []yujing.Reading
	for id := 0; id <= n; id++ {
		want = append(want, batch(id, 10)...)
	}
	got := drainAll(t, s, 100)
	sameReadings(t, got, want[len(want)-len(got):])
}

// TestTornTail damages the end of the last segment the ways a crash can
// and checks that reopening keeps every earlier record and counts the cut.
func TestTornTail(t *testing.T) {
	const n = 10
	cases := []struct {
		name   string
		damage func(t *testing.T, path string, last, size int64) // last: offset of the last record
		keep   int                                               // records kept
	}{
		{"cut in the record header", func(t *testing.T, p string, last, size int64) { truncate(t, p, last+5) }, n - 1},
		{"cut in the payload", func(t *testing.T, p string, last, size int64) { truncate(t, p, size-3) }, n - 1},
		{"flipped byte in the payload", func(t *testing.T, p string, last, size int64) { flip(t, p, size-10) }, n - 1},
		{"zeros after the last record", func(t *testing.T, p string, last, size int64) { truncate(t, p, size+4096) }, n},
		{"length beyond the file", func(t *testing.T, p string, last, size int64) { flip(t, p, last+2) }, n - 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, Options{})
			var want []yujing.Reading
			var last int64
			for id := range n {
				rs := batch(id, 5)
				want = append(want, rs...)
				s.mu.Lock()
				last = s.written.off
				s.mu.Unlock()
				appendOK(t, s, rs)
			}
			size := s.Stats().Bytes
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			files := segmentFiles(t, dir)
			if len(files) != 1 {
				t.Fatalf("segments %v", files)
			}
			tc.damage(t, files[0], last, size)
			fi, _ := os.Stat(files[0])

			reg := prometheus.NewRegistry()
			s = open(t, dir, Options{Registerer: reg})
			r := s.Recovery()
			kept := size
			if tc.keep < n {
				kept = last
			}
			wantTorn := fi.Size() - kept
			if r.Records != tc.keep || r.Readings != 5*tc.keep || r.TornBytes != wantTorn || r.Corrupt {
				t.Fatalf("recovery = %+v, want %d records, %d torn bytes", r, tc.keep, wantTorn)
			}
			if got := testutil.ToFloat64(s.m.tornBytes); got != float64(wantTorn) {
				t.Errorf("torn bytes metric = %g, want %d", got, wantTorn)
			}
			// New appends go after the cut.
			appendOK(t, s, batch(99, 2))
			want = append(want[:5*tc.keep], batch(99, 2)...)
			sameReadings(t, drainAll(t, s, 1000), want)
		})
	}
}

// TestCrashWhileCreatingSegment: a crash between creating a segment file
// and writing its header leaves it empty or holding part of the header.
// Open gives it its header back, so what is appended after the restart
// survives the next restart too.
func TestCrashWhileCreatingSegment(t *testing.T) {
	for _, leftover := range []string{"", segmentMagic[:3]} {
		t.Run(fmt.Sprintf("%d header bytes", len(leftover)), func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, Options{})
			appendOK(t, s, batch(1, 5))
			s.mu.Lock()
			next := s.segPath(s.written.seg + 1)
			s.mu.Unlock()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(next, []byte(leftover), 0o640); err != nil {
				t.Fatal(err)
			}

			s = open(t, dir, Options{})
			if r := s.Recovery(); r.Records != 1 || r.TornBytes != int64(len(leftover)) || r.Corrupt {
				t.Fatalf("recovery = %+v, want 1 record, %d torn bytes", r, len(leftover))
			}
			appendOK(t, s, batch(2, 5))
			appendOK(t, s, batch(3, 5))
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			s = open(t, dir, Options{})
			if r := s.Recovery(); r.Records != 3 || r.TornBytes != 0 || r.Corrupt {
				t.Fatalf("recovery after the second restart = %+v, want 3 records and no damage", r)
			}
			sameReadings(t, drainAll(t, s, 1000), slices.Concat(batch(1, 5), batch(2, 5), batch(3, 5)))
		})
	}
}

// TestDamageBeforeTheTail cuts a segment that is not the last one at a bad
// record and says so: those bytes had been reported durable.
func TestDamageBeforeTheTail(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{SegmentBytes: 1 << 10})
	for id := range 40 {
		appendOK(t, s, batch(id, 5))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files := segmentFiles(t, dir)
	if len(files) < 3 {
		t.Fatalf("segments %v, want at least 3", files)
	}
	flip(t, files[1], headerSize+20)
	s = open(t, dir, Options{})
	r := s.Recovery()
	if !r.Corrupt || r.TornBytes == 0 || r.Records >= 40 {
		t.Fatalf("recovery = %+v, want corruption reported", r)
	}
	got := drainAll(t, s, 1000)
	if len(got) != 5*r.Records {
		t.Fatalf("replayed %d readings, recovery said %d records", len(got), r.Records)
	}
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func flip(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x40
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestCheckpoint: after a reopen, replay resumes at the last commit; the
// batch read but not committed before the "crash" comes again, nothing
// before it does.
func TestCheckpoint(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{SegmentBytes: 2 << 10})
	for id := range 100 {
		appendOK(t, s, batch(id, 3))
	}
	var got []yujing.Reading
	for range 40 {
		b, err := s.Read(6)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b.Readings...)
		if err := s.Commit(b); err != nil {
			t.Fatal(err)
		}
	}
	pending, err := s.Read(6) // written to the primary, then the crash
	if err != nil {
		t.Fatal(err)
	}
	if batchID(pending.Readings[0]) != 80 {
		t.Fatalf("pending batch starts at %d, want 80", batchID(pending.Readings[0]))
	}
	segsBefore := len(segmentFiles(t, dir))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir, Options{})
	r := s.Recovery()
	if r.Records != 20 || r.TornBytes != 0 {
		t.Fatalf("recovery = %+v, want 20 records", r)
	}
	if n := len(segmentFiles(t, dir)); n != segsBefore {
		t.Fatalf("%d segments after reopen, %d before", n, segsBefore)
	}
	rest := drainAll(t, s, 6)
	sameReadings(t, rest[:len(pending.Readings)], pending.Readings)
	var want []yujing.Reading
	for id := range 100 {
		want = append(want, batch(id, 3)...)
	}
	sameReadings(t, append(got, rest...), want)
}

// TestReplayedSegmentsDeletedAfterCrash: a crash after the checkpoint moved
// past a segment but before the segment was deleted; Open deletes it and
// does not replay it.
func TestReplayedSegmentsDeletedAfterCrash(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{SegmentBytes: 1 << 10})
	for id := range 30 {
		appendOK(t, s, batch(id, 5))
	}
	files := segmentFiles(t, dir)
	first, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var replayed int
	for len(segmentFiles(t, dir)) == len(files) {
		b, err := s.Read(5)
		if err != nil {
			t.Fatal(err)
		}
		replayed += b.Records
		if err := s.Commit(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(files[0], first, 0o640); err != nil { // "not deleted yet"
		t.Fatal(err)
	}
	s = open(t, dir, Options{})
	if _, err := os.Stat(files[0]); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("replayed segment %s still there: %v", files[0], err)
	}
	if r := s.Recovery(); r.Records != 30-replayed {
		t.Fatalf("recovery = %+v, want %d records", r, 30-replayed)
	}
	got := drainAll(t, s, 100)
	if id := batchID(got[0]); id != replayed {
		t.Fatalf("replay resumed at batch %d, want %d", id, replayed)
	}
}

func TestDamagedCheckpointReplaysFromTheStart(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	for id := range 5 {
		appendOK(t, s, batch(id, 2))
	}
	b, _ := s.Read(4)
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
	s.Close()
	flip(t, filepath.Join(dir, checkpointName), 3)
	s = open(t, dir, Options{})
	if r := s.Recovery(); r.Records != 5 {
		t.Fatalf("recovery = %+v, want all 5 records again", r)
	}
}

func TestClosed(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	appendOK(t, s, batch(1, 1))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Append(t.Context(), batch(2, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if _, err := s.Read(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
}
