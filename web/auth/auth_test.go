package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"yujing"
	"yujing/alerting/lifecycle"
	"yujing/internal/fakeclock"
	"yujing/store"
	"yujing/store/sqlite"
	"yujing/store/sqlstate"
	"yujing/web"
	"yujing/web/auth"
)

// Tokens of the configuration, one per role.
const (
	viewerToken   = "viewer-token-0123456789abcdef0123456789"
	operatorToken = "operator-token-0123456789abcdef012345678"
	adminToken    = "admin-token-0123456789abcdef0123456789ab"
)

// cheap keeps the tests quick; TestPasswordHashRoundTrip checks the real
// parameters.
var cheap = auth.Params{Memory: 64, Time: 1, Threads: 1}

// alerts acknowledges, disposes and closes alert 1 and keeps who did.
type alerts struct {
	mu sync.Mutex
	by []string
}

func (*alerts) List(context.Context, store.AlertFilter) ([]yujing.Alert, error) {
	return []yujing.Alert{}, nil
}
func (*alerts) Count(context.Context, store.AlertFilter) (map[yujing.Level]int, error) {
	return nil, nil
}
func (*alerts) Get(context.Context, int64) (yujing.Alert, []yujing.Transition, error) {
	return yujing.Alert{}, nil, lifecycle.ErrNotFound
}
func (a *alerts) Ack(_ context.Context, id int64, act lifecycle.Action) (yujing.Alert, error) {
	if id != 1 {
		return yujing.Alert{}, lifecycle.ErrNotFound
	}
	a.mu.Lock()
	a.by = append(a.by, act.By)
	a.mu.Unlock()
	return yujing.Alert{ID: 1, State: yujing.StateAcknowledged, AckedBy: act.By}, nil
}
func (a *alerts) Dispose(ctx context.Context, id int64, act lifecycle.Action) (yujing.Alert, error) {
	return a.Ack(ctx, id, act)
}
func (a *alerts) Close(ctx context.Context, id int64, act lifecycle.Action) (yujing.Alert, error) {
	return a.Ack(ctx, id, act)
}

type sensors struct{}

func (sensors) Create(_ context.Context, s yujing.Sensor) (yujing.Sensor, error) { return s, nil }
func (sensors) Update(_ context.Context, s yujing.Sensor) (yujing.Sensor, error) { return s, nil }
func (sensors) Delete(context.Context, string) error                             { return nil }
func (sensors) Sites() []yujing.Site                                             { return nil }
func (sensors) Sensors() []yujing.Sensor                                         { return nil }
func (sensors) Check(*yujing.Sensor) error                                       { return nil }
func (sensors) Import(context.Context, []yujing.Sensor, bool) error              { return nil }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// env is a yujing web server with authentication on a real state.db,
// over real HTTP on loopback, with a clock the test moves.
type env struct {
	url    string
	dir    string
	state  *sqlstate.State
	svc    *auth.Service
	clock  *fakeclock.Clock
	alerts *alerts
	reg    *prometheus.Registry
	logs   *lockedBuffer
}

