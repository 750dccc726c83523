package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"yujing/alertmanager"
)

// AlertReceiver takes alerts from Alertmanager clients (an
// *alertmanager.Receiver).
type AlertReceiver interface {
	Receive(ctx context.Context, by string, alerts []alertmanager.Alert) (invalid, err error)
	Alerts() []alertmanager.Received
}

// maxAlertsBody bounds the body of POST /api/v2/alerts and of a webhook
// notification: Prometheus sends at most its batch (256 alerts), a few
// hundred bytes each.
const maxAlertsBody = 8 << 20

// alertmanagerRoutes serve what Alertmanager's clients need of an
// Alertmanager, and Alertmanager's webhook:
//
//   - POST /api/v2/alerts: Prometheus, Grafana, vmalert, amtool alert add;
//   - GET /api/v2/alerts: amtool alert query, the alerts received;
//   - GET /api/v2/status: amtool's version check, Grafana's data source
//     check;
//   - POST /api/v1/warnings/alertmanager: an Alertmanager's webhook
//     receiver (payload version 4).
func (s *Server) alertmanagerRoutes() {
	m := s.mux
	m.HandleFunc("POST /api/v2/alerts", s.postAlertsV2)
	m.HandleFunc("GET /api/v2/alerts", s.getAlertsV2)
	started := s.opts.Now()
	m.HandleFunc("GET /api/v2/status", func(w http.ResponseWriter, r *http.Request) { s.statusV2(w, r, started) })
	m.HandleFunc("POST /api/v1/warnings/alertmanager", s.postAlertmanagerWebhook)
}

var errNoAlertmanager = errors.New("the Alertmanager API is off: add an alertmanager: section to the configuration")

// writeV2Error answers as Alertmanager's API v2 does: the message as a
// JSON string.
func writeV2Error(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, msg)
}

// readAlertsBody reads a bounded body; ok is false when it answered.
func readAlertsBody(w http.ResponseWriter, r *http.Request, fail func(int, string)) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAlertsBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes: send fewer alerts at a time", maxAlertsBody))
		return nil, false
	case err != nil:
		fail(http.StatusBadRequest, "read body: "+err.Error())
		return nil, false
	}
	return body, true
}

// postAlertsV2 takes alerts as Alertmanager's POST /api/v2/alerts does:
// the valid ones are taken; 200 with no body when all were, else 400 with
// a message naming each alert refused and why.
func (s *Server) postAlertsV2(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, msg string) { writeV2Error(w, code, msg) }
	if s.opts.AlertReceiver == nil {
		fail(http.StatusNotFound, errNoAlertmanager.Error())
		return
	}
	body, ok := readAlertsBody(w, r, fail)
	if !ok {
		return
	}
	alerts, bad := alertmanager.DecodePostable(body)
	s.receiveAlerts(w, r, alerts, bad, fail, func() { w.WriteHeader(http.StatusOK) })
}

// postAlertmanagerWebhook takes an Alertmanager webhook notification.
func (s *Server) postAlertmanagerWebhook(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, msg string) { writeError(w, code, errors.New(msg)) }
	if s.opts.AlertReceiver == nil {
		fail(http.StatusNotFound, errNoAlertmanager.Error())
		return
	}
	body, ok := readAlertsBody(w, r, fail)
	if !ok {
		return
	}
	msg, alerts, bad := alertmanager.DecodeWebhook(body)
	s.receiveAlerts(w, r, alerts, bad, fail, func() {
		writeJSON(w, http.StatusOK, map[string]any{"accepted": len(alerts), "group_key": msg.GroupKey})
	})
}

// receiveAlerts hands the decoded alerts on and answers: 500 when the
// lifecycle failed (the sender sends again), 400 naming the alerts
// refused, else ok.
func (s *Server) receiveAlerts(w http.ResponseWriter, r *http.Request, alerts []alertmanager.Alert, bad error,
	fail func(int, string), ok func()) {
	if errors.Is(bad, alertmanager.ErrPayload) {
		fail(http.StatusBadRequest, bad.Error())
		return
	}
	invalid, err := s.opts.AlertReceiver.Receive(r.Context(), ActorFrom(r), alerts)
	if err != nil {
		s.opts.Logger.Error("alerts not kept", "path", r.URL.Path, "err", err)
		fail(http.StatusInternalServerError, "alerts not kept: "+err.Error())
		return
	}
	if bad = errors.Join(bad, invalid); bad != nil {
		s.opts.Logger.Warn("alerts refused", "path", r.URL.Path, "by", ActorFrom(r), "err", bad)
		fail(http.StatusBadRequest, bad.Error())
		return
	}
	ok()
}

// gettableAlert is Alertmanager's API v2 gettableAlert.
type gettableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
	Fingerprint  string            `json:"fingerprint"`
	StartsAt     time.Time         `json:"startsAt"`
	UpdatedAt    time.Time         `json:"updatedAt"`
	EndsAt       time.Time         `json:"endsAt"`
	Receivers    []receiverRef     `json:"receivers"`
	Status       alertStatus       `json:"status"`
}

type receiverRef struct {
	Name string `json:"name"`
}

type alertStatus struct {
	State       string   `json:"state"`
	SilencedBy  []string `json:"silencedBy"`
	InhibitedBy []string `json:"inhibitedBy"`
	MutedBy     []string `json:"mutedBy"`
}

