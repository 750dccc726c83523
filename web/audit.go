package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"yujing/audit"
	"yujing/web/auth"
)

// Audit records every successful state-changing request in the audit log
// (its Middleware, which Server.Handler puts in front of every route) and
// serves the log: GET /api/v1/audit, /api/v1/audit.csv and
// /api/v1/audit/verify. Build it with NewAudit and set Options.Audit.
//
// An action is recorded after its handler answered 2xx: the entry is
// appended when the handler returns, before the server finishes the
// response, so a client that has its complete answer can find the entry.
// If the append fails, the action still stands (it has happened;
// undoing it is not possible in general), the client still gets the
// handler's answer, and the failure is logged as an error and counted in
// yujing_audit_errors_total: alert on that metric, because every count is
// an action missing from the record.
type Audit struct {
	st       audit.Store
	log      *slog.Logger
	now      func() time.Time
	timeout  time.Duration
	errors   prometheus.Counter
	recorded prometheus.Counter
}

// AuditOptions are the collaborators of NewAudit.
type AuditOptions struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer // metrics go here; nil registers nothing
	Now        func() time.Time      // the time of an entry (default time.Now)
	Timeout    time.Duration         // bounds one append (default 5s)
}

// NewAudit records actions in st and serves it.
func NewAudit(st audit.Store, opts AuditOptions) (*Audit, error) {
	if st == nil {
		return nil, errors.New("web: audit: nil store")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	a := &Audit{st: st, log: opts.Logger, now: opts.Now, timeout: opts.Timeout,
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "yujing_audit_errors_total",
			Help: "Actions that went through but could not be recorded in the audit log."}),
		recorded: prometheus.NewCounter(prometheus.CounterOpts{Name: "yujing_audit_entries_total",
			Help: "Actions recorded in the audit log."}),
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{a.errors, a.recorded} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("web: audit: register metrics: %w", err)
			}
		}
	}
	return a, nil
}

// Limits of what an entry keeps of a request.
const (
	// MaxAuditDetail bounds an entry's Detail (the request body, secrets
	// redacted); longer ones are cut and marked.
	MaxAuditDetail = 4 << 10
	// auditPeek is how much of a body is read before the handler runs, so
	// that the actor and detail of a request whose handler ignores its
	// body (POST /-/reload, DELETE) are known too.
	auditPeek = 64 << 10
	// auditCaptureMax bounds what is kept of a body while the handler
	// reads it: above the largest body a handler takes (a disposal record
	// with photos, about 34 MiB). Only what the handler reads is kept.
	auditCaptureMax = 40 << 20
	// longString: a JSON string value longer than this (or a base64 one
	// longer than 1 KiB, such as a photo) is kept as its length and
	// SHA-256 rather than its text.
	longString = 2 << 10
	maxActor   = 200
	maxUA      = 256
)

// Anonymous is the actor of a request that names nobody.
const Anonymous = "anonymous"

// ActorFrom returns who made r as authenticated by Options.Auth: the
// user name, or token:<name> for an API token; "" when nobody is (no
// authentication configured, or a public request such as a provider
// callback). Only then does the audit log take the actor from the request
// itself (the "by" field of an alert action, see actorOf), else record
// Anonymous. After a successful POST /api/v1/login it is the user who
// logged in.
func ActorFrom(r *http.Request) string {
	if p, ok := auth.FromContext(r.Context()); ok {
		return p.Actor()
	}
	return ""
}

// audited reports whether r changes state: POST, PUT, PATCH or DELETE under
// /api/ or /-/, but for a rule's preview (POST /api/v1/rules/{name}/preview),
// which only reads.
func audited(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/api/v1/rules/") && strings.HasSuffix(r.URL.Path, "/preview") {
			return false
		}
		return strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/-/") ||
			strings.HasPrefix(r.URL.Path, "/answer/")
	}
	return false
}

