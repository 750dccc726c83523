package web_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/alertingtest"
	"yujing/alerting/lifecycle"
	"yujing/ingest"
	"yujing/store"
	"yujing/store/sqlite"
	"yujing/web"
)

// testClock is a clock a test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// testEngine is the real rule engine over a real state database, with one
// threshold rule per family: gas (%LEL) and dust (°C).
func testEngine(t *testing.T, reg *ingest.Registry, now func() time.Time) *alertingtest.Stack {
	t.Helper()
	st, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tiers := func(blue, yellow, orange, red float64) alerting.Tiers {
		var x alerting.Tiers
		for l, v := range map[yujing.Level]float64{yujing.Blue: blue, yujing.Yellow: yellow, yujing.Orange: orange, yujing.Red: red} {
			x.Value[l], x.Set[l] = v, true
		}
		return x
	}
	return alertingtest.New(t, []*alerting.Rule{
		{Name: "gas", Match: alerting.Selector{Family: yujing.FamilyGas}, Above: tiers(10, 25, 40, 50)},
		{Name: "dust", Match: alerting.Selector{Family: yujing.FamilyDust}, Above: tiers(10, 20, 30, 40)},
	}, st, reg, alertingtest.Options{Engine: alerting.Options{Now: now}})
}

// reportFixture: two sites, four warnings in the last three days (one
// closed as a false alarm at 甲化工厂, one closed as a real hazard at
// 乙粉尘厂, two open there) and one false alarm 40 days ago.
func reportFixture(t *testing.T) (*httptest.Server, time.Time) {
	t.Helper()
	t0 := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	reg, err := ingest.NewRegistry([]yujing.Site{
		{ID: "p1", Name: "甲化工厂", Region: "320506", Industry: "危险化学品"},
		{ID: "p2", Name: "乙粉尘厂", Region: "320581", Industry: "冶金"},
	}, []yujing.Sensor{
		{ID: "G1", Site: "p1", Family: yujing.FamilyGas, Metric: "lel"},
		{ID: "G2", Site: "p2", Family: yujing.FamilyGas, Metric: "lel"},
		{ID: "D1", Site: "p2", Family: yujing.FamilyDust, Metric: "temp", Region: "320581102"},
	})
	if err != nil {
		t.Fatal(err)
	}
	clk := &testClock{t: t0.Add(-40 * 24 * time.Hour)}
	eng := testEngine(t, reg, clk.Now)
	ctx := t.Context()
	read := func(sensor string, v float64) {
		t.Helper()
		sn, _ := reg.ByID(sensor)
		eng.Observe(ctx, []yujing.Reading{{Sensor: sensor, Site: sn.Site, Family: sn.Family, Metric: sn.Metric, Value: v, Time: clk.Now()}})
	}
	closeAs := func(sensor string, reason yujing.CloseReason) {
		t.Helper()
		read(sensor, 0) // cleared: resolved
		as, err := eng.List(ctx, store.AlertFilter{Sensor: sensor, States: []yujing.State{yujing.StateResolved}})
		if err != nil || len(as) != 1 {
			t.Fatalf("resolved alert of %s: %v %v", sensor, as, err)
		}
		if _, err := eng.Close(ctx, as[0].ID, lifecycle.Action{By: "duty-li", Reason: reason, Note: "核查"}); err != nil {
			t.Fatal(err)
		}
	}
	read("G1", 60)
	closeAs("G1", yujing.ReasonFalseAlarm)
	clk.Set(t0.Add(-3 * 24 * time.Hour))
	read("G1", 30) // yellow
	closeAs("G1", yujing.ReasonFalseAlarm)
	read("G2", 60) // red
	closeAs("G2", yujing.ReasonRealHazard)
	clk.Set(t0.Add(-24 * time.Hour))
	read("G2", 45) // orange, open
	read("D1", 15) // blue, open
	clk.Set(t0)
	hs := httptest.NewServer(web.New(web.Options{Alerts: eng, Sensors: reg, Now: clk.Now}).Handler())
	t.Cleanup(hs.Close)
	return hs, t0
}

