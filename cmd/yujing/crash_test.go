package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"yujing/internal/testenv"
)

// TestCrashKeepsAcknowledgedTransitions SIGKILLs yujing in the middle of a
// burst of warnings and operator actions. After a restart, every action the
// API had confirmed (200) is in the history, and every alert the API had
// shown still exists: nothing acknowledged to a user is lost.
func TestCrashKeepsAcknowledgedTransitions(t *testing.T) {
	if testing.Short() {
		t.Skip("runs yujing as a child process")
	}
	dir := t.TempDir()
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	mqttAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	var sensors strings.Builder
	for i := range 40 {
		fmt.Fprintf(&sensors, "  - {id: C%02d, site: s%d, family: gas, metric: lel}\n", i, i%4)
	}
	cfg := fmt.Sprintf(`data_dir: %s
http: {listen: %q, `+testTokenYAML+`}
mqtt: {embedded: {listen: %q}}
sites: [{id: s0}, {id: s1}, {id: s2}, {id: s3}]
sensors:
%srules:
  - {name: gas, match: {family: gas}, above: {blue: 10, yellow: 25, orange: 40, red: 50}}
people: [{id: p, name: P}]
channels: [{name: log, log: {}}]
notify: [{people: [p], channels: [log]}]
`, filepath.Join(dir, "data"), httpAddr, mqttAddr, sensors.String())
	path := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	child := startNolossChild(t, path, logs)
	api := "http://" + httpAddr
	pub := publisher(t, mqttAddr)

	var mu sync.Mutex
	confirmed := map[int64]string{} // alert id → the action the API confirmed last
	seen := map[int64]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // readings: values wander through the tiers
		rnd := rand.New(rand.NewPCG(1, 2))
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			tok := pub.Publish(fmt.Sprintf("yujing/s%d/C%02d", (i%40)%4, i%40), 1, false, fmt.Sprintf(`{"value": %d}`, rnd.IntN(70)))
			tok.WaitTimeout(time.Second)
		}
	})
	wg.Go(func() { // operators act on whatever is open
		client := &http.Client{Timeout: 2 * time.Second, Transport: bearerTransport{}}
		for {
			select {
			case <-stop:
				return
			default:
			}
			var as []apiAlert
			resp, err := client.Get(api + "/api/v1/alerts?state=open&limit=50")
			if err != nil {
				continue
			}
			if json := decodeAlerts(resp, &as); json != nil {
				continue
			}
			for _, a := range as {
				mu.Lock()
				seen[a.ID] = true
				mu.Unlock()
				act := "dispose"
				body := `{"by": "op", "note": "处置中"}`
				if a.State == "firing" {
					act, body = "ack", `{"by": "op", "note": "收到"}`
				}
				resp, err := client.Post(fmt.Sprintf("%s/api/v1/alerts/%d/%s", api, a.ID, act), "application/json", strings.NewReader(body))
				if err != nil {
					continue
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					mu.Lock()
					confirmed[a.ID] = act
					mu.Unlock()
				}
			}
		}
	})
	// Let the burst run, then kill yujing mid-flight.
	time.Sleep(3 * time.Second)
	child.kill()
	close(stop)
	wg.Wait()
	mu.Lock()
	if len(confirmed) < 5 {
		t.Fatalf("only %d confirmed actions before the kill: the burst did not get going\n%s", len(confirmed), logs.String())
	}
	mu.Unlock()

	startNolossChild(t, path, logs)
	lost := 0
	for id, act := range confirmed {
		var d apiAlert
		if code := getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", api, id), &d); code != 200 {
			t.Errorf("alert %d (%s confirmed) is gone after the restart: %d", id, act, code)
			lost++
			continue
		}
		found := false
		for _, h := range d.History {
			if h.Actor == testActor && (act == "ack" && h.Event == "acknowledged" || act == "dispose" && h.Event == "disposed") {
				found = true
			}
		}
		if !found {
			t.Errorf("alert %d: the confirmed %s is missing from its history: %+v", id, act, d.History)
			lost++
		}
	}
	for id := range seen {
		if code := getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", api, id), nil); code != 200 {
			t.Errorf("alert %d, shown before the kill, is gone: %d", id, code)
		}
	}
	t.Logf("%d confirmed actions on %d alerts shown before the kill; %d lost", len(confirmed), len(seen), lost)
}

func decodeAlerts(resp *http.Response, as *[]apiAlert) error {
	defer resp.Body.Close()
	return jsonDecode(resp, as)
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }
