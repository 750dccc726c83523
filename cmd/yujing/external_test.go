package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"yujing/internal/testenv"
	"yujing/store/influx"
)

// TestExternalMosquittoInflux runs serve against a real mosquitto and a real
// InfluxDB 1.8.10, configured from a file, and reads the stored points back
// with Flux through the same client library.
func TestExternalMosquittoInflux(t *testing.T) {
	mq := testenv.Mosquitto(t)
	db := testenv.InfluxDB(t)
	hook := &hookRecorder{t: t, secret: "ext-secret"}
	hs := httptest.NewServer(hook)
	defer hs.Close()

	dir := t.TempDir()
	path := filepath.Join(dir, "site.yaml")
	t.Setenv("TEST_HOOK_SECRET", "ext-secret")
	cfgText := fmt.Sprintf(`
data_dir: %s
http: {listen: "127.0.0.1:0"}
mqtt:
  broker: %s
  client_id: yujing-external-test
influx:
  url: %s
  bucket: %s
sites:
  - {id: plant-a, name: 甲化工厂, region: "320506"}
sensors:
  - {id: GT-7, site: plant-a, family: gas, metric: lel, unit: "%%LEL", range: {min: 0, max: 100}}
  - {id: TK-9, site: plant-a, family: hazard, metric: level, metrics: {level: m, pressure: MPa}}
rules:
  - name: gas
    match: {family: gas}
    above: {yellow: 25, red: 50}
people:
  - {id: wang, name: 王强}
channels:
  - name: hook
    webhook: {url: %q, secret: "${TEST_HOOK_SECRET}"}
delivery: {group_wait: 300ms}
notify:
  - {people: [wang], channels: [hook]}
`, filepath.Join(dir, "data"), mq.URL(), db.URL, db.Bucket(), hs.URL+"/hook")
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.EmbeddedListen != "" || cfg.Influx == nil {
		t.Fatalf("config not in external mode: embedded %q influx %v", cfg.EmbeddedListen, cfg.Influx)
	}
	inst := start(t, cfg)
	pub := publisher(t, mq.URL())

	// 60 gas readings and 30 two-metric tank readings with explicit
	// millisecond timestamps, the last gas one over the red threshold.
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond).UTC()
	type point struct {
		ts time.Time
		v  float64
	}
	var gas, level, pressure []point
	for i := range 60 {
		ts := base.Add(time.Duration(i) * 1500 * time.Millisecond).Add(time.Duration(i) * time.Millisecond)
		v := 1.25 + float64(i)*0.125
		if i == 59 {
			v = 61.5
		}
		gas = append(gas, point{ts, v})
		publish(t, pub, "yujing/plant-a/GT-7", fmt.Sprintf(`{"value": %g, "ts": %d}`, v, ts.UnixMilli()))
	}
	for i := range 30 {
		ts := base.Add(time.Duration(i) * time.Second)
		l, p := 5+float64(i)/8, 0.4+float64(i)/1000
		level, pressure = append(level, point{ts, l}), append(pressure, point{ts, p})
		publish(t, pub, "yujing/plant-a/TK-9", fmt.Sprintf(`{"ts": %q, "values": {"level": %g, "pressure": %g}}`, ts.Format(time.RFC3339Nano), l, p))
	}

	w, err := influx.New(influx.Config{URL: db.URL, Bucket: db.Bucket()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	check := func(sensor, metric string, want []point) {
		t.Helper()
		from, to := base.Add(-time.Second), time.Now().Add(time.Minute)
		var got []struct {
			ts time.Time
			v  float64
		}
		waitFor(t, 15*time.Second, fmt.Sprintf("%d points of %s %s in InfluxDB", len(want), sensor, metric), func() bool {
			rs, err := w.Query(context.Background(), sensor, metric, from, to)
			if err != nil {
				t.Logf("query: %v", err)
				return false
			}
			got = got[:0]
			for _, r := range rs {
				got = append(got, struct {
					ts time.Time
					v  float64
				}{r.Time, r.Value})
			}
			return len(rs) >= len(want)
		})
		if len(got) != len(want) {
			t.Fatalf("%s %s: %d points, want %d", sensor, metric, len(got), len(want))
		}
		for i := range want {
			if !got[i].ts.Equal(want[i].ts) || got[i].v != want[i].v {
				t.Fatalf("%s %s point %d = %v %g, want %v %g", sensor, metric, i, got[i].ts, got[i].v, want[i].ts, want[i].v)
			}
		}
	}
	check("GT-7", "lel", gas)
	check("TK-9", "level", level)
	check("TK-9", "pressure", pressure)

	// The red reading raised a warning, visible in the API and called out.
	api := "http://" + inst.http
	var alerts []apiAlert
	waitFor(t, 5*time.Second, "the red alert", func() bool {
		alerts = nil
		getJSON(t, api+"/api/v1/alerts", &alerts)
		return len(alerts) == 1 && alerts[0].Level == "red"
	})
	if alerts[0].Sensor != "GT-7" || alerts[0].Value != 61.5 {
		t.Errorf("alert = %+v", alerts[0])
	}
	waitFor(t, 5*time.Second, "the webhook call", func() bool { c, _ := hook.snapshot(); return len(c) == 1 })
	calls, bad := hook.snapshot()
	if len(bad) > 0 || calls[0]["level"] != "red" || calls[0]["person_name"] != "王强" {
		t.Errorf("webhook calls %v, bad %v", calls, bad)
	}
	if code := getJSON(t, api+"/healthz", nil); code != http.StatusOK {
		t.Errorf("healthz = %d", code)
	}
}
