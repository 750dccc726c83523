package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"yujing/store/sqlstate"
)

// Register adds the login, user and token endpoints to mux:
//
//	POST   /api/v1/login          {"username", "password"} → session cookie and {"user", "role", "csrf_token"}
//	POST   /api/v1/logout
//	GET    /api/v1/me             the same JSON as login
//	POST   /api/v1/me/password    {"current_password", "new_password"}: a user changes their own
//	GET    /api/v1/users          POST {"username", "password", "role"}
//	PUT    /api/v1/users/{name}   {"role", "password", "disabled"}, each optional
//	DELETE /api/v1/users/{name}
//	GET    /api/v1/tokens         POST {"name", "role"} → the token, once
//	DELETE /api/v1/tokens/{name}
//
// Who may call which is Required's business, enforced by Middleware.
func (s *Service) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/login", s.login)
	mux.HandleFunc("POST /api/v1/logout", s.logout)
	mux.HandleFunc("GET /api/v1/me", s.me)
	mux.HandleFunc("POST /api/v1/me/password", s.changePassword)
	mux.HandleFunc("GET /api/v1/users", s.listUsers)
	mux.HandleFunc("POST /api/v1/users", s.createUser)
	mux.HandleFunc("PUT /api/v1/users/{name}", s.updateUser)
	mux.HandleFunc("DELETE /api/v1/users/{name}", s.deleteUser)
	mux.HandleFunc("GET /api/v1/tokens", s.listTokens)
	mux.HandleFunc("POST /api/v1/tokens", s.createToken)
	mux.HandleFunc("DELETE /api/v1/tokens/{name}", s.revokeToken)
}

// decode reads a small JSON body strictly.
func decode(r *http.Request, v any, want string) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("request body: want JSON %s: %v", want, err)
	}
	return nil
}

// me is the answer of login and GET /api/v1/me.
type me struct {
	User      string `json:"user"`
	Role      Role   `json:"role"`
	CSRFToken string `json:"csrf_token,omitempty"`
	Token     bool   `json:"token,omitempty"` // an API token, not a user
}

func meOf(p Principal) me {
	return me{User: p.Name, Role: p.Role, CSRFToken: p.CSRF, Token: p.Token}
}

func (s *Service) login(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := decode(r, &b, `{"username": "...", "password": "..."}`); err != nil {
		s.failures.WithLabelValues("bad_request").Inc()
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if b.Username == "" || b.Password == "" {
		s.failures.WithLabelValues("bad_request").Inc()
		writeError(w, http.StatusBadRequest, "username and password are required")
		return
	}
	addr := clientAddr(r, s.trusted)
	if s.slow(r.Context(), addr) != nil {
		return // the client went away
	}
	now := s.now()
	u, err := s.st.User(r.Context(), b.Username)
	found := err == nil
	if err != nil && !errors.Is(err, sqlstate.ErrNotFound) {
		s.serverError(w, r, err)
		return
	}
	key, userKey := s.attemptKey(r, u, found, b.Username, now)
	if s.limited(w, key, now) {
		s.failures.WithLabelValues("rate_limited").Inc()
		return
	}
	ok, err := s.verify(r.Context(), b.Password, u.PasswordHash)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	reason := ""
	switch {
	case !found:
		reason = "unknown_user"
	case !ok:
		reason = "wrong_password"
	case u.Disabled:
		reason = "disabled"
	}
	role, rerr := ParseRole(u.Role)
	if reason == "" && rerr != nil {
		s.serverError(w, r, fmt.Errorf("user %q: %w", u.Username, rerr))
		return
	}
	if reason != "" {
		s.fail(key, userKey, addr, now)
		s.failures.WithLabelValues(reason).Inc()
		s.log.Info("login refused", "user", b.Username, "reason", reason, "from", addr)
		writeError(w, http.StatusUnauthorized, "wrong username or password")
		return
	}
	s.byUser.reset(key)
	id, csrf := randomString(32), randomString(32)
	se := sqlstate.Session{IDHash: sha256Hex(id), Username: u.Username, CSRF: csrf, CreatedAt: now, LastSeen: now,
		ExpiresAt: now.Add(s.maxAge)}
	if err := s.st.CreateSession(r.Context(), se, now.Add(-s.idle)); err != nil {
		s.serverError(w, r, err)
		return
	}
	if needsRehash(u.PasswordHash, s.params) {
		if h, err := s.hash(r.Context(), b.Password); err == nil {
			nu := u
			nu.PasswordHash, nu.UpdatedAt = h, now
			if err := s.st.UpdateUser(r.Context(), nu, false); err != nil {
				s.log.Warn("password hash not upgraded", "user", u.Username, "err", err)
			} else {
				u = nu
			}
		}
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: id, Path: "/", MaxAge: int(s.maxAge.Seconds()),
		HttpOnly: true, Secure: r.TLS != nil || s.secureCookies, SameSite: http.SameSiteStrictMode})
	s.setDevice(w, r, u, now)
	p := Principal{Name: u.Username, Role: role, CSRF: csrf, sessionHash: se.IDHash}
	setPrincipal(r, p)
	s.log.Info("logged in", "user", u.Username, "role", role.String(), "from", addr)
	writeJSON(w, http.StatusOK, meOf(p))
}

