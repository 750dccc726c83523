package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"yujing"
)

// Broadcaster fans alert changes out to live-stream subscribers. A
// subscriber that falls behind loses events and is told to resynchronise.
type Broadcaster struct {
	mu     sync.Mutex
	subs   map[chan []byte]struct{}
	size   int
	closed chan struct{} // closed by Close: every stream ends
	once   sync.Once
}

// NewBroadcaster buffers size events per subscriber.
func NewBroadcaster(size int) *Broadcaster {
	return &Broadcaster{subs: map[chan []byte]struct{}{}, size: size, closed: make(chan struct{})}
}

// Close ends every live stream (their browsers reconnect to whichever
// yujing answers next) and every stream opened later, so that an HTTP
// server's Shutdown, which waits for open requests, is not held up by
// them. Give it to http.Server.RegisterOnShutdown. Safe to call twice.
func (b *Broadcaster) Close() { b.once.Do(func() { close(b.closed) }) }

// AlertEvent is one message of the live stream.
type AlertEvent struct {
	Event yujing.Event `json:"event"`
	Alert yujing.Alert `json:"alert"`
}

// Publish sends an alert change to every subscriber without blocking.
func (b *Broadcaster) Publish(a yujing.Alert, t yujing.Transition) {
	data, err := json.Marshal(AlertEvent{Event: t.Event, Alert: a})
	if err != nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- data:
		default: // slow subscriber: it gets a resync instead
			select {
			case <-ch:
			default:
			}
			select {
			case ch <- []byte(`{"event":"resync"}`):
			default:
			}
		}
	}
}

func (b *Broadcaster) subscribe() chan []byte {
	ch := make(chan []byte, b.size)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch
}

func (b *Broadcaster) unsubscribe(ch chan []byte) {
	b.mu.Lock()
	delete(b.subs, ch)
	b.mu.Unlock()
}

// The live stream's coalescing of bursts: changes sent one by one per
// window.
const (
	streamBurst  = 20
	streamWindow = 250 * time.Millisecond
)

func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, errors.New("streaming unsupported"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	ch := s.events.subscribe()
	defer s.events.unsubscribe(ch)
	fmt.Fprint(w, "retry: 2000\n: connected\n\n")
	// yujing's own health: now, then whenever it changes.
	sys, _ := s.systemEvent(nil)
	fmt.Fprintf(w, "event: system\ndata: %s\n\n", sys)
	fl.Flush()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	sysTick := time.NewTicker(systemEvery)
	defer sysTick.Stop()
	// A burst (a flood's thousands of warnings) is coalesced: the first
	// streamBurst changes of each streamWindow go out one by one, the rest
	// of the window as one "resync" at its end, which tells the console to
	// read again what it shows. A browser gets at most about 90 messages a
	// second however many warnings change.
	var (
		window    = time.Now()
		sent      int
		held      int
		flushHeld <-chan time.Time
	)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.events.closed:
			return
		case data := <-ch:
			if time.Since(window) >= streamWindow && held == 0 {
				window, sent = time.Now(), 0
			}
			if sent < streamBurst && held == 0 {
				sent++
				fmt.Fprintf(w, "event: alert\ndata: %s\n\n", data)
				fl.Flush()
				continue
			}
			if held++; flushHeld == nil {
				flushHeld = time.After(max(streamWindow-time.Since(window), 0))
			}
		case <-flushHeld:
			fmt.Fprintf(w, "event: alert\ndata: {\"event\":\"resync\",\"coalesced\":%d}\n\n", held)
			fl.Flush()
			window, sent, held, flushHeld = time.Now(), 1, 0, nil
		case <-sysTick.C:
			if data, changed := s.systemEvent(sys); changed {
				sys = data
				fmt.Fprintf(w, "event: system\ndata: %s\n\n", data)
				fl.Flush()
			}
		case <-ping.C:
			fmt.Fprint(w, ": ping\n\n")
			fl.Flush()
		}
	}
}
