package ingest

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"yujing"
	"yujing/ingest/decode"
	"yujing/ingest/decode/all"
	"yujing/ingest/decode/sparkplugb/spbtest"
)

// Sparkplug B through the pipeline without a broker: messages go to the
// subscriber's receive as paho would hand them over, one shard decodes,
// stores (in memory) and observes them, all in a synctest bubble, so that
// which messages share a batch and how long a snapshot is held are the
// test's to decide.

// recorder is the pipeline's sink and observer: it keeps what it gets.
type recorder struct {
	mu       sync.Mutex
	stored   []yujing.Reading
	observed []yujing.Reading
}

func (r *recorder) Write(_ context.Context, rs []yujing.Reading) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stored = append(r.stored, rs...)
	return nil
}

func (r *recorder) Observe(_ context.Context, rs []yujing.Reading) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.observed = append(r.observed, rs...)
}

// values lists the values of sensor/metric in rs, in order.
func values(rs []yujing.Reading, sensor, metric string) []float64 {
	var out []float64
	for _, r := range rs {
		if r.Sensor == sensor && r.Metric == metric {
			out = append(out, r.Value)
		}
	}
	return out
}

func (r *recorder) seen(sensor, metric string) (stored, observed []float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return values(r.stored, sensor, metric), values(r.observed, sensor, metric)
}

// spDevices are two Sparkplug devices of edge node plant/edge1.
var spDevices = []yujing.Sensor{
	{ID: "GT-101", Site: "plant", Family: yujing.FamilyGas, Metric: "lel", Decoder: "sparkplugb", Topic: "spBv1.0/plant/DDATA/edge1/GT-101"},
	{ID: "GT-102", Site: "plant", Family: yujing.FamilyGas, Metric: "lel", Decoder: "sparkplugb", Topic: "spBv1.0/plant/DDATA/edge1/GT-102"},
}

// pipeline is a subscriber with one shard, not connected to any broker.
// Build it inside a synctest bubble; its worker runs from start to stop.
type pipeline struct {
	t     testing.TB
	s     *Subscriber
	rec   *recorder
	acked atomic.Int64
	sent  int64
}

