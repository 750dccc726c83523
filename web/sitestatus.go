package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"yujing"
	"yujing/sitestatus"
)

// SiteStatuses keeps sites' production statuses (a *sitestatus.Board).
type SiteStatuses interface {
	All() []yujing.SiteStatus
	Get(site string) (yujing.SiteStatus, bool)
	History(ctx context.Context, site string, limit int) ([]yujing.SiteStatus, error)
	Set(ctx context.Context, site string, status yujing.ProductionStatus, by, reason string) (yujing.SiteStatus, error)
}

// siteStatusHistory is how many changes GET /api/v1/sites/{id}/status shows.
const siteStatusHistory = 100

func (s *Server) siteStatusRoutes() {
	m := s.mux
	m.HandleFunc("GET /api/v1/sites/status", s.siteStatuses)
	m.HandleFunc("GET /api/v1/sites/{id}/status", s.siteStatus)
	m.HandleFunc("PUT /api/v1/sites/{id}/status", s.putSiteStatus)
}

// siteStatusView is a site's status now and its changes, newest first.
type siteStatusView struct {
	yujing.SiteStatus
	StatusZH string              `json:"status_zh"`
	History  []yujing.SiteStatus `json:"history"`
}

// siteStatuses lists the statuses set (a site not listed is normal).
func (s *Server) siteStatuses(w http.ResponseWriter, r *http.Request) {
	if s.opts.SiteStatuses == nil {
		writeJSON(w, http.StatusOK, []yujing.SiteStatus{})
		return
	}
	writeJSON(w, http.StatusOK, nonNil(s.opts.SiteStatuses.All()))
}

func (s *Server) siteStatus(w http.ResponseWriter, r *http.Request) {
	if s.opts.SiteStatuses == nil {
		writeError(w, http.StatusNotFound, errors.New("site statuses are not offered here"))
		return
	}
	id := r.PathValue("id")
	cur, ok := s.opts.SiteStatuses.Get(id)
	if !ok {
		cur = yujing.SiteStatus{Site: id, Status: yujing.StatusNormal}
	}
	h, err := s.opts.SiteStatuses.History(r.Context(), id, siteStatusHistory)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, siteStatusView{SiteStatus: cur, StatusZH: cur.Status.Chinese(), History: nonNil(h)})
}

// putSiteStatus sets a site's production status: {"status":
// "ordered_stopped", "reason": "…"}; who set it is the user logged in
// (else the body's "by"). The audit log keeps the request.
func (s *Server) putSiteStatus(w http.ResponseWriter, r *http.Request) {
	if s.opts.SiteStatuses == nil {
		writeError(w, http.StatusNotFound, errors.New("site statuses are not offered here"))
		return
	}
	var b struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
		By     string `json:"by"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("request body: want JSON {\"status\": \"ordered_stopped\", \"reason\": \"...\"}: %v", err))
		return
	}
	if u := ActorFrom(r); u != "" {
		b.By = u // who logged in, not who the body names
	}
	st, err := s.opts.SiteStatuses.Set(r.Context(), r.PathValue("id"), yujing.ProductionStatus(b.Status), b.By, b.Reason)
	switch {
	case errors.Is(err, sitestatus.ErrInvalid):
		writeError(w, http.StatusBadRequest, err)
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, siteStatusView{SiteStatus: st, StatusZH: st.Status.Chinese()})
}
