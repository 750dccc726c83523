package ingest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"yujing"
)

// Partition mode (docs/CLUSTER.md, "Ingest per partition"): the sites are
// split into Config.Partitions partitions, and each node of a cluster
// holds some of them. For each partition it holds, the subscriber has a
// client of its own, with client id <ClientID>-p<n> and a persistent
// session subscribed to the exact topics of the partition's sensors. The
// session belongs to the partition, not to the node: when the partition
// moves, its next owner connects under the same client id and the broker
// hands it every QoS 1 message not yet acknowledged; as on one node, a
// message is acknowledged only once its readings are durable.

// ReasonOtherPartition: a message of a partition's client named a sensor
// of another partition (a gateway's payload listing the sensors of
// several sites); that sensor's readings are left to its own partition's
// owner, which does not receive this message.
const ReasonOtherPartition = "other_partition"

// partitions are the partitions a subscriber holds.
type partitions struct {
	mu      sync.Mutex
	held    map[int]*partition
	holds   []atomic.Bool // by partition: taken, not yet given up
	started bool          // Start was called
	closed  bool          // Stop began
}

// partition is a partition held: its client and the topics it subscribed.
type partition struct {
	src       *source
	up        atomic.Bool // its client is connected
	releasing bool        // guarded by partitions.mu

	mu     sync.Mutex      // guards client and topics
	client mqtt.Client     // nil until connected
	topics map[string]bool // subscribed on its session
}

func (ps *partitions) init(n int) {
	ps.held = map[int]*partition{}
	ps.holds = make([]atomic.Bool, n)
}

// connected counts the partition sessions connected (a metric).
func (ps *partitions) connected() float64 {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	n := 0
	for _, pt := range ps.held {
		if pt.up.Load() {
			n++
		}
	}
	return float64(n)
}

// sources returns the sources of the partitions held.
func (ps *partitions) sources() []*source {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make([]*source, 0, len(ps.held))
	for _, pt := range ps.held {
		out = append(out, pt.src)
	}
	return out
}

// holding reports whether partition p is held and not given up.
func (ps *partitions) holding(p int) bool {
	return p >= 0 && p < len(ps.holds) && ps.holds[p].Load()
}

// close marks the subscriber stopping and returns the partitions held.
func (ps *partitions) close() []*partition {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.closed = true
	return slices.Collect(maps.Values(ps.held))
}

// TakePartition connects partition n's client, <ClientID>-p<n>, with a
// persistent session subscribed to the topics of the partition's sensors,
// and feeds its messages to the pipeline. It returns once the broker holds
// the subscriptions (as Start does), or fails, holding nothing, after
// ConnectWait or when ctx ends. Only in partition mode, after Start.
func (s *Subscriber) TakePartition(ctx context.Context, n int) error {
	if s.cfg.Partitions == 0 {
		return errors.New("ingest: TakePartition without partitions (Config.Partitions is 0)")
	}
	if n < 0 || n >= s.cfg.Partitions {
		return fmt.Errorf("ingest: partition %d outside [0, %d)", n, s.cfg.Partitions)
	}
	pt := &partition{src: newSource(n, s.ackRoom()), topics: map[string]bool{}}
	pt.src.counting.Store(bufferedDial(s.cfg.Broker, nil) != nil)
	s.parts.mu.Lock()
	switch {
	case !s.parts.started:
		s.parts.mu.Unlock()
		return errors.New("ingest: TakePartition before Start")
	case s.parts.closed:
		s.parts.mu.Unlock()
		return errors.New("ingest: TakePartition after Stop")
	case s.parts.held[n] != nil:
		s.parts.mu.Unlock()
		return fmt.Errorf("ingest: partition %d is already held", n)
	}
	s.parts.held[n] = pt
	s.parts.holds[n].Store(true)
	s.parts.mu.Unlock()

	id := s.cfg.ClientID + "-p" + strconv.Itoa(n)
	client, err := s.dial(ctx, clientSession{id: id, src: pt.src,
		filters:    func() []string { return s.partitionTopics(n) },
		up:         func() { pt.up.Store(true) },
		down:       func() { pt.up.Store(false) },
		subscribed: pt.subscribed,
		pubacks:    &pt.src.pubacks,
	})
	pt.mu.Lock()
	pt.client = client
	pt.mu.Unlock()
	s.parts.mu.Lock()
	closed := s.parts.closed
	s.parts.mu.Unlock()
	if err == nil && closed {
		err = errors.New("ingest: stopped while taking the partition")
	}
	if err != nil {
		s.giveUp(n, pt, 0)
		return fmt.Errorf("ingest: take partition %d: %w", n, err)
	}
	// Connected now, whether or not paho has run its connect handler yet
	// (it runs it on a goroutine of its own).
	pt.up.Store(client.IsConnectionOpen())
	s.log.Info("partition taken", "partition", n, "client_id", id)
	return nil
}

