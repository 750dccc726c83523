package sensorview

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/alerting/alertingtest"
	"yujing/ingest"
	"yujing/internal/apiclient"
	"yujing/store/sqlite"
	"yujing/web"
)

// TestSelectFollowsPages: Select asks the server for a page at a time
// with the filters given, and gets every sensor they select once, in
// order; from a server that does not page (it answers every sensor to
// every request) it takes the first answer, without asking forever.
func TestSelectFollowsPages(t *testing.T) {
	sites := []yujing.Site{{ID: "p"}, {ID: "q"}}
	var sensors []yujing.Sensor
	for i := range 2*PageSize + 500 {
		site := "p"
		if i%5 == 0 {
			site = "q"
		}
		sensors = append(sensors, yujing.Sensor{ID: fmt.Sprintf("S%05d", i), Site: site, Family: yujing.FamilyGas})
	}
	reg, err := ingest.NewRegistry(sites, sensors)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng := alertingtest.New(t, nil, st, reg, alertingtest.Options{})
	var requests int
	srv := web.New(web.Options{Alerts: eng, Sensors: reg}).Handler()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests++
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	c, err := apiclient.New(hs.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		filters  url.Values
		n, pages int
	}{
		{nil, 2*PageSize + 500, 3},
		{url.Values{"site": {"q"}}, (2*PageSize + 500) / 5, 1},
		// Two full pages: the third answer, empty, says there are no more.
		{url.Values{"site": {"p"}}, (2*PageSize + 500) * 4 / 5, 3},
	} {
		requests = 0
		got, err := Select(t.Context(), c, tc.filters)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, s := range sensors {
			if site := tc.filters.Get("site"); site == "" || s.Site == site {
				want = append(want, s.ID)
			}
		}
		var ids []string
		for _, s := range got {
			ids = append(ids, s.ID)
		}
		if strings.Join(ids, " ") != strings.Join(want, " ") || requests != tc.pages {
			t.Errorf("%v: %d sensors in %d requests, want %d in %d", tc.filters, len(ids), requests, len(want), tc.pages)
		}
	}

	// A server from before paging.
	requests = 0
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests++
		json.NewEncoder(w).Encode(reg.Statuses(time.Now())[:PageSize])
	}))
	t.Cleanup(old.Close)
	oc, _ := apiclient.New(old.URL, "")
	got, err := Select(t.Context(), oc, nil)
	if err != nil || len(got) != PageSize || requests != 2 {
		t.Errorf("from a server that does not page: %d sensors in %d requests (%v), want %d in 2", len(got), requests, err, PageSize)
	}
}
