package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"yujing"
	"yujing/alerting/escalate"
	"yujing/store"
)

// Escalations is what the API needs of call-and-answer
// (alerting/escalate.Engine).
type Escalations interface {
	Escalations(ctx context.Context, alertID int64) ([]store.Escalation, error)
	Check(ctx context.Context, token string) (store.CallRecord, yujing.Call, error)
	AnswerLink(ctx context.Context, token, note string, onSite bool) (escalate.Outcome, error)
	Answer(ctx context.Context, callID string, in escalate.AnswerInput) (escalate.Outcome, error)
	Link(ctx context.Context, callID string) (yujing.Call, error)
}

//go:embed templates
var templates embed.FS

var answerPage = template.Must(template.New("answer.html").Funcs(template.FuncMap{
	"t": func(lang, zh, en string) string {
		if lang == "en" {
			return en
		}
		return zh
	},
}).ParseFS(templates, "templates/answer.html"))

// answerView is what the answer page shows.
type answerView struct {
	Lang     string
	Token    string
	Call     yujing.Call
	Level    string
	LevelCSS string
	Site     string // the site's name, else its id
	Sensor   string // the sensor's name and id, else its id
	// Issued: a warning another system issued (alerting/issued), shown by
	// its headline (Title), its text (Body) and its area's code (Area)
	// instead of site, sensor and value.
	Issued      bool
	Title, Body string
	Area        string
	Deadline    string
	Started     string
	// State: "open" (the form), "done" (answer recorded), "refused".
	State   string
	Message string
	OnSite  bool
	Stopped bool
}

// answerLang picks the page language: Chinese, or English with ?lang=en
// (the page links to the other language).
func answerLang(r *http.Request) string {
	if r.URL.Query().Get("lang") == "en" {
		return "en"
	}
	return "zh"
}

// refusal maps a refused link to its status and message.
func refusal(err error, lang string) (int, string) {
	zh := lang != "en"
	switch {
	case errors.Is(err, escalate.ErrForged):
		if zh {
			return http.StatusForbidden, "此应答链接无效（签名不符，可能被篡改）。请联系值班室。"
		}
		return http.StatusForbidden, "This answer link is not valid (its signature does not match). Please call the duty room."
	case errors.Is(err, escalate.ErrExpired):
		if zh {
			return http.StatusGone, "此应答链接已过期。请联系值班室。"
		}
		return http.StatusGone, "This answer link has expired. Please call the duty room."
	case errors.Is(err, escalate.ErrUsed), errors.Is(err, store.ErrAnswered):
		if zh {
			return http.StatusConflict, "此应答链接已使用过，应答已记录。"
		}
		return http.StatusConflict, "This answer link was already used; the answer is on record."
	case errors.Is(err, store.ErrNotFound):
		if zh {
			return http.StatusNotFound, "找不到此应答链接对应的呼叫。"
		}
		return http.StatusNotFound, "No call matches this answer link."
	}
	return http.StatusInternalServerError, err.Error()
}

func (s *Server) answerView(lang, token string, c yujing.Call) answerView {
	loc := s.opts.Location
	v := answerView{Lang: lang, Token: token, Call: c, Level: c.Alert.Level.Chinese(), LevelCSS: c.Alert.Level.String(),
		Started: c.Alert.StartedAt.In(loc).Format("2006-01-02 15:04:05"), Site: c.Alert.Site, Sensor: c.Alert.Sensor}
	// Names where the sensor registry knows them (ingest.Registry does).
	if n, ok := s.opts.Sensors.(interface {
		Site(id string) (yujing.Site, bool)
		ByID(id string) (*yujing.Sensor, bool)
	}); ok {
		if site, ok := n.Site(c.Alert.Site); ok && site.Name != "" {
			v.Site = site.Name
		}
		if sn, ok := n.ByID(c.Alert.Sensor); ok && sn.Name != "" {
			v.Sensor = sn.Name + " (" + sn.ID + ")"
		}
	}
	if strings.HasPrefix(c.Alert.Rule, yujing.IssuedRulePrefix) {
		v.Issued = true
		v.Title, v.Body, _ = strings.Cut(c.Alert.Message, "\n")
		v.Area, _ = yujing.SiteRegion(c.Alert.Site)
		if v.Area == "" {
			v.Area = v.Site
		}
	}
	if lang == "en" {
		v.Level = c.Alert.Level.String()
	}
	if !c.Deadline.IsZero() {
		v.Deadline = c.Deadline.In(loc).Format("2006-01-02 15:04:05")
	}
	return v
}

