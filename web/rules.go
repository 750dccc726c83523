package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/replay"
)

// RulePreviews tells what a rule would have raised over the last days
// with other numbers (a *replay.Previewer).
type RulePreviews interface {
	Preview(ctx context.Context, name string, ch replay.Change) (replay.PreviewResult, error)
}

// rule answers GET /api/v1/rules/{name}: the rule's status, its numbers
// and the sensors it applies to now.
func (s *Server) rule(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if s.opts.Rules == nil {
		writeError(w, http.StatusNotFound, fmt.Errorf("rule %q: no rules here", name))
		return
	}
	d, ok := s.opts.Rules.RuleDetail(name)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Errorf("rule %q: no such rule", name))
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// previewBody is a preview's request: the numbers to try, by level name
// (red, orange, yellow, blue) and as durations (30s, 5m); a field left
// out keeps the rule's, an empty {} removes its tiers.
type previewBody struct {
	Above      map[string]float64 `json:"above"`
	Below      map[string]float64 `json:"below"`
	Clear      map[string]float64 `json:"clear"`
	Hysteresis *float64           `json:"hysteresis"`
	For        *string            `json:"for"`
	ClearFor   *string            `json:"clear_for"`
}

// change checks the body and turns it into a replay.Change; the error
// names the field.
func (b previewBody) change() (replay.Change, error) {
	var ch replay.Change
	for _, x := range []struct {
		name string
		in   map[string]float64
		out  **alerting.Tiers
	}{{"above", b.Above, &ch.Above}, {"below", b.Below, &ch.Below}, {"clear", b.Clear, &ch.Clear}} {
		if x.in == nil {
			continue
		}
		t := &alerting.Tiers{}
		for name, v := range x.in {
			l, err := yujing.ParseLevel(name)
			if err != nil {
				return ch, fmt.Errorf("%s: %q is not a level (red, orange, yellow, blue)", x.name, name)
			}
			t.Value[l], t.Set[l] = v, true
		}
		*x.out = t
	}
	if b.Hysteresis != nil && *b.Hysteresis < 0 {
		return ch, fmt.Errorf("hysteresis: %g is below 0", *b.Hysteresis)
	}
	ch.Hysteresis = b.Hysteresis
	for _, x := range []struct {
		name string
		in   *string
		out  **time.Duration
	}{{"for", b.For, &ch.For}, {"clear_for", b.ClearFor, &ch.ClearFor}} {
		if x.in == nil {
			continue
		}
		d := time.Duration(0)
		if *x.in != "" {
			var err error
			if d, err = time.ParseDuration(*x.in); err != nil || d < 0 {
				return ch, fmt.Errorf("%s: want a duration such as 30s or 5m, got %q", x.name, *x.in)
			}
		}
		*x.out = &d
	}
	return ch, nil
}

// previewRule answers POST /api/v1/rules/{name}/preview: what the rule
// would have raised over the last replay.PreviewWindow with the numbers
// of the body, beside what it raises as it is from the same readings and
// what it actually raised. It changes nothing.
func (s *Server) previewRule(w http.ResponseWriter, r *http.Request) {
	if s.opts.Previews == nil {
		writeError(w, http.StatusNotFound, errors.New("rule previews are not offered here"))
		return
	}
	var b previewBody
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf(`request body: want JSON {"above": {"red": 50, ...}, "hysteresis": 2, "for": "30s"}: %v`, err))
		return
	}
	ch, err := b.change()
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	res, err := s.opts.Previews.Preview(r.Context(), r.PathValue("name"), ch)
	switch {
	case errors.Is(err, replay.ErrUnknownRule):
		writeError(w, http.StatusNotFound, err)
	case errors.Is(err, replay.ErrNotPreviewable), errors.Is(err, replay.ErrInvalidChange):
		writeError(w, http.StatusBadRequest, err)
	case err != nil:
		s.fail(w, r, err)
	default:
		writeJSON(w, http.StatusOK, res)
	}
}
