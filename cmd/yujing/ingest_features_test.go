package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"yujing/ingest/decode/sparkplugb/spbtest"
	"yujing/internal/testenv"
)

// configFrom writes text to a file and loads it as `serve -config` would.
func configFrom(t *testing.T, text string) *configT {
	t.Helper()
	path := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatalf("config:\n%v", err)
	}
	cfg.HTTPListen = "127.0.0.1:0"
	if cfg.EmbeddedListen != "" {
		cfg.EmbeddedListen = "127.0.0.1:0"
	}
	return cfg
}

var storedRe = regexp.MustCompile(`yujing_ingest_readings_total\{stage="stored"\} (\d+)`)

// stored reads how many readings an instance stored from its /metrics.
func stored(t *testing.T, inst *instance) int {
	t.Helper()
	resp, err := authed.Get("http://" + inst.http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := storedRe.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no stored counter in metrics")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

const sitePreamble = `
sites: [{id: plant-a}]
rules:
  - {name: gas, match: {family: gas}, above: {yellow: 25, red: 50}}
people: [{id: p, name: P}]
channels: [{name: log, log: {}}]
notify: [{people: [p], channels: [log]}]
`

func TestTLSBrokerWithPassword(t *testing.T) {
	mq := testenv.Mosquitto(t, testenv.WithTLS())
	pwFile := filepath.Join(t.TempDir(), "mqtt-password")
	os.WriteFile(pwFile, []byte(mq.Password+"\n"), 0o600)
	cfg := configFrom(t, fmt.Sprintf(`
data_dir: %s
mqtt:
  broker: ssl://%s
  client_id: yujing-tls
  username: %s
  password_file: %s
  tls: {ca: %s, cert: %s, key: %s}
sensors: [{id: GT-1, site: plant-a, family: gas, metric: lel}]
`+sitePreamble, t.TempDir(), mq.TLSAddr, mq.Username, pwFile, mq.CAFile, mq.CertFile, mq.KeyFile))
	inst := start(t, cfg)
	publish(t, publisher(t, mq.URL()), "yujing/plant-a/GT-1", `{"value": 30}`)
	waitFor(t, 10*time.Second, "the reading over TLS to raise an alert", func() bool {
		var as []apiAlert
		getJSON(t, "http://"+inst.http+"/api/v1/alerts", &as)
		return len(as) == 1 && as[0].Level == "yellow"
	})

	// A wrong password is refused by the broker: serve does not start.
	bad := *cfg
	bad.MQTT.Password = "wrong"
	bad.MQTT.ClientID = "yujing-tls-bad"
	bad.DataDir = t.TempDir()
	err := serve(t.Context(), &bad, serveOptions{Logger: discardLogger()})
	if err == nil {
		t.Fatal("serve started with a wrong MQTT password")
	}
	t.Logf("wrong password: %v", err)
}

func TestTopicTemplatesMetricMapDiscoveryDuplicates(t *testing.T) {
	cfg := configFrom(t, fmt.Sprintf(`
data_dir: %s
mqtt:
  embedded: {listen: "127.0.0.1:0"}
  topics: ["plant/{site}/gas/{sensor}"]
  discovery: true
sensors:
  - {id: GT-7, site: plant-a, family: gas, metric: lel, metric_map: {ch1: lel}}
  - {id: TK-3, site: plant-a, family: hazard, metric: level, topic: "tanks/{site}/{sensor}"}
`+sitePreamble, t.TempDir()))
	inst := start(t, cfg)
	api := "http://" + inst.http
	pub := publisher(t, inst.mqtt)

	ts := time.Now().UnixMilli()
	publish(t, pub, "plant/plant-a/gas/GT-7", fmt.Sprintf(`{"metric": "ch1", "value": 30, "ts": %d}`, ts))
	publish(t, pub, "plant/plant-a/gas/GT-7", fmt.Sprintf(`{"metric": "ch1", "value": 30, "ts": %d}`, ts)) // duplicate
	publish(t, pub, "tanks/plant-a/TK-3", `{"value": 4.2}`)
	publish(t, pub, "plant/plant-a/gas/GT-404", `{"value": 1}`)
	publish(t, pub, "vendor/box-9/data", `{"t": 1}`)
	publish(t, pub, "yujing/plant-a/NEW-1", `{"value": 2}`)

	waitFor(t, 5*time.Second, "the templated reading to raise an alert", func() bool {
		var as []apiAlert
		getJSON(t, api+"/api/v1/alerts", &as)
		return len(as) == 1 && as[0].Sensor == "GT-7" && as[0].Value == 30
	})
	var disc struct {
		Topics []struct {
			Topic, Site, Sensor string
			Count               int
		} `json:"topics"`
	}
	waitFor(t, 5*time.Second, "three discovered topics", func() bool {
		getJSON(t, api+"/api/v1/sensors/discovered", &disc)
		return len(disc.Topics) == 3
	})
	found := map[string]string{}
	for _, d := range disc.Topics {
		found[d.Topic] = d.Site + "/" + d.Sensor
	}
	if found["yujing/plant-a/NEW-1"] != "plant-a/NEW-1" || found["vendor/box-9/data"] != "/" {
		t.Errorf("discovered %v", found)
	}
	var rej []struct{ Reason, Error string }
	getJSON(t, api+"/api/v1/rejected", &rej)
	reasons := map[string]int{}
	for _, r := range rej {
		reasons[r.Reason]++
	}
	if reasons["duplicate"] != 1 || reasons["unknown_topic"] != 3 {
		t.Errorf("rejections by reason %v", reasons)
	}
	var ss []struct {
		ID   string
		Last []struct {
			Metric string
			Value  float64
		}
	}
	getJSON(t, api+"/api/v1/sensors", &ss)
	for _, s := range ss {
		if s.ID == "TK-3" && (len(s.Last) != 1 || s.Last[0].Value != 4.2) {
			t.Errorf("TK-3 via its templated own topic: %+v", s.Last)
		}
		if s.ID == "GT-7" && (len(s.Last) != 1 || s.Last[0].Metric != "lel") {
			t.Errorf("GT-7 metric not mapped: %+v", s.Last)
		}
	}
}

func TestSharedSubscriptionSplitsLoad(t *testing.T) {
	mq := testenv.Mosquitto(t)
	text := `
data_dir: %s
mqtt: {broker: %s, client_id: %s, shared_group: yujing}
sensors:
`
	for i := range 10 {
		text += fmt.Sprintf("  - {id: S%d, site: plant-a, family: gas, metric: lel}\n", i)
	}
	a := start(t, configFrom(t, fmt.Sprintf(text+sitePreamble, t.TempDir(), mq.URL(), "yujing-a")))
	b := start(t, configFrom(t, fmt.Sprintf(text+sitePreamble, t.TempDir(), mq.URL(), "yujing-b")))
	pub := publisher(t, mq.URL())
	base := time.Now().Add(-time.Minute).UnixMilli()
	const n = 400
	for i := range n {
		publish(t, pub, fmt.Sprintf("yujing/plant-a/S%d", i%10), fmt.Sprintf(`{"value": 1, "ts": %d}`, base+int64(i)))
	}
	waitFor(t, 10*time.Second, "all readings stored across both instances", func() bool {
		return stored(t, a)+stored(t, b) >= n
	})
	time.Sleep(300 * time.Millisecond) // a duplicate delivery would show up by now
	na, nb := stored(t, a), stored(t, b)
	if na+nb != n || na == 0 || nb == 0 {
		t.Fatalf("instance a stored %d, b %d; want %d in all, split between both", na, nb, n)
	}
	t.Logf("shared subscription split %d readings as %d + %d", n, na, nb)
}

func TestAlertListByRegion(t *testing.T) {
	cfg := configFrom(t, fmt.Sprintf(`
data_dir: %s
mqtt: {embedded: {listen: "127.0.0.1:0"}}
sites: [{id: a, region: "320506"}, {id: b, region: "320507"}, {id: c, region: "330100"}]
sensors:
  - {id: A1, site: a, family: gas, metric: lel}
  - {id: B1, site: b, family: gas, metric: lel}
  - {id: C1, site: c, family: gas, metric: lel}
rules:
  - {name: gas, match: {family: gas}, above: {yellow: 25}}
people: [{id: p, name: P}]
channels: [{name: log, log: {}}]
notify: [{people: [p], channels: [log]}]
`, t.TempDir()))
	inst := start(t, cfg)
	api := "http://" + inst.http
	pub := publisher(t, inst.mqtt)
	for _, s := range []string{"a/A1", "b/B1", "c/C1"} {
		publish(t, pub, "yujing/"+s, `{"value": 30}`)
	}
	waitFor(t, 5*time.Second, "three alerts", func() bool {
		var as []apiAlert
		getJSON(t, api+"/api/v1/alerts", &as)
		return len(as) == 3
	})
	for region, want := range map[string]int{"3205": 2, "320506": 1, "33": 1, "44": 0} {
		var as []apiAlert
		getJSON(t, api+"/api/v1/alerts?region="+region, &as)
		if len(as) != want {
			t.Errorf("region %s: %d alerts, want %d", region, len(as), want)
		}
	}
}

// TestBurstWithoutTimestamps: readings without their own timestamp that
// arrive together each get their own receive time — none is refused as a
// duplicate or overwrites another in the store.
func TestBurstWithoutTimestamps(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer hs.Close()
	inst := start(t, demoConfig(t, hs.URL))
	pub := publisher(t, inst.mqtt)
	for i := range 50 {
		pub.Publish("yujing/demo-plant/GT-101", 1, false, fmt.Sprintf(`{"value": %d}`, i%9)) // no wait: a burst
	}
	waitFor(t, 10*time.Second, "50 readings stored", func() bool { return stored(t, inst) == 50 })
	var rej []struct{ Reason string }
	getJSON(t, "http://"+inst.http+"/api/v1/rejected", &rej)
	if len(rej) != 0 {
		t.Errorf("rejected %d of the burst: %+v", len(rej), rej)
	}
}

// Issue 14 item 13. A sensor that lists no metrics takes any metric name a
// payload gives, but at most mqtt.max_undeclared_metrics (default 32) of
// them besides its own metric; names that are not valid UTF-8 or hold
// control characters never become metrics (nor InfluxDB field keys),
// whatever the decoder (json and sparkplugb here; the shipped decoders
// refuse invalid UTF-8 themselves, so ingest's unit tests feed it through
// a decoder that lets it pass).
func TestMetricNamesBounded(t *testing.T) {
	inst := start(t, configFrom(t, fmt.Sprintf(`
data_dir: %s
mqtt: {embedded: {listen: "127.0.0.1:0"}}
sensors:
  - {id: M-1, site: plant-a, family: hazard, metric: value}
  - {id: SP-1, site: plant-a, family: hazard, metric: value, decoder: sparkplugb, topic: spBv1.0/plant/DDATA/edge9/SP-1}
`+sitePreamble, t.TempDir())))
	api := "http://" + inst.http
	pub := publisher(t, inst.mqtt)
	ts := time.Now().Add(-time.Minute).UnixMilli()
	var values []string
	for i := range 40 {
		values = append(values, fmt.Sprintf(`"m%02d": %d`, i, i))
	}
	publish(t, pub, "yujing/plant-a/M-1", fmt.Sprintf(`{"ts": %d, "values": {%s}}`, ts, strings.Join(values, ", ")))
	publish(t, pub, "yujing/plant-a/M-1", fmt.Sprintf(`{"ts": %d, "values": {"m00": 1, "value": 2, "bell\u0007": 3}}`, ts+1))
	publish(t, pub, "spBv1.0/plant/DDATA/edge9/SP-1", string(spbtest.Payload(uint64(ts+2), 0,
		spbtest.Metric(spbtest.Name("lel\n"), spbtest.Type(spbtest.TypeDouble), spbtest.Double(1)),
		spbtest.Metric(spbtest.Name("ok"), spbtest.Type(spbtest.TypeDouble), spbtest.Double(2)))))
	// M-1 and SP-1 are on different shards: wait for the last message of
	// each.
	var got map[string][]string
	waitFor(t, 10*time.Second, "M-1's value and SP-1's ok", func() bool {
		var ss []struct {
			ID   string
			Last []struct{ Metric string }
		}
		getJSON(t, api+"/api/v1/sensors", &ss)
		got = map[string][]string{}
		for _, s := range ss {
			for _, l := range s.Last {
				got[s.ID] = append(got[s.ID], l.Metric)
			}
		}
		return slices.Contains(got["M-1"], "value") && len(got["SP-1"]) > 0
	})
	if len(got["M-1"]) != 33 || !slices.Contains(got["M-1"], "m31") || slices.Contains(got["M-1"], "m32") || !slices.Contains(got["M-1"], "value") {
		t.Errorf("M-1's metrics %v, want m00…m31 and value", got["M-1"])
	}
	if !slices.Equal(got["SP-1"], []string{"ok"}) {
		t.Errorf("SP-1's metrics %v, want [ok]", got["SP-1"])
	}
	var rej []struct{ Topic, Sensor, Reason, Error string }
	getJSON(t, api+"/api/v1/rejected", &rej)
	reasons := map[string][]string{}
	for _, r := range rej {
		reasons[r.Reason] = append(reasons[r.Reason], r.Sensor+": "+r.Error)
	}
	if n := len(reasons["too_many_metrics"]); n != 8 || !strings.Contains(strings.Join(reasons["too_many_metrics"], "\n"), `M-1: metric "m39": sensor M-1 lists no metrics and already has 32 (mqtt.max_undeclared_metrics)`) {
		t.Errorf("too_many_metrics rejections: %q", reasons["too_many_metrics"])
	}
	if bad := strings.Join(reasons["bad_metric_name"], "\n"); len(reasons["bad_metric_name"]) != 2 ||
		!strings.Contains(bad, `M-1: metric "bell\a": control character`) || !strings.Contains(bad, `SP-1: metric "lel\n": control character`) {
		t.Errorf("bad_metric_name rejections: %q", reasons["bad_metric_name"])
	}
	if len(rej) != 10 {
		t.Errorf("rejected %d, want 10: %+v", len(rej), rej)
	}
}
