package testenv

import (
	"net"
	"strconv"
	"testing"
)

// takenFirst returns a pickPorts whose first pick has, as its first port,
// one that a listener holds (accepting connections, as another test's
// server would), and whose later picks are free ports. It counts picks.
func takenFirst(t *testing.T) (pickPorts, *int, int) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	taken := l.Addr().(*net.TCPAddr).Port
	picks := 0
	return func(t testing.TB, n int) []int {
		picks++
		ports := freePorts(t, n)
		if picks == 1 {
			ports[0] = taken
		}
		return ports
	}, &picks, taken
}

// A port taken between freePorts and the server's start (by another test's
// listener) costs a second set of ports, not the test; and the listener
// that holds it is not mistaken for the server.
func TestPortTakenRetried(t *testing.T) {
	t.Run("mosquitto", func(t *testing.T) {
		t.Parallel()
		pick, picks, taken := takenFirst(t)
		b := mosquitto(t, pick)
		if *picks != 2 || b.Addr == net.JoinHostPort("127.0.0.1", strconv.Itoa(taken)) {
			t.Fatalf("broker at %s after %d picks; port %d was taken", b.Addr, *picks, taken)
		}
		if err := b.ready(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("influxd", func(t *testing.T) {
		t.Parallel()
		pick, picks, taken := takenFirst(t)
		i := influxDB(t, pick)
		if *picks != 2 || i.URL == "http://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(taken)) {
			t.Fatalf("influxd at %s after %d picks; port %d was taken", i.URL, *picks, taken)
		}
		if err := i.ping(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		pick, picks, taken := takenFirst(t)
		pg := startPostgres(t, pick)
		if *picks != 2 || pg.Addr == net.JoinHostPort("127.0.0.1", strconv.Itoa(taken)) {
			t.Fatalf("postgres at %s after %d picks; port %d was taken", pg.Addr, *picks, taken)
		}
		if err := pg.ready(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}
