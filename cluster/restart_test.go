package cluster

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"yujing/internal/testenv"
)

// PostgreSQL restarts under two nodes: their renewals fail meanwhile, and
// resume afterwards on new connections; a restart shorter than the leases'
// window moves no lease; the bus subscriptions listen again and say so.
func TestPostgresRestart(t *testing.T) {
	ctx := t.Context()
	pg := testenv.StartPostgres(t)
	url := migrated(t, pg)
	hist := &history{}
	const ttl = DefaultTTL
	ttlOf := withConfig(func(c *Config) { c.TTL = ttl })
	a := startNode(t, url, "a", hist, ttlOf)
	b := startNode(t, url, "b", hist, ttlOf)
	busA, busB := newTestBus(t, a.pool, 0), newTestBus(t, b.pool, 0)
	evA, err := busA.Subscribe(ctx, "yujing_events")
	if err != nil {
		t.Fatal(err)
	}
	evB, err := busB.Subscribe(ctx, "yujing_events")
	if err != nil {
		t.Fatal(err)
	}
	expect(t, evA, Event{Kind: Listening})
	expect(t, evB, Event{Kind: Listening})
	waitFor(t, 3*ttl, "two nodes balanced", func() error { return balanced(32, a, b) })
	fences := map[string]int64{}
	for _, n := range []*testNode{a, b} {
		for _, p := range n.Owned() {
			fences[PartitionLease(p)] = n.held(PartitionLease(p)).Fence
		}
	}

	began := time.Now()
	pg.Restart()
	restarted := time.Now()
	down := restarted.Sub(began)
	t.Logf("PostgreSQL restarted in %v", down.Round(time.Millisecond))

	expect(t, evA, Event{Kind: Reconnected})
	expect(t, evB, Event{Kind: Reconnected})
	if err := busA.Publish(ctx, "yujing_events", "alert 9"); err != nil {
		t.Fatal(err)
	}
	expect(t, evA, Event{Kind: Notification, Channel: "yujing_events", Payload: "alert 9"})
	expect(t, evB, Event{Kind: Notification, Channel: "yujing_events", Payload: "alert 9"})

	waitFor(t, 2*ttl, "every lease renewed after the restart", func() error {
		if err := balanced(32, a, b); err != nil {
			return err
		}
		for _, n := range []*testNode{a, b} {
			for _, p := range n.Owned() {
				if l := n.held(PartitionLease(p)); l.age() >= time.Since(restarted) {
					return fmt.Errorf("%s: %s not renewed since the restart", n.name, l.Name)
				}
			}
		}
		return nil
	})
	hist.check(t)
	// A lease is held ttl − margin after its last renewal was sent, and
	// one renewal may have been sent just before the restart began.
	if window := ttl - ttl/5 - ttl/3; down >= window {
		t.Logf("the restart (%v) outlasted the leases' window (%v): leases may have moved", down, window)
		return
	}
	for _, n := range []*testNode{a, b} {
		if lost := n.releasesOf(Lost); len(lost) > 0 {
			t.Errorf("%s lost %v over a restart shorter than the leases' window", n.name, lost)
		}
		for _, p := range n.Owned() {
			name := PartitionLease(p)
			if f := n.held(name).Fence; f != fences[name] {
				t.Errorf("%s: %s has fence %d, had %d: it moved", n.name, name, f, fences[name])
			}
		}
	}
}

// A node that leaves and a subscription whose context ends leave no
// goroutine behind.
func TestNoGoroutineLeak(t *testing.T) {
	pg := testenv.StartPostgres(t)
	url := migrated(t, pg)
	before := runtime.NumGoroutine()
	func() {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		n, err := New(pool, Config{TTL: testTTL, Partitions: 4}, Options{Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- n.Run(ctx) }()
		waitFor(t, 5*testTTL, "the node holds its partitions", func() error {
			if got := len(n.Owned()); got != 4 || n.Leader() == nil {
				return fmt.Errorf("owns %d, leader %v", got, n.Leader() != nil)
			}
			return nil
		})
		b := newTestBus(t, pool, 0)
		sctx, scancel := context.WithCancel(ctx)
		events, err := b.Subscribe(sctx, "yujing_events")
		if err != nil {
			t.Fatal(err)
		}
		expect(t, events, Event{Kind: Listening})
		scancel()
		for range events {
		}
		if err := n.Leave(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Leave, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
