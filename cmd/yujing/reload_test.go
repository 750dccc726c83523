package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "site.yaml")
	base := fmt.Sprintf(`data_dir: %s
http: {listen: "127.0.0.1:0"}
mqtt: {embedded: {listen: "127.0.0.1:0"}}
sites: [{id: p}]
people: [{id: x, name: X}]
channels: [{name: log, log: {}}]
notify: [{people: [x], channels: [log]}]
`, filepath.Join(dir, "data"))
	write := func(rest string) {
		if err := os.WriteFile(path, []byte(base+rest), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`sensors: [{id: G1, site: p, family: gas, metric: lel}]
rules:
  - {name: gas, match: {family: gas}, above: {yellow: 25, red: 50}}
`)
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTPListen, cfg.EmbeddedListen = "127.0.0.1:0", "127.0.0.1:0"
	inst := start(t, cfg)
	api := "http://" + inst.http
	pub := publisher(t, inst.mqtt)
	publish(t, pub, "yujing/p/G1", `{"value": 30}`)
	waitFor(t, 5*time.Second, "the yellow alert", func() bool {
		var as []apiAlert
		getJSON(t, api+"/api/v1/alerts", &as)
		return len(as) == 1 && as[0].Level == "yellow"
	})

	// A broken file: 400 naming the place, the running rules stay.
	write(`sensors: [{id: G1, site: p, family: gas, metric: lel}]
rules:
  - {name: gas, match: {family: gas}, above: {yellow: 25, red: 20}}
`)
	code, body := do(t, "POST", api+"/-/reload", "")
	if code != 400 || !strings.Contains(body, path+":10:64: rule \"gas\": above: red threshold 20") || !strings.Contains(body, "running one stays") {
		t.Fatalf("broken reload: %d %s", code, body)
	}
	// Lower red threshold, a new sensor and a new rule: applied in place;
	// the open alert carries on and is upgraded by the new threshold.
	write(`sensors: [{id: G1, site: p, family: gas, metric: lel}, {id: T1, site: p, family: hazard, metric: level}]
rules:
  - {name: gas, match: {family: gas}, above: {yellow: 25, red: 29}}
  - {name: tank, sensors: [T1], above: {orange: 9}}
`)
	if code, body := do(t, "POST", api+"/-/reload", ""); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	var rules []struct {
		Name    string
		Sensors int
		Health  string
		Open    int `json:"open_alerts"`
	}
	getJSON(t, api+"/api/v1/rules", &rules)
	if len(rules) != 2 || rules[0].Name != "gas" || rules[0].Open != 1 || rules[1].Name != "tank" || rules[1].Sensors != 1 || rules[0].Health != "ok" {
		t.Fatalf("rules after reload: %+v", rules)
	}
	publish(t, pub, "yujing/p/G1", `{"value": 30}`)
	publish(t, pub, "yujing/p/T1", `{"value": 9.5}`)
	waitFor(t, 5*time.Second, "the upgrade by the new threshold and the new rule's alert", func() bool {
		var as []apiAlert
		getJSON(t, api+"/api/v1/alerts?state=open", &as)
		levels := map[string]string{}
		for _, a := range as {
			levels[a.Rule] = a.Level
		}
		return len(as) == 2 && levels["gas"] == "red" && levels["tank"] == "orange"
	})

	// SIGHUP does the same.
	write(`sensors: [{id: G1, site: p, family: gas, metric: lel}, {id: T1, site: p, family: hazard, metric: level}]
rules:
  - {name: gas, match: {family: gas}, above: {yellow: 25, red: 29}}
  - {name: tank, sensors: [T1], above: {orange: 9}}
  - {name: tank-low, sensors: [T1], below: {yellow: 1}}
  - {name: gas-hour, sensors: [G1], schedule: "@every 1m", window: 1h, aggregate: max, above: {orange: 40}}
`)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	var all []struct{ Name, Kind, Schedule string }
	waitFor(t, 5*time.Second, "the SIGHUP reload with a scheduled rule", func() bool {
		getJSON(t, api+"/api/v1/rules", &all)
		return len(all) == 4 && all[3].Name == "gas-hour" && all[3].Kind == "scheduled" && all[3].Schedule == "@every 1m"
	})
}