// ReleasePartition gives partition n up: it stops taking messages from its
// client, waits until those taken are done (durable and acknowledged, or
// refused) or ctx ends, then disconnects without unsubscribing, so that
// the broker keeps the session, with whatever is unacknowledged, for the
// partition's next owner. Messages of the partition still in the pipeline
// when ctx ends are dropped unacknowledged; the error says so. For a lease
// already lost, pass a ctx that has ended: nothing more is acknowledged.
func (s *Subscriber) ReleasePartition(ctx context.Context, n int) error {
	s.parts.mu.Lock()
	pt := s.parts.held[n]
	if pt == nil || pt.releasing {
		s.parts.mu.Unlock()
		return fmt.Errorf("ingest: partition %d is not held", n)
	}
	pt.releasing = true
	s.parts.mu.Unlock()
	pt.src.stop()
	var err error
	if ctx.Err() != nil {
		err = ctx.Err() // lost: acknowledge nothing more
	} else if err = pt.src.acks.waitIdle(ctx); err == nil {
		pt.src.awaitPubacks(ctx)
	}
	left := pt.src.acks.pending()
	s.giveUp(n, pt, 250)
	if err != nil {
		return fmt.Errorf("ingest: partition %d released with %d messages in flight, left unacknowledged for its next owner: %w", n, left, err)
	}
	s.log.Info("partition released", "partition", n)
	return nil
}

// pubackWait bounds how long a partition given up waits for paho to
// write the acknowledgements handed to it.
const pubackWait = time.Second

