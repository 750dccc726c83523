package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Influx is an InfluxDB OSS 1.8 server listening on 127.0.0.1, with Flux
// and the v2 compatibility API enabled and authentication off.
type Influx struct {
	// URL is the HTTP API base, e.g. "http://127.0.0.1:48086".
	URL string
	// Database is the database created at start: "yujing".
	Database string
	// Dir holds the configuration, meta, data and WAL directories.
	Dir string

	proc *process
}

// Bucket returns the v2-API bucket name of Database with its default
// retention policy: "yujing/autogen".
func (i *Influx) Bucket() string { return i.Database + "/autogen" }

// Stop shuts the server down gracefully. Stopping twice is safe.
func (i *Influx) Stop() { i.proc.stop() }

// CPU returns the CPU time (user and system) the running influxd has used,
// from /proc/<pid>/stat; 0 when it is not running.
func (i *Influx) CPU() time.Duration { return i.proc.cpu() }

func (p *process) cpu() time.Duration {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return 0
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
	if err != nil {
		return 0
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0
	}
	const clockTicks = 100 // USER_HZ on Linux
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// Start starts a stopped server again on the same ports with the same data,
// waits until /ping answers and makes sure Database exists.
func (i *Influx) Start() {
	i.proc.t.Helper()
	if err := i.launch(); err != nil {
		i.proc.t.Fatalf("testenv: %v", err)
	}
}

func (i *Influx) launch() error {
	if err := i.proc.launch(influxStartTimeout, i.ping); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), influxStartTimeout)
	defer cancel()
	return i.Exec(ctx, "CREATE DATABASE "+i.Database)
}

// ping succeeds when GET /ping answers 204 No Content.
func (i *Influx) ping(ctx context.Context) error {
	return getStatus(ctx, i.URL+"/ping", http.StatusNoContent)
}

// getStatus succeeds when GET url answers with the status want.
func getStatus(ctx context.Context, url string, want int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("GET %s: %s", req.URL.Path, resp.Status)
	}
	return nil
}

// Exec runs one InfluxQL statement through POST /query (database
// administration: CREATE DATABASE, DROP MEASUREMENT, …) and returns the
// first error the server reports.
func (i *Influx) Exec(ctx context.Context, stmt string) error {
	form := url.Values{"q": {stmt}, "db": {i.Database}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, i.URL+"/query?"+form.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("influxdb %q: %w", stmt, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("influxdb %q: %s: %s", stmt, resp.Status, bytes.TrimSpace(body))
	}
	var out struct {
		Error   string `json:"error"`
		Results []struct {
			Error string `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("influxdb %q: decode %q: %w", stmt, body, err)
	}
	if out.Error != "" {
		return fmt.Errorf("influxdb %q: %s", stmt, out.Error)
	}
	for _, r := range out.Results {
		if r.Error != "" {
			return fmt.Errorf("influxdb %q: %s", stmt, r.Error)
		}
	}
	return nil
}

// influxdBinary finds influxd in $YUJING_TOOLS, $HOME/.cache/yujing-tools
// and PATH.
func influxdBinary(t testing.TB) string {
	t.Helper()
	var candidates []string
	if d := os.Getenv(ToolsEnv); d != "" {
		candidates = append(candidates, filepath.Join(d, "influxd"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".cache", "yujing-tools", "influxd"))
	}
	candidates = append(candidates, "influxd")
	bin, ok := findBinary(candidates...)
	if !ok {
		missing(t, "influxd", candidates)
	}
	return bin
}

// InfluxDB starts an InfluxDB 1.8 server on free loopback ports with its
// data in a temporary directory and creates the database "yujing". It is
// stopped when the test ends.
func InfluxDB(t testing.TB, opts ...InfluxOption) *Influx {
	t.Helper()
	return influxDB(t, freePorts, opts...)
}

// InfluxOption configures InfluxDB.
type InfluxOption func(*Influx)

// WithMaxValuesPerTag starts the server with [data] max-values-per-tag
// set to n (InfluxDB 1.8's default is 100000; 0 turns the limit off).
func WithMaxValuesPerTag(n int) InfluxOption {
	return func(i *Influx) { i.SetMaxValuesPerTag(n) }
}

// SetMaxValuesPerTag sets [data] max-values-per-tag for the next Start of
// a stopped server, through the environment variable InfluxDB 1.8 reads
// over its configuration file (INFLUXDB_DATA_MAX_VALUES_PER_TAG).
func (i *Influx) SetMaxValuesPerTag(n int) {
	const key = "INFLUXDB_DATA_MAX_VALUES_PER_TAG="
	i.proc.env = slices.DeleteFunc(i.proc.env, func(kv string) bool { return strings.HasPrefix(kv, key) })
	i.proc.env = append(i.proc.env, key+strconv.Itoa(n))
}

func influxDB(t testing.TB, pick pickPorts, opts ...InfluxOption) *Influx {
	t.Helper()
	bin := influxdBinary(t)
	dir := t.TempDir()
	for attempt := 1; ; attempt++ {
		i := newInflux(t, bin, dir, pick(t, 2))
		for _, o := range opts {
			o(i)
		}
		err := i.launch()
		if err == nil {
			return i
		}
		if !errors.Is(err, errPortTaken) || attempt == portAttempts {
			t.Fatalf("testenv: %v", err)
		}
		t.Logf("testenv: %v; trying other ports", err)
	}
}

// newInflux writes influxdb.conf for an HTTP and an RPC listener on ports.
func newInflux(t testing.TB, bin, dir string, ports []int) *Influx {
	t.Helper()
	httpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	rpcAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	conf := filepath.Join(dir, "influxdb.conf")
	cfg := fmt.Sprintf(`reporting-disabled = true
bind-address = %q

[meta]
  dir = %q

[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = %q
  auth-enabled = false
  flux-enabled = true
  log-enabled = false
  write-tracing = false

[continuous_queries]
  enabled = false

[subscriber]
  enabled = false

[logging]
  level = "warn"
  suppress-logo = true
`, rpcAddr, filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), httpAddr)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatalf("testenv: write influxdb config: %v", err)
	}
	i := &Influx{
		URL:      "http://" + httpAddr,
		Database: "yujing",
		Dir:      dir,
		proc:     newProcess(t, "influxd", bin, "run", "-config", conf),
	}
	i.proc.env = []string{"GOGC=" + influxdGOGC()}
	return i
}

// influxdGOGC is the garbage collector setting influxd runs with: 400, as
// docs/INFLUXDB.md recommends beside yujing (InfluxDB 1.8's default of 100
// spends about a third of its CPU marking the write cache), or
// YUJING_INFLUXD_GOGC.
func influxdGOGC() string {
	if v := os.Getenv("YUJING_INFLUXD_GOGC"); v != "" {
		return v
	}
	return "400"
}

// CPU returns the CPU time (user and system) the running mosquitto has
// used, from /proc/<pid>/stat; 0 when it is not running.
func (b *Broker) CPU() time.Duration { return b.proc.cpu() }

// Running reports whether the broker process is up.
func (b *Broker) Running() bool { return b.proc.running() }

// Running reports whether the influxd process is up.
func (i *Influx) Running() bool { return i.proc.running() }

func (p *process) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}