func newEnv(t *testing.T, tweak func(*auth.Options)) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.OpenState(t.Context(), filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{dir: dir, state: st, clock: fakeclock.New(time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)),
		alerts: &alerts{}, reg: prometheus.NewRegistry(), logs: &lockedBuffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	opts := auth.Options{Store: st, Logger: log, Registerer: e.reg, Now: e.clock.Now, After: e.clock.After, Hash: &cheap,
		LookupEnv: func(string) (string, bool) { return "", false },
		Tokens: []auth.ConfigToken{{Name: "grafana", Role: auth.Viewer, Token: viewerToken},
			{Name: "duty-app", Role: auth.Operator, Token: operatorToken}, {Name: "ci", Role: auth.Admin, Token: adminToken}}}
	if tweak != nil {
		tweak(&opts)
	}
	e.svc, err = auth.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Bootstrap(t.Context()); err != nil {
		t.Fatal(err)
	}
	a, err := web.NewAudit(st.AuditLog(), web.AuditOptions{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Options{Alerts: e.alerts, SensorsAdm: sensors{}, Audit: a, Auth: e.svc, Logger: log,
		Gatherer: e.reg, Reload: func(context.Context) error { return nil }})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e.url = hs.URL
	return e
}

// addUser creates a user directly in state.db.
func (e *env) addUser(t *testing.T, name, role, pw string) {
	t.Helper()
	u, err := e.svc.NewUser(t.Context(), name, pw, role)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.state.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
}

type reply struct {
	code int
	body string
	hdr  http.Header
}

func (r reply) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

// do sends a request; hdr are header name/value pairs.
func do(t *testing.T, c *http.Client, method, url, body string, hdr ...string) reply {
	t.Helper()
	r, err := send(t.Context(), c, method, url, body, hdr...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// send is do for any goroutine: it returns the error.
func send(ctx context.Context, c *http.Client, method, url, body string, hdr ...string) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, string(b), resp.Header}, nil
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

func TestRuleTable(t *testing.T) {
	e := newEnv(t, nil)
	type want int
	const (
		anyone want = iota
		viewer
		operator
		admin
	)
	endpoints := []struct {
		method, path, body string
		need               want
	}{
		{"GET", "/healthz", "", anyone},
		{"GET", "/", "", anyone},
		{"GET", "/console.js", "", anyone},
		{"POST", "/api/v1/login", `{"username": ""}`, anyone},
		{"POST", "/api/v1/callbacks/dingtalk", `{}`, anyone},
		{"GET", "/answer/some-token", "", anyone},
		{"POST", "/answer/some-token", `{}`, anyone},
		{"GET", "/metrics", "", viewer},
		{"GET", "/api/v1/alerts", "", viewer},
		{"GET", "/api/v1/me", "", viewer},
		{"POST", "/api/v1/me/password", `{}`, viewer},
		{"POST", "/api/v1/alerts/1/ack", `{"note": "收到"}`, operator},
		{"POST", "/api/v1/alerts/1/close", `{"reason": "false_alarm"}`, operator},
		{"POST", "/api/v1/calls/c-1/answer", `{}`, operator},
		{"POST", "/api/v1/silences", `{}`, admin},
		{"PUT", "/api/v1/sensors/GT-101", `{"name": "x"}`, admin},
		{"DELETE", "/api/v1/sensors/GT-101", "", admin},
		{"POST", "/-/reload", "", admin},
		{"GET", "/api/v1/audit", "", admin},
		{"GET", "/api/v1/users", "", admin},
		{"GET", "/api/v1/tokens", "", admin},
		{"POST", "/api/v1/people", `{}`, admin},
	}
	callers := []struct {
		name string
		role want
		hdr  []string
	}{
		{"nobody", anyone, nil},
		{"viewer", viewer, bearer(viewerToken)},
		{"operator", operator, bearer(operatorToken)},
		{"admin", admin, bearer(adminToken)},
	}
	for _, ep := range endpoints {
		for _, c := range callers {
			t.Run(ep.method+" "+ep.path+" as "+c.name, func(t *testing.T) {
				r := do(t, nil, ep.method, e.url+ep.path, ep.body, c.hdr...)
				switch {
				case c.role >= ep.need:
					if r.code == http.StatusUnauthorized || r.code == http.StatusForbidden {
						t.Fatalf("%d %s, want it let through", r.code, r.body)
					}
				case c.role == anyone:
					if r.code != http.StatusUnauthorized || !strings.Contains(r.body, "authentication required") ||
						r.hdr.Get("WWW-Authenticate") == "" {
						t.Fatalf("%d %s (WWW-Authenticate %q), want 401", r.code, r.body, r.hdr.Get("WWW-Authenticate"))
					}
				default:
					needName := []string{"", "viewer", "operator", "admin"}[ep.need]
					if r.code != http.StatusForbidden || !strings.Contains(r.body, "needs the "+needName+" role") {
						t.Fatalf("%d %s, want 403 naming the %s role", r.code, r.body, needName)
					}
				}
				if !strings.HasPrefix(r.hdr.Get("Content-Type"), "application/json") && r.code >= 400 && r.code != 404 && r.code != 405 {
					t.Errorf("error answer is %q, want JSON", r.hdr.Get("Content-Type"))
				}
			})
		}
	}
	// A token names its user: the acknowledgement is by token:duty-app,
	// whatever the body says.
	r := do(t, nil, "POST", e.url+"/api/v1/alerts/1/ack", `{"by": "somebody-else"}`, bearer(operatorToken)...)
	var a yujing.Alert
	r.json(t, &a)
	if a.AckedBy != "token:duty-app" {
		t.Errorf("acked by %q, want token:duty-app", a.AckedBy)
	}
}

func TestMetricsPublic(t *testing.T) {
	e := newEnv(t, func(o *auth.Options) { o.MetricsPublic = true })
	if r := do(t, nil, "GET", e.url+"/metrics", ""); r.code != 200 || !strings.Contains(r.body, "yujing_login_failures_total") {
		t.Fatalf("GET /metrics with metrics_public: %d %.200s", r.code, r.body)
	}
	if r := do(t, nil, "GET", e.url+"/api/v1/alerts", ""); r.code != 401 {
		t.Fatalf("GET /api/v1/alerts: %d, want 401 still", r.code)
	}
}

// login logs in with a cookie jar and returns the client and csrf token.
func login(t *testing.T, e *env, user, pw string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	r := do(t, c, "POST", e.url+"/api/v1/login", `{"username": "`+user+`", "password": "`+pw+`"}`)
	if r.code != 200 {
		t.Fatalf("login %s: %d %s", user, r.code, r.body)
	}
	var m struct{ User, Role, CSRF_Token string }
	r.json(t, &m)
	if m.User != user || m.CSRF_Token == "" {
		t.Fatalf("login answer %s", r.body)
	}
	return c, m.CSRF_Token
}

func TestLoginSessionCSRF(t *testing.T) {
	e := newEnv(t, nil)
	e.addUser(t, "li", "operator", "duty-room-2026")

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	r := do(t, c, "POST", e.url+"/api/v1/login", `{"username": "li", "password": "duty-room-2026"}`)
	if r.code != 200 {
		t.Fatalf("login: %d %s", r.code, r.body)
	}
	var m struct {
		User      string `json:"user"`
		Role      string `json:"role"`
		CSRFToken string `json:"csrf_token"`
	}
	r.json(t, &m)
	if m.User != "li" || m.Role != "operator" || len(m.CSRFToken) < 32 {
		t.Fatalf("login answer %s", r.body)
	}
	cookies := map[string]string{}
	for _, c := range r.hdr.Values("Set-Cookie") {
		name, _, _ := strings.Cut(c, "=")
		cookies[name] = c
	}
	cookie := cookies[auth.CookieName]
	for name, wants := range map[string][]string{
		auth.CookieName:       {"Path=/;", "HttpOnly", "SameSite=Strict", "Max-Age=604800"},
		auth.DeviceCookieName: {"Path=/api/v1/;", "HttpOnly", "SameSite=Strict", "Max-Age=7776000"},
	} {
		c := cookies[name]
		for _, want := range wants {
			if !strings.Contains(c, want) {
				t.Errorf("Set-Cookie %q lacks %s", c, want)
			}
		}
		if strings.Contains(c, "Secure") {
			t.Errorf("Set-Cookie %q is Secure on plain HTTP without secure_cookies", c)
		}
	}
	// The session id is not stored as it is.
	id := strings.TrimPrefix(strings.Split(cookie, ";")[0], auth.CookieName+"=")
	if _, _, err := e.state.SessionUser(t.Context(), id); err == nil {
		t.Error("the session id itself finds the session in state.db; only its hash should")
	}

	// The cookie works for reading.
	if r := do(t, c, "GET", e.url+"/api/v1/alerts", ""); r.code != 200 {
		t.Fatalf("GET with the cookie: %d %s", r.code, r.body)
	}
	var me struct {
		User      string `json:"user"`
		CSRFToken string `json:"csrf_token"`
	}
	do(t, c, "GET", e.url+"/api/v1/me", "").json(t, &me)
	if me.User != "li" || me.CSRFToken != m.CSRFToken {
		t.Errorf("GET /api/v1/me = %+v", me)
	}
	// A change without the CSRF header, or with a wrong one, is refused.
	for _, hdr := range [][]string{nil, {auth.CSRFHeader, "wrong"}} {
		r := do(t, c, "POST", e.url+"/api/v1/alerts/1/ack", `{"note": "x"}`, hdr...)
		if r.code != 403 || !strings.Contains(r.body, auth.CSRFHeader) {
			t.Fatalf("POST with %v: %d %s, want 403 naming %s", hdr, r.code, r.body, auth.CSRFHeader)
		}
	}
	// With it, it goes through, as li whatever the body says.
	r = do(t, c, "POST", e.url+"/api/v1/alerts/1/ack", `{"by": "zhang", "note": "收到"}`, auth.CSRFHeader, m.CSRFToken)
	var a yujing.Alert
	r.json(t, &a)
	if r.code != 200 || a.AckedBy != "li" {
		t.Fatalf("ack with CSRF header: %d %s, want acked by li", r.code, r.body)
	}
	// An operator is not an admin.
	if r := do(t, c, "POST", e.url+"/-/reload", "", auth.CSRFHeader, m.CSRFToken); r.code != 403 || !strings.Contains(r.body, "needs the admin role; li has the operator role") {
		t.Errorf("reload as operator: %d %s", r.code, r.body)
	}
	// A cross-origin browser request is refused, CSRF header or not.
	for _, hdr := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
		r := do(t, c, "POST", e.url+"/api/v1/alerts/1/ack", `{}`, hdr[0], hdr[1], auth.CSRFHeader, m.CSRFToken)
		if r.code != 403 || !strings.Contains(r.body, "cross-origin") {
			t.Errorf("cross-origin POST (%s: %s): %d %s, want 403", hdr[0], hdr[1], r.code, r.body)
		}
	}
	// Same-origin from the console is fine.
	if r := do(t, c, "POST", e.url+"/api/v1/alerts/1/dispose", `{}`, "Sec-Fetch-Site", "same-origin", "Origin", e.url, auth.CSRFHeader, m.CSRFToken); r.code != 200 {
		t.Errorf("same-origin POST: %d %s", r.code, r.body)
	}

	// Logout ends the session for good.
	if r := do(t, c, "POST", e.url+"/api/v1/logout", "", auth.CSRFHeader, m.CSRFToken); r.code != 200 {
		t.Fatalf("logout: %d %s", r.code, r.body)
	}
	old := &http.Client{}
	if r := do(t, old, "GET", e.url+"/api/v1/alerts", "", "Cookie", auth.CookieName+"="+id); r.code != 401 {
		t.Errorf("old session cookie after logout: %d, want 401", r.code)
	}
	if r := do(t, c, "GET", e.url+"/api/v1/me", ""); r.code != 401 {
		t.Errorf("GET /api/v1/me after logout: %d, want 401", r.code)
	}
}

func TestSecureCookie(t *testing.T) {
	e := newEnv(t, func(o *auth.Options) { o.SecureCookies = true })
	e.addUser(t, "li", "viewer", "duty-room-2026")
	r := do(t, nil, "POST", e.url+"/api/v1/login", `{"username": "li", "password": "duty-room-2026"}`)
	if cs := r.hdr.Values("Set-Cookie"); r.code != 200 || len(cs) != 2 {
		t.Errorf("secure_cookies: %d, Set-Cookie %q, want the session and the device cookie", r.code, cs)
	}
	for _, c := range r.hdr.Values("Set-Cookie") {
		if !strings.Contains(c, "Secure") {
			t.Errorf("secure_cookies: Set-Cookie %q is not Secure", c)
		}
	}
}

func TestWrongCredentialsAndRateLimit(t *testing.T) {
	e := newEnv(t, nil)
	e.addUser(t, "li", "operator", "duty-room-2026")
	e.addUser(t, "wang", "viewer", "another-pass-1")
	// Unknown user and wrong password: the same answer.
	for _, body := range []string{`{"username": "nobody", "password": "duty-room-2026"}`, `{"username": "li", "password": "wrong-password"}`} {
		r := do(t, nil, "POST", e.url+"/api/v1/login", body)
		if r.code != 401 || strings.TrimSpace(r.body) != `{"error":"wrong username or password"}` {
			t.Errorf("login %s: %d %s", body, r.code, r.body)
		}
	}
	// Four more wrong passwords make five for li: the sixth try is
	// refused even with the right password.
	for range 4 {
		do(t, nil, "POST", e.url+"/api/v1/login", `{"username": "li", "password": "wrong-password"}`)
	}
	e.clock.Advance(time.Minute)
	r := do(t, nil, "POST", e.url+"/api/v1/login", `{"username": "li", "password": "duty-room-2026"}`)
	if r.code != 429 || !strings.Contains(r.body, "too many failed logins") {
		t.Fatalf("sixth login: %d %s, want 429", r.code, r.body)
	}
	if ra, err := strconv.Atoi(r.hdr.Get("Retry-After")); err != nil || ra != 14*60 {
		t.Errorf("Retry-After %q, want 840 (15 minutes after the first failure)", r.hdr.Get("Retry-After"))
	}
	// Another user from the same address may still log in.
	if r := do(t, nil, "POST", e.url+"/api/v1/login", `{"username": "wang", "password": "another-pass-1"}`); r.code != 200 {
		t.Errorf("wang: %d %s", r.code, r.body)
	}
	// Once the window has passed, li may log in, and that resets the count.
	e.clock.Advance(14 * time.Minute)
	if r := do(t, nil, "POST", e.url+"/api/v1/login", `{"username": "li", "password": "duty-room-2026"}`); r.code != 200 {
		t.Fatalf("li after the window: %d %s", r.code, r.body)
	}
	for reason, want := range map[string]float64{"unknown_user": 1, "wrong_password": 5, "rate_limited": 1, "bad_request": 0} {
		if got := testutil.ToFloat64(mustCounter(t, e.reg, reason)); got != want {
			t.Errorf("yujing_login_failures_total{reason=%q} = %v, want %v", reason, got, want)
		}
	}
	// The log names the refused user, never the password tried.
	if logs := e.logs.String(); !strings.Contains(logs, "login refused") || strings.Contains(logs, "wrong-password") || strings.Contains(logs, "duty-room-2026") {
		t.Errorf("log:\n%s", logs)
	}
}

// mustCounter finds yujing_login_failures_total{reason} in reg.
func mustCounter(t *testing.T, reg *prometheus.Registry, reason string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "yujing_login_failures_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})
					c.Add(m.GetCounter().GetValue())
					return c
				}
			}
		}
	}
	t.Fatalf("no yujing_login_failures_total{reason=%q}", reason)
	return nil
}

