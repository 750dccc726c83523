package ingest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"yujing"
	"yujing/ingest/decode"
)

// Sink makes readings durable. Write returns nil only when every reading is
// stored (or spooled); only then is the MQTT message acknowledged.
type Sink interface {
	Write(ctx context.Context, rs []yujing.Reading) error
}

// Observer receives readings after they are durable, in order per sensor.
type Observer interface {
	Observe(ctx context.Context, rs []yujing.Reading)
}

// FaultObserver is told of readings refused as instrument faults (outside
// the sensor's physical range: 超量程), which fault rules turn into warnings.
// An Observer may implement it.
type FaultObserver interface {
	ObserveFault(ctx context.Context, rd yujing.Reading, reason string)
}

// Config is the MQTT subscription.
type Config struct {
	Broker       string        // tcp://host:1883, ssl://host:8883, ws://…
	ClientID     string        // stable: the broker keeps the session under it
	Username     string        //
	Password     string        //
	QoS          byte          // 0 or 1, used as given: 0 subscribes at QoS 0 (the configuration's default is 1, needed for no loss)
	CleanSession bool          // false (default) keeps a persistent session
	Filters      []string      // topic filters; default "yujing/#" plus sensor topics and templates it does not cover
	SharedGroup  string        // when set, subscribe as $share/<group>/<filter> (several instances split the load)
	TLS          *tls.Config   // nil for plain TCP
	Shards       int           // parallel workers; a sensor always goes to the same one (default 4)
	QueueSize    int           // messages buffered per shard before back-pressure (default 1024)
	BatchSize    int           // readings written to the sink at once at most (default 1024)
	Linger       time.Duration // under sustained load, how long a shard waits to fill its batch (default 50ms; negative: never)
	MaxPayload   int           // larger messages are rejected (default 256 KiB)
	MaxFuture    time.Duration // readings further ahead of now are rejected (default 5m)
	MaxAge       time.Duration // readings older than this are rejected (default 30 days)
	ConnectWait  time.Duration // how long Start waits for the first connection (default 10s)
	// MaxUndeclaredMetrics bounds the metric names a sensor that lists no
	// metrics takes from payloads, besides its own metric; further new
	// names are rejected (too_many_metrics). Default 32.
	MaxUndeclaredMetrics int
	// SnapshotHold is how long a BIRTH's values wait, after their BIRTH
	// was received, for a DATA of the same instant to supersede them
	// before the observer gets them (see snapshots). Default 1s.
	SnapshotHold time.Duration
	// Partitions, when set, puts the subscriber in partition mode (a node
	// of a cluster): Start connects no client, and the node takes and
	// releases partitions of the sites (TakePartition, ReleasePartition),
	// each with its own persistent session. PartitionOf gives a site's
	// partition, in [0, Partitions). Filters, SharedGroup, CleanSession
	// and discovery do not apply in partition mode.
	Partitions  int
	PartitionOf func(site string) int
}

func (c *Config) setDefaults() {
	if c.ClientID == "" {
		c.ClientID = "yujing"
	}
	if c.Shards <= 0 {
		c.Shards = 4
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 1024
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 1024
	}
	if c.Linger == 0 {
		c.Linger = DefaultLinger
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = 256 << 10
	}
	if c.MaxFuture <= 0 {
		c.MaxFuture = 5 * time.Minute
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 30 * 24 * time.Hour
	}
	if c.ConnectWait <= 0 {
		c.ConnectWait = 10 * time.Second
	}
	if c.MaxUndeclaredMetrics <= 0 {
		c.MaxUndeclaredMetrics = DefaultMaxUndeclaredMetrics
	}
	if c.SnapshotHold <= 0 {
		c.SnapshotHold = DefaultSnapshotHold
	}
}

// DefaultMaxUndeclaredMetrics is Config.MaxUndeclaredMetrics when it is
// not set.
const DefaultMaxUndeclaredMetrics = 32

