package testenv

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireExternalEnv names the environment variable that turns a missing
// external binary into a test failure instead of a skip.
const RequireExternalEnv = "YUJING_REQUIRE_EXTERNAL"

// ToolsEnv names the environment variable holding the directory that
// scripts/test-deps.sh installs influxd into.
const ToolsEnv = "YUJING_TOOLS"

const (
	brokerStartTimeout = 10 * time.Second
	influxStartTimeout = 30 * time.Second
	stopTimeout        = 15 * time.Second
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	return freePorts(t, 1)[0]
}

// freePorts returns n distinct free loopback ports. It holds every listener
// open until all are chosen so the kernel cannot hand out one port twice.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("testenv: find a free port: %v", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// missing skips or fails the test when an external binary is not installed.
func missing(t testing.TB, what string, searched []string) {
	t.Helper()
	msg := fmt.Sprintf("testenv: %s not found (looked in %v); run `make test` or scripts/test-deps.sh to install it", what, searched)
	if os.Getenv(RequireExternalEnv) == "1" {
		t.Fatalf("%s (%s=1)", msg, RequireExternalEnv)
	}
	t.Skip(msg)
}

// findBinary returns the first executable among candidates (absolute paths,
// or names looked up in PATH).
func findBinary(candidates ...string) (string, bool) {
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if !filepath.IsAbs(c) {
			if p, err := exec.LookPath(c); err == nil {
				return p, true
			}
			continue
		}
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return c, true
		}
	}
	return "", false
}

// syncBuffer collects a child's output; the child writes from os/exec's
// copying goroutines while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is one external server run as a child of the test binary. It can
// be stopped and started again any number of times.
type process struct {
	t      testing.TB
	name   string
	bin    string
	args   []string
	env    []string // added to this process's environment
	output *syncBuffer
	// cred, when set, runs the process as that user (PostgreSQL refuses
	// to run as root).
	cred *syscall.Credential
	// group puts the process in a process group of its own, so that kill
	// reaches the children it forks (PostgreSQL's backends) too.
	group bool
	// stopSignal asks the process to shut down; 0 is SIGTERM.
	stopSignal syscall.Signal

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	mark int           // length of output when cmd started
}

func newProcess(t testing.TB, name, bin string, args ...string) *process {
	p := &process{t: t, name: name, bin: bin, args: args, output: &syncBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testenv: %s output:\n%s", name, p.output.String())
		}
	})
	t.Cleanup(p.stop)
	return p
}

// start runs the binary and waits until ready succeeds, failing the test if
// the process exits first or the timeout passes. The process's output is
// logged when the test fails.
func (p *process) start(timeout time.Duration, ready func(ctx context.Context) error) {
	p.t.Helper()
	if err := p.launch(timeout, ready); err != nil {
		p.t.Fatalf("testenv: %v", err)
	}
}

// errPortTaken: the process could not listen on a port chosen for it,
// because something else took the port after freePorts let it go.
var errPortTaken = errors.New("port taken")

// portAttempts is how many sets of ports a server gets before the test
// fails: freePorts can only say a port was free a moment ago.
const portAttempts = 3

// launch is start, returning what went wrong; an error wrapping
// errPortTaken means the process exited saying its address was in use.
func (p *process) launch(timeout time.Duration, ready func(ctx context.Context) error) error {
	p.mu.Lock()
	if p.cmd != nil {
		p.mu.Unlock()
		return fmt.Errorf("%s is already running", p.name)
	}
	cmd := exec.Command(p.bin, p.args...)
	if len(p.env) > 0 {
		cmd.Env = append(os.Environ(), p.env...)
	}
	cmd.Stdout = p.output
	cmd.Stderr = p.output
	// Kill the server if the test binary dies without running its cleanups.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: p.cred, Setpgid: p.group}
	fmt.Fprintf(p.output, "--- %s: %s %v\n", time.Now().Format(time.RFC3339Nano), p.bin, p.args)
	p.mark = p.output.Len()
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(p.output, "--- %s: %s exited: %v\n", time.Now().Format(time.RFC3339Nano), p.name, err)
		close(done)
	}()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	began := time.Now()
	var lastErr error
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, time.Second)
		lastErr = ready(attempt)
		cancelAttempt()
		if lastErr == nil {
			p.t.Logf("testenv: %s ready in %v", p.name, time.Since(began).Round(time.Millisecond))
			return nil
		}
		select {
		case <-done:
			p.stop()
			if strings.Contains(strings.ToLower(p.sinceStart()), "address already in use") {
				return fmt.Errorf("%s exited: %w (%v)", p.name, errPortTaken, lastErr)
			}
			return fmt.Errorf("%s exited before it was ready (%v)", p.name, lastErr)
		case <-ctx.Done():
			p.stop()
			return fmt.Errorf("%s not ready after %v: %v", p.name, timeout, lastErr)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// sinceStart returns what the process printed since it was last started.
func (p *process) sinceStart() string {
	p.mu.Lock()
	mark := p.mark
	p.mu.Unlock()
	out := p.output.String()
	if mark > len(out) {
		return ""
	}
	return out[mark:]
}

// stop ends the process gracefully (SIGTERM or stopSignal, so servers save
// their state), killing it if it does not exit in time. Stopping a stopped
// process is a no-op.
func (p *process) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	cmd, done := p.cmd, p.done
	p.cmd, p.done = nil, nil
	sig := p.stopSignal
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(stopTimeout):
		p.t.Logf("testenv: %s ignored %v for %v; killing it", p.name, sig, stopTimeout)
		p.sigkill(cmd, done)
	}
}