func TestSessionExpiry(t *testing.T) {
	e := newEnv(t, func(o *auth.Options) { o.SessionIdle = time.Hour; o.SessionMax = 3 * time.Hour })
	e.addUser(t, "li", "viewer", "duty-room-2026")

	// Absolute: used every 50 minutes the session lives, until 3h after
	// login, however busy.
	c, _ := login(t, e, "li", "duty-room-2026")
	for range 3 {
		e.clock.Advance(50 * time.Minute)
		if r := do(t, c, "GET", e.url+"/api/v1/alerts", ""); r.code != 200 {
			t.Fatalf("active session at +%s: %d %s", e.clock.Now().Sub(time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)), r.code, r.body)
		}
	}
	e.clock.Advance(40 * time.Minute) // 3h10m after login, 40m idle
	if r := do(t, c, "GET", e.url+"/api/v1/alerts", ""); r.code != 401 || !strings.Contains(r.body, "session has ended") {
		t.Fatalf("3h10m after login: %d %s, want 401", r.code, r.body)
	}

	// Idle: 59 minutes unused is fine, 61 more is not.
	c, _ = login(t, e, "li", "duty-room-2026")
	e.clock.Advance(59 * time.Minute)
	if r := do(t, c, "GET", e.url+"/api/v1/alerts", ""); r.code != 200 {
		t.Fatalf("59m idle: %d %s", r.code, r.body)
	}
	e.clock.Advance(61 * time.Minute)
	if r := do(t, c, "GET", e.url+"/api/v1/alerts", ""); r.code != 401 {
		t.Fatalf("61m idle: %d %s, want 401", r.code, r.body)
	}
	// Ended sessions are deleted, not kept.
	if r := do(t, c, "GET", e.url+"/api/v1/alerts", ""); r.code != 401 {
		t.Fatalf("after expiry: %d", r.code)
	}
}

