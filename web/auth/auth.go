package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yujing/store/sqlstate"
)

// Store keeps users, sessions and tokens: sqlstate.State.
type Store interface {
	Users(ctx context.Context) ([]sqlstate.User, error)
	User(ctx context.Context, name string) (sqlstate.User, error)
	CreateUser(ctx context.Context, u sqlstate.User) error
	CreateFirstUser(ctx context.Context, u sqlstate.User) (bool, error)
	UpdateUser(ctx context.Context, u sqlstate.User, logout bool) error
	SetPassword(ctx context.Context, name, hash string, at time.Time, keep string) (int, error)
	DeleteUser(ctx context.Context, name string) error
	CreateSession(ctx context.Context, se sqlstate.Session, idleSince time.Time) error
	SessionUser(ctx context.Context, idHash string) (sqlstate.Session, sqlstate.User, error)
	TouchSession(ctx context.Context, idHash string, at time.Time) error
	DeleteSession(ctx context.Context, idHash string) error
	CreateToken(ctx context.Context, t sqlstate.APIToken) error
	Tokens(ctx context.Context) ([]sqlstate.APIToken, error)
	TokenByHash(ctx context.Context, hash string) (sqlstate.APIToken, error)
	TouchToken(ctx context.Context, name string, at time.Time) error
	RevokeToken(ctx context.Context, name string, at time.Time) error
}

// ConfigToken is an API token set in the configuration file
// (http.api_tokens): it cannot be revoked through the API.
type ConfigToken struct {
	Name  string
	Role  Role
	Token string
}

// Defaults of Options.
const (
	DefaultSessionIdle = 12 * time.Hour
	DefaultSessionMax  = 7 * 24 * time.Hour
	// A user name may fail this many logins in LoginWindow; then it is
	// refused until the window has moved on, whatever the password,
	// except in a browser it logged in from before (limit.go). A client
	// address may fail LoginFailuresPerAddr; then its attempts are
	// slowed down, never refused (several people may share one address).
	LoginFailuresPerUser = 5
	LoginFailuresPerAddr = 20
	LoginWindow          = 15 * time.Minute
	// LoginDelayFirst is the wait before the first login attempt after
	// LoginFailuresPerAddr failures from one address; each further
	// failure doubles it, up to LoginDelayMax.
	LoginDelayFirst = time.Second
	LoginDelayMax   = 10 * time.Second
	// DeviceCookieMax is how long a browser that logged in as a user
	// stays a known device of that user (DeviceCookieName).
	DeviceCookieMax = 90 * 24 * time.Hour
)

// CookieName is the session cookie; CSRFHeader the header a
// cookie-authenticated request that changes state must carry, with the
// csrf_token of the login answer.
const (
	CookieName = "yujing_session"
	CSRFHeader = "X-CSRF-Token"
	// DeviceCookieName marks a browser in which a user has logged in
	// before: the user's failed-login limit does not apply to it.
	DeviceCookieName = "yujing_device"
	// AdminPasswordEnv gives the first admin's password on first start.
	AdminPasswordEnv = "YUJING_ADMIN_PASSWORD"
	// FirstAdmin is the user created on first start.
	FirstAdmin = "admin"
	// TokenPrefix starts every token yujing makes, so that secret
	// scanners can spot one.
	TokenPrefix = "yjt_"
	// MinTokenLen is the shortest token accepted from the configuration.
	MinTokenLen = 32
)

// touchEvery is how often a session's last_seen and a token's
// last_used_at are written: not on every request.
const touchEvery = time.Minute

// Options are a Service's settings and collaborators.
type Options struct {
	Store      Store
	Logger     *slog.Logger
	Registerer prometheus.Registerer // yujing_login_failures_total; nil registers nothing
	Now        func() time.Time      // default time.Now
	// SessionIdle ends a session unused for that long (default 12h);
	// SessionMax ends every session that long after login (default 7 days).
	SessionIdle, SessionMax time.Duration
	// SecureCookies marks the session cookie Secure even on plain HTTP
	// (yujing behind a TLS-terminating proxy); it is Secure anyway when
	// the request came over TLS.
	SecureCookies bool
	// MetricsPublic lets anyone read /metrics (Prometheus without a token).
	MetricsPublic bool
	// Tokens are the configuration's API tokens.
	Tokens []ConfigToken
	// Hash are the argon2id parameters of new password hashes (default
	// DefaultParams).
	Hash *Params
	// LookupEnv reads YUJING_ADMIN_PASSWORD on first start (default
	// os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// TrustedProxies are the reverse proxies in front of yujing
	// (http.trusted_proxies): when a request comes from one of them, the
	// client is read from X-Forwarded-For (or X-Real-IP) instead of the
	// peer address.
	TrustedProxies []netip.Prefix
	// After waits for the delay of logins from a busy address (default
	// time.After).
	After func(time.Duration) <-chan time.Time
}