// auditNote is what a handler can tell the audit log about its request:
// who acted when no login says so (an answer link's person) and the object
// to name instead of the path (which holds the link's token).
type auditNote struct{ actor, object string }

type auditNoteKey struct{}

// noteAudit sets the actor and object of r's audit entry (a no-op when r
// is not audited).
func noteAudit(r *http.Request, actor, object string) {
	if n, ok := r.Context().Value(auditNoteKey{}).(*auditNote); ok {
		n.actor, n.object = actor, object
	}
}

// Middleware records every request that changes state and succeeds (2xx)
// in the audit log; others pass through untouched.
func (a *Audit) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !audited(r) {
			next.ServeHTTP(w, r)
			return
		}
		// Keep the body as it is read: its start now, the rest as the
		// handler reads it, which gets every byte as sent.
		c := &bodyCapture{r: r.Body, max: auditCaptureMax}
		head, _ := io.ReadAll(io.LimitReader(c, auditPeek))
		note := &auditNote{}
		inner := r.WithContext(context.WithValue(r.Context(), auditNoteKey{}, note))
		inner.Body = replayBody{Reader: io.MultiReader(bytes.NewReader(head), c), Closer: r.Body}
		rec := &auditRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, inner)
		if code := rec.status(); code < 200 || code > 299 {
			return
		}
		a.record(inner, c)
	})
}

func (a *Audit) record(r *http.Request, c *bodyCapture) {
	body, whole := c.buf.Bytes(), !c.over && json.Valid(c.buf.Bytes())
	e := audit.Entry{
		At:     a.now(),
		Actor:  actorOf(r, body, whole),
		Action: actionOf(r),
		Object: clean(r.URL.Path, 1024),
		Detail: detailOf(body, whole, c.over),
		From:   fromOf(r),
	}
	if n, ok := r.Context().Value(auditNoteKey{}).(*auditNote); ok {
		if n.actor != "" && ActorFrom(r) == "" {
			e.Actor = clean(n.actor, maxActor)
		}
		if n.object != "" {
			e.Object = clean(n.object, 1024)
		}
	}
	if strings.HasPrefix(r.URL.Path, "/answer/") {
		e.Action = r.Method + " /answer/{token}" // never the token itself
		if e.Object == clean(r.URL.Path, 1024) {
			e.Object = "/answer/…"
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), a.timeout)
	defer cancel()
	if err := a.st.Append(ctx, &e); err != nil {
		a.errors.Inc()
		a.log.Error("action not recorded in the audit log; it went through all the same",
			"action", e.Action, "object", e.Object, "actor", e.Actor, "from", e.From, "err", err)
		return
	}
	a.recorded.Inc()
}

// replayBody is a request body whose start was read ahead.
type replayBody struct {
	io.Reader
	io.Closer
}

// bodyCapture keeps a copy of what is read from a request body, up to max
// bytes; over says that more was read than kept.
type bodyCapture struct {
	r    io.Reader
	max  int
	buf  bytes.Buffer
	over bool
}

func (c *bodyCapture) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		keep := min(n, c.max-c.buf.Len())
		c.buf.Write(p[:keep])
		c.over = c.over || keep < n
	}
	return n, err
}

// auditRecorder notes the status a handler answers with.
type auditRecorder struct {
	http.ResponseWriter
	code int
}

func (w *auditRecorder) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *auditRecorder) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *auditRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// status is the answer's code: 200 when the handler wrote nothing.
func (w *auditRecorder) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// actorOf is who made r: ActorFrom, else the name the request gives — the
// "by" field of a JSON body (alert actions), its "created_by" (silences),
// a "by" query parameter (DELETE /api/v1/silences/{id}?by=…) — else
// Anonymous.
func actorOf(r *http.Request, body []byte, whole bool) string {
	if u := ActorFrom(r); u != "" {
		return clean(u, maxActor)
	}
	var b struct {
		By        any `json:"by"`
		CreatedBy any `json:"created_by"`
	}
	if whole && json.Unmarshal(body, &b) == nil {
		for _, v := range []any{b.By, b.CreatedBy} {
			if by, ok := v.(string); ok && strings.TrimSpace(by) != "" {
				return clean(strings.TrimSpace(by), maxActor)
			}
		}
	}
	if by := strings.TrimSpace(r.URL.Query().Get("by")); by != "" {
		return clean(by, maxActor)
	}
	return Anonymous
}

