package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/web"
)

// TestShutdownEndsLiveStreams: an HTTP server's Shutdown waits for open
// requests, and a console tab keeps its live stream open for ever; with the
// broadcaster's Close registered on shutdown the streams end and Shutdown
// returns at once. Before, Shutdown ran into its deadline ("shutdown step
// incomplete step=http" with a console open, 10 s at every Ctrl-C).
func TestShutdownEndsLiveStreams(t *testing.T) {
	events := web.NewBroadcaster(16)
	srv := web.New(web.Options{Alerts: &auditAlerts{}, Events: events})
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	hs.RegisterOnShutdown(events.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	// Two open streams, as two console tabs keep.
	var bodies []*bufio.Reader
	for range 2 {
		resp, err := http.Get("http://" + ln.Addr().String() + "/api/v1/stream")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "retry:") {
			t.Fatalf("stream opened with %q, %v", line, err)
		}
		bodies = append(bodies, r)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with two live streams open: %v (want the streams ended and nil)", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	for i, r := range bodies {
		if _, err := r.ReadString(0); err == nil {
			t.Errorf("stream %d did not end", i)
		}
	}
}

// TestStreamCoalescesBursts: a flood raises a thousand warnings at once;
// the live stream sends the first changes one by one and the rest as
// "resync" messages saying how many they stand for, so a browser is not
// flooded and still learns that it must read again. Changes after the
// burst go out one by one again.
func TestStreamCoalescesBursts(t *testing.T) {
	events := web.NewBroadcaster(4096)
	hs := httptest.NewServer(web.New(web.Options{Alerts: &auditAlerts{}, Events: events}).Handler())
	defer hs.Close()
	defer events.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, hs.URL+"/api/v1/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	// next returns the next alert message's data.
	next := func() web.AlertEvent {
		t.Helper()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			if !strings.HasPrefix(line, "data: ") || strings.Contains(line, `"warnings"`) || strings.HasPrefix(line, `data: {"ok"`) {
				continue
			}
			var e struct {
				web.AlertEvent
				Coalesced int `json:"coalesced"`
			}
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &e); err != nil {
				continue // the system event
			}
			if e.Event == "" {
				continue
			}
			if e.Event == "resync" {
				e.Alert.ID = -int64(e.Coalesced)
			}
			return e.AlertEvent
		}
	}
	// The system event comes first: wait for the stream to be subscribed.
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "event: system") {
			break
		}
	}

	const flood = 1000
	for i := range flood {
		events.Publish(yujing.Alert{ID: int64(i + 1), Level: yujing.Red}, yujing.Transition{Event: yujing.EventRaised})
	}
	one, resyncs, covered := 0, 0, 0
	for covered < flood {
		e := next()
		if e.Event == "resync" {
			resyncs++
			covered += int(-e.Alert.ID)
			continue
		}
		one++
		covered++
	}
	t.Logf("%d changes: %d messages one by one, %d resyncs", flood, one, resyncs)
	if covered != flood || one > 40 || resyncs == 0 || resyncs > 8 || one+resyncs > 48 {
		t.Errorf("%d changes came as %d messages one by one and %d resyncs covering %d; want at most 40 one by one, a few resyncs, all %d covered",
			flood, one, resyncs, covered-one, flood)
	}
	// After the burst: one by one again.
	for i := range 3 {
		events.Publish(yujing.Alert{ID: int64(5000 + i), Level: yujing.Orange}, yujing.Transition{Event: yujing.EventRaised})
	}
	for i := range 3 {
		if e := next(); e.Event != yujing.EventRaised || e.Alert.ID != int64(5000+i) {
			t.Errorf("change %d after the burst came as %+v, want raised #%d", i, e, 5000+i)
		}
	}
}
