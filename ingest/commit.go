package ingest

import (
	"context"
	"sync"
	"time"

	"yujing"
)

// slowWrite is how long a sink write may take before the batches waiting
// behind it get a second lane: one slow or stuck write (say, one shard's
// readings InfluxDB takes its time over) must not stop the other shards'
// readings from being stored.
const slowWrite = 100 * time.Millisecond

// groupCommit merges the shards' sink writes: while a write is in flight,
// the batches that become ready meanwhile wait and then go together in the
// next write. InfluxDB gets fewer, larger requests (it spends less per
// point in large ones, and so does the client: BENCHMARKS.md), and no batch
// waits for company: one that finds no write in flight is written at once.
// Each shard still writes its batches in order and one at a time, so
// per-sensor order holds.
//
// A batch that finds the lane free leads: it writes what is queued, its own
// batch included. When its write returns and batches queued meanwhile, it
// hands them to the oldest of them to write, so no shard keeps writing for
// the others. A batch that has waited slowWrite behind a write opens a
// second lane and writes what is queued. Every caller waits until its
// readings are written (or the write failed) and gets that write's error.
type groupCommit struct {
	sink Sink
	slow time.Duration // 0 means slowWrite

	mu       sync.Mutex
	queue    []*commit
	inflight int                // writes in flight: 1, or 2 when one was slow
	bufs     [][]yujing.Reading // merge buffers not in use
}

type commit struct {
	rs    []yujing.Reading
	err   error
	taken bool          // in a group being written (guarded by groupCommit.mu)
	group []*commit     // set when woken to write these (itself among them)
	wake  chan struct{} // written, or given a group to write
}

// Write makes rs durable through the sink, together with the batches of
// other shards that are ready. All callers must pass the same ctx (the
// subscriber's): a caller returns only once the write holding its readings
// has returned, so that it may reuse rs.
func (g *groupCommit) Write(ctx context.Context, rs []yujing.Reading) error {
	c := &commit{rs: rs, wake: make(chan struct{}, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	if g.inflight == 0 {
		return g.lead(ctx, c, g.take())
	}
	g.mu.Unlock()
	slow := g.slow
	if slow <= 0 {
		slow = slowWrite
	}
	t := time.NewTimer(slow)
	defer t.Stop()
	select {
	case <-c.wake:
	case <-t.C:
		g.mu.Lock()
		if !c.taken && g.inflight < 2 {
			return g.lead(ctx, c, g.take())
		}
		g.mu.Unlock()
		<-c.wake
	}
	if c.group != nil {
		return g.lead(ctx, c, c.group)
	}
	return c.err
}

// take empties the queue into a group and claims a lane for it; g.mu is
// held and is released.
func (g *groupCommit) take() []*commit {
	group := g.queue
	g.queue = nil
	for _, b := range group {
		b.taken = true
	}
	g.inflight++
	g.mu.Unlock()
	return group
}

// lead writes group (c among it) in one sink write, then hands what queued
// meanwhile to the oldest of it, or frees the lane.
func (g *groupCommit) lead(ctx context.Context, c *commit, group []*commit) error {
	rs := group[0].rs
	var buf []yujing.Reading
	if len(group) > 1 {
		g.mu.Lock()
		if n := len(g.bufs); n > 0 {
			buf, g.bufs = g.bufs[n-1], g.bufs[:n-1]
		}
		g.mu.Unlock()
		for _, b := range group {
			buf = append(buf, b.rs...)
		}
		rs = buf
	}
	err := g.sink.Write(ctx, rs)
	for _, b := range group {
		b.err = err
		if b != c {
			b.wake <- struct{}{}
		}
	}
	g.mu.Lock()
	if buf != nil {
		clear(buf) // drop references to the readings' strings
		g.bufs = append(g.bufs, buf[:0])
	}
	if len(g.queue) > 0 {
		next := g.queue[0]
		next.group = g.queue
		g.queue = nil
		for _, b := range next.group {
			b.taken = true
		}
		next.wake <- struct{}{}
	} else {
		g.inflight--
	}
	g.mu.Unlock()
	return c.err
}
