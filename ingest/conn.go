package ingest

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// clientSession is what one MQTT client of the subscriber needs.
type clientSession struct {
	id         string
	clean      bool
	src        *source         // where its messages go
	filters    func() []string // what to subscribe to, at each (re)connect
	up, down   func()          // told of connections made and lost
	subscribed func([]string)  // told of subscriptions sent; may be nil
	// pubacks, when set, counts the PUBACKs the connection takes to write.
	pubacks *atomic.Int64
}

// dial connects a client for cs and waits until the broker holds its
// subscriptions: at the SUBACK, or at the CONNACK when the broker resumed
// the persistent session. It returns the client even when it fails (the
// client may still be retrying in the background).
func (s *Subscriber) dial(ctx context.Context, cs clientSession) (mqtt.Client, error) {
	handler := func(_ mqtt.Client, m mqtt.Message) { s.receiveFrom(cs.src, m) }
	subscribed := make(chan error, 1)
	var firstSub sync.Once
	o := mqtt.NewClientOptions().
		AddBroker(s.cfg.Broker).
		SetClientID(cs.id).
		SetCleanSession(cs.clean).
		SetOrderMatters(true).
		SetAutoAckDisabled(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(30 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetConnectTimeout(10 * time.Second).
		SetDefaultPublishHandler(handler).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			cs.down()
			s.log.Warn("mqtt connection lost", "broker", s.cfg.Broker, "client_id", cs.id, "err", err)
		}).
		SetOnConnectHandler(func(c mqtt.Client) {
			cs.up()
			s.m.reconnects.Inc()
			// Subscribing again is harmless with a persistent session and
			// required with a clean one.
			filters := cs.filters()
			s.log.Info("mqtt connected", "broker", s.cfg.Broker, "client_id", cs.id, "filters", len(filters))
			if len(filters) == 0 {
				firstSub.Do(func() { subscribed <- nil }) // a partition without sensors yet
				return
			}
			now := make(map[string]byte, len(filters))
			for _, f := range filters {
				now[f] = s.cfg.QoS
			}
			tok := c.SubscribeMultiple(now, handler)
			if cs.subscribed != nil {
				cs.subscribed(filters)
			}
			go func() {
				// A resumed session's backlog comes first, and paho reads
				// the SUBACK only once the messages before it are handed
				// over: behind a slow store that takes its time. The
				// token ends with the SUBACK, or with the connection.
				slow := time.NewTimer(subackSlow)
				defer slow.Stop()
				select {
				case <-tok.Done():
				case <-slow.C:
					s.log.Warn("no SUBACK yet; still waiting (a resumed session delivers what it holds first)",
						"client_id", cs.id, "filters", len(filters), "waited", subackSlow)
					select {
					case <-tok.Done():
					case <-cs.src.quit:
						return
					}
				case <-cs.src.quit:
					return
				}
				err := tok.Error()
				if err != nil {
					s.log.Error("mqtt subscribe failed", "client_id", cs.id, "filters", len(filters), "err", err)
				}
				firstSub.Do(func() { subscribed <- err })
			}()
		})
	if s.cfg.Username != "" {
		o.SetUsername(s.cfg.Username)
		o.SetPassword(s.cfg.Password)
	}
	if s.cfg.TLS != nil {
		o.SetTLSConfig(s.cfg.TLS)
	}
	o.SetCustomOpenConnectionFn(s.opener(cs.pubacks)) // nil (paho's own) for ws://, unix:// and proxies
	client := mqtt.NewClient(o)
	tok := client.Connect()
	wait := time.NewTimer(s.cfg.ConnectWait)
	defer wait.Stop()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return client, fmt.Errorf("ingest: connect to %s: %w", s.cfg.Broker, err)
		}
	case <-wait.C:
		return client, fmt.Errorf("ingest: no connection to %s within %s (still retrying)", s.cfg.Broker, s.cfg.ConnectWait)
	case <-ctx.Done():
		return client, ctx.Err()
	}
	if ct, ok := tok.(*mqtt.ConnectToken); ok && ct.SessionPresent() {
		// The broker kept the session, its subscriptions with it, and
		// delivers on them already. The subscription renewed on connecting
		// (for filters added since) is acknowledged after whatever the
		// session held, which a slow store can take long to go through.
		return client, nil
	}
	select {
	case err := <-subscribed:
		if err != nil {
			return client, fmt.Errorf("ingest: subscribe as %s at %s: %w", cs.id, s.cfg.Broker, err)
		}
		return client, nil
	case <-wait.C:
		return client, fmt.Errorf("ingest: connected to %s, but no SUBACK within %s", s.cfg.Broker, s.cfg.ConnectWait)
	case <-ctx.Done():
		return client, ctx.Err()
	}
}

// opener returns how clients open their connection: bufferedDial's, seen
// by s.wrapConn when a test set it.
func (s *Subscriber) opener(pubacks *atomic.Int64) mqtt.OpenConnectionFunc {
	open := bufferedDial(s.cfg.Broker, pubacks)
	if open == nil || s.wrapConn == nil {
		return open
	}
	return func(u *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
		c, err := open(u, o)
		if err != nil {
			return nil, err
		}
		return s.wrapConn(o.ClientID, c)
	}
}

