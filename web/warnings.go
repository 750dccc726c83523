package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"yujing/alerting/issued/capwarn"
	"yujing/cap"
)

// CAPIntake applies issued warnings in CAP 1.2 (capwarn.Intake).
type CAPIntake interface {
	Accept(ctx context.Context, doc []byte) (capwarn.Result, error)
}

// capAnswer is the answer of POST /api/v1/warnings/cap.
type capAnswer struct {
	capwarn.Result
	AlertIDs []int64 `json:"alert_ids"`
}

// postCAP answers POST /api/v1/warnings/cap: a CAP 1.2 document
// (application/cap+xml or application/xml) becomes warnings. 202 with the
// alert ids when it changed something; 200 when it changed nothing (a
// repeat, a Test or Exercise message); 400 naming the element for a
// document refused; 415 for another content type.
func (s *Server) postCAP(w http.ResponseWriter, r *http.Request) {
	if s.opts.CAP == nil {
		writeError(w, http.StatusNotFound, errors.New("CAP intake is not configured"))
		return
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (ct != "application/cap+xml" && ct != "application/xml") {
		writeError(w, http.StatusUnsupportedMediaType, fmt.Errorf("content type %q: send a CAP 1.2 document as application/cap+xml or application/xml", r.Header.Get("Content-Type")))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, cap.MaxSize))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("CAP document: %w (at most %d bytes)", err, cap.MaxSize))
		return
	}
	res, err := s.opts.CAP.Accept(r.Context(), body)
	if errors.Is(err, capwarn.ErrBadDocument) {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if err != nil {
		s.opts.Logger.Error("CAP document not applied", "err", err)
		writeError(w, http.StatusInternalServerError, errors.New("the CAP document was not applied; send it again"))
		return
	}
	code := http.StatusAccepted
	if res.Ignored != "" {
		code = http.StatusOK
	}
	writeJSON(w, code, capAnswer{Result: res, AlertIDs: res.AlertIDs()})
}