func (s *Server) renderAnswer(w http.ResponseWriter, code int, v answerView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer") // the token is in the path
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.WriteHeader(code)
	if err := answerPage.Execute(w, v); err != nil {
		s.opts.Logger.Error("answer page not rendered", "err", err)
	}
}

// answerGet serves the mobile answer page of a signed link.
func (s *Server) answerGet(w http.ResponseWriter, r *http.Request) {
	lang, token := answerLang(r), r.PathValue("token")
	_, c, err := s.opts.Escalations.Check(r.Context(), token)
	if err != nil {
		code, msg := refusal(err, lang)
		v := answerView{Lang: lang, State: "refused", Message: msg}
		if c.ID != "" {
			v = s.answerView(lang, "", c)
			v.State, v.Message = "refused", msg
		}
		s.renderAnswer(w, code, v)
		return
	}
	v := s.answerView(lang, token, c)
	v.State = "open"
	s.renderAnswer(w, http.StatusOK, v)
}

// answerBody is the optional JSON of POST answer_url.
type answerBody struct {
	Note   string `json:"note"`
	OnSite bool   `json:"on_site"`
	By     string `json:"by"`
}

// readAnswer reads an answer's note from JSON or from the page's form;
// form reports the latter (answered with a page). A JSON body is taken as
// JSON whatever its Content-Type says (curl -d sends JSON as a form).
func readAnswer(r *http.Request) (b answerBody, form bool, err error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return b, false, fmt.Errorf("body: %w", err)
	}
	text := strings.TrimSpace(string(data))
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case text == "":
		return b, ct == "application/x-www-form-urlencoded", nil
	case strings.HasPrefix(text, "{"):
		if err := json.Unmarshal(data, &b); err != nil {
			return b, false, fmt.Errorf(`body: want JSON {"note": "...", "on_site": true}: %w`, err)
		}
		return b, false, nil
	case ct == "application/x-www-form-urlencoded":
		q, err := url.ParseQuery(text)
		if err != nil {
			return b, true, fmt.Errorf("form: %w", err)
		}
		b.Note, b.OnSite = q.Get("note"), q.Get("on_site") != ""
		return b, true, nil
	}
	return b, false, fmt.Errorf(`body: want JSON {"note": "...", "on_site": true} or the answer page's form`)
}

