package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"yujing"
	"yujing/alerting/issued"
)

// TestAnswerReportByArea: the answer report per area of the warnings
// (by=area), and filtered by their source (source=cap, rules) and area
// (area=…), over two warnings issued in CAP for two townships and a gas
// warning at a plant in one of them:
//
//   - 08:00 a red CAP warning for 东山街道 (320115001): 张伟 and 赵敏 are
//     called, 张伟 answers after 40 s;
//   - 08:30 an orange CAP warning for 淳化街道 (320115002): 王芳, then 李强,
//     nobody answers: the chain reaches its top;
//   - 09:00 a red gas warning at 甲厂 (in 320115001): 张伟, 赵敏, 李强, 陈刚,
//     nobody answers.
func TestAnswerReportByArea(t *testing.T) {
	w := newAnswerWorld(t, day(1, 8, 0, 0), answerPolicies())
	ctx := context.Background()
	iw, err := issued.New(w.eng.Alerts, w.st, issued.Options{Now: w.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	raise := func(key, region string, l yujing.Level) {
		t.Helper()
		if _, err := iw.Raise(ctx, issued.Warning{Source: "cap", Key: key, Level: l, Region: region, Title: "暴雨预警"}); err != nil {
			t.Fatal(err)
		}
		w.esc.Step(ctx)
	}
	raise("A#320115001", "320115001", yujing.Red)
	w.at(day(1, 8, 0, 40))
	w.answer("A#320115001", "zhang")
	w.at(day(1, 8, 30, 0))
	raise("B#320115002", "320115002", yujing.Orange)
	w.at(day(1, 8, 36, 0))
	w.at(day(1, 8, 42, 0))
	w.at(day(1, 9, 0, 0))
	w.read("gas-1", 60)
	for _, m := range []int{6, 12, 18} {
		w.at(day(1, 9, m, 0))
	}
	w.at(day(1, 10, 0, 0))

	for _, c := range []struct {
		name string
		q    url.Values
		want []string
	}{
		{"CAP warnings by area", url.Values{"by": {"area"}, "source": {"cap"}}, []string{
			"320115001,,2,1,1,0,0,0,0,0,0,0,1.0000,40.0,40.0",
			"320115002,,2,0,0,2,0,0,0,0,0,0,0.0000,,",
			"total,,4,1,1,2,0,0,0,0,0,0,0.3333,40.0,40.0",
		}},
		{"every warning by area", url.Values{"by": {"area"}}, []string{
			"320115001,,6,1,1,4,0,0,0,0,0,0,0.2000,40.0,40.0",
			"320115002,,2,0,0,2,0,0,0,0,0,0,0.0000,,",
			"total,,8,1,1,6,0,0,0,0,0,0,0.1429,40.0,40.0",
		}},
		{"the rule engine's by area", url.Values{"by": {"area"}, "source": {"rules"}}, []string{
			"320115001,,4,0,0,4,0,0,0,0,0,0,0.0000,,",
			"total,,4,0,0,4,0,0,0,0,0,0,0.0000,,",
		}},
		{"CAP warnings by area, rolled up", url.Values{"by": {"area"}, "source": {"cap"}, "rollup": {"1"}}, []string{
			"320000,,4,1,1,2,0,0,0,0,0,0,0.3333,40.0,40.0",
			"320100,,4,1,1,2,0,0,0,0,0,0,0.3333,40.0,40.0",
			"320115,,4,1,1,2,0,0,0,0,0,0,0.3333,40.0,40.0",
			"320115001,,2,1,1,0,0,0,0,0,0,0,1.0000,40.0,40.0",
			"320115002,,2,0,0,2,0,0,0,0,0,0,0.0000,,",
			"total,,4,1,1,2,0,0,0,0,0,0,0.3333,40.0,40.0",
		}},
		{"who was reached in 东山街道, CAP warnings", url.Values{"by": {"person"}, "source": {"cap"}, "area": {"320115001"}}, []string{
			"zhang,张伟,1,1,0,0,0,0,0,0,0,0,1.0000,40.0,40.0",
			"zhao,赵敏,1,0,1,0,0,0,0,0,0,0,,,",
			"total,,2,1,1,0,0,0,0,0,0,0,1.0000,40.0,40.0",
		}},
		{"a county's area holds its townships'", url.Values{"by": {"person"}, "source": {"cap"}, "area": {"320115"}}, []string{
			"li,李强,1,0,0,1,0,0,0,0,0,0,0.0000,,",
			"wang,王芳,1,0,0,1,0,0,0,0,0,0,0.0000,,",
			"zhang,张伟,1,1,0,0,0,0,0,0,0,0,1.0000,40.0,40.0",
			"zhao,赵敏,1,0,1,0,0,0,0,0,0,0,,,",
			"total,,4,1,1,2,0,0,0,0,0,0,0.3333,40.0,40.0",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.q.Set("from", "2026-07-01")
			got, code := getReport(t, w.api, c.q)
			if code != http.StatusOK || !slices.Equal(got, c.want) {
				t.Errorf("JSON rows (%d):\n%s\nwant:\n%s", code, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			gotCSV := getReportCSV(t, w.api, c.q)
			wantCSV := append([]string{c.q.Get("by") + ",name," + answerColumns}, c.want...)
			if !slices.Equal(gotCSV, wantCSV) {
				t.Errorf("CSV:\n%s\nwant:\n%s", strings.Join(gotCSV, "\n"), strings.Join(wantCSV, "\n"))
			}
		})
	}
	// The warnings whose chain reached the top, of CAP only: 淳化街道's.
	var rep struct {
		TopReached []struct {
			Site   string `json:"site"`
			Sensor string `json:"sensor"`
		} `json:"top_reached"`
	}
	getJSONQ(t, w.api, url.Values{"by": {"area"}, "source": {"cap"}, "from": {"2026-07-01"}}, &rep)
	if len(rep.TopReached) != 1 || rep.TopReached[0].Site != "region:320115002" || rep.TopReached[0].Sensor != "B#320115002" {
		t.Errorf("top reached %+v, want the orange CAP warning of 320115002 only", rep.TopReached)
	}
	if _, code := getReport(t, w.api, url.Values{"by": {"area"}, "area": {"3201"}, "from": {"2026-07-01"}}); code != http.StatusBadRequest {
		t.Errorf("area=3201: %d, want 400", code)
	}
}

// getJSONQ reads the answer report's JSON into v.
func getJSONQ(t *testing.T, api string, q url.Values, v any) {
	t.Helper()
	resp, err := http.Get(api + "/api/v1/reports/answers?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("report: %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// The answer page of a call about an issued warning shows its headline,
// its text and its area, not a site, a sensor and a value.
func TestAnswerPageOfIssuedWarning(t *testing.T) {
	w := newAnswerWorld(t, day(1, 8, 0, 0), answerPolicies())
	ctx := context.Background()
	iw, err := issued.New(w.eng.Alerts, w.st, issued.Options{Now: w.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iw.Raise(ctx, issued.Warning{Source: "cap", Key: "A#320115001", Level: yujing.Red, Region: "320115001",
		Title: "江宁区气象台发布暴雨红色预警信号（江宁区东山街道）", Summary: "过去3小时降雨量已达100毫米以上。防御指南：停止集会、停课、停业。"}); err != nil {
		t.Fatal(err)
	}
	w.esc.Step(ctx)
	calls, err := w.esc.CallsFor(ctx, w.alertOf("A#320115001").ID)
	if err != nil || len(calls) == 0 {
		t.Fatalf("calls: %v %v", calls, err)
	}
	resp, err := http.Post(w.api+"/api/v1/calls/"+calls[0].ID+"/link", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var link struct {
		AnswerURL string `json:"answer_url"`
	}
	err = json.NewDecoder(resp.Body).Decode(&link)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("link: %d %v", resp.StatusCode, err)
	}
	resp, err = http.Get(w.api + link.AnswerURL[strings.Index(link.AnswerURL, "/answer/"):])
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"<h1>江宁区气象台发布暴雨红色预警信号（江宁区东山街道）</h1>", `<p id="body">过去3小时降雨量已达100毫米以上。防御指南：停止集会、停课、停业。</p>`,
		"<dt>区域</dt><dd>320115001</dd>"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the answer page lacks %s:\n%s", want, page)
		}
	}
	for _, not := range []string{"监测点", "region:"} {
		if strings.Contains(string(page), not) {
			t.Errorf("the answer page shows %q:\n%s", not, page)
		}
	}
}

// The alert list's region filter and the alert report by region hold
// the warnings issued for areas: a CAP warning for 淳化街道 (320115002) is
// in region 320115 beside 甲厂's gas warning (320115001), and in its own
// row of the report.
func TestAlertListAndReportHoldAreas(t *testing.T) {
	w := newAnswerWorld(t, day(1, 8, 0, 0), answerPolicies())
	ctx := context.Background()
	iw, err := issued.New(w.eng.Alerts, w.st, issued.Options{Now: w.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iw.Raise(ctx, issued.Warning{Source: "cap", Key: "B#320115002", Level: yujing.Orange, Region: "320115002", Title: "暴雨橙色预警"}); err != nil {
		t.Fatal(err)
	}
	w.read("gas-1", 60)
	w.at(day(1, 8, 1, 0))
	for _, c := range []struct{ region, want string }{
		{"320115", "B#320115002,gas-1"},
		{"320115002", "B#320115002"},
		{"320115001", "gas-1"},
		{"3202", ""},
	} {
		resp, err := http.Get(w.api + "/api/v1/alerts?region=" + c.region)
		if err != nil {
			t.Fatal(err)
		}
		var as []yujing.Alert
		err = json.NewDecoder(resp.Body).Decode(&as)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range as {
			got = append(got, a.Sensor)
		}
		slices.Sort(got)
		if strings.Join(got, ",") != c.want {
			t.Errorf("region=%s: %v, want %s", c.region, got, c.want)
		}
	}
	resp, err := http.Get(w.api + "/api/v1/reports/alerts?by=region&from=2026-07-01")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Rows []struct {
			Key    string `json:"key"`
			Alerts int    `json:"alerts"`
		} `json:"rows"`
	}
	err = json.NewDecoder(resp.Body).Decode(&rep)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rep.Rows) != "[{320115001 1} {320115002 1}]" {
		t.Errorf("alert report by region %v, want one row per area", rep.Rows)
	}
}
