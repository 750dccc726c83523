package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/audit"
	"yujing/duty"
	"yujing/sitestatus"
	"yujing/store/sqlite"
	"yujing/web"
)

// TestSitesAndRosterAudit: GET /api/v1/sites lists every site with the
// organisation running it (a hazard source inside a plant: the plant's)
// and its production status, normal until one is set and then who set
// it, when and why; a roster changed through the API is in the audit log
// with who, the roster's path and the new rotation, and a refused change
// is not.
func TestSitesAndRosterAudit(t *testing.T) {
	st, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	sites := []yujing.Site{{ID: "plant-a", Name: "A厂", Region: "320115"}, {ID: "tank-farm", Name: "液化烃罐区", Parent: "plant-a"}, {ID: "station", Name: "雨量站"}}
	book, err := duty.NewBook(duty.Spec{Location: loc, Sites: sites,
		Orgs:   []duty.Org{{ID: "acme", Name: "某化工有限公司", Kind: "enterprise", Sites: []string{"plant-a"}}},
		People: []yujing.Person{{ID: "zhang", Name: "张伟", Org: "acme"}, {ID: "li", Name: "李娜", Org: "acme"}}}, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := book.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	board, err := sitestatus.Open(t.Context(), st, func(id string) bool { _, ok := book.Current().Site(id); return ok }, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := web.NewAudit(st.AuditLog(), web.AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(web.New(web.Options{Alerts: fakeAlerts{}, Directory: book, SiteStatuses: board, Audit: a}).Handler())
	defer hs.Close()
	list := func() map[string]map[string]any {
		t.Helper()
		resp, err := http.Get(hs.URL + "/api/v1/sites")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var vs []map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&vs); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET /api/v1/sites: %d %v", resp.StatusCode, err)
		}
		out := map[string]map[string]any{}
		for _, v := range vs {
			out[v["id"].(string)] = v
		}
		return out
	}
	got := list()
	for _, c := range []struct{ site, field, want string }{
		{"plant-a", "name", "A厂"}, {"plant-a", "org_name", "某化工有限公司"}, {"plant-a", "status", "normal"},
		{"tank-farm", "org", "acme"}, {"tank-farm", "region", "320115"}, {"tank-farm", "parent", "plant-a"},
		{"station", "status", "normal"},
	} {
		if v, _ := got[c.site][c.field].(string); v != c.want {
			t.Errorf("site %s: %s = %q, want %q (%v)", c.site, c.field, v, c.want, got[c.site])
		}
	}
	if _, ok := got["station"]["org"]; ok || len(got) != 3 {
		t.Errorf("sites: %v, want 3 and no org for the station", got)
	}

	for _, c := range []apiCall{
		{"stop the plant", "PUT", "/api/v1/sites/plant-a/status", `{"status": "ordered_stopped", "reason": "某应急停字〔2026〕12号", "by": "admin"}`, 200, nil},
		{"a roster", "PUT", "/api/v1/rosters/acme/duty_officer", `{"shifts": ["08:00"], "start": "2026-01-01", "rotation": ["zhang", "li"]}`, 201, nil},
		{"a refused roster", "PUT", "/api/v1/rosters/acme/duty_officer", `{"shifts": ["08:00"], "start": "2026-01-01", "rotation": ["zhang", "nobody"]}`, 400,
			[]string{`"field":"rotation[1]"`}},
	} {
		c.run(t, hs.URL)
	}
	p := list()["plant-a"]
	if p["status"] != "ordered_stopped" || p["status_by"] != "admin" || p["status_reason"] != "某应急停字〔2026〕12号" || p["status_since"] == nil {
		t.Errorf("plant-a after the change: %v", p)
	}
	es, err := st.AuditLog().List(t.Context(), audit.Filter{Action: "/api/v1/rosters/"})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Action != "PUT /api/v1/rosters/{org}/{role}" || es[0].Object != "/api/v1/rosters/acme/duty_officer" ||
		!strings.Contains(es[0].Detail, `"rotation":["zhang","li"]`) {
		t.Errorf("the roster's audit entries: %+v, want the one accepted change", es)
	}
	resp, err := http.Get(hs.URL + "/api/v1/rosters/acme/duty_officer")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"rotation":["zhang","li"]`) {
		t.Errorf("the roster after the refused change: %s", b)
	}
}
