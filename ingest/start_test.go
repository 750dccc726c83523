package ingest

import (
	"context"
	"slices"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"yujing"
	"yujing/ingest/decode/all"
	"yujing/internal/testenv"
)

// A resumed session's backlog reaches the subscriber before the SUBACK of
// the subscription it renews on connecting, and paho reads that SUBACK only
// once the messages before it are handed over: behind a backlog and a slow
// store, long after Config.ConnectWait. Start must not fail for it — the
// broker delivers on the session's subscriptions already — or yujing serve
// exits, is restarted, and finds the same backlog (seen with mosquitto,
// which sent a restarted yujing 14 812 messages at once, at a load average
// of 25 with InfluxDB down: "no SUBACK within 10s", then "ingest: no
// connection to tcp://… within 10s (still retrying)" and exit status 1).
func TestStartResumedSessionBehindBacklog(t *testing.T) {
	brokers := []struct {
		name string
		// start starts the broker; its settled waits until the broker holds
		// n messages for the session (mosquitto queues a QoS 1 message
		// before its PUBACK; mochi after).
		start func(t *testing.T) (url string, settled func(t *testing.T, n int))
	}{
		{"mochi", func(t *testing.T) (string, func(*testing.T, int)) {
			url, w := startMochi(t, testClient)
			return url, w.queuedFor
		}},
		{"mosquitto", func(t *testing.T) (string, func(*testing.T, int)) {
			return testenv.Mosquitto(t).URL(), func(*testing.T, int) {}
		}},
	}
	for _, b := range brokers {
		t.Run(b.name, func(t *testing.T) {
			url, settled := b.start(t)
			const sensor, n = "S0", 100
			// The session, subscribed by an earlier run, then offline while
			// n readings are published.
			c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(testClient).SetCleanSession(false))
			if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("connect: %v", tok.Error())
			}
			if tok := c.Subscribe("yujing/#", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("subscribe: %v", tok.Error())
			}
			c.Disconnect(100)
			pub := publisher(t, url)
			for i := range n {
				pub("yujing/t/"+sensor, value(i))
			}
			settled(t, n)

			reg, err := NewRegistry([]yujing.Site{{ID: "t"}},
				[]yujing.Sensor{{ID: sensor, Site: "t", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Decoder: "json"}})
			if err != nil {
				t.Fatal(err)
			}
			decoders, err := all.Registry()
			if err != nil {
				t.Fatal(err)
			}
			sink := &gateSink{}
			sink.hold(sensor) // the store is stuck: the backlog cannot drain
			const wait = 2 * time.Second
			s, err := NewSubscriber(Config{Broker: url, ClientID: testClient, QoS: 1, Shards: 1, QueueSize: 1, BatchSize: 1, ConnectWait: wait},
				reg, decoders, sink, nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = s.Stop(ctx)
			})
			began := time.Now()
			if err := s.Start(t.Context()); err != nil {
				t.Fatalf("Start with the session's backlog ahead of the SUBACK: %v", err)
			}
			if d := time.Since(began); d >= wait {
				t.Errorf("Start took %v, ConnectWait is %v", d, wait)
			}

			sink.release(sensor)
			for deadline := time.Now().Add(15 * time.Second); sink.n.Load() < n && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
			}
			want := make([]float64, n)
			for i := range want {
				want[i] = float64(i)
			}
			// In any order: mochi sends a resumed session's messages in
			// the order of a map.
			got := sink.values(sensor)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("stored %v, want the %d readings of the backlog", got, n)
			}
		})
	}
}
