package auth

import (
	"net/http"
	"net/url"
	"path"
	"strings"
)

// Required returns the least role a request needs: Public when anyone may
// make it. This is the one rule table of yujing's HTTP API; README.md
// ("Users, roles and API tokens") shows it to users. escapedPath is the
// request's URL.EscapedPath(): it is split into segments the way
// http.ServeMux splits it, so that the rule and the route see the same
// path.
//
//   - Public: GET /healthz; GET /metrics when metricsPublic; the console's
//     static files (every GET outside /api/ and /-/); POST /api/v1/login;
//     provider callbacks POST /api/v1/callbacks/{channel} (providers
//     cannot log in: each parser checks what its provider signs); every
//     path under /answer/ (the signed token in the path is the
//     credential).
//   - Admin: GET /api/v1/audit… (the audit log), /api/v1/users and
//     /api/v1/tokens.
//   - Viewer: every other GET and HEAD (the live stream, /metrics),
//     POST /api/v1/logout and POST /api/v1/me/password (a user's own).
//   - Operator: POST /api/v1/alerts/{id}/ack, …/dispose, …/close,
//     POST /api/v1/calls/{id}/answer, POST /api/v1/spot-checks (a duty
//     spot check on demand), and warnings other systems issue:
//     POST /api/v1/warnings/{format} (cap, alertmanager: an
//     Alertmanager's webhook) and Alertmanager's POST /api/v2/alerts
//     (Prometheus, Grafana, amtool).
//   - Admin: everything else that changes state, and POST
//     /api/v1/calls/{id}/link (a call's answer link: the called person's
//     credential).
func Required(method, escapedPath string, metricsPublic bool) Role {
	clean := path.Clean("/" + escapedPath)
	var seg []string
	for _, s := range strings.Split(strings.TrimPrefix(clean, "/"), "/") {
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
		seg = append(seg, s)
	}
	at := func(i int) string {
		if i < len(seg) {
			return seg[i]
		}
		return ""
	}
	api := at(0) == "api" && at(1) == "v1"
	safe := method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
	switch {
	case at(0) == "answer":
		return Public
	case safe && len(seg) == 1 && at(0) == "healthz":
		return Public
	case safe && len(seg) == 1 && at(0) == "metrics":
		if metricsPublic {
			return Public
		}
		return Viewer
	case method == http.MethodPost && api && len(seg) == 3 && at(2) == "login":
		return Public
	case method == http.MethodPost && api && len(seg) == 4 && at(2) == "callbacks":
		return Public
	case at(0) != "api" && at(0) != "-" && at(0) != "metrics":
		if safe {
			return Public // the console's files
		}
		return Admin
	case safe && api && (at(2) == "audit" || strings.HasPrefix(at(2), "audit.") || at(2) == "users" || at(2) == "tokens"):
		return Admin
	case safe:
		return Viewer
	case method == http.MethodPost && api && len(seg) == 5 && at(2) == "alerts" &&
		(at(4) == "ack" || at(4) == "dispose" || at(4) == "close"):
		return Operator
	case method == http.MethodPost && api && len(seg) == 5 && at(2) == "calls" && at(4) == "answer":
		return Operator
	case method == http.MethodPost && api && len(seg) == 4 && at(2) == "warnings":
		return Operator // issued warnings in: POST /api/v1/warnings/{format} (cap, alertmanager)
	case method == http.MethodPost && len(seg) == 3 && at(0) == "api" && at(1) == "v2" && at(2) == "alerts":
		return Operator
	case method == http.MethodPost && api && len(seg) == 3 && at(2) == "spot-checks":
		return Operator
	case method == http.MethodPost && api && len(seg) == 3 && at(2) == "logout":
		return Viewer
	case method == http.MethodPost && api && len(seg) == 4 && at(2) == "me" && at(3) == "password":
		return Viewer
	}
	return Admin
}
