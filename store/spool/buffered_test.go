package spool

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"yujing"
)

// errDown is a retryable failure; errConflict one that is not.
var (
	errDown     = errors.New("connection refused")
	errConflict = errors.New("field type conflict")
)

func retryable(err error) bool { return !errors.Is(err, errConflict) }

// fakePrimary is an InfluxDB stand-in that can be down, slow, or refuse
// the readings of one sensor for good.
type fakePrimary struct {
	mu     sync.Mutex
	got    []yujing.Reading
	down   bool
	slow   bool   // block until the context ends
	refuse string // sensor whose readings are refused for good
	writes int
	// largestDown is the most readings in one write made while down.
	largestDown int
}

func (p *fakePrimary) Write(ctx context.Context, rs []yujing.Reading) error {
	p.mu.Lock()
	p.writes++
	down, slow, refuse := p.down, p.slow, p.refuse
	p.mu.Unlock()
	if slow {
		<-ctx.Done()
		return ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if down {
		p.largestDown = max(p.largestDown, len(rs))
		return errDown
	}
	var bad bool
	for _, r := range rs {
		if r.Sensor == refuse {
			bad = true
			continue
		}
		p.got = append(p.got, r)
	}
	if bad {
		return errConflict
	}
	return nil
}

func (p *fakePrimary) set(f func(p *fakePrimary)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func (p *fakePrimary) readings() []yujing.Reading {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]yujing.Reading(nil), p.got...)
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type bufferedEnv struct {
	p    *fakePrimary
	sp   *Spool
	b    *Buffered
	logs *logBuffer
	reg  *prometheus.Registry
}

func newBuffered(t *testing.T, dir string, o Options, bo BufferedOptions) *bufferedEnv {
	t.Helper()
	checkGoroutines(t)
	e := &bufferedEnv{p: &fakePrimary{}, logs: &logBuffer{}, reg: prometheus.NewRegistry()}
	o.Registerer = e.reg
	e.sp = open(t, dir, o)
	bo.Logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	bo.Registerer = e.reg
	bo.Retryable = retryable
	if bo.MinBackoff == 0 {
		bo.MinBackoff = 5 * time.Millisecond
		bo.MaxBackoff = 20 * time.Millisecond
	}
	if bo.WriteTimeout == 0 {
		bo.WriteTimeout = 50 * time.Millisecond
	}
	e.b = NewBuffered(e.p, e.sp, bo)
	t.Cleanup(func() {
		if err := e.b.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("log:\n%s", e.logs.String())
		}
	})
	return e
}

// checkGoroutines fails the test if it leaves goroutines behind.
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			t.Errorf("%d goroutines left behind:\n%s", n-before, buf[:runtime.Stack(buf, true)])
		}
	})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (e *bufferedEnv) write(t *testing.T, rs []yujing.Reading) {
	t.Helper()
	if err := e.b.Write(t.Context(), rs); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func TestBufferedHealthyWritesDirect(t *testing.T) {
	e := newBuffered(t, t.TempDir(), Options{}, BufferedOptions{})
	var want []yujing.Reading
	for id := range 20 {
		want = append(want, batch(id, 3)...)
		e.write(t, batch(id, 3))
	}
	sameReadings(t, e.p.readings(), want)
	if n := testutil.ToFloat64(e.sp.m.appended); n != 0 {
		t.Fatalf("%g readings spooled while the primary was healthy", n)
	}
}

// TestBufferedOutage: the primary goes down, batches are spooled (and
// acknowledged), later ones queue behind them even once it is back, and
// the replay delivers everything in order; the outage is logged once at
// each end.
func TestBufferedOutage(t *testing.T) {
	e := newBuffered(t, t.TempDir(), Options{}, BufferedOptions{ReplayBatch: 7})
	var want []yujing.Reading
	id := 0
	send := func(n int) {
		for range n {
			want = append(want, batch(id, 3)...)
			e.write(t, batch(id, 3))
			id++
		}
	}
	send(5)
	e.p.set(func(p *fakePrimary) { p.down = true })
	send(30)
	if e.sp.Empty() {
		t.Fatal("spool empty during the outage")
	}
	e.p.set(func(p *fakePrimary) { p.down = false })
	send(30) // behind the spooled ones, whatever the replay is doing
	waitUntil(t, "the replay", func() bool { return e.sp.Empty() && len(e.p.readings()) >= len(want) })
	sameReadings(t, e.p.readings(), want)
	waitUntil(t, "the end-of-outage log", func() bool { return strings.Contains(e.logs.String(), "InfluxDB back") })
	logs := e.logs.String()
	if n := strings.Count(logs, "InfluxDB unreachable; spooling readings"); n != 1 {
		t.Errorf("outage start logged %d times, want 1", n)
	}
	if n := strings.Count(logs, "InfluxDB back; replayed the spooled readings"); n != 1 || !strings.Contains(logs, "replayed=") {
		t.Errorf("outage end logged %d times, want 1 with the count", n)
	}
	spooled := testutil.ToFloat64(e.sp.m.appended)
	if spooled < 30*3 || testutil.ToFloat64(e.sp.m.replayed) != spooled {
		t.Errorf("spooled %g readings, replayed %g", spooled, testutil.ToFloat64(e.sp.m.replayed))
	}
	// Healthy again: direct writes.
	before := spooled
	send(3)
	if testutil.ToFloat64(e.sp.m.appended) != before {
		t.Error("spooled after the outage ended")
	}
}

// TestBufferedSlowPrimary: a primary slower than WriteTimeout counts as
// down.
func TestBufferedSlowPrimary(t *testing.T) {
	e := newBuffered(t, t.TempDir(), Options{}, BufferedOptions{ReplayTimeout: 50 * time.Millisecond})
	e.p.set(func(p *fakePrimary) { p.slow = true })
	start := time.Now()
	e.write(t, batch(1, 4))
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Write took %v with a 50ms timeout", d)
	}
	if e.sp.Empty() {
		t.Fatal("batch not spooled")
	}
	e.p.set(func(p *fakePrimary) { p.slow = false })
	waitUntil(t, "the replay", e.sp.Empty)
	sameReadings(t, e.p.readings(), batch(1, 4))
}

