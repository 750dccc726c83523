package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"yujing"
	"yujing/message"
	"yujing/notify"
	"yujing/notify/internal/provider"
)

// DefaultName is the channel name when Config.Name is empty.
const DefaultName = "email"

// TLS modes, the values of Config.TLS.
const (
	TLSStartTLS = "starttls" // submission port 587: plain connection upgraded with STARTTLS (default)
	TLSImplicit = "tls"      // port 465: TLS from the first byte
	TLSNone     = "none"     // no encryption: only to a loopback host, for tests
)

// Default ports by TLS mode.
const (
	PortStartTLS = 587
	PortImplicit = 465
	PortNone     = 25
)

// Config configures one SMTP submission server.
type Config struct {
	Name string `yaml:"name"` // channel name calls are routed by; default "email"
	Host string `yaml:"host"` // SMTP server host name (also the name its certificate must carry)
	Port int    `yaml:"port"` // default 587 for starttls, 465 for tls, 25 for none
	// TLS is starttls (default), tls (implicit TLS, port 465) or none.
	// none must be written out and is accepted only for a loopback host.
	TLS      string `yaml:"tls"`
	Username string `yaml:"username"` // AUTH PLAIN user; empty: no authentication
	Password string `yaml:"password"`
	From     string `yaml:"from"` // "yujing 预警 <alerts@example.gov.cn>"
	// To are addresses that get every call as well as the person called,
	// e.g. the duty room's mailbox.
	To []string `yaml:"to"`
	// Lang is the language of the messages: zh-CN or en. Empty: the
	// renderer's.
	Lang    string        `yaml:"lang"`
	Timeout time.Duration `yaml:"timeout"` // per message; 0 leaves it to the dispatcher's send timeout
	// CAFile is a PEM file of certificate authorities trusted besides the
	// system's, for a server with a private certificate.
	CAFile string `yaml:"ca_file"`
	// HelloName is the name yujing gives in EHLO; default "localhost".
	HelloName string `yaml:"hello_name"`
}

// Email is a notify.Channel that sends calls as e-mail through an SMTP
// submission server.
type Email struct {
	name      string
	host      string
	addr      string // host:port
	mode      string
	username  string
	password  string
	from      *mail.Address
	domain    string // of From, for Message-ID
	to        []*mail.Address
	timeout   time.Duration
	tls       *tls.Config
	helloName string
	r         *message.Renderer
	now       func() time.Time
}

var (
	_ notify.Channel     = (*Email)(nil)
	_ notify.GroupSender = (*Email)(nil)
)

// SendGroup sends a grouped delivery as one e-mail: the first call's,
// whose note (说明) is the combined text listing every call.
func (e *Email) SendGroup(ctx context.Context, g notify.Group) (string, error) {
	return "", e.Send(ctx, g.Call)
}

