// Package simulate publishes plausible sensor readings over MQTT: the demo's
// heartbeat, and a way to drive any broker with synthetic streams. It is an
// ordinary MQTT client; yujing receives its readings like any device's.
package simulate

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"yujing"
)

// Options configure a simulation run.
type Options struct {
	Broker    string        // tcp://host:port
	ClientID  string        // default yujing-simulator
	Interval  time.Duration // between readings of one sensor (default 2s)
	LeakEvery time.Duration // mean time between gas leak ramps (default 3m; first one after 20s)
	Seed      uint64        // random seed (0: from the clock)
	Logger    *slog.Logger
}

// Simulator holds the state of every simulated sensor.
type Simulator struct {
	opts    Options
	rnd     *rand.Rand
	sensors []yujing.Sensor
	leak    map[string]*ramp
	start   time.Time
	nextLk  time.Time
}

type ramp struct {
	value, peak float64
	hold        int
	falling     bool
}

// New prepares a simulator for sensors.
func New(sensors []yujing.Sensor, opts Options) *Simulator {
	if opts.ClientID == "" {
		opts.ClientID = "yujing-simulator"
	}
	if opts.Interval <= 0 {
		opts.Interval = 2 * time.Second
	}
	if opts.LeakEvery <= 0 {
		opts.LeakEvery = 3 * time.Minute
	}
	if opts.Seed == 0 {
		opts.Seed = uint64(time.Now().UnixNano())
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Simulator{opts: opts, rnd: rand.New(rand.NewPCG(opts.Seed, 0x79756a696e67)), sensors: sensors, leak: map[string]*ramp{}}
}

// Payload is what one sensor publishes at time t.
func (s *Simulator) Payload(sn *yujing.Sensor, t time.Time) []byte {
	if len(sn.Units) > 1 {
		vals := map[string]float64{}
		for m := range sn.Units {
			vals[m] = s.value(sn, m, t)
		}
		b, _ := json.Marshal(map[string]any{"ts": t.UnixMilli(), "values": vals})
		return b
	}
	b, _ := json.Marshal(map[string]any{"ts": t.UnixMilli(), "value": s.value(sn, sn.Metric, t)})
	return b
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func (s *Simulator) noise(scale float64) float64 { return (s.rnd.Float64()*2 - 1) * scale }

// value models a metric: a slow daily-ish wave plus noise, and gas leaks as
// ramps that rise through every warning tier and fall back.
func (s *Simulator) value(sn *yujing.Sensor, metric string, t time.Time) float64 {
	phase := float64(t.Unix()%600) / 600 * 2 * math.Pi
	var v float64
	switch {
	case sn.Family == yujing.FamilyGas:
		v = 2 + s.noise(1)
		if r := s.leak[sn.ID]; r != nil {
			if !r.falling {
				r.value += 2.5 + s.rnd.Float64()*2
				if r.value >= r.peak {
					r.value, r.hold = r.peak, r.hold-1
					if r.hold <= 0 {
						r.falling = true
					}
				}
			} else {
				r.value -= 4
				if r.value <= 2 {
					delete(s.leak, sn.ID)
				}
			}
			v = math.Max(v, r.value)
		}
		return round(clamp(sn, v), 1)
	case metric == "level":
		v = 6 + 0.8*math.Sin(phase) + s.noise(0.05)
	case metric == "pressure":
		v = 0.45 + 0.05*math.Sin(phase) + s.noise(0.01)
	case metric == "rain_1h" || metric == "rainfall":
		v = math.Max(0, 4+3*math.Sin(phase)+s.noise(1))
	case sn.Min != nil && sn.Max != nil:
		v = *sn.Min + (*sn.Max-*sn.Min)*(0.3+0.05*math.Sin(phase)) + s.noise((*sn.Max-*sn.Min)*0.01)
	default:
		v = 10 + math.Sin(phase) + s.noise(0.2)
	}
	return round(clamp(sn, v), 3)
}

func clamp(sn *yujing.Sensor, v float64) float64 {
	if sn.Min != nil && v < *sn.Min {
		v = *sn.Min
	}
	if sn.Max != nil && v > *sn.Max {
		v = *sn.Max
	}
	return v
}

// maybeLeak starts a leak ramp on one gas sensor now and then.
func (s *Simulator) maybeLeak(now time.Time) {
	if now.Before(s.nextLk) {
		return
	}
	var gas []string
	for _, sn := range s.sensors {
		if sn.Family == yujing.FamilyGas && s.leak[sn.ID] == nil {
			gas = append(gas, sn.ID)
		}
	}
	if len(gas) > 0 {
		id := gas[s.rnd.IntN(len(gas))]
		s.leak[id] = &ramp{value: 5, peak: 52 + s.rnd.Float64()*12, hold: 5}
		s.opts.Logger.Info("simulated gas leak starts", "sensor", id)
	}
	// Exponential gaps with the configured mean.
	gap := time.Duration(s.rnd.ExpFloat64() * float64(s.opts.LeakEvery))
	s.nextLk = now.Add(max(gap, s.opts.LeakEvery/4))
}

// Run connects and publishes one reading per sensor every Interval until ctx
// ends.
func (s *Simulator) Run(ctx context.Context) error {
	o := mqtt.NewClientOptions().AddBroker(s.opts.Broker).SetClientID(s.opts.ClientID).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(time.Second).SetCleanSession(true)
	c := mqtt.NewClient(o)
	tok := c.Connect()
	select {
	case <-tok.Done():
		if tok.Error() != nil {
			return fmt.Errorf("simulator: connect %s: %w", s.opts.Broker, tok.Error())
		}
	case <-ctx.Done():
		return nil
	}
	defer c.Disconnect(100)
	s.start = time.Now()
	s.nextLk = s.start.Add(20 * time.Second)
	s.opts.Logger.Info("simulator publishing", "broker", s.opts.Broker, "sensors", len(s.sensors), "interval", s.opts.Interval)
	tick := time.NewTicker(s.opts.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			s.maybeLeak(now)
			for i := range s.sensors {
				sn := &s.sensors[i]
				t := c.Publish(sn.Topic, 1, false, s.Payload(sn, now))
				select {
				case <-t.Done():
					if t.Error() != nil {
						s.opts.Logger.Warn("simulator publish failed", "topic", sn.Topic, "err", t.Error())
					}
				case <-ctx.Done():
					return nil
				}
			}
		}
	}
}
