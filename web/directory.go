package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"yujing"
	"yujing/duty"
)

// Directory is what the directory API needs: the directory in force and
// its editing (a *duty.Book). Every change is checked like the
// configuration and persisted before it takes effect.
type Directory interface {
	Current() *duty.Directory
	PutPerson(ctx context.Context, p yujing.Person) (created bool, err error)
	CreatePerson(ctx context.Context, p yujing.Person) error
	DeletePerson(ctx context.Context, id string) error
	PutOrg(ctx context.Context, o duty.Org) (created bool, err error)
	CreateOrg(ctx context.Context, o duty.Org) error
	DeleteOrg(ctx context.Context, id string) error
	PutResponsibility(ctx context.Context, r duty.Responsibility) (created bool, err error)
	DeleteResponsibility(ctx context.Context, key string) error
	PutRoster(ctx context.Context, r duty.Roster) (created bool, err error)
	DeleteRoster(ctx context.Context, org, role string) error
}

// directoryRoutes serves people, organisations, responsibility chains,
// rosters and who is on duty:
//
//	GET    /api/v1/people                    POST a person
//	GET    /api/v1/people/{id}               PUT, DELETE
//	GET    /api/v1/orgs                      POST an organisation
//	GET    /api/v1/orgs/{id}                 PUT, DELETE
//	GET    /api/v1/rosters
//	GET    /api/v1/rosters/{org}/{role}      PUT, DELETE
//	GET    /api/v1/responsibility
//	GET    /api/v1/responsibility/{key}      PUT, DELETE (key: a site id or region:<code>)
//	GET    /api/v1/duty?at=RFC3339           every roster's holders (default now)
//	GET    /api/v1/sites/{id}/chain?at=      the site's responsibility chain
//	GET    /api/v1/sites                     every site, its region, its organisation and its production status
func (s *Server) directoryRoutes() {
	m := s.mux
	m.HandleFunc("GET /api/v1/people", s.dir(s.listPeople))
	m.HandleFunc("POST /api/v1/people", s.dir(s.createPerson))
	m.HandleFunc("GET /api/v1/people/{id}", s.dir(s.getPerson))
	m.HandleFunc("PUT /api/v1/people/{id}", s.dir(s.putPerson))
	m.HandleFunc("DELETE /api/v1/people/{id}", s.dir(func(w http.ResponseWriter, r *http.Request, d Directory) {
		s.dirDone(w, r, d.DeletePerson(r.Context(), r.PathValue("id")))
	}))
	m.HandleFunc("GET /api/v1/orgs", s.dir(s.listOrgs))
	m.HandleFunc("POST /api/v1/orgs", s.dir(s.createOrg))
	m.HandleFunc("GET /api/v1/orgs/{id}", s.dir(s.getOrg))
	m.HandleFunc("PUT /api/v1/orgs/{id}", s.dir(s.putOrg))
	m.HandleFunc("DELETE /api/v1/orgs/{id}", s.dir(func(w http.ResponseWriter, r *http.Request, d Directory) {
		s.dirDone(w, r, d.DeleteOrg(r.Context(), r.PathValue("id")))
	}))
	m.HandleFunc("GET /api/v1/rosters", s.dir(func(w http.ResponseWriter, r *http.Request, d Directory) {
		writeJSON(w, http.StatusOK, nonNil(d.Current().Rosters()))
	}))
	m.HandleFunc("GET /api/v1/rosters/{org}/{role}", s.dir(s.getRoster))
	m.HandleFunc("PUT /api/v1/rosters/{org}/{role}", s.dir(s.putRoster))
	m.HandleFunc("DELETE /api/v1/rosters/{org}/{role}", s.dir(func(w http.ResponseWriter, r *http.Request, d Directory) {
		s.dirDone(w, r, d.DeleteRoster(r.Context(), r.PathValue("org"), r.PathValue("role")))
	}))
	m.HandleFunc("GET /api/v1/responsibility", s.dir(func(w http.ResponseWriter, r *http.Request, d Directory) {
		writeJSON(w, http.StatusOK, nonNil(d.Current().Responsibilities()))
	}))
	m.HandleFunc("GET /api/v1/responsibility/{key}", s.dir(s.getResponsibility))
	m.HandleFunc("PUT /api/v1/responsibility/{key}", s.dir(s.putResponsibility))
	m.HandleFunc("DELETE /api/v1/responsibility/{key}", s.dir(func(w http.ResponseWriter, r *http.Request, d Directory) {
		s.dirDone(w, r, d.DeleteResponsibility(r.Context(), r.PathValue("key")))
	}))
	m.HandleFunc("GET /api/v1/duty", s.dir(s.duty))
	m.HandleFunc("GET /api/v1/sites/{id}/chain", s.dir(s.chain))
	m.HandleFunc("GET /api/v1/sites", s.dir(s.sites))
}

