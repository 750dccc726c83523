package auth_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"yujing/web/auth"
)

const adminPassword = "admin-pass-2026"

// proxiedEnv is an env whose requests come through a reverse proxy on
// loopback (the test client) that http.trusted_proxies trusts, with
// admin's password known.
func proxiedEnv(t *testing.T, trusted ...string) *env {
	t.Helper()
	return newEnv(t, func(o *auth.Options) {
		o.LookupEnv = func(k string) (string, bool) { return adminPassword, k == auth.AdminPasswordEnv }
		for _, p := range trusted {
			o.TrustedProxies = append(o.TrustedProxies, netip.MustParsePrefix(p))
		}
	})
}

// loginWait posts a login and moves the fake clock while the request
// waits for its delay. It returns the answer and how far the clock had
// to move before it came (0: the login was not delayed).
func (e *env) loginWait(t *testing.T, c *http.Client, user, pw string, hdr ...string) (reply, time.Duration) {
	t.Helper()
	type result struct {
		r   reply
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := send(t.Context(), c, "POST", e.url+"/api/v1/login", `{"username": "`+user+`", "password": "`+pw+`"}`, hdr...)
		done <- result{r, err}
	}()
	const step = 250 * time.Millisecond
	var waited time.Duration
	for {
		select {
		case res := <-done:
			if res.err != nil {
				t.Fatal(res.err)
			}
			return res.r, waited
		default:
		}
		// BlockUntil returns as soon as the request waits for the clock;
		// its timeout only lets the loop look at done again.
		if e.clock.BlockUntil(1, 20*time.Millisecond) {
			e.clock.Advance(step)
			waited += step
			if waited > time.Minute {
				t.Fatalf("login %s still waiting after %s", user, waited)
			}
		}
	}
}

func xff(addrs string) []string { return []string{"X-Forwarded-For", addrs} }

// TestLoginBehindProxy: behind a trusted reverse proxy, the address
// limit counts each client by the address the proxy reports, and a busy
// address slows logins down instead of refusing them: after 20 failures
// from one client, admin with the right password from that client still
// logs in (after a delay), and a second client behind the same proxy is
// not slowed at all.
func TestLoginBehindProxy(t *testing.T) {
	e := proxiedEnv(t, "127.0.0.0/8")
	const attacker, colleague = "203.0.113.7", "198.51.100.9"
	// Twenty wrong passwords for twenty names, from one client: none waits.
	for i := range auth.LoginFailuresPerAddr {
		r, waited := e.loginWait(t, nil, "user"+strconv.Itoa(i), "wrong-password", xff(attacker)...)
		if r.code != 401 || waited != 0 {
			t.Fatalf("failure %d: %d after %s, want 401 at once", i+1, r.code, waited)
		}
	}
	// The right password from that client: slowed, not refused.
	r, waited := e.loginWait(t, nil, auth.FirstAdmin, adminPassword, xff(attacker)...)
	if r.code != 200 || waited != auth.LoginDelayFirst {
		t.Fatalf("admin from the busy client: %d %s after %s, want 200 after %s", r.code, r.body, waited, auth.LoginDelayFirst)
	}
	// A colleague behind the same proxy is counted apart: no wait.
	if r, waited := e.loginWait(t, nil, auth.FirstAdmin, adminPassword, xff(colleague)...); r.code != 200 || waited != 0 {
		t.Fatalf("admin from another client: %d after %s, want 200 at once", r.code, waited)
	}
	// Each further failure from the busy client doubles its wait, up to
	// LoginDelayMax.
	var waits []time.Duration
	for i := range 6 {
		r, waited := e.loginWait(t, nil, "more"+strconv.Itoa(i), "wrong-password", xff(attacker)...)
		if r.code != 401 {
			t.Fatalf("failure %d: %d %s", auth.LoginFailuresPerAddr+i+1, r.code, r.body)
		}
		waits = append(waits, waited)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, auth.LoginDelayMax, auth.LoginDelayMax}
	if !slices.Equal(waits, want) {
		t.Errorf("waits of further failures %v, want %v", waits, want)
	}
	// The client cannot shed its address by sending X-Forwarded-For
	// itself: the proxy appends what it saw, and the right-most address
	// the proxy did not add is the client.
	for _, hdr := range [][]string{
		xff(colleague + ", " + attacker),
		{"X-Forwarded-For", colleague, "X-Real-IP", colleague, "X-Forwarded-For", colleague + "," + attacker + ", 127.0.0.1"},
		{"X-Real-IP", attacker},
	} {
		if r, waited := e.loginWait(t, nil, auth.FirstAdmin, adminPassword, hdr...); r.code != 200 || waited != auth.LoginDelayMax {
			t.Errorf("%q: %d after %s, want 200 after %s", hdr, r.code, waited, auth.LoginDelayMax)
		}
	}
	// The log names the client, not the proxy.
	if logs := e.logs.String(); !strings.Contains(logs, "from="+attacker) || !strings.Contains(logs, "from="+colleague) {
		t.Errorf("log does not name the clients:\n%s", logs)
	}
	// Once the window has moved on, the client is not slowed any more.
	e.clock.Advance(auth.LoginWindow)
	if r, waited := e.loginWait(t, nil, auth.FirstAdmin, adminPassword, xff(attacker)...); r.code != 200 || waited != 0 {
		t.Errorf("after the window: %d after %s, want 200 at once", r.code, waited)
	}
}

