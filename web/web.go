// Package web is yujing's HTTP face: health and metrics for operations, the
// JSON API (/api/v1/…), a Server-Sent Events stream of alert changes, and the
// duty-room console, all from one embedded file set.
package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/lifecycle"
	"yujing/ingest"
	"yujing/store"
	"yujing/web/auth"
)

// Alerts is what the API needs of the rule engine.
type Alerts interface {
	List(ctx context.Context, f store.AlertFilter) ([]yujing.Alert, error)
	Count(ctx context.Context, f store.AlertFilter) (map[yujing.Level]int, error)
	Get(ctx context.Context, id int64) (yujing.Alert, []yujing.Transition, error)
	Ack(ctx context.Context, id int64, act lifecycle.Action) (yujing.Alert, error)
	Dispose(ctx context.Context, id int64, act lifecycle.Action) (yujing.Alert, error)
	Close(ctx context.Context, id int64, act lifecycle.Action) (yujing.Alert, error)
}

// Sensors reports every sensor's state, a page of them, one of them, the
// sites of a region, and a site's name (an *ingest.Registry).
type Sensors interface {
	Statuses(now time.Time) []ingest.Status
	Query(now time.Time, q ingest.SensorQuery) ingest.SensorPage
	Status(id string, now time.Time) (ingest.Status, bool)
	SitesInRegion(code string) []string
	Site(id string) (yujing.Site, bool)
}

// Rejections lists refused input, newest first.
type Rejections interface {
	List(limit int) []ingest.Rejection
}

// Attachments reads files attached to disposal records.
type Attachments interface {
	Attachments(ctx context.Context, alertID int64) ([]yujing.Attachment, error)
	Attachment(ctx context.Context, alertID, id int64) (yujing.Attachment, error)
}

// ErrReloadedHereOnly is wrapped by a reload's error when this node took
// the new configuration but not every node of its cluster did.
var ErrReloadedHereOnly = errors.New("reloaded on this node, but not as it on every node")

// Silences manages silences.
type Silences interface {
	Silences() []lifecycle.SilenceStatus
	CreateSilence(ctx context.Context, s yujing.Silence) (yujing.Silence, error)
	ExpireSilence(ctx context.Context, id int64, by string) error
}

// Rules reports the rules in force and their health, and describes one
// (web/rules.go).
type Rules interface {
	RuleStatuses() []alerting.RuleStatus
	RuleDetail(name string) (alerting.RuleDetail, bool)
}

// Discovery lists topics nobody registered.
type Discovery interface {
	List() ([]ingest.Discovered, int64)
}

// Options are the server's collaborators.
type Options struct {
	Alerts      Alerts
	Sensors     Sensors
	Rejections  Rejections
	Discovery   Discovery   // nil when discovery is off
	SensorsAdm  SensorAdmin // nil: sensors are read-only
	Rules       Rules
	Silences    Silences    // nil: no silences API
	Attachments Attachments // nil: no attachments
	// Reload re-reads the configuration (POST /-/reload); nil: not offered.
	// An error wrapping ErrReloadedHereOnly says this node took the new
	// configuration but not every node of its cluster did (409).
	Reload   func(ctx context.Context) error
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
	Now      func() time.Time
	Version  string
	Events   *Broadcaster // alert changes for the live stream (a new one if nil)
	Calls    *Calls       // calls of each alert and provider callbacks; nil: none
	Audit    *Audit       // records state-changing requests and serves the audit log; nil: none
	// Escalations is call-and-answer: escalations in the alert detail,
	// answer links (/answer/{token}) and POST /api/v1/calls/{id}/answer;
	// nil: none. Reports and People feed GET /api/v1/reports/answers.
	Escalations Escalations
	Reports     AnswerReports
	People      People
	// Location is where report days and the answer page's times are read
	// (default Asia/Shanghai).
	Location *time.Location
	Readings Readings // the reading store for charts (GET /api/v1/sensors/{id}/readings); nil: none
	// Auth authenticates every request and enforces the roles (and adds
	// the login, user and token endpoints); nil: everything is open.
	Auth *auth.Service
	// Directory is the people, organisations, responsibility chains and
	// duty rosters (a *duty.Book); nil: the directory API answers 404.
	Directory Directory
	// System is yujing's own health (GET /api/v1/system, "system" events
	// on the stream); nil: always well.
	System System
	// SiteStatuses keeps sites' production statuses (GET
	// /api/v1/sites/status, GET and PUT /api/v1/sites/{id}/status); nil:
	// not offered.
	SiteStatuses SiteStatuses
	// Families returns the sensor families the configuration knows, for
	// GET /api/v1/families (the console's filters and statistics); nil:
	// the built-in ones.
	Families func() yujing.Families
	// Previews replays a rule with other numbers over the stored
	// readings (POST /api/v1/rules/{name}/preview); nil: not offered.
	Previews RulePreviews
	// AlertReceiver takes Alertmanager clients' alerts (web/alertmanager.go); nil: 404.
	AlertReceiver AlertReceiver
	// CAP takes issued warnings in CAP 1.2 (POST /api/v1/warnings/cap);
	// nil: answers 404.
	CAP CAPIntake
	// SpotChecks are the duty spot checks (POST and GET
	// /api/v1/spot-checks, GET /api/v1/reports/spot-checks); nil: not
	// offered.
	SpotChecks *SpotChecks
}