// Service authenticates requests and enforces the rule table.
type Service struct {
	st            Store
	log           *slog.Logger
	now           func() time.Time
	idle, maxAge  time.Duration
	secureCookies bool
	metricsPublic bool
	tokens        []configToken
	params        Params
	lookupEnv     func(string) (string, bool)
	byUser        *limiter
	byAddr        *limiter
	trusted       []netip.Prefix
	after         func(time.Duration) <-chan time.Time
	delayed       prometheus.Counter
	hashing       chan struct{} // bounds concurrent password hashes (memory)
	dummyOnce     sync.Once
	dummy         string // a hash to verify against when the user is unknown
	failures      *prometheus.CounterVec
	cop           *http.CrossOriginProtection
}

type configToken struct {
	name string
	role Role
	hash [sha256.Size]byte
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

// CheckName says what is wrong with a user or token name, if anything.
func CheckName(what, name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("%s %q: use 1 to 64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit", what, name)
	}
	return nil
}

// New builds the service. It does not touch the store: call Bootstrap.
func New(opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("auth: nil store")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = DefaultSessionIdle
	}
	if opts.SessionMax <= 0 {
		opts.SessionMax = DefaultSessionMax
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.After == nil {
		opts.After = time.After
	}
	p := DefaultParams()
	if opts.Hash != nil {
		p = *opts.Hash
	}
	s := &Service{st: opts.Store, log: opts.Logger, now: opts.Now, idle: opts.SessionIdle, maxAge: opts.SessionMax,
		secureCookies: opts.SecureCookies, metricsPublic: opts.MetricsPublic, params: p, lookupEnv: opts.LookupEnv,
		byUser:  newLimiter(LoginFailuresPerUser, LoginWindow),
		byAddr:  newLimiter(addrKeep, LoginWindow),
		trusted: opts.TrustedProxies, after: opts.After,
		delayed: prometheus.NewCounter(prometheus.CounterOpts{Name: "yujing_login_delays_total",
			Help: "Password attempts made to wait because their client address had too many failures."}),
		hashing: make(chan struct{}, max(2, runtime.GOMAXPROCS(0))),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yujing_login_failures_total",
			Help: "Refused logins by reason: unknown_user, wrong_password, disabled, rate_limited, bad_request."}, []string{"reason"}),
	}
	for _, r := range []string{"unknown_user", "wrong_password", "disabled", "rate_limited", "bad_request"} {
		s.failures.WithLabelValues(r)
	}
	seen := map[string]bool{}
	for i, t := range opts.Tokens {
		if err := CheckName("api token", t.Name); err != nil {
			return nil, fmt.Errorf("auth: tokens[%d]: %w", i, err)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("auth: token %q given twice", t.Name)
		}
		seen[t.Name] = true
		if t.Role < Viewer || t.Role > Admin {
			return nil, fmt.Errorf("auth: token %q: no role", t.Name)
		}
		if len(t.Token) < MinTokenLen {
			return nil, fmt.Errorf("auth: token %q: at least %d characters", t.Name, MinTokenLen)
		}
		s.tokens = append(s.tokens, configToken{name: t.Name, role: t.Role, hash: sha256.Sum256([]byte(t.Token))})
	}
	if _, err := HashPassword("x", p); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	s.cop = http.NewCrossOriginProtection()
	s.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, "cross-origin request refused: a browser may change state only from yujing's own pages")
	}))
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{s.failures, s.delayed} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("auth: register metrics: %w", err)
			}
		}
	}
	return s, nil
}