func TestAlertReport(t *testing.T) {
	hs, t0 := reportFixture(t)
	rate := func(r *float64) string {
		if r == nil {
			return "-"
		}
		return fmt.Sprintf("%.2f", *r)
	}
	// row renders a report row as key name alerts r/o/y/b open closed false-alarms rate.
	row := func(x web.AlertReportRow) string {
		return fmt.Sprintf("%s %s %d %d/%d/%d/%d %d %d %d %s", x.Key, x.Name, x.Alerts, x.Levels.Red, x.Levels.Orange,
			x.Levels.Yellow, x.Levels.Blue, x.Open, x.Closed, x.FalseAlarms, rate(x.FalseAlarmRate))
	}
	cases := []struct {
		query string
		rows  []string
		total string
	}{
		{"", []string{ // by level, red first, the last 30 days
			"red 红色(Ⅰ级) 1 1/0/0/0 0 1 0 0.00",
			"orange 橙色(Ⅱ级) 1 0/1/0/0 1 0 0 -",
			"yellow 黄色(Ⅲ级) 1 0/0/1/0 0 1 1 1.00",
			"blue 蓝色(Ⅳ级) 1 0/0/0/1 1 0 0 -",
		}, "total  4 1/1/1/1 2 2 1 0.50"},
		{"?by=site", []string{
			"p2 乙粉尘厂 3 1/1/0/1 2 1 0 0.00",
			"p1 甲化工厂 1 0/0/1/0 0 1 1 1.00",
		}, "total  4 1/1/1/1 2 2 1 0.50"},
		{"?by=family", []string{"gas  3 1/1/1/0 1 2 1 0.50", "dust  1 0/0/0/1 1 0 0 -"}, "total  4 1/1/1/1 2 2 1 0.50"},
		// A sensor's own region (a township) wins over its site's.
		{"?by=region", []string{"320581  2 1/1/0/0 1 1 0 0.00", "320506  1 0/0/1/0 0 1 1 1.00", "320581102  1 0/0/0/1 1 0 0 -"}, "total  4 1/1/1/1 2 2 1 0.50"},
		{"?by=industry", []string{"冶金  3 1/1/0/1 2 1 0 0.00", "危险化学品  1 0/0/1/0 0 1 1 1.00"}, "total  4 1/1/1/1 2 2 1 0.50"},
		// 50 days back takes in the false alarm of 40 days ago.
		{"?by=site&from=" + url.QueryEscape(t0.Add(-50*24*time.Hour).Format(time.RFC3339)), []string{
			"p2 乙粉尘厂 3 1/1/0/1 2 1 0 0.00",
			"p1 甲化工厂 2 1/0/1/0 0 2 2 1.00",
		}, "total  5 2/1/1/1 2 3 2 0.67"},
		// Only the 40-day-old one.
		{"?by=level&from=" + url.QueryEscape(t0.Add(-41*24*time.Hour).Format(time.RFC3339)) + "&to=" + url.QueryEscape(t0.Add(-39*24*time.Hour).Format(time.RFC3339)),
			[]string{"red 红色(Ⅰ级) 1 1/0/0/0 0 1 1 1.00"}, "total  1 1/0/0/0 0 1 1 1.00"},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			var rep web.AlertReport
			if code := getInto(t, hs.URL+"/api/v1/reports/alerts"+c.query, &rep); code != 200 {
				t.Fatalf("status %d", code)
			}
			var got []string
			for _, r := range rep.Rows {
				got = append(got, row(r))
			}
			if strings.Join(got, "\n") != strings.Join(c.rows, "\n") {
				t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.rows, "\n"))
			}
			if g := row(rep.Total); g != c.total {
				t.Errorf("total %q, want %q", g, c.total)
			}
		})
	}

	// The false-alarm rate per site comes with every report, worst first.
	var rep web.AlertReport
	getInto(t, hs.URL+"/api/v1/reports/alerts?by=family", &rep)
	var sites []string
	for _, s := range rep.Sites {
		sites = append(sites, row(s))
	}
	if want := "p1 甲化工厂 1 0/0/1/0 0 1 1 1.00|p2 乙粉尘厂 3 1/1/0/1 2 1 0 0.00"; strings.Join(sites, "|") != want {
		t.Errorf("sites %v, want %s", sites, want)
	}
	if !rep.To.Equal(t0) || !rep.From.Equal(t0.Add(-30*24*time.Hour)) || rep.By != "family" {
		t.Errorf("period %s – %s by %s, want the 30 days to now by family", rep.From, rep.To, rep.By)
	}
}

