package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"yujing"
	"yujing/ingest"
	"yujing/web"
)

// TestMeta: GET /api/v1/meta gives the console the configured time zone
// (so that it shows times where the messages do, not in the browser's
// zone) and the names of the sites (with their location) and metrics it
// shows.
func TestMeta(t *testing.T) {
	reg, err := ingest.NewRegistry([]yujing.Site{
		{ID: "demo-plant", Name: "演示化工园区", Region: "320506", Location: &yujing.LatLon{Lat: 31.2598, Lon: 120.632}},
		{ID: "river", Name: "青龙河"},
		{ID: "no-sensors", Name: "没有监测点的站点"},
	}, []yujing.Sensor{
		{ID: "GT-101", Name: "罐区可燃气体探测器", Site: "demo-plant", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL"},
		{ID: "TK-201", Site: "demo-plant", Family: yujing.FamilyHazard, Metric: "level", Units: map[string]string{"level": "m", "pressure": "MPa"}},
		{ID: "WL-01", Site: "river", Family: yujing.FamilyFlood, Metric: "level", Unit: "m"},
		{ID: "X-1", Site: "river", Family: yujing.FamilyGas, Metric: "ch4"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		zone   string
		offset int
	}{
		{"Asia/Shanghai", 8 * 3600},
		{"America/New_York", -4 * 3600}, // daylight saving on 1 July
		{"UTC", 0},
	} {
		t.Run(tc.zone, func(t *testing.T) {
			loc, err := time.LoadLocation(tc.zone)
			if err != nil {
				t.Skipf("no zone database: %v", err)
			}
			now := time.Date(2026, 7, 1, 4, 0, 0, 0, time.UTC)
			srv := web.New(web.Options{Alerts: testEngine(t, reg, func() time.Time { return now }), Sensors: reg, Location: loc, Version: "v9", Now: func() time.Time { return now }})
			hs := httptest.NewServer(srv.Handler())
			defer hs.Close()
			resp, err := http.Get(hs.URL + "/api/v1/meta")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var m struct {
				Version  string `json:"version"`
				TimeZone string `json:"timezone"`
				Offset   *int   `json:"utc_offset_seconds"`
				Now      time.Time
				Sites    []yujing.Site
				Metrics  []struct{ Family, Metric, ZH, EN string }
			}
			if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
				t.Fatalf("status %d: %v", resp.StatusCode, err)
			}
			if m.TimeZone != tc.zone || m.Offset == nil || *m.Offset != tc.offset || m.Version != "v9" {
				t.Errorf("zone %q offset %v version %q, want %s %d v9", m.TimeZone, m.Offset, m.Version, tc.zone, tc.offset)
			}
			if !m.Now.Equal(now) {
				t.Errorf("now %v, want the server's clock %v", m.Now, now)
			}
			sites := map[string]string{}
			for _, s := range m.Sites {
				sites[s.ID] = s.Name
			}
			if len(sites) != 2 || sites["demo-plant"] != "演示化工园区" || sites["river"] != "青龙河" {
				t.Errorf("sites %v", m.Sites)
			}
			// Where the wall screen's map puts a site (its outline is
			// GET /api/v1/sites/map's).
			for _, s := range m.Sites {
				if want := s.ID == "demo-plant"; (s.Location != nil) != want || want && *s.Location != (yujing.LatLon{Lat: 31.2598, Lon: 120.632}) {
					t.Errorf("site %s location %v", s.ID, s.Location)
				}
			}
			metrics := map[string][2]string{}
			for _, x := range m.Metrics {
				metrics[string(x.Family)+"/"+x.Metric] = [2]string{x.ZH, x.EN}
			}
			want := map[string][2]string{
				"gas/lel": {"可燃气体浓度", "combustible gas"}, "hazard/level": {"液位", "level"}, "hazard/pressure": {"压力", "pressure"},
				"flood/level": {"水位", "water level"}, "gas/ch4": {"", ""},
			}
			if len(metrics) != len(want) {
				t.Errorf("metrics %v, want %v", metrics, want)
			}
			for k, w := range want {
				if got, ok := metrics[k]; !ok || got != w {
					t.Errorf("metric %s: %q, want %q", k, got, w)
				}
			}
		})
	}
}
