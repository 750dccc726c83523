package ingest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"yujing"
	"yujing/ingest/decode/all"
	"yujing/internal/testenv"
)

// testPartitions is P in these tests; partitionOf is cluster.Partition
// (FNV-1a of the site id, modulo P), which ingest takes as a func.
const testPartitions = 4

func partitionOf(site string) int {
	h := fnv.New32a()
	h.Write([]byte(site))
	return int(h.Sum32() % testPartitions)
}

// partitionSites returns one site id per partition: sites[p] is in p.
func partitionSites() []string {
	sites := make([]string, testPartitions)
	found := 0
	for i := 0; found < testPartitions; i++ {
		id := fmt.Sprintf("site-%d", i)
		if p := partitionOf(id); sites[p] == "" {
			sites[p] = id
			found++
		}
	}
	return sites
}

// partitionFleet is two sensors on each of partitionSites' sites:
// <site>-a and <site>-b, on yujing/<site>/<id>.
func partitionFleet(t *testing.T) (*Registry, []string) {
	t.Helper()
	sites := partitionSites()
	var ss []yujing.Site
	var sensors []yujing.Sensor
	for _, site := range sites {
		ss = append(ss, yujing.Site{ID: site})
		for _, x := range []string{"a", "b"} {
			sensors = append(sensors, yujing.Sensor{ID: site + "-" + x, Site: site, Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Decoder: "json"})
		}
	}
	reg, err := NewRegistry(ss, sensors)
	if err != nil {
		t.Fatal(err)
	}
	return reg, sites
}

// node is one yujing node of a test cluster: a subscriber in partition
// mode with its sink, and a switch that kills its partitions' connections.
type node struct {
	s    *Subscriber
	sink *gateSink
	obs  *recordObserver
	reg  *prometheus.Registry

	mu    sync.Mutex
	conns map[string]net.Conn // by client id: the open connection
	dead  map[string]bool     // client ids whose connections are refused
}

// startNode starts a node on broker url with the registry reg.
func startNode(t *testing.T, url string, reg *Registry) *node {
	t.Helper()
	decoders, err := all.Registry()
	if err != nil {
		t.Fatal(err)
	}
	n := &node{sink: &gateSink{}, obs: &recordObserver{}, reg: prometheus.NewRegistry(), conns: map[string]net.Conn{}, dead: map[string]bool{}}
	n.s, err = NewSubscriber(Config{Broker: url, ClientID: "yujing-node", QoS: 1, ConnectWait: 10 * time.Second,
		Partitions: testPartitions, PartitionOf: partitionOf}, reg, decoders, n.sink, n.obs, Options{Registerer: n.reg})
	if err != nil {
		t.Fatal(err)
	}
	n.s.wrapConn = func(id string, c net.Conn) (net.Conn, error) {
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.dead[id] {
			c.Close()
			return nil, errors.New("node is dead")
		}
		n.conns[id] = c
		return killable{c}, nil
	}
	if err := n.s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = n.s.Stop(ctx)
	})
	return n
}

// kill closes the connection of client id as a dead node would leave it:
// no DISCONNECT, and no PUBACK held in its buffer sent. It refuses the
// client's reconnections.
func (n *node) kill(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dead[id] = true
	if c, ok := n.conns[id].(*bufferedConn); ok {
		c.Conn.Close()
	}
}

// killable reports a connection closed under paho as lost (paho takes
// "use of closed network connection" for its own Disconnect and would
// notice only at the next keepalive).
type killable struct{ net.Conn }

func (k killable) Read(p []byte) (int, error) {
	n, err := k.Conn.Read(p)
	if errors.Is(err, net.ErrClosed) {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (n *node) take(t *testing.T, p int) {
	t.Helper()
	if err := n.s.TakePartition(t.Context(), p); err != nil {
		t.Fatalf("TakePartition(%d): %v", p, err)
	}
}

// sessions is the yujing_ingest_partition_sessions gauge.
func (n *node) sessions(t *testing.T) float64 {
	t.Helper()
	return testutil.ToFloat64(n.s.m.partitions)
}

// recordObserver keeps the readings observed.
type recordObserver struct {
	mu sync.Mutex
	rs []yujing.Reading
}

func (o *recordObserver) Observe(_ context.Context, rs []yujing.Reading) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.rs = append(o.rs, rs...)
}

func (o *recordObserver) sites() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]int{}
	for _, r := range o.rs {
		out[r.Site]++
	}
	return out
}