// limited answers 429 when key (a user name, or a user name in a known
// browser) has had too many wrong passwords lately, and reports whether
// it did.
func (s *Service) limited(w http.ResponseWriter, key string, now time.Time) bool {
	wait := s.byUser.wait(key, LoginFailuresPerUser, now)
	if wait <= 0 {
		return false
	}
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, fmt.Sprintf("too many failed logins; try again in %s", time.Duration(secs)*time.Second))
	return true
}

// fail counts a wrong password against key, the user name (also when
// key is a known browser's: a user's own mistakes count for every
// other browser too) and the client address.
func (s *Service) fail(key, userKey, addr string, now time.Time) {
	s.byUser.fail(userKey, now)
	if key != userKey {
		s.byUser.fail(key, now)
	}
	s.byAddr.fail(addr, now)
}

// changePassword lets a user logged in to the console change their own
// password. The current password is checked, and a wrong one counts
// against the same limit as a failed login, so that a session left open
// is no way to find it out. The user's other sessions end; this one goes
// on. An API token has no password to change.
func (s *Service) changePassword(w http.ResponseWriter, r *http.Request) {
	p, ok := FromContext(r.Context())
	if !ok || p.sessionHash == "" {
		writeError(w, http.StatusBadRequest, "only a user logged in with a password can change it; an API token has none")
		return
	}
	var b struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decode(r, &b, `{"current_password": "...", "new_password": "..."}`); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if b.Current == "" || b.New == "" {
		writeError(w, http.StatusBadRequest, "current_password and new_password are required")
		return
	}
	addr := clientAddr(r, s.trusted)
	if s.slow(r.Context(), addr) != nil {
		return // the client went away
	}
	now := s.now()
	u, err := s.st.User(r.Context(), p.Name)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	key, userKey := s.attemptKey(r, u, true, p.Name, now)
	if s.limited(w, key, now) {
		return
	}
	ok, err = s.verify(r.Context(), b.Current, u.PasswordHash)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !ok {
		s.fail(key, userKey, addr, now)
		s.log.Info("password change refused: wrong current password", "user", p.Name, "from", addr)
		// 403, not 401: the session is fine, and the console would take a
		// 401 for a lost one.
		writeError(w, http.StatusForbidden, "current_password is wrong")
		return
	}
	if b.New == b.Current {
		writeError(w, http.StatusBadRequest, "new_password is the current password")
		return
	}
	if err := CheckPassword(b.New); err != nil {
		writeError(w, http.StatusBadRequest, "new_password: "+strings.TrimPrefix(err.Error(), "password: "))
		return
	}
	h, err := s.hash(r.Context(), b.New)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	ended, err := s.st.SetPassword(r.Context(), u.Username, h, now, p.sessionHash)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	s.byUser.reset(key)
	u.PasswordHash = h
	s.setDevice(w, r, u, now) // the old one was keyed with the old password
	s.log.Info("password changed", "user", u.Username, "other_sessions_ended", ended, "from", addr)
	writeJSON(w, http.StatusOK, map[string]any{"status": "password changed", "other_sessions_ended": ended})
}

func (s *Service) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("auth request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, err.Error())
}

func (s *Service) logout(w http.ResponseWriter, r *http.Request) {
	p, _ := FromContext(r.Context())
	if p.sessionHash != "" {
		if err := s.st.DeleteSession(r.Context(), p.sessionHash); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil || s.secureCookies, SameSite: http.SameSiteStrictMode})
	writeJSON(w, http.StatusOK, map[string]string{"status": "logged out"})
}

func (s *Service) me(w http.ResponseWriter, r *http.Request) {
	p, ok := FromContext(r.Context())
	if !ok {
		writeError(w, http.StatusUnauthorized, "not logged in")
		return
	}
	writeJSON(w, http.StatusOK, meOf(p))
}