// TestLoginUntrustedForwardedFor: a peer that is not a trusted proxy
// cannot pick its address with X-Forwarded-For or X-Real-IP: its
// failures count on its own address, whatever the headers say.
func TestLoginUntrustedForwardedFor(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted []string
	}{
		{"no trusted proxies", nil},
		{"another network trusted", []string{"10.0.0.0/8", "::1/128"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := proxiedEnv(t, tc.trusted...)
			for i := range auth.LoginFailuresPerAddr {
				addr := "203.0.113." + strconv.Itoa(i+1)
				r, waited := e.loginWait(t, nil, "user"+strconv.Itoa(i), "wrong-password", "X-Forwarded-For", addr, "X-Real-IP", addr)
				if r.code != 401 || waited != 0 {
					t.Fatalf("failure %d: %d after %s", i+1, r.code, waited)
				}
			}
			r, waited := e.loginWait(t, nil, auth.FirstAdmin, adminPassword, xff("198.51.100.9")...)
			if r.code != 200 || waited != auth.LoginDelayFirst {
				t.Errorf("admin: %d after %s, want 200 after %s (the peer's address is busy)", r.code, waited, auth.LoginDelayFirst)
			}
			if logs := e.logs.String(); !strings.Contains(logs, "from=127.0.0.1") || strings.Contains(logs, "from=203.0.113") {
				t.Errorf("log:\n%s", logs)
			}
		})
	}
}

// TestLoginLockoutSparesKnownDevice: five wrong passwords for a user
// lock that user out for 15 minutes — except in a browser where the
// user has logged in before (it carries the device cookie), so that
// somebody guessing admin's password cannot keep admin out.
func TestLoginLockoutSparesKnownDevice(t *testing.T) {
	e := proxiedEnv(t, "127.0.0.0/8")
	e.addUser(t, "wang", "viewer", "another-pass-1")
	const attacker, office = "203.0.113.7", "198.51.100.9"
	browser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar}
	}
	admins, wangs := browser(), browser()
	if r, _ := e.loginWait(t, admins, auth.FirstAdmin, adminPassword, xff(office)...); r.code != 200 {
		t.Fatalf("admin's first login: %d %s", r.code, r.body)
	}
	if r, _ := e.loginWait(t, wangs, "wang", "another-pass-1", xff(office)...); r.code != 200 {
		t.Fatalf("wang's login: %d %s", r.code, r.body)
	}
	// The attacker tries admin's password for an hour, five times each
	// quarter of an hour: enough to keep the user name locked for good.
	for round := range 4 {
		for i := range auth.LoginFailuresPerUser {
			if r, _ := e.loginWait(t, nil, auth.FirstAdmin, "guess-"+strconv.Itoa(round*10+i), xff(attacker)...); r.code != 401 {
				t.Fatalf("round %d guess %d: %d %s", round, i, r.code, r.body)
			}
		}
		// A browser that never logged in as admin is refused, whatever
		// the password, and so is the attacker.
		for _, tc := range []struct {
			name string
			c    *http.Client
			from string
		}{{"new browser", browser(), office}, {"wang's browser", wangs, office}, {"attacker", nil, attacker}} {
			r, _ := e.loginWait(t, tc.c, auth.FirstAdmin, adminPassword, xff(tc.from)...)
			if r.code != 429 || r.hdr.Get("Retry-After") == "" {
				t.Errorf("round %d, %s: %d %s, want 429 with Retry-After", round, tc.name, r.code, r.body)
			}
		}
		// Admin's own browser logs in.
		if r, waited := e.loginWait(t, admins, auth.FirstAdmin, adminPassword, xff(office)...); r.code != 200 || waited != 0 {
			t.Fatalf("round %d, admin's browser: %d %s after %s, want 200 at once", round, r.code, r.body, waited)
		}
		e.clock.Advance(auth.LoginWindow)
	}
	// The device cookie is no licence to guess: five wrong passwords in
	// admin's browser lock that browser too.
	for i := range auth.LoginFailuresPerUser {
		if r, _ := e.loginWait(t, admins, auth.FirstAdmin, "typo-"+strconv.Itoa(i), xff(office)...); r.code != 401 {
			t.Fatalf("typo %d: %d", i, r.code)
		}
	}
	if r, _ := e.loginWait(t, admins, auth.FirstAdmin, adminPassword, xff(office)...); r.code != 429 {
		t.Errorf("admin's browser after five typos: %d, want 429", r.code)
	}
	// A forged or altered device cookie counts for nothing.
	u, _ := http.NewRequest("GET", e.url+"/api/v1/login", nil)
	found := false
	for _, c := range admins.Jar.Cookies(u.URL) {
		if c.Name != auth.DeviceCookieName {
			continue
		}
		found = true
		forged := browser()
		forged.Jar.SetCookies(u.URL, []*http.Cookie{{Name: auth.DeviceCookieName, Value: c.Value[:len(c.Value)-2] + "AA", Path: "/api/v1/"}})
		if r, _ := e.loginWait(t, forged, auth.FirstAdmin, adminPassword, xff(office)...); r.code != 429 {
			t.Errorf("altered device cookie: %d, want 429", r.code)
		}
	}
	if !found {
		t.Errorf("admin's browser has no %s cookie for /api/v1/login", auth.DeviceCookieName)
	}
	if logs := e.logs.String(); strings.Contains(logs, adminPassword) {
		t.Errorf("the log shows the password:\n%s", logs)
	}
}