// TestBufferedRefusedForGood: readings the primary refuses for good,
// directly and on replay, do not block the readings behind them: they go
// to the dead letters, counted by reason and logged with their sensors and
// with what to do, never "dropped".
func TestBufferedRefusedForGood(t *testing.T) {
	e := newBuffered(t, t.TempDir(), Options{}, BufferedOptions{})
	e.p.set(func(p *fakePrimary) { p.refuse = "S3" })
	e.write(t, batch(3, 5)) // sensor S3
	e.write(t, batch(4, 5))
	if !e.sp.Empty() {
		t.Fatal("a refused batch was spooled")
	}
	e.p.set(func(p *fakePrimary) { p.down = true })
	e.write(t, batch(10, 5)) // S3 again, spooled
	e.write(t, batch(11, 5))
	// Once a replay attempt has held both batches, every later one does:
	// replay rereads from the last commit.
	waitUntil(t, "a replay attempt holding batches 10 and 11", func() bool {
		e.p.mu.Lock()
		defer e.p.mu.Unlock()
		return e.p.largestDown == 10
	})
	e.p.set(func(p *fakePrimary) { p.down = false })
	waitUntil(t, "the replay", e.sp.Empty)
	waitUntil(t, "batch 11", func() bool { return len(e.p.readings()) == 10 })
	sameReadings(t, e.p.readings(), append(batch(4, 5), batch(11, 5)...))
	// Replay reads 5000 readings at once: 10 and 11 went together, and are
	// kept together (the primary wrote 11; writing it again is harmless).
	if got := testutil.ToFloat64(e.b.refused.WithLabelValues(ReasonRejected)); got != 5+10 {
		t.Errorf("refused = %g, want 15 (5 direct, 10 in the replayed batch holding the bad one)", got)
	}
	st := e.b.DeadLetters().Status()
	if st.Readings != 15 || st.Records != 2 || st.Reasons[ReasonRejected] != 15 || st.Since.IsZero() {
		t.Errorf("dead letters %+v, want 15 readings in 2 records, reason %s", st, ReasonRejected)
	}
	if n := testutil.ToFloat64(e.b.DeadLetters().m.readings); n != 15 {
		t.Errorf("yujing_store_dead_letter_readings = %g, want 15", n)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "store refused readings for good; kept them as dead letters for replay") ||
		!strings.Contains(logs, "sensors=[S3]") || !strings.Contains(logs, "yujing deadletter replay") {
		t.Errorf("refusal not logged with the sensor and what to do:\n%s", logs)
	}
	if strings.Contains(logs, "dropped") {
		t.Errorf("log says readings were dropped:\n%s", logs)
	}
}

