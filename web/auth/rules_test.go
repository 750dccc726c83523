package auth

import (
	"testing"
	"time"
)

func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		method, path  string
		metricsPublic bool
		want          Role
	}{
		{"GET", "/healthz", false, Public},
		{"HEAD", "/healthz", false, Public},
		{"GET", "/metrics", false, Viewer},
		{"GET", "/metrics", true, Public},
		{"GET", "/", false, Public},
		{"GET", "/index.html", false, Public},
		{"GET", "/console.js", false, Public},
		{"POST", "/", false, Admin},
		{"POST", "/api/v1/login", false, Public},
		{"GET", "/api/v1/login", false, Viewer},
		{"POST", "/api/v1/callbacks/aliyun_sms", false, Public},
		{"POST", "/api/v1/callbacks/a/b", false, Admin},
		{"GET", "/answer/abc.def", false, Public},
		{"POST", "/answer/abc.def", false, Public},
		{"GET", "/api/v1/alerts", false, Viewer},
		{"GET", "/api/v1/stream", false, Viewer},
		{"GET", "/api/v1/me", false, Viewer},
		{"GET", "/api/v1/audit", false, Admin},
		{"GET", "/api/v1/audit.csv", false, Admin},
		{"GET", "/api/v1/audit/verify", false, Admin},
		{"GET", "/api/v1/users", false, Admin},
		{"GET", "/api/v1/tokens", false, Admin},
		{"POST", "/api/v1/alerts/17/ack", false, Operator},
		{"POST", "/api/v1/alerts/17/dispose", false, Operator},
		{"POST", "/api/v1/alerts/17/close", false, Operator},
		{"POST", "/api/v1/alerts/17/%61ck", false, Operator}, // the mux unescapes segments too
		{"POST", "/api/v1/alerts/17/ack/x", false, Admin},
		{"POST", "/api/v1/calls/c-1/answer", false, Operator},
		{"POST", "/api/v1/warnings/cap", false, Operator},
		{"POST", "/api/v1/warnings/cap/x", false, Admin},
		{"POST", "/api/v1/spot-checks", false, Operator},
		{"POST", "/api/v1/spot-checks/1", false, Admin},
		{"GET", "/api/v1/spot-checks", false, Viewer},
		{"POST", "/api/v1/calls/c-1/link", false, Admin}, // an answer link is the called person's credential
		// Warnings from other systems: Alertmanager's API and webhook.
		{"POST", "/api/v2/alerts", false, Operator},
		{"GET", "/api/v2/alerts", false, Viewer},
		{"GET", "/api/v2/status", false, Viewer},
		{"POST", "/api/v2/silences", false, Admin},
		{"POST", "/api/v2/alerts/x", false, Admin},
		{"POST", "/api/v1/warnings/alertmanager", false, Operator},
		{"POST", "/api/v1/warnings/alertmanager/x", false, Admin},
		{"POST", "/api/v1/logout", false, Viewer},
		{"POST", "/api/v1/silences", false, Admin},
		{"DELETE", "/api/v1/silences/3", false, Admin},
		{"PUT", "/api/v1/sensors/GT-101", false, Admin},
		{"POST", "/api/v1/people", false, Admin},
		{"PUT", "/api/v1/rosters/duty", false, Admin},
		{"POST", "/-/reload", false, Admin},
		{"GET", "/-/reload", false, Viewer},
		{"POST", "/api/v1/users", false, Admin},
		{"DELETE", "/api/v1/tokens/ci", false, Admin},
		// Paths the mux would redirect are judged as cleaned.
		{"POST", "/answer/../api/v1/users", false, Admin},
		{"POST", "/api/v1/alerts/1/ack/../../../silences", false, Admin},
		{"GET", "/static/../api/v1/audit", false, Admin},
	} {
		if got := Required(tc.method, tc.path, tc.metricsPublic); got != tc.want {
			t.Errorf("Required(%s %s, metrics_public %v) = %s, want %s", tc.method, tc.path, tc.metricsPublic, got, tc.want)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(3, time.Minute)
	t0 := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	for i := range 3 {
		if w := l.wait("ip", 3, t0.Add(time.Duration(i)*time.Second)); w != 0 {
			t.Fatalf("failure %d: wait %s before the limit", i, w)
		}
		l.fail("ip", t0.Add(time.Duration(i)*time.Second))
	}
	// Three failures at 0s, 1s, 2s: blocked until the first leaves the window.
	if w := l.wait("ip", 3, t0.Add(10*time.Second)); w != 50*time.Second {
		t.Errorf("wait = %s, want 50s", w)
	}
	if w := l.wait("other", 3, t0.Add(10*time.Second)); w != 0 {
		t.Errorf("another key waits %s", w)
	}
	if w := l.wait("ip", 3, t0.Add(60*time.Second)); w != 0 {
		t.Errorf("after the window: wait %s", w)
	}
	l.fail("ip", t0.Add(61*time.Second))
	l.reset("ip")
	if w := l.wait("ip", 3, t0.Add(62*time.Second)); w != 0 || len(l.fails) != 0 {
		t.Errorf("after reset: wait %s, %d keys kept", w, len(l.fails))
	}
}
