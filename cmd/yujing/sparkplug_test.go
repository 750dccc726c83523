package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"yujing/ingest/decode/sparkplugb/spbtest"
)

// sparkplugNode builds the messages of one Sparkplug B edge node, "edge1"
// of group "plant", timed from base, a time the test computes from now:
// readings must fall inside max_age whatever the date the test runs on.
type sparkplugNode struct{ base time.Time }

// at is base plus d, in Sparkplug's milliseconds.
func (n sparkplugNode) at(d time.Duration) uint64 { return spbtest.Millis(n.base.Add(d)) }

func (n sparkplugNode) messages() map[string]struct {
	topic   string
	payload []byte
} {
	type msg = struct {
		topic   string
		payload []byte
	}
	bdSeq := spbtest.Metric(spbtest.Name("bdSeq"), spbtest.Type(spbtest.TypeInt64), spbtest.Long(3))
	return map[string]msg{
		"nbirth": {"spBv1.0/plant/NBIRTH/edge1", spbtest.Payload(n.at(0), 0, bdSeq,
			spbtest.Metric(spbtest.Name("Node Control/Rebirth"), spbtest.Type(spbtest.TypeBoolean), spbtest.Bool(false)))},
		// GT-101's DBIRTH defines aliases and carries lel = 31.5 a second before.
		"dbirth-aliases": {"spBv1.0/plant/DBIRTH/edge1/GT-101", spbtest.Payload(n.at(0), 1,
			spbtest.Metric(spbtest.Name("lel"), spbtest.Alias(1), spbtest.Time(n.at(-time.Second)), spbtest.Type(spbtest.TypeFloat), spbtest.Float(31.5)),
			spbtest.Metric(spbtest.Name("pressure"), spbtest.Alias(2), spbtest.Type(spbtest.TypeDouble), spbtest.Double(0.41)))},
		// GT-101's DDATA by alias only.
		"ddata-alias": {"spBv1.0/plant/DDATA/edge1/GT-101", spbtest.Payload(n.at(time.Minute), 2,
			spbtest.Metric(spbtest.Alias(1), spbtest.Float(33)),
			spbtest.Metric(spbtest.Alias(2), spbtest.Time(n.at(59500*time.Millisecond)), spbtest.Double(0.42)))},
		// GT-102 never had a DBIRTH: its DDATA names its metrics.
		"ddata-name": {"spBv1.0/plant/DDATA/edge1/GT-102", spbtest.Payload(n.at(time.Minute), 3,
			spbtest.Metric(spbtest.Name("lel"), spbtest.Type(spbtest.TypeFloat), spbtest.Float(12.5)))},
		"ddeath": {"spBv1.0/plant/DDEATH/edge1/GT-101", spbtest.Payload(n.at(2*time.Minute), 4)},
		"ndeath": {"spBv1.0/plant/NDEATH/edge1", spbtest.Payload(0, 0, bdSeq)},
	}
}

