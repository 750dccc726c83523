package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestSimulateGasLeak runs 'yujing simulate gas-leak' in-process against an
// embedded yujing on the demo configuration: the demo's gas warning is
// raised and shows in GET /api/v1/alerts.
func TestSimulateGasLeak(t *testing.T) {
	hook := &hookRecorder{t: t, secret: "s3cret-for-test"}
	hs := httptest.NewServer(hook)
	defer hs.Close()
	inst := start(t, demoConfig(t, hs.URL+"/hook"))

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"simulate", "-broker", "tcp://" + inst.mqtt, "-duration", "3s", "-rate", "20/s", "gas-leak"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("simulate exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "\rsent ") || !strings.Contains(stderr.String(), "msg/s") {
		t.Errorf("no progress line on stderr:\n%q", stderr.String())
	}
	var alerts []apiAlert
	waitFor(t, 10*time.Second, "the gas-lel alert of GT-101", func() bool {
		alerts = nil
		getJSON(t, "http://"+inst.http+"/api/v1/alerts", &alerts)
		for _, a := range alerts {
			if a.Rule == "gas-lel" && a.Sensor == "GT-101" {
				return true
			}
		}
		return false
	})
	// The ramp goes through every tier: the upgrade to red is logged.
	if !strings.Contains(inst.logs.String(), `msg="alert upgraded" alert_id=1 rule=gas-lel sensor=GT-101 level=red`) {
		t.Errorf("the gas ramp did not reach red")
	}
}

func TestSimulateUsageErrors(t *testing.T) {
	var stdout, stderr bytes.Buffer
	for _, args := range [][]string{
		{"simulate", "gas-leak"}, // no broker
		{"simulate", "-broker", "tcp://127.0.0.1:1", "no-such-scenario"},
		{"simulate", "-broker", "tcp://127.0.0.1:1", "-rate", "fast", "gas-leak"},
	} {
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