// New checks cfg, reporting every problem at once, and builds the channel.
// A nil renderer gets the built-in templates in cfg.Lang.
func New(cfg Config, r *message.Renderer) (*Email, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	if cfg.HelloName == "" {
		cfg.HelloName = "localhost"
	}
	var errs []error
	switch {
	case cfg.Host == "":
		errs = append(errs, errors.New("host is empty"))
	case strings.ContainsAny(cfg.Host, " \t\r\n/:") && net.ParseIP(cfg.Host) == nil:
		errs = append(errs, fmt.Errorf("host %q is not a host name", cfg.Host))
	}
	switch cfg.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if cfg.Host != "" && !provider.Loopback(cfg.Host) {
			errs = append(errs, fmt.Errorf("tls none is allowed only for a loopback host (tests), not %q", cfg.Host))
		}
	default:
		errs = append(errs, fmt.Errorf("tls %q is not starttls, tls or none", cfg.TLS))
	}
	if cfg.Port == 0 {
		cfg.Port = map[string]int{TLSStartTLS: PortStartTLS, TLSImplicit: PortImplicit, TLSNone: PortNone}[cfg.TLS]
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		errs = append(errs, fmt.Errorf("port %d is out of range", cfg.Port))
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		errs = append(errs, errors.New("username and password go together")) // neither is quoted
	}
	if strings.ContainsAny(cfg.Username+cfg.Password, "\x00\r\n") {
		errs = append(errs, errors.New("username or password has a control character"))
	}
	from, err := mail.ParseAddress(cfg.From)
	switch {
	case cfg.From == "":
		errs = append(errs, errors.New("from is empty"))
	case err != nil:
		errs = append(errs, fmt.Errorf("from %q is not an address: %w", cfg.From, err))
	}
	domain := ""
	if from != nil {
		_, domain, _ = strings.Cut(from.Address, "@")
	}
	var to []*mail.Address
	for i, s := range cfg.To {
		a, err := mail.ParseAddress(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("to[%d] %q is not an address: %w", i, s, err))
			continue
		}
		to = append(to, a)
	}
	if cfg.Lang != "" && !message.ValidLang(cfg.Lang) {
		errs = append(errs, fmt.Errorf("lang %q is not %s or %s", cfg.Lang, message.LangZH, message.LangEN))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", cfg.Timeout))
	}
	if strings.ContainsAny(cfg.HelloName, " \t\r\n") {
		errs = append(errs, fmt.Errorf("hello_name %q has white space", cfg.HelloName))
	}
	tlsConfig := &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(cfg.CAFile)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("ca_file: %w", err))
		case !pool.AppendCertsFromPEM(pem):
			errs = append(errs, fmt.Errorf("ca_file %q holds no PEM certificate", cfg.CAFile))
		default:
			tlsConfig.RootCAs = pool
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("email %q: %w", cfg.Name, err)
	}
	if r == nil {
		if r, err = message.New(cfg.Lang, nil, nil); err != nil {
			return nil, fmt.Errorf("email %q: %w", cfg.Name, err)
		}
	} else if r, err = r.WithLang(cfg.Lang); err != nil {
		return nil, fmt.Errorf("email %q: %w", cfg.Name, err)
	}
	return &Email{
		name: cfg.Name, host: cfg.Host, addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), mode: cfg.TLS,
		username: cfg.Username, password: cfg.Password, from: from, domain: domain, to: to,
		timeout: cfg.Timeout, tls: tlsConfig, helloName: cfg.HelloName, r: r, now: time.Now,
	}, nil
}

// Name returns the channel name.
func (e *Email) Name() string { return e.name }

// MessageID is the Message-ID of the mail for a call: the same for every
// attempt at one call, so a receiver (or its mail client) recognises a
// duplicate sent after a lost answer. Characters other than letters,
// digits, - and _ in the call id are written =XX.
func MessageID(callID, domain string) string {
	var b strings.Builder
	b.WriteString("<yujing.call.")
	for i := 0; i < len(callID); i++ {
		c := callID[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	b.WriteString("@" + domain + ">")
	return b.String()
}

// recipients are the person's address and the configured ones, without
// duplicates.
func (e *Email) recipients(c yujing.Call) ([]*mail.Address, error) {
	var rcpt []*mail.Address
	if s := strings.TrimSpace(c.Person.Email); s != "" {
		a, err := mail.ParseAddress(s)
		if err != nil {
			return nil, fmt.Errorf("person %s has an invalid e-mail address", c.Person.ID)
		}
		if a.Name == "" {
			a.Name = c.Person.Name
		}
		rcpt = append(rcpt, a)
	}
	for _, a := range e.to {
		if !slices.ContainsFunc(rcpt, func(b *mail.Address) bool { return strings.EqualFold(a.Address, b.Address) }) {
			rcpt = append(rcpt, a)
		}
	}
	if len(rcpt) == 0 {
		return nil, fmt.Errorf("person %s has no e-mail address and no to is configured", c.Person.ID)
	}
	return rcpt, nil
}

// Compose renders c as a complete message (headers and body, CRLF line
// ends) to rcpt, dated now.
func (e *Email) Compose(c yujing.Call, rcpt []*mail.Address, now time.Time) ([]byte, error) {
	m, err := e.r.Render(message.KindEmail, c)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", e.from.String())
	to := make([]string, len(rcpt))
	for i, a := range rcpt {
		to[i] = a.String()
	}
	header("To", strings.Join(to, ", "))
	header("Subject", mime.BEncoding.Encode("UTF-8", strings.Join(strings.Fields(m.Title), " ")))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", MessageID(c.ID, e.domain))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=UTF-8")
	header("Content-Transfer-Encoding", "base64")
	header("Auto-Submitted", "auto-generated") // RFC 3834: no vacation replies
	header("X-Auto-Response-Suppress", "All")
	if c.Alert.Level == yujing.Red || c.Alert.Level == yujing.Orange {
		header("Importance", "high")
		header("X-Priority", "1")
	}
	b.WriteString("\r\n")
	body := strings.ReplaceAll(strings.ReplaceAll(m.Text, "\r\n", "\n"), "\n", "\r\n") + "\r\n"
	enc := base64.StdEncoding.EncodeToString([]byte(body))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes(), nil
}

// Send delivers the call once. A 4xx SMTP reply, a network error and a
// timeout are worth another try; a 5xx reply (550 mailbox unavailable,
// 535 authentication failed), a certificate that does not verify and a
// server without STARTTLS or AUTH are permanent.
func (e *Email) Send(ctx context.Context, c yujing.Call) error {
	rcpt, err := e.recipients(c)
	if err != nil {
		return notify.Permanent(fmt.Errorf("email %s: call %s: %w", e.name, c.ID, err))
	}
	msg, err := e.Compose(c, rcpt, e.now())
	if err != nil {
		return notify.Permanent(fmt.Errorf("email %s: render call %s: %w", e.name, c.ID, err))
	}
	if e.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.timeout)
		defer cancel()
	}
	if err := e.deliver(ctx, rcpt, msg); err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return notify.RedactError(fmt.Errorf("email %s: %s: %w", e.name, e.addr, err), e.secrets(rcpt)...)
	}
	return nil
}

