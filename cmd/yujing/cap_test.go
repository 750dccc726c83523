package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"yujing/internal/testenv"
)

// capCall is what the webhook receiver was sent: one call.
type capCall struct {
	Person    string `json:"person"`
	AlertID   int64  `json:"alert_id"`
	Event     string `json:"event"`
	Level     string `json:"level"`
	Site      string `json:"site"`
	Step      int    `json:"step"`
	Message   string `json:"message"`
	AnswerURL string `json:"answer_url"`
}

// capPhones is a webhook receiver on loopback standing for the officials'
// phones: it keeps every call.
type capPhones struct {
	mu  sync.Mutex
	got []capCall
	srv *httptest.Server
}

func newCAPPhones(t *testing.T) *capPhones {
	p := &capPhones{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c capCall
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil || c.Person == "" || c.AlertID == 0 {
			t.Errorf("webhook call %+v: %v", c, err)
		}
		p.mu.Lock()
		p.got = append(p.got, c)
		p.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *capPhones) calls() []capCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.got)
}

// has reports whether person was called about alert at level in step.
func (p *capPhones) has(person string, alert int64, level string, step int) bool {
	return slices.ContainsFunc(p.calls(), func(c capCall) bool {
		return c.Person == person && c.AlertID == alert && c.Level == level && c.Step == step
	})
}

const (
	capOperatorToken = "cap-operator-token-0123456789abcdef0123456789"
	capViewerToken   = "cap-viewer-token-0123456789abcdef0123456789ab"
)

// capYAML: the county 江宁区 (320115) with the townships 东山街道
// (320115001, 吴敏) and 淳化街道 (320115002, 李强), the county's duty
// officer 孙涛; the county's CAP feed on the broker; a gas detector at a
// plant in 东山街道; the 叫应 policies for weather warnings: the
// townships' officials first, the county's 1.5 s later (red: an hour
// later, so that the test decides when a red warning ends).
func capYAML(dir, broker, hook string) string {
	return fmt.Sprintf(`
data_dir: %s
timezone: Asia/Shanghai
http:
  listen: "127.0.0.1:0"
  api_tokens:
    - {name: duty-room, role: operator, token: %s}
    - {name: wall, role: viewer, token: %s}
mqtt: {broker: %s, client_id: yujing-cap-test}
delivery: {group_wait: 0s}
sites:
  - {id: jn-duty, name: 江宁区应急值班室, region: "320115"}
  - {id: plant-a, name: 甲厂, region: "320115001"}
sensors:
  - {id: CAP-JN, name: 江宁区突发事件预警信息, site: jn-duty, family: weather, metric: warning, topic: yujing/cap/jiangning, decoder: cap}
  - {id: G1, site: plant-a, family: gas, metric: lel, unit: "%%LEL"}
rules: [{name: gas, match: {family: gas}, above: {orange: 25, red: 50}}]
people:
  - {id: wu, name: 吴敏, phone: "13800000011", org: ds}
  - {id: li, name: 李强, phone: "13800000012", org: ch}
  - {id: sun, name: 孙涛, phone: "13800000013", org: jn}
orgs:
  - {id: jn, name: 江宁区应急管理局, kind: county, region: "320115"}
  - {id: ds, name: 东山街道办事处, kind: township, parent: jn, region: "320115001"}
  - {id: ch, name: 淳化街道办事处, kind: township, parent: jn, region: "320115002"}
responsibility:
  - region: "320115001"
    chain: [{tier: 2, role: township_leader, people: [wu]}]
  - region: "320115002"
    chain: [{tier: 2, role: township_leader, people: [li]}]
  - region: "320115"
    chain: [{tier: 3, role: bureau_on_duty, people: [sun]}]
channels:
  - {name: hook, webhook: {url: %q}}
cap: {family: weather}
escalation:
  base_url: http://yj.test
  policies:
    - name: 临灾预警叫应（红色）
      levels: [red]
      families: [weather]
      steps:
        - {targets: [{tier: 2}], ladder: [hook], deadline: 1h}
        - {targets: [{tier: 3}], ladder: [hook], deadline: 1h}
    - name: 临灾预警叫应
      families: [weather]
      steps:
        - {targets: [{tier: 2}], ladder: [hook], deadline: 1500ms}
        - {targets: [{tier: 3}], ladder: [hook], deadline: 1h}
`, dir, capOperatorToken, capViewerToken, broker, hook)
}

