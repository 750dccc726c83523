package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"yujing/store/sqlstate"
)

// How password attempts (logins, and the current password of a password
// change) are limited:
//
//   - per user name: after LoginFailuresPerUser failures in LoginWindow
//     the name is refused (429) until the oldest of them is LoginWindow
//     old, whatever the password — except in a browser that carries the
//     user's device cookie (a browser the user logged in from before),
//     which has a count of its own. Somebody guessing admin's password
//     thus locks out other browsers, never admin's own.
//   - per client address (the real client behind a trusted proxy): after
//     LoginFailuresPerAddr failures in LoginWindow every attempt from the
//     address waits first, LoginDelayFirst doubling with each further
//     failure up to LoginDelayMax. A right password is slowed down, never
//     refused, for the address alone: many people may share one address.

// limiter counts failures per key (a client address, a user name) in a
// sliding window, keeping the newest keep of them.
type limiter struct {
	keep   int
	window time.Duration
	mu     sync.Mutex
	fails  map[string][]time.Time // oldest first, at most keep
}

// sweepAt is the number of keys above which ended windows are dropped.
const sweepAt = 10000

func newLimiter(keep int, window time.Duration) *limiter {
	return &limiter{keep: keep, window: window, fails: map[string][]time.Time{}}
}

// recent drops key's failures older than the window; l.mu is held.
func (l *limiter) recent(key string, now time.Time) []time.Time {
	fs := l.fails[key]
	i := 0
	for i < len(fs) && !fs[i].After(now.Add(-l.window)) {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(l.fails, key)
		return nil
	}
	l.fails[key] = fs
	return fs
}

// count is the number of key's failures in the window (at most keep).
func (l *limiter) count(key string, now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(key, now))
}

// wait is how long until key has had fewer than n failures in the
// window; 0: it has now. n is at most keep.
func (l *limiter) wait(key string, n int, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	fs := l.recent(key, now)
	if len(fs) < n {
		return 0
	}
	return fs[len(fs)-n].Add(l.window).Sub(now)
}

// fail counts a failure of key at now.
func (l *limiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) >= sweepAt {
		for k := range l.fails {
			l.recent(k, now)
		}
	}
	fs := append(l.recent(key, now), now)
	if len(fs) > l.keep {
		fs = fs[len(fs)-l.keep:]
	}
	l.fails[key] = fs
}

// reset forgets key's failures.
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

// addrKeep is how many failures per address are kept: enough to reach
// LoginDelayMax.
const addrKeep = LoginFailuresPerAddr + 8

// addrDelay is the wait before an attempt from an address that has had
// n failures in the window.
func addrDelay(n int) time.Duration {
	if n < LoginFailuresPerAddr {
		return 0
	}
	d := LoginDelayFirst << min(n-LoginFailuresPerAddr, 16)
	return min(d, LoginDelayMax)
}

// slow waits the delay of addr's failures; an error when ctx ends first
// (the client went away).
func (s *Service) slow(ctx context.Context, addr string) error {
	d := addrDelay(s.byAddr.count(addr, s.now()))
	if d <= 0 {
		return nil
	}
	s.delayed.Inc()
	select {
	case <-s.after(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// attemptKey is the key under which a password attempt for user u is
// limited: the user name, or, when r carries u's device cookie, the user
// name and that device. userKey is the user name's key.
func (s *Service) attemptKey(r *http.Request, u sqlstate.User, found bool, name string, now time.Time) (key, userKey string) {
	userKey = strings.ToLower(name)
	if !found {
		return userKey, userKey
	}
	if dev, ok := device(r, u, now); ok {
		return userKey + "\x00device\x00" + dev, userKey
	}
	return userKey, userKey
}

// A device cookie is base64url(user name) "." issued (Unix seconds) "."
// random id "." HMAC-SHA256 of the three, keyed with the user's password
// hash: nothing to store, the same on every node of a cluster and after
// a restart, and void once the password changes.
func deviceMAC(passwordHash, user, issued, id string) string {
	m := hmac.New(sha256.New, []byte(passwordHash))
	m.Write([]byte("yujing device\x00" + user + "\x00" + issued + "\x00" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// device is the id of r's device cookie when it is a valid one of u.
func device(r *http.Request, u sqlstate.User, now time.Time) (string, bool) {
	c, err := r.Cookie(DeviceCookieName)
	if err != nil || u.PasswordHash == "" {
		return "", false
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 4 {
		return "", false
	}
	name, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || string(name) != u.Username {
		return "", false
	}
	secs, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "", false
	}
	if age := now.Sub(time.Unix(secs, 0)); age < -time.Minute || age >= DeviceCookieMax {
		return "", false
	}
	if !hmac.Equal([]byte(parts[3]), []byte(deviceMAC(u.PasswordHash, u.Username, parts[1], parts[2]))) {
		return "", false
	}
	return parts[2], true
}

// setDevice gives the browser a new device cookie of u.
func (s *Service) setDevice(w http.ResponseWriter, r *http.Request, u sqlstate.User, now time.Time) {
	issued, id := strconv.FormatInt(now.Unix(), 10), randomString(12)
	v := base64.RawURLEncoding.EncodeToString([]byte(u.Username)) + "." + issued + "." + id + "." +
		deviceMAC(u.PasswordHash, u.Username, issued, id)
	http.SetCookie(w, &http.Cookie{Name: DeviceCookieName, Value: v, Path: "/api/v1/", MaxAge: int(DeviceCookieMax.Seconds()),
		HttpOnly: true, Secure: r.TLS != nil || s.secureCookies, SameSite: http.SameSiteStrictMode})
}
