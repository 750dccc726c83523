package main

import (
	"fmt"
	"testing"
	"time"

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
