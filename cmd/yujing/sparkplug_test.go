package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sparkplugCase reads a golden Sparkplug B message of the sparkplugb
// decoder's testdata.
func sparkplugCase(t *testing.T, name string) (topic string, payload []byte) {
	t.Helper()
	dir := filepath.Join("..", "..", "ingest", "decode", "sparkplugb", "testdata", name)
	tp, err := os.ReadFile(filepath.Join(dir, "topic"))
	if err != nil {
		t.Fatal(err)
	}
	pl, err := os.ReadFile(filepath.Join(dir, "payload"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(tp)), pl
}

func TestSparkplugBirthDataDeath(t *testing.T) {
	cfg := configFrom(t, fmt.Sprintf(`
data_dir: %s
mqtt: {embedded: {listen: "127.0.0.1:0"}, max_age: 9000h}
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
	send := func(name string) {
		topic, payload := sparkplugCase(t, name)
		tok := pub.Publish(topic, 1, false, payload)
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
