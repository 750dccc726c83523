package config

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"time"

	"yujing/internal/yamlconf"
)

// HTTPFile is the HTTP server section.
type HTTPFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	Listen string `yaml:"listen"`
	// MetricsPublic lets anyone read /metrics (a Prometheus without a
	// token); default false: /metrics needs the viewer role.
	MetricsPublic bool `yaml:"metrics_public"`
	// SecureCookies marks the session cookie Secure on plain HTTP too:
	// set it when a TLS-terminating proxy is in front of yujing.
	SecureCookies bool `yaml:"secure_cookies"`
	// SessionIdle ends a login session unused for that long (default
	// 12h); SessionMax ends it that long after login (default 168h).
	SessionIdle time.Duration `yaml:"session_idle"`
	SessionMax  time.Duration `yaml:"session_max"`
	// APITokens are bearer tokens for integrations, each with a role.
	APITokens []APITokenFile `yaml:"api_tokens"`
	// TrustedProxies are the reverse proxies in front of yujing, as
	// addresses or CIDR ranges: a request from one of them is counted,
	// for the login limits, on the client its X-Forwarded-For (or
	// X-Real-IP) names.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// APITokenFile is an API token written in the configuration, e.g.
// {name: ci, role: admin, token: "${YUJING_API_TOKEN}"}.
type APITokenFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	Name   string `yaml:"name"`
	Role   string `yaml:"role"` // viewer, operator or admin
	Token  string `yaml:"token"`
}

// HTTPAccess are the login and access settings of the HTTP API.
type HTTPAccess struct {
	MetricsPublic bool
	SecureCookies bool
	SessionIdle   time.Duration
	SessionMax    time.Duration
	APITokens     []APIToken
	// TrustedProxies are http.trusted_proxies, each address as a /32 or
	// /128.
	TrustedProxies []netip.Prefix
}

// APIToken is a checked http.api_tokens entry.
type APIToken struct {
	Name, Role, Token string
}

// Defaults and bounds of the http section's access settings.
const (
	DefaultSessionIdle = 12 * time.Hour
	DefaultSessionMax  = 7 * 24 * time.Hour
	MinAPITokenLen     = 32
)

// apiTokenName is what a token name may be (web/auth checks the same).
var apiTokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

// httpAccess checks the http section's login and token settings.
func (c *checker) httpAccess(cfg *Config) {
	h := c.f.HTTP
	pos := h.Pos
	if pos.IsZero() {
		pos = c.f.Pos
	}
	a := HTTPAccess{MetricsPublic: h.MetricsPublic, SecureCookies: h.SecureCookies,
		SessionIdle: h.SessionIdle, SessionMax: h.SessionMax}
	if a.SessionIdle == 0 {
		a.SessionIdle = DefaultSessionIdle
	}
	if a.SessionMax == 0 {
		a.SessionMax = DefaultSessionMax
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"session_idle", a.SessionIdle}, {"session_max", a.SessionMax}} {
		if d.v < time.Minute {
			c.Add(h.Fields.At(d.key, pos), "http.%s %s: want at least 1m", d.key, d.v)
		}
	}
	if a.SessionIdle > a.SessionMax {
		c.Add(h.Fields.At("session_idle", pos), "http.session_idle %s is longer than http.session_max %s", a.SessionIdle, a.SessionMax)
	}
	names, tokens := map[string]bool{}, map[string]string{}
	for i, t := range h.APITokens {
		tp := t.Pos
		if tp.IsZero() {
			tp = h.Fields.At(fmt.Sprintf("api_tokens[%d]", i), pos)
		}
		switch {
		case t.Name == "":
			c.Add(tp, "http.api_tokens[%d]: name is required", i)
		case !apiTokenName.MatchString(t.Name):
			c.Add(t.Fields.At("name", tp), "http.api_tokens[%d]: name %q: use 1 to 64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit", i, t.Name)
		case names[t.Name]:
			c.Add(t.Fields.At("name", tp), "http.api_tokens[%d]: name %q is used twice", i, t.Name)
		}
		names[t.Name] = true
		if !slices.Contains([]string{"viewer", "operator", "admin"}, t.Role) {
			c.Add(t.Fields.At("role", tp), "http.api_tokens[%d] (%s): role %q: want viewer, operator or admin", i, t.Name, t.Role)
		}
		// The token's text is never written into an error.
		switch {
		case len(t.Token) < MinAPITokenLen:
			c.Add(t.Fields.At("token", tp), "http.api_tokens[%d] (%s): token: at least %d characters, got %d (make one with: openssl rand -base64 32)", i, t.Name, MinAPITokenLen, len(t.Token))
		case tokens[t.Token] != "":
			c.Add(t.Fields.At("token", tp), "http.api_tokens[%d] (%s): token is the same as that of token %q", i, t.Name, tokens[t.Token])
		default:
			tokens[t.Token] = t.Name
		}
		a.APITokens = append(a.APITokens, APIToken{Name: t.Name, Role: t.Role, Token: t.Token})
	}
	for i, tp := range h.TrustedProxies {
		p, err := netip.ParsePrefix(tp)
		if err != nil {
			ip, ierr := netip.ParseAddr(tp)
			if ierr != nil || ip.Zone() != "" {
				c.Add(h.Fields.At(fmt.Sprintf("trusted_proxies[%d]", i), h.Fields.At("trusted_proxies", pos)),
					"http.trusted_proxies[%d]: %q: want an IP address or a CIDR range such as 10.0.0.0/8", i, tp)
				continue
			}
			p = netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen())
		}
		a.TrustedProxies = append(a.TrustedProxies, p.Masked())
	}
	cfg.HTTP = a
}

func (c *checker) hostPort(p yamlconf.Pos, field, addr string) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		c.Add(p, "%s: want host:port such as 127.0.0.1:8080, got %q", field, addr)
	}
}
