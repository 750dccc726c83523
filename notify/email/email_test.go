package email

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"mime"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"yujing"
	"yujing/notify"
	"yujing/notify/internal/providertest"
)

const (
	testUser     = "alerts@example.gov.cn"
	testPassword = "S3cret-SMTP-passw0rd"
	dutyRoom     = "duty@example.gov.cn"
)

var sentAt = time.Date(2025, 7, 14, 9, 31, 5, 0, time.FixedZone("CST", 8*3600))

func testCall(id string) yujing.Call {
	start := sentAt.Add(-time.Minute)
	return yujing.Call{
		ID: id,
		Alert: yujing.Alert{
			ID: 42, Rule: "water-level", Sensor: "wl-03", Site: "qiantang-gauge", Family: yujing.FamilyFlood,
			Metric: "level", Unit: "m", Level: yujing.Red, State: yujing.StateFiring,
			Value: 7.32, Threshold: 7, StartedAt: start, UpdatedAt: start,
		},
		Event:     yujing.EventUpgraded,
		Person:    yujing.Person{ID: "p1", Name: "张三", Email: "zhangsan@example.gov.cn", Phone: "13800000000"},
		Channel:   "email",
		Created:   start,
		Deadline:  start.Add(15 * time.Minute),
		AnswerURL: "https://yj.example.cn/a/Q7xK2mP9",
	}
}

// received is one message the test server accepted.
type received struct {
	tls      bool
	user     string
	from     string
	rcpt     []string
	data     []byte
	hostname string
}

// server is a real SMTP server (github.com/emersion/go-smtp) on loopback,
// with a self-signed certificate for STARTTLS or implicit TLS and AUTH
// PLAIN. Recipients starting with "nobody" get 550, "busy" 451.
type server struct {
	addr   string
	port   int
	caFile string
	mu     sync.Mutex
	got    []received
}

type serverMode int

const (
	modeStartTLS serverMode = iota
	modeImplicit
	modePlain        // no TLS, AUTH allowed in the clear (loopback tests of tls: none)
	modeNoStartTLS   // plain connection, no STARTTLS offered
	modeUntrustedTLS // STARTTLS with a certificate the client does not trust
)

func newServer(t *testing.T, mode serverMode) *server {
	t.Helper()
	cert, caPEM := selfSigned(t)
	srv := &server{caFile: filepath.Join(t.TempDir(), "ca.pem")}
	if err := os.WriteFile(srv.caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &session{srv: srv, cur: received{hostname: c.Hostname(), tls: isTLS}, conn: c}, nil
	}))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = discardLogger{}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	switch mode {
	case modeStartTLS, modeUntrustedTLS:
		s.TLSConfig = tlsConf
	case modeImplicit:
		l = tls.NewListener(l, tlsConf)
	case modePlain:
		s.AllowInsecureAuth = true
	}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	srv.addr = l.Addr().String()
	_, p, _ := net.SplitHostPort(srv.addr)
	srv.port, _ = strconv.Atoi(p)
	if mode == modeUntrustedTLS {
		srv.caFile = "" // the client trusts only the system pool
	}
	return srv
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

func (s *server) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

type session struct {
	srv  *server
	conn *smtp.Conn
	cur  received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != testUser || password != testPassword {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.cur.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	_, s.cur.tls = s.conn.TLSConnectionState()
	if s.cur.user == "" {
		return smtp.ErrAuthRequired
	}
	s.cur.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	switch {
	case strings.HasPrefix(to, "nobody"):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "Mailbox unavailable"}
	case strings.HasPrefix(to, "busy"):
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	}
	s.cur.rcpt = append(s.cur.rcpt, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.srv.mu.Lock()
	s.srv.got = append(s.srv.got, s.cur)
	s.srv.mu.Unlock()
	return nil
}

func (s *session) Reset() {
	s.cur = received{tls: s.cur.tls, user: s.cur.user, hostname: s.cur.hostname}
}
func (s *session) Logout() error { return nil }

// selfSigned makes a certificate for localhost and 127.0.0.1 and returns it
// with its PEM, which the client is given as ca_file.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "yujing test SMTP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	return cert, certPEM
}