// storedSites counts the readings stored, by site.
func (g *gateSink) storedSites() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]int{}
	for _, r := range g.stored {
		out[r.Site]++
	}
	return out
}

// waitFor polls cond until it holds, failing after 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// upTo returns 0..n-1 as floats.
func upTo(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(i)
	}
	return out
}

func sorted(vs []float64) []float64 { slices.Sort(vs); return vs }

// Node A holds all four partitions; partition 2's readings cannot be made
// durable on A (its store hangs), and then A's partition-2 connection dies
// without a DISCONNECT, as when a node dies. Node B takes partition 2 under
// the same client id and gets from the broker every reading A never
// acknowledged, and what is published after: none lost. Each reading is
// stored by its partition's holder only: A never stores partition 2's, B
// never stores another partition's. (Before partition mode there was no
// TakePartition; a shared subscription would give each node some of every
// partition's readings.)
func TestPartitionFailoverLosesNothing(t *testing.T) {
	url := testenv.Mosquitto(t).URL()
	regA, sites := partitionFleet(t)
	regB, _ := partitionFleet(t)
	a, b := startNode(t, url, regA), startNode(t, url, regB)
	for p := range testPartitions {
		a.take(t, p)
	}
	if got := a.sessions(t); got != testPartitions {
		t.Fatalf("A: %v partition sessions connected, want %d", got, testPartitions)
	}
	if got := b.sessions(t); got != 0 {
		t.Fatalf("B: %v partition sessions connected, want 0", got)
	}
	pub := publisher(t, url)
	const n = 5 // per sensor: 10 of partition 2 stay in flight, within mosquitto's 20
	for _, site := range sites {
		if site == sites[2] {
			continue
		}
		for i := range n {
			pub("yujing/"+site+"/"+site+"-a", value(i))
			pub("yujing/"+site+"/"+site+"-b", value(i))
		}
	}
	waitFor(t, "A to store partitions 0, 1 and 3", func() bool { return a.sink.n.Load() == 6*n })

	// A's store hangs for partition 2's sensors.
	a.sink.hold(sites[2] + "-a")
	a.sink.hold(sites[2] + "-b")
	for i := range n {
		pub("yujing/"+sites[2]+"/"+sites[2]+"-a", value(i))
		pub("yujing/"+sites[2]+"/"+sites[2]+"-b", value(i))
	}
	a.s.parts.mu.Lock()
	p2 := a.s.parts.held[2].src
	a.s.parts.mu.Unlock()
	waitFor(t, "A to hold partition 2's readings unacknowledged", func() bool { return p2.acks.pending() == 2*n })

	a.kill("yujing-node-p2")
	waitFor(t, "A to see its partition-2 session gone", func() bool { return a.sessions(t) == testPartitions-1 })
	b.take(t, 2)
	if got := b.sessions(t); got != 1 {
		t.Fatalf("B: %v partition sessions connected, want 1", got)
	}
	for i := n; i < 2*n; i++ {
		pub("yujing/"+sites[2]+"/"+sites[2]+"-a", value(i))
		pub("yujing/"+sites[2]+"/"+sites[2]+"-b", value(i))
	}
	// Published after B took partition 2, on every other partition: for
	// A, not B.
	for _, p := range []int{0, 1, 3} {
		pub("yujing/"+sites[p]+"/"+sites[p]+"-a", value(n))
	}
	waitFor(t, "B to store partition 2's readings", func() bool { return b.sink.n.Load() >= 4*n })
	for _, id := range []string{sites[2] + "-a", sites[2] + "-b"} {
		if got := sorted(b.sink.values(id)); !slices.Equal(got, upTo(2*n)) {
			t.Errorf("B stored %s %v, want each of 0..%d once", id, got, 2*n-1)
		}
	}
	if got := b.sink.storedSites(); len(got) != 1 || got[sites[2]] != 4*n {
		t.Errorf("B stored readings by site %v, want %d of %s only", got, 4*n, sites[2])
	}
	waitFor(t, "B to observe partition 2's readings", func() bool { return b.obs.sites()[sites[2]] == 4*n })

	// A is stopped as a dead node's store would be: partition 2's writes
	// never succeed there.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_ = a.s.Stop(ctx)
	if got := a.sink.storedSites(); got[sites[2]] != 0 {
		t.Errorf("A stored %d readings of partition 2, held by B", got[sites[2]])
	}
	if got := a.obs.sites(); got[sites[2]] != 0 {
		t.Errorf("A observed %d readings of partition 2, held by B", got[sites[2]])
	}
	if got := b.obs.sites(); len(got) != 1 {
		t.Errorf("B observed readings by site %v, want %s only", got, sites[2])
	}
}