// Options are the subscriber's collaborators.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Rejections *Rejections      // where refused input is kept; a default one is made if nil
	Discovery  *Discovery       // when set, unknown topics are listed here
	Now        func() time.Time // clock; time.Now if nil
	// Documents applies the messages of sensors whose decoder takes
	// documents (decode.DocumentDecoder: issued warnings in CAP); nil:
	// such messages are refused (document_refused).
	Documents Documents
}

// Documents applies documents that are not readings (issued warnings in
// CAP): kind is the decoder's Kind. Accept returns once the document is
// applied durably, or with why not; the message is acknowledged either
// way (a refused one is kept with the rejections, for inspection).
type Documents interface {
	Accept(ctx context.Context, kind, topic string, payload []byte) error
}

// Subscriber is the MQTT ingest pipeline.
type Subscriber struct {
	cfg      Config
	reg      *Registry
	decoders *decode.Registry
	sink     Sink
	commit   *groupCommit // the shards' writes to sink, merged while one is in flight
	obs      Observer
	log      *slog.Logger
	now      func() time.Time
	gap      time.Duration // lingerGap; tests on a loaded machine lengthen it
	m        *metrics
	rejects  *Rejections
	discover *Discovery
	docs     Documents // nil: documents are refused

	client   mqtt.Client
	shards   []chan inbound
	main     *source      // the shared client's messages (Start); QoS 1 ones acknowledged in arrival order
	parts    partitions   // partition mode: the partitions held, each with its client
	mu       sync.RWMutex // guards stopping against sends on shards
	stopping bool
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	quit     chan struct{} // closed when Stop begins
	stopOnce sync.Once
	stopErr  error
	// wrapConn, when set (by tests), sees each client's connection to
	// the broker as it is opened.
	wrapConn func(clientID string, c net.Conn) (net.Conn, error)
}

