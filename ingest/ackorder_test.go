package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"yujing"
	"yujing/ingest/decode/all"
)

// Ordered acknowledgement (BENCHMARKS.md, end-to-end ingest): the shards
// finish messages in any order, the broker gets the PUBACKs in the order it
// sent the messages, each only once its readings are durable.

// wire records, for one client of a real (embedded mochi) broker, the
// PUBLISH packets the broker sent it and the PUBACKs it answered with.
type wire struct {
	mochi.HookBase
	client string

	mu        sync.Mutex
	published []uint16 // packet ids, in the order sent
	qos       []byte
	acked     []uint16 // packet ids, in the order received
	pings     atomic.Int64
	queued    atomic.Int64 // QoS 1/2 messages queued for the client (sent or held for its session)
	changed   chan struct{}
	gone      chan struct{} // closed when the client's connection ended
	goneOnce  sync.Once
}

func (w *wire) ID() string { return "wire" }

func (w *wire) Provides(b byte) bool {
	return b == mochi.OnPacketRead || b == mochi.OnPacketSent || b == mochi.OnQosPublish || b == mochi.OnDisconnect
}

// OnDisconnect notes that the client's connection ended: the broker has
// read every packet the client sent before it.
func (w *wire) OnDisconnect(cl *mochi.Client, _ error, _ bool) {
	if cl.ID == w.client {
		w.goneOnce.Do(func() { close(w.gone) })
	}
}

// waitGone waits until the client's connection ended, so that every
// PUBACK it sent is recorded: a check that none came after a point needs
// no sleep.
func (w *wire) waitGone(t *testing.T) {
	t.Helper()
	select {
	case <-w.gone:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s still connected", w.client)
	}
}

// OnQosPublish counts the messages the broker took in flight for the
// client: first sends only, not resends.
func (w *wire) OnQosPublish(cl *mochi.Client, pk packets.Packet, _ int64, resends int) {
	if cl.ID == w.client && pk.FixedHeader.Type == packets.Publish && resends == 0 {
		w.queued.Add(1)
		w.poke()
	}
}

// queuedFor waits until the broker has taken n messages in flight for the
// client. mochi acknowledges a QoS 1 PUBLISH to its publisher before it
// routes it to the subscribers, so a PUBACK does not yet mean the message
// is held for an offline session.
func (w *wire) queuedFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for w.queued.Load() < int64(n) {
		select {
		case <-w.changed:
		case <-deadline:
			t.Fatalf("the broker queued %d messages for %s, want %d", w.queued.Load(), w.client, n)
		}
	}
}

func (w *wire) OnPacketSent(cl *mochi.Client, pk packets.Packet, _ []byte) {
	if cl.ID != w.client || pk.FixedHeader.Type != packets.Publish {
		return
	}
	w.mu.Lock()
	w.published = append(w.published, pk.PacketID)
	w.qos = append(w.qos, pk.FixedHeader.Qos)
	w.mu.Unlock()
	w.poke()
}

func (w *wire) OnPacketRead(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.ID == w.client && pk.FixedHeader.Type == packets.Pingreq {
		w.pings.Add(1)
		w.poke()
	}
	if cl.ID == w.client && pk.FixedHeader.Type == packets.Puback {
		w.mu.Lock()
		w.acked = append(w.acked, pk.PacketID)
		w.mu.Unlock()
		w.poke()
	}
	return pk, nil
}

func (w *wire) poke() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

func (w *wire) snapshot() (published, acked []uint16, qos []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.published), slices.Clone(w.acked), slices.Clone(w.qos)
}

// waitFor waits until cond holds for the recorded packets.
func (w *wire) waitFor(t *testing.T, what string, cond func(published, acked []uint16) bool) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		p, a, _ := w.snapshot()
		if cond(p, a) {
			return
		}
		select {
		case <-w.changed:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s: %d published, %d acknowledged", what, len(p), len(a))
		}
	}
}

// startMochi runs an embedded broker recording the packets of client id.
func startMochi(t *testing.T, client string) (url string, w *wire) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := mochi.New(&mochi.Options{InlineClient: false, Logger: slog.New(slog.DiscardHandler)})
	w = &wire{client: client, changed: make(chan struct{}, 1), gone: make(chan struct{})}
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddHook(w, nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "tcp", Address: addr})); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return "tcp://" + addr, w
}