func newPipeline(t testing.TB, cfg Config, sensors []yujing.Sensor, decoders ...decode.Decoder) *pipeline {
	t.Helper()
	reg, err := NewRegistry([]yujing.Site{{ID: "plant"}}, sensors)
	if err != nil {
		t.Fatal(err)
	}
	decs, err := all.Registry()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range decoders {
		if err := decs.Register(d); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Broker, cfg.Shards = "tcp://127.0.0.1:1", 1
	rec := &recorder{}
	s, err := NewSubscriber(cfg, reg, decs, rec, rec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return &pipeline{t: t, s: s, rec: rec}
}

// send hands a message to the subscriber as paho's router would.
func (p *pipeline) send(topic string, payload []byte) {
	p.sent++
	p.s.receive(nil, &benchMsg{topic: topic, payload: payload, acked: &p.acked})
}

// start runs the worker: the messages sent before are its first batch.
func (p *pipeline) start() {
	p.s.wg.Add(1)
	go p.s.work(p.s.shards[0])
}

// settle waits until the worker has dealt with everything sent and waits.
func (p *pipeline) settle() {
	p.t.Helper()
	synctest.Wait()
	if n := p.acked.Load(); n != p.sent {
		p.t.Fatalf("%d of %d messages acknowledged", n, p.sent)
	}
}

func (p *pipeline) stop() {
	close(p.s.quit)
	close(p.s.shards[0])
	p.s.wg.Wait()
	p.s.cancel()
}

func (p *pipeline) rejections() map[string][]string {
	out := map[string][]string{}
	for _, r := range p.s.rejects.List(0) {
		out[r.Reason] = append(out[r.Reason], r.Sensor+": "+r.Error)
	}
	return out
}

func (p *pipeline) status(id string) Status {
	for _, st := range p.s.reg.Statuses(time.Now()) {
		if st.ID == id {
			return st
		}
	}
	p.t.Fatalf("no sensor %s", id)
	return Status{}
}

// edge builds the messages of edge node plant/edge1, timed from base.
type edge struct{ base time.Time }

func (e edge) ms(d time.Duration) uint64 { return spbtest.Millis(e.base.Add(d)) }

func (e edge) nbirth(seq uint64, metrics ...[]byte) (string, []byte) {
	bd := spbtest.Metric(spbtest.Name("bdSeq"), spbtest.Type(spbtest.TypeInt64), spbtest.Long(0))
	return "spBv1.0/plant/NBIRTH/edge1", spbtest.Payload(e.ms(0), seq, append([][]byte{bd}, metrics...)...)
}

func (e edge) ndeath() (string, []byte) {
	return "spBv1.0/plant/NDEATH/edge1", spbtest.Payload(0, 0, spbtest.Metric(spbtest.Name("bdSeq"), spbtest.Type(spbtest.TypeInt64), spbtest.Long(0)))
}

// dbirth declares lel (alias 1) with value v at d, as Tahu does.
func (e edge) dbirth(device string, seq uint64, d time.Duration, v float32) (string, []byte) {
	return "spBv1.0/plant/DBIRTH/edge1/" + device, spbtest.Payload(e.ms(d), seq,
		spbtest.Metric(spbtest.Name("lel"), spbtest.Alias(1), spbtest.Time(e.ms(d)), spbtest.Type(spbtest.TypeFloat), spbtest.Float(v)))
}

// ddata sends lel by alias with value v at d.
func (e edge) ddata(device string, seq uint64, d time.Duration, v float32) (string, []byte) {
	return "spBv1.0/plant/DDATA/edge1/" + device, spbtest.Payload(e.ms(d), seq,
		spbtest.Metric(spbtest.Alias(1), spbtest.Time(e.ms(d)), spbtest.Float(v)))
}

type message struct {
	topic   string
	payload []byte
}

func msg(topic string, payload []byte) message { return message{topic, payload} }

// Issue 14 item 4: Tahu's DBIRTH declares lel = 0.0 and its first DDATA
// carries the real value at the same millisecond with a later seq. The
// DATA is stored over the BIRTH's value and is all the rule engine sees,
// whether both arrive in one batch or the DATA in a later one; a DATA
// whose seq comes before the BIRTH's is an old message, refused as a
// duplicate, and the BIRTH's value then reaches the engine when its hold
// ends.
func TestBirthPlaceholderSuperseded(t *testing.T) {
	for _, c := range []struct {
		name       string
		msgs       func(e edge) []message
		split      bool      // the last message in a batch of its own
		stored     []float64 // GT-101's lel as written, in order
		observed   []float64 // before the hold ends
		after      []float64 // once it ended
		superseded float64
		duplicates int
	}{
		{name: "one batch",
			msgs: func(e edge) []message {
				return []message{msg(e.dbirth("GT-101", 1, 0, 0)), msg(e.ddata("GT-101", 2, 0, 60))}
			},
			stored: []float64{60}, observed: []float64{60}, after: []float64{60}, superseded: 1},
		{name: "two batches", split: true,
			msgs: func(e edge) []message {
				return []message{msg(e.dbirth("GT-101", 1, 0, 0)), msg(e.ddata("GT-101", 2, 0, 60))}
			},
			stored: []float64{0, 60}, observed: []float64{60}, after: []float64{60}, superseded: 1},
		{name: "seq wraps", split: true,
			msgs: func(e edge) []message {
				return []message{msg(e.dbirth("GT-101", 255, 0, 0)), msg(e.ddata("GT-101", 0, 0, 60))}
			},
			stored: []float64{0, 60}, observed: []float64{60}, after: []float64{60}, superseded: 1},
		{name: "another device's messages between",
			msgs: func(e edge) []message {
				return []message{msg(e.dbirth("GT-101", 1, 0, 0)), msg(e.dbirth("GT-102", 2, 0, 0)),
					msg(e.ddata("GT-102", 3, 0, 7)), msg(e.ddata("GT-101", 4, 0, 60))}
			},
			stored: []float64{60}, observed: []float64{60}, after: []float64{60}, superseded: 2},
		{name: "DATA older than the BIRTH", split: true,
			msgs: func(e edge) []message {
				return []message{msg(e.dbirth("GT-101", 1, 0, 0)), msg(e.ddata("GT-101", 0, 0, 60))}
			},
			stored: []float64{0}, observed: nil, after: []float64{0}, duplicates: 1},
		{name: "BIRTH alone",
			msgs: func(e edge) []message {
				return []message{msg(e.dbirth("GT-101", 1, 0, 31.5))}
			},
			stored: []float64{31.5}, observed: nil, after: []float64{31.5}},
		{name: "a later DATA releases the BIRTH's value",
			msgs: func(e edge) []message {
				return []message{msg(e.dbirth("GT-101", 1, 0, 31.5)), msg(e.ddata("GT-101", 2, time.Second, 33))}
			},
			stored: []float64{31.5, 33}, observed: []float64{31.5, 33}, after: []float64{31.5, 33}},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newPipeline(t, Config{}, spDevices)
				defer p.stop()
				msgs := c.msgs(edge{base: time.Now().Add(-time.Minute)})
				last := len(msgs)
				if c.split {
					last--
				}
				for _, m := range msgs[:last] {
					p.send(m.topic, m.payload)
				}
				p.start()
				p.settle()
				for _, m := range msgs[last:] {
					p.send(m.topic, m.payload)
				}
				p.settle()
				stored, observed := p.rec.seen("GT-101", "lel")
				if !slices.Equal(stored, c.stored) || !slices.Equal(observed, c.observed) {
					t.Errorf("lel stored %v, observed %v; want %v, %v", stored, observed, c.stored, c.observed)
				}
				time.Sleep(DefaultSnapshotHold)
				p.settle()
				if _, observed = p.rec.seen("GT-101", "lel"); !slices.Equal(observed, c.after) {
					t.Errorf("lel observed %v once the hold ended, want %v", observed, c.after)
				}
				if last := p.status("GT-101").Last; len(last) != 1 || last[0].Value != c.stored[len(c.stored)-1] {
					t.Errorf("GT-101's last reading %+v", last)
				}
				if got := testutil.ToFloat64(p.s.m.superseded); got != c.superseded {
					t.Errorf("superseded = %v, want %v", got, c.superseded)
				}
				if rej := p.rejections(); len(rej[ReasonDuplicate]) != c.duplicates || len(rej) > min(c.duplicates, 1) {
					t.Errorf("rejections %v, want %d duplicates", rej, c.duplicates)
				}
			})
		})
	}
}

