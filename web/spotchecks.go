package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"yujing/alerting/escalate"
	"yujing/duty"
	"yujing/spotcheck"
	"yujing/store"
)

// SpotCheckStarter plans a duty spot check (escalate.Engine's StartCheck).
type SpotCheckStarter interface {
	StartCheck(ctx context.Context, c *store.SpotCheck) (created bool, err error)
}

// SpotCheckStore lists spot checks (sqlstate.State).
type SpotCheckStore interface {
	SpotChecks(ctx context.Context, f store.SpotCheckFilter) ([]store.SpotCheck, error)
	CallsOfSpotCheck(ctx context.Context, id int64) ([]store.CallRecord, error)
}

// SpotChecks are the duty spot checks' collaborators and the defaults of
// one asked for on demand.
type SpotChecks struct {
	Start SpotCheckStarter
	Store SpotCheckStore
	// Defaults are the settings in force (they change with a reload).
	Defaults func() SpotCheckDefaults
}

// SpotCheckDefaults: Known are the configured channels (a request naming
// another is refused); Channels, Deadline and EscalateTo the defaults of
// a check asked for on demand.
type SpotCheckDefaults struct {
	Known      []string
	Channels   []string
	Deadline   time.Duration
	EscalateTo []string
}

func (s *Server) spotCheckRoutes() {
	if s.opts.SpotChecks == nil {
		return
	}
	m := s.mux
	m.HandleFunc("POST /api/v1/spot-checks", s.createSpotCheck)
	m.HandleFunc("GET /api/v1/spot-checks", s.listSpotChecks)
	m.HandleFunc("GET /api/v1/reports/spot-checks", s.spotCheckReport)
	m.HandleFunc("GET /api/v1/reports/spot-checks.csv", s.spotCheckReportCSV)
}

// spotCheckView is a spot check with what the console shows of it.
type spotCheckView struct {
	store.SpotCheck
	// Deadline is when the current step's answer is due (null unless
	// calling); OnDuty whether the role checked answered in time; RolesZH
	// the roles in Chinese.
	Deadline *time.Time `json:"deadline"`
	OnDuty   bool       `json:"on_duty"`
	RolesZH  []string   `json:"roles_zh"`
	// Calls are the calls the check made (in the list only), each with
	// its step, status and answer; never the answer link.
	Calls []store.CallRecord `json:"calls,omitempty"`
}

func viewSpotCheck(c store.SpotCheck) spotCheckView {
	v := spotCheckView{SpotCheck: c, OnDuty: c.OnDuty()}
	if d := escalate.CheckDeadline(c); !d.IsZero() {
		v.Deadline = &d
	}
	for _, r := range c.Roles {
		v.RolesZH = append(v.RolesZH, duty.RoleLabel(r))
	}
	return v
}