// getAlertsV2 lists the firing alerts received through this API, as
// Alertmanager's GET /api/v2/alerts does (amtool alert query), with its
// filter (matchers such as alertname="HighLoad", severity=~"crit.*"),
// receiver (a regular expression; yujing is the one receiver, "yujing")
// and active. Every alert listed is active: silences and inhibition hold
// back a warning's calls in yujing, not the alert; its warning, with
// them, is at GET /api/v1/alerts.
func (s *Server) getAlertsV2(w http.ResponseWriter, r *http.Request) {
	if s.opts.AlertReceiver == nil {
		writeV2Error(w, http.StatusNotFound, errNoAlertmanager.Error())
		return
	}
	q := r.URL.Query()
	var ms []labelMatcher
	for _, f := range q["filter"] {
		m, err := parseMatchers(f)
		if err != nil {
			writeV2Error(w, http.StatusBadRequest, fmt.Sprintf("filter %q: %v", f, err))
			return
		}
		ms = append(ms, m...)
	}
	out := []gettableAlert{}
	if rx := q.Get("receiver"); rx != "" {
		re, err := regexp.Compile("^(?:" + rx + ")$")
		if err != nil {
			writeV2Error(w, http.StatusBadRequest, fmt.Sprintf("receiver %q: %v", rx, err))
			return
		}
		if !re.MatchString(receiverName) {
			writeJSON(w, http.StatusOK, out)
			return
		}
	}
	if q.Get("active") == "false" {
		writeJSON(w, http.StatusOK, out) // none is suppressed
		return
	}
next:
	for _, a := range s.opts.AlertReceiver.Alerts() {
		for _, m := range ms {
			if !m.matches(a.Alert.Labels[m.name]) {
				continue next
			}
		}
		ann := a.Alert.Annotations
		if ann == nil {
			ann = map[string]string{}
		}
		out = append(out, gettableAlert{Labels: a.Alert.Labels, Annotations: ann, GeneratorURL: a.Alert.GeneratorURL,
			Fingerprint: a.Alert.Fingerprint, StartsAt: a.Alert.StartsAt, UpdatedAt: a.Updated, EndsAt: a.Alert.EndsAt,
			Receivers: []receiverRef{{Name: receiverName}},
			Status:    alertStatus{State: "active", SilencedBy: []string{}, InhibitedBy: []string{}, MutedBy: []string{}}})
	}
	writeJSON(w, http.StatusOK, out)
}

// receiverName is the one receiver GET /api/v2/alerts names.
const receiverName = "yujing"

// labelMatcher is one of Alertmanager's matchers: name, =, !=, =~ or !~,
// value.
type labelMatcher struct {
	name, op, value string
	re              *regexp.Regexp
}

func (m labelMatcher) matches(v string) bool {
	switch m.op {
	case "=":
		return v == m.value
	case "!=":
		return v != m.value
	case "=~":
		return m.re.MatchString(v)
	default:
		return !m.re.MatchString(v)
	}
}

var matcherRe = regexp.MustCompile(`^\s*([^\s=!~"{},]+)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|[^\s,"{}]*)\s*$`)

// parseMatchers reads a filter: matchers separated by commas, with or
// without braces ({alertname="X", severity=~"c.*"}); a value may be
// quoted.
func parseMatchers(s string) ([]labelMatcher, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		if !strings.HasSuffix(s, "}") {
			return nil, errors.New("a { without its }")
		}
		s = s[1 : len(s)-1]
	}
	var out []labelMatcher
	for _, part := range splitMatchers(s) {
		if strings.TrimSpace(part) == "" {
			continue
		}
		g := matcherRe.FindStringSubmatch(part)
		if g == nil {
			return nil, fmt.Errorf("%q is not a matcher (name=\"value\", !=, =~ or !~)", strings.TrimSpace(part))
		}
		m := labelMatcher{name: g[1], op: g[2], value: g[3]}
		if strings.HasPrefix(m.value, `"`) {
			v, err := strconv.Unquote(m.value)
			if err != nil {
				return nil, fmt.Errorf("%q: %v", part, err)
			}
			m.value = v
		}
		if m.op == "=~" || m.op == "!~" {
			re, err := regexp.Compile("^(?:" + m.value + ")$")
			if err != nil {
				return nil, fmt.Errorf("%q: %v", strings.TrimSpace(part), err)
			}
			m.re = re
		}
		out = append(out, m)
	}
	return out, nil
}

// splitMatchers splits at the commas outside quotes.
func splitMatchers(s string) []string {
	var out []string
	start, quoted, escaped := 0, false, false
	for i, c := range s {
		switch {
		case escaped:
			escaped = false
		case c == '\\' && quoted:
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// statusV2 is Alertmanager's GET /api/v2/status, honestly: the version is
// yujing's, there is no cluster and no Alertmanager configuration; uptime
// is when the server was built.
func (s *Server) statusV2(w http.ResponseWriter, r *http.Request, started time.Time) {
	if s.opts.AlertReceiver == nil {
		writeV2Error(w, http.StatusNotFound, errNoAlertmanager.Error())
		return
	}
	version := s.opts.Version
	if version == "" {
		version = "unknown"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"cluster": map[string]any{"status": "disabled", "peers": []any{}},
		"versionInfo": map[string]string{"version": "yujing " + version, "revision": "", "branch": "",
			"buildUser": "", "buildDate": "", "goVersion": runtime.Version()},
		"config": map[string]string{"original": "# yujing takes alerts here as an Alertmanager would; its configuration is yujing's (section alertmanager:)\n"},
		"uptime": started,
	})
}