func (s *server) config(tlsMode string) Config {
	return Config{
		Host: "127.0.0.1", Port: s.port, TLS: tlsMode, Username: testUser, Password: testPassword,
		From: "yujing 预警 <" + testUser + ">", To: []string{"值班室 <" + dutyRoom + ">"},
		CAFile: s.caFile, HelloName: "yujing.test", Timeout: 5 * time.Second,
	}
}

func newChannel(t *testing.T, cfg Config) *Email {
	t.Helper()
	e, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.now = func() time.Time { return sentAt }
	return e
}

// TestDelivery sends through STARTTLS, implicit TLS and (loopback only)
// plain SMTP, and checks what the server received: TLS, AUTH, envelope,
// headers and body.
func TestDelivery(t *testing.T) {
	for _, c := range []struct {
		name    string
		mode    serverMode
		tls     string
		wantTLS bool
	}{
		{"starttls", modeStartTLS, TLSStartTLS, true},
		{"implicit tls", modeImplicit, TLSImplicit, true},
		{"plain on loopback", modePlain, TLSNone, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, c.mode)
			e := newChannel(t, srv.config(c.tls))
			call := testCall("42-upgraded-p1-email")
			if err := e.Send(t.Context(), call); err != nil {
				t.Fatal(err)
			}
			got := srv.messages()
			if len(got) != 1 {
				t.Fatalf("%d messages, want 1", len(got))
			}
			m := got[0]
			if m.tls != c.wantTLS {
				t.Errorf("TLS %v, want %v", m.tls, c.wantTLS)
			}
			if m.user != testUser || m.hostname != "yujing.test" {
				t.Errorf("AUTH user %q, EHLO %q", m.user, m.hostname)
			}
			if m.from != testUser || !slices.Equal(m.rcpt, []string{"zhangsan@example.gov.cn", dutyRoom}) {
				t.Errorf("envelope from %q to %v", m.from, m.rcpt)
			}
			checkMessage(t, m.data, call)
		})
	}
}

