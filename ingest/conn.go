package ingest

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

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
func bufferedDial(broker string) mqtt.OpenConnectionFunc {
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
		return newBufferedConn(c, pubackDelay), nil
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
