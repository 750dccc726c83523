package auth

import (
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	for _, tc := range []struct {
		name   string
		remote string
		xff    []string
		realIP string
		want   string
	}{
		{"direct client", "203.0.113.7:5000", nil, "", "203.0.113.7"},
		{"direct client claims another address", "203.0.113.7:5000", []string{"198.51.100.9"}, "198.51.100.9", "203.0.113.7"},
		{"proxy, one hop", "10.0.0.2:443", []string{"203.0.113.7"}, "", "203.0.113.7"},
		{"proxy, client's own claim left of it", "10.0.0.2:443", []string{"198.51.100.9, 203.0.113.7"}, "", "203.0.113.7"},
		{"two trusted proxies", "10.0.0.2:443", []string{"198.51.100.9,203.0.113.7,10.1.1.1"}, "", "203.0.113.7"},
		{"several headers, in order", "10.0.0.2:443", []string{"198.51.100.9", "203.0.113.7", "10.1.1.1"}, "", "203.0.113.7"},
		{"X-Forwarded-For before X-Real-IP", "10.0.0.2:443", []string{"203.0.113.7"}, "198.51.100.9", "203.0.113.7"},
		{"X-Real-IP alone", "10.0.0.2:443", nil, "203.0.113.7", "203.0.113.7"},
		{"empty X-Forwarded-For, X-Real-IP", "10.0.0.2:443", []string{""}, "203.0.113.7", "203.0.113.7"},
		{"nothing forwarded", "10.0.0.2:443", nil, "", "10.0.0.2"},
		{"garbage X-Real-IP", "10.0.0.2:443", nil, "unknown", "10.0.0.2"},
		{"only trusted hops", "10.0.0.2:443", []string{"10.9.9.9, 10.1.1.1"}, "", "10.9.9.9"},
		{"garbage left of the client", "10.0.0.2:443", []string{"unknown, 203.0.113.7"}, "", "203.0.113.7"},
		{"garbage from the proxy", "10.0.0.2:443", []string{"203.0.113.7, unknown"}, "", "10.0.0.2"},
		{"garbage behind a second proxy", "10.0.0.2:443", []string{"203.0.113.7, nope, 10.1.1.1"}, "", "10.1.1.1"},
		{"hop with a port", "10.0.0.2:443", []string{"203.0.113.7:61000"}, "", "203.0.113.7"},
		{"IPv6 hop", "10.0.0.2:443", []string{"2001:db8::7"}, "", "2001:db8::7"},
		{"IPv6 hop in brackets", "10.0.0.2:443", []string{"[2001:db8::7]"}, "", "2001:db8::7"},
		{"IPv6 hop with a port", "10.0.0.2:443", []string{"[2001:db8::7]:443"}, "", "2001:db8::7"},
		{"IPv6 proxy", "[fd00::2]:443", []string{"203.0.113.7"}, "", "203.0.113.7"},
		{"IPv4-mapped proxy", "[::ffff:10.0.0.2]:443", []string{"203.0.113.7"}, "", "203.0.113.7"},
		{"IPv4-mapped hop", "10.0.0.2:443", []string{"::ffff:203.0.113.7"}, "", "203.0.113.7"},
		{"hop with a zone", "10.0.0.2:443", []string{"fe80::1%eth0"}, "", "10.0.0.2"},
		{"not an IP peer", "@", []string{"203.0.113.7"}, "", "@"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/api/v1/login", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if tc.realIP != "" {
				r.Header.Set("X-Real-IP", tc.realIP)
			}
			if got := clientAddr(r, trusted); got != tc.want {
				t.Errorf("clientAddr = %s, want %s", got, tc.want)
			}
		})
	}
}

// FuzzForwardedClient: whatever the headers say, the client is the peer
// (when the peer is not trusted) or an address that appears in them or
// the peer, and never one that only a hop left of the first untrusted
// one claims.
func FuzzForwardedClient(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "198.51.100.9, 203.0.113.7, 10.1.1.1", "[2001:db8::7]:443", "unknown,", ",,,", "::ffff:1.2.3.4", "fe80::1%eth0"} {
		f.Add(s, "203.0.113.9", true)
		f.Add(s, "", false)
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	f.Fuzz(func(t *testing.T, xff, realIP string, viaProxy bool) {
		peer := netip.MustParseAddr("203.0.113.1")
		if viaProxy {
			peer = netip.MustParseAddr("10.0.0.2")
		}
		got := forwardedClient(peer, []string{xff}, realIP, trusted)
		if !got.IsValid() {
			t.Fatalf("invalid address from %q %q", xff, realIP)
		}
		if !viaProxy {
			if got != peer {
				t.Fatalf("untrusted peer: got %s", got)
			}
			return
		}
		candidates := []netip.Addr{peer}
		for _, s := range append(strings.Split(xff, ","), realIP) {
			if a, ok := parseHop(s); ok {
				candidates = append(candidates, a)
			}
		}
		if !slices.Contains(candidates, got) {
			t.Fatalf("%s is neither the peer nor in %q / %q", got, xff, realIP)
		}
		// Nothing left of the right-most untrusted hop counts.
		hops := strings.Split(xff, ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, ok := parseHop(hops[i])
			if !ok {
				break
			}
			if !isTrusted(a, trusted) {
				if got != a {
					t.Fatalf("xff %q: got %s, want the right-most untrusted %s", xff, got, a)
				}
				break
			}
		}
	})
}