// dir hands the request to h with the directory, or answers 404 when the
// server has none.
func (s *Server) dir(h func(http.ResponseWriter, *http.Request, Directory)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Directory == nil {
			writeError(w, http.StatusNotFound, errors.New("the directory of people and rosters is not offered here"))
			return
		}
		h(w, r, s.opts.Directory)
	}
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// problemBody is one problem of a refused change.
type problemBody struct {
	Kind    string `json:"kind"`
	ID      string `json:"id,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// dirFail answers a directory error: 400 with every problem (and the
// field it concerns) for a change that does not pass the checks, 404 for
// an unknown entry, 409 for an id taken or an entry still referenced.
func (s *Server) dirFail(w http.ResponseWriter, r *http.Request, err error) {
	var ps duty.Problems
	switch {
	case errors.Is(err, duty.ErrInUse):
		writeError(w, http.StatusConflict, err)
	case errors.As(err, &ps):
		body := make([]problemBody, len(ps))
		for i, p := range ps {
			body[i] = problemBody{Kind: p.Kind, ID: p.ID, Field: p.Field, Message: p.Msg}
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error(), "problems": body})
	case errors.Is(err, duty.ErrNotFound):
		writeError(w, http.StatusNotFound, err)
	case errors.Is(err, duty.ErrExists):
		writeError(w, http.StatusConflict, err)
	default:
		s.opts.Logger.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, err)
	}
}

// dirDone answers a delete.
func (s *Server) dirDone(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		s.dirFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// decodeBody reads a JSON body strictly into v.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 256<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("request body: %v", err))
		return false
	}
	return true
}

// samePath fills a key field of the body from the URL, refusing a body
// that names another.
func samePath(w http.ResponseWriter, field string, body *string, url string) bool {
	if *body != "" && *body != url {
		writeError(w, http.StatusBadRequest, fmt.Errorf("%s: the body says %q but the URL says %q", field, *body, url))
		return false
	}
	*body = url
	return true
}

func putStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

// personView is a person with the region of their organisation.
type personView struct {
	yujing.Person
	Region string `json:"region,omitempty"`
}

func (s *Server) listPeople(w http.ResponseWriter, r *http.Request, d Directory) {
	cur := d.Current()
	out := []personView{}
	for _, p := range cur.People() {
		out = append(out, personView{p, cur.PersonRegion(p.ID)})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getPerson(w http.ResponseWriter, r *http.Request, d Directory) {
	cur, id := d.Current(), r.PathValue("id")
	p, ok := cur.Person(id)
	if !ok {
		s.dirFail(w, r, fmt.Errorf("person %s: %w", id, duty.ErrNotFound))
		return
	}
	writeJSON(w, http.StatusOK, personView{p, cur.PersonRegion(id)})
}

func (s *Server) createPerson(w http.ResponseWriter, r *http.Request, d Directory) {
	var p yujing.Person
	if !decodeBody(w, r, &p) {
		return
	}
	if err := d.CreatePerson(r.Context(), p); err != nil {
		s.dirFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, personView{p, d.Current().PersonRegion(p.ID)})
}

func (s *Server) putPerson(w http.ResponseWriter, r *http.Request, d Directory) {
	var p yujing.Person
	if !decodeBody(w, r, &p) || !samePath(w, "id", &p.ID, r.PathValue("id")) {
		return
	}
	created, err := d.PutPerson(r.Context(), p)
	if err != nil {
		s.dirFail(w, r, err)
		return
	}
	writeJSON(w, putStatus(created), personView{p, d.Current().PersonRegion(p.ID)})
}

// orgView is an organisation with its ancestors' ids, nearest first.
type orgView struct {
	duty.Org
	Ancestors []string `json:"ancestors"`
}

func viewOrg(cur *duty.Directory, o duty.Org) orgView {
	v := orgView{Org: o, Ancestors: []string{}}
	for i, a := range cur.Ancestors(o.ID) {
		if i > 0 {
			v.Ancestors = append(v.Ancestors, a.ID)
		}
	}
	return v
}

func (s *Server) listOrgs(w http.ResponseWriter, r *http.Request, d Directory) {
	cur := d.Current()
	out := []orgView{}
	for _, o := range cur.Orgs() {
		out = append(out, viewOrg(cur, o))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getOrg(w http.ResponseWriter, r *http.Request, d Directory) {
	cur, id := d.Current(), r.PathValue("id")
	o, ok := cur.Org(id)
	if !ok {
		s.dirFail(w, r, fmt.Errorf("org %s: %w", id, duty.ErrNotFound))
		return
	}
	writeJSON(w, http.StatusOK, viewOrg(cur, o))
}

func (s *Server) createOrg(w http.ResponseWriter, r *http.Request, d Directory) {
	var o duty.Org
	if !decodeBody(w, r, &o) {
		return
	}
	if err := d.CreateOrg(r.Context(), o); err != nil {
		s.dirFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, viewOrg(d.Current(), o))
}

func (s *Server) putOrg(w http.ResponseWriter, r *http.Request, d Directory) {
	var o duty.Org
	if !decodeBody(w, r, &o) || !samePath(w, "id", &o.ID, r.PathValue("id")) {
		return
	}
	created, err := d.PutOrg(r.Context(), o)
	if err != nil {
		s.dirFail(w, r, err)
		return
	}
	writeJSON(w, putStatus(created), viewOrg(d.Current(), o))
}

func (s *Server) getRoster(w http.ResponseWriter, r *http.Request, d Directory) {
	org, role := r.PathValue("org"), r.PathValue("role")
	ro, ok := d.Current().Roster(org, role)
	if !ok {
		s.dirFail(w, r, fmt.Errorf("roster %s/%s: %w", org, role, duty.ErrNotFound))
		return
	}
	writeJSON(w, http.StatusOK, ro)
}

func (s *Server) putRoster(w http.ResponseWriter, r *http.Request, d Directory) {
	var ro duty.Roster
	if !decodeBody(w, r, &ro) || !samePath(w, "org", &ro.Org, r.PathValue("org")) || !samePath(w, "role", &ro.Role, r.PathValue("role")) {
		return
	}
	created, err := d.PutRoster(r.Context(), ro)
	if err != nil {
		s.dirFail(w, r, err)
		return
	}
	writeJSON(w, putStatus(created), ro)
}

func (s *Server) getResponsibility(w http.ResponseWriter, r *http.Request, d Directory) {
	key := r.PathValue("key")
	re, ok := d.Current().Responsibility(key)
	if !ok {
		s.dirFail(w, r, fmt.Errorf("responsibility %s: %w", key, duty.ErrNotFound))
		return
	}
	writeJSON(w, http.StatusOK, re)
}

func (s *Server) putResponsibility(w http.ResponseWriter, r *http.Request, d Directory) {
	var re duty.Responsibility
	if !decodeBody(w, r, &re) {
		return
	}
	key := r.PathValue("key")
	if code, ok := strings.CutPrefix(key, "region:"); ok {
		if re.Site != "" {
			writeError(w, http.StatusBadRequest, fmt.Errorf("site: the URL names region %s; leave site out", code))
			return
		}
		if !samePath(w, "region", &re.Region, code) {
			return
		}
	} else {
		if re.Region != "" {
			writeError(w, http.StatusBadRequest, fmt.Errorf("region: the URL names site %s; leave region out (or PUT /api/v1/responsibility/region:%s)", key, re.Region))
			return
		}
		if !samePath(w, "site", &re.Site, key) {
			return
		}
	}
	created, err := d.PutResponsibility(r.Context(), re)
	if err != nil {
		s.dirFail(w, r, err)
		return
	}
	writeJSON(w, putStatus(created), re)
}

// atParam reads ?at= (RFC 3339), default now.
func (s *Server) atParam(w http.ResponseWriter, r *http.Request) (time.Time, bool) {
	v := r.URL.Query().Get("at")
	if v == "" {
		return s.opts.Now(), true
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("at: want an RFC 3339 time such as 2026-10-01T08:00:00+08:00, got %q", v))
		return time.Time{}, false
	}
	return t, true
}

func (s *Server) duty(w http.ResponseWriter, r *http.Request, d Directory) {
	at, ok := s.atParam(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"at": at, "rosters": d.Current().Duty(at)})
}

// siteChain is a site's responsibility chain at a time.
type siteChain struct {
	Site   string      `json:"site"`
	Region string      `json:"region,omitempty"`
	At     time.Time   `json:"at"`
	Chain  []duty.Link `json:"chain"`
}

func (s *Server) chain(w http.ResponseWriter, r *http.Request, d Directory) {
	at, ok := s.atParam(w, r)
	if !ok {
		return
	}
	cur, id := d.Current(), r.PathValue("id")
	if _, ok := cur.Site(id); !ok {
		writeError(w, http.StatusNotFound, fmt.Errorf("site %s: %w", id, duty.ErrNotFound))
		return
	}
	writeJSON(w, http.StatusOK, siteChain{Site: id, Region: cur.SiteRegion(id), At: at, Chain: nonNil(cur.Chain(id, at))})
}

// siteView is a site with where it is, who runs it and its production
// status (normal unless one was set).
type siteView struct {
	yujing.Site
	Region  string                  `json:"region,omitempty"` // its own, else its organisation's or parent's
	Org     string                  `json:"org,omitempty"`
	OrgName string                  `json:"org_name,omitempty"`
	Status  yujing.ProductionStatus `json:"status"`
	// StatusSince, StatusBy and StatusReason say when, by whom and why
	// the status was set; empty while it never was.
	StatusSince *time.Time `json:"status_since,omitempty"`
	StatusBy    string     `json:"status_by,omitempty"`
	Reason      string     `json:"status_reason,omitempty"`
}

// sites answers GET /api/v1/sites.
func (s *Server) sites(w http.ResponseWriter, r *http.Request, d Directory) {
	cur := d.Current()
	out := []siteView{}
	for _, site := range cur.Sites() {
		v := siteView{Site: site, Region: cur.SiteRegion(site.ID), Org: cur.SiteOrg(site.ID), Status: yujing.StatusNormal}
		if o, ok := cur.Org(v.Org); ok {
			v.OrgName = o.Name
		}
		if s.opts.SiteStatuses != nil {
			if st, ok := s.opts.SiteStatuses.Get(site.ID); ok {
				since := st.Since
				v.Status, v.StatusSince, v.StatusBy, v.Reason = st.Status, &since, st.By, st.Reason
			}
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
}
