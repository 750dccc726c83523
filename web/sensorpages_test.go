package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/ingest"
	"yujing/web"
)

// TestSensorsPages: GET /api/v1/sensors answers a page of the sensors the
// filters select, in order of id, with how many they select
// (X-Total-Count) and, while more follow, a Link to the next page; the
// first answer with no parameters holds every sensor when they fit one
// page. Bad paging parameters are a 400 naming the parameter.
func TestSensorsPages(t *testing.T) {
	sites := []yujing.Site{{ID: "p", Region: "320506"}, {ID: "q", Region: "320711"}}
	var sensors []yujing.Sensor
	for i := range 7 {
		site, fam := "p", yujing.FamilyGas
		if i%2 == 1 {
			site, fam = "q", yujing.FamilyFlood
		}
		sensors = append(sensors, yujing.Sensor{ID: fmt.Sprintf("S-%d", i), Name: fmt.Sprintf("%d号", i), Site: site, Family: fam})
	}
	reg, err := ingest.NewRegistry(sites, sensors)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(web.New(web.Options{Alerts: testEngine(t, reg, time.Now), Sensors: reg}).Handler())
	t.Cleanup(hs.Close)
	get := func(t *testing.T, path string) (int, []string, string, string) {
		t.Helper()
		resp, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var sts []ingest.Status
		var ids []string
		if resp.StatusCode == http.StatusOK {
			if err := json.NewDecoder(resp.Body).Decode(&sts); err != nil {
				t.Fatal(err)
			}
			if sts == nil {
				t.Errorf("%s: null, want a list", path)
			}
			for _, st := range sts {
				ids = append(ids, st.ID)
			}
		} else {
			var e struct{ Error string }
			json.NewDecoder(resp.Body).Decode(&e)
			return resp.StatusCode, nil, e.Error, ""
		}
		return resp.StatusCode, ids, resp.Header.Get("X-Total-Count"), resp.Header.Get("Link")
	}
	for _, c := range []struct {
		path, want, total, link string
	}{
		{"/api/v1/sensors", "S-0 S-1 S-2 S-3 S-4 S-5 S-6", "7", ""},
		{"/api/v1/sensors?limit=3", "S-0 S-1 S-2", "7", `</api/v1/sensors?after=S-2&limit=3>; rel="next"`},
		{"/api/v1/sensors?after=S-2&limit=3", "S-3 S-4 S-5", "7", `</api/v1/sensors?after=S-5&limit=3>; rel="next"`},
		{"/api/v1/sensors?after=S-5&limit=3", "S-6", "7", ""},
		{"/api/v1/sensors?site=p&limit=2", "S-0 S-2", "4", `</api/v1/sensors?after=S-2&limit=2&site=p>; rel="next"`},
		{"/api/v1/sensors?family=flood", "S-1 S-3 S-5", "3", ""},
		{"/api/v1/sensors?region=3207&q=5", "S-5", "1", ""},
		{"/api/v1/sensors?status=online", "", "0", ""},
		{"/api/v1/sensors?status=offline&family=gas&limit=4", "S-0 S-2 S-4 S-6", "4", ""},
	} {
		t.Run(c.path, func(t *testing.T) {
			code, ids, total, link := get(t, c.path)
			if got := strings.Join(ids, " "); code != 200 || got != c.want || total != c.total || link != c.link {
				t.Errorf("%d %q, total %q, link %q; want %q, %q, %q", code, got, total, link, c.want, c.total, c.link)
			}
		})
	}
	// Following the links from the first page gives every sensor once.
	var all []string
	for path, pages := "/api/v1/sensors?limit=2", 0; path != ""; pages++ {
		_, ids, _, link := get(t, path)
		all = append(all, ids...)
		path = strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
		if pages > 10 {
			t.Fatal("the links do not end")
		}
	}
	if got := strings.Join(all, " "); got != "S-0 S-1 S-2 S-3 S-4 S-5 S-6" {
		t.Errorf("following the links: %s", got)
	}
	for _, c := range []struct{ path, want string }{
		{"/api/v1/sensors?limit=0", `limit: want a number from 1 to 10000, got "0"`},
		{"/api/v1/sensors?limit=10001", `limit: want a number from 1 to 10000, got "10001"`},
		{"/api/v1/sensors?limit=ten", `limit: want a number from 1 to 10000, got "ten"`},
		{"/api/v1/sensors?status=dead", `status: want online or offline, got "dead"`},
	} {
		if code, _, msg, _ := get(t, c.path); code != http.StatusBadRequest || msg != c.want {
			t.Errorf("%s: %d %q, want 400 %q", c.path, code, msg, c.want)
		}
	}
	// One sensor, found by id.
	for id, want := range map[string]int{"S-3": http.StatusOK, "S-9": http.StatusNotFound} {
		resp, err := http.Get(hs.URL + "/api/v1/sensors/" + id)
		if err != nil {
			t.Fatal(err)
		}
		var st ingest.Status
		json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if resp.StatusCode != want || (want == http.StatusOK && (st.ID != id || st.Site != "q")) {
			t.Errorf("GET /api/v1/sensors/%s: %d %+v, want %d", id, resp.StatusCode, st, want)
		}
	}
}