// checkMessage parses the received data as a mail message and checks its
// headers and body.
func checkMessage(t *testing.T, data []byte, call yujing.Call) {
	t.Helper()
	if bytes.Contains(bytes.ReplaceAll(data, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("bare LF in the message")
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a mail message: %v\n%s", err, data)
	}
	h := msg.Header
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(h.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if subject != "防汛预警升级为红色（Ⅰ级）：qiantang-gauge wl-03 7.32m" {
		t.Errorf("Subject %q (raw %q)", subject, h.Get("Subject"))
	}
	if !strings.HasPrefix(h.Get("Subject"), "=?UTF-8?b?") {
		t.Errorf("Subject not RFC 2047 encoded: %q", h.Get("Subject"))
	}
	from, err := mail.ParseAddress(h.Get("From"))
	if err != nil || from.Name != "yujing 预警" || from.Address != testUser {
		t.Errorf("From %q: %v %v", h.Get("From"), from, err)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Name != "张三" || to[0].Address != "zhangsan@example.gov.cn" || to[1].Name != "值班室" || to[1].Address != dutyRoom {
		t.Errorf("To %q: %v %v", h.Get("To"), to, err)
	}
	if id := h.Get("Message-ID"); id != MessageID(call.ID, "example.gov.cn") || id != "<yujing.call.42-upgraded-p1-email@example.gov.cn>" {
		t.Errorf("Message-ID %q", id)
	}
	if d, err := h.Date(); err != nil || !d.Equal(sentAt) {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	for k, want := range map[string]string{
		"MIME-Version": "1.0", "Content-Type": "text/plain; charset=UTF-8", "Content-Transfer-Encoding": "base64",
		"Auto-Submitted": "auto-generated", "Importance": "high",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	raw, _ := io.ReadAll(msg.Body)
	for _, line := range strings.Split(strings.TrimRight(string(raw), "\r\n"), "\r\n") {
		if len(line) > 76 {
			t.Errorf("body line of %d characters", len(line))
		}
	}
	body, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(raw), "\r\n", ""))
	if err != nil {
		t.Fatalf("body is not base64: %v", err)
	}
	for _, want := range []string{"张三，您好：", "防汛预警升级为红色（Ⅰ级）", "监测值：水位 7.32m（红色阈值 7m）", "转移低洼", call.AnswerURL, "2025-07-14 09:45（北京时间）", "呼叫编号 " + call.ID} {
		if !strings.Contains(string(body), want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(string(data), "13800000000") || strings.Contains(string(data), testPassword) {
		t.Error("the message carries the phone number or the password")
	}
}

// TestDuplicateRecognisable: every attempt at one call has the same
// Message-ID; another call has another.
func TestDuplicateRecognisable(t *testing.T) {
	srv := newServer(t, modeStartTLS)
	e := newChannel(t, srv.config(TLSStartTLS))
	for _, id := range []string{"42-upgraded-p1-email", "42-upgraded-p1-email", "43-raised-p1-email"} {
		if err := e.Send(t.Context(), testCall(id)); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for _, m := range srv.messages() {
		msg, err := mail.ReadMessage(bytes.NewReader(m.data))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, msg.Header.Get("Message-ID"))
	}
	if len(ids) != 3 || ids[0] != ids[1] || ids[0] == ids[2] {
		t.Errorf("Message-IDs %q", ids)
	}
	if got := MessageID("a b/<c>\r\n", "x.cn"); got != "<yujing.call.a=20b=2F=3Cc=3E=0D=0A@x.cn>" {
		t.Errorf("MessageID escaping: %s", got)
	}
}

func TestFailures(t *testing.T) {
	cases := []struct {
		name      string
		mode      serverMode
		cfg       func(*Config)
		call      func(*yujing.Call)
		retryable bool
		reason    string
		contains  string
	}{
		{"550 mailbox unavailable", modeStartTLS, nil, func(c *yujing.Call) { c.Person.Email = "nobody@example.gov.cn" },
			false, notify.ReasonOther, "rcpt to: 550"},
		{"451 try later", modeStartTLS, nil, func(c *yujing.Call) { c.Person.Email = "busy@example.gov.cn" },
			true, notify.ReasonOther, "rcpt to: 451"},
		{"535 bad password", modeStartTLS, func(c *Config) { c.Password = "wrong-password-XYZ" }, nil,
			false, notify.ReasonOther, "auth: 535"},
		{"no STARTTLS", modeNoStartTLS, nil, nil, false, notify.ReasonOther, "server does not offer STARTTLS"},
		{"untrusted certificate", modeUntrustedTLS, nil, nil, false, notify.ReasonOther, "starttls: tls: failed to verify certificate"},
		{"implicit tls against starttls port", modeStartTLS, func(c *Config) { c.TLS = TLSImplicit }, nil,
			true, notify.ReasonOther, "tls handshake"},
		{"no recipient", modeStartTLS, func(c *Config) { c.To = nil }, func(c *yujing.Call) { c.Person.Email = "" },
			false, notify.ReasonOther, "person p1 has no e-mail address"},
		{"bad person address", modeStartTLS, nil, func(c *yujing.Call) { c.Person.Email = "not an address" },
			false, notify.ReasonOther, "person p1 has an invalid e-mail address"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, c.mode)
			cfg := srv.config(TLSStartTLS)
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			call := testCall("42-upgraded-p1-email")
			if c.call != nil {
				c.call(&call)
			}
			err := newChannel(t, cfg).Send(t.Context(), call)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			providertest.CheckFailure(t, err, c.retryable, c.reason)
			if !strings.Contains(err.Error(), c.contains) {
				t.Errorf("error %q lacks %q", err, c.contains)
			}
			providertest.NoSecrets(t, err, testPassword, "wrong-password-XYZ", "nobody@", "busy@", "zhangsan@")
			if n := len(srv.messages()); n != 0 {
				t.Errorf("%d messages delivered", n)
			}
		})
	}
}

// TestTimeout: a server that accepts and never greets (providertest.Hang
// writes nothing until the client goes away).
func TestTimeout(t *testing.T) {
	providertest.CheckTimeouts(t, testCall("42-upgraded-p1-email"), func(url string, timeout time.Duration) notify.Channel {
		port, err := strconv.Atoi(url[strings.LastIndexByte(url, ':')+1:])
		if err != nil {
			t.Fatal(err)
		}
		return newChannel(t, Config{Host: "127.0.0.1", Port: port, TLS: TLSStartTLS, Username: testUser, Password: testPassword,
			From: testUser, Timeout: timeout})
	}, func(t *testing.T, err error) { providertest.NoSecrets(t, err, testPassword) })
}

// TestCancel: cancelling the context ends a session that waits.
func TestCancel(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			defer c.Close()
			_, _ = io.Copy(io.Discard, c)
		}
	}()
	e := newChannel(t, Config{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, TLS: TLSStartTLS, From: testUser, To: []string{dutyRoom}})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	err = e.Send(ctx, testCall("x"))
	if err == nil || !errors.Is(err, context.Canceled) || !notify.Retryable(err) {
		t.Errorf("err = %v, want retryable, wrapping context.Canceled", err)
	}
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	e := newChannel(t, Config{Host: "127.0.0.1", Port: port, TLS: TLSImplicit, Username: testUser, Password: testPassword, From: testUser, To: []string{dutyRoom}})
	err = e.Send(t.Context(), testCall("x"))
	if err == nil || !notify.Retryable(err) || notify.FailureReason(err) != notify.ReasonNetwork {
		t.Fatalf("err = %v, want retryable network error", err)
	}
	if strings.Contains(err.Error(), testPassword) {
		t.Errorf("error %q reveals the password", err)
	}
}

func TestNewValidation(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"ok", Config{Host: "smtp.example.gov.cn", From: testUser}, ""},
		{"ok implicit", Config{Host: "smtp.example.gov.cn", TLS: TLSImplicit, From: "预警 <a@b.cn>", To: []string{"c@d.cn"}, Lang: "en"}, ""},
		{"ok none on loopback", Config{Host: "localhost", Port: 2525, TLS: TLSNone, From: "a@b.cn"}, ""},
		{"none elsewhere", Config{Host: "smtp.example.gov.cn", TLS: TLSNone, From: "a@b.cn"}, `tls none is allowed only for a loopback host (tests), not "smtp.example.gov.cn"`},
		{"bad tls", Config{Host: "h", TLS: "ssl", From: "a@b.cn"}, `tls "ssl" is not starttls, tls or none`},
		{"password alone", Config{Host: "h", Password: testPassword, From: "a@b.cn"}, "username and password go together"},
		{"ca file", Config{Host: "h", From: "a@b.cn", CAFile: "/nonexistent/ca.pem"}, "ca_file: open /nonexistent/ca.pem"},
		{"all at once", Config{Name: "mail", Port: 70000, To: []string{"not an address"}, Lang: "fr", Timeout: -1, HelloName: "a b", Username: "u"},
			`email "mail": host is empty` + "\nport 70000 is out of range\nusername and password go together\nfrom is empty\n" +
				`to[0] "not an address" is not an address: mail: no angle-addr` + "\n" + `lang "fr" is not zh-CN or en` + "\n" +
				"timeout -1ns is negative\n" + `hello_name "a b" has white space`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg, nil)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant %q", err, c.want)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("error %q reveals the password", err)
			}
		})
	}
}

