package testenv_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"yujing/internal/testenv"
)

func TestFreePort(t *testing.T) {
	p := testenv.FreePort(t)
	if p <= 0 || p > 65535 {
		t.Fatalf("FreePort = %d", p)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		t.Fatalf("port %d from FreePort is not free: %v", p, err)
	}
	l.Close()
}

// mosquittoClient runs mosquitto_pub or mosquitto_sub against b.
func mosquittoClient(t *testing.T, b *testenv.Broker, tool string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("%s not installed (package mosquitto-clients): %v", tool, err)
	}
	host, port, _ := net.SplitHostPort(b.Addr)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
	}
	return string(out)
}

func TestMosquitto(t *testing.T) {
	t.Parallel()
	b := testenv.Mosquitto(t)
	if !strings.HasPrefix(b.URL(), "tcp://127.0.0.1:") {
		t.Fatalf("URL = %q", b.URL())
	}
	const topic, msg = "yujing/testenv/retained", "hello 预警"
	// A retained message reaches the subscriber whichever of the two runs first.
	mosquittoClient(t, b, "mosquitto_pub", "-q", "1", "-r", "-t", topic, "-m", msg)
	if got := mosquittoClient(t, b, "mosquitto_sub", "-q", "1", "-t", topic, "-C", "1", "-W", "10"); strings.TrimSpace(got) != msg {
		t.Fatalf("mosquitto_sub got %q, want %q", got, msg)
	}

	// Persistence: a persistent session's queued QoS 1 message and the
	// retained message survive a broker restart.
	const queued = "yujing/testenv/queued"
	mosquittoClient(t, b, "mosquitto_sub", "-q", "1", "-c", "-i", "testenv-durable", "-t", queued, "-E")
	mosquittoClient(t, b, "mosquitto_pub", "-q", "1", "-t", queued, "-m", "while offline")
	b.Stop()
	if b.Running() {
		t.Fatal("broker still running after Stop")
	}
	if _, err := net.DialTimeout("tcp", b.Addr, time.Second); err == nil {
		t.Fatal("broker still accepts connections after Stop")
	}
	b.Stop() // twice is fine
	b.Start()
	if got := mosquittoClient(t, b, "mosquitto_sub", "-q", "1", "-c", "-i", "testenv-durable", "-t", queued, "-C", "1", "-W", "10"); strings.TrimSpace(got) != "while offline" {
		t.Fatalf("queued message after restart: got %q", got)
	}
	if got := mosquittoClient(t, b, "mosquitto_sub", "-t", topic, "-C", "1", "-W", "10"); strings.TrimSpace(got) != msg {
		t.Fatalf("retained message after restart: got %q, want %q", got, msg)
	}
}

func TestInfluxDB(t *testing.T) {
	t.Parallel()
	db := testenv.InfluxDB(t)
	if db.Bucket() != "yujing/autogen" {
		t.Fatalf("Bucket() = %q", db.Bucket())
	}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(db.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := get("/ping"); code != http.StatusNoContent {
		t.Fatalf("GET /ping = %d, want 204", code)
	}

	// Write one point through the 1.x API; it and the database must survive
	// a restart.
	ts := time.Date(2024, 7, 1, 8, 0, 0, 123456789, time.UTC)
	line := fmt.Sprintf("rain,site=s1 mm=12.5 %d", ts.UnixNano())
	resp, err := http.Post(db.URL+"/write?db="+db.Database, "text/plain", strings.NewReader(line))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /write = %s", resp.Status)
	}

	db.Stop()
	if db.Running() {
		t.Fatal("influxd still running after Stop")
	}
	db.Start()

	q := url.Values{"db": {db.Database}, "epoch": {"ns"}, "q": {"SELECT mm FROM rain"}}
	code, body := get("/query?" + q.Encode())
	want := fmt.Sprintf("[%d,12.5]", ts.UnixNano())
	if code != http.StatusOK || !strings.Contains(body, want) {
		t.Fatalf("query after restart = %d %s; want it to contain %s", code, body, want)
	}
	if err := db.Exec(t.Context(), "SHOW DATABASES"); err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(t.Context(), "SELEKT nonsense"); err == nil {
		t.Fatal("Exec of a bad statement: want an error")
	}
}
