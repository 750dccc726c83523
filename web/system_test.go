package web_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"yujing/web"
)

// fakeSystem reports what the test sets.
type fakeSystem struct {
	mu sync.Mutex
	st web.SystemStatus
}

func (f *fakeSystem) SystemStatus() web.SystemStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

func (f *fakeSystem) set(st web.SystemStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st = st
}

// TestSystemStatus: GET /api/v1/system says what System reports (no
// warnings, as an empty list, when all is well); the live stream sends it
// as a "system" event at once and again when it changes.
func TestSystemStatus(t *testing.T) {
	sys := &fakeSystem{}
	hs := httptest.NewServer(web.New(web.Options{Alerts: fakeAlerts{}, System: sys}).Handler())
	defer hs.Close()
	get := func() string {
		t.Helper()
		resp, err := http.Get(hs.URL + "/api/v1/system")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v json.RawMessage
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/v1/system: %s, %v", resp.Status, err)
		}
		return string(v)
	}
	if got := get(); got != `{"warnings":[]}` {
		t.Fatalf("all well: %s", got)
	}

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, hs.URL+"/api/v1/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := make(chan string, 8)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var name string
		for sc.Scan() {
			l := sc.Text()
			if v, ok := strings.CutPrefix(l, "event: "); ok {
				name = v
			} else if v, ok := strings.CutPrefix(l, "data: "); ok && name == "system" {
				events <- v
			}
		}
		close(events)
	}()
	next := func() string {
		t.Helper()
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("stream ended")
			}
			return e
		case <-time.After(10 * time.Second):
			t.Fatal("no system event")
		}
		return ""
	}
	if got := next(); got != `{"warnings":[]}` {
		t.Fatalf("first system event %s", got)
	}

	since := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	sys.set(web.SystemStatus{Warnings: []web.SystemWarning{{Kind: web.SystemStoreRefused, Readings: 2138, Since: since,
		Reasons: map[string]int64{"max_values_per_tag": 2138}, How: "raise max-values-per-tag"}}})
	want := `{"warnings":[{"kind":"store_refused","readings":2138,"since":"2026-05-01T08:00:00Z","reasons":{"max_values_per_tag":2138},"how":"raise max-values-per-tag"}]}`
	if got := next(); got != want {
		t.Fatalf("system event after the change:\n%s\nwant\n%s", got, want)
	}
	if got := get(); got != want {
		t.Fatalf("GET after the change:\n%s\nwant\n%s", got, want)
	}
	sys.set(web.SystemStatus{})
	if got := next(); got != `{"warnings":[]}` {
		t.Fatalf("system event once well again: %s", got)
	}
}
