package ingest

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// countingConn counts the writes that reach the real connection.
type countingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// loopback returns a bufferedConn over a real TCP connection, the real
// connection under it, and the peer's end (the broker's side).
func loopback(t *testing.T, delay time.Duration) (*bufferedConn, *countingConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	cc := &countingConn{Conn: raw}
	bc := newBufferedConn(cc, delay)
	t.Cleanup(func() { bc.Close(); peer.Close() })
	return bc, cc, peer
}

func puback(id uint16) []byte { return []byte{0x40, 0x02, byte(id >> 8), byte(id)} }

// readN reads exactly n bytes from the peer within d.
func readN(t *testing.T, peer net.Conn, n int, d time.Duration) []byte {
	t.Helper()
	peer.SetReadDeadline(time.Now().Add(d))
	b := make([]byte, n)
	if _, err := io.ReadFull(peer, b); err != nil {
		t.Fatalf("peer read %d bytes: %v", n, err)
	}
	return b
}

func TestBufferedConnCoalescesPubacks(t *testing.T) {
	bc, cc, peer := loopback(t, 2*time.Millisecond)
	var want []byte
	for id := range uint16(1000) {
		p := puback(id + 1)
		want = append(want, p...)
		if n, err := bc.Write(p); n != 4 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	got := readN(t, peer, len(want), 2*time.Second)
	if !bytes.Equal(got, want) {
		t.Fatal("PUBACKs arrived changed or out of order")
	}
	if w := cc.writes.Load(); w > 2 {
		t.Errorf("1000 PUBACKs took %d writes, want at most 2 (4 KiB each)", w)
	}
}

// A lone PUBACK is not held longer than the delay.
func TestBufferedConnLonePuback(t *testing.T) {
	bc, _, peer := loopback(t, 5*time.Millisecond)
	start := time.Now()
	bc.Write(puback(7))
	got := readN(t, peer, 4, 2*time.Second)
	if !bytes.Equal(got, puback(7)) {
		t.Fatalf("got % x", got)
	}
	if d := time.Since(start); d < 4*time.Millisecond || d > time.Second {
		t.Errorf("PUBACK arrived after %v, want about the 5ms delay", d)
	}
}

// Anything but a PUBACK — CONNECT, SUBSCRIBE, PINGREQ, DISCONNECT — goes
// out at once, after the PUBACKs before it, with a delay that would
// otherwise show.
func TestBufferedConnOtherPacketsAtOnce(t *testing.T) {
	for _, c := range []struct {
		name   string
		packet []byte
	}{
		{"pingreq", []byte{0xc0, 0x00}},
		{"subscribe", []byte{0x82, 0x08, 0x00, 0x01, 0x00, 0x03, 'a', '/', 'b', 0x01}},
		{"disconnect", []byte{0xe0, 0x00}},
		{"big", bytes.Repeat([]byte{0x30}, 3*writeBufferSize)}, // a large PUBLISH
	} {
		t.Run(c.name, func(t *testing.T) {
			bc, cc, peer := loopback(t, time.Hour)
			bc.Write(puback(1))
			bc.Write(puback(2))
			if n, err := bc.Write(c.packet); n != len(c.packet) || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
			want := append(append(puback(1), puback(2)...), c.packet...)
			if got := readN(t, peer, len(want), 2*time.Second); !bytes.Equal(got, want) {
				t.Fatalf("peer got % x…, want % x…", got[:min(12, len(got))], want[:12])
			}
			if w := cc.writes.Load(); w > 2 {
				t.Errorf("%d writes, want 1 or 2", w)
			}
		})
	}
}

// Close writes what is held before closing; a write after Close fails.
func TestBufferedConnCloseFlushes(t *testing.T) {
	bc, _, peer := loopback(t, time.Hour)
	bc.Write(puback(9))
	if err := bc.Close(); err != nil {
		t.Fatal(err)
	}
	peer.SetReadDeadline(time.Now().Add(2 * time.Second))
	got, err := io.ReadAll(peer)
	if err != nil || !bytes.Equal(got, puback(9)) {
		t.Fatalf("peer read % x, %v; want the PUBACK then EOF", got, err)
	}
	if _, err := bc.Write(puback(10)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close = %v, want net.ErrClosed", err)
	}
}

// A broken connection: the timer's flush fails, the connection is closed
// (so paho's reader notices and reconnects) and later writes fail.
func TestBufferedConnBroken(t *testing.T) {
	bc, cc, peer := loopback(t, time.Millisecond)
	peer.Close()
	cc.Conn.Close() // the socket fails under the buffer
	bc.Write(puback(1))
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := bc.Write(puback(2))
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("writes still succeed on a broken connection")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if _, err := bc.Read(make([]byte, 1)); err == nil {
		t.Error("Read succeeded on a broken connection")
	}
}

// paho writes from several goroutines at once (acknowledgements, keepalive):
// every byte arrives, each packet whole.
func TestBufferedConnConcurrent(t *testing.T) {
	bc, _, peer := loopback(t, 100*time.Microsecond)
	const writers, each = 4, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if i%100 == 99 {
					bc.Write([]byte{0xc0, 0x00}) // PINGREQ
					continue
				}
				bc.Write(puback(uint16(w*each + i)))
			}
		}()
	}
	wg.Wait()
	pings := writers * (each / 100)
	total := 4*(writers*each-pings) + 2*pings
	got := readN(t, peer, total, 5*time.Second)
	seen := map[uint16]bool{}
	for i := 0; i < len(got); {
		switch got[i] {
		case 0x40:
			if got[i+1] != 2 {
				t.Fatalf("torn PUBACK at %d", i)
			}
			seen[uint16(got[i+2])<<8|uint16(got[i+3])] = true
			i += 4
		case 0xc0:
			i += 2
		default:
			t.Fatalf("unexpected byte %x at %d", got[i], i)
		}
	}
	if len(seen) != writers*each-pings {
		t.Errorf("%d distinct PUBACKs, want %d", len(seen), writers*each-pings)
	}
}

// paho's keepalive through the buffered connection: PINGREQ goes out at
// once, so a quiet connection with a short keepalive stays up. (2s: mochi
// closes a connection silent for 1.5 × keepalive in whole seconds.)
func TestBufferedConnKeepalive(t *testing.T) {
	t.Parallel()
	url, w := startMochi(t, "keepalive")
	var lost atomic.Int64
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("keepalive").
		SetKeepAlive(2 * time.Second).SetPingTimeout(500 * time.Millisecond).SetAutoReconnect(false).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) { t.Log("connection lost:", err); lost.Add(1) }).
		SetCustomOpenConnectionFn(bufferedDial(url, nil)))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	if tok := c.Subscribe("a/#", 1, nil); !tok.WaitTimeout(time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe (must not wait for the PUBACK delay): %v", tok.Error())
	}
	// Not a sleep: two PINGREQs at the broker mean the connection lived
	// past the 3s in which mochi closes a silent one (keepalive 2s: one at
	// about 2s, one at about 4s).
	for deadline := time.After(10 * time.Second); w.pings.Load() < 2; {
		select {
		case <-w.changed:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%d PINGREQs at the broker in 10s, want 2", w.pings.Load())
		}
	}
	if !c.IsConnectionOpen() || lost.Load() != 0 {
		t.Fatal("connection lost: keepalive failed")
	}
	if n := w.pings.Load(); n < 2 {
		t.Errorf("broker saw %d PINGREQs in 5.5s with a 2s keepalive", n)
	}
}