func TestAPITokens(t *testing.T) {
	e := newEnv(t, nil)
	// An admin (here the configuration's token) makes a token for an
	// integration; it is shown once.
	r := do(t, nil, "POST", e.url+"/api/v1/tokens", `{"name": "wecom-bot", "role": "operator"}`, bearer(adminToken)...)
	var created struct {
		Name, Role, Token, Source string
		CreatedBy                 string `json:"created_by"`
	}
	r.json(t, &created)
	if r.code != 201 || !strings.HasPrefix(created.Token, auth.TokenPrefix) || len(created.Token) < 40 || created.CreatedBy != "token:ci" {
		t.Fatalf("create token: %d %s", r.code, r.body)
	}
	tok := created.Token
	// Scoped by its role: an operator acknowledges, but cannot reload.
	if r := do(t, nil, "POST", e.url+"/api/v1/alerts/1/ack", `{}`, bearer(tok)...); r.code != 200 {
		t.Errorf("operator token ack: %d %s", r.code, r.body)
	}
	if r := do(t, nil, "POST", e.url+"/-/reload", "", bearer(tok)...); r.code != 403 || !strings.Contains(r.body, "token:wecom-bot has the operator role") {
		t.Errorf("operator token reload: %d %s", r.code, r.body)
	}
	// No CSRF header is needed with a bearer token, and a stray cookie
	// does not stand in for a bad token.
	if r := do(t, nil, "POST", e.url+"/api/v1/alerts/1/ack", `{}`, "Authorization", "Bearer "+tok+"x"); r.code != 401 || !strings.Contains(r.body, "not valid") {
		t.Errorf("wrong token: %d %s", r.code, r.body)
	}
	if r := do(t, nil, "GET", e.url+"/api/v1/alerts", "", "Authorization", "Basic YWRtaW46eA=="); r.code != 401 || !strings.Contains(r.body, "Bearer <token>") {
		t.Errorf("basic auth: %d %s", r.code, r.body)
	}
	// The list shows both kinds, never a secret.
	r = do(t, nil, "GET", e.url+"/api/v1/tokens", "", bearer(adminToken)...)
	if r.code != 200 || strings.Contains(r.body, tok) || strings.Contains(r.body, adminToken) ||
		!strings.Contains(r.body, `"name":"wecom-bot"`) || !strings.Contains(r.body, `"source":"config"`) || !strings.Contains(r.body, `"last_used_at"`) {
		t.Errorf("token list: %d %s", r.code, r.body)
	}
	// Names are unique, configuration's included; those cannot be revoked here.
	for _, name := range []string{"wecom-bot", "ci"} {
		if r := do(t, nil, "POST", e.url+"/api/v1/tokens", `{"name": "`+name+`", "role": "viewer"}`, bearer(adminToken)...); r.code != 409 {
			t.Errorf("second token %s: %d %s", name, r.code, r.body)
		}
	}
	if r := do(t, nil, "DELETE", e.url+"/api/v1/tokens/ci", "", bearer(adminToken)...); r.code != 409 || !strings.Contains(r.body, "http.api_tokens") {
		t.Errorf("revoke a configured token: %d %s", r.code, r.body)
	}
	if r := do(t, nil, "POST", e.url+"/api/v1/tokens", `{"name": "x", "role": "root"}`, bearer(adminToken)...); r.code != 400 || !strings.Contains(r.body, "viewer, operator or admin") {
		t.Errorf("bad role: %d %s", r.code, r.body)
	}
	// Revoked: refused at once.
	if r := do(t, nil, "DELETE", e.url+"/api/v1/tokens/wecom-bot", "", bearer(adminToken)...); r.code != 204 {
		t.Fatalf("revoke: %d %s", r.code, r.body)
	}
	if r := do(t, nil, "GET", e.url+"/api/v1/alerts", "", bearer(tok)...); r.code != 401 || !strings.Contains(r.body, "revoked") {
		t.Errorf("revoked token: %d %s", r.code, r.body)
	}
	if r := do(t, nil, "DELETE", e.url+"/api/v1/tokens/wecom-bot", "", bearer(adminToken)...); r.code != 404 {
		t.Errorf("revoke twice: %d %s", r.code, r.body)
	}
	// Only a hash is kept.
	ts, _ := e.state.Tokens(t.Context())
	if len(ts) != 1 || ts[0].Hash == tok || strings.Contains(ts[0].Hash, tok) || ts[0].RevokedAt == nil {
		t.Errorf("stored tokens %+v", ts)
	}
}