// How PUBACKs are coalesced: paho writes each 4-byte PUBACK with its own
// write system call (18 % of the subscriber's CPU at QoS 1, BENCHMARKS.md).
// A PUBACK waits at most pubackDelay in the connection's buffer, or until
// writeBufferSize bytes are waiting, or until any other packet is written.
const (
	pubackDelay     = 500 * time.Microsecond
	writeBufferSize = 4 << 10
)

// bufferedDial returns a paho connection opener for tcp:// and ssl://
// brokers that reads through a buffer and coalesces PUBACKs (bufferedConn).
// It dials as paho does; it returns nil, leaving other schemes and
// connections through a proxy (ALL_PROXY) to paho.
func bufferedDial(broker string, pubacks *atomic.Int64) mqtt.OpenConnectionFunc {
	u, err := url.Parse(broker)
	if err != nil || os.Getenv("ALL_PROXY") != "" || os.Getenv("all_proxy") != "" {
		return nil
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "mqtt+ssl", "tcps":
	default:
		return nil
	}
	return func(u *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
		d := o.Dialer
		if d == nil {
			d = &net.Dialer{Timeout: o.ConnectTimeout}
		}
		var c net.Conn
		var err error
		switch u.Scheme {
		case "tcp", "mqtt":
			c, err = d.Dial("tcp", u.Host)
		case "ssl", "tls", "mqtts", "mqtt+ssl", "tcps":
			c, err = tls.DialWithDialer(d, "tcp", u.Host, o.TLSConfig)
		default:
			err = fmt.Errorf("unsupported scheme %q", u.Scheme)
		}
		if err != nil {
			return nil, err
		}
		bc := newBufferedConn(c, pubackDelay)
		bc.pubacks = pubacks
		return bc, nil
	}
}

// bufferedConn is an MQTT connection read through a buffer (paho reads each
// packet's fixed header a byte at a time: about three read system calls per
// message unbuffered) whose PUBACKs are written in bursts.
//
// paho writes every packet with one Write (PUBLISH with two: header, then
// payload), from several goroutines: acknowledgements and subscriptions
// from its outgoing goroutine, PINGREQ from its keepalive goroutine,
// CONNECT from the connecting one, which then reads the CONNACK. Only a
// write that is exactly one PUBACK is held back, for at most delay; any
// other write goes out at once, together with the PUBACKs before it, so
// nothing that expects an answer (CONNECT, SUBSCRIBE, PINGREQ, DISCONNECT)
// is ever delayed and the order of packets on the wire is paho's. Hence no
// flush is needed before a read: nothing paho waits an answer for is ever
// held back.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader

	delay time.Duration
	mu    sync.Mutex
	buf   []byte      // PUBACKs not yet written
	err   error       // the first failed write: the connection is broken
	timer *time.Timer // writes buf delay after its first PUBACK
	armed bool        // timer is set
	// pubacks, when set, counts the PUBACKs taken into buf.
	pubacks *atomic.Int64
}

func newBufferedConn(c net.Conn, delay time.Duration) *bufferedConn {
	bc := &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, 64<<10), delay: delay, buf: make([]byte, 0, writeBufferSize)}
	bc.timer = time.AfterFunc(time.Hour, bc.flushLater)
	bc.timer.Stop()
	return bc
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// isPuback reports whether p is exactly one MQTT 3.1.1 PUBACK packet.
func isPuback(p []byte) bool { return len(p) == 4 && p[0] == 0x40 && p[1] == 0x02 }

// Write holds a PUBACK back and writes anything else at once, after the
// PUBACKs held.
func (c *bufferedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if isPuback(p) {
		if c.pubacks != nil {
			c.pubacks.Add(1)
		}
		c.buf = append(c.buf, p...)
		if len(c.buf) >= writeBufferSize {
			return len(p), c.flush()
		}
		if !c.armed {
			c.armed = true
			c.timer.Reset(c.delay)
		}
		return len(p), nil
	}
	if len(c.buf) == 0 {
		return c.write(p)
	}
	if len(c.buf)+len(p) <= writeBufferSize {
		c.buf = append(c.buf, p...)
		if err := c.flush(); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if err := c.flush(); err != nil {
		return 0, err
	}
	return c.write(p)
}

// write writes p to the connection; c.mu is held.
func (c *bufferedConn) write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil {
		c.err = err
	}
	return n, err
}

// flush writes the PUBACKs held; c.mu is held.
func (c *bufferedConn) flush() error {
	if c.armed {
		c.armed = false
		c.timer.Stop()
	}
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.write(c.buf)
	c.buf = c.buf[:0]
	return err
}

// flushLater runs on the timer: the PUBACKs have waited long enough.
func (c *bufferedConn) flushLater() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed = false
	if c.err == nil && c.flush() != nil {
		// Broken: make paho's reader notice now and reconnect; the
		// acknowledgements lost are delivered again by the broker.
		_ = c.Conn.Close()
	}
}

// Close writes the PUBACKs held (within a second) and closes the
// connection. While another write is in progress (possibly blocked on a
// peer that stopped reading) it closes at once: the broker delivers the
// unacknowledged messages again.
func (c *bufferedConn) Close() error {
	if c.mu.TryLock() {
		if c.err == nil && len(c.buf) > 0 {
			_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
			_ = c.flush()
		}
		c.timer.Stop()
		c.armed = false
		if c.err == nil {
			c.err = net.ErrClosed
		}
		c.mu.Unlock()
	}
	return c.Conn.Close()
}