func TestSparkplugBirthDataDeath(t *testing.T) {
	cfg := configFrom(t, fmt.Sprintf(`
data_dir: %s
mqtt: {embedded: {listen: "127.0.0.1:0"}}
sites: [{id: plant}]
sensors:
  - {id: GT-101, site: plant, family: gas, metric: lel, decoder: sparkplugb, topic: spBv1.0/plant/DDATA/edge1/GT-101}
  - {id: GT-102, site: plant, family: gas, metric: lel, decoder: sparkplugb, topic: spBv1.0/plant/DDATA/edge1/GT-102}
rules:
  - {name: gas, match: {family: gas}, above: {yellow: 25, red: 50}}
people: [{id: p, name: P}]
channels: [{name: log, log: {}}]
notify: [{people: [p], channels: [log]}]
`, t.TempDir()))
	inst := start(t, cfg)
	api := "http://" + inst.http
	pub := publisher(t, inst.mqtt)
	// The node's messages are timed minutes before now, inside the
	// default max_age and never after now + max_future.
	msgs := sparkplugNode{base: time.Now().Add(-5 * time.Minute)}.messages()
	send := func(name string) {
		m, ok := msgs[name]
		if !ok {
			t.Fatalf("no message %q", name)
		}
		tok := pub.Publish(m.topic, 1, false, m.payload)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", name, tok.Error())
		}
	}
	type status struct {
		ID     string
		Online bool
		Last   []struct {
			Metric string
			Value  float64
		}
	}
	sensors := func() map[string]status {
		var ss []status
		getJSON(t, api+"/api/v1/sensors", &ss)
		out := map[string]status{}
		for _, s := range ss {
			out[s.ID] = s
		}
		return out
	}
	// NBIRTH, DBIRTH (defines aliases), then DDATA by alias only: the
	// values arrive under their names and raise the gas warning.
	send("nbirth")
	send("dbirth-aliases")
	send("ddata-alias")
	send("ddata-name")
	waitFor(t, 5*time.Second, "GT-101's aliased DDATA and GT-102's named DDATA", func() bool {
		ss := sensors()
		lel := func(id string) float64 {
			for _, l := range ss[id].Last {
				if l.Metric == "lel" {
					return l.Value
				}
			}
			return -1
		}
		return lel("GT-101") == 33 && lel("GT-102") >= 0 && ss["GT-101"].Online
	})
	var as []apiAlert
	getJSON(t, api+"/api/v1/alerts", &as)
	if len(as) == 0 || as[0].Sensor != "GT-101" || as[0].Level != "yellow" {
		t.Errorf("alerts after DDATA: %+v", as)
	}
	// DDEATH takes GT-101 offline; NDEATH takes every device of edge1.
	send("ddeath")
	waitFor(t, 5*time.Second, "GT-101 offline after DDEATH", func() bool { return !sensors()["GT-101"].Online })
	if !sensors()["GT-102"].Online {
		t.Error("GT-102 went offline with GT-101's DDEATH")
	}
	send("ndeath")
	waitFor(t, 5*time.Second, "GT-102 offline after NDEATH", func() bool { return !sensors()["GT-102"].Online })
}

// edgeNode publishes as an Eclipse Tahu edge node does: its NBIRTH has seq
// 0 and a new bdSeq; every later message of the node and of its devices
// takes the next seq of one counter (0 after 255); a BIRTH's metrics carry
// the payload's timestamp; an NDEATH carries the bdSeq of the NBIRTH it
// ends.
type edgeNode struct {
	t           *testing.T
	pub         mqtt.Client
	group, edge string
	seq, bdSeq  uint64
	born        bool
	async       bool // publish without waiting for each PUBACK (a burst)
	tokens      []mqtt.Token
}

func newEdgeNode(t *testing.T, broker, group, edge string) *edgeNode {
	return &edgeNode{t: t, pub: publisher(t, broker), group: group, edge: edge}
}

// send publishes one message of type typ (NBIRTH, DDATA, …) for the node
// (device "") or one of its devices; ts is the payload's timestamp.
func (n *edgeNode) send(typ, device string, ts uint64, metrics ...[]byte) {
	n.t.Helper()
	topic := "spBv1.0/" + n.group + "/" + typ + "/" + n.edge
	if device != "" {
		topic += "/" + device
	}
	bdSeq := func() []byte {
		return spbtest.Metric(spbtest.Name("bdSeq"), spbtest.Type(spbtest.TypeInt64), spbtest.Long(n.bdSeq))
	}
	var payload []byte
	switch typ {
	case "NBIRTH":
		if n.born {
			n.bdSeq++
		}
		n.born, n.seq = true, 0
		payload = spbtest.Payload(ts, 0, append([][]byte{bdSeq(),
			spbtest.Metric(spbtest.Name("Node Control/Rebirth"), spbtest.Type(spbtest.TypeBoolean), spbtest.Bool(false))}, metrics...)...)
	case "NDEATH":
		payload = spbtest.Payload(0, 0, bdSeq())
	default:
		n.seq = (n.seq + 1) % 256
		payload = spbtest.Payload(ts, n.seq, metrics...)
	}
	tok := n.pub.Publish(topic, 1, false, payload)
	if n.async {
		n.tokens = append(n.tokens, tok)
		return
	}
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		n.t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// flush waits for the PUBACKs of the messages sent async.
func (n *edgeNode) flush() {
	n.t.Helper()
	for _, tok := range n.tokens {
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			n.t.Fatalf("publish: %v", tok.Error())
		}
	}
	n.tokens = n.tokens[:0]
}

