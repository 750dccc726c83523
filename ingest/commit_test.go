package ingest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"yujing"
)

// recordSink records each write's readings (by sensor) and can hold the
// first write until released, or fail.
type recordSink struct {
	mu     sync.Mutex
	writes [][]string
	hold   chan struct{} // the first write waits for it
	first  chan struct{} // closed when the first write began
	err    error
	slow   time.Duration
}

func (r *recordSink) Write(_ context.Context, rs []yujing.Reading) error {
	var ids []string
	for _, x := range rs {
		ids = append(ids, x.Sensor)
	}
	r.mu.Lock()
	r.writes = append(r.writes, ids)
	n := len(r.writes)
	r.mu.Unlock()
	if n == 1 && r.hold != nil {
		close(r.first)
		<-r.hold
	}
	time.Sleep(r.slow) // the store's own latency, which the test sets: what group commit works around
	return r.err
}

func batchOf(ids ...string) []yujing.Reading {
	rs := make([]yujing.Reading, len(ids))
	for i, id := range ids {
		rs[i] = yujing.Reading{Sensor: id}
	}
	return rs
}

// Batches ready while a write is in flight go together in the next one;
// every caller returns once its readings are written, with that write's
// error.
func TestGroupCommitMerges(t *testing.T) {
	for _, fail := range []bool{false, true} {
		sink := &recordSink{hold: make(chan struct{}), first: make(chan struct{})}
		if fail {
			sink.err = errors.New("influx down")
		}
		g := &groupCommit{sink: sink, slow: time.Hour}
		errs := make(chan error, 4)
		go func() { errs <- g.Write(t.Context(), batchOf("a1", "a2")) }()
		<-sink.first
		for _, id := range []string{"b", "c", "d"} {
			go func() { errs <- g.Write(t.Context(), batchOf(id)) }()
		}
		for { // all three queued behind the write in flight
			g.mu.Lock()
			n := len(g.queue)
			g.mu.Unlock()
			if n == 3 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		close(sink.hold)
		for range 4 {
			if err := <-errs; (err != nil) != fail {
				t.Fatalf("fail=%v: Write = %v", fail, err)
			}
		}
		if len(sink.writes) != 2 || !slices.Equal(sink.writes[0], []string{"a1", "a2"}) {
			t.Fatalf("writes %v, want [a1 a2] then b, c, d together", sink.writes)
		}
		second := slices.Clone(sink.writes[1])
		slices.Sort(second)
		if !slices.Equal(second, []string{"b", "c", "d"}) {
			t.Fatalf("second write %v, want b, c, d", sink.writes[1])
		}
	}
}

// A stuck write: the batches behind it open a second lane after the slow
// limit, and the other shards' readings are stored meanwhile.
func TestGroupCommitStuckLane(t *testing.T) {
	stuck := make(chan struct{})
	var mu sync.Mutex
	var written []string
	sink := sinkFunc(func(_ context.Context, rs []yujing.Reading) error {
		if rs[0].Sensor == "stuck" {
			<-stuck
		}
		mu.Lock()
		for _, r := range rs {
			written = append(written, r.Sensor)
		}
		mu.Unlock()
		return nil
	})
	g := &groupCommit{sink: sink, slow: 10 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- g.Write(t.Context(), batchOf("stuck")) }()
	for { // the stuck write holds its lane
		g.mu.Lock()
		n := g.inflight
		g.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	for i := range 20 {
		if err := g.Write(t.Context(), batchOf("s"+string(rune('a'+i%26)))); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	n := len(written)
	mu.Unlock()
	if n != 20 {
		t.Fatalf("%d batches written beside the stuck one, want 20", n)
	}
	close(stuck)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Four shards writing at once through a slow sink: each shard's readings
// reach the sink in order, all of them, in fewer writes than batches.
func TestGroupCommitOrder(t *testing.T) {
	sink := &recordSink{slow: 200 * time.Microsecond}
	g := &groupCommit{sink: sink}
	const shards, batches = 4, 300
	var wg sync.WaitGroup
	for s := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs := make([]yujing.Reading, 0, 3)
			for b := range batches {
				rs = rs[:0] // reused, as a shard worker does
				for k := range 3 {
					rs = append(rs, yujing.Reading{Sensor: string(rune('A' + s)), Value: float64(b*3 + k)})
				}
				if err := g.Write(t.Context(), rs); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got := map[string]int{}
	for _, w := range sink.writes {
		for _, id := range w {
			got[id]++
		}
	}
	for s := range shards {
		if n := got[string(rune('A'+s))]; n != batches*3 {
			t.Errorf("shard %d: %d readings written, want %d", s, n, batches*3)
		}
	}
	if len(sink.writes) >= shards*batches {
		t.Errorf("%d writes for %d batches: nothing merged", len(sink.writes), shards*batches)
	}
	t.Logf("%d batches in %d writes", shards*batches, len(sink.writes))
}

// Values arrive in order per shard (the recordSink above keeps only ids).
func TestGroupCommitValuesInOrder(t *testing.T) {
	var mu sync.Mutex
	last := map[string]float64{}
	bad := 0
	sink := sinkFunc(func(_ context.Context, rs []yujing.Reading) error {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rs {
			if prev, ok := last[r.Sensor]; ok && r.Value != prev+1 {
				bad++
			}
			last[r.Sensor] = r.Value
		}
		time.Sleep(50 * time.Microsecond) // a store that takes time, so that writes of the shards overlap
		return nil
	})
	g := &groupCommit{sink: sink}
	var wg sync.WaitGroup
	for s := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs := make([]yujing.Reading, 0, 4)
			v := 0.0
			for range 200 {
				rs = rs[:0]
				for range 4 {
					rs = append(rs, yujing.Reading{Sensor: string(rune('A' + s)), Value: v})
					v++
				}
				g.Write(t.Context(), rs)
			}
		}()
	}
	wg.Wait()
	if bad > 0 {
		t.Fatalf("%d readings out of order", bad)
	}
}

// sinkFunc adapts a function to Sink.
type sinkFunc func(ctx context.Context, rs []yujing.Reading) error

func (f sinkFunc) Write(ctx context.Context, rs []yujing.Reading) error { return f(ctx, rs) }