// A partition given up in good order: ReleasePartition acknowledges what
// is durable, then disconnects without unsubscribing. The broker keeps the
// session, queues what is published while the partition has no owner, and
// hands that to the next owner: nothing lost, and nothing of A's again but
// the last few acknowledgements a loaded machine may lose at the
// disconnect.
func TestPartitionReleaseHandsOver(t *testing.T) {
	url := testenv.Mosquitto(t).URL()
	regA, sites := partitionFleet(t)
	regB, _ := partitionFleet(t)
	a, b := startNode(t, url, regA), startNode(t, url, regB)
	a.take(t, 1)
	topic := "yujing/" + sites[1] + "/" + sites[1] + "-a"
	pub := publisher(t, url)
	const n = 10
	for i := range n {
		pub(topic, value(i))
	}
	waitFor(t, "A to store partition 1's readings", func() bool { return a.sink.n.Load() == n })
	if err := a.s.ReleasePartition(t.Context(), 1); err != nil {
		t.Fatalf("ReleasePartition: %v", err)
	}
	if got := a.sessions(t); got != 0 {
		t.Errorf("A: %v partition sessions connected after the release, want 0", got)
	}
	if err := a.s.ReleasePartition(t.Context(), 1); err == nil {
		t.Error("ReleasePartition of a partition not held: no error")
	}
	for i := n; i < 2*n; i++ {
		pub(topic, value(i)) // no owner: queued in the partition's session
	}
	b.take(t, 1)
	waitFor(t, "B to store what was published while partition 1 had no owner", func() bool { return b.sink.n.Load() >= n })
	want := make([]float64, 0, n)
	for i := n; i < 2*n; i++ {
		want = append(want, float64(i))
	}
	// MQTT is at least once: paho writes acknowledgements from a queue its
	// DISCONNECT does not wait for, and on a loaded machine a few of A's
	// last ones can miss it (ReleasePartition waits up to a second for
	// them). B may get those again; it must get every later one.
	got := sorted(b.sink.values(sites[1] + "-a"))
	var again []float64
	rest := got
	for len(rest) > 0 && rest[0] < n {
		again, rest = append(again, rest[0]), rest[1:]
	}
	if !slices.Equal(rest, want) || len(again) > 0 && !slices.Equal(again, upTo(n)[n-len(again):]) {
		t.Errorf("B stored %v, want %v, after at most the last of A's readings again", got, want)
	}
	if len(again) > 0 {
		t.Logf("B got %d of A's acknowledged readings again: %v", len(again), again)
	}
	if got := sorted(a.sink.values(sites[1] + "-a")); !slices.Equal(got, upTo(n)) {
		t.Errorf("A stored %v, want 0..%d", got, n-1)
	}
}

