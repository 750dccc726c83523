package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEmbeddedConsoleAndLiveStream(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer hs.Close()
	inst := start(t, demoConfig(t, hs.URL))
	api := "http://" + inst.http

	for path, want := range map[string]string{"/": "预警值守台", "/console.js": "EventSource", "/console.css": "--red"} {
		resp, err := http.Get(api + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte(want)) {
			t.Errorf("GET %s: %d, body lacks %q", path, resp.StatusCode, want)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", api+"/api/v1/stream", nil)
	resp, err := authed.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("stream content type %q", ct)
	}
	lines := bufio.NewScanner(resp.Body)
	lines.Scan() // "retry: 2000" once connected
	publish(t, publisher(t, inst.mqtt), "yujing/demo-plant/TK-201", `{"values": {"level": 9.6, "pressure": 0.5}}`)
	var event, data string
	for lines.Scan() {
		l := lines.Text()
		if v, ok := strings.CutPrefix(l, "event: "); ok {
			event = v
		}
		if v, ok := strings.CutPrefix(l, "data: "); ok && event == "alert" {
			data = v
			break // "system" events (yujing's own health) come too
		}
	}
	if event != "alert" || !strings.Contains(data, `"event":"raised"`) || !strings.Contains(data, `"level":"red"`) || !strings.Contains(data, `"rule":"tank-level-high"`) {
		t.Fatalf("stream gave event %q data %s", event, data)
	}
}

func TestRestartKeepsOpenAlerts(t *testing.T) {
	hook := &hookRecorder{t: t, secret: "s3cret-for-test"}
	hs := httptest.NewServer(hook)
	defer hs.Close()
	cfg := demoConfig(t, hs.URL)
	first := start(t, cfg)
	publish(t, publisher(t, first.mqtt), "yujing/demo-plant/RG-301", `{"value": 35}`)
	var alerts []apiAlert
	waitFor(t, 5*time.Second, "the rain alert", func() bool {
		alerts = nil
		getJSON(t, "http://"+first.http+"/api/v1/alerts", &alerts)
		return len(alerts) == 1
	})
	waitFor(t, 5*time.Second, "the first call", func() bool { c, _ := hook.snapshot(); return len(c) == 1 })
	first.stop()

	second := start(t, cfg)
	api := "http://" + second.http
	pub := publisher(t, second.mqtt)
	// Same level again: the restored alert carries on, no duplicate, no call.
	publish(t, pub, "yujing/demo-plant/RG-301", `{"value": 36}`)
	// Worse: the same alert is upgraded.
	publish(t, pub, "yujing/demo-plant/RG-301", `{"value": 55}`)
	waitFor(t, 5*time.Second, "the upgrade after restart", func() bool {
		var d apiAlert
		getJSON(t, api+"/api/v1/alerts/1", &d)
		return d.Level == "orange"
	})
	alerts = nil
	getJSON(t, api+"/api/v1/alerts", &alerts)
	if len(alerts) != 1 || alerts[0].ID != 1 {
		t.Fatalf("after restart: %+v, want the one alert carried on", alerts)
	}
	waitFor(t, 5*time.Second, "the upgrade call", func() bool { c, _ := hook.snapshot(); return len(c) == 2 })
	// No sleep for a duplicate call: stopping drains notify (what is
	// queued is sent before serve returns), so a duplicate would be in.
	second.stop()
	calls, _ := hook.snapshot()
	if len(calls) != 2 || calls[0]["event"] != "raised" || calls[1]["event"] != "upgraded" {
		t.Errorf("calls after restart: %v", calls)
	}
}

func TestServeRefusesBrokenConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broken.yaml")
	os.WriteFile(path, []byte("sites:\n  - id: a\nsensors:\n  - id: s1\n    site: b\n    family: gas\nrules:\n  - name: r\n    sensors: [s1]\n    above: {red: 10, orange: 20}\n"), 0o600)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "-config", path, "-http", "127.0.0.1:0"}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{
		path + `:5:11: sensor "s1": site "b" is not defined under sites`,
		path + `:10:18: rule "r": above: red threshold 10 must be higher than orange threshold 20`,
		"not starting",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}
