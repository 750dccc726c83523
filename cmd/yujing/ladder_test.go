package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestChannelLadderFallsBack(t *testing.T) {
	var bad atomic.Int32
	rejecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bad.Add(1)
		http.Error(w, "template rejected", http.StatusBadRequest) // permanent
	}))
	defer rejecting.Close()
	var got atomic.Int32
	accepting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
	defer accepting.Close()
	cfg := configFrom(t, fmt.Sprintf(`
data_dir: %s
mqtt: {embedded: {listen: "127.0.0.1:0"}}
delivery: {group_wait: 0s}
sites: [{id: p}]
sensors: [{id: G1, site: p, family: gas, metric: lel}]
rules: [{name: gas, match: {family: gas}, above: {red: 50}}]
people: [{id: x, name: X}]
channels:
  - {name: im, webhook: {url: %q}}
  - {name: sms, webhook: {url: %q}}
notify: [{people: [x], ladder: [im, sms]}]
`, t.TempDir(), rejecting.URL, accepting.URL))
	inst := start(t, cfg)
	api := "http://" + inst.http
	publish(t, publisher(t, inst.mqtt), "yujing/p/G1", `{"value": 60}`)
	waitFor(t, 10*time.Second, "the call on the next channel", func() bool { return got.Load() == 1 })
	var as []apiAlert
	getJSON(t, api+"/api/v1/alerts", &as)
	var d struct {
		Calls []struct {
			ID, Channel, Status string
			LastError           string `json:"last_error"`
		}
	}
	waitFor(t, 5*time.Second, "both calls in the timeline", func() bool {
		getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", api, as[0].ID), &d)
		return len(d.Calls) == 2 && d.Calls[1].Status == "sent"
	})
	if d.Calls[0].Channel != "im" || d.Calls[0].Status != "failed" || d.Calls[0].LastError == "" ||
		d.Calls[1].Channel != "sms" || d.Calls[1].ID != d.Calls[0].ID+">sms" {
		t.Fatalf("timeline: %+v", d.Calls)
	}
	if bad.Load() != 1 {
		t.Errorf("the rejecting channel was tried %d times; a permanent failure is not retried", bad.Load())
	}
}