// gateSink stores readings in memory. Writes of a held sensor block until
// it is released; delay, when set, slows writes down per sensor.
type gateSink struct {
	mu     sync.Mutex
	held   map[string]chan struct{}
	stored []yujing.Reading
	delay  func(sensor string) time.Duration
	n      atomic.Int64
}

func (g *gateSink) hold(sensor string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held == nil {
		g.held = map[string]chan struct{}{}
	}
	g.held[sensor] = make(chan struct{})
}

func (g *gateSink) release(sensor string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.held[sensor])
	delete(g.held, sensor)
}

func (g *gateSink) Write(ctx context.Context, rs []yujing.Reading) error {
	for _, r := range rs {
		g.mu.Lock()
		gate := g.held[r.Sensor]
		g.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if g.delay != nil {
			time.Sleep(g.delay(r.Sensor)) // a store of uneven speed: durability out of order is what is tested
		}
	}
	g.mu.Lock()
	g.stored = append(g.stored, rs...)
	g.mu.Unlock()
	g.n.Add(int64(len(rs)))
	return nil
}

func (g *gateSink) values(sensor string) []float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	var vs []float64
	for _, r := range g.stored {
		if r.Sensor == sensor {
			vs = append(vs, r.Value)
		}
	}
	return vs
}

// shardSensors returns one sensor id per shard of a subscriber with n
// shards, so each test message lands on a known shard.
func shardSensors(n int) []string {
	ids := make([]string, n)
	found := 0
	for i := 0; found < n; i++ {
		id := "S" + strconv.Itoa(i)
		if k := fnv32a(id) % uint32(n); ids[k] == "" {
			ids[k] = id
			found++
		}
	}
	return ids
}

const testClient = "yujing-acktest"

// startOrdered starts a subscriber on broker url with one gas sensor per
// shard (site "t", topics yujing/t/<id>).
func startOrdered(t *testing.T, url string, qos byte, sink Sink) (*Subscriber, []string) {
	t.Helper()
	const shards = 4
	ids := shardSensors(shards)
	var sensors []yujing.Sensor
	for _, id := range ids {
		sensors = append(sensors, yujing.Sensor{ID: id, Site: "t", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Decoder: "json"})
	}
	reg, err := NewRegistry([]yujing.Site{{ID: "t"}}, sensors)
	if err != nil {
		t.Fatal(err)
	}
	decoders, err := all.Registry()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSubscriber(Config{Broker: url, ClientID: testClient, QoS: qos, Shards: shards, QueueSize: 64, BatchSize: 16},
		reg, decoders, sink, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	return s, ids
}

// publisher connects a plain paho client that publishes at QoS 1.
func publisher(t *testing.T, url string) func(topic, payload string) {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("pub-" + t.Name()).SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect publisher: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return func(topic, payload string) {
		t.Helper()
		if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
}

// inOrder checks that every message sent was acknowledged once, in the
// order sent.
func inOrder(t *testing.T, published, acked []uint16) {
	t.Helper()
	if !slices.Equal(published, acked) {
		t.Fatalf("PUBACKs out of arrival order:\npublished %v\nacked     %v", published, acked)
	}
}

func value(v int) string { return fmt.Sprintf(`{"value": %d}`, v) }

// The shards store at different speeds (out-of-order durability), yet the
// broker receives the PUBACKs in the order it sent the messages.
func TestAckOrderAcrossShards(t *testing.T) {
	url, w := startMochi(t, testClient)
	sink := &gateSink{delay: func(sensor string) time.Duration {
		return time.Duration(rand.IntN(400)) * time.Microsecond
	}}
	_, ids := startOrdered(t, url, 1, sink)
	pub := publisher(t, url)
	const n = 400
	for i := range n {
		pub("yujing/t/"+ids[rand.IntN(len(ids))], value(i))
	}
	w.waitFor(t, "every PUBACK", func(p, a []uint16) bool { return len(a) >= n })
	published, acked, _ := w.snapshot()
	if len(published) != n {
		t.Fatalf("broker sent %d messages, want %d", len(published), n)
	}
	inOrder(t, published, acked)
	if got := sink.n.Load(); got != n {
		t.Errorf("stored %d readings, want %d", got, n)
	}
}

// A shard that cannot store holds back the PUBACKs of everything received
// after its message, though the other shards have stored theirs; once it
// stores, all go out in order. Refused messages received before it are
// acknowledged at once.
func TestAckOrderStuckShard(t *testing.T) {
	url, w := startMochi(t, testClient)
	sink := &gateSink{}
	s, ids := startOrdered(t, url, 1, sink)
	pub := publisher(t, url)
	slow, others := ids[0], ids[1:]
	sink.hold(slow)

	pub("yujing/t/"+others[0], `{"value": "not a number"}`) // refused
	pub("yujing/t/"+others[1], value(1))                    // stored
	w.waitFor(t, "the first two PUBACKs", func(p, a []uint16) bool { return len(a) == 2 })

	pub("yujing/t/"+slow, value(2)) // stuck in the sink
	const after = 30
	for i := range after {
		pub("yujing/t/"+others[i%len(others)], value(100+i))
	}
	deadline := time.Now().Add(10 * time.Second)
	for sink.n.Load() < 1+after && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := sink.n.Load(); got != 1+after {
		t.Fatalf("other shards stored %d readings, want %d", got, 1+after)
	}
	// No sleep for a PUBACK that should not be sent: one sent early would
	// stand before the stuck message's in the order inOrder checks below,
	// once the stuck message is released.
	if _, acked, _ := w.snapshot(); len(acked) != 2 {
		t.Fatalf("%d PUBACKs while the stuck message was not durable, want 2 (those received before it)", len(acked))
	}
	if got := s.main.acks.pending(); got != 1+after {
		t.Errorf("%d messages pending acknowledgement, want %d", got, 1+after)
	}

	sink.release(slow)
	w.waitFor(t, "every PUBACK", func(p, a []uint16) bool { return len(a) == 3+after })
	published, acked, _ := w.snapshot()
	inOrder(t, published, acked)
	if got := sink.values(slow); !slices.Equal(got, []float64{2}) {
		t.Errorf("stuck sensor stored %v, want [2]", got)
	}
}

// Refused input — malformed, a bad value, an unknown topic — is done at
// once: acknowledged in its place, never holding back what follows.
func TestAckOrderRefused(t *testing.T) {
	url, w := startMochi(t, testClient)
	sink := &gateSink{}
	s, ids := startOrdered(t, url, 1, sink)
	pub := publisher(t, url)
	msgs := []struct{ topic, payload string }{
		{"yujing/t/" + ids[0], `{"value": 1}`},
		{"yujing/t/" + ids[1], `not json`},
		{"yujing/t/nobody", `{"value": 2}`},
		{"yujing/t/" + ids[2], `{"value": 1e999}`},
		{"yujing/t/" + ids[3], `{"value": 3}`},
		{"yujing/t/" + ids[0], `{"value": 4, "ts": 1}`}, // 1970: too old
		{"yujing/t/" + ids[1], `{"value": 5}`},
	}
	for _, m := range msgs {
		pub(m.topic, m.payload)
	}
	w.waitFor(t, "every PUBACK", func(p, a []uint16) bool { return len(a) >= len(msgs) })
	published, acked, _ := w.snapshot()
	inOrder(t, published, acked)
	if got := sink.n.Load(); got != 3 {
		t.Errorf("stored %d readings, want 3", got)
	}
	if got := len(s.Rejections().List(0)); got != 4 {
		t.Errorf("%d rejections kept, want 4", got)
	}
}

// Stop finishes what is queued and acknowledges it before disconnecting;
// a message not durable by then stays unacknowledged (with everything
// after it) and comes back to the next subscriber of the session: nothing
// lost.
func TestAckOrderShutdown(t *testing.T) {
	url, w := startMochi(t, testClient)
	sink := &gateSink{}
	s, ids := startOrdered(t, url, 1, sink)
	pub := publisher(t, url)
	sink.hold(ids[0])
	pub("yujing/t/"+ids[1], value(1))
	pub("yujing/t/"+ids[0], value(2)) // never durable before Stop
	pub("yujing/t/"+ids[2], value(3))
	w.waitFor(t, "three messages sent", func(p, a []uint16) bool { return len(p) == 3 && len(a) == 1 })
	for deadline := time.Now().Add(10 * time.Second); sink.n.Load() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("stored %d readings, want 2 (the one before the stuck message and the one after)", sink.n.Load())
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := s.Stop(ctx); err == nil {
		t.Error("Stop returned no error with a message not durable")
	}
	w.waitGone(t) // Stop disconnected: every PUBACK it sent is recorded
	if _, acked, _ := w.snapshot(); len(acked) != 1 {
		t.Fatalf("%d PUBACKs after Stop, want 1: the stuck message and the one after it stay unacknowledged", len(acked))
	}

	// The session's next subscriber gets both again.
	sink2 := &gateSink{}
	startOrdered(t, url, 1, sink2)
	w.waitFor(t, "redelivered messages acknowledged", func(p, a []uint16) bool { return len(a) == 3 })
	if got := append(sink2.values(ids[0]), sink2.values(ids[2])...); !slices.Equal(got, []float64{2, 3}) {
		t.Errorf("redelivered and stored %v, want [2 3]", got)
	}
}

// Stop drains: everything queued is stored and acknowledged, in order,
// before the disconnection; what was stored was acknowledged.
func TestAckOrderDrain(t *testing.T) {
	url, w := startMochi(t, testClient)
	sink := &gateSink{delay: func(string) time.Duration { return 20 * time.Microsecond }}
	s, ids := startOrdered(t, url, 1, sink)
	pub := publisher(t, url)
	const n = 300
	for i := range n {
		pub("yujing/t/"+ids[i%len(ids)], value(i))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	stored := int(sink.n.Load())
	if stored == 0 {
		t.Fatal("nothing stored")
	}
	// The PUBACKs left before the DISCONNECT; the broker reads them in its
	// own time.
	w.waitFor(t, "a PUBACK for every stored reading", func(p, a []uint16) bool { return len(a) >= stored })
	published, acked, _ := w.snapshot()
	if len(acked) != stored {
		t.Fatalf("%d PUBACKs for %d stored readings (%d messages sent)", len(acked), stored, len(published))
	}
	inOrder(t, published[:len(acked)], acked)
}

// mqtt.qos: 0 subscribes at QoS 0 (a QoS 1 publication arrives at QoS 0,
// nothing is acknowledged); the default of the configuration is 1.
func TestSubscriberQoS(t *testing.T) {
	for _, qos := range []byte{0, 1} {
		t.Run("qos"+strconv.Itoa(int(qos)), func(t *testing.T) {
			url, w := startMochi(t, testClient)
			sink := &gateSink{}
			s, ids := startOrdered(t, url, qos, sink)
			pub := publisher(t, url)
			for i := range 5 {
				pub("yujing/t/"+ids[i%len(ids)], value(i))
			}
			for deadline := time.Now().Add(10 * time.Second); sink.n.Load() < 5 && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
			}
			if got := sink.n.Load(); got != 5 {
				t.Fatalf("stored %d readings, want 5", got)
			}
			if qos == 1 {
				w.waitFor(t, "PUBACKs", func(p, a []uint16) bool { return len(a) == 5 })
			} else {
				// A QoS 0 message has no PUBACK: once the client is gone,
				// every packet it sent is recorded, and none may be one.
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				defer cancel()
				if err := s.Stop(ctx); err != nil {
					t.Fatal(err)
				}
				w.waitGone(t)
			}
			_, acked, got := w.snapshot()
			if want := slices.Repeat([]byte{qos}, 5); !slices.Equal(got, want) {
				t.Errorf("broker sent at QoS %v, want %v", got, want)
			}
			if want := 5 * int(qos); len(acked) != want {
				t.Errorf("%d PUBACKs, want %d", len(acked), want)
			}
		})
	}
}

// fakeMsg is an mqtt.Message that records its acknowledgement.
type fakeMsg struct {
	benchMsg
	id    int
	order *[]int
	mu    *sync.Mutex
}

func (m *fakeMsg) Ack() {
	m.mu.Lock()
	*m.order = append(*m.order, m.id)
	m.mu.Unlock()
}

func TestAckOrderUnit(t *testing.T) {
	var mu sync.Mutex
	var order []int
	msg := func(i int) *fakeMsg { return &fakeMsg{id: i, order: &order, mu: &mu} }
	acked := func() []int { mu.Lock(); defer mu.Unlock(); return slices.Clone(order) }

	a := newAckOrder(4)
	quit := make(chan struct{})
	var seqs []uint64
	for i := range 4 {
		s, ok := a.add(msg(i), quit)
		if !ok {
			t.Fatal("add refused")
		}
		seqs = append(seqs, s)
	}
	a.done(seqs[2], seqs[3], noSeq)
	if got := acked(); len(got) != 0 {
		t.Fatalf("acknowledged %v before the first message was done", got)
	}
	// The ring is full: add waits until the oldest are acknowledged.
	added := make(chan uint64)
	go func() { s, _ := a.add(msg(4), quit); added <- s }()
	select {
	case <-added:
		t.Fatal("add did not wait for room")
	case <-time.After(20 * time.Millisecond):
	}
	a.done(seqs[1])
	a.done(seqs[0])
	if got := acked(); !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Fatalf("acknowledged %v, want [0 1 2 3]", got)
	}
	s4 := <-added
	if a.pending() != 1 {
		t.Errorf("pending %d, want 1", a.pending())
	}
	// Full again; quit lets a waiting add go.
	for i := 5; i < 8; i++ {
		if _, ok := a.add(msg(i), quit); !ok {
			t.Fatal("add refused")
		}
	}
	go func() { _, ok := a.add(msg(8), quit); added <- map[bool]uint64{true: 1, false: noSeq}[ok] }()
	close(quit)
	if got := <-added; got != noSeq {
		t.Error("add took a message after quit")
	}
	a.done(s4)
	if got := acked(); !slices.Equal(got, []int{0, 1, 2, 3, 4}) {
		t.Fatalf("acknowledged %v, want [0 1 2 3 4]", got)
	}
}

// Many workers finishing messages at random: every message acknowledged
// once, in order.
func TestAckOrderConcurrent(t *testing.T) {
	var mu sync.Mutex
	var order []int
	a := newAckOrder(64)
	quit := make(chan struct{})
	const n, workers = 20000, 4
	work := make([]chan uint64, workers)
	var wg sync.WaitGroup
	for i := range work {
		work[i] = make(chan uint64, 16)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var batch []uint64
			for s := range work[i] {
				batch = append(batch, s)
				if len(batch) == 1+rand.IntN(8) || len(work[i]) == 0 {
					a.done(batch...)
					batch = batch[:0]
				}
			}
			a.done(batch...)
		}()
	}
	for i := range n {
		s, ok := a.add(&fakeMsg{id: i, order: &order, mu: &mu}, quit)
		if !ok {
			t.Fatal("add refused")
		}
		work[rand.IntN(workers)] <- s
	}
	for _, w := range work {
		close(w)
	}
	wg.Wait()
	if len(order) != n {
		t.Fatalf("%d acknowledged, want %d", len(order), n)
	}
	for i, id := range order {
		if id != i {
			t.Fatalf("acknowledgement %d is message %d", i, id)
		}
	}
}