// NewSubscriber builds the pipeline; Start connects it.
func NewSubscriber(cfg Config, reg *Registry, decoders *decode.Registry, sink Sink, obs Observer, opts Options) (*Subscriber, error) {
	cfg.setDefaults()
	if cfg.Broker == "" {
		return nil, errors.New("ingest: no MQTT broker address")
	}
	if cfg.Partitions < 0 || (cfg.Partitions > 0 && cfg.PartitionOf == nil) {
		return nil, fmt.Errorf("ingest: %d partitions need a PartitionOf", cfg.Partitions)
	}
	if cfg.QoS > 1 {
		return nil, fmt.Errorf("ingest: qos %d not supported (0 or 1)", cfg.QoS)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rejections == nil {
		opts.Rejections = NewRejections(1000, 10*time.Second, opts.Logger)
	}
	s := &Subscriber{cfg: cfg, reg: reg, decoders: decoders, sink: sink, obs: obs,
		log: opts.Logger, now: opts.Now, gap: lingerGap, rejects: opts.Rejections, discover: opts.Discovery, docs: opts.Documents,
		quit: make(chan struct{})}
	s.commit = &groupCommit{sink: countingSink{sink, s}}
	s.shards = make([]chan inbound, cfg.Shards)
	for i := range s.shards {
		s.shards[i] = make(chan inbound, cfg.QueueSize)
	}
	// Room for every message the shards can hold, queued or in a batch,
	// twice over: the ring fills only when one shard is stuck.
	s.main = &source{part: -1, acks: newAckOrder(s.ackRoom()), quit: s.quit}
	s.parts.init(cfg.Partitions)
	s.m = newMetrics(opts.Registerer, s.depth, s.unacked, s.parts.connected)
	return s, nil
}

// Rejections returns where refused input is kept.
func (s *Subscriber) Rejections() *Rejections { return s.rejects }

// ackRoom is the size of a client's acknowledgement order: room for every
// message the shards can hold, queued or in a batch, twice over, so that
// the ring fills only when one shard is stuck.
func (s *Subscriber) ackRoom() int { return 2 * s.cfg.Shards * (s.cfg.QueueSize + s.cfg.BatchSize) }

// unacked counts the QoS 1 messages received and not yet acknowledged, on
// every client.
func (s *Subscriber) unacked() float64 {
	n := s.main.acks.pending()
	for _, src := range s.parts.sources() {
		n += src.acks.pending()
	}
	return float64(n)
}

func (s *Subscriber) depth() float64 {
	n := 0
	for _, c := range s.shards {
		n += len(c)
	}
	return float64(n)
}

// filters returns the topic filters to subscribe to.
func (s *Subscriber) filters() []string {
	fs := append([]string(nil), s.cfg.Filters...)
	if len(fs) == 0 {
		fs = []string{"yujing/#"}
	}
	if s.discover != nil {
		// Discovery lists whatever is published on the broker.
		fs = []string{"#"}
	}
	for _, t := range s.reg.TemplateFilters() {
		covered := false
		for _, f := range fs {
			if TopicMatch(f, t) {
				covered = true
				break
			}
		}
		if !covered {
			fs = append(fs, t)
		}
	}
	fs = append(fs, s.reg.uncovered(fs)...)
	if s.cfg.SharedGroup != "" {
		for i, f := range fs {
			if !strings.HasPrefix(f, "$share/") {
				fs[i] = "$share/" + s.cfg.SharedGroup + "/" + f
			}
		}
	}
	return fs
}

// Start connects to the broker, subscribes, and starts the workers. It
// returns once the broker holds the subscriptions: at the SUBACK, or at
// the CONNACK when the broker resumed the persistent session (which keeps
// them; the subscription renewed then is acknowledged in the background).
// It fails after ConnectWait without them (the client keeps retrying in
// the background in that case only if ctx allows).
func (s *Subscriber) Start(ctx context.Context) error {
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for i := range s.shards {
		s.wg.Add(1)
		go s.work(s.shards[i])
	}
	s.parts.mu.Lock()
	s.parts.started = true
	s.parts.mu.Unlock()
	if s.cfg.Partitions > 0 {
		return nil // the node takes partitions (TakePartition)
	}
	var err error
	s.client, err = s.dial(ctx, clientSession{id: s.cfg.ClientID, clean: s.cfg.CleanSession, src: s.main, filters: s.filters,
		up: func() { s.m.connected.Set(1) }, down: func() { s.m.connected.Set(0) }})
	return err
}

// subackSlow is how long a SUBACK may take before the subscriber says it
// is still waiting for it.
const subackSlow = 10 * time.Second

// Refresh subscribes to the filters the current sensors need (after a
// sensor was registered on a topic the existing filters do not cover).
// Subscribing again to an existing filter is harmless.
func (s *Subscriber) Refresh() {
	if s.cfg.Partitions > 0 {
		s.refreshPartitions()
		return
	}
	if s.client == nil || !s.client.IsConnectionOpen() {
		return // the next (re)connect subscribes to the current filters
	}
	subs := map[string]byte{}
	for _, f := range s.filters() {
		subs[f] = s.cfg.QoS
	}
	tok := s.client.SubscribeMultiple(subs, s.receive)
	go func() {
		if tok.WaitTimeout(10*time.Second) && tok.Error() != nil {
			s.log.Error("mqtt subscribe failed", "filters", subs, "err", tok.Error())
		}
	}()
}

// receive takes a message of the shared client (Start).
func (s *Subscriber) receive(_ mqtt.Client, msg mqtt.Message) { s.receiveFrom(s.main, msg) }

// receiveFrom runs on paho's router goroutine of src's client: it only
// routes the message to its shard, blocking when the shard is full
// (back-pressure to the broker).
func (s *Subscriber) receiveFrom(src *source, msg mqtt.Message) {
	s.m.messages.Inc()
	// Shard by sensor, so each sensor's readings stay in order even when it
	// publishes on several topics (Sparkplug BIRTH/DATA/DEATH).
	key := msg.Topic()
	if node, ok := SparkplugNode(key); ok {
		key = node // an edge node's BIRTH/DATA/DEATH must be decoded in order
	} else if sn, ok := s.reg.viewByTopic(key); ok {
		key = sn.ID
	}
	ch := s.shards[fnv32a(key)%uint32(len(s.shards))]
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.stopping {
		return // not acknowledged: the broker delivers it again after restart
	}
	if src != s.main {
		// A partition's client, whose partition can be given up alone.
		src.mu.RLock()
		defer src.mu.RUnlock()
		if src.stopping {
			return // not acknowledged: delivered again, to the partition's next owner
		}
	}
	seq := noSeq
	if msg.Qos() > 0 {
		var ok bool
		if seq, ok = src.acks.add(msg, src.quit); !ok {
			return // stopping: not acknowledged, delivered again later
		}
	}
	select {
	case ch <- inbound{m: msg, at: src.receiveTime(s.now()), seq: seq, src: src}:
	case <-src.quit: // not acknowledged (nor anything after it): delivered again later
	}
}

// fnv32a is FNV-1a over s, without the allocations of hash/fnv on a string.
func fnv32a(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// inbound is a message with the time it was received (the time of its
// readings when the payload carries none), the client it came from and its
// place in that client's acknowledgement order (noSeq at QoS 0).
type inbound struct {
	m   mqtt.Message
	at  time.Time
	seq uint64
	src *source
}

// DefaultLinger is Config.Linger when it is not set.
const DefaultLinger = 50 * time.Millisecond

// lingerAfter is how many messages a shard must have found waiting, all at
// once, for it to linger over its next batch. InfluxDB spends about 0.5 ms
// of CPU per write request (most of it the WAL's fsync) against 1.5 µs per
// point (BENCHMARKS.md), so a few large writes cost it far less than many
// small ones; but a shard that lingers holds its messages unacknowledged,
// and a broker that sends only so many before their acknowledgements
// (EMQX: 32 by default, mosquitto's max_inflight_messages: 20) would then
// wait on the linger. 64 waiting at once means the broker is not holding
// back, and the load is high: lingering costs at most Linger's delay, and
// the batch grows from what keeps arriving.
const lingerAfter = 64

// lingerGap ends a linger early when no message came for this long: at the
// loads lingering is for, one comes every few tens of microseconds, so a
// gap this long means the broker has stopped sending (say, it waits for
// acknowledgements) and waiting longer would only delay this batch. Gaps
// of a few milliseconds are common on a busy machine (the subscriber's
// goroutines wait for a core): 2 ms ended most lingers in the end-to-end
// benchmark, 10 ms few of them (BENCHMARKS.md).
const lingerGap = 10 * time.Millisecond

// drain adds to batch what is waiting on ch, without waiting, up to
// BatchSize; closed reports that ch is closed.
func (s *Subscriber) drain(ch chan inbound, batch []inbound) (_ []inbound, closed bool) {
	for len(batch) < s.cfg.BatchSize {
		select {
		case m, ok := <-ch:
			if !ok {
				return batch, true
			}
			batch = append(batch, m)
		default:
			return batch, false
		}
	}
	return batch, false
}

// linger adds to batch what arrives on ch within Config.Linger, until the
// batch is full or no message came for lingerGap.
func (s *Subscriber) linger(ch chan inbound, batch []inbound, timer **time.Timer) []inbound {
	deadline := time.Now().Add(s.cfg.Linger)
	for {
		var closed bool
		batch, closed = s.drain(ch, batch)
		if closed || len(batch) >= s.cfg.BatchSize {
			return batch
		}
		d := min(s.gap, time.Until(deadline))
		if d <= 0 {
			return batch
		}
		if *timer == nil {
			*timer = time.NewTimer(d)
		} else {
			(*timer).Reset(d)
		}
		select {
		case m, ok := <-ch:
			(*timer).Stop()
			if !ok {
				return batch
			}
			batch = append(batch, m)
		case <-(*timer).C:
			return batch
		}
	}
}

// work drains one shard in batches: decode, validate, store, observe, ack.
func (s *Subscriber) work(ch chan inbound) {
	defer s.wg.Done()
	batch := make([]inbound, 0, s.cfg.BatchSize)
	var timer *time.Timer         // for s.linger
	busy := false                 // the last batch gathered lingerAfter messages
	var settled, durable []ackRef // nothing to store (done at once), done once stored
	var seqs []uint64             // for doneAll
	dec := newDecoded()
	held := newSnapshots(s.cfg.SnapshotHold)
	var observe []yujing.Reading
	var holdTimer *time.Timer // for the snapshots held while idle
	defer func() {
		// Shutting down: whatever is still held was stored.
		s.observe(held.all(observe[:0]))
	}()
	for {
		msg, ok := s.next(ch, held, &holdTimer, &observe)
		if !ok {
			return
		}
		batch, _ = s.drain(ch, append(batch[:0], msg)) // a closed ch ends the loop at the next receive
		if busy && s.cfg.Linger > 0 {
			batch = s.linger(ch, batch, &timer)
		}
		// Lingering goes on while each batch gathers lingerAfter messages:
		// when the load drops, batches go at once again.
		busy = len(batch) >= lingerAfter
		start := time.Now()
		dec.reset()
		settled, durable = settled[:0], durable[:0]
		for _, in := range batch {
			if in.src.dropped.Load() {
				continue // its partition went to another node: never processed, never acknowledged
			}
			n, docs := len(dec.readings), len(dec.documents)
			s.decode(dec, in.m, in.at)
			if in.src.part >= 0 && len(dec.readings) > n {
				s.keepPartition(dec, n, in.src.part, in)
			}
			if len(dec.documents) > docs {
				// Applied before it is acknowledged, in order with the
				// readings of its shard.
				s.accept(dec.documents[docs], in.at)
			}
			if in.seq == noSeq {
				continue
			}
			if len(dec.readings) == n {
				settled = append(settled, ackRef{in.src.acks, in.seq}) // refused, or events only
			} else {
				durable = append(durable, ackRef{in.src.acks, in.seq})
			}
		}
		if len(settled) > 0 {
			// Refused input must not hold back the acknowledgement of
			// what arrived after it while this batch is being stored.
			seqs = doneAll(settled, seqs)
		}
		if rs := dec.readings; len(rs) > 0 {
			s.m.readings.WithLabelValues("decoded").Add(float64(len(rs)))
			if !s.store(rs) {
				return // shutting down before the batch was durable: leave it unacknowledged
			}
			s.m.readings.WithLabelValues("stored").Add(float64(len(rs)))
			s.reg.record(rs, dec.info)
		}
		// Of a partition given up while its batch was being written:
		// durable, but its next owner observes them.
		gone := s.cfg.Partitions > 0 && givenUp(batch)
		if held.n == 0 && dec.snapshots == 0 {
			if gone {
				dec.readings = s.held(dec.readings) // last use of dec.readings
			}
			s.observe(dec.readings) // nothing held, nothing to hold
		} else {
			observe = held.pass(observe[:0], dec.readings, dec.info)
			// Every message received up to the batch's last is dealt
			// with: the snapshots whose hold ended before it was
			// received go.
			observe = held.expire(observe, batch[len(batch)-1].at)
			if gone {
				observe = s.held(observe)
			}
			s.observe(observe)
		}
		// Acknowledged once everything received before them is too.
		seqs = doneAll(durable, seqs)
		s.m.batch.Observe(time.Since(start).Seconds())
	}
}

// givenUp reports whether a message of batch is of a partition given up
// since (its client's messages are dropped).
func givenUp(batch []inbound) bool {
	for _, in := range batch {
		if in.src.dropped.Load() {
			return true
		}
	}
	return false
}

// next waits for the next message of ch. While snapshots are held it
// gives the observer those whose hold ends meanwhile.
func (s *Subscriber) next(ch chan inbound, held *snapshots, timer **time.Timer, buf *[]yujing.Reading) (inbound, bool) {
	for held.n > 0 {
		d := held.next.Sub(s.now())
		if d <= 0 {
			*buf = held.expire((*buf)[:0], s.now())
			s.observe(*buf)
			continue
		}
		if *timer == nil {
			*timer = time.NewTimer(d)
		} else {
			(*timer).Reset(d)
		}
		select {
		case m, ok := <-ch:
			(*timer).Stop()
			return m, ok
		case <-(*timer).C:
		}
	}
	m, ok := <-ch
	return m, ok
}

// accept hands a document to the document sink; a refusal is kept with
// the rejections (reason document_refused).
func (s *Subscriber) accept(d document, at time.Time) {
	if s.docs == nil {
		s.reject(at, d.topic, d.sensor, ReasonDocumentRefused, "no intake takes "+d.kind+" documents here", d.payload)
		return
	}
	if err := s.docs.Accept(s.ctx, d.kind, d.topic, d.payload); err != nil {
		s.reject(at, d.topic, d.sensor, ReasonDocumentRefused, err.Error(), d.payload)
		return
	}
	s.m.documents.WithLabelValues(d.kind).Inc()
}

// observe gives the observer readings that are durable.
func (s *Subscriber) observe(rs []yujing.Reading) {
	if s.obs != nil && len(rs) > 0 {
		s.obs.Observe(s.ctx, rs)
	}
}

// countingSink counts the writes that reach the sink.
type countingSink struct {
	Sink
	s *Subscriber
}

func (c countingSink) Write(ctx context.Context, rs []yujing.Reading) error {
	c.s.m.storeWrites.Inc()
	return c.Sink.Write(ctx, rs)
}

// store writes until it succeeds, backing off, or until shutdown.
func (s *Subscriber) store(rs []yujing.Reading) bool {
	backoff := 100 * time.Millisecond
	for {
		err := s.commit.Write(s.ctx, rs)
		if err == nil {
			return true
		}
		s.m.storeErrors.Inc()
		s.log.Error("store write failed; holding messages unacknowledged and retrying", "readings", len(rs), "retry_in", backoff, "err", err)
		select {
		case <-s.ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// Stop stops taking messages, finishes (stores and acknowledges) what is
// queued until ctx ends, then disconnects. Messages not finished stay
// unacknowledged, so the broker delivers them again. Safe to call twice.
func (s *Subscriber) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() {
		if s.cancel == nil { // never started
			return
		}
		close(s.quit)
		parts := s.parts.close()
		for _, pt := range parts {
			pt.src.stop()
		}
		s.mu.Lock()
		s.stopping = true
		s.mu.Unlock()
		for _, ch := range s.shards {
			close(ch)
		}
		done := make(chan struct{})
		go func() { s.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			s.stopErr = fmt.Errorf("ingest: %v messages still queued at shutdown, left unacknowledged for redelivery", s.depth())
		}
		s.cancel()
		<-done
		if s.client != nil {
			s.client.Disconnect(250)
		}
		s.m.connected.Set(0)
		for _, pt := range parts {
			// Without unsubscribing: the session waits for the
			// partition's next owner.
			s.giveUp(pt.src.part, pt, 250)
		}
	})
	return s.stopErr
}

// TopicMatch reports whether an MQTT topic filter (with + and #, optionally
// a $share/<group>/ prefix) matches a topic name. As MQTT requires, topics
// starting with $ are not matched by a leading wildcard.
func TopicMatch(filter, topic string) bool {
	if rest, ok := strings.CutPrefix(filter, "$share/"); ok {
		_, f, ok := strings.Cut(rest, "/")
		if !ok {
			return false
		}
		filter = f
	}
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	for {
		if filter == "#" {
			return true
		}
		fseg, frest, fmore := strings.Cut(filter, "/")
		tseg, trest, tmore := strings.Cut(topic, "/")
		if fseg != "+" && fseg != tseg {
			return false
		}
		switch {
		case !fmore && !tmore:
			return true
		case !tmore:
			return frest == "#" // "a/#" matches "a"
		case !fmore:
			return false
		}
		filter, topic = frest, trest
	}
}