// A held BIRTH value goes to the observer once every message received
// within the hold is dealt with: when the shard is idle, as the hold
// ends; when it is busy, once a message received after the hold is done.
func TestSnapshotHold(t *testing.T) {
	const hold = 200 * time.Millisecond
	t.Run("idle", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPipeline(t, Config{SnapshotHold: hold}, spDevices)
			defer p.stop()
			e := edge{base: time.Now().Add(-time.Minute)}
			p.start()
			p.send(e.dbirth("GT-101", 1, 0, 31.5))
			p.settle()
			time.Sleep(hold - time.Millisecond)
			p.settle()
			if _, obs := p.rec.seen("GT-101", "lel"); len(obs) != 0 {
				t.Fatalf("observed %v within the hold", obs)
			}
			time.Sleep(time.Millisecond)
			p.settle()
			if _, obs := p.rec.seen("GT-101", "lel"); !slices.Equal(obs, []float64{31.5}) {
				t.Fatalf("observed %v as the hold ended, want [31.5]", obs)
			}
		})
	})
	t.Run("busy", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPipeline(t, Config{SnapshotHold: hold}, spDevices)
			defer p.stop()
			e := edge{base: time.Now().Add(-time.Minute)}
			// Both in the shard's first batch: another device's message,
			// received as the hold ends, ends it.
			p.send(e.dbirth("GT-101", 1, 0, 31.5))
			time.Sleep(hold)
			p.send(e.ddata("GT-102", 2, time.Second, 3))
			p.start()
			p.settle()
			if _, obs := p.rec.seen("GT-101", "lel"); !slices.Equal(obs, []float64{31.5}) {
				t.Errorf("observed %v after a message received past the hold, want [31.5]", obs)
			}
		})
	})
}

