package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"yujing/internal/testenv"
)

func newTestBus(t *testing.T, pool *pgxpool.Pool, probe time.Duration) *Bus {
	t.Helper()
	b, err := NewBus(pool, BusOptions{Logger: testLogger(t), Registerer: prometheus.NewRegistry(), Probe: probe})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// next returns the next event of a subscription, failing after 10 s.
func next(t *testing.T, events <-chan Event) Event {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("subscription closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return Event{}
}

func expect(t *testing.T, events <-chan Event, want Event) {
	t.Helper()
	if got := next(t, events); got != want {
		t.Fatalf("event %+v, want %+v", got, want)
	}
}

func testBus(t *testing.T, pg *testenv.Postgres) {
	// A notification published by one node reaches a subscriber on
	// another, in commit order; a rolled-back one never does.
	t.Run("publish and subscribe", func(t *testing.T) {
		ctx := t.Context()
		url := pg.NewDatabase(t)
		pub := newTestBus(t, openPool(t, url), 0)
		sub := newTestBus(t, openPool(t, url), 0)
		events, err := sub.Subscribe(ctx, "yujing_events", "yujing_reload")
		if err != nil {
			t.Fatal(err)
		}
		expect(t, events, Event{Kind: Listening})
		if err := pub.Publish(ctx, "yujing_events", "alert 7"); err != nil {
			t.Fatal(err)
		}
		pool := openPool(t, url)
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := Notify(ctx, tx, "yujing_events", "rolled back"); err != nil {
			t.Fatal(err)
		}
		tx.Rollback(ctx)
		tx, err = pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := Notify(ctx, tx, "yujing_reload", "node a"); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish(ctx, "yujing_events", strings.Repeat("长", MaxPayload/3)); err != nil {
			t.Fatal(err)
		}
		expect(t, events, Event{Kind: Notification, Channel: "yujing_events", Payload: "alert 7"})
		expect(t, events, Event{Kind: Notification, Channel: "yujing_reload", Payload: "node a"})
		expect(t, events, Event{Kind: Notification, Channel: "yujing_events", Payload: strings.Repeat("长", MaxPayload/3)})
	})

	t.Run("refused", func(t *testing.T) {
		b := newTestBus(t, openPool(t, pg.URL), 0)
		tests := []struct {
			channel, payload, want string
		}{
			{"yujing_events", strings.Repeat("x", MaxPayload+1), "cluster: bus: channel yujing_events: payload of 8000 bytes, at most 7999"},
			{"yujing_events", "a\x00b", "cluster: bus: channel yujing_events: payload is not valid UTF-8 text without NUL"},
			{"yujing_events", "\xff", "cluster: bus: channel yujing_events: payload is not valid UTF-8 text without NUL"},
			{"", "x", `cluster: bus: channel "": want 1 to 63 bytes of UTF-8 text without NUL`},
			{strings.Repeat("c", 64), "x", `cluster: bus: channel "` + strings.Repeat("c", 64) + `": want 1 to 63 bytes of UTF-8 text without NUL`},
		}
		for _, tt := range tests {
			if err := b.Publish(t.Context(), tt.channel, tt.payload); err == nil || err.Error() != tt.want {
				t.Errorf("Publish(%.20q, %.20q): %v, want %q", tt.channel, tt.payload, err, tt.want)
			}
		}
		if _, err := b.Subscribe(t.Context()); err == nil {
			t.Error("Subscribe to no channel: no error")
		}
		if _, err := b.Subscribe(t.Context(), "ok", ""); err == nil {
			t.Error("Subscribe to an empty channel name: no error")
		}
	})

	// The listening connection is killed (an administrator, a failover):
	// the subscription listens again on a new one and says so.
	t.Run("reconnect after the connection is killed", func(t *testing.T) {
		ctx := t.Context()
		url := pg.NewDatabase(t)
		reg := prometheus.NewRegistry()
		b, err := NewBus(openPool(t, url), BusOptions{Logger: testLogger(t), Registerer: reg})
		if err != nil {
			t.Fatal(err)
		}
		events, err := b.Subscribe(ctx, "yujing_events")
		if err != nil {
			t.Fatal(err)
		}
		expect(t, events, Event{Kind: Listening})
		super := openPool(t, pg.SuperuserURL)
		var killed int
		dbName := url[strings.LastIndex(url, "/")+1 : strings.Index(url, "?")]
		if err := super.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity
			WHERE datname = $1 AND query LIKE 'LISTEN%'`, dbName).Scan(&killed); err != nil || killed != 1 {
			t.Fatalf("terminated %d listeners (%v), want 1", killed, err)
		}
		expect(t, events, Event{Kind: Reconnected})
		if err := b.Publish(ctx, "yujing_events", "after"); err != nil {
			t.Fatal(err)
		}
		expect(t, events, Event{Kind: Notification, Channel: "yujing_events", Payload: "after"})
		if got := testutil.ToFloat64(b.reconnects); got != 1 {
			t.Errorf("yujing_cluster_bus_reconnects_total %v, want 1", got)
		}
	})

	// A listening connection cut off without a word (a network partition)
	// is found dead by the probe; once the network is back the subscription
	// listens again and says so.
	t.Run("reconnect after a silent cut", func(t *testing.T) {
		ctx := t.Context()
		url := pg.NewDatabase(t)
		pxy := startProxy(t, pg.Addr)
		sub := newTestBus(t, openPool(t, pxy.url(url, pg.Addr)), 200*time.Millisecond)
		pub := newTestBus(t, openPool(t, url), 0)
		events, err := sub.Subscribe(ctx, "yujing_events")
		if err != nil {
			t.Fatal(err)
		}
		expect(t, events, Event{Kind: Listening})
		accepted := pxy.accepted.Load()
		pxy.Cut()
		if err := pub.Publish(ctx, "yujing_events", "lost"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the subscription tries a new connection", func() error {
			if pxy.accepted.Load() == accepted {
				return fmt.Errorf("no new connection")
			}
			return nil
		})
		pxy.Heal()
		expect(t, events, Event{Kind: Reconnected})
		if err := pub.Publish(ctx, "yujing_events", "after"); err != nil {
			t.Fatal(err)
		}
		expect(t, events, Event{Kind: Notification, Channel: "yujing_events", Payload: "after"})
	})

	t.Run("closed when the context ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		b := newTestBus(t, openPool(t, pg.URL), 0)
		events, err := b.Subscribe(ctx, "yujing_events")
		if err != nil {
			t.Fatal(err)
		}
		expect(t, events, Event{Kind: Listening})
		cancel()
		select {
		case _, ok := <-events:
			if ok {
				t.Fatal("an event after the context ended")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("subscription not closed")
		}
	})
}