func TestEnglish(t *testing.T) {
	srv := newServer(t, modeImplicit)
	cfg := srv.config(TLSImplicit)
	cfg.Lang = "en"
	e := newChannel(t, cfg)
	if err := e.Send(t.Context(), testCall("1")); err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(srv.messages()[0].data))
	if err != nil {
		t.Fatal(err)
	}
	if s := msg.Header.Get("Subject"); s != "Upgraded to RED (I): flood warning – qiantang-gauge wl-03 7.32m" &&
		!strings.HasPrefix(s, "=?UTF-8?b?") {
		t.Errorf("Subject %q", s)
	}
	s, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if s != "Upgraded to RED (I): flood warning – qiantang-gauge wl-03 7.32m" {
		t.Errorf("Subject %q", s)
	}
}

func TestSampleConfig(t *testing.T) {
	var cfg Config
	providertest.DecodeSample(t, &cfg, map[string]string{"YUJING_SMTP_PASSWORD": testPassword})
	if cfg.Name != "duty-email" || cfg.Password != testPassword || cfg.Port != 587 || cfg.TLS != TLSStartTLS || len(cfg.To) != 1 {
		t.Errorf("decoded %+v", cfg)
	}
	if _, err := New(cfg, nil); err != nil {
		t.Errorf("New(sample): %v", err)
	}
}
