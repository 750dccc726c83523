package ingest

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"yujing"
	"yujing/ingest/decode/all"
	"yujing/internal/testenv"
)

// docSink records the documents handed to it; refuse makes it refuse
// those containing a word.
type docSink struct {
	mu     sync.Mutex
	got    []string // kind topic: first line of the identifier
	refuse string
}

func (d *docSink) Accept(_ context.Context, kind, topic string, payload []byte) error {
	if d.refuse != "" && strings.Contains(string(payload), d.refuse) {
		return errors.New("bad CAP document: alert/info[1]/area[1]/geocode: no administrative division code")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	id := string(payload)
	if i := strings.Index(id, "<identifier>"); i >= 0 {
		id = id[i+len("<identifier>"):]
		id = id[:strings.Index(id, "<")]
	}
	d.got = append(d.got, kind+" "+topic+" "+id)
	return nil
}

func (d *docSink) seen() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.got...)
}

// A CAP feed on the real broker: its documents reach the document sink
// (not the reading store), a document that is not CAP and one the sink
// refuses are kept with the rejections naming the element, and the
// readings published meanwhile on another sensor are all stored.
func TestDocumentsOverMQTT(t *testing.T) {
	b := testenv.Mosquitto(t)
	reg, err := NewRegistry([]yujing.Site{{ID: "t"}}, []yujing.Sensor{
		{ID: "CAP-JN", Site: "t", Family: yujing.FamilyWeather, Metric: "warning", Decoder: "cap", Topic: "yujing/cap/jiangning"},
		{ID: "G1", Site: "t", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Decoder: "json"},
	})
	if err != nil {
		t.Fatal(err)
	}
	decoders, err := all.Registry()
	if err != nil {
		t.Fatal(err)
	}
	docs := &docSink{refuse: "<value>江宁区</value>"}
	sink := &gateSink{}
	s, err := NewSubscriber(Config{Broker: b.URL(), ClientID: "doc-test", QoS: 1, Shards: 2, QueueSize: 16, BatchSize: 4},
		reg, decoders, sink, nil, Options{Documents: docs})
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
	read := func(name string) string {
		b, err := os.ReadFile("../cap/testdata/" + name + "/alert.xml")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	pub := publisher(t, b.URL())
	alert := read("alert")
	pub("yujing/cap/jiangning", alert)
	pub("yujing/t/G1", value(1))
	pub("yujing/cap/jiangning", read("bad-severity"))
	pub("yujing/t/G1", value(2))
	pub("yujing/cap/jiangning", strings.Replace(alert, "<value>320115002</value>", "<value>江宁区</value>", 1))
	pub("yujing/cap/jiangning", read("update"))
	pub("yujing/t/G1", value(3))
	deadline := time.Now().Add(10 * time.Second)
	for len(docs.seen()) < 2 || sink.n.Load() < 3 || len(s.Rejections().List(0)) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("documents %v, readings %d, rejections %v", docs.seen(), sink.n.Load(), s.Rejections().List(0))
		}
		time.Sleep(10 * time.Millisecond) // polling for a condition, not standing in for one
	}
	want := []string{"cap yujing/cap/jiangning 32011541600000_20260701080000", "cap yujing/cap/jiangning 32011541600000_20260701093000"}
	if got := docs.seen(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("documents %q, want %q", got, want)
	}
	if n := sink.n.Load(); n != 3 {
		t.Errorf("%d readings stored, want the 3 of G1 (a CAP document is no reading)", n)
	}
	var rej []string
	list := s.Rejections().List(0)
	for i := len(list) - 1; i >= 0; i-- { // oldest first
		rej = append(rej, list[i].Sensor+" "+list[i].Reason+" "+list[i].Error)
	}
	wantRej := []string{
		`CAP-JN malformed alert/info[1]/severity: "严重" is not one of Extreme, Severe, Moderate, Minor, Unknown (line 13)`,
		"CAP-JN document_refused bad CAP document: alert/info[1]/area[1]/geocode: no administrative division code",
	}
	if strings.Join(rej, "|") != strings.Join(wantRej, "|") {
		t.Errorf("rejections\n got %q\nwant %q", rej, wantRej)
	}
}