// kill ends the process at once with SIGKILL, as a crash would: it saves
// nothing. With group, every process of its group is killed, and kill
// returns once all of them are gone. Killing a stopped process is a no-op.
func (p *process) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	cmd, done := p.cmd, p.done
	p.cmd, p.done = nil, nil
	p.sigkill(cmd, done)
}

func (p *process) sigkill(cmd *exec.Cmd, done chan struct{}) {
	pid := cmd.Process.Pid
	if !p.group {
		_ = cmd.Process.Kill()
		<-done
		return
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-done
	// The group's other members were children of the process just reaped;
	// they are gone, or zombies for init to reap, within moments.
	deadline := time.Now().Add(stopTimeout)
	for groupAlive(pid) {
		if time.Now().After(deadline) {
			p.t.Errorf("testenv: processes of %s's group %d still alive %v after SIGKILL", p.name, pid, stopTimeout)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// groupAlive reports whether a process of group pgid is alive: in
// /proc, with that group and not a zombie.
func groupAlive(pgid int) bool {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(raw)
		// Fields after the command: state ppid pgrp …
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, err := strconv.Atoi(f[2]); err == nil && g == pgid {
			return true
		}
	}
	return false
}

// dialReady reports whether a TCP connection to addr succeeds.
func dialReady(addr string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// Broker is a mosquitto MQTT broker listening on 127.0.0.1.
type Broker struct {
	// TLSAddr, CAFile, CertFile, KeyFile, Username and Password are set by
	// WithTLS: a listener requiring TLS, a client certificate and a password.
	TLSAddr, CAFile, CertFile, KeyFile, Username, Password string

	// Addr is host:port, e.g. "127.0.0.1:41883".
	Addr string
	// Dir holds the configuration and the persistence database.
	Dir string

	proc *process
}

// URL returns the broker's address for MQTT clients, e.g. "tcp://127.0.0.1:41883".
func (b *Broker) URL() string { return "tcp://" + b.Addr }

// Stop shuts the broker down gracefully; persistent sessions, queued QoS 1/2
// messages and retained messages are saved. Stopping twice is safe.
func (b *Broker) Stop() { b.proc.stop() }

// Start starts a stopped broker again on the same port with the same
// configuration and persistence database, and waits until it accepts
// connections.
func (b *Broker) Start() {
	b.proc.t.Helper()
	b.proc.start(brokerStartTimeout, b.ready)
}

// ready succeeds once this mosquitto has opened its listeners (it says it
// is running only then) and the plain one accepts connections: a dial
// alone could reach whatever else took the port.
func (b *Broker) ready(ctx context.Context) error {
	if !strings.Contains(b.proc.sinceStart(), " running") {
		return errors.New("mosquitto has not said it is running")
	}
	return dialReady(b.Addr)(ctx)
}

// Mosquitto starts a mosquitto broker on a free loopback port with anonymous
// access and persistence in a temporary directory. It is stopped when the
// test ends.
func Mosquitto(t testing.TB, opts ...MosquittoOption) *Broker {
	t.Helper()
	return mosquitto(t, freePorts, opts...)
}

// pickPorts returns n loopback ports to listen on: freePorts, or a test's
// choice.
type pickPorts func(t testing.TB, n int) []int

func mosquitto(t testing.TB, pick pickPorts, opts ...MosquittoOption) *Broker {
	t.Helper()
	var o mosquittoOptions
	for _, f := range opts {
		f(&o)
	}
	bin, ok := findBinary("mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")
	if !ok {
		missing(t, "mosquitto", []string{"$PATH", "/usr/sbin", "/usr/local/sbin"})
	}
	dir := t.TempDir()
	for attempt := 1; ; attempt++ {
		ports := pick(t, 2) // the second for WithTLS
		b := &Broker{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])), Dir: dir}
		conf := b.writeConfig(t, o, ports)
		b.proc = newProcess(t, "mosquitto", bin, "-c", conf)
		err := b.proc.launch(brokerStartTimeout, b.ready)
		if err == nil {
			return b
		}
		if !errors.Is(err, errPortTaken) || attempt == portAttempts {
			t.Fatalf("testenv: %v", err)
		}
		t.Logf("testenv: %v; trying other ports", err)
	}
}

// writeConfig writes mosquitto.conf for listeners on ports and returns its
// path.
func (b *Broker) writeConfig(t testing.TB, o mosquittoOptions, ports []int) string {
	t.Helper()
	conf := filepath.Join(b.Dir, "mosquitto.conf")
	var cfg bytes.Buffer
	if o.tls {
		cfg.WriteString("per_listener_settings true\n")
	}
	fmt.Fprintf(&cfg, "listener %d 127.0.0.1\n", ports[0])
	cfg.WriteString("allow_anonymous true\n")
	cfg.WriteString("persistence true\n")
	fmt.Fprintf(&cfg, "persistence_location %s/\n", b.Dir)
	cfg.WriteString("persistence_file mosquitto.db\n")
	// Save every second too, not only on a clean shutdown.
	cfg.WriteString("autosave_interval 1\n")
	// Outage tests queue many messages for offline persistent sessions; the
	// default limit of 1000 would drop some.
	cfg.WriteString("max_queued_messages 0\n")
	cfg.WriteString("set_tcp_nodelay true\n")
	cfg.WriteString("log_dest stderr\n")
	// Information: Broker.ready waits for "running".
	cfg.WriteString("log_type error\nlog_type warning\nlog_type notice\nlog_type information\n")
	cfg.WriteString("log_timestamp_format %H:%M:%S\n")
	if o.tls {
		b.setupTLS(t, &cfg, ports[1])
	}
	if os.Geteuid() == 0 {
		// Run as root, mosquitto 2 switches to the "mosquitto" user, which
		// cannot write to the test's 0700 temporary directory.
		cfg.WriteString("user root\n")
	}
	if err := os.WriteFile(conf, cfg.Bytes(), 0o644); err != nil {
		t.Fatalf("testenv: write mosquitto config: %v", err)
	}
	return conf
}

// MosquittoOption configures Mosquitto.
type MosquittoOption func(*mosquittoOptions)

type mosquittoOptions struct{ tls bool }

// WithTLS adds a second listener, TLSAddr, that requires TLS with a client
// certificate and a username and password. The CA, the client certificate
// and key are written to Dir (CAFile, CertFile, KeyFile).
func WithTLS() MosquittoOption { return func(o *mosquittoOptions) { o.tls = true } }

func (b *Broker) setupTLS(t testing.TB, cfg *bytes.Buffer, port int) {
	t.Helper()
	b.TLSAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ca, caKey := selfSignedCA(t)
	write := func(name string, blocks ...*pem.Block) string {
		path := filepath.Join(b.Dir, name)
		var buf bytes.Buffer
		for _, bl := range blocks {
			pem.Encode(&buf, bl)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	b.CAFile = write("ca.pem", &pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})
	srvDER, srvKey := issue(t, ca, caKey, "127.0.0.1", true)
	srvCert := write("server.pem", &pem.Block{Type: "CERTIFICATE", Bytes: srvDER})
	srvKeyFile := write("server-key.pem", srvKey)
	cliDER, cliKey := issue(t, ca, caKey, "yujing-client", false)
	b.CertFile = write("client.pem", &pem.Block{Type: "CERTIFICATE", Bytes: cliDER})
	b.KeyFile = write("client-key.pem", cliKey)
	b.Username, b.Password = "yujing", "s3cret-mqtt"
	passwd := filepath.Join(b.Dir, "passwd")
	pw, ok := findBinary("mosquitto_passwd", "/usr/bin/mosquitto_passwd")
	if !ok {
		missing(t, "mosquitto_passwd", []string{"$PATH", "/usr/bin"})
	}
	if out, err := exec.Command(pw, "-c", "-b", passwd, b.Username, b.Password).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v: %s", err, out)
	}
	// The plain listener written before this stays anonymous.
	fmt.Fprintf(cfg, "listener %d 127.0.0.1\n", port)
	fmt.Fprintf(cfg, "cafile %s\ncertfile %s\nkeyfile %s\n", b.CAFile, srvCert, srvKeyFile)
	cfg.WriteString("require_certificate true\ntls_version tlsv1.2\n")
	fmt.Fprintf(cfg, "allow_anonymous false\npassword_file %s\n", passwd)
}

// The test certificates are valid from two years before now to two years
// after: the broker (not built by Go) checks them against the real date
// while scripts/clockshift.sh moves the tests' clock a year ahead, and
// both must find them valid.
const certSlack = 2 * 366 * 24 * time.Hour

func certNotBefore() time.Time { return time.Now().Add(-certSlack) }
func certNotAfter() time.Time  { return time.Now().Add(certSlack) }

func selfSignedCA(t testing.TB) (*x509.Certificate, *ecdsa.PrivateKey) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "yujing test CA"},
		NotBefore: certNotBefore(), NotAfter: certNotAfter(),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	return ca, key
}

func issue(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, name string, server bool) ([]byte, *pem.Block) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: certNotBefore(), NotAfter: certNotAfter(),
		KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tpl.IPAddresses = []net.IP{net.ParseIP(name)}
	} else {
		tpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return der, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}
}

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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, i.URL+"/ping", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("GET /ping: %s", resp.Status)
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