// A release whose in-flight readings cannot be made durable in time gives
// them up unacknowledged: the next owner gets them from the broker, and
// the node that released them does not pass them on to its observer even
// when its store finishes the write afterwards.
func TestPartitionReleaseInFlight(t *testing.T) {
	url := testenv.Mosquitto(t).URL()
	regA, sites := partitionFleet(t)
	regB, _ := partitionFleet(t)
	a, b := startNode(t, url, regA), startNode(t, url, regB)
	a.take(t, 3)
	id := sites[3] + "-b"
	a.sink.hold(id)
	pub := publisher(t, url)
	const n = 4
	for i := range n {
		pub("yujing/"+sites[3]+"/"+id, value(i))
	}
	waitFor(t, "A to hold partition 3's readings", func() bool { return a.s.unacked() == n })
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err := a.s.ReleasePartition(ctx, 3)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ReleasePartition with readings stuck: %v, want the deadline's error", err)
	}
	if !strings.Contains(err.Error(), "in flight") {
		t.Errorf("error %q does not say messages were left in flight", err)
	}
	b.take(t, 3)
	waitFor(t, "B to store the readings A gave up", func() bool { return b.sink.n.Load() == n })
	if got := sorted(b.sink.values(id)); !slices.Equal(got, upTo(n)) {
		t.Errorf("B stored %v, want 0..%d", got, n-1)
	}
	a.sink.release(id) // A's store finishes the write it had begun
	stop, cancelStop := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelStop()
	if err := a.s.Stop(stop); err != nil {
		t.Fatal(err)
	}
	if got := a.obs.sites()[sites[3]]; got != 0 {
		t.Errorf("A observed %d readings of partition 3 after giving it up", got)
	}
}

// Refresh subscribes a partition's session to the topic of a sensor
// registered since on one of its sites, and to nothing of the partitions
// the node does not hold.
func TestPartitionRefresh(t *testing.T) {
	url := testenv.Mosquitto(t).URL()
	reg, sites := partitionFleet(t)
	a := startNode(t, url, reg)
	a.take(t, 0)
	ss := []yujing.Site{}
	for _, s := range sites {
		ss = append(ss, yujing.Site{ID: s})
	}
	sensors := reg.Sensors()
	sensors = append(sensors,
		yujing.Sensor{ID: "new-0", Site: sites[0], Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Decoder: "json", Topic: "plant/new-0"},
		yujing.Sensor{ID: "new-1", Site: sites[1], Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Decoder: "json", Topic: "plant/new-1"})
	if err := reg.Replace(ss, sensors); err != nil {
		t.Fatal(err)
	}
	a.s.Refresh()
	a.s.parts.mu.Lock()
	pt := a.s.parts.held[0]
	a.s.parts.mu.Unlock()
	pt.mu.Lock()
	got := slices.Sorted(func(yield func(string) bool) {
		for t := range pt.topics {
			if !yield(t) {
				return
			}
		}
	})
	pt.mu.Unlock()
	want := []string{"plant/new-0", "yujing/" + sites[0] + "/" + sites[0] + "-a", "yujing/" + sites[0] + "/" + sites[0] + "-b"}
	if !slices.Equal(got, want) {
		t.Fatalf("partition 0 subscribed %v, want %v", got, want)
	}
	pub := publisher(t, url)
	// The SUBSCRIBE of Refresh goes in the background: publish until the
	// reading arrives.
	for i := 0; a.sink.n.Load() == 0; i++ {
		if i == 2000 {
			t.Fatal("no reading of the sensor registered since")
		}
		pub("plant/new-0", value(i))
		time.Sleep(10 * time.Millisecond)
	}
	if got := a.sink.storedSites(); len(got) != 1 || got[sites[0]] == 0 {
		t.Errorf("stored by site %v, want %s only", got, sites[0])
	}
}