// Bootstrap creates the first user on first start (no user at all):
// admin, with the password in YUJING_ADMIN_PASSWORD, or a random one
// written once to the log at WARN. There is never a fixed default.
func (s *Service) Bootstrap(ctx context.Context) error {
	users, err := s.st.Users(ctx)
	if err != nil {
		return fmt.Errorf("auth: first start: %w", err)
	}
	pw, fromEnv := s.lookupEnv(AdminPasswordEnv)
	fromEnv = fromEnv && pw != ""
	if len(users) > 0 {
		if fromEnv {
			s.log.Info("users exist already; " + AdminPasswordEnv + " is read on first start only")
		}
		return nil
	}
	if fromEnv {
		if err := CheckPassword(pw); err != nil {
			return fmt.Errorf("auth: %s: %w", AdminPasswordEnv, err)
		}
	} else {
		pw = randomString(18)
	}
	hash, err := s.hash(ctx, pw)
	if err != nil {
		return fmt.Errorf("auth: first start: %w", err)
	}
	now := s.now()
	created, err := s.st.CreateFirstUser(ctx, sqlstate.User{Username: FirstAdmin, Role: Admin.String(), PasswordHash: hash,
		CreatedAt: now, UpdatedAt: now})
	if err != nil {
		return fmt.Errorf("auth: first start: %w", err)
	}
	switch {
	case !created: // another process was first
	case fromEnv:
		s.log.Info("first start: created user admin with the password from "+AdminPasswordEnv, "user", FirstAdmin)
	default:
		// The one log line that carries a secret, on purpose: nobody
		// could log in otherwise. It is written once.
		s.log.Warn("first start: created user admin with this password — change it", "user", FirstAdmin, "password", pw)
	}
	return nil
}

// randomString is n random bytes in unpadded base64url.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// hash hashes a password, waiting for a free hashing slot.
func (s *Service) hash(ctx context.Context, pw string) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.release()
	return HashPassword(pw, s.params)
}

func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.hashing <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) release() { <-s.hashing }

// verify checks pw against encoded; against a stand-in hash of the same
// cost when encoded is "" (unknown user), so that the answer takes as
// long either way.
func (s *Service) verify(ctx context.Context, pw, encoded string) (bool, error) {
	if encoded == "" {
		s.dummyOnce.Do(func() { s.dummy, _ = HashPassword(randomString(16), s.params) })
		encoded = s.dummy
	}
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer s.release()
	return VerifyPassword(pw, encoded)
}

// Principal is who made a request: a logged-in user or an API token.
type Principal struct {
	Name  string `json:"user"`
	Role  Role   `json:"role"`
	Token bool   `json:"-"` // an API token, not a user
	// CSRF is the session's token (empty for API tokens).
	CSRF string `json:"csrf_token,omitempty"`

	sessionHash string
}

// Actor is how the principal is named in the audit log and in a
// warning's history: the user name, or token:<name> for an API token.
func (p Principal) Actor() string {
	if p.Token {
		return "token:" + p.Name
	}
	return p.Name
}

// principalBox travels in a request's context from the middleware on; the
// login handler fills it in, so that the audit log, which reads it after
// the handler, knows who logged in.
type principalBox struct{ p atomic.Pointer[Principal] }

type boxKey struct{}

// FromContext returns the authenticated principal of a request's context.
func FromContext(ctx context.Context) (Principal, bool) {
	b, _ := ctx.Value(boxKey{}).(*principalBox)
	if b == nil {
		return Principal{}, false
	}
	p := b.p.Load()
	if p == nil {
		return Principal{}, false
	}
	return *p, true
}

func setPrincipal(r *http.Request, p Principal) {
	if b, _ := r.Context().Value(boxKey{}).(*principalBox); b != nil {
		b.p.Store(&p)
	}
}