// UserView is a user as the API shows it (never the hash).
type UserView struct {
	Username  string    `json:"username"`
	Role      string    `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func viewUser(u sqlstate.User) UserView {
	return UserView{Username: u.Username, Role: u.Role, Disabled: u.Disabled, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

func (s *Service) listUsers(w http.ResponseWriter, r *http.Request) {
	us, err := s.st.Users(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := []UserView{}
	for _, u := range us {
		out = append(out, viewUser(u))
	}
	writeJSON(w, http.StatusOK, out)
}

// storeStatus maps store errors to HTTP status codes.
func (s *Service) storeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, sqlstate.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, sqlstate.ErrExists), errors.Is(err, sqlstate.ErrLastAdmin):
		writeError(w, http.StatusConflict, err.Error())
	default:
		s.serverError(w, r, err)
	}
}

// NewUser checks and hashes a new user's fields.
func (s *Service) NewUser(ctx context.Context, name, password, role string) (sqlstate.User, error) {
	if err := CheckName("username", name); err != nil {
		return sqlstate.User{}, err
	}
	if _, err := ParseRole(role); err != nil {
		return sqlstate.User{}, err
	}
	if err := CheckPassword(password); err != nil {
		return sqlstate.User{}, err
	}
	h, err := s.hash(ctx, password)
	if err != nil {
		return sqlstate.User{}, err
	}
	now := s.now()
	return sqlstate.User{Username: name, Role: role, PasswordHash: h, CreatedAt: now, UpdatedAt: now}, nil
}

func (s *Service) createUser(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Role     string `json:"role"`
	}
	if err := decode(r, &b, `{"username": "...", "password": "...", "role": "viewer|operator|admin"}`); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	u, err := s.NewUser(r.Context(), b.Username, b.Password, b.Role)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.st.CreateUser(r.Context(), u); err != nil {
		s.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, viewUser(u))
}

func (s *Service) updateUser(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Role     *string `json:"role"`
		Password *string `json:"password"`
		Disabled *bool   `json:"disabled"`
	}
	if err := decode(r, &b, `{"role": "...", "password": "...", "disabled": true|false}, each optional`); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	u, err := s.st.User(r.Context(), r.PathValue("name"))
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	logout := false
	if b.Role != nil {
		if _, err := ParseRole(*b.Role); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		u.Role = *b.Role
	}
	if b.Password != nil {
		if err := CheckPassword(*b.Password); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if u.PasswordHash, err = s.hash(r.Context(), *b.Password); err != nil {
			s.serverError(w, r, err)
			return
		}
		logout = true
	}
	if b.Disabled != nil {
		u.Disabled = *b.Disabled
		logout = logout || u.Disabled
	}
	u.UpdatedAt = s.now()
	if err := s.st.UpdateUser(r.Context(), u, logout); err != nil {
		s.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewUser(u))
}

func (s *Service) deleteUser(w http.ResponseWriter, r *http.Request) {
	if err := s.st.DeleteUser(r.Context(), r.PathValue("name")); err != nil {
		s.storeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// TokenView is an API token as the API shows it (never the secret, but
// for its creation's answer).
type TokenView struct {
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	Token      string     `json:"token,omitempty"`
	Source     string     `json:"source"` // api (revocable here) or config (http.api_tokens)
	CreatedBy  string     `json:"created_by,omitempty"`
	CreatedAt  *time.Time `json:"created_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

func (s *Service) listTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := s.st.Tokens(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := []TokenView{}
	for _, ct := range s.tokens {
		out = append(out, TokenView{Name: ct.name, Role: ct.role.String(), Source: "config"})
	}
	for _, t := range ts {
		out = append(out, TokenView{Name: t.Name, Role: t.Role, Source: "api", CreatedBy: t.CreatedBy,
			CreatedAt: &t.CreatedAt, LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Service) configToken(name string) bool {
	for _, ct := range s.tokens {
		if ct.name == name {
			return true
		}
	}
	return false
}

// NewToken makes a token and the record to store: the token is shown
// once, only its hash is kept.
func (s *Service) NewToken(name, role, createdBy string) (string, sqlstate.APIToken, error) {
	if err := CheckName("token name", name); err != nil {
		return "", sqlstate.APIToken{}, err
	}
	if _, err := ParseRole(role); err != nil {
		return "", sqlstate.APIToken{}, err
	}
	if s.configToken(name) {
		return "", sqlstate.APIToken{}, fmt.Errorf("token %q: %w in the configuration (http.api_tokens)", name, sqlstate.ErrExists)
	}
	tok := TokenPrefix + randomString(32)
	return tok, sqlstate.APIToken{Name: name, Role: role, Hash: sha256Hex(tok), CreatedBy: createdBy, CreatedAt: s.now()}, nil
}

func (s *Service) createToken(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if err := decode(r, &b, `{"name": "...", "role": "viewer|operator|admin"}`); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	p, _ := FromContext(r.Context())
	tok, t, err := s.NewToken(b.Name, b.Role, p.Actor())
	if errors.Is(err, sqlstate.ErrExists) {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.st.CreateToken(r.Context(), t); err != nil {
		s.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, TokenView{Name: t.Name, Role: t.Role, Token: tok, Source: "api",
		CreatedBy: t.CreatedBy, CreatedAt: &t.CreatedAt})
}

func (s *Service) revokeToken(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if s.configToken(name) {
		writeError(w, http.StatusConflict, fmt.Sprintf("token %q is set in the configuration (http.api_tokens): remove it there and restart yujing", name))
		return
	}
	if err := s.st.RevokeToken(r.Context(), name, s.now()); err != nil {
		s.storeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
