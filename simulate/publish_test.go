package simulate

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"yujing/internal/testenv"
)

// TestPublish: a scenario published to mosquitto until the context ends
// arrives whole at a subscriber — every message the progress line counts as
// sent, each on a scenario sensor's topic with a JSON reading — and the
// progress line says what ran and ends with a newline.
func TestPublish(t *testing.T) {
	b := testenv.Mosquitto(t)
	sc, err := NewScenario("gas-leak", demoSensors(), 0, time.Minute, 1)
	if err != nil {
		t.Fatal(err)
	}
	topics := map[string]bool{}
	for _, s := range sc.Sensors {
		topics[s.Topic] = true
	}
	var mu sync.Mutex
	var got []mqtt.Message
	arrived := make(chan struct{}, 1)
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("publish-test-sub"))
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer sub.Disconnect(100)
	if tok := sub.Subscribe("#", 1, func(_ mqtt.Client, m mqtt.Message) {
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
		select {
		case arrived <- struct{}{}:
		default:
		}
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}

	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	var progress strings.Builder
	if err := Publish(ctx, sc, PublishOptions{Broker: b.URL(), ClientID: "publish-test", Rate: 20, Progress: &progress}); err != nil {
		t.Fatal(err)
	}
	out := progress.String()
	if !strings.HasPrefix(out, "simulate gas-leak: 3 sensors, 20 msg/s on "+b.URL()+"\n") || !strings.HasSuffix(out, "\n") {
		t.Errorf("progress:\n%q", out)
	}
	m := regexp.MustCompile(`\rsent (\d+) messages, [0-9.]+ msg/s, 0 failed, elapsed [0-9.]+m?s +\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no final progress line in %q", out)
	}
	sent, _ := strconv.Atoi(m[1])
	if sent == 0 {
		t.Fatalf("nothing sent: %q", out)
	}
	deadline := time.After(10 * time.Second)
	for waiting := true; waiting; {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= sent {
			break
		}
		select {
		case <-arrived:
		case <-deadline:
			waiting = false
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != sent {
		t.Errorf("received %d messages, the progress line says %d were sent", len(got), sent)
	}
	for _, msg := range got {
		var r struct{ Value *float64 }
		if !topics[msg.Topic()] || json.Unmarshal(msg.Payload(), &r) != nil {
			t.Errorf("message on %s: %s", msg.Topic(), msg.Payload())
		}
	}
}