// secrets are what an SMTP reply must not bring into an error: the
// password, the user name, the AUTH PLAIN credentials as sent (Base64),
// and the recipients' addresses (personal data).
func (e *Email) secrets(rcpt []*mail.Address) []string {
	s := []string{e.password, e.username}
	if e.username != "" {
		s = append(s, base64.StdEncoding.EncodeToString([]byte("\x00"+e.username+"\x00"+e.password)))
	}
	for _, a := range rcpt {
		s = append(s, a.Address)
	}
	return s
}

// step is one SMTP exchange, for error messages.
type step string

// deliver runs one SMTP session.
func (e *Email) deliver(ctx context.Context, rcpt []*mail.Address, msg []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Cancelling ctx interrupts whatever the session is waiting for.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if e.mode == TLSImplicit {
		tc := tls.Client(conn, e.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return classify("tls handshake", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, e.host)
	if err != nil {
		return classify("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(e.helloName); err != nil {
		return classify("ehlo", err)
	}
	if e.mode == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return notify.Permanent(errors.New("server does not offer STARTTLS (set tls: tls for port 465)"))
		}
		if err := c.StartTLS(e.tls); err != nil {
			return classify("starttls", err)
		}
	}
	if e.username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return notify.Permanent(errors.New("server does not offer AUTH"))
		}
		if err := c.Auth(smtp.PlainAuth("", e.username, e.password, e.host)); err != nil {
			var tp *textproto.Error
			if !errors.As(err, &tp) && !isNet(err) {
				return notify.Permanent(fmt.Errorf("auth: %w", err)) // net/smtp refused to send the password
			}
			return classify("auth", err)
		}
	}
	if err := c.Mail(e.from.Address); err != nil {
		return classify("mail from", err)
	}
	for _, a := range rcpt {
		if err := c.Rcpt(a.Address); err != nil {
			return classify("rcpt to", err) // names no address: they are personal data
		}
	}
	w, err := c.Data()
	if err != nil {
		return classify("data", err)
	}
	if _, err := w.Write(msg); err != nil {
		return classify("data", err)
	}
	if err := w.Close(); err != nil {
		return classify("end of data", err)
	}
	_ = c.Quit() // the message is accepted; a lost QUIT reply changes nothing
	return nil
}

// classify wraps an SMTP failure: a 5xx reply or a certificate that does
// not verify is permanent, anything else (4xx replies, network errors,
// timeouts) worth another try.
func classify(s step, err error) error {
	err = fmt.Errorf("%s: %w", s, err)
	var tp *textproto.Error
	if errors.As(err, &tp) {
		if tp.Code >= 500 {
			return notify.Permanent(err)
		}
		return err
	}
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	if errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) {
		return notify.Permanent(err)
	}
	return err
}

func isNet(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}