// Server serves the API and the console.
type Server struct {
	opts   Options
	mux    *http.ServeMux
	events *Broadcaster
}

//go:embed static/*.html static/*.js static/*.css static/pages
var static embed.FS

// New builds the server.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Events == nil {
		opts.Events = NewBroadcaster(256)
	}
	if opts.Location == nil {
		opts.Location = defaultLocation()
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), events: opts.Events}
	s.routes()
	return s
}

// Handler returns the HTTP handler: the routes, behind the audit
// middleware when Options.Audit is set, behind authentication when
// Options.Auth is set (outside the audit, so that it records the user).
func (s *Server) Handler() http.Handler {
	var h http.Handler = s.mux
	if s.opts.Audit != nil {
		h = s.opts.Audit.Middleware(h)
	}
	if s.opts.Auth != nil {
		h = s.opts.Auth.Middleware(h)
	}
	return h
}

// Events is where alert changes are published for the live stream.
func (s *Server) Events() *Broadcaster { return s.events }

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.opts.Version})
	})
	if s.opts.Gatherer != nil {
		m.Handle("GET /metrics", promhttp.HandlerFor(s.opts.Gatherer, promhttp.HandlerOpts{}))
	}
	m.HandleFunc("GET /api/v1/alerts", s.listAlerts)
	m.HandleFunc("GET /api/v1/alerts/counts", s.countAlerts)
	m.HandleFunc("GET /api/v1/alerts/{id}", s.getAlert)
	m.HandleFunc("GET /api/v1/sensors/{id}/alert", s.sensorAlert)
	m.HandleFunc("GET /api/v1/alerts/{id}/attachments/{aid}", s.attachment)
	m.HandleFunc("POST /api/v1/alerts/{id}/ack", s.action(s.opts.Alerts.Ack))
	m.HandleFunc("POST /api/v1/alerts/{id}/dispose", s.action(s.opts.Alerts.Dispose))
	m.HandleFunc("POST /api/v1/alerts/{id}/close", s.action(s.opts.Alerts.Close))
	m.HandleFunc("GET /api/v1/meta", s.meta)
	m.HandleFunc("GET /api/v1/wall", s.wall)
	m.HandleFunc("GET /api/v1/sites/map", s.siteMap)
	m.HandleFunc("GET /api/v1/rejected", s.rejected)
	m.HandleFunc("GET /api/v1/rules", s.rules)
	m.HandleFunc("GET /api/v1/rules/{name}", s.rule)
	m.HandleFunc("POST /api/v1/rules/{name}/preview", s.previewRule)
	m.HandleFunc("GET /api/v1/families", s.families)
	m.HandleFunc("GET /api/v1/silences", s.listSilences)
	m.HandleFunc("POST /api/v1/silences", s.createSilence)
	m.HandleFunc("DELETE /api/v1/silences/{id}", s.expireSilence)
	m.HandleFunc("POST /-/reload", s.reload)
	m.HandleFunc("POST /api/v1/warnings/cap", s.postCAP)
	m.HandleFunc("GET /api/v1/sensors/discovered", s.discovered)
	m.HandleFunc("GET /api/v1/sensors/{id}/readings", s.readings)
	s.sensorRoutes()
	m.HandleFunc("GET /api/v1/stream", s.stream)
	m.HandleFunc("GET /api/v1/system", s.system)
	m.HandleFunc("POST /api/v1/callbacks/{channel}", s.callback)
	m.HandleFunc("GET /api/v1/audit", s.auditList)
	m.HandleFunc("GET /api/v1/audit.csv", s.auditCSV)
	m.HandleFunc("GET /api/v1/audit/verify", s.auditVerify)
	if s.opts.Auth != nil {
		s.opts.Auth.Register(m)
	}
	m.HandleFunc("GET /api/v1/reports/alerts", s.alertReport)
	m.HandleFunc("GET /api/v1/reports/alerts.csv", s.alertReportCSV)
	s.answerRoutes()
	s.directoryRoutes()
	s.siteStatusRoutes()
	s.alertmanagerRoutes()
	s.spotCheckRoutes()
	sub, _ := fs.Sub(static, "static")
	files := http.FileServerFS(sub)
	m.Handle("GET /", files)
	m.HandleFunc("GET /api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no API endpoint %s %s", r.Method, r.URL.Path))
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