// A partition's topics: each sensor's of its sites; the topics routed to
// its Sparkplug B devices; the node-level topics of their edge nodes, also
// when the edge node has devices in other partitions too; templates filled
// in per sensor.
func TestPartitionTopics(t *testing.T) {
	sites := partitionSites()
	sp := func(id, site, dev string) yujing.Sensor {
		return yujing.Sensor{ID: id, Site: site, Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Decoder: "sparkplugb",
			Topic: "spBv1.0/g/DDATA/edge1/" + dev}
	}
	reg, err := NewRegistry([]yujing.Site{{ID: sites[0]}, {ID: sites[1]}}, []yujing.Sensor{
		{ID: "plain", Site: sites[0], Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Decoder: "json"},
		sp("d0", sites[0], "dev0"),
		sp("d1", sites[1], "dev1"),
	}, "plant/{site}/{any}/{sensor}")
	if err != nil {
		t.Fatal(err)
	}
	s := &Subscriber{cfg: Config{Partitions: testPartitions, PartitionOf: partitionOf}, reg: reg}
	node := []string{"spBv1.0/g/NBIRTH/edge1", "spBv1.0/g/NDATA/edge1", "spBv1.0/g/NDEATH/edge1"}
	want0 := slices.Sorted(slices.Values(append([]string{
		"plant/" + sites[0] + "/+/d0", "plant/" + sites[0] + "/+/plain",
		"spBv1.0/g/DBIRTH/edge1/dev0", "spBv1.0/g/DDATA/edge1/dev0", "spBv1.0/g/DDEATH/edge1/dev0",
		"yujing/" + sites[0] + "/plain"}, node...)))
	want1 := slices.Sorted(slices.Values(append([]string{
		"plant/" + sites[1] + "/+/d1",
		"spBv1.0/g/DBIRTH/edge1/dev1", "spBv1.0/g/DDATA/edge1/dev1", "spBv1.0/g/DDEATH/edge1/dev1"}, node...)))
	for p, want := range map[int][]string{0: want0, 1: want1, 2: nil} {
		if got := s.partitionTopics(p); !slices.Equal(got, want) {
			t.Errorf("partition %d: topics\n%q\nwant\n%q", p, got, want)
		}
	}
}

// A gateway's payload on a partition's topic naming a sensor of another
// partition's site: that reading is refused there (other_partition), the
// partition's own are stored.
func TestPartitionForeignSensorRefused(t *testing.T) {
	url := testenv.Mosquitto(t).URL()
	reg, sites := partitionFleet(t)
	a := startNode(t, url, reg)
	a.take(t, 0)
	a.take(t, 1)
	pub := publisher(t, url)
	pub("yujing/"+sites[0]+"/"+sites[0]+"-a", fmt.Sprintf(`[{"value": 1}, {"sensor": %q, "value": 2}]`, sites[1]+"-a"))
	waitFor(t, "the reading of the topic's sensor", func() bool { return a.sink.n.Load() == 1 })
	waitFor(t, "the other partition's reading refused", func() bool {
		for _, r := range a.s.Rejections().List(0) {
			if r.Reason == ReasonOtherPartition && r.Sensor == sites[1]+"-a" {
				return true
			}
		}
		return false
	})
	if got := a.sink.values(sites[1] + "-a"); len(got) != 0 {
		t.Errorf("stored %v for a sensor of partition 1 from partition 0's session", got)
	}
}

// The calls that partition mode refuses, and the one that is not for it.
func TestPartitionMisuse(t *testing.T) {
	decoders, err := all.Registry()
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := partitionFleet(t)
	if _, err := NewSubscriber(Config{Broker: "tcp://127.0.0.1:1", Partitions: 4}, reg, decoders, &gateSink{}, nil, Options{}); err == nil {
		t.Error("Partitions without PartitionOf: no error")
	}
	s, err := NewSubscriber(Config{Broker: "tcp://127.0.0.1:1", Partitions: 4, PartitionOf: partitionOf}, reg, decoders, &gateSink{}, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.TakePartition(t.Context(), 0); err == nil || !strings.Contains(err.Error(), "before Start") {
		t.Errorf("TakePartition before Start: %v", err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatalf("Start in partition mode connects nothing, yet: %v", err)
	}
	for _, p := range []int{-1, 4} {
		if err := s.TakePartition(t.Context(), p); err == nil {
			t.Errorf("TakePartition(%d): no error", p)
		}
	}
	if err := s.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.TakePartition(t.Context(), 0); err == nil {
		t.Error("TakePartition after Stop: no error")
	}
	one, err := NewSubscriber(Config{Broker: "tcp://127.0.0.1:1"}, reg, decoders, &gateSink{}, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := one.TakePartition(t.Context(), 0); err == nil {
		t.Error("TakePartition without partitions: no error")
	}
}