// capDoc is testdata of alerting/issued/capwarn with its times: SENT sent,
// EXPIRES expires, FIRST and SECOND the sent of the alert and the update
// it references.
func capDoc(t *testing.T, name string, sent, expires, first, second time.Time) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "alerting", "issued", "capwarn", "testdata", name+".xml"))
	if err != nil {
		t.Fatal(err)
	}
	f := func(x time.Time) string { return x.In(time.FixedZone("", 8*3600)).Format("2006-01-02T15:04:05-07:00") }
	return strings.NewReplacer("SENT", f(sent), "EXPIRES", f(expires), "FIRST", f(first), "SECOND", f(second)).Replace(string(b))
}

type capAnswer struct {
	Ignored  string  `json:"ignored"`
	AlertIDs []int64 `json:"alert_ids"`
	Warnings []struct {
		Area    string `json:"area"`
		Level   string `json:"level"`
		Outcome string `json:"outcome"`
	} `json:"warnings"`
	Error string `json:"error"`
}

// postCAP posts a document as token with the content type; it returns
// the status and the answer.
func postCAP(t *testing.T, api, token, ctype, doc string) (int, capAnswer) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, api+"/api/v1/warnings/cap", strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a capAnswer
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &a)
	return resp.StatusCode, a
}

type capDetail struct {
	apiAlert
	Escalations []struct {
		State  string `json:"state"`
		Reason string `json:"reason"`
		Level  string `json:"level"`
	} `json:"escalations"`
	History []struct {
		Event  string `json:"event"`
		Reason string `json:"reason"`
		Note   string `json:"note"`
	} `json:"history"`
}

func capAlert(t *testing.T, api string, id int64) capDetail {
	t.Helper()
	var d capDetail
	if code := getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", api, id), &d); code != 200 {
		t.Fatalf("alert %d: %d", id, code)
	}
	return d
}

// ended reports whether alert id is resolved, with its last transition's
// reason, and none of its escalations still active.
func capEnded(t *testing.T, api string, id int64, reason string) bool {
	d := capAlert(t, api, id)
	if d.State != "resolved" || len(d.History) == 0 || d.History[len(d.History)-1].Reason != reason {
		return false
	}
	for _, e := range d.Escalations {
		if e.State == "active" {
			return false
		}
	}
	return true
}

