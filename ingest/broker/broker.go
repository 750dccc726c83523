// Package broker runs the embedded MQTT broker (mochi-mqtt) that `yujing
// serve` starts by default, so nothing has to be installed. yujing's own
// subscriber connects to it over TCP exactly as it would to mosquitto or
// EMQX. Production sites point yujing at an external broker instead.
package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Broker is a running embedded MQTT broker.
type Broker struct {
	srv     *mqtt.Server
	addr    string
	closing *atomic.Bool
}

// Start listens on addr (host:port; port 0 picks a free one) and serves.
// The embedded broker accepts anonymous clients: bind it to loopback unless
// the network in front of it is trusted.
func Start(addr string, log *slog.Logger) (*Broker, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Resolve port 0 before handing the address to mochi, so callers learn it.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("embedded mqtt broker: listen on %s: %w", addr, err)
	}
	real := ln.Addr().String()
	ln.Close()

	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumSessionExpiryInterval = 7 * 24 * 3600
	closing := new(atomic.Bool)
	srv := mqtt.New(&mqtt.Options{InlineClient: false, Capabilities: caps,
		Logger: slog.New(closingHandler{log.Handler(), closing}).With("component", "mqtt-broker")})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, err
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "tcp", Address: real})); err != nil {
		return nil, fmt.Errorf("embedded mqtt broker: listen on %s: %w", real, err)
	}
	if err := srv.Serve(); err != nil {
		return nil, fmt.Errorf("embedded mqtt broker: %w", err)
	}
	return &Broker{srv: srv, addr: real, closing: closing}, nil
}

// Addr is the host:port the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker and disconnects its clients.
func (b *Broker) Close() error {
	b.closing.Store(true)
	return b.srv.Close()
}

// closingHandler passes mochi's records on, but for one: once Close began,
// each connection it ends is logged by mochi as a Warn with an empty
// message (the error of the connection's read); that is the shutdown
// doing its job, so it goes out at Debug.
type closingHandler struct {
	slog.Handler
	closing *atomic.Bool
}

func (h closingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn && r.Message == "" && h.closing.Load() {
		r.Level = slog.LevelDebug
	}
	if !h.Handler.Enabled(ctx, r.Level) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h closingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return closingHandler{h.Handler.WithAttrs(as), h.closing}
}

func (h closingHandler) WithGroup(name string) slog.Handler {
	return closingHandler{h.Handler.WithGroup(name), h.closing}
}
