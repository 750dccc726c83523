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
	"yujing/duty"
	"yujing/store/sqlite"
	"yujing/web"
)

// directoryServer serves a Book on a real state database at path, built
// from a small configuration: plant-a run by acme, under the Nanjing
// bureau, and one person.
func directoryServer(t *testing.T, path string) *httptest.Server {
	t.Helper()
	st, err := sqlite.OpenState(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	book, err := duty.NewBook(duty.Spec{
		Location: loc,
		Sites:    []yujing.Site{{ID: "plant-a", Name: "A厂", Region: "320115"}},
		Orgs: []duty.Org{
			{ID: "nj", Name: "南京市应急管理局", Kind: "city", Region: "320100"},
			{ID: "acme", Name: "某化工有限公司", Kind: "enterprise", Parent: "nj", Sites: []string{"plant-a"}},
		},
		People: []yujing.Person{{ID: "zhang", Name: "张伟", Org: "acme", Phone: "+8613800000001"}},
	}, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := book.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(web.New(web.Options{Alerts: fakeAlerts{}, Directory: book}).Handler())
	t.Cleanup(hs.Close)
	return hs
}

type apiCall struct {
	name, method, path, body string
	code                     int
	want                     []string // pieces the response body must hold
}

func (c apiCall) run(t *testing.T, base string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), c.method, base+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != c.code {
		t.Fatalf("%s %s: %d %s, want %d", c.method, c.path, resp.StatusCode, b, c.code)
	}
	for _, w := range c.want {
		if !strings.Contains(string(b), w) {
			t.Errorf("%s %s: %s\nwant it to hold %s", c.method, c.path, b, w)
		}
	}
}

const rosterBody = `{"timezone": "Asia/Shanghai", "shifts": ["08:00", "20:00"], "start": "2026-01-01",
	"rotation": ["zhang", ["li"]],
	"overrides": [{"from": "2026-10-01 08:00", "to": "2026-10-08 08:00", "people": ["zhang", "li"], "note": "国庆假期"}]}`

// TestDirectoryAPI creates a person and a roster through the API and reads
// who is on duty at two times, the chain of the site, and the refusals.
func TestDirectoryAPI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	hs := directoryServer(t, path)
	for _, c := range []apiCall{
		{"create a person", "POST", "/api/v1/people", `{"id": "li", "name": "李娜", "org": "acme", "phone": "+8613800000002"}`, 201,
			[]string{`"id":"li"`, `"region":"320100"`}},
		{"the person is listed", "GET", "/api/v1/people", "", 200, []string{`"id":"zhang"`, `"id":"li"`}},
		{"the same id again", "POST", "/api/v1/people", `{"id": "li", "name": "李娜"}`, 409, []string{"person li: already exists"}},
		{"an unknown org", "POST", "/api/v1/people", `{"id": "qian", "name": "钱", "org": "acme-ltd"}`, 400,
			[]string{`"field":"org"`, `org \"acme-ltd\" is not defined under orgs`}},
		{"an unknown field", "POST", "/api/v1/people", `{"id": "qian", "name": "钱", "mobile": "1"}`, 400, []string{`unknown field \"mobile\"`}},
		{"the URL and the body disagree", "PUT", "/api/v1/people/qian", `{"id": "zhao", "name": "赵"}`, 400,
			[]string{`id: the body says \"zhao\" but the URL says \"qian\"`}},
		{"a roster", "PUT", "/api/v1/rosters/acme/duty_officer", rosterBody, 201, []string{`"rotation":["zhang","li"]`}},
		{"the roster replaced", "PUT", "/api/v1/rosters/acme/duty_officer", rosterBody, 200, nil},
		{"a roster with a bad shift", "PUT", "/api/v1/rosters/acme/leader_on_duty", `{"shifts": ["8am"], "start": "2026-01-01", "rotation": ["zhang"]}`, 400,
			[]string{`"field":"shifts[0]"`, `want a time of day such as \"08:00\", got \"8am\"`}},
		{"the morning shift", "GET", "/api/v1/duty?at=2026-01-01T09:00:00%2B08:00", "", 200,
			[]string{`"role_label":"值班员"`, `"holders":[{"id":"zhang"`, `"since":"2026-01-01T08:00:00+08:00"`, `"until":"2026-01-01T20:00:00+08:00"`, `"next":[{"id":"li"`, `"override":false`}},
		{"the evening shift", "GET", "/api/v1/duty?at=2026-01-01T21:00:00%2B08:00", "", 200,
			[]string{`"holders":[{"id":"li"`, `"next":[{"id":"zhang"`}},
		{"the holiday", "GET", "/api/v1/duty?at=2026-10-02T09:00:00%2B08:00", "", 200,
			[]string{`"holders":[{"id":"zhang"`, `{"id":"li"`, `"override":true`, `"note":"国庆假期"`}},
		{"a bad time", "GET", "/api/v1/duty?at=tomorrow", "", 400, []string{"at: want an RFC 3339 time"}},
		{"the site's chain", "PUT", "/api/v1/responsibility/plant-a", `{"chain": [{"tier": 1, "role": "duty_officer", "roster": "acme/duty_officer"}, {"tier": 4, "role": "supervisor_in_chief", "people": ["zhang"]}]}`, 201,
			[]string{`"site":"plant-a"`}},
		{"a region's chain", "PUT", "/api/v1/responsibility/region:320100", `{"chain": [{"tier": 3, "role": "bureau_on_duty", "people": ["li"], "org": "nj"}]}`, 201,
			[]string{`"region":"320100"`}},
		{"the chain at night", "GET", "/api/v1/sites/plant-a/chain?at=2026-01-01T21:00:00%2B08:00", "", 200,
			[]string{`"region":"320115"`, `{"tier":1,"role":"duty_officer","people":[{"id":"li"`, `"source":"site plant-a"`, `"source":"region 320100"`}},
		{"an unknown site's chain", "GET", "/api/v1/sites/plant-z/chain", "", 404, nil},
		{"a person still on a roster", "DELETE", "/api/v1/people/li", "", 409, []string{"still referenced"}},
		{"an unknown person", "DELETE", "/api/v1/people/nobody", "", 404, nil},
		{"an unknown org", "GET", "/api/v1/orgs/nobody", "", 404, nil},
		{"an org with its ancestors", "GET", "/api/v1/orgs/acme", "", 200, []string{`"ancestors":["nj"]`}},
		{"a roster still in a chain", "DELETE", "/api/v1/rosters/acme/duty_officer", "", 409, nil},
		{"the region's chain removed", "DELETE", "/api/v1/responsibility/region:320100", "", 204, nil},
		{"gone", "GET", "/api/v1/responsibility/region:320100", "", 404, nil},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, hs.URL) })
	}

	// Everything was saved: a new server on the same state answers alike.
	hs.Close()
	again := directoryServer(t, path)
	apiCall{"after a restart", "GET", "/api/v1/duty?at=2026-01-01T21:00:00%2B08:00", "", 200, []string{`"holders":[{"id":"li"`}}.run(t, again.URL)
	apiCall{"after a restart", "GET", "/api/v1/responsibility", "", 200, []string{`"site":"plant-a"`}}.run(t, again.URL)
}

func TestDirectoryAPIOff(t *testing.T) {
	hs := httptest.NewServer(web.New(web.Options{Alerts: fakeAlerts{}}).Handler())
	defer hs.Close()
	apiCall{"no directory", "GET", "/api/v1/duty", "", 404, []string{"not offered"}}.run(t, hs.URL)
	var body map[string]string
	resp, err := http.Get(hs.URL + "/api/v1/people")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 404 {
		t.Errorf("GET /api/v1/people without a directory: %d %v %v", resp.StatusCode, body, err)
	}
}
