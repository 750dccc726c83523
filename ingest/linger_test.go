package ingest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"yujing"
)

// writeLog is a sink that records the size of each write.
type writeLog struct {
	mu     sync.Mutex
	writes []int
	n      atomic.Int64
}

func (w *writeLog) Write(_ context.Context, rs []yujing.Reading) error {
	w.mu.Lock()
	w.writes = append(w.writes, len(rs))
	w.mu.Unlock()
	w.n.Add(int64(len(rs)))
	return nil
}

func (w *writeLog) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.writes)
}

// waitStored waits until n readings are stored and returns how long that took.
func (w *writeLog) waitStored(t *testing.T, n int64, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for w.n.Load() < n {
		if time.Since(start) > limit {
			t.Fatalf("%d of %d readings stored after %v", w.n.Load(), n, limit)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

// lingerPipeline is one shard with the given linger and gap, its workers
// started after queued messages are in its queue.
func lingerPipeline(t *testing.T, linger, gap time.Duration, queued []*benchMsg) (*Subscriber, *writeLog) {
	t.Helper()
	sink := &writeLog{}
	s := offlineSubscriber(t, Config{Broker: "tcp://127.0.0.1:1", Shards: 1, Linger: linger}, sink)
	s.gap = gap
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, m := range queued {
		s.receive(nil, m)
	}
	s.wg.Add(1)
	go s.work(s.shards[0])
	t.Cleanup(func() {
		close(s.quit)
		close(s.shards[0])
		s.wg.Wait()
		s.cancel()
	})
	return s, sink
}

// Under sustained load (a batch found lingerAfter messages waiting) a shard
// waits for more before it writes: messages arriving a millisecond apart go
// in a few large writes instead of one write each.
func TestLingerUnderLoad(t *testing.T) {
	msgs := benchMessages(100+300, false, nil)
	// This test's sleeps of a millisecond can take over lingerGap on a
	// loaded machine (CI runs packages in parallel, under -race), which
	// rightly ends the linger; a longer gap keeps the test about load.
	s, sink := lingerPipeline(t, time.Second, 250*time.Millisecond, msgs[:100])
	sink.waitStored(t, 100, 10*time.Second)
	if got := sink.count(); got != 1 {
		t.Fatalf("the 100 queued messages went in %d writes, want 1", got)
	}
	for _, m := range msgs[100:] {
		s.receive(nil, m)
		time.Sleep(time.Millisecond) // the arrival pattern under test: a millisecond apart
	}
	sink.waitStored(t, 400, 10*time.Second)
	if got := sink.count() - 1; got > 30 {
		t.Errorf("300 messages a millisecond apart went in %d writes, want a few (lingering for up to 1 024): %v", got, sink.writes)
	}
}

// Without sustained load nothing waits: messages arriving a couple of
// milliseconds apart (closer than lingerGap) are each stored as they come.
func TestLingerNotWhenIdle(t *testing.T) {
	msgs := benchMessages(20, false, nil)
	// With this gap, lingering would put them all in one write.
	s, sink := lingerPipeline(t, 5*time.Second, 250*time.Millisecond, nil)
	for _, m := range msgs {
		s.receive(nil, m)
		time.Sleep(2 * time.Millisecond) // the arrival pattern under test: idle, a couple of milliseconds apart
	}
	sink.waitStored(t, 20, 10*time.Second)
	// A shard kept from its core for a while may find a few waiting at once.
	if got := sink.count(); got < 5 {
		t.Errorf("20 messages 2 ms apart went in %d writes, want about one each (no lingering when idle): %v", got, sink.writes)
	}
}

// A linger ends when nothing comes for lingerGap (the broker has stopped
// sending, say until it gets acknowledgements), and a negative Linger
// never waits.
func TestLingerEnds(t *testing.T) {
	for _, c := range []struct {
		name   string
		linger time.Duration
	}{{"gap", 5 * time.Second}, {"off", -1}} {
		t.Run(c.name, func(t *testing.T) {
			msgs := benchMessages(100+10, false, nil)
			s, sink := lingerPipeline(t, c.linger, lingerGap, msgs[:100])
			sink.waitStored(t, 100, 10*time.Second)
			for _, m := range msgs[100:] {
				s.receive(nil, m)
			}
			if took := sink.waitStored(t, 110, 4*time.Second); took > 2*time.Second {
				t.Errorf("the last 10 messages took %v to store, want them written once nothing more came", took)
			}
		})
	}
}
