package simulate

import (
	"context"
	"fmt"
	"io"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// PublishOptions say where and how fast a scenario is published.
type PublishOptions struct {
	Broker   string  // tcp://HOST:PORT
	ClientID string  // the MQTT client id
	Rate     float64 // messages per second over all sensors
	// Progress gets a first line naming the run, then a progress line
	// rewritten in place (\r) twice a second and once more at the end.
	Progress io.Writer
}

// Publish publishes sc's messages (QoS 1) at o.Rate per second until ctx
// ends; the story's time is the time since the start.
func Publish(ctx context.Context, sc *Scenario, o PublishOptions) error {
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(o.Broker).SetClientID(o.ClientID).SetCleanSession(true).
		SetAutoReconnect(true).SetConnectTimeout(10 * time.Second))
	tok := c.Connect()
	select {
	case <-tok.Done():
		if tok.Error() != nil {
			return fmt.Errorf("connect %s: %w", o.Broker, tok.Error())
		}
	case <-ctx.Done():
		return nil
	}
	defer c.Disconnect(250)
	fmt.Fprintf(o.Progress, "simulate %s: %d sensors, %.4g msg/s on %s\n", sc.Name, len(sc.Sensors), o.Rate, o.Broker)

	start := time.Now()
	var sent, failed int
	progress := func(final bool) {
		el := time.Since(start)
		fmt.Fprintf(o.Progress, "\rsent %d messages, %.1f msg/s, %d failed, elapsed %s   ", sent, float64(sent)/max(el.Seconds(), 1e-3), failed, el.Truncate(100*time.Millisecond))
		if final {
			fmt.Fprintln(o.Progress)
		}
	}
	defer progress(true)
	every := time.Duration(float64(time.Second) / o.Rate)
	tick := time.NewTicker(max(every, time.Millisecond))
	defer tick.Stop()
	show := time.NewTicker(500 * time.Millisecond)
	defer show.Stop()
	due := start
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-show.C:
			progress(false)
		case now := <-tick.C:
			// Catch up when the ticker is coarser than the rate.
			for ; !due.After(now); due = due.Add(every) {
				m, ok := sc.Next(now.Sub(start), now)
				if !ok {
					continue
				}
				t := c.Publish(m.Topic, 1, false, m.Payload)
				select {
				case <-t.Done():
				case <-ctx.Done():
					// Already on its way: its PUBACK says whether the
					// broker took it, so that the count is what arrived.
					if t.WaitTimeout(publishGrace) && t.Error() == nil {
						sent++
					} else {
						failed++
					}
					return nil
				}
				if t.Error() != nil {
					failed++
				} else {
					sent++
				}
			}
		}
	}
}

// publishGrace is how long Publish waits, once ctx is done, for the PUBACK
// of the message it was sending.
const publishGrace = 2 * time.Second
