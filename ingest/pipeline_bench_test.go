package ingest

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"yujing"
	"yujing/ingest/decode/all"
)

// The per-message work of the subscriber without the network: what
// BENCHMARKS.md ("end-to-end ingest") compares with the MQTT leg.
//
//	go test -run '^$' -bench 'DecodeValidate|Pipeline' -benchmem ./ingest/

// benchMsg is an mqtt.Message held in memory.
type benchMsg struct {
	topic   string
	payload []byte
	acked   *atomic.Int64
}

func (m *benchMsg) Duplicate() bool   { return false }
func (m *benchMsg) Qos() byte         { return 1 }
func (m *benchMsg) Retained() bool    { return false }
func (m *benchMsg) Topic() string     { return m.topic }
func (m *benchMsg) MessageID() uint16 { return 1 }
func (m *benchMsg) Payload() []byte   { return m.payload }
func (m *benchMsg) Ack() {
	if m.acked != nil {
		m.acked.Add(1)
	}
}

// countSink is a no-op sink that counts what it is given.
type countSink struct{ n atomic.Int64 }

func (c *countSink) Write(_ context.Context, rs []yujing.Reading) error {
	c.n.Add(int64(len(rs)))
	return nil
}

const benchSensors = 100

// benchSubscriber is a subscriber over benchSensors gas sensors on
// yujing/bench/Sxxx, not connected to any broker.
func benchSubscriber(b *testing.B, sink Sink) *Subscriber {
	return offlineSubscriber(b, Config{Broker: "tcp://127.0.0.1:1"}, sink)
}

// offlineSubscriber is a subscriber with cfg over benchSensors gas sensors,
// not connected to any broker.
func offlineSubscriber(b testing.TB, cfg Config, sink Sink) *Subscriber {
	b.Helper()
	var sensors []yujing.Sensor
	for i := range benchSensors {
		sensors = append(sensors, yujing.Sensor{ID: fmt.Sprintf("S%03d", i), Site: "bench", Family: yujing.FamilyGas,
			Metric: "lel", Unit: "%LEL", Units: map[string]string{"lel": "%LEL", "temp": "℃"}, Decoder: "json"})
	}
	reg, err := NewRegistry([]yujing.Site{{ID: "bench"}}, sensors)
	if err != nil {
		b.Fatal(err)
	}
	decoders, err := all.Registry()
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewSubscriber(cfg, reg, decoders, sink, nil, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// benchMessages returns n messages round-robin over the sensors with
// distinct millisecond timestamps, as the end-to-end benchmark publishes
// them; two selects the two-metric payload form.
func benchMessages(n int, two bool, acked *atomic.Int64) []*benchMsg {
	base := time.Now().Add(-10 * time.Minute).UnixMilli()
	msgs := make([]*benchMsg, n)
	for i := range msgs {
		var p []byte
		v := strconv.FormatFloat(float64(i)*1e-6, 'f', -1, 64)
		ts := strconv.FormatInt(base+int64(i), 10)
		if two {
			p = []byte(`{"ts": ` + ts + `, "values": {"lel": ` + v + `, "temp": 21.5}}`)
		} else {
			p = []byte(`{"value": ` + v + `, "ts": ` + ts + `}`)
		}
		msgs[i] = &benchMsg{topic: fmt.Sprintf("yujing/bench/S%03d", i%benchSensors), payload: p, acked: acked}
	}
	return msgs
}

// BenchmarkDecodeValidate is the work the subscriber does per message in a
// shard worker: topic → sensor lookup, JSON decode, validation (metric,
// finite, range, timestamp window, duplicate check) and building the
// reading.
func BenchmarkDecodeValidate(b *testing.B) {
	for _, c := range []struct {
		name string
		two  bool
	}{{"value", false}, {"values2", true}} {
		b.Run(c.name, func(b *testing.B) {
			s := benchSubscriber(b, &countSink{})
			msgs := benchMessages(4096, c.two, nil)
			now := time.Now()
			d := newDecoded()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if len(d.readings) >= 512 {
					d.reset()
				}
				s.decode(d, msgs[i%len(msgs)], now)
			}
			b.StopTimer()
			if len(d.readings) == 0 || len(s.rejects.List(1)) > 0 {
				b.Fatalf("%d readings decoded, %d rejections", len(d.readings), len(s.rejects.List(0)))
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkPipeline drives the whole in-process pipeline — receive (route
// to a shard), the shard workers (batch, decode, validate, a no-op sink,
// record the last readings, acknowledge) — from one goroutine, as paho's
// router does. It is the ceiling of yujing's own code, without MQTT.
func BenchmarkPipeline(b *testing.B) {
	sink := &countSink{}
	var acked atomic.Int64
	s := benchSubscriber(b, sink)
	msgs := benchMessages(1<<16, false, &acked)
	// What Start does, minus the connection.
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for i := range s.shards {
		s.wg.Add(1)
		go s.work(s.shards[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		s.receive(nil, msgs[i%len(msgs)])
	}
	for acked.Load() < int64(b.N) {
		time.Sleep(50 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	// What Stop does, minus the disconnection.
	close(s.quit)
	for _, ch := range s.shards {
		close(ch)
	}
	s.wg.Wait()
	s.cancel()
	if sink.n.Load() == 0 {
		b.Fatal("nothing stored")
	}
}