// TestBufferedFull: with the spool full, Write fails (the caller keeps the
// messages), the metric says so, and once the primary is back everything
// spooled arrives and writes succeed again.
func TestBufferedFull(t *testing.T) {
	e := newBuffered(t, t.TempDir(), Options{SegmentBytes: 1 << 10, MaxBytes: 3 << 10}, BufferedOptions{})
	e.p.set(func(p *fakePrimary) { p.down = true })
	var want []yujing.Reading
	var err error
	for id := 0; err == nil; id++ {
		if err = e.b.Write(t.Context(), batch(id, 5)); err == nil {
			want = append(want, batch(id, 5)...)
		}
	}
	if !errors.Is(err, ErrFull) {
		t.Fatalf("Write: %v, want ErrFull", err)
	}
	for range 5 {
		_ = e.b.Write(t.Context(), batch(999, 5))
	}
	if testutil.ToFloat64(e.sp.m.full) != 1 {
		t.Fatal("yujing_spool_full is not 1")
	}
	if n := strings.Count(e.logs.String(), `msg="spool full`); n != 1 {
		t.Errorf("spool full logged %d times in a burst, want 1", n)
	}
	e.p.set(func(p *fakePrimary) { p.down = false })
	waitUntil(t, "the replay", e.sp.Empty)
	sameReadings(t, e.p.readings(), want)
	if testutil.ToFloat64(e.sp.m.full) != 0 {
		t.Fatal("yujing_spool_full still 1")
	}
	e.write(t, batch(1000, 5))
}

// TestBufferedReplaysAfterRestart: what a previous run spooled is
// replayed by the next one.
func TestBufferedReplaysAfterRestart(t *testing.T) {
	dir := t.TempDir()
	sp := open(t, dir, Options{})
	for id := range 10 {
		appendOK(t, sp, batch(id, 2))
	}
	sp.Close()
	e := newBuffered(t, dir, Options{}, BufferedOptions{})
	waitUntil(t, "the replay", func() bool { return len(e.p.readings()) == 20 })
	var want []yujing.Reading
	for id := range 10 {
		want = append(want, batch(id, 2)...)
	}
	sameReadings(t, e.p.readings(), want)
	waitUntil(t, "the end-of-replay log", func() bool { return strings.Contains(e.logs.String(), "InfluxDB back") })
}

func TestBufferedConcurrentWriters(t *testing.T) {
	e := newBuffered(t, t.TempDir(), Options{SegmentBytes: 8 << 10}, BufferedOptions{ReplayBatch: 50})
	const writers, each = 4, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if i == each/4 && w == 0 {
					e.p.set(func(p *fakePrimary) { p.down = true })
				}
				if i == each/2 && w == 0 {
					e.p.set(func(p *fakePrimary) { p.down = false })
				}
				if err := e.b.Write(t.Context(), batch(w*each+i, 2)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	waitUntil(t, "the replay", func() bool { return e.sp.Empty() && len(e.p.readings()) == writers*each*2 })
	// Each writer's batches arrive in its order.
	next := make([]int, writers)
	got := e.p.readings()
	for i := 0; i < len(got); i += 2 {
		id := batchID(got[i])
		w := id / each
		if id%each != next[w] {
			t.Fatalf("writer %d: batch %d arrived, want %d", w, id%each, next[w])
		}
		next[w]++
	}
}

// TestBufferedRefusalKeepsReadings: readings the primary refuses for good,
// written directly or replayed from the spool, are acknowledged, so they
// must not be dropped: they are kept, and once the primary takes them (the
// cause fixed, yujing restarted) every one of them reaches it.
func TestBufferedRefusalKeepsReadings(t *testing.T) {
	dir := t.TempDir()
	e := newBuffered(t, dir, Options{}, BufferedOptions{})
	e.p.set(func(p *fakePrimary) { p.refuse = "S3" })
	var want []yujing.Reading
	for _, id := range []int{3, 4} { // S3 refused, S4 taken
		want = append(want, batch(id, 5)...)
		e.write(t, batch(id, 5))
	}
	e.p.set(func(p *fakePrimary) { p.down = true })
	for _, id := range []int{10, 11} { // S3 again, and S4: spooled
		want = append(want, batch(id, 5)...)
		e.write(t, batch(id, 5))
	}
	e.p.set(func(p *fakePrimary) { p.down = false })
	waitUntil(t, "the replay", e.sp.Empty)
	if err := e.b.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	first := e.p.readings()

	// The cause is fixed: a primary that takes everything.
	e2 := newBuffered(t, dir, Options{}, BufferedOptions{})
	stored := func() map[float64]bool {
		m := map[float64]bool{}
		for _, r := range append(first, e2.p.readings()...) {
			m[r.Value] = true
		}
		return m
	}
	waitUntil(t, "every refused reading to reach the primary", func() bool { return len(stored()) == len(want) })
	got := stored()
	for _, r := range want {
		if !got[r.Value] {
			t.Errorf("reading %g of sensor %s lost", r.Value, r.Sensor)
		}
	}
}