func TestFirstStart(t *testing.T) {
	for _, tc := range []struct {
		name, env string
	}{{"random password", ""}, {"password from YUJING_ADMIN_PASSWORD", "chosen-by-ops-2026"}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			start := func() string {
				st, err := sqlite.OpenState(t.Context(), filepath.Join(dir, "state.db"))
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				var logs lockedBuffer
				svc, err := auth.New(auth.Options{Store: st, Hash: &cheap, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
					LookupEnv: func(n string) (string, bool) { return tc.env, n == auth.AdminPasswordEnv && tc.env != "" }})
				if err != nil {
					t.Fatal(err)
				}
				if err := svc.Bootstrap(t.Context()); err != nil {
					t.Fatal(err)
				}
				return logs.String()
			}
			first := start()
			pw := tc.env
			if tc.env == "" {
				// level=WARN msg="first start: created user admin with this password — change it" user=admin password=…
				i := strings.Index(first, "password=")
				if i < 0 || !strings.Contains(first, "level=WARN") || !strings.Contains(first, "first start: created user admin") {
					t.Fatalf("log of the first start:\n%s", first)
				}
				pw = strings.Fields(first[i+len("password="):])[0]
				if len(pw) < 20 {
					t.Fatalf("random password %q is short", pw)
				}
			} else if !strings.Contains(first, "first start: created user admin with the password from YUJING_ADMIN_PASSWORD") || strings.Contains(first, tc.env) {
				t.Fatalf("log of the first start (the password must not appear):\n%s", first)
			}
			second := start()
			if strings.Contains(second, "created user admin") || (pw != "" && strings.Contains(second, pw)) {
				t.Errorf("second start logged:\n%s", second)
			}
			// The password works, as an admin.
			e := newEnvAt(t, dir)
			c, csrf := login(t, e, "admin", pw)
			if r := do(t, c, "POST", e.url+"/api/v1/users", `{"username": "li", "password": "duty-room-2026", "role": "operator"}`, auth.CSRFHeader, csrf); r.code != 201 {
				t.Fatalf("admin creates a user: %d %s", r.code, r.body)
			}
		})
	}
}