// lelBirth is the lel metric as a DBIRTH declares it (alias 1, Float), at
// ts; lelData is the same metric in a DDATA, by alias only.
func lelBirth(ts uint64, v float32) []byte {
	return spbtest.Metric(spbtest.Name("lel"), spbtest.Alias(1), spbtest.Time(ts), spbtest.Type(spbtest.TypeFloat), spbtest.Float(v))
}

func lelData(ts uint64, v float32) []byte {
	return spbtest.Metric(spbtest.Alias(1), spbtest.Time(ts), spbtest.Float(v))
}

// sensorStatus is an entry of GET /api/v1/sensors.
type sensorStatus struct {
	ID     string
	Online bool
	Last   []struct {
		Metric string
		Value  float64
		TS     time.Time `json:"ts"`
	}
}

func sensorStatuses(t *testing.T, api string) map[string]sensorStatus {
	t.Helper()
	var ss []sensorStatus
	getJSON(t, api+"/api/v1/sensors", &ss)
	out := map[string]sensorStatus{}
	for _, s := range ss {
		out[s.ID] = s
	}
	return out
}

// lastAt reports whether the sensor's newest reading of metric has time at.
func (s sensorStatus) lastAt(metric string, at time.Time) bool {
	for _, l := range s.Last {
		if l.Metric == metric {
			return l.TS.Equal(at)
		}
	}
	return false
}

const sparkplugGasConfig = `
data_dir: %s
mqtt: {embedded: {listen: "127.0.0.1:0"}}
sites: [{id: plant}]
sensors:
  - {id: GT-101, site: plant, family: gas, metric: lel, decoder: sparkplugb, topic: spBv1.0/plant/DDATA/edge1/GT-101}
  - {id: GT-102, site: plant, family: gas, metric: lel, decoder: sparkplugb, topic: spBv1.0/plant/DDATA/edge1/GT-102}
rules:
  - {name: gas, match: {family: gas}, above: {yellow: 25, red: 50}}
people: [{id: p, name: P}]
channels: [{name: log, log: {}}]
notify: [{people: [p], channels: [log]}]
`

