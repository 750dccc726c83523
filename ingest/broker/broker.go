// Package broker runs the embedded MQTT broker (mochi-mqtt) that `yujing
// serve` starts by default, so nothing has to be installed. yujing's own
// subscriber connects to it over TCP exactly as it would to mosquitto or
// EMQX. Production sites point yujing at an external broker instead.
package broker

import (
	"fmt"
	"log/slog"
	"net"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Broker is a running embedded MQTT broker.
type Broker struct {
	srv  *mqtt.Server
	addr string
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
	srv := mqtt.New(&mqtt.Options{InlineClient: false, Capabilities: caps,
		Logger: log.With("component", "mqtt-broker")})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, err
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "tcp", Address: real})); err != nil {
		return nil, fmt.Errorf("embedded mqtt broker: listen on %s: %w", real, err)
	}
	if err := srv.Serve(); err != nil {
		return nil, fmt.Errorf("embedded mqtt broker: %w", err)
	}
	return &Broker{srv: srv, addr: real}, nil
}

// Addr is the host:port the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker and disconnects its clients.
func (b *Broker) Close() error { return b.srv.Close() }
