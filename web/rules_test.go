package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/alertingtest"
	"yujing/audit"
	"yujing/ingest"
	"yujing/replay"
	"yujing/store"
	"yujing/store/sqlite"
	"yujing/web"
)

// previewFixture is a real rule engine (gas-lel: yellow 25, red 50,
// hysteresis 2) over a real state database, a real SQLite reading store
// holding the last 7 days of two gas detectors, and the server with the
// replay previewer and the audit log. GT-1 reads 5 %LEL every minute with
// three bumps: 30 for 10 minutes six days ago (A), 45 for 20 minutes
// three days ago (B), 60 for 5 minutes a day ago (C); the live engine met
// them all. GT-2 reads every 10 s over the last day, 5 but for one
// reading of 70 (more readings than a day's share of the preview: it is
// downsampled).
type previewFixture struct {
	hs         *httptest.Server
	now, a, b  time.Time
	c, spike   time.Time
	auditLog   audit.Store
	engine     *alertingtest.Stack
	engineRead func(sensor string, v float64, at time.Time)
}

func newPreviewFixture(t *testing.T) *previewFixture {
	t.Helper()
	dir := t.TempDir()
	reg, err := ingest.NewRegistry([]yujing.Site{{ID: "plant", Name: "甲化工厂"}}, []yujing.Sensor{
		{ID: "GT-1", Name: "罐区可燃气体", Site: "plant", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL"},
		{ID: "GT-2", Name: "装车区可燃气体", Site: "plant", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL"},
		{ID: "TK-1", Site: "plant", Family: yujing.FamilyHazard, Metric: "level", Unit: "m"},
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.OpenState(t.Context(), filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rs, err := sqlite.OpenReadings(t.Context(), filepath.Join(dir, "readings.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	var above alerting.Tiers
	above.Value[yujing.Yellow], above.Set[yujing.Yellow] = 25, true
	above.Value[yujing.Red], above.Set[yujing.Red] = 50, true
	now := time.Now().UTC().Truncate(time.Minute)
	clk := &testClock{t: now.Add(-7 * 24 * time.Hour)}
	eng := alertingtest.New(t, []*alerting.Rule{
		{Name: "gas-lel", Description: "可燃气体浓度", Match: alerting.Selector{Family: yujing.FamilyGas}, Above: above, Hysteresis: 2},
		{Name: "tank-offline", Kind: alerting.KindOffline, Sensors: []string{"TK-1"}, Level: yujing.Yellow},
	}, st, reg, alertingtest.Options{Engine: alerting.Options{Now: clk.Now}})
	f := &previewFixture{now: now, engine: eng, auditLog: st.AuditLog()}
	from := now.Add(-7 * 24 * time.Hour)
	f.a, f.b, f.c = from.Add(1440*time.Minute), from.Add(5760*time.Minute), from.Add(8640*time.Minute)
	f.spike = now.Add(-24 * time.Hour).Add(4000 * 10 * time.Second)
	var batch []yujing.Reading
	f.engineRead = func(sensor string, v float64, at time.Time) {
		rd := yujing.Reading{Sensor: sensor, Site: "plant", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Value: v, Time: at}
		batch = append(batch, rd)
		clk.Set(at)
		eng.Observe(t.Context(), []yujing.Reading{rd})
	}
	for i := range 7 * 24 * 60 {
		at, v := from.Add(time.Duration(i)*time.Minute), 5.0
		switch {
		case !at.Before(f.a) && at.Before(f.a.Add(10*time.Minute)):
			v = 30
		case !at.Before(f.b) && at.Before(f.b.Add(20*time.Minute)):
			v = 45
		case !at.Before(f.c) && at.Before(f.c.Add(5*time.Minute)):
			v = 60
		}
		f.engineRead("GT-1", v, at)
	}
	for k := range 8640 {
		at, v := now.Add(-24*time.Hour).Add(time.Duration(k)*10*time.Second), 5.0
		if at.Equal(f.spike) {
			v = 70
		}
		// Stored only: the live engine never met GT-2's readings.
		batch = append(batch, yujing.Reading{Sensor: "GT-2", Site: "plant", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Value: v, Time: at})
	}
	if err := rs.Write(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	clk.Set(now)
	al, err := web.NewAudit(st.AuditLog(), web.AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pv := replay.NewPreviewer(eng, reg, rs, replay.PreviewOptions{Now: clk.Now, Dir: dir})
	f.hs = httptest.NewServer(web.New(web.Options{Alerts: eng, Sensors: reg, Rules: eng, Previews: pv, Audit: al, Now: clk.Now}).Handler())
	t.Cleanup(f.hs.Close)
	return f
}

func (f *previewFixture) post(t *testing.T, path, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(f.hs.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// events writes a preview's events as "+6d00h00m raised yellow 30", the
// time from the window's start.
func events(from time.Time, evs []replay.PreviewEvent) string {
	var out []string
	for _, e := range evs {
		d := e.At.Sub(from)
		out = append(out, fmt.Sprintf("+%dd%02dh%02dm %s %s %g", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute), e.Event, e.Level, e.Value))
	}
	return strings.Join(out, "; ")
}

// TestRulePreview asks what gas-lel would have raised over the last 7 days
// with yellow at 35, red at 55 and a 10-minute hold, through POST
// /api/v1/rules/gas-lel/preview. The rule as it is, replayed from the
// stored readings, raises what the live engine actually raised on GT-1
// (A yellow, B yellow, C red) and the spike on GT-2, kept through the
// downsampling; the proposal raises only B, ten minutes after it began
// (A is under 35, C and the spike do not last 10 minutes). The engine's
// rule is unchanged, the preview is not in the audit log, and bad
// proposals are refused naming the field.
func TestRulePreview(t *testing.T) {
	f := newPreviewFixture(t)
	code, body := f.post(t, "/api/v1/rules/gas-lel/preview", `{"above": {"yellow": 35, "red": 55}, "for": "10m"}`)
	if code != 200 {
		t.Fatalf("preview: %d %s", code, body)
	}
	var res replay.PreviewResult
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	from := f.now.Add(-replay.PreviewWindow)
	if res.Rule != "gas-lel" || res.Kind != alerting.KindThreshold || !res.From.Equal(from) || !res.To.Equal(f.now) || len(res.Sensors) != 2 || !res.Downsampled {
		t.Fatalf("preview: %s", body)
	}
	gt1, gt2 := res.Sensors[0], res.Sensors[1]
	if gt1.Sensor != "GT-1" || gt1.Readings != 10080 || gt1.Replayed != 10080 || gt1.Unit != "%LEL" {
		t.Errorf("GT-1: %s %d readings, %d replayed %s", gt1.Sensor, gt1.Readings, gt1.Replayed, gt1.Unit)
	}
	if gt2.Sensor != "GT-2" || gt2.Readings != 8640 || gt2.Replayed > replay.MaxPreviewPoints/7 {
		t.Errorf("GT-2: %s %d readings, %d replayed, want at most a day's share %d", gt2.Sensor, gt2.Readings, gt2.Replayed, replay.MaxPreviewPoints/7)
	}
	at := func(t time.Time) string { return events(from, []replay.PreviewEvent{{At: t}})[:9] }
	// A warning keeps its level when it resolves.
	wantCurrent := at(f.a) + " raised yellow 30; " + at(f.a.Add(10*time.Minute)) + " resolved yellow 5; " +
		at(f.b) + " reopened yellow 45; " + at(f.b.Add(20*time.Minute)) + " resolved yellow 5; " +
		at(f.c) + " reopened red 60; " + at(f.c.Add(5*time.Minute)) + " resolved red 5"
	for _, c := range []struct{ name, got, want string }{
		{"GT-1 as it is", events(from, gt1.Current), wantCurrent},
		{"GT-1 actually", events(from, gt1.Actual), wantCurrent},
		{"GT-1 proposed", events(from, gt1.Proposed), at(f.b.Add(10*time.Minute)) + " raised yellow 45; " + at(f.b.Add(20*time.Minute)) + " resolved yellow 5"},
		// Downsampled to a pair a minute: the next reading kept after the
		// spike's minute is the first of the next minute, 20 s after it.
		{"GT-2 as it is", events(from, gt2.Current), at(f.spike) + " raised red 70; " + at(f.spike.Add(20*time.Second)) + " resolved red 5"},
		{"GT-2 proposed", events(from, gt2.Proposed), ""},
		{"GT-2 actually", events(from, gt2.Actual), ""},
	} {
		if c.got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, c.got, c.want)
		}
	}
	for _, c := range []struct {
		name string
		got  replay.Counts
		want string
	}{
		{"as it is", res.Current, "4 warnings, 0 upgrades, 4 resolved, peak map[red:2 yellow:2]"},
		{"proposed", res.Proposed, "1 warnings, 0 upgrades, 1 resolved, peak map[yellow:1]"},
		{"actually", res.Actual, "3 warnings, 0 upgrades, 3 resolved, peak map[red:1 yellow:2]"},
	} {
		if got := fmt.Sprintf("%d warnings, %d upgrades, %d resolved, peak %v", c.got.Warnings, c.got.Upgrades, c.got.Resolved, c.got.Peak); got != c.want {
			t.Errorf("counts %s: %s, want %s", c.name, got, c.want)
		}
	}

	// The live rule is as it was, and still raises at 25.
	d, ok := f.engine.RuleDetail("gas-lel")
	if !ok || d.Above["yellow"] != 25 || d.Above["red"] != 50 || d.For != "" {
		t.Errorf("the engine's rule after the preview: %+v", d)
	}
	f.engineRead("GT-1", 30, f.now)
	if as, _ := f.engine.List(t.Context(), storeFilter("GT-1")); len(as) != 1 || as[0].Level != yujing.Yellow {
		t.Errorf("GT-1 at 30 after the preview: %+v, want yellow", as)
	}
	if es, err := f.auditLog.List(t.Context(), audit.Filter{}); err != nil || len(es) != 0 {
		t.Errorf("audit log after previews: %+v %v, want nothing (a preview changes nothing)", es, err)
	}

	for _, c := range []struct {
		name, path, body string
		code             int
		want             string
	}{
		{"tiers out of order", "/api/v1/rules/gas-lel/preview", `{"above": {"yellow": 60, "red": 55}}`, 400, "above: red threshold 55 must be higher than yellow threshold 60"},
		{"no level", "/api/v1/rules/gas-lel/preview", `{"above": {"purple": 60}}`, 400, `above: \"purple\" is not a level`},
		{"a bad hold", "/api/v1/rules/gas-lel/preview", `{"for": "ten minutes"}`, 400, `for: want a duration such as 30s or 5m, got \"ten minutes\"`},
		{"an unknown field", "/api/v1/rules/gas-lel/preview", `{"threshold": 3}`, 400, `unknown field \"threshold\"`},
		{"an unknown rule", "/api/v1/rules/nope/preview", `{}`, 404, `rule \"nope\": no such rule`},
		{"an offline rule", "/api/v1/rules/tank-offline/preview", `{}`, 400, "threshold, rate and tangent rules only"},
	} {
		if code, body := f.post(t, c.path, c.body); code != c.code || !strings.Contains(string(body), c.want) {
			t.Errorf("%s: %d %s, want %d and %s", c.name, code, body, c.code, c.want)
		}
	}
}

// TestRuleDetailAPI: GET /api/v1/rules/{name} has the rule's numbers and
// the sensors it binds, each with its level and last evaluation.
func TestRuleDetailAPI(t *testing.T) {
	f := newPreviewFixture(t)
	resp, err := http.Get(f.hs.URL + "/api/v1/rules/gas-lel")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d alerting.RuleDetail
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET: %d %v", resp.StatusCode, err)
	}
	if d.Name != "gas-lel" || d.Description != "可燃气体浓度" || d.Hysteresis != 2 || d.Above["red"] != 50 || d.Match["family"] != "gas" || len(d.Bound) != 2 {
		t.Fatalf("detail: %+v", d)
	}
	if b := d.Bound[0]; b.Sensor != "GT-1" || b.Level != yujing.LevelNone || b.Evaluations != 10080 || b.LastEval == nil || !b.LastEval.Equal(f.now.Add(-time.Minute)) {
		t.Errorf("GT-1 bound: %+v", b)
	}
	if b := d.Bound[1]; b.Sensor != "GT-2" || b.Evaluations != 0 || b.LastEval != nil {
		t.Errorf("GT-2 bound: %+v, never evaluated live", b)
	}
	r2, err := http.Get(f.hs.URL + "/api/v1/rules/nope")
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != 404 {
		t.Errorf("unknown rule: %d", r2.StatusCode)
	}
}

func storeFilter(sensor string) store.AlertFilter {
	return store.AlertFilter{Sensor: sensor, States: []yujing.State{yujing.StateFiring}}
}
