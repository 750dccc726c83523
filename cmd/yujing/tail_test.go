package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestTailSensor(t *testing.T) {
	inst := start(t, demoConfig(t, "http://127.0.0.1:9/hook"))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"tail", "-broker", "tcp://" + inst.mqtt, "-n", "3", "GT-101"}, &out, &errOut)
	}()
	waitFor(t, 10*time.Second, "tail to subscribe", func() bool {
		select {
		case c := <-code:
			t.Fatalf("tail exited with %d before subscribing\nstderr: %s", c, errOut.String())
		default:
		}
		return strings.Contains(errOut.String(), "subscribed to yujing/demo-plant/GT-101")
	})

	pub := publisher(t, inst.mqtt)
	for _, p := range []string{`{"value": 5}`, `{"value": 30}`, `{"value": "x"}`} {
		publish(t, pub, "yujing/demo-plant/GT-101", p)
	}
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("tail exited with %d\nstdout: %s\nstderr: %s", c, out.String(), errOut.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("tail did not stop after 3 messages\nstdout: %s\nstderr: %s", out.String(), errOut.String())
	}

	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	t.Logf("tail output:\n%s", out.String())
	if len(lines) != 3 {
		t.Fatalf("want 3 lines, got %d:\n%s", len(lines), out.String())
	}
	want := []string{
		"yujing/demo-plant/GT-101  GT-101  lel  5 %LEL  → ok",
		"yujing/demo-plant/GT-101  GT-101  lel  30 %LEL  → gas-lel: yellow (≥ 25)",
		"yujing/demo-plant/GT-101  GT-101  -  -  → rejected: bad_value",
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d = %q, want it to contain %q", i+1, lines[i], w)
		}
		// Receive time in the configured zone (Asia/Shanghai), then the topic.
		if ts, _, ok := strings.Cut(lines[i], "  "); !ok || len(ts) != len("2006-01-02 15:04:05") {
			t.Errorf("line %d = %q: want it to start with the receive time", i+1, lines[i])
		}
	}

	// tail is a separate client: yujing itself still got the messages.
	waitFor(t, 5*time.Second, "yujing's own rejection of the bad payload", func() bool {
		return strings.Contains(inst.logs.String(), "reason=bad_value topic=yujing/demo-plant/GT-101")
	})
}

func TestTailUnknownSensor(t *testing.T) {
	var out, errOut syncBuffer
	if c := run(context.Background(), []string{"tail", "NOPE-1"}, &out, &errOut); c != 1 {
		t.Fatalf("exit %d, want 1; stderr: %s", c, errOut.String())
	}
	if !strings.Contains(errOut.String(), `no sensor "NOPE-1"`) {
		t.Fatalf("stderr = %q", errOut.String())
	}
}
