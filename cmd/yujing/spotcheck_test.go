package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// spotCheckYAML: acme's duty officer (zhang) and principal (wang) on
// rosters; checks on demand call on the webhook channel and wait 3s a
// role.
func spotCheckYAML(t *testing.T, p *phones) string {
	return fmt.Sprintf(`
data_dir: %s
timezone: Asia/Shanghai
mqtt: {embedded: {listen: "127.0.0.1:0"}}
delivery: {group_wait: 0s}
sites: [{id: plant-a, name: 甲厂, region: "320115"}]
people:
  - {id: zhang, name: 张伟, phone: "13800000001", org: acme}
  - {id: wang, name: 王芳, phone: "13800000003", org: acme}
orgs:
  - {id: jn, name: 江宁区应急管理局, kind: county, region: "320115"}
  - {id: acme, name: 某化工有限公司, kind: enterprise, parent: jn, region: "320115", sites: [plant-a]}
rosters:
  - {org: acme, role: duty_officer, shifts: ["00:00"], start: 2026-01-01, rotation: [zhang]}
  - {org: acme, role: principal, shifts: ["00:00"], start: 2026-01-01, rotation: [wang]}
channels:
  - {name: webhook, webhook: {url: "%s"}}
escalation: {base_url: http://yj.test}
spot_checks:
  on_demand: {channels: [webhook], deadline: 3s}
`, t.TempDir(), p.hook.URL)
}

type spotCheckJSON struct {
	ID          int64      `json:"id"`
	Org         string     `json:"org"`
	State       string     `json:"state"`
	Reason      string     `json:"reason"`
	Step        int        `json:"step"`
	AnswerStep  int        `json:"answer_step"`
	AnsweredBy  string     `json:"answered_by"`
	OnDuty      bool       `json:"on_duty"`
	RequestedBy string     `json:"requested_by"`
	StartedAt   *time.Time `json:"started_at"`
	AnsweredAt  *time.Time `json:"answered_at"`
	RolesZH     []string   `json:"roles_zh"`
}