// TestCAPEndToEnd: a county's rainstorm warnings as the weather service
// issues them in CAP 1.2, through the real broker and over HTTP, become
// warnings per area at the warning's colour; the officials responsible
// for each area are called through a webhook on loopback (a county's
// warning reaches its townships' officials), escalated to the county when
// nobody answers; the update upgrades in place and drops an area; the
// cancel ends the warnings and stops the escalations; an expired warning
// ends by itself; repeats, also after a restart, change nothing; bad
// documents are refused naming the element; a gas reading published
// meanwhile is not lost; and the answer report shows per area who was
// reached and how fast.
func TestCAPEndToEnd(t *testing.T) {
	mq := testenv.Mosquitto(t)
	phones := newCAPPhones(t)
	cfg := configFrom(t, capYAML(t.TempDir(), mq.URL(), phones.srv.URL))
	inst := start(t, cfg)
	api := "http://" + inst.http
	pub := publisher(t, mq.URL())
	t0 := time.Now().Truncate(time.Second)
	alertXML := capDoc(t, "alert", t0, t0.Add(6*time.Hour), t0, t0)

	// The orange warning for 东山街道 and 淳化街道 over MQTT, and a gas
	// reading on the same broker.
	publish(t, pub, "yujing/cap/jiangning", alertXML)
	publish(t, pub, "yujing/plant-a/G1", `{"value": 30}`)
	publish(t, pub, "yujing/cap/jiangning", capDoc(t, "alert", t0, t0.Add(6*time.Hour), t0, t0)[:200]) // cut short
	var as []apiAlert
	area := map[string]int64{}
	waitFor(t, 10*time.Second, "two CAP warnings and the gas warning", func() bool {
		as = nil
		getJSON(t, api+"/api/v1/alerts", &as)
		clear(area)
		for _, a := range as {
			if a.Rule == "issued:cap" {
				area[strings.TrimPrefix(a.Site, "region:")] = a.ID
			}
		}
		return len(as) == 3 && len(area) == 2
	})
	for _, a := range as {
		switch {
		case a.Rule == "issued:cap" && (a.Level != "orange" || a.State != "firing" ||
			!strings.HasPrefix(a.Message, "江宁区气象台发布暴雨橙色预警信号（江宁区")):
			t.Errorf("CAP warning %+v, want orange, firing, with the headline and its area", a)
		case a.Rule == "gas" && a.Level != "orange":
			t.Errorf("gas warning %+v, want orange", a)
		}
	}
	ds, ch := area["320115001"], area["320115002"]
	if ds == 0 || ch == 0 {
		t.Fatalf("areas %v, want 320115001 and 320115002", area)
	}
	// Each township's official, then, unanswered, the county's.
	waitFor(t, 10*time.Second, "the townships' officials, then the county's", func() bool {
		return phones.has("wu", ds, "orange", 1) && phones.has("li", ch, "orange", 1) &&
			phones.has("sun", ds, "orange", 2) && phones.has("sun", ch, "orange", 2)
	})
	if n := len(phones.calls()); n != 4 {
		t.Errorf("%d calls, want 4: %+v", n, phones.calls())
	}
	// 孙涛 answers 东山街道's through the link.
	for _, c := range phones.calls() {
		if c.Person == "sun" && c.AlertID == ds {
			if !strings.Contains(c.Message, "暴雨橙色预警") {
				t.Errorf("the call's text %q does not name the warning", c.Message)
			}
			if code := postJSON(t, api+strings.TrimPrefix(c.AnswerURL, "http://yj.test"), `{"note": "已通知东山街道转移人员"}`, nil); code != 200 {
				t.Fatalf("answer: %d", code)
			}
		}
	}

	// The update over HTTP, as the duty room's operator token: red for
	// 东山街道 (the same alert) and the whole county (new), 淳化街道 dropped.
	updateXML := capDoc(t, "update", t0.Add(90*time.Minute), t0.Add(8*time.Hour), t0, t0)
	code, ans := postCAP(t, api, capOperatorToken, "application/cap+xml", updateXML)
	if code != http.StatusAccepted || len(ans.AlertIDs) != 2 || ans.AlertIDs[0] != ds || ans.AlertIDs[1] == ch || ans.AlertIDs[1] == ds {
		t.Fatalf("update: %d %+v, want 202 with %d (东山街道, in place) and the county's new alert", code, ans, ds)
	}
	county := ans.AlertIDs[1]
	waitFor(t, 10*time.Second, "the red calls: 东山街道's official, and both townships' for the county", func() bool {
		return phones.has("wu", ds, "red", 1) && phones.has("wu", county, "red", 1) && phones.has("li", county, "red", 1)
	})
	waitFor(t, 10*time.Second, "淳化街道's warning ended, its escalation stopped", func() bool { return capEnded(t, api, ch, "area_removed") })
	if d := capAlert(t, api, ds); d.Level != "red" || d.History[len(d.History)-1].Event != "upgraded" {
		t.Errorf("东山街道's warning %s, last %+v: want upgraded to red in place", d.Level, d.History[len(d.History)-1])
	}
	// The same update again: nothing changes.
	if code, again := postCAP(t, api, capOperatorToken, "application/xml; charset=utf-8", updateXML); code != http.StatusOK ||
		again.Ignored != "duplicate" || !slices.Equal(again.AlertIDs[:2], []int64{county, ds}) {
		t.Errorf("the update again: %d %+v, want 200, duplicate, the same alerts", code, again)
	}

	// The cancel over MQTT ends them and their escalations.
	publish(t, pub, "yujing/cap/jiangning", capDoc(t, "cancel", t0.Add(4*time.Hour), time.Time{}, t0, t0.Add(90*time.Minute)))
	waitFor(t, 10*time.Second, "the cancel", func() bool {
		return capEnded(t, api, ds, "cancelled") && capEnded(t, api, county, "cancelled")
	})
	for _, id := range []int64{ds, county} {
		for _, e := range capAlert(t, api, id).Escalations {
			if e.State == "stopped" && e.Reason != "resolved" && e.Reason != "superseded" {
				t.Errorf("alert %d escalation %+v, want stopped as resolved", id, e)
			}
		}
	}

	// Per area, who was reached and how fast.
	var rep struct {
		Rows []struct {
			Key        string   `json:"key"`
			Calls      int      `json:"calls"`
			Answered   int      `json:"answered"`
			Unanswered int      `json:"unanswered"`
			Stopped    int      `json:"stopped"`
			Median     *float64 `json:"median_seconds"`
		} `json:"rows"`
	}
	q := url.Values{"by": {"area"}, "source": {"cap"}, "from": {t0.Add(-time.Hour).Format(time.RFC3339)}}
	if code := getJSON(t, api+"/api/v1/reports/answers?"+q.Encode(), &rep); code != 200 {
		t.Fatalf("report: %d", code)
	}
	got := map[string]string{}
	for _, r := range rep.Rows {
		got[r.Key] = fmt.Sprintf("%d calls, %d answered, %d unanswered, %d stopped", r.Calls, r.Answered, r.Unanswered, r.Stopped)
		if r.Key == "320115001" && (r.Median == nil || *r.Median > 30) {
			t.Errorf("320115001: median %v, want 孙涛's answer within seconds of his call", r.Median)
		}
	}
	want := map[string]string{
		// 吴敏 (orange, unanswered), 孙涛 (answered), 吴敏 (red, stopped by the cancel).
		"320115001": "3 calls, 1 answered, 1 unanswered, 1 stopped",
		// 李强 (orange, unanswered), 孙涛 (stopped: the area was dropped).
		"320115002": "2 calls, 0 answered, 1 unanswered, 1 stopped",
		// 吴敏 and 李强, rolled down from the county (red, stopped by the cancel).
		"320115": "2 calls, 0 answered, 0 unanswered, 2 stopped",
	}
	if !maps.Equal(got, want) {
		t.Errorf("report by area\n got %v\nwant %v", got, want)
	}

	// A warning that expires ends by itself.
	short := strings.NewReplacer("32011541600000_20260701080000", "32011541600000_EXPIRING", "<value>320115001</value>", "<value>320115002</value>").
		Replace(capDoc(t, "alert", time.Now(), time.Now().Add(2*time.Second), t0, t0))
	code, ans = postCAP(t, api, capOperatorToken, "application/cap+xml", short)
	if code != http.StatusAccepted || len(ans.AlertIDs) != 1 {
		t.Fatalf("the short warning: %d %+v", code, ans)
	}
	expiring := ans.AlertIDs[0]
	waitFor(t, 10*time.Second, "li called about the short warning", func() bool { return phones.has("li", expiring, "orange", 1) })
	waitFor(t, 10*time.Second, "the short warning expired", func() bool { return capEnded(t, api, expiring, "expired") })

	// Refused: another content type, a viewer, nobody, and bad documents
	// over HTTP (400 naming the element) and MQTT (kept with the
	// rejections).
	for _, c := range []struct {
		token, ctype, doc string
		code              int
		err               string
	}{
		{capOperatorToken, "text/plain", alertXML, http.StatusUnsupportedMediaType, "content type \"text/plain\""},
		{capViewerToken, "application/cap+xml", alertXML, http.StatusForbidden, ""},
		{"", "application/cap+xml", alertXML, http.StatusUnauthorized, ""},
		{capOperatorToken, "application/cap+xml", strings.Replace(alertXML, "<severity>Severe</severity>", "<severity>严重</severity>", 1),
			http.StatusBadRequest, `alert/info[1]/severity: "严重" is not one of Extreme, Severe, Moderate, Minor, Unknown`},
		{capOperatorToken, "application/cap+xml", strings.NewReplacer("<value>320115002</value>", "<value>淳化</value>",
			"32011541600000_20260701080000", "32011541600000_BAD").Replace(alertXML),
			http.StatusBadRequest, `alert/info[1]/area[2]/geocode: area "江宁区淳化街道" has no administrative division code`},
	} {
		code, a := postCAP(t, api, c.token, c.ctype, c.doc)
		if code != c.code || !strings.Contains(a.Error, c.err) {
			t.Errorf("POST as %.12s %s: %d %q, want %d %q", c.token, c.ctype, code, a.Error, c.code, c.err)
		}
	}
	var rej []struct{ Sensor, Reason, Error string }
	getJSON(t, api+"/api/v1/rejected", &rej)
	if len(rej) != 1 || rej[0].Sensor != "CAP-JN" || rej[0].Reason != "malformed" || !strings.Contains(rej[0].Error, "not well-formed XML") {
		t.Errorf("rejections %+v, want the CAP document cut short", rej)
	}

	// After a restart the first message again changes nothing; a new
	// warning for 东山街道 afterwards calls 吴敏 once more, and nobody else.
	before := len(phones.calls())
	inst.stop()
	inst = start(t, cfg)
	api = "http://" + inst.http
	if code, again := postCAP(t, api, capOperatorToken, "application/cap+xml", alertXML); code != http.StatusOK || again.Ignored != "duplicate" {
		t.Errorf("the first message after a restart: %d %+v, want 200 duplicate", code, again)
	}
	marker := strings.NewReplacer("32011541600000_20260701080000", "32011541600000_MARKER", "<value>320115002</value>", "<value>320115001</value>").
		Replace(capDoc(t, "alert", time.Now(), time.Now().Add(time.Hour), t0, t0))
	code, ans = postCAP(t, api, capOperatorToken, "application/cap+xml", marker)
	if code != http.StatusAccepted || len(ans.AlertIDs) != 1 {
		t.Fatalf("the marker warning: %d %+v", code, ans)
	}
	waitFor(t, 10*time.Second, "吴敏 called about the marker", func() bool { return phones.has("wu", ans.AlertIDs[0], "orange", 1) })
	if after := phones.calls()[before:]; len(after) != 1 {
		t.Errorf("calls after the restart %+v, want only 吴敏's about the marker", after)
	}
	as = nil
	getJSON(t, api+"/api/v1/alerts", &as)
	if len(as) != 6 {
		t.Errorf("%d alerts, want 6: two townships, the county, the expiring one, the marker, and the gas warning", len(as))
	}
}