// answerPost records the answer of a signed link: from the page's form
// (answered with the page) or as JSON (answered with JSON).
func (s *Server) answerPost(w http.ResponseWriter, r *http.Request) {
	lang, token := answerLang(r), r.PathValue("token")
	body, form, err := readAnswer(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	out, err := s.opts.Escalations.AnswerLink(r.Context(), token, body.Note, body.OnSite)
	if err != nil {
		code, msg := refusal(err, lang)
		if code == http.StatusInternalServerError {
			s.opts.Logger.Error("answer not recorded", "err", err)
		}
		if form {
			s.renderAnswer(w, code, answerView{Lang: lang, State: "refused", Message: msg})
			return
		}
		writeJSON(w, code, map[string]string{"error": msg, "detail": err.Error()})
		return
	}
	// The audit log names the person the link was for, and the call, never
	// the token.
	noteAudit(r, "answer-link:"+out.Call.Person.ID, "call "+out.Call.ID)
	if form {
		v := s.answerView(lang, "", out.Call)
		v.State, v.OnSite, v.Stopped = "done", body.OnSite, out.Stopped
		s.renderAnswer(w, http.StatusOK, v)
		return
	}
	writeJSON(w, http.StatusOK, answerResult(out, body))
}

func answerResult(out escalate.Outcome, b answerBody) map[string]any {
	return map[string]any{
		"call_id": out.Call.ID, "alert_id": out.Call.Alert.ID, "person": out.Call.Person.ID,
		"answered_at": out.At, "latency_seconds": out.Latency.Seconds(), "on_site": b.OnSite, "note": b.Note,
		"escalation_stopped": out.Stopped,
	}
}

// answerCall records an answer on behalf of the called person (the
// console or an integration): POST /api/v1/calls/{id}/answer.
func (s *Server) answerCall(w http.ResponseWriter, r *http.Request) {
	body, _, err := readAnswer(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	via := escalate.ViaAPI
	if _, err := r.Cookie("yujing_session"); err == nil {
		via = escalate.ViaConsole
	}
	by := ActorFrom(r)
	if by == "" {
		by = body.By
	}
	out, err := s.opts.Escalations.Answer(r.Context(), r.PathValue("id"),
		escalate.AnswerInput{By: by, Channel: via, Note: body.Note, OnSite: body.OnSite})
	switch {
	case errors.Is(err, store.ErrAnswered):
		writeError(w, http.StatusConflict, err)
		return
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Errorf("call %q: %w", r.PathValue("id"), err))
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, answerResult(out, body))
}

// CallLink is a call and its answer link, as POST /api/v1/calls/{id}/link
// and POST /api/v1/alerts/{id}/links give it.
type CallLink struct {
	CallID    string `json:"call_id"`
	AlertID   int64  `json:"alert_id"`
	Person    string `json:"person"`
	Channel   string `json:"channel"`
	Step      int    `json:"step"`
	AnswerURL string `json:"answer_url"`
}

func callLink(c yujing.Call) CallLink {
	return CallLink{CallID: c.ID, AlertID: c.Alert.ID, Person: c.Person.ID, Channel: c.Channel, Step: c.Step, AnswerURL: c.AnswerURL}
}

// callLink hands an administrator a call's answer link: POST
// /api/v1/calls/{id}/link (a POST, so that the audit log records who was
// given whose link).
func (s *Server) callLink(w http.ResponseWriter, r *http.Request) {
	call, err := s.opts.Escalations.Link(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Errorf("call %q: %w", r.PathValue("id"), err))
		return
	case errors.Is(err, escalate.ErrNoLink):
		writeError(w, http.StatusConflict, err)
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, callLink(call))
}

// alertLinks hands an administrator the answer links of an alert's calls
// that are still waiting for an answer: POST /api/v1/alerts/{id}/links;
// 404 while there are none (the escalation has not called anyone yet, or
// every call was answered), so that a script can retry until they come.
func (s *Server) alertLinks(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("alert id %q: want a number", r.PathValue("id")))
		return
	}
	calls, err := s.callsFor(r.Context(), id)
	if err != nil {
		s.fail(w, r, fmt.Errorf("calls of alert %d: %w", id, err))
		return
	}
	links := []CallLink{}
	for _, c := range calls {
		if c.EscalationID == nil || c.AnsweredAt != nil {
			continue
		}
		call, err := s.opts.Escalations.Link(r.Context(), c.ID)
		if errors.Is(err, escalate.ErrNoLink) {
			continue
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		links = append(links, callLink(call))
	}
	if len(links) == 0 {
		writeError(w, http.StatusNotFound, fmt.Errorf("alert %d has no call waiting for an answer", id))
		return
	}
	writeJSON(w, http.StatusOK, links)
}

// answerRoutes registers call-and-answer's endpoints when it is on.
func (s *Server) answerRoutes() {
	if s.opts.Escalations == nil {
		return
	}
	s.mux.HandleFunc("GET /answer/{token}", s.answerGet)
	s.mux.HandleFunc("POST /answer/{token}", s.answerPost)
	s.mux.HandleFunc("POST /api/v1/calls/{id}/answer", s.answerCall)
	s.mux.HandleFunc("POST /api/v1/calls/{id}/link", s.callLink)
	s.mux.HandleFunc("POST /api/v1/alerts/{id}/links", s.alertLinks)
	if s.opts.Reports != nil {
		s.mux.HandleFunc("GET /api/v1/reports/answers", s.answerReport)
		s.mux.HandleFunc("GET /api/v1/reports/answers.csv", s.answerReportCSV)
	}
}

// location is where report periods and the answer page's times are read.
func defaultLocation() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.UTC
}