// actionOf is the method and the route pattern that served r, e.g.
// "POST /api/v1/alerts/{id}/ack".
func actionOf(r *http.Request) string {
	p := r.Pattern
	if p == "" {
		p = r.URL.Path
	}
	if !strings.HasPrefix(p, r.Method+" ") {
		p = r.Method + " " + p
	}
	return clean(p, 1024)
}

// fromOf is where r came from: the peer address, the X-Forwarded-For
// header as claimed (a proxy's word, not checked), and the user agent.
func fromOf(r *http.Request) string {
	from := r.RemoteAddr
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		from += " forwarded-for=" + strconv.Quote(clean(xff, maxUA))
	}
	if ua := r.UserAgent(); ua != "" {
		from += " ua=" + strconv.Quote(clean(ua, maxUA))
	}
	return from
}

// clean makes s valid UTF-8 and at most n bytes.
func clean(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Redacted replaces a secret's value in an entry's Detail.
const Redacted = "[REDACTED]"

// detailOf is what an entry keeps of a request body: a JSON body (whole:
// complete and valid) decoded and encoded again with the values of
// secret-looking fields (see secretName) replaced by Redacted and long
// strings by their length and SHA-256 (see summarize); other text (forms,
// cut-off JSON) with secrets replaced in its name=value and "name": value
// pairs. Either is cut to MaxAuditDetail. over says the body was longer
// than what was kept of it.
func detailOf(body []byte, whole, over bool) string {
	if len(bytes.TrimSpace(body)) == 0 {
		return ""
	}
	var s string
	if whole {
		s = redactJSON(body)
	} else {
		// Only the start can be kept; a secret cut at the end of it is cut
		// off again below.
		s = redactText(string(body[:min(len(body), auditPeek)]))
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	if over || len(s) > MaxAuditDetail {
		total := strconv.Itoa(len(body))
		if over {
			total = "over " + total
		}
		s = clean(s, MaxAuditDetail) + "[truncated: the body had " + total + " bytes]"
	}
	return s
}

func redactJSON(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return redactText(string(body))
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(redactValue(v)); err != nil {
		return redactText(string(body))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func redactValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if secretName(k) {
				v[k] = Redacted
			} else {
				v[k] = redactValue(x)
			}
		}
	case []any:
		for i, x := range v {
			v[i] = redactValue(x)
		}
	case string:
		return summarize(v)
	}
	return v
}

// summarize keeps a string as it is unless it is long: over 1 KiB of
// base64 (a photo, a file) becomes "[base64: N bytes, sha256 H]" with the
// length and hash of the decoded data, so that a stored attachment can be
// matched to the record; other text over longString becomes "[text: N
// bytes, sha256 H]".
func summarize(s string) string {
	if len(s) > 1<<10 {
		if data, err := base64.StdEncoding.DecodeString(s); err == nil {
			sum := sha256.Sum256(data)
			return fmt.Sprintf("[base64: %d bytes, sha256 %x]", len(data), sum)
		}
	}
	if len(s) > longString {
		sum := sha256.Sum256([]byte(s))
		return fmt.Sprintf("[text: %d bytes, sha256 %x]", len(s), sum)
	}
	return s
}

// textPair finds name=value and "name": value in free text.
var textPair = regexp.MustCompile(`([A-Za-z][A-Za-z0-9_.-]*)("?\s*[:=]\s*)("[^"]*"|[^\s&,;"]+)`)

func redactText(s string) string {
	return textPair.ReplaceAllStringFunc(s, func(m string) string {
		p := textPair.FindStringSubmatch(m)
		if !secretName(p[1]) {
			return m
		}
		if strings.HasPrefix(p[3], `"`) {
			return p[1] + p[2] + `"` + Redacted + `"`
		}
		return p[1] + p[2] + Redacted
	})
}

// secretName reports whether a field's value is a secret by its name:
// anything containing password, passwd, secret, token or credential, and
// names with a word key, pwd, apikey, appkey, accesskey, privatekey or
// authorization (api_key, apiKey, access-key-id; not keyword or monkey).
func secretName(name string) bool {
	l := strings.ToLower(name)
	for _, s := range []string{"password", "passwd", "secret", "token", "credential"} {
		if strings.Contains(l, s) {
			return true
		}
	}
	for _, w := range words(name) {
		switch w {
		case "key", "pwd", "apikey", "appkey", "accesskey", "privatekey", "authorization", "cookie":
			return true
		}
	}
	return false
}

// words splits a field name into lowercase words at punctuation and at
// lower-to-upper case changes: "apiKey" and "api_key" are "api", "key".
func words(name string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	prevLower := false
	for _, r := range name {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
			prevLower = false
			continue
		case unicode.IsUpper(r) && prevLower:
			flush()
		}
		cur = append(cur, r)
		prevLower = unicode.IsLower(r) || unicode.IsDigit(r)
	}
	flush()
	return out
}