func TestAlertReportCSV(t *testing.T) {
	hs, _ := reportFixture(t)
	resp, err := http.Get(hs.URL + "/api/v1/reports/alerts.csv?by=site&from=2025-06-01T00:00:00%2B08:00&to=2025-07-01T12:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="yujing-alerts-by-site-20250601-20250701.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	// A byte order mark first, for spreadsheet programs to read UTF-8.
	rest, ok := bytes.CutPrefix(body, []byte("\uFEFF"))
	if !ok {
		t.Fatalf("no UTF-8 byte order mark: %q", body[:min(8, len(body))])
	}
	recs, err := csv.NewReader(bytes.NewReader(rest)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"site", "name", "alerts", "red", "orange", "yellow", "blue", "open", "closed", "false_alarms", "false_alarm_rate"},
		{"p2", "乙粉尘厂", "3", "1", "1", "0", "1", "2", "1", "0", "0.0000"},
		{"p1", "甲化工厂", "1", "0", "0", "1", "0", "0", "1", "1", "1.0000"},
		{"total", "", "4", "1", "1", "1", "1", "2", "2", "1", "0.5000"},
	}
	if fmt.Sprint(recs) != fmt.Sprint(want) {
		t.Errorf("CSV:\n%v\nwant\n%v", recs, want)
	}
}

func TestAlertReportErrors(t *testing.T) {
	hs, _ := reportFixture(t)
	for _, c := range []struct{ query, want string }{
		{"?by=person", `by: want one of [level family region industry site], got "person"`},
		{"?from=last-week", `from: want an RFC 3339 time`},
		{"?to=2025-07-01T08", `to: want an RFC 3339 time`},
		{"?from=2025-07-02T00:00:00Z&to=2025-07-01T00:00:00Z", "from: 2025-07-02T00:00:00Z is not before to 2025-07-01T00:00:00Z"},
		{"?from=2023-01-01T00:00:00Z&to=2025-07-01T00:00:00Z", "longer than 366 days"},
	} {
		for _, path := range []string{"/api/v1/reports/alerts", "/api/v1/reports/alerts.csv"} {
			var e struct{ Error string }
			if code := getInto(t, hs.URL+path+c.query, &e); code != 400 || !strings.Contains(e.Error, c.want) {
				t.Errorf("GET %s%s: %d %q, want 400 with %q", path, c.query, code, e.Error, c.want)
			}
		}
	}
}

// TestAlertReportPages: a report counts every warning of its period, more
// than one page of the alert list.
func TestAlertReportPages(t *testing.T) {
	if testing.Short() {
		t.Skip("raises 1100 warnings")
	}
	const n = 1100
	var sensors []yujing.Sensor
	for i := range n {
		sensors = append(sensors, yujing.Sensor{ID: fmt.Sprintf("S%04d", i), Site: "p", Family: yujing.FamilyGas, Metric: "lel"})
	}
	reg, _ := ingest.NewRegistry([]yujing.Site{{ID: "p", Name: "园区"}}, sensors)
	eng := testEngine(t, reg, time.Now)
	var batch []yujing.Reading
	for _, s := range sensors {
		batch = append(batch, yujing.Reading{Sensor: s.ID, Site: "p", Family: yujing.FamilyGas, Metric: "lel", Value: 30, Time: time.Now()})
	}
	eng.Observe(t.Context(), batch)
	hs := httptest.NewServer(web.New(web.Options{Alerts: eng, Sensors: reg}).Handler())
	defer hs.Close()
	var rep web.AlertReport
	getInto(t, hs.URL+"/api/v1/reports/alerts?by=site", &rep)
	if len(rep.Rows) != 1 || rep.Rows[0].Alerts != n || rep.Rows[0].Levels.Yellow != n || rep.Total.Open != n {
		t.Fatalf("report %+v, want %d yellow warnings at p", rep.Rows, n)
	}
}