// status maps engine errors to HTTP status codes.
func status(err error) int {
	switch {
	case errors.Is(err, lifecycle.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, lifecycle.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, lifecycle.ErrInvalid):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := status(err)
	if code == http.StatusInternalServerError {
		s.opts.Logger.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, code, err)
}

// sensorAlert answers GET /api/v1/sensors/{id}/alert: the sensor's newest
// open warning, 404 while it has none (a script can wait for one with
// curl --retry).
func (s *Server) sensorAlert(w http.ResponseWriter, r *http.Request) {
	as, err := s.opts.Alerts.List(r.Context(), store.AlertFilter{Sensor: r.PathValue("id"),
		States: []yujing.State{yujing.StateFiring, yujing.StateAcknowledged, yujing.StateDisposing, yujing.StateResolved}})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(as) == 0 {
		writeError(w, http.StatusNotFound, fmt.Errorf("sensor %q has no open warning", r.PathValue("id")))
		return
	}
	newest := as[0]
	for _, a := range as[1:] {
		if a.StartedAt.After(newest.StartedAt) || (a.StartedAt.Equal(newest.StartedAt) && a.ID > newest.ID) {
			newest = a
		}
	}
	writeJSON(w, http.StatusOK, newest)
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) {
	f, err := s.alertFilter(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	as, err := s.opts.Alerts.List(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if as == nil {
		as = []yujing.Alert{}
	}
	// The total the filter selects, whatever the page, for a list shown a
	// page at a time ("200 of 10 000").
	if f.Limit > 0 || f.Offset > 0 {
		n, err := s.opts.Alerts.Count(r.Context(), f)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("X-Total-Count", strconv.Itoa(total(n)))
	}
	writeJSON(w, http.StatusOK, as)
}

// countAlerts answers how many alerts the filter selects, in all and per
// level (every level named, 0 when none): the console's counters, without
// reading the alerts.
func (s *Server) countAlerts(w http.ResponseWriter, r *http.Request) {
	f, err := s.alertFilter(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	n, err := s.opts.Alerts.Count(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	levels := make(map[string]int, len(yujing.Levels))
	for _, l := range yujing.Levels {
		levels[l.String()] = n[l]
	}
	writeJSON(w, http.StatusOK, struct {
		Total  int            `json:"total"`
		Levels map[string]int `json:"levels"`
	}{total(n), levels})
}

func total(n map[yujing.Level]int) int {
	t := 0
	for _, v := range n {
		t += v
	}
	return t
}

// alertFilter reads the alert list's query parameters: state (open or the
// states, comma-separated), level, site, region, sensor, rule, family,
// from and to (RFC 3339), limit, offset and order (newest or severity).
func (s *Server) alertFilter(q url.Values) (store.AlertFilter, error) {
	f := store.AlertFilter{Site: q.Get("site"), Sensor: q.Get("sensor"), Rule: q.Get("rule"), Family: q.Get("family")}
	if region := q.Get("region"); region != "" {
		f.Sites, f.AreaPrefix = s.opts.Sensors.SitesInRegion(region), region
	}
	for _, st := range splitList(q.Get("state")) {
		switch yujing.State(st) {
		case "open":
			f.States = append(f.States, yujing.StateFiring, yujing.StateAcknowledged, yujing.StateDisposing, yujing.StateResolved)
		case yujing.StateFiring, yujing.StateAcknowledged, yujing.StateDisposing, yujing.StateResolved, yujing.StateClosed:
			f.States = append(f.States, yujing.State(st))
		default:
			return f, fmt.Errorf("state %q: want open, firing, acknowledged, disposing, resolved or closed", st)
		}
	}
	for _, ls := range splitList(q.Get("level")) {
		l, err := yujing.ParseLevel(ls)
		if err != nil {
			return f, fmt.Errorf("level: %w", err)
		}
		f.Levels = append(f.Levels, l)
	}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"limit", &f.Limit}, {"offset", &f.Offset}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return f, fmt.Errorf("%s: want a whole number ≥ 0, got %q", p.name, v)
			}
			*p.dst = n
		}
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, fmt.Errorf("%s: want RFC 3339 time, got %q", p.name, v)
			}
			*p.dst = t
		}
	}
	switch o := q.Get("order"); o {
	case "", "newest":
	case "severity":
		f.Order = store.OrderSeverity
	default:
		return f, fmt.Errorf("order %q: want newest (the default) or severity (highest level first, then the oldest)", o)
	}
	return f, nil
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func alertID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, fmt.Errorf("alert id %q: want a positive whole number", r.PathValue("id")))
		return 0, false
	}
	return id, true
}