// auditOff answers the audit endpoints when no log is kept.
func (s *Server) auditOff(w http.ResponseWriter) bool {
	if s.opts.Audit == nil {
		writeError(w, http.StatusNotFound, errors.New("the audit log is not kept here"))
		return true
	}
	return false
}

// auditFilter reads from, to (RFC 3339), actor, action, q (text
// anywhere in an entry), limit and offset.
func auditFilter(r *http.Request) (audit.Filter, error) {
	q := r.URL.Query()
	f := audit.Filter{Actor: q.Get("actor"), Action: q.Get("action"), Text: q.Get("q")}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, fmt.Errorf("%s: want RFC 3339 time, got %q", p.name, v)
			}
			*p.dst = t
		}
	}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"limit", &f.Limit}, {"offset", &f.Offset}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return f, fmt.Errorf("%s: want a whole number ≥ 0, got %q", p.name, v)
			}
			*p.dst = n
		}
	}
	return f, nil
}

// auditList serves GET /api/v1/audit: entries, newest first.
func (s *Server) auditList(w http.ResponseWriter, r *http.Request) {
	if s.auditOff(w) {
		return
	}
	f, err := auditFilter(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	f.NewestFirst = true
	es, err := s.opts.Audit.st.List(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if es == nil {
		es = []audit.Entry{}
	}
	writeJSON(w, http.StatusOK, es)
}

// auditCSV serves GET /api/v1/audit.csv: the entries the filters select,
// oldest first, every one of them unless limit is given.
func (s *Server) auditCSV(w http.ResponseWriter, r *http.Request) {
	if s.auditOff(w) {
		return
	}
	f, err := auditFilter(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="yujing-audit.csv"`)
	// The CSV writer buffers, so an error before any entry is read still
	// gets an error status; one later can only cut the download short.
	if err := audit.Export(r.Context(), s.opts.Audit.st, f, audit.CSV, w); err != nil {
		s.opts.Logger.Error("audit export failed", "err", err)
		h.Del("Content-Disposition")
		writeError(w, http.StatusInternalServerError, err)
	}
}

// auditVerify serves GET /api/v1/audit/verify: the audit.Report.
func (s *Server) auditVerify(w http.ResponseWriter, r *http.Request) {
	if s.auditOff(w) {
		return
	}
	rep, err := audit.Verify(r.Context(), s.opts.Audit.st)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