// A refused message is done as soon as it is decoded, even when the
// batch it came in is still being stored.
func TestRefusedNotHeldByBatch(t *testing.T) {
	sink := &gateSink{}
	s := newTestSubscriber(t, sink)
	var mu sync.Mutex
	var order []int
	ids := shardSensors(len(s.shards))
	sink.hold(ids[0])
	bad := &fakeMsg{benchMsg: benchMsg{topic: "yujing/bench/" + ids[0], payload: []byte(`{"value": true}`)}, id: 0, order: &order, mu: &mu}
	good := &fakeMsg{benchMsg: benchMsg{topic: "yujing/bench/" + ids[0], payload: []byte(`{"value": 1}`)}, id: 1, order: &order, mu: &mu}
	// Both queued before the worker starts: one batch.
	for _, m := range []*fakeMsg{bad, good} {
		seq, _ := s.main.acks.add(m, s.quit)
		s.shards[0] <- inbound{m: m, at: time.Now(), seq: seq, src: s.main}
	}
	s.ctx, s.cancel = context.WithCancel(t.Context())
	s.wg.Add(1)
	go s.work(s.shards[0])
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(order)
		mu.Unlock()
		if n == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	got := slices.Clone(order)
	mu.Unlock()
	if !slices.Equal(got, []int{0}) {
		t.Fatalf("acknowledged %v while the batch is stored, want [0] (the refused message)", got)
	}
	sink.release(ids[0])
	close(s.shards[0])
	s.wg.Wait()
	s.cancel()
	if !slices.Equal(order, []int{0, 1}) {
		t.Fatalf("acknowledged %v, want [0 1]", order)
	}
}

// newTestSubscriber is a subscriber over the sensors of shardSensors(4)
// on yujing/bench/<id>, not connected.
func newTestSubscriber(t *testing.T, sink Sink) *Subscriber {
	t.Helper()
	var sensors []yujing.Sensor
	for _, id := range shardSensors(4) {
		sensors = append(sensors, yujing.Sensor{ID: id, Site: "bench", Family: yujing.FamilyGas, Metric: "lel", Decoder: "json"})
	}
	reg, err := NewRegistry([]yujing.Site{{ID: "bench"}}, sensors)
	if err != nil {
		t.Fatal(err)
	}
	decoders, err := all.Registry()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSubscriber(Config{Broker: "tcp://127.0.0.1:1", Shards: 4}, reg, decoders, sink, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