// unsafeMethod: the request may change state.
func unsafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// Middleware authenticates every request that is not public (a bearer
// token, else the session cookie), refuses it when Required asks for
// more (401 without credentials, 403 with too low a role), checks the
// CSRF header of cookie-authenticated requests that change state, and
// refuses cross-origin browser requests that change state
// (http.CrossOriginProtection). The principal is in the context of the
// request next gets (FromContext).
func (s *Service) Middleware(next http.Handler) http.Handler {
	return s.cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := &principalBox{}
		r = r.WithContext(context.WithValue(r.Context(), boxKey{}, b))
		need := Required(r.Method, r.URL.EscapedPath(), s.metricsPublic)
		if need == Public {
			// Nobody is looked up: a public request is anonymous (the
			// console's files cost no database read; an answer link
			// speaks for the person called, not for a session that
			// happens to be open in the same browser). Login fills the
			// box itself.
			next.ServeHTTP(w, r)
			return
		}
		p, problem, err := s.authenticate(r)
		if err != nil {
			s.log.Error("authentication failed", "method", r.Method, "path", r.URL.Path, "err", err)
			writeError(w, http.StatusInternalServerError, "authentication failed: "+err.Error())
			return
		}
		if p != nil {
			b.p.Store(p)
		}
		switch {
		case p == nil:
			w.Header().Set("WWW-Authenticate", `Bearer realm="yujing"`)
			if problem == "" {
				problem = "log in (POST /api/v1/login) or send Authorization: Bearer <token>"
			}
			writeError(w, http.StatusUnauthorized, "authentication required: "+problem)
			return
		case p.Role < need:
			writeError(w, http.StatusForbidden, fmt.Sprintf("%s %s needs the %s role; %s has the %s role",
				r.Method, r.URL.Path, need, p.Actor(), p.Role))
			return
		case !p.Token && unsafeMethod(r.Method) &&
			subtle.ConstantTimeCompare([]byte(r.Header.Get(CSRFHeader)), []byte(p.CSRF)) != 1:
			writeError(w, http.StatusForbidden, "missing or wrong "+CSRFHeader+" header: send the csrf_token of POST /api/v1/login or GET /api/v1/me")
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// authenticate finds who made r: nil (and why not, when credentials were
// given but are not good) when nobody; an error when the store fails.
func (s *Service) authenticate(r *http.Request) (*Principal, string, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return nil, "the Authorization header must be \"Bearer <token>\"", nil
		}
		return s.tokenPrincipal(ctx, strings.TrimSpace(tok))
	}
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return nil, "", nil
	}
	return s.sessionPrincipal(ctx, c.Value)
}

func (s *Service) tokenPrincipal(ctx context.Context, tok string) (*Principal, string, error) {
	sum := sha256.Sum256([]byte(tok))
	var found *Principal
	for _, ct := range s.tokens {
		if subtle.ConstantTimeCompare(sum[:], ct.hash[:]) == 1 {
			found = &Principal{Name: ct.name, Role: ct.role, Token: true}
		}
	}
	if found != nil {
		return found, "", nil
	}
	t, err := s.st.TokenByHash(ctx, hex.EncodeToString(sum[:]))
	if errors.Is(err, sqlstate.ErrNotFound) {
		return nil, "the bearer token is not valid", nil
	}
	if err != nil {
		return nil, "", err
	}
	if t.RevokedAt != nil {
		return nil, "the bearer token was revoked", nil
	}
	role, err := ParseRole(t.Role)
	if err != nil {
		return nil, "", fmt.Errorf("token %q: %w", t.Name, err)
	}
	now := s.now()
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= touchEvery {
		if err := s.st.TouchToken(ctx, t.Name, now); err != nil {
			s.log.Warn("token use not recorded", "token", t.Name, "err", err)
		}
	}
	return &Principal{Name: t.Name, Role: role, Token: true}, "", nil
}

func (s *Service) sessionPrincipal(ctx context.Context, id string) (*Principal, string, error) {
	idHash := sha256Hex(id)
	se, u, err := s.st.SessionUser(ctx, idHash)
	if errors.Is(err, sqlstate.ErrNotFound) {
		return nil, "the session has ended; log in again", nil
	}
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	if u.Disabled || !now.Before(se.ExpiresAt) || !now.Before(se.CreatedAt.Add(s.maxAge)) || now.Sub(se.LastSeen) >= s.idle {
		if err := s.st.DeleteSession(ctx, idHash); err != nil {
			s.log.Warn("ended session not deleted", "user", u.Username, "err", err)
		}
		return nil, "the session has ended; log in again", nil
	}
	role, err := ParseRole(u.Role)
	if err != nil {
		return nil, "", fmt.Errorf("user %q: %w", u.Username, err)
	}
	if now.Sub(se.LastSeen) >= touchEvery {
		if err := s.st.TouchSession(ctx, idHash, now); err != nil {
			s.log.Warn("session activity not recorded", "user", u.Username, "err", err)
		}
	}
	return &Principal{Name: u.Username, Role: role, CSRF: se.CSRF, sessionHash: idHash}, "", nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
