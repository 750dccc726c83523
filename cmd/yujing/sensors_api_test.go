package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := authed.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(b.String()), &e) == nil && e.Error != "" {
		return resp.StatusCode, e.Error
	}
	return resp.StatusCode, b.String()
}

func TestSensorsAPI(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer hs.Close()
	cfg := demoConfig(t, hs.URL)
	inst := start(t, cfg)
	api := "http://" + inst.http + "/api/v1/sensors"

	// Register a gas detector on its own topic: the family rule applies to
	// it and yujing subscribes to the new topic at once.
	code, body := do(t, "POST", api, `{"id": "GT-102", "name": "装卸区可燃气体", "site": "demo-plant", "family": "gas",
		"metric": "lel", "unit": "%LEL", "topic": "field/{site}/{sensor}", "interval": "10s", "min": 0, "max": 100}`)
	if code != http.StatusCreated || !strings.Contains(body, `"topic":"field/demo-plant/GT-102"`) {
		t.Fatalf("create: %d %s", code, body)
	}
	publish(t, publisher(t, inst.mqtt), "field/demo-plant/GT-102", `{"value": 52}`)
	waitFor(t, 5*time.Second, "a red alert for the new sensor", func() bool {
		var as []apiAlert
		getJSON(t, "http://"+inst.http+"/api/v1/alerts", &as)
		return len(as) == 1 && as[0].Sensor == "GT-102" && as[0].Level == "red"
	})

	for _, c := range []struct {
		method, url, body string
		code              int
		want              string
	}{
		{"POST", api, `{"id": "GT-102", "site": "demo-plant", "family": "gas"}`, 409, "already exists"},
		{"POST", api, `{"id": "X 1", "site": "nowhere", "family": "smoke", "decoder": "xml"}`, 400, `site: site "nowhere" is not defined`},
		{"POST", api, `{"id": "X2", "site": "demo-plant", "family": "gas", "colour": "red"}`, 400, `unknown field "colour"`},
		{"POST", api, `{"id": "X3", "site": "demo-plant", "family": "gas", "topic": "yujing/demo-plant/GT-101"}`, 400, "already used by sensor GT-101"},
		{"PUT", api + "/NOPE", `{"site": "demo-plant", "family": "gas"}`, 404, "no such sensor"},
		{"PUT", api + "/GT-102", `{"id": "OTHER", "site": "demo-plant", "family": "gas"}`, 400, "URL says"},
		{"DELETE", api + "/NOPE", ``, 404, "no such sensor"},
	} {
		code, body := do(t, c.method, c.url, c.body)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s %s %s: %d %s; want %d containing %q", c.method, c.url, c.body, code, body, c.code, c.want)
		}
	}
	// The invalid one listed every problem.
	if _, body := do(t, "POST", api, `{"id": "X 1", "site": "nowhere", "family": "smoke", "decoder": "xml"}`); !strings.Contains(body, "family") || !strings.Contains(body, "decoder") || !strings.Contains(body, "id") {
		t.Errorf("not every problem listed: %s", body)
	}

	// Change the new sensor, delete a configured one.
	if code, body := do(t, "PUT", api+"/GT-102", `{"site": "demo-plant", "family": "gas", "metric": "lel", "topic": "field/demo-plant/GT-102", "max": 60}`); code != 200 || !strings.Contains(body, `"max":60`) {
		t.Fatalf("update: %d %s", code, body)
	}
	if code, _ := do(t, "DELETE", api+"/RG-301", ""); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := do(t, "GET", api+"/RG-301", ""); code != 404 {
		t.Errorf("deleted sensor still there: %d", code)
	}

	// After a restart both changes are still in force.
	inst.stop()
	second := start(t, cfg)
	api = "http://" + second.http + "/api/v1/sensors"
	if code, body := do(t, "GET", api+"/GT-102", ""); code != 200 || !strings.Contains(body, `"max":60`) {
		t.Errorf("GT-102 after restart: %d %s", code, body)
	}
	if code, _ := do(t, "GET", api+"/RG-301", ""); code != 404 {
		t.Errorf("RG-301 came back after restart: %d", code)
	}
	pub := publisher(t, second.mqtt)
	publish(t, pub, "yujing/demo-plant/RG-301", `{"value": 80}`)
	publish(t, pub, "field/demo-plant/GT-102", `{"value": 70}`) // over its new max of 60
	waitFor(t, 5*time.Second, "both rejections", func() bool {
		var rej []struct{ Reason, Topic string }
		getJSON(t, "http://"+second.http+"/api/v1/rejected", &rej)
		got := map[string]bool{}
		for _, r := range rej {
			got[r.Reason+" "+r.Topic] = true
		}
		return got["unknown_topic yujing/demo-plant/RG-301"] && got["out_of_range field/demo-plant/GT-102"]
	})
}
