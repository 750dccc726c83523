package web_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"yujing"
	"yujing/audit"
	"yujing/sitestatus"
	"yujing/store/sqlite"
	"yujing/web"
)

// TestSiteStatusAPI sets a site's production status over PUT
// /api/v1/sites/{id}/status: the change is in GET …/status with who and
// why, in the list of statuses set, and in the audit log with its body; a
// bad change is refused with 400 and not recorded.
func TestSiteStatusAPI(t *testing.T) {
	st, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	board, err := sitestatus.Open(t.Context(), st, func(site string) bool { return site == "mine" }, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := web.NewAudit(st.AuditLog(), web.AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.New(web.Options{Alerts: &auditAlerts{}, SiteStatuses: board, Audit: a,
		Logger: slog.New(slog.DiscardHandler)}).Handler())
	defer srv.Close()
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		body string
		code int
		want string
	}{
		{`{"status": "ordered_stopped", "reason": "某应急停字〔2026〕12号", "by": "li"}`, 200, `"status_zh":"责令停产停业"`},
		{`{"status": "stopped", "reason": "x", "by": "li"}`, 400, `status \"stopped\": want one of`},
		{`{"status": "normal", "by": "li"}`, 400, "reason: why"},
		{`{"status": "normal", "reason": "x", "by": "li", "extra": 1}`, 400, "unknown field"},
	} {
		if code, body := do("PUT", "/api/v1/sites/mine/status", c.body); code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("PUT %s: %d %s; want %d and %s", c.body, code, body, c.code, c.want)
		}
	}
	if code, body := do("PUT", "/api/v1/sites/nowhere/status", `{"status": "normal", "reason": "x", "by": "li"}`); code != 400 || !strings.Contains(body, `site \"nowhere\" is not defined`) {
		t.Errorf("unknown site: %d %s", code, body)
	}
	code, body := do("GET", "/api/v1/sites/mine/status", "")
	var v struct {
		yujing.SiteStatus
		History []yujing.SiteStatus `json:"history"`
	}
	if err := json.Unmarshal([]byte(body), &v); code != 200 || err != nil || v.Status != yujing.StatusOrderedStopped ||
		v.By != "li" || v.Reason != "某应急停字〔2026〕12号" || len(v.History) != 1 {
		t.Errorf("GET status: %d %s (%v)", code, body, err)
	}
	if code, body := do("GET", "/api/v1/sites/other/status", ""); code != 200 || !strings.Contains(body, `"status":"normal"`) {
		t.Errorf("a site never set: %d %s", code, body)
	}
	if code, body := do("GET", "/api/v1/sites/status", ""); code != 200 || !strings.Contains(body, `"site":"mine"`) {
		t.Errorf("list: %d %s", code, body)
	}
	es, err := st.AuditLog().List(t.Context(), audit.Filter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Action != "PUT /api/v1/sites/{id}/status" || es[0].Actor != "li" ||
		!strings.Contains(es[0].Detail, "某应急停字〔2026〕12号") {
		t.Errorf("audit log: %+v, want the one change with who and why", es)
	}
}
