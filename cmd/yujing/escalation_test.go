package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"yujing"
)

// phones stands for the providers in front of officials' phones: a
// DingTalk robot, Aliyun's SMS API and a webhook receiver, each an HTTP
// server on loopback that checks the request as the provider documents it
// and keeps what each person was sent.
type phones struct {
	t    *testing.T
	mu   sync.Mutex
	got  []sent
	ding *httptest.Server
	sms  *httptest.Server
	hook *httptest.Server
}

type sent struct {
	channel, to, link string
	at                time.Time // when it arrived
}

var answerLinkRe = regexp.MustCompile(`http://yj\.test/answer/[A-Za-z0-9_.-]+`)

// auditCallRe is the object of an answer's audit entry: the call, whose id
// begins with the state database's instance id.
var auditCallRe = regexp.MustCompile(`^call [a-z2-7]{10}-esc\d+-r0-s2-chen-p-webhook$`)

func newPhones(t *testing.T) *phones {
	p := &phones{t: t}
	p.ding = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			MsgType    string `json:"msgtype"`
			ActionCard struct {
				Title, Text string
				SingleURL   string `json:"singleURL"`
			} `json:"actionCard"`
			At struct {
				AtMobiles []string `json:"atMobiles"`
			} `json:"at"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &m); err != nil || r.URL.Query().Get("sign") == "" {
			t.Errorf("dingtalk request %s: sign %q: %v", body, r.URL.Query().Get("sign"), err)
		}
		// A red call @mentions the person in a markdown message with the
		// answer link in its text; below red it is an action card's button.
		p.add(sent{channel: "dingtalk", to: strings.Join(m.At.AtMobiles, ","), link: answerLinkRe.FindString(string(body))})
		fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
	}))
	p.sms = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		f := r.Form
		if f.Get("Action") != "SendSms" || f.Get("Signature") == "" || f.Get("SignatureMethod") != "HMAC-SHA1" {
			t.Errorf("aliyun sms request %v", f)
		}
		// Aliyun's template variables hold at most 35 characters: no room
		// for a signed link; SMS is answered by replying.
		p.add(sent{channel: "sms", to: f.Get("PhoneNumbers")})
		fmt.Fprint(w, `{"Code":"OK","Message":"OK","BizId":"9006197469364984^0","RequestId":"F655A8D5-B967-440B-8683-DAD6FF8DE990"}`)
	}))
	p.hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Person    string     `json:"person"`
			CallID    string     `json:"call_id"`
			AnswerURL string     `json:"answer_url"`
			Deadline  *time.Time `json:"deadline"`
			Step      int        `json:"step"`
		}
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.CallID == "" || m.Deadline == nil || m.Step == 0 {
			t.Errorf("webhook call %+v: %v", m, err)
		}
		p.add(sent{channel: "webhook", to: m.Person, link: m.AnswerURL})
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(func() { p.ding.Close(); p.sms.Close(); p.hook.Close() })
	return p
}

func (p *phones) add(s sent) {
	s.at = time.Now()
	p.mu.Lock()
	p.got = append(p.got, s)
	p.mu.Unlock()
}

func (p *phones) sent() []sent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]sent(nil), p.got...)
}

// step1 waits for step 1's calls: both duty officers on DingTalk (the
// robot's own rate limit spaces them a second apart) and the principal's
// SMS (the double report).
func (p *phones) step1(t *testing.T) []sent {
	t.Helper()
	var got []sent
	waitFor(t, 10*time.Second, "step 1's calls", func() bool {
		got = p.sent()
		ding, sms := 0, 0
		for _, s := range got {
			switch {
			case s.channel == "dingtalk":
				ding++
			case s.channel == "sms" && s.to == "13800000003":
				sms++
			}
		}
		return ding == 2 && sms == 1
	})
	if len(got) != 3 {
		t.Fatalf("step 1 made %d calls, want 3: %v", len(got), got)
	}
	return got
}

func escalationConfig(t *testing.T, p *phones) *configT {
	return configFrom(t, escalationYAML(t, p))
}

// escalationYAML is escalationConfig's text.
func escalationYAML(t *testing.T, p *phones) string {
	return fmt.Sprintf(`
data_dir: %s
timezone: Asia/Shanghai
mqtt: {embedded: {listen: "127.0.0.1:0"}}
delivery: {group_wait: 0s}
sites: [{id: plant-a, name: 甲厂, region: "320115"}]
sensors: [{id: G1, site: plant-a, family: gas, metric: lel, unit: "%%LEL"}]
rules: [{name: gas, match: {family: gas}, above: {orange: 25, red: 50}}]
people:
  - {id: zhang, name: 张伟, phone: "13800000001", org: acme, im: {dingtalk: zhangwei}}
  - {id: zhao, name: 赵敏, phone: "13800000002", org: acme, im: {dingtalk: zhaomin}}
  - {id: wang, name: 王芳, phone: "13800000003", org: acme}
  - {id: chen, name: 陈刚, phone: "13800000005", org: nj}
orgs:
  - {id: nj, name: 南京市应急管理局, kind: city, region: "320100"}
  - {id: acme, name: 某化工有限公司, kind: enterprise, parent: nj, region: "320115", sites: [plant-a]}
responsibility:
  - site: plant-a
    chain:
      - {tier: 1, role: duty_officer, roster: acme/duty_officer}
      - {tier: 1, role: principal, people: [wang]}
      - {tier: 4, role: supervisor_in_chief, people: [chen]}
rosters:
  - org: acme
    role: duty_officer
    shifts: ["00:00"]
    start: 2026-01-01
    rotation: [[zhang, zhao]]
channels:
  - {name: dingtalk, dingtalk: {webhook: "%s/robot/send?access_token=t0k", secret: SEC0123456789}}
  - {name: aliyun-sms, aliyun_sms: {endpoint: "%s/", access_key_id: testid, access_key_secret: testsecret, sign_name: 应急管理局, template_code: SMS_123456789}}
  - {name: webhook, webhook: {url: "%s"}}
escalation:
  base_url: http://yj.test
  policies:
    - name: red
      levels: [red]
      double_report: {targets: [{role: principal}], ladder: [aliyun-sms]}
      steps:
        - {targets: [{roster: acme/duty_officer}], ladder: [dingtalk], deadline: 4s}
        - {targets: [{role: supervisor_in_chief}], ladder: [webhook], deadline: 4s}
`, t.TempDir(), p.ding.URL, p.sms.URL, p.hook.URL)
}

// A red warning calls step 1 (the duty officers on DingTalk, the
// principal by SMS as the double report), nobody answers, step 2 (the
// supervisor-in-chief, webhook) is called at the deadline, an answer
// through the signed link stops everything, and the detail API and the
// report show the whole timeline.
func TestEscalationEndToEnd(t *testing.T) {
	p := newPhones(t)
	inst := start(t, escalationConfig(t, p))
	api := "http://" + inst.http
	publish(t, publisher(t, inst.mqtt), "yujing/plant-a/G1", `{"value": 62}`)
	step1 := p.step1(t)
	for _, s := range step1 {
		if s.channel != "sms" && !strings.HasPrefix(s.link, "http://yj.test/answer/") {
			t.Errorf("%s call to %s carries answer link %q", s.channel, s.to, s.link)
		}
	}
	took := waitFor(t, 10*time.Second, "step 2 at the deadline", func() bool { return len(p.sent()) >= 4 })
	s2 := p.sent()[3]
	if s2.channel != "webhook" || s2.to != "chen" {
		t.Fatalf("step 2 called %+v, want chen on the webhook", s2)
	}
	t.Logf("step 2 called %s after step 1", took)

	// The page behind the link, then the answer through it.
	path := strings.TrimPrefix(s2.link, "http://yj.test")
	resp, err := http.Get(api + path)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "收到") || !strings.Contains(string(page), "陈刚") ||
		!strings.Contains(string(page), "<dd>甲厂</dd>") {
		t.Fatalf("answer page: %d\n%s", resp.StatusCode, page)
	}
	// No login: the token in the link is the credential. Sent as `curl -d`
	// sends it: JSON labelled as a form.
	resp, err = http.Post(api+path, "application/x-www-form-urlencoded", strings.NewReader(`{"note": "已通知企业撤离"}`))
	if err != nil {
		t.Fatal(err)
	}
	var ans map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&ans)
	resp.Body.Close()
	if resp.StatusCode != 200 || ans["escalation_stopped"] != true {
		t.Fatalf("answer: %d %v", resp.StatusCode, ans)
	}
	if code := postJSON(t, api+path, `{}`, nil); code != http.StatusConflict {
		t.Errorf("the link used again: %d, want 409", code)
	}
	// The answer is in the audit log under the person the link was for,
	// naming the call and never the token.
	var entries []struct{ Actor, Action, Object, Detail string }
	getJSON(t, api+"/api/v1/audit?action=answer", &entries)
	if len(entries) != 1 || entries[0].Actor != "answer-link:chen" || !auditCallRe.MatchString(entries[0].Object) ||
		!strings.Contains(entries[0].Detail, "已通知企业撤离") {
		t.Errorf("audit entries %+v", entries)
	}
	token := strings.TrimPrefix(path, "/answer/")
	for _, e := range entries {
		if strings.Contains(e.Action+e.Object+e.Detail, token) {
			t.Errorf("audit entry %+v holds the link's token", e)
		}
	}
	forged := []byte(path)
	forged[len(forged)-2] ^= 1
	if code := postJSON(t, api+string(forged), `{}`, nil); code != http.StatusForbidden {
		t.Errorf("a forged link: %d, want 403", code)
	}
	for _, c := range []struct {
		path, want string
		code       int
	}{
		{string(forged), "此应答链接无效", http.StatusForbidden},
		{path, "此应答链接已使用过", http.StatusConflict},
		{path + "?lang=en", "already used", http.StatusConflict},
	} {
		resp, err := http.Get(api + c.path)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code || !strings.Contains(string(page), c.want) {
			t.Errorf("GET %s: %d, want %d with %q:\n%s", c.path, resp.StatusCode, c.code, c.want, page)
		}
	}
	// past another deadline: nothing more is called. A real sleep: the
	// running serve's clock is the real one, so a deadline passes only in
	// real time, and that it passing calls no one is what is tested.
	time.Sleep(5 * time.Second)
	if n := len(p.sent()); n != 4 {
		t.Errorf("%d calls after the answer, want 4: %v", n, p.sent())
	}

	var as []apiAlert
	getJSON(t, api+"/api/v1/alerts", &as)
	var d struct {
		State   string `json:"state"`
		AckedBy string `json:"acked_by"`
		Calls   []struct {
			ID            string     `json:"id"`
			Step          int        `json:"step"`
			Person        string     `json:"person"`
			Channel       string     `json:"channel"`
			SentAt        *time.Time `json:"sent_at"`
			Deadline      *time.Time `json:"deadline"`
			AnsweredAt    *time.Time `json:"answered_at"`
			AnsweredBy    *string    `json:"answered_by"`
			AnswerChannel *string    `json:"answer_channel"`
			AnswerNote    *string    `json:"answer_note"`
		} `json:"calls"`
		Escalations []struct {
			State         string  `json:"state"`
			Step          int     `json:"step"`
			AnsweredBy    *string `json:"answered_by"`
			AnswerChannel *string `json:"answer_channel"`
		} `json:"escalations"`
	}
	getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", api, as[0].ID), &d)
	if d.State != "acknowledged" || d.AckedBy != "陈刚" {
		t.Errorf("alert %s acked by %q", d.State, d.AckedBy)
	}
	if len(d.Calls) != 4 {
		t.Fatalf("%d calls in the detail, want 4: %+v", len(d.Calls), d.Calls)
	}
	for _, c := range d.Calls {
		if c.SentAt == nil || c.Deadline == nil {
			t.Errorf("call %s: sent_at %v deadline %v", c.ID, c.SentAt, c.Deadline)
		}
		if answered := c.Person == "chen"; answered != (c.AnsweredAt != nil) {
			t.Errorf("call %s to %s answered_at %v", c.ID, c.Person, c.AnsweredAt)
		} else if answered && (*c.AnsweredBy != "chen" || *c.AnswerChannel != "link" || *c.AnswerNote != "已通知企业撤离" || c.Step != 2) {
			t.Errorf("answered call %+v", c)
		}
	}
	if len(d.Escalations) != 1 || d.Escalations[0].State != "answered" || d.Escalations[0].Step != 2 {
		t.Errorf("escalations %+v", d.Escalations)
	}

	// The figures: chen answered his one call; zhang, zhao and wang did not.
	var rep struct {
		Rows []struct {
			Key        string  `json:"key"`
			Calls      int     `json:"calls"`
			Answered   int     `json:"answered"`
			AnswerRate float64 `json:"answer_rate"`
		} `json:"rows"`
		Total struct {
			Calls, Answered int
		} `json:"total"`
	}
	q := url.Values{"by": {"person"}, "from": {time.Now().Add(-time.Hour).Format(time.RFC3339)}}
	if code := getJSON(t, api+"/api/v1/reports/answers?"+q.Encode(), &rep); code != 200 {
		t.Fatalf("report: %d", code)
	}
	if rep.Total.Calls != 4 || rep.Total.Answered != 1 {
		t.Errorf("report total %+v, want 4 calls, 1 answered", rep.Total)
	}
	for _, r := range rep.Rows {
		if (r.Key == "chen") != (r.AnswerRate == 1) {
			t.Errorf("report row %+v", r)
		}
	}
	resp, err = authed.Get(api + "/api/v1/reports/answers.csv?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	csvText, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(string(csvText), "\ufeff")), "\n")
	if resp.StatusCode != 200 || len(lines) != 6 ||
		lines[0] != "person,name,calls,answered,answered_by_colleague,unanswered,pending,stopped,stopped_resolved,stopped_superseded,stopped_closed,stopped_other,answer_rate,median_seconds,p90_seconds" ||
		!strings.HasPrefix(lines[1], "chen,陈刚,1,1,0,0,0,0,0,0,0,0,1.0000,") || !strings.HasPrefix(lines[5], "total,,4,1,0,3,0,0,0,0,0,0,0.2500,") {
		t.Errorf("CSV report %d:\n%s", resp.StatusCode, csvText)
	}
}

// An SMS reply "收到" through Aliyun's inbound-message push answers the
// call to that phone and stops the escalation before step 2.
func TestEscalationAnsweredBySMSReply(t *testing.T) {
	p := newPhones(t)
	inst := start(t, escalationConfig(t, p))
	api := "http://" + inst.http
	publish(t, publisher(t, inst.mqtt), "yujing/plant-a/G1", `{"value": 62}`)
	p.step1(t)
	push := fmt.Sprintf(`[{"phone_number":"13800000003","send_time":"%s","content":"收到","sign_name":"应急管理局","dest_code":"1234","sequence_id":1234561}]`,
		time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateTime))
	if code := postJSON(t, api+"/api/v1/callbacks/aliyun-sms", push, nil); code != 200 {
		t.Fatalf("callback: %d", code)
	}
	time.Sleep(5 * time.Second) // past step 1's deadline in real time (the serve's clock is the real one)
	if n := len(p.sent()); n != 3 {
		t.Errorf("%d calls, want 3: the reply stopped the escalation before step 2: %v", n, p.sent())
	}
	var as []apiAlert
	getJSON(t, api+"/api/v1/alerts", &as)
	if as[0].State != "acknowledged" {
		t.Errorf("alert state %s, want acknowledged by the reply", as[0].State)
	}
}

// An official opens the answer link on a phone, sees the warning, and
// answers "received, on site"; the warning is acknowledged by them.
func TestAnswerPageInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	dir := artifactsDir(t)
	p := newPhones(t)
	inst := start(t, escalationConfig(t, p))
	api := "http://" + inst.http
	publish(t, publisher(t, inst.mqtt), "yujing/plant-a/G1", `{"value": 62}`)
	var link string
	for _, s := range p.step1(t) {
		if s.channel == "dingtalk" && link == "" {
			link = api + strings.TrimPrefix(s.link, "http://yj.test")
		}
	}
	b := newBrowser(t, chromium, dir, 60*time.Second)
	b.viewport(390, 844, true)
	b.do("open the answer link", chromedp.Navigate(link))
	b.wait("the warning on the page", `document.querySelector("#level") && document.querySelector("#level").textContent.includes("红色")`, 10*time.Second)
	b.shot("answer-390")
	b.do("write a note and answer on site",
		chromedp.SendKeys(chromedp.CSS("#note"), "十分钟到场"),
		chromedp.Click(chromedp.CSS(`button[name=on_site]`)))
	b.do("the page after the answer", chromedp.WaitVisible(chromedp.CSS("#done")))
	b.wait("the answer recorded", `(document.querySelector("#done")||{}).textContent?.includes("已应答")`, 10*time.Second)
	b.shot("answer-done-390")
	b.do("open the link again", chromedp.Navigate(link))
	b.do("the page of a used link", chromedp.WaitVisible(chromedp.CSS("#message")))
	b.wait("the used link refused", `(document.querySelector("#message")||{}).textContent?.includes("已使用过")`, 10*time.Second)

	var as []apiAlert
	getJSON(t, api+"/api/v1/alerts", &as)
	var d struct {
		State   string `json:"state"`
		AckedBy string `json:"acked_by"`
		Calls   []struct {
			AnswerNote *string `json:"answer_note"`
			OnSite     *bool   `json:"on_site"`
		} `json:"calls"`
	}
	getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", api, as[0].ID), &d)
	answered := 0
	for _, c := range d.Calls {
		if c.AnswerNote != nil {
			answered++
			if *c.AnswerNote != "十分钟到场" || c.OnSite == nil || !*c.OnSite {
				t.Errorf("answer note %q on site %v", *c.AnswerNote, c.OnSite)
			}
		}
	}
	if d.State != "acknowledged" || answered != 1 {
		t.Errorf("alert %s with %d answered calls, want acknowledged with 1", d.State, answered)
	}
}

// yujing restarts in the middle of an escalation: step 1's calls are not
// made again, and step 2 is called once, at its deadline.
func TestEscalationResumesAfterRestart(t *testing.T) {
	p := newPhones(t)
	cfg := escalationConfig(t, p)
	inst := start(t, cfg)
	publish(t, publisher(t, inst.mqtt), "yujing/plant-a/G1", `{"value": 62}`)
	p.step1(t)
	inst.stop()
	inst = start(t, cfg)
	ready := time.Now()
	waitFor(t, 15*time.Second, "step 2 after the restart", func() bool { return len(p.sent()) >= 4 })
	time.Sleep(5 * time.Second) // past step 2's deadline, in real time (the serve's clock): nothing more
	got := p.sent()
	if len(got) != 4 || got[3].channel != "webhook" || got[3].to != "chen" {
		t.Fatalf("calls %v, want step 1's three and chen's once", got)
	}
	var as []apiAlert
	getJSON(t, "http://"+inst.http+"/api/v1/alerts", &as)
	// The deadline is 4s after the raise; the restart in between must not
	// move it (the engine ticks every 250 ms). A start slower than the
	// deadline (a loaded machine) calls step 2 as soon as it is back, not
	// a whole step later.
	deadline := as[0].StartedAt.Add(4 * time.Second)
	late := got[3].at.Sub(as[0].StartedAt)
	if due := laterOf(deadline, ready); late < 4*time.Second || got[3].at.After(due.Add(1500*time.Millisecond)) {
		t.Errorf("step 2 called %s after the raise (yujing back %s after it), want at 4s, or as soon as yujing is back",
			late, ready.Sub(as[0].StartedAt).Round(10*time.Millisecond))
	}
	t.Logf("step 2 called %s after the raise, across a restart", late.Round(10*time.Millisecond))
	var d struct {
		Calls []struct{ ID string } `json:"calls"`
	}
	getJSON(t, fmt.Sprintf("http://%s/api/v1/alerts/%d", inst.http, as[0].ID), &d)
	if len(d.Calls) != 4 {
		t.Errorf("%d calls on record, want 4: %+v", len(d.Calls), d.Calls)
	}
}

// An unanswered red escalation keeps calling while its warning falls
// through orange, yellow and blue and rises to yellow again, with no
// yellow policy (issue 14 item 2: the rise stopped the red chain as
// "superseded: upgraded to yellow" and nothing took its place): step 2 is
// called at its deadline and the top is recorded.
func TestEscalationOutlivesFallAndRise(t *testing.T) {
	p := newPhones(t)
	text := escalationYAML(t, p)
	for old, new := range map[string]string{
		"above: {orange: 25, red: 50}": "above: {blue: 10, yellow: 20, orange: 25, red: 50}",
		"deadline: 4s":                 "deadline: 5s",
	} {
		if strings.Count(text, old) == 0 {
			t.Fatalf("escalationYAML has no %q", old)
		}
		text = strings.ReplaceAll(text, old, new)
	}
	cfg := configFrom(t, text)
	for _, pol := range cfg.Escalation.Policies {
		if slices.Contains(pol.Levels, yujing.Yellow) {
			t.Fatalf("policy %s covers yellow: the case is a warning with no yellow policy", pol.Name)
		}
	}
	inst := start(t, cfg)
	api := "http://" + inst.http
	pub := publisher(t, inst.mqtt)
	publish(t, pub, "yujing/plant-a/G1", `{"value": 62}`)
	p.step1(t)
	var a apiAlert
	for _, c := range []struct {
		value float64
		level string
	}{{30, "orange"}, {22, "yellow"}, {12, "blue"}, {22, "yellow"}} {
		publish(t, pub, "yujing/plant-a/G1", fmt.Sprintf(`{"value": %g}`, c.value))
		waitFor(t, 5*time.Second, "the warning at "+c.level+" after "+fmt.Sprint(c.value), func() bool {
			var as []apiAlert
			getJSON(t, api+"/api/v1/alerts", &as)
			if len(as) == 1 {
				a = as[0]
			}
			return len(as) == 1 && a.Value == c.value && a.Level == c.level
		})
	}
	type escalation struct {
		Level        string     `json:"level"`
		Policy       string     `json:"policy"`
		State        string     `json:"state"`
		Reason       string     `json:"reason"`
		Step         int        `json:"step"`
		StartedAt    time.Time  `json:"started_at"`
		TopReachedAt *time.Time `json:"top_reached_at"`
	}
	var d struct {
		History []struct {
			Event   string    `json:"event"`
			ToLevel string    `json:"to_level"`
			At      time.Time `json:"at"`
		} `json:"history"`
		Escalations []escalation `json:"escalations"`
	}
	detail := fmt.Sprintf("%s/api/v1/alerts/%d", api, a.ID)
	getJSON(t, detail, &d)
	var events []string
	for _, h := range d.History {
		events = append(events, h.Event+" "+h.ToLevel)
	}
	if want := []string{"raised red", "downgraded orange", "downgraded yellow", "downgraded blue", "upgraded yellow"}; !slices.Equal(events, want) {
		t.Fatalf("history %q, want %q", events, want)
	}
	if len(d.Escalations) != 1 || d.Escalations[0].State != "active" {
		t.Fatalf("after the rise to yellow: escalations %+v, want the red one still active", d.Escalations)
	}
	red := d.Escalations[0]
	if rise := d.History[4].At; rise.Sub(red.StartedAt) >= 10*time.Second {
		t.Fatalf("the rise to yellow came %s after the red chain began, after its top was due: too slow to show anything", rise.Sub(red.StartedAt))
	}

	waitFor(t, 10*time.Second, "step 2 of the red chain", func() bool { return len(p.sent()) >= 4 })
	if s := p.sent()[3]; s.channel != "webhook" || s.to != "chen" {
		t.Fatalf("the fourth call %+v, want step 2: chen on the webhook", s)
	}
	waitFor(t, 10*time.Second, "the red chain's top", func() bool {
		getJSON(t, detail, &d)
		return len(d.Escalations) == 1 && d.Escalations[0].State != "active"
	})
	red = d.Escalations[0]
	if red.Policy != "red" || red.Level != "red" || red.State != "exhausted" || red.Reason != "top_reached" ||
		red.Step != 2 || red.TopReachedAt == nil || !red.TopReachedAt.Equal(red.StartedAt.Add(10*time.Second)) {
		t.Errorf("the red chain ended as %+v, want exhausted (top_reached) at step 2, 10s after it began", red)
	}
	var rep struct {
		TopReached []struct {
			AlertID int64  `json:"alert_id"`
			Policy  string `json:"policy"`
		} `json:"top_reached"`
	}
	q := url.Values{"from": {time.Now().Add(-time.Hour).Format(time.RFC3339)}}
	if code := getJSON(t, api+"/api/v1/reports/answers?"+q.Encode(), &rep); code != 200 || len(rep.TopReached) != 1 ||
		rep.TopReached[0].AlertID != a.ID || rep.TopReached[0].Policy != "red" {
		t.Errorf("answer report: %d, top reached %+v, want the red chain of alert %d", code, rep.TopReached, a.ID)
	}
	if n := len(p.sent()); n != 4 {
		t.Errorf("%d calls, want step 1's three and step 2's one: %v", n, p.sent())
	}
}

// laterOf returns the later of two times.
func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
