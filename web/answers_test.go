package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/alertingtest"
	"yujing/alerting/escalate"
	"yujing/alerting/lifecycle"
	"yujing/duty"
	"yujing/ingest"
	"yujing/notify"
	"yujing/notify/webhook"
	"yujing/store"
	"yujing/store/sqlite"
	"yujing/store/sqlstate"
	"yujing/web"
)

// answerWorld is call-and-answer with real parts on a test clock: the
// SQLite state, the rule engine, the escalation engine, the notify outbox
// delivering through the webhook channel to a server on loopback, the
// directory (an org tree city → county → township → enterprise), and the
// API in front of them.
type answerWorld struct {
	t   *testing.T
	clk *testClock
	st  *sqlstate.State
	reg *ingest.Registry
	eng *alertingtest.Stack
	esc *escalate.Engine
	ob  *notify.Outbox
	api string
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// answerDirectory: 张伟, 赵敏 and 王芳 work at the enterprise 某化工有限公司,
// under the township 东山街道 (李强), under the county 江宁区 (陈刚), under
// the city 南京市.
func answerDirectory(t *testing.T) *duty.Directory {
	t.Helper()
	d, err := duty.New(duty.Spec{
		People: []yujing.Person{
			{ID: "zhang", Name: "张伟", Org: "acme"},
			{ID: "zhao", Name: "赵敏", Org: "acme"},
			{ID: "wang", Name: "王芳", Org: "acme"},
			{ID: "li", Name: "李强", Org: "ds"},
			{ID: "chen", Name: "陈刚", Org: "jn"},
		},
		Orgs: []duty.Org{
			{ID: "nj", Name: "南京市应急管理局", Kind: "city", Region: "320100"},
			{ID: "jn", Name: "江宁区应急管理局", Kind: "county", Parent: "nj", Region: "320115"},
			{ID: "ds", Name: "东山街道办事处", Kind: "township", Parent: "jn", Region: "320115001"},
			{ID: "acme", Name: "某化工有限公司", Kind: "enterprise", Parent: "ds", Sites: []string{"plant-a"}},
		},
		Sites:    []yujing.Site{{ID: "plant-a", Name: "甲厂", Region: "320115001"}},
		Location: shanghai,
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func person(ids ...string) []escalate.Target {
	var out []escalate.Target
	for _, id := range ids {
		out = append(out, escalate.Target{Person: id})
	}
	return out
}

func newAnswerWorld(t *testing.T, start time.Time, set escalate.Settings) *answerWorld {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &answerWorld{t: t, clk: &testClock{t: start}}
	st, err := sqlite.OpenState(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	w.st = st
	var sensors []yujing.Sensor
	for i := 1; i <= 6; i++ {
		sensors = append(sensors, yujing.Sensor{ID: fmt.Sprintf("gas-%d", i), Site: "plant-a", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL"})
	}
	if w.reg, err = ingest.NewRegistry([]yujing.Site{{ID: "plant-a", Name: "甲厂", Region: "320115001"}}, sensors); err != nil {
		t.Fatal(err)
	}
	phones := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { rw.WriteHeader(http.StatusNoContent) }))
	im, err := webhook.New(webhook.Config{Name: "im", URL: phones.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	journal, err := notify.NewJournal(st, notify.OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	disp, err := notify.New([]notify.Channel{im}, notify.Options{OnResult: journal.Result})
	if err != nil {
		t.Fatal(err)
	}
	if w.ob, err = notify.NewOutbox(journal, disp); err != nil {
		t.Fatal(err)
	}
	disp.Run(ctx)
	var tiers alerting.Tiers
	for l, v := range map[yujing.Level]float64{yujing.Orange: 25, yujing.Red: 50} {
		tiers.Value[l], tiers.Set[l] = v, true
	}
	dir := answerDirectory(t)
	w.eng = alertingtest.New(t, []*alerting.Rule{{Name: "gas", Match: alerting.Selector{Family: yujing.FamilyGas}, Above: tiers, Hysteresis: 1}},
		st, w.reg, alertingtest.Options{Engine: alerting.Options{Now: w.clk.Now}, Escalation: set, Directory: dir, Calls: w.ob,
			CallOptions: escalate.Options{Logger: slog.New(slog.DiscardHandler), Covers: duty.RegionCovers}})
	w.esc = w.eng.Escalate
	hs := httptest.NewServer(web.New(web.Options{Alerts: w.eng, Sensors: w.reg, Escalations: w.esc, Reports: st, People: dir,
		Calls: web.NewCalls(w.esc), Now: w.clk.Now, Location: shanghai}).Handler())
	w.api = hs.URL
	t.Cleanup(func() {
		hs.Close()
		_ = disp.Stop(context.Background())
		cancel()
		phones.Close()
		_ = st.Close()
	})
	return w
}

// read feeds one gas reading at the clock's time and lets the escalation
// engine act on it.
func (w *answerWorld) read(sensor string, v float64) {
	w.t.Helper()
	w.eng.Observe(context.Background(), []yujing.Reading{{Sensor: sensor, Site: "plant-a", Family: yujing.FamilyGas,
		Metric: "lel", Unit: "%LEL", Value: v, Time: w.clk.Now()}}) // and Step
}

// at sets the clock and lets the escalation engine act.
func (w *answerWorld) at(t time.Time) {
	w.clk.Set(t)
	w.esc.Step(context.Background())
}

// alertOf is the (one) alert of a sensor.
func (w *answerWorld) alertOf(sensor string) yujing.Alert {
	w.t.Helper()
	as, err := w.eng.List(context.Background(), store.AlertFilter{Sensor: sensor})
	if err != nil || len(as) != 1 {
		w.t.Fatalf("alerts of %s: %v %v", sensor, as, err)
	}
	return as[0]
}

// answer answers, as the person, the newest call to them about the
// sensor's alert.
func (w *answerWorld) answer(sensor, person string) {
	w.t.Helper()
	calls, err := w.esc.CallsFor(context.Background(), w.alertOf(sensor).ID)
	if err != nil {
		w.t.Fatal(err)
	}
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].Person == person {
			if _, err := w.esc.Answer(context.Background(), calls[i].ID, escalate.AnswerInput{Channel: escalate.ViaLink}); err != nil {
				w.t.Fatal(err)
			}
			w.esc.Step(context.Background())
			return
		}
	}
	w.t.Fatalf("no call to %s about %s", person, sensor)
}

func answerPolicies() escalate.Settings {
	return escalate.Settings{BaseURL: "http://yj.test", Policies: []escalate.Policy{
		{Name: "red", Levels: []yujing.Level{yujing.Red}, ContinueAfterResolve: true, Steps: []escalate.Step{
			{Targets: person("zhang", "zhao"), Ladder: []string{"im"}, Deadline: 5 * time.Minute},
			{Targets: person("li"), Ladder: []string{"im"}, Deadline: 5 * time.Minute},
			{Targets: person("chen"), Ladder: []string{"im"}, Deadline: 5 * time.Minute},
		}},
		{Name: "orange", Levels: []yujing.Level{yujing.Orange}, Steps: []escalate.Step{
			{Targets: person("wang"), Ladder: []string{"im"}, Deadline: 5 * time.Minute},
			{Targets: person("li"), Ladder: []string{"im"}, Deadline: 5 * time.Minute},
		}},
	}}
}

// day is a time on a day of July 2026 (June 30 as day 0) in Shanghai.
func day(d, hour, minute, sec int) time.Time {
	return time.Date(2026, 7, d, hour, minute, sec, 0, shanghai)
}

// answerScenario runs six warnings, one chain each, over a fortnight:
//
//  1. (June 30) red: 张伟 answers step 1 after 30 s; 赵敏, called with
//     him, is answered for by a colleague;
//  2. (July 12, a Sunday) red: nobody answers, step 2 (李强, township) and
//     step 3 (陈刚, county) neither: the chain reaches its top;
//  3. (July 12) orange: 王芳 is called, the reading clears a second later:
//     the chain stops, resolved;
//  4. (July 13, a Monday) red, whose policy calls on after the reading
//     clears: 张伟 and 赵敏 are called, an operator closes it a minute later:
//     stopped, closed;
//  5. (July 13) orange: 王芳 is called; a minute later it turns red: her
//     chain is superseded; the red one calls 张伟 and 赵敏, 赵敏 answers
//     after two minutes;
//  6. (July 13, 11:00) red: 张伟 and 赵敏 are called and the report is
//     read two minutes later, their deadline still ahead: pending.
func answerScenario(t *testing.T) *answerWorld {
	w := newAnswerWorld(t, day(0, 10, 0, 0), answerPolicies())
	ctx := context.Background()
	w.read("gas-1", 60)
	w.at(day(0, 10, 0, 30))
	w.answer("gas-1", "zhang")
	w.at(day(0, 10, 20, 0))

	w.at(day(12, 10, 0, 0))
	w.read("gas-2", 60)
	for _, m := range []int{5, 10, 15} {
		w.at(day(12, 10, m, 0))
	}

	w.at(day(12, 11, 0, 0))
	w.read("gas-3", 30)
	w.at(day(12, 11, 0, 1))
	w.read("gas-3", 0)
	w.at(day(12, 11, 20, 0))

	w.at(day(13, 9, 0, 0))
	w.read("gas-4", 60)
	w.at(day(13, 9, 0, 1))
	w.read("gas-4", 0)
	w.at(day(13, 9, 1, 0))
	if _, err := w.eng.Close(ctx, w.alertOf("gas-4").ID, lifecycle.Action{By: "duty-li", Reason: yujing.ReasonFalseAlarm, Note: "核查：探头受潮"}); err != nil {
		t.Fatal(err)
	}
	w.at(day(13, 9, 20, 0))

	w.at(day(13, 10, 0, 0))
	w.read("gas-5", 30)
	w.at(day(13, 10, 1, 0))
	w.read("gas-5", 60)
	w.at(day(13, 10, 3, 0))
	w.answer("gas-5", "zhao")
	w.at(day(13, 10, 20, 0))

	w.at(day(13, 11, 0, 0))
	w.read("gas-6", 60)
	w.at(day(13, 11, 2, 0))
	return w
}

// answerColumns are the figures of a report row as its CSV line has them.
const answerColumns = "calls,answered,answered_by_colleague,unanswered,pending,stopped,stopped_resolved,stopped_superseded,stopped_closed,stopped_other,answer_rate,median_seconds,p90_seconds"

// answerRow is one row of the answer report's JSON.
type answerRow struct {
	Key        string   `json:"key"`
	Name       string   `json:"name"`
	Calls      int      `json:"calls"`
	Answered   int      `json:"answered"`
	Colleague  int      `json:"answered_by_colleague"`
	Unanswered int      `json:"unanswered"`
	Pending    int      `json:"pending"`
	Stopped    int      `json:"stopped"`
	Resolved   int      `json:"stopped_resolved"`
	Superseded int      `json:"stopped_superseded"`
	Closed     int      `json:"stopped_closed"`
	Other      int      `json:"stopped_other"`
	Rate       *float64 `json:"answer_rate"`
	Median     *float64 `json:"median_seconds"`
	P90        *float64 `json:"p90_seconds"`
}

// line writes a JSON row as the CSV writes it.
func (r answerRow) line() string {
	f := func(v *float64, prec int) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', prec, 64)
	}
	n := []int{r.Calls, r.Answered, r.Colleague, r.Unanswered, r.Pending, r.Stopped, r.Resolved, r.Superseded, r.Closed, r.Other}
	var b strings.Builder
	b.WriteString(r.Key + "," + r.Name)
	for _, x := range n {
		b.WriteString("," + strconv.Itoa(x))
	}
	b.WriteString("," + f(r.Rate, 4) + "," + f(r.Median, 1) + "," + f(r.P90, 1))
	return b.String()
}

func getReport(t *testing.T, api string, q url.Values) (rows []string, code int) {
	t.Helper()
	resp, err := http.Get(api + "/api/v1/reports/answers?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep struct {
		Rows  []answerRow `json:"rows"`
		Total answerRow   `json:"total"`
	}
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode
	}
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	for _, r := range append(rep.Rows, rep.Total) {
		rows = append(rows, r.line())
	}
	return rows, resp.StatusCode
}

func getReportCSV(t *testing.T, api string, q url.Values) []string {
	t.Helper()
	resp, err := http.Get(api + "/api/v1/reports/answers.csv?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	recs, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("CSV: %d %v", resp.StatusCode, err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, strings.TrimPrefix(strings.Join(r, ","), "\ufeff"))
	}
	return out
}

// Each grouping of the answer report (person, org with and without the
// roll-up of the org tree, region with and without, level, day, week,
// month), in JSON and in CSV, over the six chains of answerScenario: every
// call is answered, answered by a colleague, unanswered (deadline passed),
// pending (deadline ahead) or stopped (resolved, superseded, closed), and
// the answer rate is answered / (answered + unanswered).
func TestAnswerReportGroupings(t *testing.T) {
	w := answerScenario(t)
	const total = "total,,14,2,2,4,2,4,1,1,2,0,0.3333,75.0,111.0"
	for _, c := range []struct {
		by     string
		rollup bool
		want   []string
	}{
		{by: "person", want: []string{
			"chen,陈刚,1,0,0,1,0,0,0,0,0,0,0.0000,,",
			"li,李强,1,0,0,1,0,0,0,0,0,0,0.0000,,",
			"wang,王芳,2,0,0,0,0,2,1,1,0,0,,,",
			"zhang,张伟,5,1,1,1,1,1,0,0,1,0,0.5000,30.0,30.0",
			"zhao,赵敏,5,1,1,1,1,1,0,0,1,0,0.5000,120.0,120.0",
		}},
		{by: "org", want: []string{
			"acme,某化工有限公司,12,2,2,2,2,4,1,1,2,0,0.5000,75.0,111.0",
			"ds,东山街道办事处,1,0,0,1,0,0,0,0,0,0,0.0000,,",
			"jn,江宁区应急管理局,1,0,0,1,0,0,0,0,0,0,0.0000,,",
		}},
		{by: "org", rollup: true, want: []string{
			"acme,某化工有限公司,12,2,2,2,2,4,1,1,2,0,0.5000,75.0,111.0",
			"ds,东山街道办事处,13,2,2,3,2,4,1,1,2,0,0.4000,75.0,111.0",
			"jn,江宁区应急管理局,14,2,2,4,2,4,1,1,2,0,0.3333,75.0,111.0",
			"nj,南京市应急管理局,14,2,2,4,2,4,1,1,2,0,0.3333,75.0,111.0",
		}},
		{by: "region", want: []string{
			"320115,,1,0,0,1,0,0,0,0,0,0,0.0000,,",
			"320115001,,13,2,2,3,2,4,1,1,2,0,0.4000,75.0,111.0",
		}},
		{by: "region", rollup: true, want: []string{
			"320000,,14,2,2,4,2,4,1,1,2,0,0.3333,75.0,111.0",
			"320100,,14,2,2,4,2,4,1,1,2,0,0.3333,75.0,111.0",
			"320115,,14,2,2,4,2,4,1,1,2,0,0.3333,75.0,111.0",
			"320115001,,13,2,2,3,2,4,1,1,2,0,0.4000,75.0,111.0",
		}},
		{by: "level", want: []string{
			"red," + yujing.Red.Chinese() + ",12,2,2,4,2,2,0,0,2,0,0.3333,75.0,111.0",
			"orange," + yujing.Orange.Chinese() + ",2,0,0,0,0,2,1,1,0,0,,,",
		}},
		{by: "day", want: []string{
			"2026-06-30,,2,1,1,0,0,0,0,0,0,0,1.0000,30.0,30.0",
			"2026-07-12,,5,0,0,4,0,1,1,0,0,0,0.0000,,",
			"2026-07-13,,7,1,1,0,2,3,0,1,2,0,1.0000,120.0,120.0",
		}},
		{by: "week", want: []string{
			"2026-W27,,2,1,1,0,0,0,0,0,0,0,1.0000,30.0,30.0",
			"2026-W28,,5,0,0,4,0,1,1,0,0,0,0.0000,,",
			"2026-W29,,7,1,1,0,2,3,0,1,2,0,1.0000,120.0,120.0",
		}},
		{by: "month", want: []string{
			"2026-06,,2,1,1,0,0,0,0,0,0,0,1.0000,30.0,30.0",
			"2026-07,,12,1,1,4,2,4,1,1,2,0,0.2000,120.0,120.0",
		}},
	} {
		name := c.by
		q := url.Values{"by": {c.by}, "from": {"2026-06-01"}}
		if c.rollup {
			name += "+rollup"
			q.Set("rollup", "1")
		}
		t.Run(name, func(t *testing.T) {
			want := append(slices.Clone(c.want), total)
			got, code := getReport(t, w.api, q)
			if code != http.StatusOK || !slices.Equal(got, want) {
				t.Errorf("JSON rows (%d):\n%s\nwant:\n%s", code, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			gotCSV := getReportCSV(t, w.api, q)
			wantCSV := append([]string{c.by + ",name," + answerColumns}, want...)
			if !slices.Equal(gotCSV, wantCSV) {
				t.Errorf("CSV:\n%s\nwant:\n%s", strings.Join(gotCSV, "\n"), strings.Join(wantCSV, "\n"))
			}
		})
	}
	// A roll-up is of the org tree or of the region codes only.
	for _, by := range []string{"person", "level", "day"} {
		if _, code := getReport(t, w.api, url.Values{"by": {by}, "rollup": {"1"}, "from": {"2026-06-01"}}); code != http.StatusBadRequest {
			t.Errorf("by=%s&rollup=1: %d, want 400", by, code)
		}
	}
}

// The alert detail gives each call its outcome, as the report counts it,
// so that the console marks 超时未应答 only where the deadline passed
// unanswered.
func TestAlertDetailCallOutcomes(t *testing.T) {
	w := answerScenario(t)
	for _, c := range []struct {
		sensor string
		want   []string // person:outcome in the order of the calls
	}{
		{"gas-1", []string{"zhang:answered", "zhao:answered_by_colleague"}},
		{"gas-2", []string{"zhang:unanswered", "zhao:unanswered", "li:unanswered", "chen:unanswered"}},
		{"gas-3", []string{"wang:stopped_resolved"}},
		{"gas-4", []string{"zhang:stopped_closed", "zhao:stopped_closed"}},
		{"gas-5", []string{"wang:stopped_superseded", "zhang:answered_by_colleague", "zhao:answered"}},
		{"gas-6", []string{"zhang:pending", "zhao:pending"}},
	} {
		resp, err := http.Get(fmt.Sprintf("%s/api/v1/alerts/%d", w.api, w.alertOf(c.sensor).ID))
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Calls []struct {
				Person  string `json:"person"`
				Outcome string `json:"outcome"`
			} `json:"calls"`
		}
		err = json.NewDecoder(resp.Body).Decode(&d)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range d.Calls {
			got = append(got, x.Person+":"+x.Outcome)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: calls %v, want %v", c.sensor, got, c.want)
		}
	}
}

// The skew the counties were assessed on: a sensor that flaps thirteen
// times, each warning calling three people and clearing a second later,
// the first one answered by 张伟 half a second after the call. Before, the
// report said 39 calls, 1 answered, 2.6 %; the 36 calls of chains that
// stopped are not misses, nor are the two colleagues of the one who
// answered.
func TestAnswerRateNotSkewedByStoppedChains(t *testing.T) {
	set := escalate.Settings{BaseURL: "http://yj.test", Policies: []escalate.Policy{
		{Name: "red", Levels: []yujing.Level{yujing.Red}, Steps: []escalate.Step{
			{Targets: person("zhang", "zhao", "wang"), Ladder: []string{"im"}, Deadline: 5 * time.Minute},
		}},
	}}
	t0 := day(13, 8, 0, 0)
	w := newAnswerWorld(t, t0, set)
	for i := range 13 {
		at := t0.Add(time.Duration(i) * 10 * time.Minute)
		w.at(at)
		w.read("gas-1", 60)
		if i == 0 {
			w.at(at.Add(500 * time.Millisecond))
			w.answer("gas-1", "zhang")
		}
		w.at(at.Add(time.Second))
		w.read("gas-1", 0)
	}
	w.at(t0.Add(3 * time.Hour)) // every deadline long past
	got, code := getReport(t, w.api, url.Values{"by": {"person"}, "from": {"2026-07-13"}})
	want := []string{
		"wang,王芳,13,0,1,0,0,12,12,0,0,0,,,",
		"zhang,张伟,13,1,0,0,0,12,12,0,0,0,1.0000,0.5,0.5",
		"zhao,赵敏,13,0,1,0,0,12,12,0,0,0,,,",
		"total,,39,1,2,0,0,36,36,0,0,0,1.0000,0.5,0.5",
	}
	if code != http.StatusOK || !slices.Equal(got, want) {
		t.Errorf("report (%d):\n%s\nwant:\n%s", code, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// An administrator can be handed a call's answer link (POST
// /api/v1/calls/{id}/link), and the link answers the call; an unknown call
// is 404.
func TestCallLink(t *testing.T) {
	w := answerScenario(t)
	resp, err := http.Get(fmt.Sprintf("%s/api/v1/alerts/%d", w.api, w.alertOf("gas-6").ID))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Calls []struct {
			ID      string `json:"id"`
			Person  string `json:"person"`
			Outcome string `json:"outcome"`
		} `json:"calls"`
	}
	err = json.NewDecoder(resp.Body).Decode(&d)
	resp.Body.Close()
	if err != nil || len(d.Calls) == 0 || d.Calls[0].Outcome != "pending" {
		t.Fatalf("calls of gas-6: %+v, %v", d.Calls, err)
	}
	call := d.Calls[0]
	resp, err = http.Post(w.api+"/api/v1/calls/"+call.ID+"/link", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var link struct {
		CallID    string `json:"call_id"`
		Person    string `json:"person"`
		AnswerURL string `json:"answer_url"`
	}
	err = json.NewDecoder(resp.Body).Decode(&link)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || link.CallID != call.ID || link.Person != call.Person ||
		!strings.Contains(link.AnswerURL, "/answer/") {
		t.Fatalf("link of %s: %d %+v %v", call.ID, resp.StatusCode, link, err)
	}
	// The link answers the call, as the person's own phone would.
	token := link.AnswerURL[strings.LastIndex(link.AnswerURL, "/answer/")+len("/answer/"):]
	resp, err = http.Post(w.api+"/answer/"+token, "application/json", strings.NewReader(`{"note": "收到"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("answering through the link: %d", resp.StatusCode)
	}
	resp, err = http.Post(w.api+"/api/v1/calls/no-such-call/link", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("link of an unknown call: %d, want 404", resp.StatusCode)
	}
}

// POST /api/v1/alerts/{id}/links gives the links of an alert's calls that
// wait for an answer, and 404 once none does; GET
// /api/v1/sensors/{id}/alert the sensor's open warning, 404 without one.
func TestAlertLinksAndSensorAlert(t *testing.T) {
	w := answerScenario(t)
	get := func(method, path string, out any) int {
		t.Helper()
		req, _ := http.NewRequest(method, w.api+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if out != nil && resp.StatusCode == http.StatusOK {
			if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode
	}
	var a yujing.Alert
	if code := get("GET", "/api/v1/sensors/gas-6/alert", &a); code != http.StatusOK || a.ID != w.alertOf("gas-6").ID {
		t.Fatalf("gas-6's open warning: %d %+v", code, a)
	}
	if code := get("GET", "/api/v1/sensors/no-such-sensor/alert", nil); code != http.StatusNotFound {
		t.Errorf("a sensor without warnings: %d, want 404", code)
	}
	var links []web.CallLink
	if code := get("POST", fmt.Sprintf("/api/v1/alerts/%d/links", a.ID), &links); code != http.StatusOK || len(links) != 2 {
		t.Fatalf("links of gas-6's warning: %d %+v, want zhang's and zhao's", code, links)
	}
	for _, l := range links {
		token := l.AnswerURL[strings.LastIndex(l.AnswerURL, "/answer/")+len("/answer/"):]
		resp, err := http.Post(w.api+"/answer/"+token, "application/json", strings.NewReader(`{"note": "收到"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if code := get("POST", fmt.Sprintf("/api/v1/alerts/%d/links", a.ID), nil); code != http.StatusNotFound {
		t.Errorf("links once every call is answered: %d, want 404", code)
	}
}
