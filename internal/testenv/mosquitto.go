package testenv

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

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