// awaitPubacks waits, at most pubackWait or until ctx ends, until the
// connection took every acknowledgement handed to paho to write, so that
// the DISCONNECT that follows does not overtake them (the next holder
// would get those messages again).
func (src *source) awaitPubacks(ctx context.Context) {
	if !src.counting.Load() {
		return
	}
	deadline := time.NewTimer(pubackWait)
	defer deadline.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for src.pubacks.Load() < src.acks.acked.Load() {
		select {
		case <-tick.C:
		case <-deadline.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// giveUp drops what is left of partition n's messages and disconnects its
// client, waiting at most quiesce milliseconds, without unsubscribing.
func (s *Subscriber) giveUp(n int, pt *partition, quiesce uint) {
	pt.src.stop()
	pt.src.dropped.Store(true)
	s.parts.holds[n].Store(false)
	pt.mu.Lock()
	client := pt.client
	pt.mu.Unlock()
	if client != nil {
		client.Disconnect(quiesce)
	}
	pt.up.Store(false)
	s.parts.mu.Lock()
	if s.parts.held[n] == pt {
		delete(s.parts.held, n)
	}
	s.parts.mu.Unlock()
}

// subscribed notes the topics subscribed on the partition's session.
func (pt *partition) subscribed(topics []string) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	for _, t := range topics {
		pt.topics[t] = true
	}
}

// refreshPartitions subscribes each partition's session to the topics of
// sensors registered since, and unsubscribes those of sensors gone (or
// moved to a site of another partition).
func (s *Subscriber) refreshPartitions() {
	s.parts.mu.Lock()
	var held []*partition
	for _, pt := range s.parts.held {
		if !pt.releasing {
			held = append(held, pt)
		}
	}
	s.parts.mu.Unlock()
	for _, pt := range held {
		want := s.partitionTopics(pt.src.part)
		pt.mu.Lock()
		if pt.client == nil || !pt.client.IsConnectionOpen() {
			pt.mu.Unlock()
			continue // the next (re)connect subscribes to the current topics
		}
		add := map[string]byte{}
		for _, t := range want {
			if !pt.topics[t] {
				add[t] = s.cfg.QoS
				pt.topics[t] = true
			}
		}
		var gone []string
		for t := range pt.topics {
			if !slices.Contains(want, t) {
				gone = append(gone, t)
				delete(pt.topics, t)
			}
		}
		client, src := pt.client, pt.src
		pt.mu.Unlock()
		if len(add) > 0 {
			s.await(client.SubscribeMultiple(add, func(_ mqtt.Client, m mqtt.Message) { s.receiveFrom(src, m) }), "mqtt subscribe failed", src.part, len(add))
		}
		if len(gone) > 0 {
			s.await(client.Unsubscribe(gone...), "mqtt unsubscribe failed", src.part, len(gone))
		}
	}
}

// await logs a subscription's failure, in the background.
func (s *Subscriber) await(tok mqtt.Token, msg string, part, topics int) {
	go func() {
		if tok.WaitTimeout(10*time.Second) && tok.Error() != nil {
			s.log.Error(msg, "partition", part, "topics", topics, "err", tok.Error())
		}
	}()
}

// partitionTopics returns the topics of partition p's sensors, sorted:
// each sensor's topic, the topics routed to it (Sparkplug B BIRTH and
// DEATH), the node-level topics (NBIRTH, NDATA, NDEATH) of the edge
// nodes of its Sparkplug B devices, and the topic templates filled in
// with its fields ({any} as +).
func (s *Subscriber) partitionTopics(p int) []string {
	c := s.reg.cat.Load()
	parts := map[string]int{} // by site
	in := func(i int32) bool {
		site := c.recs[i].cls.s.Site
		q, ok := parts[site]
		if !ok {
			q = s.cfg.PartitionOf(site)
			parts[site] = q
		}
		return q == p
	}
	seen := map[string]bool{}
	for i := range c.recs {
		if !in(int32(i)) {
			continue
		}
		r := &c.recs[i]
		seen[r.topic()] = true
		if g, typ, edge, dev, ok := sparkplugTopic(r.ownTopic()); ok && r.cls.s.Decoder == "sparkplugb" && dev != "" && typ == "DDATA" {
			for _, t := range []string{"NBIRTH", "NDATA", "NDEATH"} {
				seen["spBv1.0/"+g+"/"+t+"/"+edge] = true
			}
		}
		for _, t := range c.templates {
			if topic, ok := t.fill(r); ok {
				seen[topic] = true
			}
		}
	}
	for t, i := range c.routes {
		if in(i) {
			seen[t] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// fill returns the template's topic for sensor r ({any} as the wildcard
// +), or false when a field it needs is empty.
func (t template) fill(r *sensorRec) (string, bool) {
	segs := make([]string, len(t.segs))
	for i, seg := range t.segs {
		switch seg {
		case "{sensor}":
			seg = r.id
		case "{site}":
			seg = r.cls.s.Site
		case "{family}":
			seg = string(r.cls.s.Family)
		case "{region}":
			seg = r.cls.s.Region
		case "{any}":
			seg = "+"
		}
		if seg == "" {
			return "", false
		}
		segs[i] = seg
	}
	return strings.Join(segs, "/"), true
}

// keepPartition keeps, of the readings decoded from index from on, those
// of partition p's sites; the others (a payload naming sensors of other
// sites) are refused as ReasonOtherPartition.
func (s *Subscriber) keepPartition(d *decoded, from, p int, in inbound) {
	j := from
	for i := from; i < len(d.readings); i++ {
		rd := d.readings[i]
		k := dupKey{rd.Sensor, rd.Metric, rd.Time.UnixNano()}
		if s.cfg.PartitionOf(rd.Site) != p {
			if d.index[k] == i {
				delete(d.index, k)
			}
			if d.info[i].snapshot {
				d.snapshots--
			}
			s.reject(in.at, in.m.Topic(), rd.Sensor, ReasonOtherPartition,
				fmt.Sprintf("sensor %s is of site %s, in partition %d; this is partition %d's session", rd.Sensor, rd.Site, s.cfg.PartitionOf(rd.Site), p), in.m.Payload())
			continue
		}
		if j != i {
			d.readings[j], d.info[j] = rd, d.info[i]
			if d.index[k] == i {
				d.index[k] = j
			}
		}
		j++
	}
	clear(d.readings[j:])
	d.readings, d.info = d.readings[:j], d.info[:j]
}

// held keeps, of rs, the readings of partitions still held: a batch can
// become durable after its partition was given up (ReleasePartition's ctx
// ended while it was being written), and its next owner has it too.
func (s *Subscriber) held(rs []yujing.Reading) []yujing.Reading {
	out := rs[:0]
	for _, rd := range rs {
		if s.parts.holding(s.cfg.PartitionOf(rd.Site)) {
			out = append(out, rd)
		}
	}
	return out
}
