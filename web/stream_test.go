package web_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

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