// Issue 14 item 4. Tahu's encoder declares lel = 0.0 in the DBIRTH, timed
// with the BIRTH's payload timestamp, and its first DDATA often carries
// the same millisecond with the real value and the next seq. The DDATA is
// newer: it is what is stored and what the rule engine sees, and the
// BIRTH's placeholder never resolves the open red warning. Six rebirths,
// half of them with the DDATA published only once the BIRTH is stored (a
// batch of its own), half back to back.
func TestSparkplugDataSupersedesBirthPlaceholder(t *testing.T) {
	inst := start(t, configFrom(t, fmt.Sprintf(sparkplugGasConfig, t.TempDir())))
	api := "http://" + inst.http
	n := newEdgeNode(t, inst.mqtt, "plant", "edge1")
	base := time.Now().Add(-5 * time.Minute).Truncate(time.Millisecond)
	ms := func(d time.Duration) uint64 { return spbtest.Millis(base.Add(d)) }

	// The first session raises red with a DDATA a second after its BIRTH.
	n.send("NBIRTH", "", ms(0))
	n.send("DBIRTH", "GT-101", ms(0), lelBirth(ms(0), 0))
	n.send("DDATA", "GT-101", ms(time.Second), lelData(ms(time.Second), 60))
	waitFor(t, 10*time.Second, "the red warning", func() bool {
		var as []apiAlert
		getJSON(t, api+"/api/v1/alerts", &as)
		return len(as) == 1 && as[0].Level == "red"
	})
	want := map[time.Time]float64{base: 0, base.Add(time.Second): 60}
	for r := 1; r <= 6; r++ {
		at := base.Add(time.Duration(r) * 10 * time.Second)
		n.send("NBIRTH", "", ms(at.Sub(base)))
		n.send("DBIRTH", "GT-101", ms(at.Sub(base)), lelBirth(ms(at.Sub(base)), 0))
		if r%2 == 1 {
			waitFor(t, 10*time.Second, fmt.Sprintf("rebirth %d's DBIRTH stored", r), func() bool {
				return sensorStatuses(t, api)["GT-101"].lastAt("lel", at)
			})
		}
		n.send("DDATA", "GT-101", ms(at.Sub(base)), lelData(ms(at.Sub(base)), 60))
		want[at] = 60
	}
	// GT-102's reading comes after all of GT-101's on the node's shard.
	end := base.Add(2 * time.Minute)
	n.send("DDATA", "GT-102", ms(end.Sub(base)), spbtest.Metric(spbtest.Name("lel"), spbtest.Type(spbtest.TypeFloat), spbtest.Float(1)))
	waitFor(t, 10*time.Second, "GT-102's reading after the rebirths", func() bool {
		return sensorStatuses(t, api)["GT-102"].lastAt("lel", end)
	})

	var series struct {
		Points []struct {
			TS    time.Time `json:"ts"`
			Value float64   `json:"value"`
		}
	}
	getJSON(t, fmt.Sprintf("%s/api/v1/sensors/GT-101/readings?metric=lel&from=%s&to=%s", api,
		base.Add(-time.Minute).UTC().Format(time.RFC3339), time.Now().UTC().Format(time.RFC3339)), &series)
	got := map[time.Duration]float64{}
	for _, p := range series.Points {
		got[p.TS.Sub(base)] = p.Value
	}
	for at, v := range want {
		if g, ok := got[at.Sub(base)]; !ok || g != v {
			t.Errorf("stored lel at %s = %v (present %v), want %v", at.Sub(base), g, ok, v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("stored %d lel readings, want %d: %v", len(got), len(want), got)
	}
	var rej []struct{ Reason, Error string }
	getJSON(t, api+"/api/v1/rejected", &rej)
	if len(rej) != 0 {
		t.Errorf("rejected: %+v", rej)
	}
	var as []apiAlert
	getJSON(t, api+"/api/v1/alerts", &as)
	if len(as) != 1 || as[0].Level != "red" || as[0].State != "firing" {
		t.Fatalf("alerts after the rebirths: %+v, want the one red warning still firing", as)
	}
	var detail apiAlert
	getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", api, as[0].ID), &detail)
	for _, h := range detail.History {
		if h.ToState == "resolved" || h.ToLevel != "red" {
			t.Errorf("the red warning went %s/%s (%s): a BIRTH placeholder lowered it", h.ToLevel, h.ToState, h.Event)
		}
	}
}

// Issue 14 item 5. An explicit NDEATH right after a burst of DDATA takes
// every device of the node offline, even when the DDATA are stored after
// the NDEATH was decoded (one batch): readings received before a DEATH do
// not bring its devices back. Four trials, as the report had.
func TestSparkplugDeathWinsOverEarlierData(t *testing.T) {
	inst := start(t, configFrom(t, fmt.Sprintf(sparkplugGasConfig, t.TempDir())))
	api := "http://" + inst.http
	n := newEdgeNode(t, inst.mqtt, "plant", "edge1")
	base := time.Now().Add(-5 * time.Minute).Truncate(time.Millisecond)
	devices := []string{"GT-101", "GT-102"}
	for trial := range 4 {
		start := base.Add(time.Duration(trial) * time.Minute)
		ms := spbtest.Millis(start)
		n.send("NBIRTH", "", ms)
		for _, d := range devices {
			n.send("DBIRTH", d, ms, lelBirth(ms, 1))
		}
		waitFor(t, 10*time.Second, fmt.Sprintf("trial %d: both devices online", trial), func() bool {
			ss := sensorStatuses(t, api)
			return ss["GT-101"].Online && ss["GT-102"].Online
		})
		n.async = true
		var last time.Time
		for i := 1; i <= 40; i++ {
			last = start.Add(time.Duration(i) * time.Millisecond)
			n.send("DDATA", devices[i%2], spbtest.Millis(last), lelData(spbtest.Millis(last), float32(i%10)))
		}
		n.send("NDEATH", "", 0)
		n.flush()
		n.async = false
		waitFor(t, 10*time.Second, fmt.Sprintf("trial %d: the burst stored and every device offline", trial), func() bool {
			ss := sensorStatuses(t, api)
			return ss["GT-101"].lastAt("lel", last) && ss["GT-102"].lastAt("lel", last.Add(-time.Millisecond)) &&
				!ss["GT-101"].Online && !ss["GT-102"].Online
		})
	}
}

// Issue 14 item 6. Wired exactly as the decoder's sample.yaml says, an
// edge node's own metrics (NBIRTH, NDATA: Supply Voltage, …) go to the
// node sensor the sample declares on the node's NDATA topic; without one
// they are ignored quietly and counted, on every reconnect: never a
// rejection, never a WARN.
func TestSparkplugNodeMetrics(t *testing.T) {
	sample, err := os.ReadFile("../../ingest/decode/sparkplugb/sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	deviceOnly := `sensors:
  - {id: GT-101, site: demo-plant, family: gas, metric: lel, metrics: {lel: "%LEL", alarm: ""}, decoder: sparkplugb, topic: spBv1.0/plant/DDATA/edge1/GT-101}
`
	for _, c := range []struct {
		name, sensors string
		node          string // the node sensor's id, "" for none
	}{
		{"sample.yaml", string(sample), "GW-1"},
		{"no node sensor", deviceOnly, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			inst := start(t, configFrom(t, fmt.Sprintf("data_dir: %s\nmqtt: {embedded: {listen: \"127.0.0.1:0\"}}\nsites: [{id: demo-plant}]\n", t.TempDir())+c.sensors))
			api := "http://" + inst.http
			n := newEdgeNode(t, inst.mqtt, "plant", "edge1")
			base := time.Now().Add(-5 * time.Minute).Truncate(time.Millisecond)
			var dataAt time.Time
			for session := range 2 { // the second after a reconnect
				at := base.Add(time.Duration(session) * time.Minute)
				ms := spbtest.Millis(at)
				dataAt = at.Add(time.Second)
				n.send("NBIRTH", "", ms,
					spbtest.Metric(spbtest.Name("Supply Voltage"), spbtest.Alias(10), spbtest.Time(ms), spbtest.Type(spbtest.TypeFloat), spbtest.Float(24.1)),
					spbtest.Metric(spbtest.Name("Up Time ms"), spbtest.Alias(11), spbtest.Time(ms), spbtest.Type(spbtest.TypeInt64), spbtest.Long(1000)),
					spbtest.Metric(spbtest.Name("Properties/Hardware Make"), spbtest.Alias(12), spbtest.Type(spbtest.TypeString), spbtest.Str("Tahu")))
				n.send("DBIRTH", "GT-101", ms, lelBirth(ms, 3),
					spbtest.Metric(spbtest.Name("alarm"), spbtest.Alias(2), spbtest.Time(ms), spbtest.Type(spbtest.TypeBoolean), spbtest.Bool(false)))
				n.send("NDATA", "", spbtest.Millis(dataAt), spbtest.Metric(spbtest.Alias(10), spbtest.Time(spbtest.Millis(dataAt)), spbtest.Float(23.9)))
				n.send("DDATA", "GT-101", spbtest.Millis(dataAt), lelData(spbtest.Millis(dataAt), 4))
				waitFor(t, 10*time.Second, fmt.Sprintf("session %d's DDATA", session), func() bool {
					return sensorStatuses(t, api)["GT-101"].lastAt("lel", dataAt)
				})
				if session == 0 {
					n.send("NDEATH", "", 0)
					waitFor(t, 10*time.Second, "the NDEATH", func() bool {
						ss := sensorStatuses(t, api)
						return !ss["GT-101"].Online && (c.node == "" || !ss[c.node].Online)
					})
				}
			}
			var rej []struct{ Reason, Sensor, Error string }
			getJSON(t, api+"/api/v1/rejected", &rej)
			if len(rej) != 0 {
				t.Errorf("rejected: %+v", rej)
			}
			if logs := inst.logs.String(); strings.Contains(logs, "reading rejected") {
				t.Errorf("node metrics logged as rejections:\n%s", logs)
			}
			ignored := metricValue(inst.http, `yujing_ingest_ignored_total{reason="node_metric"}`)
			if c.node == "" {
				// Supply Voltage and Up Time ms of each NBIRTH, and each NDATA.
				if ignored != 6 {
					t.Errorf("ignored node metrics = %v, want 6", ignored)
				}
				return
			}
			if ignored > 0 {
				t.Errorf("ignored node metrics = %v with a node sensor, want 0", ignored)
			}
			node := sensorStatuses(t, api)[c.node]
			if !node.Online || !node.lastAt("supply_voltage", dataAt) || !node.lastAt("Up Time ms", base.Add(time.Minute)) {
				t.Errorf("node sensor %s: %+v, want online with supply_voltage at %s and Up Time ms", c.node, node, dataAt)
			}
		})
	}
}
