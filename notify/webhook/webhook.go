package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"yujing"
	"yujing/notify"
	"yujing/notify/internal/provider"
)

// Headers set on every request. Config.Headers may not replace them.
const (
	HeaderSignature   = "X-Yujing-Signature" // "sha256=" + hex HMAC-SHA256 of the body
	HeaderIdempotency = "Idempotency-Key"    // the call id; the same on every retry
	signaturePrefix   = "sha256="
)

// DefaultName is the channel name when Config.Name is empty.
const DefaultName = "webhook"

// Config configures one webhook channel.
type Config struct {
	Name    string            `yaml:"name"`    // channel name calls are routed by; default "webhook"
	URL     string            `yaml:"url"`     // absolute http or https URL
	Secret  string            `yaml:"secret"`  // HMAC-SHA256 key; empty sends no signature
	Timeout time.Duration     `yaml:"timeout"` // per-request limit; 0 leaves it to the dispatcher
	Headers map[string]string `yaml:"headers"` // extra request headers, e.g. Authorization
}

// Payload is the JSON document POSTed for each call. Every field is always
// present, except Group. Times are RFC 3339.
type Payload struct {
	CallID     string    `json:"call_id"`
	AlertID    int64     `json:"alert_id"`
	Event      string    `json:"event"`    // raised, upgraded, downgraded, resolved, ...
	Level      string    `json:"level"`    // blue, yellow, orange, red
	LevelZH    string    `json:"level_zh"` // 蓝色(Ⅳ级) ... 红色(Ⅰ级)
	State      string    `json:"state"`    // firing, acknowledged, disposing, resolved, closed
	Rule       string    `json:"rule"`
	Sensor     string    `json:"sensor"`
	Site       string    `json:"site"`
	Family     string    `json:"family"`
	Metric     string    `json:"metric"`
	Value      float64   `json:"value"`
	Unit       string    `json:"unit"`
	Threshold  float64   `json:"threshold"`
	StartedAt  time.Time `json:"started_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	Person     string    `json:"person"` // person id
	PersonName string    `json:"person_name"`
	Message    string    `json:"message"`
	SentAt     time.Time `json:"sent_at"` // when this attempt was made
	// Deadline is when an answer is due (null when none is expected) and
	// AnswerURL the signed link that records it: GET opens the answer
	// page, POST (optional JSON {"note": "..."}) records the answer; the
	// token in it is the credential. Step is the escalation step (0 for a
	// plain notification).
	Deadline  *time.Time `json:"deadline"`
	AnswerURL string     `json:"answer_url"`
	Step      int        `json:"step"`
	// Group lists the calls a grouped delivery stands for, highest level
	// first; the other fields are those of the first, with Message the
	// combined text. Absent for a single call.
	Group []GroupEntry `json:"group,omitempty"`
}

// GroupEntry is one call of a grouped delivery.
type GroupEntry struct {
	CallID    string  `json:"call_id"`
	AlertID   int64   `json:"alert_id"`
	AnswerURL string  `json:"answer_url,omitempty"`
	Event     string  `json:"event"`
	Level     string  `json:"level"`
	Rule      string  `json:"rule"`
	Sensor    string  `json:"sensor"`
	Value     float64 `json:"value"`
	Unit      string  `json:"unit"`
	Threshold float64 `json:"threshold"`
	Message   string  `json:"message"` // the warning's own text
}

// NewGroupPayload builds the document for a grouped delivery, sent at t.
func NewGroupPayload(g notify.Group, t time.Time) Payload {
	p := NewPayload(g.Call, t)
	p.Group = make([]GroupEntry, len(g.Members))
	for i, m := range g.Members {
		a := &m.Alert
		p.Group[i] = GroupEntry{CallID: m.ID, AlertID: a.ID, AnswerURL: m.AnswerURL, Event: string(m.Event), Level: a.Level.String(),
			Rule: a.Rule, Sensor: a.Sensor, Value: a.Value, Unit: a.Unit, Threshold: a.Threshold, Message: a.Message}
	}
	return p
}

// NewPayload builds the document for c, sent at t.
func NewPayload(c yujing.Call, t time.Time) Payload {
	a := &c.Alert
	return Payload{
		CallID: c.ID, AlertID: a.ID, Event: string(c.Event),
		Level: a.Level.String(), LevelZH: a.Level.Chinese(), State: string(a.State),
		Rule: a.Rule, Sensor: a.Sensor, Site: a.Site, Family: string(a.Family), Metric: a.Metric,
		Value: a.Value, Unit: a.Unit, Threshold: a.Threshold,
		StartedAt: a.StartedAt, UpdatedAt: a.UpdatedAt,
		Person: c.Person.ID, PersonName: c.Person.Name, Message: a.Message,
		SentAt: t, AnswerURL: c.AnswerURL, Step: c.Step, Deadline: deadlineOf(c),
	}
}

func deadlineOf(c yujing.Call) *time.Time {
	if c.Deadline.IsZero() {
		return nil
	}
	d := c.Deadline
	return &d
}

// Webhook is a notify.Channel that POSTs calls to a URL.
type Webhook struct {
	name      string
	url       string // full URL; may carry a token, never logged
	safeURL   string // scheme://host/path, for errors
	secret    string
	secrets   []string // what no error may show: the URL's query and user info, header values, the signing key
	timeout   time.Duration
	headers   http.Header
	userAgent string
	client    *http.Client
	now       func() time.Time
}

var (
	_ notify.Channel      = (*Webhook)(nil)
	_ notify.GroupSender  = (*Webhook)(nil)
	_ notify.Deduplicator = (*Webhook)(nil)
)

// New checks cfg and builds the channel. A nil client gets a client of its
// own that does not follow redirects (a redirected webhook is a
// configuration error, reported as a permanent failure).
func New(cfg Config, client *http.Client) (*Webhook, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	var errs []error
	u, err := url.Parse(cfg.URL)
	switch {
	case cfg.URL == "":
		errs = append(errs, errors.New("url is empty"))
	case err != nil:
		errs = append(errs, errors.New("url is not a valid URL")) // err quotes the URL, which may hold a token
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, fmt.Errorf("url scheme %q is not http or https", u.Scheme))
	case u.Host == "":
		errs = append(errs, errors.New("url has no host"))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", cfg.Timeout))
	}
	headers, herrs := provider.Headers(cfg.Headers, reserved...)
	errs = append(errs, herrs...)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("webhook %q: %w", cfg.Name, err)
	}
	if client == nil {
		client = provider.NoRedirectClient()
	}
	safe := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return &Webhook{
		name: cfg.Name, url: cfg.URL, safeURL: safe.String(), secret: cfg.Secret,
		secrets: append(notify.RequestSecrets(cfg.URL, cfg.Headers), cfg.Secret),
		timeout: cfg.Timeout, headers: headers, userAgent: userAgent(),
		client: client, now: time.Now,
	}, nil
}

// Name returns the channel name.
func (w *Webhook) Name() string { return w.name }

// Deduplicates reports true: a receiver drops a delivery whose
// Idempotency-Key it has seen (README.md), so a call sent again after a
// crash, with the same key, reaches the person once.
func (w *Webhook) Deduplicates() bool { return true }

// Send POSTs the call. 2xx is success; 408, 429, 5xx, network errors and
// timeouts are retryable; every other answer is a permanent failure.
func (w *Webhook) Send(ctx context.Context, c yujing.Call) error {
	return w.post(ctx, c.ID, NewPayload(c, w.now()), c.Person.Phone)
}

// SendGroup POSTs a grouped delivery as one document: the first call's
// fields with the combined message, and the list of every call under
// "group". Its Idempotency-Key is the first call's id. It has no provider
// id.
func (w *Webhook) SendGroup(ctx context.Context, g notify.Group) (string, error) {
	return "", w.post(ctx, g.Call.ID, NewGroupPayload(g, w.now()), g.Call.Person.Phone)
}

// post sends one document. Its errors name the URL without its query and
// user info, and pass through notify.RedactError with the channel's
// secrets and the person's phone: a receiver's error answer may echo the
// request — its query (access_token=…), its headers (Authorization) — and
// the log and the call's last_error, which every role of the API reads,
// must show none of it.
func (w *Webhook) post(ctx context.Context, id string, p Payload, phone string) error {
	return notify.RedactError(w.send(ctx, id, p), append(slices.Clone(w.secrets), phone)...)
}

func (w *Webhook) send(ctx context.Context, id string, p Payload) error {
	body, err := json.Marshal(p)
	if err != nil {
		return notify.Permanent(fmt.Errorf("webhook %s: encode call %s: %w", w.name, id, err))
	}
	if w.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return notify.Permanent(fmt.Errorf("webhook %s: build request for %s: %w", w.name, w.safeURL, w.redact(err)))
	}
	for k, vs := range w.headers {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", w.userAgent)
	req.Header.Set(HeaderIdempotency, id)
	if w.secret != "" {
		req.Header.Set(HeaderSignature, Sign(w.secret, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", w.name, w.redact(err))
	}
	defer resp.Body.Close()
	if err := notify.CheckResponse(resp); err != nil {
		return fmt.Errorf("webhook %s: post %s: %w", w.name, w.safeURL, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	return nil
}

// redact replaces the URL inside a *url.Error, which may carry a token in
// its query or user info, with the URL without them.
func (w *Webhook) redact(err error) error { return notify.WithSafeURL(err, w.safeURL) }

// Sign returns the X-Yujing-Signature value for body: "sha256=" and the
// lowercase hex HMAC-SHA256 of body keyed with secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return signaturePrefix + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header is the signature of body under secret, in
// constant time. An empty secret verifies nothing.
func Verify(secret string, body []byte, header string) bool {
	if secret == "" {
		return false
	}
	got, ok := strings.CutPrefix(strings.TrimSpace(header), signaturePrefix)
	if !ok {
		return false
	}
	sig, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(sig, m.Sum(nil))
}

// reserved are the headers the channel or the transport sets, which the
// configuration cannot.
var reserved = []string{"Content-Type", "Content-Length", "Host", "User-Agent", "Transfer-Encoding", HeaderIdempotency, HeaderSignature}

// userAgent is "yujing/<module version>", or "yujing/dev" for a build
// without one.
func userAgent() string {
	v := "dev"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return "yujing/" + v
}
