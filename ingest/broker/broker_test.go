package broker

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCloseQuiet: closing the broker ends the connections of the clients
// still connected (yujing's own, whose goodbye may still be on its way,
// and sensors' gateways); mochi logs each as a Warn with an empty message.
// That is the shutdown doing its job, so it is Debug detail, and Ctrl-C
// prints no warning for it.
func TestCloseQuiet(t *testing.T) {
	logs := &lockedBuffer{}
	b, err := Start("127.0.0.1:0", slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	const clients = 3
	for i := range clients {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + b.Addr()).
			SetClientID(fmt.Sprintf("gateway-%d", i)).SetAutoReconnect(false))
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("connect: %v", tok.Error())
		}
		defer c.Disconnect(0)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// The connections end on their own goroutines: wait for their records.
	var ended []string
	deadline := time.Now().Add(10 * time.Second)
	for len(ended) < clients {
		if time.Now().After(deadline) {
			t.Fatalf("%d connection-end records, want %d:\n%s", len(ended), clients, logs)
		}
		time.Sleep(10 * time.Millisecond)
		ended = nil
		for line := range strings.Lines(logs.String()) {
			if strings.Contains(line, "use of closed network connection") {
				ended = append(ended, line)
			}
		}
	}
	for _, line := range ended {
		if !strings.Contains(line, "level=DEBUG") {
			t.Errorf("a connection ended by Close logged as\n%s\nwant level=DEBUG", line)
		}
	}
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			t.Errorf("Close logged: %s", line)
		}
	}
}
