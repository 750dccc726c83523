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

func wallFixture(t *testing.T) *httptest.Server {
	t.Helper()
	square := [][][]yujing.LatLon{{{{Lat: 31.25, Lon: 120.60}, {Lat: 31.25, Lon: 120.66}, {Lat: 31.29, Lon: 120.66}, {Lat: 31.25, Lon: 120.60}}}}
	reg, err := ingest.NewRegistry([]yujing.Site{
		{ID: "p1", Name: "甲化工厂", Location: &yujing.LatLon{Lat: 31.2598, Lon: 120.632}},
		{ID: "p2", Name: "乙粉尘厂", Boundary: square, Location: &yujing.LatLon{Lat: 31.27, Lon: 120.63}},
		{ID: "p3", Name: "丙泵站"},
		{ID: "p4", Name: "丁仓库"},
	}, []yujing.Sensor{
		{ID: "G1", Site: "p1", Family: yujing.FamilyGas, Metric: "lel"},
		{ID: "G2", Site: "p2", Family: yujing.FamilyGas, Metric: "lel"},
		{ID: "D1", Site: "p2", Family: yujing.FamilyDust, Metric: "temp"},
		{ID: "G3", Site: "p3", Family: yujing.FamilyGas, Metric: "lel", Location: "北门 (31.3,120.7)"},
		{ID: "G4", Site: "p3", Family: yujing.FamilyGas, Metric: "lel", Location: "31.1,120.5"},
		{ID: "G5", Site: "p4", Family: yujing.FamilyGas, Metric: "lel", Location: "罐区东侧"},
		{ID: "G6", Site: "p4", Family: yujing.FamilyGas, Metric: "lel", Location: "(200,1)"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	clk := &testClock{t: t0}
	eng := testEngine(t, reg, clk.Now)
	for _, r := range []struct {
		sensor string
		value  float64
		after  time.Duration
	}{{"G2", 45, 0}, {"G1", 60, time.Minute}, {"D1", 15, 2 * time.Minute}, {"G3", 30, 3 * time.Minute}, {"G5", 42, 4 * time.Minute}} {
		clk.Set(t0.Add(r.after))
		sn, _ := reg.ByID(r.sensor)
		eng.Observe(t.Context(), []yujing.Reading{{Sensor: r.sensor, Site: sn.Site, Family: sn.Family, Metric: sn.Metric, Value: r.value, Time: clk.Now()}})
	}
	hs := httptest.NewServer(web.New(web.Options{Alerts: eng, Sensors: reg, Now: clk.Now}).Handler())
	t.Cleanup(hs.Close)
	return hs
}

func getWallJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// TestWall: GET /api/v1/wall counts the open warnings by level, family
// and site (with its name), and lists the red and orange ones, red first
// then the oldest, each with its call-and-answer (none here: no
// escalation is wired; the browser test checks a real one).
func TestWall(t *testing.T) {
	hs := wallFixture(t)
	var w struct {
		Levels   map[string]int
		Families []web.WallGroup
		Sites    []web.WallGroup
		Warnings []struct {
			ID            int64
			Sensor, Level string
			Escalation    *json.RawMessage
			Calling       []web.WallCall
		}
	}
	getWallJSON(t, hs.URL+"/api/v1/wall", &w)
	if w.Levels["red"] != 1 || w.Levels["orange"] != 2 || w.Levels["yellow"] != 1 || w.Levels["blue"] != 1 {
		t.Errorf("levels %v, want red 1, orange 2, yellow 1, blue 1", w.Levels)
	}
	if len(w.Families) != 2 || w.Families[0].Key != "gas" || w.Families[0].Total != 4 || w.Families[0].Levels["orange"] != 2 || w.Families[1].Key != "dust" || w.Families[1].Total != 1 {
		t.Errorf("families %+v, want gas 4 (2 orange) then dust 1", w.Families)
	}
	if len(w.Sites) != 4 || w.Sites[0].Key != "p2" || w.Sites[0].Name != "乙粉尘厂" || w.Sites[0].Total != 2 {
		t.Errorf("sites %+v, want 乙粉尘厂 first with 2", w.Sites)
	}
	var got []string
	for _, x := range w.Warnings {
		got = append(got, x.Sensor+":"+x.Level)
		if x.Escalation != nil || x.Calling == nil || len(x.Calling) != 0 {
			t.Errorf("warning %s: escalation %v calling %v, want null and []", x.Sensor, x.Escalation, x.Calling)
		}
	}
	if want := `["G1:red","G2:orange","G5:orange"]`; jsonString(got) != want {
		t.Errorf("warnings %v, want %s (red first, then the oldest)", got, want)
	}
}

// TestSiteMap: GET /api/v1/sites/map is GeoJSON: each site with sensors
// as a Feature, its outline when the configuration gives a boundary, else
// a point at its location, else at the middle of its sensors'
// coordinates (a sensor location "北门 (31.3,120.7)" or "31.1,120.5";
// none from "罐区东侧" or out of range), else no geometry.
func TestSiteMap(t *testing.T) {
	hs := wallFixture(t)
	var m struct {
		Type     string
		Features []struct {
			Type, ID string
			Geometry *struct {
				Type        string
				Coordinates json.RawMessage
			}
			Properties struct {
				ID, Name, Placed string
				Label            *[2]float64
			}
		}
	}
	getWallJSON(t, hs.URL+"/api/v1/sites/map", &m)
	if m.Type != "FeatureCollection" || len(m.Features) != 4 {
		t.Fatalf("%s with %d features, want a FeatureCollection of 4", m.Type, len(m.Features))
	}
	for i, want := range []struct{ id, placed, geometry, coords, label string }{
		{"p1", "location", "Point", "[120.632,31.2598]", "[120.632,31.2598]"},
		{"p2", "boundary", "MultiPolygon", "[[[[120.6,31.25],[120.66,31.25],[120.66,31.29],[120.6,31.25]]]]", "[120.63,31.27]"},
		{"p3", "sensors", "Point", "[120.6,31.2]", "null"},
		{"p4", "", "", "", "null"},
	} {
		f := m.Features[i]
		geometry, coords := "", ""
		if f.Geometry != nil {
			geometry, coords = f.Geometry.Type, string(f.Geometry.Coordinates)
		}
		if f.Type != "Feature" || f.ID != want.id || f.Properties.ID != want.id || f.Properties.Placed != want.placed || geometry != want.geometry || coords != want.coords ||
			jsonString(f.Properties.Label) != want.label {
			t.Errorf("feature %d: %s %s placed %q geometry %s %s label %s; want %+v", i, f.Type, f.ID, f.Properties.Placed, geometry, coords, jsonString(f.Properties.Label), want)
		}
	}
	if m.Features[0].Properties.Name != "甲化工厂" {
		t.Errorf("p1 named %q", m.Features[0].Properties.Name)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
