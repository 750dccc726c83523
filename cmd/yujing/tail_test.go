package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"yujing/configs"
	"yujing/ingest/decode/sparkplugb/spbtest"
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

// runTail runs yujing tail until it has printed n messages' lines, after
// publishing (once it has subscribed to every filter in want) each of
// msgs as topic=payload. It returns stdout and stderr.
func runTail(t *testing.T, broker string, args []string, subscribed string, msgs [][2]string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, append([]string{"tail", "-broker", "tcp://" + broker}, args...), &out, &errOut)
	}()
	waitFor(t, 10*time.Second, "tail to subscribe", func() bool {
		select {
		case c := <-code:
			t.Fatalf("tail exited with %d before subscribing\nstderr: %s", c, errOut.String())
		default:
		}
		return strings.Contains(errOut.String(), "subscribed to "+subscribed+" at ")
	})
	pub := publisher(t, broker)
	for _, m := range msgs {
		publish(t, pub, m[0], m[1])
	}
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("tail exited with %d\nstdout: %s\nstderr: %s", c, out.String(), errOut.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("tail did not stop\nstdout: %s\nstderr: %s", out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

// TestTailTemplateTopic: a sensor reached through the configuration's topic
// templates (mqtt.topics) is watched on the topics they map to it, and only
// those: another site's detector of the same id is not its.
func TestTailTemplateTopic(t *testing.T) {
	inst := start(t, demoConfig(t, "http://127.0.0.1:9/hook"))
	withTemplates := bytes.Replace(configs.Demo, []byte("  client_id: yujing-demo\n"),
		[]byte("  client_id: yujing-demo\n  topics: [\"plant/{site}/gas/{sensor}\", \"county/{region}/{any}/{sensor}\"]\n"), 1)
	path := filepath.Join(t.TempDir(), "templates.yaml")
	if err := os.WriteFile(path, withTemplates, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := runTail(t, inst.mqtt, []string{"-config", path, "-n", "3", "GT-101"},
		"yujing/demo-plant/GT-101, plant/demo-plant/gas/GT-101, county/320506/+/GT-101",
		[][2]string{
			{"plant/other-plant/gas/GT-101", `{"value": 99}`}, // not this sensor
			{"plant/demo-plant/gas/GT-101", `{"value": 30}`},
			{"county/320506/gw-7/GT-101", `{"value": 12}`},
			{"yujing/demo-plant/GT-101", `{"value": 5}`},
		})
	t.Logf("tail output:\n%s", out)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	want := []string{
		"plant/demo-plant/gas/GT-101  GT-101  lel  30 %LEL  → gas-lel: yellow (≥ 25)",
		"county/320506/gw-7/GT-101  GT-101  lel  12 %LEL  → gas-lel: blue (≥ 10)",
		"yujing/demo-plant/GT-101  GT-101  lel  5 %LEL  → ok",
	}
	if len(lines) != len(want) {
		t.Fatalf("want %d lines, got:\n%s", len(want), out)
	}
	for i, w := range want {
		if !strings.HasSuffix(lines[i], w) {
			t.Errorf("line %d = %q, want it to end with %q", i+1, lines[i], w)
		}
	}
}

// TestTailSensorFromAPI: a sensor registered through the API (not in the
// configuration file) is looked up at the running yujing.
func TestTailSensorFromAPI(t *testing.T) {
	inst := start(t, demoConfig(t, "http://127.0.0.1:9/hook"))
	if code, body := do(t, "POST", "http://"+inst.http+"/api/v1/sensors", `{"id": "GT-150", "name": "新装探测器", "site": "demo-plant",
		"family": "gas", "metric": "lel", "unit": "%LEL", "topic": "field/{site}/{sensor}", "max": 100}`); code != 201 {
		t.Fatalf("register: %d %s", code, body)
	}
	out, errOut := runTail(t, inst.mqtt, []string{"-url", "http://" + inst.http, "-token", testToken, "-n", "2", "GT-150"},
		"field/demo-plant/GT-150", [][2]string{
			{"field/demo-plant/GT-150", `{"value": 52}`},
			{"field/demo-plant/GT-150", `{"value": 120}`},
		})
	if !strings.Contains(errOut, "sensor GT-150 is not in the configuration; using its registration at http://"+inst.http) {
		t.Errorf("stderr: %s", errOut)
	}
	for _, w := range []string{"GT-150  lel  52 %LEL  → gas-lel: red (≥ 50)",
		"GT-150  lel  120 %LEL  → rejected: out_of_range: 120 is outside the physical range [-∞, 100]"} {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in\n%s", w, out)
		}
	}
	// Unknown everywhere: the error says where it looked.
	var so, se syncBuffer
	if c := run(t.Context(), []string{"tail", "-url", "http://" + inst.http, "-token", testToken, "GT-999"}, &so, &se); c != 1 ||
		!strings.Contains(se.String(), `no sensor "GT-999" in the configuration`) || !strings.Contains(se.String(), "HTTP 404") {
		t.Errorf("unknown sensor: exit %d, %s", c, se.String())
	}
}

// TestTailSameVerdictsAsServe: yujing tail judges every message as serve
// does, because both run ingest's one validation: for each topic tail
// refuses the same readings for the same reasons as serve keeps in
// /api/v1/rejected (undeclared metrics past mqtt.max_undeclared_metrics,
// bad metric names, out of range, unknown metric, unknown topic), accepts
// as many as serve stores, and shows a Sparkplug edge node's own metrics
// as ignored, as serve counts them, never as an unknown sensor.
func TestTailSameVerdictsAsServe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(`
data_dir: %s
mqtt: {embedded: {listen: "127.0.0.1:0"}}
sensors:
  - {id: M-1, site: plant-a, family: hazard, metric: value}
  - {id: TK-1, site: plant-a, family: hazard, metric: level, metrics: {level: m}, range: {max: 20}}
  - {id: SP-1, site: plant-a, family: hazard, metric: value, decoder: sparkplugb, topic: spBv1.0/plant/DDATA/edge9/SP-1}
`+sitePreamble, t.TempDir())), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTPListen, cfg.EmbeddedListen = "127.0.0.1:0", "127.0.0.1:0"
	inst := start(t, cfg)

	ts := time.Now().Add(-time.Minute).UnixMilli()
	var values []string
	for i := range 40 {
		values = append(values, fmt.Sprintf(`"m%02d": %d`, i, i))
	}
	node := func(typ string, ms uint64, seq uint64) string {
		return string(spbtest.Payload(ms, seq, spbtest.Metric(spbtest.Name("Supply Voltage"), spbtest.Type(spbtest.TypeFloat), spbtest.Float(24.1))))
	}
	msgs := [][2]string{
		{"yujing/plant-a/M-1", fmt.Sprintf(`{"ts": %d, "values": {%s}}`, ts, strings.Join(values, ", "))},
		{"yujing/plant-a/M-1", fmt.Sprintf(`{"ts": %d, "values": {"value": 2, "bell\u0007": 3}}`, ts+1)},
		{"yujing/plant-a/TK-1", fmt.Sprintf(`{"ts": %d, "values": {"level": 25, "temp": 3}}`, ts+2)},
		{"spBv1.0/plant/NBIRTH/edge9", node("NBIRTH", uint64(ts+3), 0)},
		{"spBv1.0/plant/NDATA/edge9", node("NDATA", uint64(ts+4), 1)},
		{"spBv1.0/plant/DDATA/edge9/SP-1", string(spbtest.Payload(uint64(ts+5), 2,
			spbtest.Metric(spbtest.Name("lel\n"), spbtest.Type(spbtest.TypeDouble), spbtest.Double(1)),
			spbtest.Metric(spbtest.Name("ok"), spbtest.Type(spbtest.TypeDouble), spbtest.Double(2))))},
		{"yujing/plant-a/NOPE", `{"value": 1}`},
	}
	out, _ := runTail(t, inst.mqtt, []string{"-config", path, "-n", fmt.Sprint(len(msgs)), "#"}, "#", msgs)
	t.Logf("tail output:\n%s", out)

	want := map[string][]string{
		"yujing/plant-a/M-1":             append(slices.Repeat([]string{"too_many_metrics"}, 8), "bad_metric_name"),
		"yujing/plant-a/TK-1":            {"out_of_range", "unknown_metric"},
		"spBv1.0/plant/DDATA/edge9/SP-1": {"bad_metric_name"},
		"yujing/plant-a/NOPE":            {"unknown_topic"},
	}
	for _, r := range want {
		slices.Sort(r)
	}
	// What serve made of them.
	var rej []struct{ Topic, Reason string }
	waitFor(t, 10*time.Second, "serve's 13 rejections and 34 readings", func() bool {
		getJSON(t, "http://"+inst.http+"/api/v1/rejected", &rej)
		return len(rej) >= 13 && stored(t, inst) >= 34
	})
	served := map[string][]string{}
	for _, r := range rej {
		served[r.Topic] = append(served[r.Topic], r.Reason)
	}
	for _, r := range served {
		slices.Sort(r)
	}
	// What tail made of them.
	tailed := map[string][]string{}
	accepted, ignored := 0, 0
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		head, outcome, ok := strings.Cut(l, "  → ")
		if !ok {
			t.Errorf("line %q: no outcome", l)
			continue
		}
		fields := strings.Split(head, "  ")
		switch {
		case len(fields) < 2:
			t.Errorf("line %q: no topic", l)
		case strings.HasPrefix(outcome, "rejected: "):
			reason, _, _ := strings.Cut(strings.TrimPrefix(outcome, "rejected: "), ":")
			tailed[fields[1]] = append(tailed[fields[1]], reason)
		case strings.HasPrefix(outcome, "ignored: node_metric"):
			ignored++
		case strings.HasPrefix(outcome, "device ") || strings.HasPrefix(outcome, "edge node "):
		default:
			accepted++
		}
	}
	for _, r := range tailed {
		slices.Sort(r)
	}
	if !maps.EqualFunc(served, want, slices.Equal) {
		t.Errorf("serve's rejections by topic:\n%v\nwant\n%v", served, want)
	}
	if !maps.EqualFunc(tailed, served, slices.Equal) {
		t.Errorf("tail's rejections by topic:\n%v\nserve's:\n%v", tailed, served)
	}
	if n := stored(t, inst); accepted != n || n != 34 {
		t.Errorf("tail accepted %d readings, serve stored %d, want 34", accepted, n)
	}
	if n := metricValue(inst.http, `yujing_ingest_ignored_total{reason="node_metric"}`); float64(ignored) != n || n != 2 {
		t.Errorf("tail ignored %d node metrics, serve %v, want 2", ignored, n)
	}
}