// AlertDetail is an alert with its history and the calls made about it.
type AlertDetail struct {
	yujing.Alert
	History []yujing.Transition `json:"history"`
	Calls   []DetailCall        `json:"calls"`
	// Escalations are the call-and-answer runs for the alert, oldest
	// first; the active one has the deadline of its current step.
	Escalations []store.Escalation `json:"escalations"`
	// Attachments are the photos of its disposal records (data at
	// /api/v1/alerts/{id}/attachments/{attachment id}).
	Attachments []yujing.Attachment `json:"attachments"`
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) {
	id, ok := alertID(w, r)
	if !ok {
		return
	}
	a, hist, err := s.opts.Alerts.Get(r.Context(), id)
	if err != nil {
		s.fail(w, r, fmt.Errorf("alert %d: %w", id, err))
		return
	}
	if hist == nil {
		hist = []yujing.Transition{}
	}
	calls, err := s.callsFor(r.Context(), id)
	if err != nil {
		s.fail(w, r, fmt.Errorf("calls of alert %d: %w", id, err))
		return
	}
	att := []yujing.Attachment{}
	if s.opts.Attachments != nil {
		if got, err := s.opts.Attachments.Attachments(r.Context(), id); err == nil && got != nil {
			att = got
		}
	}
	escs := []store.Escalation{}
	if s.opts.Escalations != nil {
		if escs, err = s.opts.Escalations.Escalations(r.Context(), id); err != nil {
			s.fail(w, r, fmt.Errorf("escalations of alert %d: %w", id, err))
			return
		}
	}
	writeJSON(w, http.StatusOK, AlertDetail{Alert: a, History: hist, Calls: callOutcomes(calls, escs, s.opts.Now()),
		Escalations: escs, Attachments: att})
}

type actionBody struct {
	By     string      `json:"by"`
	Note   string      `json:"note"`
	Reason string      `json:"reason"`
	Photos []photoBody `json:"photos"`
}

// photoBody is a photo sent with a disposal record.
type photoBody struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"` // base64 in JSON
}

// Photo limits.
const (
	MaxPhotos    = 5
	MaxPhotoSize = 5 << 20
)

var photoTypes = []string{"image/jpeg", "image/png", "image/webp"}

func photos(in []photoBody) ([]yujing.Attachment, error) {
	if len(in) > MaxPhotos {
		return nil, fmt.Errorf("%w: at most %d photos per record, got %d", lifecycle.ErrInvalid, MaxPhotos, len(in))
	}
	var out []yujing.Attachment
	for i, p := range in {
		ct := http.DetectContentType(p.Data)
		switch {
		case len(p.Data) == 0:
			return nil, fmt.Errorf("%w: photos[%d]: empty", lifecycle.ErrInvalid, i)
		case len(p.Data) > MaxPhotoSize:
			return nil, fmt.Errorf("%w: photos[%d]: %d bytes, at most %d", lifecycle.ErrInvalid, i, len(p.Data), MaxPhotoSize)
		case !slices.Contains(photoTypes, ct):
			return nil, fmt.Errorf("%w: photos[%d]: %s is not a JPEG, PNG or WebP image", lifecycle.ErrInvalid, i, ct)
		}
		name := p.Name
		if name == "" {
			name = fmt.Sprintf("photo-%d", i+1)
		}
		out = append(out, yujing.Attachment{Name: name, ContentType: ct, Data: p.Data})
	}
	return out, nil
}

func (s *Server) attachment(w http.ResponseWriter, r *http.Request) {
	id, ok := alertID(w, r)
	if !ok {
		return
	}
	aid, err := strconv.ParseInt(r.PathValue("aid"), 10, 64)
	if err != nil || s.opts.Attachments == nil {
		writeError(w, http.StatusNotFound, fmt.Errorf("no attachment %q", r.PathValue("aid")))
		return
	}
	a, err := s.opts.Attachments.Attachment(r.Context(), id, aid)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", a.ContentType)
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", a.Name))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(a.Data)
}