// createSpotCheck is POST /api/v1/spot-checks {"org": "acme", "role":
// "duty_officer", "channel": "voice", "deadline": "10m"}: a check made at
// once; channel and deadline default to the configuration's; nobody
// answering, the configured roles (principal) are called next. Who asked
// is the user or token (the audit log keeps the request). 201 with the
// check.
func (s *Server) createSpotCheck(w http.ResponseWriter, r *http.Request) {
	sc := s.opts.SpotChecks.Defaults()
	var b struct {
		Org      string `json:"org"`
		Role     string `json:"role"`
		Channel  string `json:"channel"`
		Deadline string `json:"deadline"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf(`request body: want JSON {"org": "acme", "role": "duty_officer", "channel": "voice", "deadline": "10m"}: %v`, err))
		return
	}
	if b.Role == "" {
		b.Role = duty.RoleDutyOfficer
	}
	if s.opts.People == nil {
		writeError(w, http.StatusNotFound, errors.New("spot checks need the directory"))
		return
	}
	org, ok := s.opts.People.Org(b.Org)
	if !ok {
		writeError(w, http.StatusBadRequest, fmt.Errorf("org: %q is not an organisation of the directory", b.Org))
		return
	}
	channels := sc.Channels
	if b.Channel != "" {
		if !slices.Contains(sc.Known, b.Channel) {
			writeError(w, http.StatusBadRequest, fmt.Errorf("channel: %q is not a configured channel (%v)", b.Channel, sc.Known))
			return
		}
		channels = []string{b.Channel}
	}
	if len(channels) == 0 {
		writeError(w, http.StatusBadRequest, errors.New("channel: required (spot_checks.on_demand.channels is not configured)"))
		return
	}
	deadline := cmpOr(sc.Deadline, spotcheck.DefaultDeadline)
	if b.Deadline != "" {
		d, err := time.ParseDuration(b.Deadline)
		if err != nil || d < time.Minute || d > 24*time.Hour {
			writeError(w, http.StatusBadRequest, fmt.Errorf("deadline: want a duration from 1m to 24h such as \"10m\", got %q", b.Deadline))
			return
		}
		deadline = d
	}
	roles := []string{b.Role}
	for _, r := range sc.EscalateTo {
		if !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	now := s.opts.Now()
	by := ActorFrom(r)
	if by == "" {
		by = "api"
	}
	c := store.SpotCheck{Key: "demand/" + strconv.FormatInt(now.UnixNano(), 36) + "-" + hex.EncodeToString(nonce[:]),
		Org: org.ID, OrgName: org.Name, Region: orgRegion(s.opts.People, org.ID), Roles: roles, Channels: channels, Deadline: deadline,
		DueAt: now, RequestedBy: by, CreatedAt: now}
	if _, err := s.opts.SpotChecks.Start.StartCheck(r.Context(), &c); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, viewSpotCheck(c))
}

// orgRegion is the region of an organisation or of its nearest ancestor
// with one.
func orgRegion(p People, org string) string {
	for _, o := range p.Ancestors(org) {
		if o.Region != "" {
			return o.Region
		}
	}
	return ""
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// listSpotChecks is GET /api/v1/spot-checks?from=&to=&org=: the checks
// due in the period (RFC 3339 times or dates; default today, midnight to
// midnight where reports are read), by when they were due.
func (s *Server) listSpotChecks(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now().In(s.opts.Location)
	y, m, d := now.Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, s.opts.Location)
	to := from.AddDate(0, 0, 1)
	q := r.URL.Query()
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			if t, err = time.ParseInLocation(time.DateOnly, v, s.opts.Location); err != nil {
				writeError(w, http.StatusBadRequest, fmt.Errorf("%s: want an RFC 3339 time or a date such as 2026-07-01, got %q", p.name, v))
				return
			}
		}
		*p.t = t
	}
	if !from.Before(to) {
		writeError(w, http.StatusBadRequest, fmt.Errorf("from: %s is not before to %s", from.Format(time.RFC3339), to.Format(time.RFC3339)))
		return
	}
	list, err := s.opts.SpotChecks.Store.SpotChecks(r.Context(), store.SpotCheckFilter{From: from, To: to, Org: q.Get("org")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]spotCheckView, 0, len(list))
	for _, c := range list {
		v := viewSpotCheck(c)
		if v.Calls, err = s.opts.SpotChecks.Store.CallsOfSpotCheck(r.Context(), c.ID); err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
}

// buildSpotCheckReport counts the checks due in [from, to) by org,
// parent or region (spotcheck.Build).
func (s *Server) buildSpotCheckReport(ctx context.Context, from, to time.Time, by string) (spotcheck.Report, error) {
	list, err := s.opts.SpotChecks.Store.SpotChecks(ctx, store.SpotCheckFilter{From: from, To: to, Limit: -1})
	if err != nil {
		return spotcheck.Report{}, err
	}
	parent := func(org string) (string, string) {
		if s.opts.People == nil {
			return "", ""
		}
		o, ok := s.opts.People.Org(org)
		if !ok || o.Parent == "" {
			return "", ""
		}
		p, _ := s.opts.People.Org(o.Parent)
		return o.Parent, p.Name
	}
	return spotcheck.Build(list, from, to, by, parent), nil
}

// spotCheckReport is GET /api/v1/reports/spot-checks?from=&to=&by=org|parent|region.
func (s *Server) spotCheckReport(w http.ResponseWriter, r *http.Request) {
	if rep, _, ok := loadReport(s, w, r, spotcheck.Groupings, "org", s.buildSpotCheckReport); ok {
		writeJSON(w, http.StatusOK, rep)
	}
}

// spotCheckReportCSV is the same report as CSV: one line per group and a
// total line.
func (s *Server) spotCheckReportCSV(w http.ResponseWriter, r *http.Request) {
	rep, q, ok := loadReport(s, w, r, spotcheck.Groupings, "org", s.buildSpotCheckReport)
	if !ok {
		return
	}
	cw := csvDownload(w, "spot-checks-"+q.by+"-"+q.from.In(s.opts.Location).Format("20060102"))
	_ = cw.Write([]string{q.by, "name", "checks", "on_duty", "escalated", "missed", "on_duty_rate", "median_answer_seconds", "max_answer_seconds"})
	for _, row := range append(rep.Rows, rep.Total) {
		_ = cw.Write([]string{row.Key, row.Name, strconv.Itoa(row.Checks), strconv.Itoa(row.OnDuty), strconv.Itoa(row.Escalated),
			strconv.Itoa(row.Missed), optFloat(row.Rate, 4), optFloat(row.Median, 1), optFloat(row.Max, 1)})
	}
	cw.Flush()
}
