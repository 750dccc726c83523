package auth

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr is the address of the client that sent r, for the login
// limits and the log: the peer's address, unless the peer is one of
// trusted (http.trusted_proxies); then the proxy's word is taken (see
// forwardedClient). Anyone can send X-Forwarded-For, so it is read only
// from a trusted proxy.
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host // not an IP address (a Unix socket): one client
	}
	peer = peer.Unmap().WithZone("")
	return forwardedClient(peer, r.Header.Values("X-Forwarded-For"), r.Header.Get("X-Real-IP"), trusted).String()
}

// forwardedClient is the client behind peer. When peer is a trusted
// proxy, it is the right-most address of the X-Forwarded-For headers
// (all of them, in order) that is not a trusted proxy itself: each proxy
// appends the address it saw, so what is left of the first untrusted
// address is the client's own claim. Without X-Forwarded-For it is
// X-Real-IP. An entry that is not an address ends the walk at the last
// trusted proxy, which then stands for the client; so does a chain of
// trusted proxies only.
func forwardedClient(peer netip.Addr, xff []string, realIP string, trusted []netip.Prefix) netip.Addr {
	if !isTrusted(peer, trusted) {
		return peer
	}
	var hops []string
	for _, h := range xff {
		for e := range strings.SplitSeq(h, ",") {
			hops = append(hops, e)
		}
	}
	if len(hops) == 0 || len(hops) == 1 && strings.TrimSpace(hops[0]) == "" {
		if a, ok := parseHop(realIP); ok {
			return a
		}
		return peer
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			return client
		}
		client = a
		if !isTrusted(a, trusted) {
			return a
		}
	}
	return client
}

// parseHop reads one address of X-Forwarded-For or X-Real-IP: an IPv4
// or IPv6 address, perhaps in brackets or with a port (some proxies add
// one).
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			a, err = netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
			if err != nil || !strings.HasPrefix(s, "[") {
				return netip.Addr{}, false
			}
		} else {
			a = ap.Addr()
		}
	}
	if a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
