package config

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestHTTPAccess(t *testing.T) {
	env := func(name string) (string, bool) {
		if name == "YUJING_API_TOKEN" {
			return "tok-0123456789abcdef0123456789abcdef", true
		}
		return "", false
	}
	for _, tc := range []struct {
		name, http string
		want       HTTPAccess
		err        string
	}{
		{name: "defaults", http: "listen: 127.0.0.1:8080",
			want: HTTPAccess{SessionIdle: 12 * time.Hour, SessionMax: 7 * 24 * time.Hour}},
		{name: "everything", http: `
  metrics_public: true
  secure_cookies: true
  session_idle: 30m
  session_max: 24h
  api_tokens:
    - {name: ci, role: admin, token: "${YUJING_API_TOKEN}"}
    - {name: grafana, role: viewer, token: "ffffffffffffffffffffffffffffffff"}`,
			want: HTTPAccess{MetricsPublic: true, SecureCookies: true, SessionIdle: 30 * time.Minute, SessionMax: 24 * time.Hour,
				APITokens: []APIToken{{"ci", "admin", "tok-0123456789abcdef0123456789abcdef"}, {"grafana", "viewer", "ffffffffffffffffffffffffffffffff"}}}},
		{name: "role", http: `
  api_tokens: [{name: ci, role: root, token: "ffffffffffffffffffffffffffffffff"}]`,
			err: `t.yaml:2:33: http.api_tokens[0] (ci): role "root": want viewer, operator or admin`},
		{name: "short token, never echoed", http: `
  api_tokens: [{name: ci, role: admin, token: "hunter2-secret"}]`,
			err: `t.yaml:2:47: http.api_tokens[0] (ci): token: at least 32 characters, got 14`},
		{name: "unknown field", http: `
  api_tokens: [{name: ci, role: admin, tokn: "x"}]`,
			err: `t.yaml:2:40: http.api_tokens[0]: unknown field "tokn"`},
		{name: "trusted proxies", http: `
  trusted_proxies: [10.0.0.0/8, 192.168.1.7, "fd00::/8", 172.16.5.9/16]`,
			want: HTTPAccess{SessionIdle: 12 * time.Hour, SessionMax: 7 * 24 * time.Hour, TrustedProxies: []netip.Prefix{
				netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32"),
				netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("172.16.0.0/16")}}},
		{name: "trusted proxy not an address", http: `
  trusted_proxies: [10.0.0.0/8, proxy.local]`,
			err: `t.yaml:2:33: http.trusted_proxies[1]: "proxy.local": want an IP address or a CIDR range such as 10.0.0.0/8`},
		{name: "idle over max", http: `
  session_idle: 200h`,
			err: `t.yaml:2:17: http.session_idle 200h0m0s is longer than http.session_max 168h0m0s`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("t.yaml", []byte("http:\n  "+strings.TrimSpace(tc.http)+"\n"), Options{LookupEnv: env})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v\nwant it to contain %s", err, tc.err)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("the error shows the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.HTTP
			if got.MetricsPublic != tc.want.MetricsPublic || got.SecureCookies != tc.want.SecureCookies ||
				got.SessionIdle != tc.want.SessionIdle || got.SessionMax != tc.want.SessionMax ||
				len(got.APITokens) != len(tc.want.APITokens) || !slices.Equal(got.TrustedProxies, tc.want.TrustedProxies) {
				t.Fatalf("HTTP = %+v, want %+v", got, tc.want)
			}
			for i := range got.APITokens {
				if got.APITokens[i] != tc.want.APITokens[i] {
					t.Errorf("api_tokens[%d] = %+v, want %+v", i, got.APITokens[i], tc.want.APITokens[i])
				}
			}
		})
	}
}