// TestConsoleIssuedWarningInBrowser: a CAP warning on the duty-room
// board and its page reads as what it is — the area (区域 320115001), the
// issuer's headline, no value — not the pseudo-site region:… and the
// warning's key as a sensor.
func TestConsoleIssuedWarningInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	dir := artifactsDir(t)
	const adminPassword = "console-admin-test-pw"
	t.Setenv("YUJING_ADMIN_PASSWORD", adminPassword)
	mq := testenv.Mosquitto(t)
	phones := newCAPPhones(t)
	inst := start(t, configFrom(t, capYAML(t.TempDir(), mq.URL(), phones.srv.URL)))
	base := "http://" + inst.http
	now := time.Now()
	code, ans := postCAP(t, base, capOperatorToken, "application/cap+xml", capDoc(t, "alert", now, now.Add(6*time.Hour), now, now))
	if code != http.StatusAccepted || len(ans.AlertIDs) != 2 {
		t.Fatalf("the warning: %d %+v", code, ans)
	}
	p := newBrowser(t, chromium, dir, 60*time.Second)
	p.viewport(1920, 1080, false)
	p.do("the board", chromedp.Navigate(base+"/#/board"))
	if newConsoleAPI(t, base).do("GET", "/api/v1/me", nil, nil) == http.StatusUnauthorized {
		p.login("admin", adminPassword)
	}
	row := fmt.Sprintf(`#alerts tbody tr[data-id="%d"]`, ans.AlertIDs[0])
	p.wait("the CAP warning on the board", fmt.Sprintf(`document.querySelector('%s') !== null`, row), 10*time.Second)
	var cells struct{ Site, Sensor, Value, Message string }
	p.eval(fmt.Sprintf(`(() => { const r = document.querySelector('%s');
		return {Site: r.querySelector("td[data-site]").textContent, Sensor: r.querySelector("td[data-sensor]").textContent,
			Value: r.querySelector("td.num").textContent, Message: r.querySelector("td.msg").textContent}; })()`, row), &cells)
	p.shot("cap-board-1920")
	if cells.Site != "区域 320115001" || !strings.HasPrefix(cells.Sensor, "江宁区气象台发布暴雨橙色预警信号（江宁区东山街道）") ||
		!strings.Contains(cells.Sensor, "发布的预警") || cells.Value != "—" || strings.Contains(cells.Site+cells.Sensor, "region:") {
		t.Errorf("the board's row %+v, want 区域 320115001, the headline as an issued warning, no value", cells)
	}
	p.do("open the warning", chromedp.Navigate(fmt.Sprintf("%s/#/alert/%d", base, ans.AlertIDs[0])))
	p.wait("the warning's page", `document.querySelector(".facts") !== null`, 10*time.Second)
	var facts string
	p.eval(`[...document.querySelectorAll(".facts > div")].map(d => d.querySelector("dt").textContent + "=" + d.querySelector("dd").textContent).join("|")`, &facts)
	p.shot("cap-detail-1920")
	for _, want := range []string{"预警信息=江宁区气象台发布暴雨橙色预警信号（江宁区东山街道） 发布的预警", "站点=区域 320115001"} {
		if !strings.Contains(facts, want) {
			t.Errorf("facts %q lack %q", facts, want)
		}
	}
	if strings.Contains(facts, "监测点") || strings.Contains(facts, "数值") {
		t.Errorf("facts %q show a sensor or a value", facts)
	}
}