// Issue 14 item 5: a DEATH wins over readings received before it, even
// when they are recorded after it (all in one batch, as a DDATA burst
// followed at once by an NDEATH is); what is received after a DEATH
// brings its device back.
func TestDeathWinsOverEarlierReadings(t *testing.T) {
	for _, c := range []struct {
		name   string
		after  func(e edge) []message // after the births and the burst
		online map[string]bool
	}{
		{name: "NDEATH after the burst",
			after:  func(e edge) []message { return []message{msg(e.ndeath())} },
			online: map[string]bool{"GT-101": false, "GT-102": false}},
		{name: "DDEATH after the burst",
			after: func(e edge) []message {
				return []message{msg("spBv1.0/plant/DDEATH/edge1/GT-102", spbtest.Payload(e.ms(time.Second), 43))}
			},
			online: map[string]bool{"GT-101": true, "GT-102": false}},
		{name: "NDEATH, then a new session's DBIRTH",
			after: func(e edge) []message {
				return []message{msg(e.ndeath()), msg(e.nbirth(0)), msg(e.dbirth("GT-101", 1, time.Second, 2))}
			},
			online: map[string]bool{"GT-101": true, "GT-102": false}},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newPipeline(t, Config{}, spDevices)
				defer p.stop()
				e := edge{base: time.Now().Add(-time.Minute)}
				p.send(e.nbirth(0))
				p.send(e.dbirth("GT-101", 1, 0, 1))
				p.send(e.dbirth("GT-102", 2, 0, 1))
				for i := 3; i <= 42; i++ {
					p.send(e.ddata(spDevices[i%2].ID, uint64(i), time.Duration(i)*time.Millisecond, float32(i)))
					time.Sleep(time.Millisecond) // received one after the other
				}
				for _, m := range c.after(e) {
					p.send(m.topic, m.payload)
				}
				p.start() // one batch
				p.settle()
				for id, want := range c.online {
					st := p.status(id)
					if st.Online != want || len(st.Last) != 1 {
						t.Errorf("%s: online %v, last %+v; want online %v", id, st.Online, st.Last, want)
					}
				}
			})
		})
	}
}