// newEnvAt is newEnv on an existing data directory.
func newEnvAt(t *testing.T, dir string) *env {
	t.Helper()
	st, err := sqlite.OpenState(t.Context(), filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{dir: dir, state: st, clock: fakeclock.New(time.Now()), alerts: &alerts{}, reg: prometheus.NewRegistry(), logs: &lockedBuffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	e.svc, err = auth.New(auth.Options{Store: st, Logger: log, Now: e.clock.Now, Hash: &cheap})
	if err != nil {
		t.Fatal(err)
	}
	a, err := web.NewAudit(st.AuditLog(), web.AuditOptions{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(web.New(web.Options{Alerts: e.alerts, Audit: a, Auth: e.svc, Logger: log}).Handler())
	t.Cleanup(hs.Close)
	e.url = hs.URL
	return e
}

func TestFirstStartRefusesShortPassword(t *testing.T) {
	st, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, _ := auth.New(auth.Options{Store: st, Hash: &cheap, LookupEnv: func(string) (string, bool) { return "admin", true }})
	if err := svc.Bootstrap(t.Context()); err == nil || !strings.Contains(err.Error(), "YUJING_ADMIN_PASSWORD: password: at least 10 characters") {
		t.Fatalf("Bootstrap with a short password: %v", err)
	}
	if us, _ := st.Users(t.Context()); len(us) != 0 {
		t.Errorf("users %+v", us)
	}
}

func TestAuditCarriesTheUser(t *testing.T) {
	e := newEnv(t, nil)
	e.addUser(t, "li", "operator", "duty-room-2026")
	c, csrf := login(t, e, "li", "duty-room-2026")
	if r := do(t, c, "POST", e.url+"/api/v1/alerts/1/ack", `{"by": "zhang", "note": "收到"}`, auth.CSRFHeader, csrf); r.code != 200 {
		t.Fatalf("ack: %d %s", r.code, r.body)
	}
	if r := do(t, nil, "POST", e.url+"/api/v1/users", `{"username": "wang", "password": "a-new-pass-1", "role": "viewer"}`, bearer(adminToken)...); r.code != 201 {
		t.Fatalf("create user: %d %s", r.code, r.body)
	}
	var es []struct{ Actor, Action, Object, Detail string }
	r := do(t, nil, "GET", e.url+"/api/v1/audit", "", bearer(adminToken)...)
	r.json(t, &es)
	got := map[string]string{}
	for _, en := range es {
		got[en.Action] = en.Actor
		if strings.Contains(en.Detail, "duty-room-2026") || strings.Contains(en.Detail, "a-new-pass-1") {
			t.Errorf("audit detail keeps a password: %+v", en)
		}
	}
	for action, actor := range map[string]string{
		"POST /api/v1/login":           "li",
		"POST /api/v1/alerts/{id}/ack": "li",
		"POST /api/v1/users":           "token:ci",
	} {
		if got[action] != actor {
			t.Errorf("audit %s: actor %q, want %q (all: %v)", action, got[action], actor, got)
		}
	}
	// A viewer cannot read the audit log.
	if r := do(t, nil, "GET", e.url+"/api/v1/audit", "", bearer(viewerToken)...); r.code != 403 {
		t.Errorf("viewer reads the audit log: %d", r.code)
	}
}

func TestUsersAPI(t *testing.T) {
	e := newEnv(t, nil)
	adm := bearer(adminToken)
	for _, tc := range []struct {
		body string
		code int
		err  string
	}{
		{`{"username": "li", "password": "short", "role": "operator"}`, 400, "password: at least 10 characters"},
		{`{"username": "li", "password": "duty-room-2026", "role": "boss"}`, 400, "want viewer, operator or admin"},
		{`{"username": "li li", "password": "duty-room-2026", "role": "viewer"}`, 400, "li li"},
		{`{"username": "li", "password": "duty-room-2026", "role": "operator", "extra": 1}`, 400, "unknown field"},
		{`{"username": "li", "password": "duty-room-2026", "role": "operator"}`, 201, ""},
		{`{"username": "li", "password": "duty-room-2026", "role": "viewer"}`, 409, "already exists"},
	} {
		r := do(t, nil, "POST", e.url+"/api/v1/users", tc.body, adm...)
		if r.code != tc.code || !strings.Contains(r.body, tc.err) {
			t.Errorf("POST /api/v1/users %s: %d %s, want %d %q", tc.body, r.code, r.body, tc.code, tc.err)
		}
	}
	r := do(t, nil, "GET", e.url+"/api/v1/users", "", adm...)
	if r.code != 200 || !strings.Contains(r.body, `"username":"li","role":"operator","disabled":false`) || strings.Contains(r.body, "argon2") {
		t.Errorf("GET /api/v1/users: %d %s", r.code, r.body)
	}
	// A new password ends li's sessions; the new one works, the old not.
	c, _ := login(t, e, "li", "duty-room-2026")
	if r := do(t, nil, "PUT", e.url+"/api/v1/users/li", `{"password": "changed-pass-2026"}`, adm...); r.code != 200 {
		t.Fatalf("change password: %d %s", r.code, r.body)
	}
	if r := do(t, c, "GET", e.url+"/api/v1/alerts", ""); r.code != 401 {
		t.Errorf("session after a password change: %d, want 401", r.code)
	}
	c, _ = login(t, e, "li", "changed-pass-2026")
	// A new role takes effect at once, in the running session.
	do(t, nil, "PUT", e.url+"/api/v1/users/li", `{"role": "admin"}`, adm...)
	var m struct{ Role string }
	do(t, c, "GET", e.url+"/api/v1/me", "").json(t, &m)
	if m.Role != "admin" {
		t.Errorf("role after the change: %q", m.Role)
	}
	// Disabled: sessions end and logins fail with the usual answer.
	if r := do(t, nil, "PUT", e.url+"/api/v1/users/li", `{"disabled": true}`, adm...); r.code != 200 || !strings.Contains(r.body, `"disabled":true`) {
		t.Fatalf("disable: %d %s", r.code, r.body)
	}
	if r := do(t, c, "GET", e.url+"/api/v1/alerts", ""); r.code != 401 {
		t.Errorf("session of a disabled user: %d", r.code)
	}
	if r := do(t, nil, "POST", e.url+"/api/v1/login", `{"username": "li", "password": "changed-pass-2026"}`); r.code != 401 || !strings.Contains(r.body, "wrong username or password") {
		t.Errorf("disabled login: %d %s", r.code, r.body)
	}
	// The last enabled admin stays.
	if us, _ := e.state.Users(t.Context()); len(us) != 2 {
		t.Fatalf("users %+v, want admin and li", us)
	}
	for _, req := range [][2]string{{"DELETE", ""}, {"PUT", `{"disabled": true}`}, {"PUT", `{"role": "viewer"}`}} {
		if r := do(t, nil, req[0], e.url+"/api/v1/users/admin", req[1], adm...); r.code != 409 || !strings.Contains(r.body, "last enabled admin") {
			t.Errorf("%s admin %s: %d %s, want 409", req[0], req[1], r.code, r.body)
		}
	}
	if r := do(t, nil, "DELETE", e.url+"/api/v1/users/li", "", adm...); r.code != 204 {
		t.Errorf("delete li: %d %s", r.code, r.body)
	}
	if r := do(t, nil, "DELETE", e.url+"/api/v1/users/li", "", adm...); r.code != 404 {
		t.Errorf("delete li twice: %d %s", r.code, r.body)
	}
}

// TestChangeOwnPassword: a user changes their own password with the
// current one. Their other sessions end, this one goes on; wrong current
// passwords count against the login limit; an API token has no password.
func TestChangeOwnPassword(t *testing.T) {
	e := newEnv(t, nil)
	e.addUser(t, "li", "viewer", "duty-room-2026")
	c, csrf := login(t, e, "li", "duty-room-2026")
	other, _ := login(t, e, "li", "duty-room-2026") // say, on the duty room's other screen
	change := func(body string) reply {
		t.Helper()
		return do(t, c, "POST", e.url+"/api/v1/me/password", body, auth.CSRFHeader, csrf)
	}
	for _, tc := range []struct {
		body string
		code int
		err  string
	}{
		{`{"current_password": "duty-room-2026"}`, 400, "current_password and new_password are required"},
		{`{"current_password": "duty-room-2026", "new_password": "short"}`, 400, "new_password: at least 10 characters"},
		{`{"current_password": "duty-room-2026", "new_password": "duty-room-2026"}`, 400, "is the current password"},
		{`{"current_password": "duty-room-2026", "new_password": "changed-pass-2026", "by": "x"}`, 400, "unknown field"},
		{`{"current_password": "wrong-password", "new_password": "changed-pass-2026"}`, 403, "current_password is wrong"},
	} {
		if r := change(tc.body); r.code != tc.code || !strings.Contains(r.body, tc.err) {
			t.Errorf("%s: %d %s, want %d %q", tc.body, r.code, r.body, tc.code, tc.err)
		}
	}
	// Without the CSRF header a page elsewhere cannot change it.
	if r := do(t, c, "POST", e.url+"/api/v1/me/password", `{"current_password": "duty-room-2026", "new_password": "changed-pass-2026"}`); r.code != 403 {
		t.Fatalf("without CSRF header: %d %s", r.code, r.body)
	}
	r := change(`{"current_password": "duty-room-2026", "new_password": "changed-pass-2026"}`)
	if r.code != 200 || !strings.Contains(r.body, `"other_sessions_ended":1`) {
		t.Fatalf("change: %d %s", r.code, r.body)
	}
	if r := do(t, c, "GET", e.url+"/api/v1/me", ""); r.code != 200 {
		t.Errorf("the session that changed it: %d, want it still logged in", r.code)
	}
	if r := do(t, other, "GET", e.url+"/api/v1/me", ""); r.code != 401 {
		t.Errorf("the other session: %d, want 401", r.code)
	}
	if r := do(t, nil, "POST", e.url+"/api/v1/login", `{"username": "li", "password": "duty-room-2026"}`); r.code != 401 {
		t.Errorf("login with the old password: %d", r.code)
	}
	login(t, e, "li", "changed-pass-2026")
	if logs := e.logs.String(); !strings.Contains(logs, "password changed") || strings.Contains(logs, "changed-pass-2026") {
		t.Errorf("log:\n%s", logs)
	}
	// The audit log has the change, not the passwords.
	entries := do(t, nil, "GET", e.url+"/api/v1/audit", "", bearer(adminToken)...)
	if !strings.Contains(entries.body, "/api/v1/me/password") || strings.Contains(entries.body, "changed-pass-2026") {
		t.Errorf("audit log: %s", entries.body)
	}

	// Guessing the current password with an open session runs into the
	// login limit: five wrong, then even the right one waits.
	for range 5 {
		change(`{"current_password": "guess-guess-1", "new_password": "another-pass-9"}`)
	}
	if r := change(`{"current_password": "changed-pass-2026", "new_password": "another-pass-9"}`); r.code != 429 || r.hdr.Get("Retry-After") == "" {
		t.Errorf("sixth try: %d %s, want 429 with Retry-After", r.code, r.body)
	}
	if r := do(t, nil, "POST", e.url+"/api/v1/login", `{"username": "li", "password": "changed-pass-2026"}`); r.code != 429 {
		t.Errorf("login after five wrong current passwords: %d, want 429", r.code)
	}

	// An API token has no password.
	if r := do(t, nil, "POST", e.url+"/api/v1/me/password", `{"current_password": "x", "new_password": "another-pass-9"}`, bearer(viewerToken)...); r.code != 400 || !strings.Contains(r.body, "API token") {
		t.Errorf("as a token: %d %s", r.code, r.body)
	}

	// The change gave this browser a new device cookie, and voided those
	// made with the old password: with li's name locked by somebody
	// else's guesses, this browser still logs in, the other one not.
	e.clock.Advance(auth.LoginWindow)
	for range auth.LoginFailuresPerUser {
		do(t, nil, "POST", e.url+"/api/v1/login", `{"username": "li", "password": "guess-guess-2"}`)
	}
	if r := do(t, other, "POST", e.url+"/api/v1/login", `{"username": "li", "password": "changed-pass-2026"}`); r.code != 429 {
		t.Errorf("browser with a device cookie from before the change: %d, want 429", r.code)
	}
	if r := do(t, c, "POST", e.url+"/api/v1/login", `{"username": "li", "password": "changed-pass-2026"}`); r.code != 200 {
		t.Errorf("the browser that changed the password: %d %s, want 200", r.code, r.body)
	}
}

// TestUnknownUserTakesAsLong: a login for a user that does not exist
// costs a password hash too, so its answer time does not tell which
// names exist.
func TestUnknownUserTakesAsLong(t *testing.T) {
	real := auth.DefaultParams()
	e := newEnv(t, func(o *auth.Options) { o.Hash = &real })
	e.addUser(t, "li", "operator", "duty-room-2026")
	median := func(user string) time.Duration {
		var ds []time.Duration
		for range 3 {
			start := time.Now()
			if r := do(t, nil, "POST", e.url+"/api/v1/login", `{"username": "`+user+`", "password": "not-the-password"}`); r.code != 401 {
				t.Fatalf("login %s: %d", user, r.code)
			}
			ds = append(ds, time.Since(start))
		}
		slices.Sort(ds)
		return ds[1]
	}
	known, unknown := median("li"), median("nobody")
	t.Logf("wrong password %s, unknown user %s", known, unknown)
	if unknown < known*4/10 {
		t.Errorf("unknown user answered in %s, a wrong password in %s: the difference tells which users exist", unknown, known)
	}
}