// Checks on demand through the API, end to end: the duty officer on the
// roster is called on the webhook and answers through the link (on
// duty); next, nobody answers by the deadline, the principal is called
// and answers; last, nobody answers at all (missed). The list, the report
// and its CSV hold exact figures, and the audit log who asked.
func TestSpotCheckEndToEnd(t *testing.T) {
	p := newPhones(t)
	cfg := configFrom(t, spotCheckYAML(t, p))
	inst := start(t, cfg)
	api := "http://" + inst.http
	check := func() spotCheckJSON {
		t.Helper()
		var c spotCheckJSON
		if code := postJSON(t, api+"/api/v1/spot-checks", `{"org": "acme", "role": "duty_officer"}`, &c); code != http.StatusCreated || c.ID == 0 {
			t.Fatalf("POST /api/v1/spot-checks: %d %+v", code, c)
		}
		return c
	}
	get := func(id int64) spotCheckJSON {
		t.Helper()
		var list []spotCheckJSON
		getJSON(t, api+"/api/v1/spot-checks?org=acme", &list)
		for _, c := range list {
			if c.ID == id {
				return c
			}
		}
		t.Fatalf("check %d not listed: %+v", id, list)
		return spotCheckJSON{}
	}
	answer := func(s sent) {
		t.Helper()
		path := strings.TrimPrefix(s.link, "http://yj.test")
		resp, err := http.Post(api+path, "application/json", strings.NewReader(`{"note": "在岗"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("answer through %s: %d", path, resp.StatusCode)
		}
	}
	calls := func(n int) []sent {
		t.Helper()
		waitFor(t, 15*time.Second, fmt.Sprintf("%d calls", n), func() bool { return len(p.sent()) >= n })
		got := p.sent()
		if len(got) != n {
			t.Fatalf("%d calls, want %d: %+v", len(got), n, got)
		}
		return got
	}

	for _, c := range []struct{ body, want string }{
		{`{"org": "nope"}`, `org: "nope" is not an organisation of the directory`},
		{`{"org": "acme", "channel": "fax"}`, `channel: "fax" is not a configured channel ([webhook])`},
		{`{"org": "acme", "deadline": "5s"}`, `deadline: want a duration from 1m to 24h such as "10m", got "5s"`},
		{`{"org": "acme", "who": "x"}`, `unknown field "who"`},
	} {
		var e struct{ Error string }
		if code := postJSON(t, api+"/api/v1/spot-checks", c.body, &e); code != http.StatusBadRequest || !strings.Contains(e.Error, c.want) {
			t.Errorf("POST %s: %d %q, want 400 with %q", c.body, code, e.Error, c.want)
		}
	}

	for _, q := range []string{"from=2026-07-02&to=2026-07-01", "from=yesterday", "by=person"} {
		path := "/api/v1/spot-checks?" + q
		if q == "by=person" {
			path = "/api/v1/reports/spot-checks?" + q
		}
		var e struct{ Error string }
		if code := getJSON(t, api+path, &e); code != http.StatusBadRequest || e.Error == "" {
			t.Errorf("GET %s: %d %q, want 400 with the reason", path, code, e.Error)
		}
	}

	// 1: on duty.
	a := check()
	if a.RequestedBy != "token:test" && !strings.Contains(a.RequestedBy, "test") {
		t.Errorf("requested by %q, want the API token", a.RequestedBy)
	}
	got := calls(1)
	if got[0].to != "zhang" || !strings.HasPrefix(got[0].link, "http://yj.test/answer/") {
		t.Fatalf("first call %+v, want zhang with an answer link", got[0])
	}
	answer(got[0])
	if c := get(a.ID); c.State != "answered" || !c.OnDuty || c.AnswerStep != 1 || c.AnsweredBy != "zhang" {
		t.Fatalf("check 1 = %+v, want answered on duty by zhang", c)
	}

	// 2: the duty officer does not answer; the principal does.
	b := check()
	got = calls(2)
	if got[1].to != "zhang" {
		t.Fatalf("second check called %+v, want zhang", got[1])
	}
	got = calls(3)
	if got[2].to != "wang" {
		t.Fatalf("after the deadline: %+v, want wang", got[2])
	}
	answer(got[2])
	if c := get(b.ID); c.State != "answered" || c.OnDuty || c.AnswerStep != 2 || c.AnsweredBy != "wang" {
		t.Fatalf("check 2 = %+v, want answered by wang at step 2, not on duty", c)
	}

	// 3: nobody answers.
	c3 := check()
	calls(5)
	waitFor(t, 15*time.Second, "check 3 missed", func() bool { return get(c3.ID).State == "missed" })
	if c := get(c3.ID); c.Reason != "no_answer" || c.Step != 2 {
		t.Fatalf("check 3 = %+v, want missed at step 2, no answer", c)
	}
	if n := len(p.sent()); n != 5 {
		t.Errorf("%d calls in all, want 5 (no call twice)", n)
	}

	// The report: 1 of 3 on duty; the answer times are check 1's.
	first := get(a.ID)
	secs := first.AnsweredAt.Sub(*first.StartedAt).Seconds()
	type row struct {
		Key               string
		Name              string
		Checks            int
		OnDuty            int `json:"on_duty"`
		Escalated, Missed int
		Rate              *float64 `json:"on_duty_rate"`
		Median            *float64 `json:"median_answer_seconds"`
		Max               *float64 `json:"max_answer_seconds"`
	}
	for _, by := range []string{"org", "parent", "region"} {
		var rep struct{ Rows []row }
		if code := getJSON(t, api+"/api/v1/reports/spot-checks?by="+by, &rep); code != http.StatusOK || len(rep.Rows) != 1 {
			t.Fatalf("report by %s: %d %+v", by, code, rep)
		}
		r := rep.Rows[0]
		wantKey := map[string]string{"org": "acme", "parent": "jn", "region": "320115"}[by]
		if r.Key != wantKey || r.Checks != 3 || r.OnDuty != 1 || r.Escalated != 1 || r.Missed != 1 || r.Rate == nil ||
			*r.Rate != 1.0/3 || r.Median == nil || *r.Median != secs || *r.Max != secs {
			t.Errorf("report by %s: %+v (rate %v median %v), want %s: 3 checks, 1 on duty, 1 escalated, 1 missed, median %v",
				by, r, deref(r.Rate), deref(r.Median), wantKey, secs)
		}
	}
	resp, err := authed.Get(api + "/api/v1/reports/spot-checks.csv?by=org")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lines, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(body), "\uFEFF"))).ReadAll()
	if err != nil || len(lines) != 3 {
		t.Fatalf("CSV %q: %v", body, err)
	}
	if want := []string{"acme", "某化工有限公司", "3", "1", "1", "1", "0.3333"}; strings.Join(lines[1][:7], ",") != strings.Join(want, ",") {
		t.Errorf("CSV line %v, want %v…", lines[1], want)
	}

	// Who asked is in the audit log.
	var entries []struct{ Actor, Action, Object, Detail string }
	getJSON(t, api+"/api/v1/audit", &entries)
	n := 0
	for _, e := range entries {
		if strings.Contains(e.Action+" "+e.Object, "spot-check") {
			n++
			if !strings.Contains(e.Actor, "test") {
				t.Errorf("audit entry %+v: actor is not the API token", e)
			}
		}
	}
	if n != 3 {
		t.Errorf("%d audit entries for spot checks, want 3: %+v", n, entries)
	}

	// A reload changes the on-demand settings: 1 minute, the principal
	// only after the leader on duty.
	text := strings.Replace(spotCheckYAML(t, p), "on_demand: {channels: [webhook], deadline: 3s}",
		"on_demand: {channels: [webhook], deadline: 1m, escalate_to: [leader_on_duty, principal]}", 1)
	if err := os.WriteFile(cfg.Source, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, body := do(t, "POST", api+"/-/reload", ""); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, body)
	}
	var after struct {
		Deadline time.Duration `json:"deadline_ns"`
		Roles    []string      `json:"roles"`
	}
	if code := postJSON(t, api+"/api/v1/spot-checks", `{"org": "acme"}`, &after); code != http.StatusCreated ||
		after.Deadline != time.Minute || strings.Join(after.Roles, ",") != "duty_officer,leader_on_duty,principal" {
		t.Errorf("after the reload: %d %+v, want a 1m deadline and duty_officer, leader_on_duty, principal", code, after)
	}
}

func deref(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}