// Issue 14 item 6: an edge node's own metrics (NBIRTH, NDATA) go to the
// sensor registered on the node's NDATA topic, whichever order the
// sensors are listed in, or else to a sensor whose id is the edge node
// id; with neither they are ignored and counted, not rejected. A node
// sensor goes offline with its NDEATH and online with its NBIRTH.
func TestNodeMetrics(t *testing.T) {
	node := yujing.Sensor{ID: "GW-1", Site: "plant", Family: yujing.FamilyElectrical, Metric: "supply_voltage",
		MetricMap: map[string]string{"Supply Voltage": "supply_voltage"}, Decoder: "sparkplugb", Topic: "spBv1.0/plant/NDATA/edge1"}
	byEdgeID := yujing.Sensor{ID: "edge1", Site: "plant", Family: yujing.FamilyElectrical, Metric: "Supply Voltage"}
	for _, c := range []struct {
		name    string
		sensors []yujing.Sensor
		node    string  // the sensor taking the node's metrics, "" for none
		metric  string  // its name for Supply Voltage
		ignored float64 // node metrics counted as ignored
	}{
		{"node sensor first", append([]yujing.Sensor{node}, spDevices...), "GW-1", "supply_voltage", 0},
		{"node sensor last", append(slices.Clone(spDevices), node), "GW-1", "supply_voltage", 0},
		{"sensor with the edge node's id", append(slices.Clone(spDevices), byEdgeID), "edge1", "Supply Voltage", 0},
		{"none", spDevices, "", "", 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newPipeline(t, Config{}, c.sensors)
				defer p.stop()
				e := edge{base: time.Now().Add(-time.Minute)}
				p.start()
				p.send(e.nbirth(0,
					spbtest.Metric(spbtest.Name("Supply Voltage"), spbtest.Alias(10), spbtest.Type(spbtest.TypeFloat), spbtest.Float(24.1)),
					spbtest.Metric(spbtest.Name("Up Time ms"), spbtest.Alias(11), spbtest.Type(spbtest.TypeInt64), spbtest.Long(5000)),
					spbtest.Metric(spbtest.Name("Properties/Hardware Make"), spbtest.Alias(12), spbtest.Type(spbtest.TypeString), spbtest.Str("Tahu"))))
				p.send(e.dbirth("GT-101", 1, 0, 3))
				p.send("spBv1.0/plant/NDATA/edge1", spbtest.Payload(e.ms(time.Second), 2, spbtest.Metric(spbtest.Alias(10), spbtest.Float(23.9))))
				p.settle()
				if rej := p.rejections(); len(rej) != 0 {
					t.Errorf("rejections %v", rej)
				}
				if got := testutil.ToFloat64(p.s.m.ignored.WithLabelValues(IgnoredNodeMetric)); got != c.ignored {
					t.Errorf("ignored node metrics = %v, want %v", got, c.ignored)
				}
				if c.node == "" {
					return
				}
				stored, _ := p.rec.seen(c.node, c.metric)
				if !slices.Equal(stored, []float64{float64(float32(24.1)), float64(float32(23.9))}) {
					t.Errorf("%s's %s stored %v", c.node, c.metric, stored)
				}
				if c.node != "GW-1" {
					return
				}
				if up, _ := p.rec.seen("GW-1", "Up Time ms"); !slices.Equal(up, []float64{5000}) {
					t.Errorf("GW-1's Up Time ms stored %v", up)
				}
				if !p.status("GW-1").Online {
					t.Error("GW-1 offline after its NBIRTH")
				}
				p.send(e.ndeath())
				p.settle()
				if p.status("GW-1").Online || p.status("GT-101").Online {
					t.Error("GW-1 or GT-101 online after the NDEATH")
				}
			})
		})
	}
}

// The Sparkplug topics a device or a node sensor does not publish on
// themselves are routed to them, never over a sensor's own topic.
func TestSparkplugRoutes(t *testing.T) {
	node := yujing.Sensor{ID: "GW-1", Site: "plant", Decoder: "sparkplugb", Topic: "spBv1.0/plant/NDATA/edge1"}
	for _, c := range []struct {
		name    string
		sensors []yujing.Sensor
		want    map[string]string // topic → sensor
	}{
		{"devices", spDevices, map[string]string{
			"spBv1.0/plant/DBIRTH/edge1/GT-101": "GT-101", "spBv1.0/plant/DDEATH/edge1/GT-102": "GT-102",
			"spBv1.0/plant/NBIRTH/edge1": "GT-101", "spBv1.0/plant/NDATA/edge1": "GT-101", "spBv1.0/plant/NDEATH/edge1": "GT-101"}},
		{"node sensor last", append(slices.Clone(spDevices), node), map[string]string{
			"spBv1.0/plant/DBIRTH/edge1/GT-102": "GT-102",
			"spBv1.0/plant/NBIRTH/edge1":        "GW-1", "spBv1.0/plant/NDATA/edge1": "GW-1", "spBv1.0/plant/NDEATH/edge1": "GW-1"}},
		{"node sensor first", append([]yujing.Sensor{node}, spDevices...), map[string]string{
			"spBv1.0/plant/NBIRTH/edge1": "GW-1", "spBv1.0/plant/NDATA/edge1": "GW-1", "spBv1.0/plant/NDEATH/edge1": "GW-1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg, err := NewRegistry([]yujing.Site{{ID: "plant"}}, c.sensors)
			if err != nil {
				t.Fatal(err)
			}
			for topic, want := range c.want {
				if sn, ok := reg.ByTopic(topic); !ok || sn.ID != want {
					t.Errorf("%s → %v, want %s", topic, sn, want)
				}
			}
		})
	}
}
