package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"yujing"
	"yujing/alerting/lifecycle"
	"yujing/ingest"
	"yujing/store/sqlite"
	"yujing/web"
)

// alertsFixture stores open warnings (levels blue, yellow, orange, red
// in turn, started a minute apart, sensor S00000 first), then closed
// ones, in an embedded state database, and serves the API.
func alertsFixture(tb testing.TB, open, closed int) string {
	tb.Helper()
	st, err := sqlite.OpenState(tb.Context(), filepath.Join(tb.TempDir(), "state.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	reg, err := ingest.NewRegistry([]yujing.Site{{ID: "p"}}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	t0 := time.Now().Add(-24 * time.Hour)
	for i := range open + closed {
		at := t0.Add(time.Duration(i) * time.Minute)
		a := yujing.Alert{Rule: "gas", Sensor: fmt.Sprintf("S%05d", i), Site: "p", Family: yujing.FamilyGas, Metric: "lel",
			Level: yujing.Levels[i%4], State: yujing.StateFiring, Value: 60, StartedAt: at, UpdatedAt: at}
		if i >= open {
			a.State, a.ClosedAt = yujing.StateClosed, &at
		}
		if err := st.CreateAlert(tb.Context(), &a, &yujing.Transition{At: at, Event: yujing.EventRaised, ToLevel: a.Level, ToState: a.State}); err != nil {
			tb.Fatal(err)
		}
	}
	alerts, err := lifecycle.New(st, reg, lifecycle.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(web.New(web.Options{Alerts: alerts, Sensors: reg}).Handler())
	tb.Cleanup(srv.Close)
	return srv.URL
}

// getAlerts reads a list of alerts and its X-Total-Count ("" when absent).
func getAlerts(tb testing.TB, url string) ([]yujing.Alert, string, int) {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var as []yujing.Alert
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&as); err != nil {
			tb.Fatal(err)
		}
	}
	return as, resp.Header.Get("X-Total-Count"), resp.StatusCode
}

// TestAlertListPagesBySeverity: the board reads open warnings a page at a
// time in the duty room's order (red first, the longest waiting first
// within a level) with the total the filter selects, and its counters
// from /api/v1/alerts/counts without reading the warnings.
func TestAlertListPagesBySeverity(t *testing.T) {
	base := alertsFixture(t, 30, 5)
	// The 30 open ones, i%4 giving blue, yellow, orange, red: red are
	// 3, 7, …, 27, then orange 2, 6, …, 26, yellow 1, 5, …, 29, blue 0, 4, …, 28.
	var want []string
	for _, first := range []int{3, 2, 1, 0} {
		for i := first; i < 30; i += 4 {
			want = append(want, fmt.Sprintf("S%05d", i))
		}
	}
	var got []string
	for offset := 0; offset < 40; offset += 12 {
		as, total, code := getAlerts(t, fmt.Sprintf("%s/api/v1/alerts?state=open&order=severity&limit=12&offset=%d", base, offset))
		if code != http.StatusOK || total != "30" {
			t.Fatalf("page at %d: status %d, X-Total-Count %q, want 200 and 30", offset, code, total)
		}
		for _, a := range as {
			got = append(got, a.Sensor)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the pages, joined:\n got %v\nwant %v", got, want)
	}
	// A page of red and orange only.
	as, total, _ := getAlerts(t, base+"/api/v1/alerts?state=open&level=red,orange&order=severity&limit=5")
	if len(as) != 5 || total != "14" || as[0].Sensor != "S00003" || as[4].Sensor != "S00019" {
		t.Errorf("red and orange, first 5: %d alerts (first %v), total %q; want 5 from S00003 to S00019 of 14", len(as), as, total)
	}
	// Without limit or offset the list is not a page: no total.
	if _, total, _ := getAlerts(t, base+"/api/v1/alerts?state=closed"); total != "" {
		t.Errorf("an unpaged list has X-Total-Count %q", total)
	}
	if _, _, code := getAlerts(t, base+"/api/v1/alerts?order=loudest"); code != http.StatusBadRequest {
		t.Errorf("order=loudest: status %d, want 400", code)
	}

	for _, tt := range []struct {
		query  string
		total  int
		levels map[string]int
	}{
		{"state=open", 30, map[string]int{"red": 7, "orange": 7, "yellow": 8, "blue": 8}},
		{"state=open&level=red,orange", 14, map[string]int{"red": 7, "orange": 7, "yellow": 0, "blue": 0}},
		{"state=closed", 5, map[string]int{"red": 1, "orange": 2, "yellow": 1, "blue": 1}},
		{"site=nowhere", 0, map[string]int{"red": 0, "orange": 0, "yellow": 0, "blue": 0}},
	} {
		resp, err := http.Get(base + "/api/v1/alerts/counts?" + tt.query)
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Total  int            `json:"total"`
			Levels map[string]int `json:"levels"`
		}
		err = json.NewDecoder(resp.Body).Decode(&c)
		resp.Body.Close()
		if err != nil || c.Total != tt.total || !reflect.DeepEqual(c.Levels, tt.levels) {
			t.Errorf("counts?%s: %+v (%v), want total %d, levels %v", tt.query, c, err, tt.total, tt.levels)
		}
	}
	resp, err := http.Get(base + "/api/v1/alerts/counts?state=lost")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("counts?state=lost: status %d, want 400", resp.StatusCode)
	}
}

// BenchmarkBoardFirstPage: what the board reads with 10 000 open warnings
// — its first page of 200 in the duty room's order with the total, and the
// counters — beside reading every open warning (5 000, the API's most per
// request, twice), as a board without pages would.
func BenchmarkBoardFirstPage(b *testing.B) {
	base := alertsFixture(b, 10000, 0)
	get := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		var sink json.RawMessage
		if err := json.NewDecoder(resp.Body).Decode(&sink); err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d %v", path, resp.StatusCode, err)
		}
		n, _ := strconv.Atoi(resp.Header.Get("X-Total-Count"))
		return n
	}
	b.Run("first-page", func(b *testing.B) {
		for b.Loop() {
			if n := get("/api/v1/alerts?state=open&order=severity&limit=200"); n != 10000 {
				b.Fatalf("total %d", n)
			}
			get("/api/v1/alerts/counts?state=open")
		}
	})
	b.Run("everything", func(b *testing.B) {
		for b.Loop() {
			for _, off := range []string{"0", "5000"} {
				get("/api/v1/alerts?state=open&order=severity&limit=5000&offset=" + off)
			}
		}
	})
}