func (s *Server) action(do func(context.Context, int64, lifecycle.Action) (yujing.Alert, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := alertID(w, r)
		if !ok {
			return
		}
		var b actionBody
		dec := json.NewDecoder(io.LimitReader(r.Body, (MaxPhotos*MaxPhotoSize)*4/3+64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("request body: want JSON {\"by\": \"...\", \"note\": \"...\"}: %v", err))
			return
		}
		att, err := photos(b.Photos)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if u := ActorFrom(r); u != "" {
			b.By = u // who logged in, not who the body names
		}
		a, err := do(r.Context(), id, lifecycle.Action{By: b.By, Note: b.Note, Reason: yujing.CloseReason(b.Reason), Attachments: att})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, a)
	}
}

func (s *Server) listSilences(w http.ResponseWriter, r *http.Request) {
	if s.opts.Silences == nil {
		writeJSON(w, http.StatusOK, []lifecycle.SilenceStatus{})
		return
	}
	writeJSON(w, http.StatusOK, s.opts.Silences.Silences())
}

func (s *Server) createSilence(w http.ResponseWriter, r *http.Request) {
	if s.opts.Silences == nil {
		writeError(w, http.StatusNotFound, errors.New("silences are not offered here"))
		return
	}
	var sl yujing.Silence
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sl); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("request body: want JSON {\"matchers\": {...}, \"ends_at\": ..., \"created_by\": ..., \"comment\": ...}: %v", err))
		return
	}
	if u := ActorFrom(r); u != "" {
		sl.CreatedBy = u
	}
	out, err := s.opts.Silences.CreateSilence(r.Context(), sl)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) expireSilence(w http.ResponseWriter, r *http.Request) {
	if s.opts.Silences == nil {
		writeError(w, http.StatusNotFound, errors.New("silences are not offered here"))
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, fmt.Errorf("silence id %q: want a positive whole number", r.PathValue("id")))
		return
	}
	by := r.URL.Query().Get("by")
	if u := ActorFrom(r); u != "" {
		by = u
	}
	if err := s.opts.Silences.ExpireSilence(r.Context(), id, by); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) rules(w http.ResponseWriter, r *http.Request) {
	if s.opts.Rules == nil {
		writeJSON(w, http.StatusOK, []alerting.RuleStatus{})
		return
	}
	writeJSON(w, http.StatusOK, s.opts.Rules.RuleStatuses())
}

// families lists the sensor families the configuration knows, in order:
// id, Chinese and English names, usual metrics, the console's colour and
// icon.
func (s *Server) families(w http.ResponseWriter, r *http.Request) {
	fs := yujing.BuiltinFamilies()
	if s.opts.Families != nil {
		fs = s.opts.Families()
	}
	if fs == nil {
		fs = yujing.Families{}
	}
	writeJSON(w, http.StatusOK, fs)
}

func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	if s.opts.Reload == nil {
		writeError(w, http.StatusNotFound, errors.New("reload is not offered here"))
		return
	}
	if err := s.opts.Reload(r.Context()); err != nil {
		if errors.Is(err, ErrReloadedHereOnly) {
			writeError(w, http.StatusConflict, err)
			return
		}
		writeError(w, http.StatusBadRequest, fmt.Errorf("configuration not reloaded; the running one stays in force:\n%w", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "reloaded"})
}

func (s *Server) discovered(w http.ResponseWriter, r *http.Request) {
	if s.opts.Discovery == nil || reflectNil(s.opts.Discovery) {
		writeError(w, http.StatusNotFound, errors.New("discovery is off: set mqtt.discovery: true to list unknown topics"))
		return
	}
	topics, dropped := s.opts.Discovery.List()
	writeJSON(w, http.StatusOK, map[string]any{"topics": topics, "not_kept": dropped})
}

// reflectNil reports whether an interface holds a typed nil pointer.
func reflectNil(v any) bool {
	d, ok := v.(*ingest.Discovery)
	return ok && d == nil
}

func (s *Server) rejected(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("limit: want a whole number > 0, got %q", v))
			return
		}
		limit = n
	}
	rs := s.opts.Rejections.List(limit)
	if rs == nil {
		rs = []ingest.Rejection{}
	}
	writeJSON(w, http.StatusOK, rs)
}
