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

// TestFamiliesAPI: GET /api/v1/families lists the families the
// configuration knows, built-in and declared, in order, with their names,
// metrics and looks; without a configuration, the built-in ones.
func TestFamiliesAPI(t *testing.T) {
	declared := append(yujing.BuiltinFamilies(), yujing.FamilyInfo{ID: "smoke", Name: "智能烟感", NameEN: "smoke alarm",
		Metrics: map[string]string{"alarm": ""}, Colour: "#c0392b", Icon: "🔥"})
	for _, tc := range []struct {
		name string
		fams func() yujing.Families
		want yujing.Families
	}{
		{"configured", func() yujing.Families { return declared }, declared},
		{"none", nil, yujing.BuiltinFamilies()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, err := ingest.NewRegistry(nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(web.New(web.Options{Alerts: testEngine(t, reg, time.Now), Sensors: reg, Families: tc.fams}).Handler())
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/api/v1/families")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			var got yujing.Families
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(tc.want)
			if string(gb) != string(wb) {
				t.Errorf("families:\n%s\nwant:\n%s", gb, wb)
			}
		})
	}
}
