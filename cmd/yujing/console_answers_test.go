package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The console shows each call's real outcome. A red warning calls 张伟 and
// 赵敏 (DingTalk) and 王芳 (SMS, the double report); 张伟 phones back and
// the duty room records his answer. The warning clears and comes back: the three are called again,
// and the reading clears a second later, which stops the chain. Past the
// deadline of those calls, the warning page marks none of them 超时未应答
// and offers no 代为登记应答 on them: they show as stopped (the warning
// cleared) and, in the first chain, as answered by a colleague. The
// statistics page shows the colleague and stopped columns, an answer rate
// that counts neither, and with 含下级 the county bureau's row that rolls
// up the enterprise below it.
func TestConsoleCallOutcomesInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	dir := artifactsDir(t)
	const adminPassword = "console-admin-test-pw"
	t.Setenv("YUJING_ADMIN_PASSWORD", adminPassword)
	p := newPhones(t)
	inst := start(t, escalationConfig(t, p))
	api := "http://" + inst.http
	pub := publisher(t, inst.mqtt)

	type detail struct {
		Calls []struct {
			ID           string    `json:"id"`
			Person       string    `json:"person"`
			EscalationID int64     `json:"escalation_id"`
			Deadline     time.Time `json:"deadline"`
			Outcome      string    `json:"outcome"`
		} `json:"calls"`
		Escalations []struct {
			ID     int64  `json:"id"`
			State  string `json:"state"`
			Reason string `json:"reason"`
		} `json:"escalations"`
	}
	var as []apiAlert
	var d detail
	// chain waits until the n-th chain of the warning has made its three
	// calls (recorded: DingTalk's rate limit delivers them seconds apart)
	// and returns their ids by person.
	chain := func(n int) map[string]string {
		t.Helper()
		ids := map[string]string{}
		waitFor(t, 10*time.Second, fmt.Sprintf("chain %d's three calls", n), func() bool {
			as, d = nil, detail{}
			if getJSON(t, api+"/api/v1/alerts", &as); len(as) != 1 {
				return false
			}
			getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", api, as[0].ID), &d)
			if len(d.Escalations) != n {
				return false
			}
			for _, c := range d.Calls {
				if c.EscalationID == d.Escalations[n-1].ID {
					ids[c.Person] = c.ID
				}
			}
			return len(ids) == 3
		})
		return ids
	}
	publish(t, pub, "yujing/plant-a/G1", `{"value": 62}`)
	first := chain(1)
	// 张伟 phones the duty room back, which records his answer.
	if code := postJSON(t, api+"/api/v1/calls/"+first["zhang"]+"/answer", `{"note": "电话确认收到"}`, nil); code != http.StatusOK {
		t.Fatalf("张伟's answer: %d", code)
	}
	publish(t, pub, "yujing/plant-a/G1", `{"value": 1}`)
	waitFor(t, 10*time.Second, "the warning resolved", func() bool {
		as = nil
		getJSON(t, api+"/api/v1/alerts", &as)
		return len(as) == 1 && as[0].State == "resolved"
	})
	publish(t, pub, "yujing/plant-a/G1", `{"value": 62}`)
	chain(2)
	publish(t, pub, "yujing/plant-a/G1", `{"value": 1}`)
	waitFor(t, 10*time.Second, "the second chain stopped", func() bool {
		d = detail{}
		getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", api, as[0].ID), &d)
		return len(d.Escalations) == 2 && d.Escalations[1].State == "stopped"
	})
	var due time.Time
	outcomes := map[string]int{}
	for _, c := range d.Calls {
		if c.EscalationID == d.Escalations[1].ID && c.Deadline.After(due) {
			due = c.Deadline
		}
		outcomes[c.Outcome]++
	}
	if outcomes["answered"] != 1 || outcomes["answered_by_colleague"] != 2 || outcomes["stopped_resolved"] != 3 || len(d.Calls) != 6 {
		t.Fatalf("call outcomes %v, want 1 answered, 2 answered by a colleague, 3 stopped (resolved): %+v", outcomes, d)
	}
	waitFor(t, 10*time.Second, "the stopped calls' deadline passed", func() bool { return time.Now().After(due.Add(time.Second)) })

	b := newBrowser(t, chromium, dir, 90*time.Second)
	b.viewport(1920, 1080, false)
	b.do("open the console", chromedp.Navigate(fmt.Sprintf("%s/#/alert/%d", api, as[0].ID)))
	if authOn := newConsoleAPI(t, api).do("GET", "/api/v1/me", nil, nil) == http.StatusUnauthorized; authOn {
		b.login("admin", adminPassword)
	}
	b.wait("both chains on the warning page", `document.querySelectorAll("#d-calls .escalation").length === 2 && document.querySelectorAll("#d-calls li.call").length === 6`, 10*time.Second)
	var page struct {
		First, Second []string
		Text          string
		Buttons       int
		CanAct        bool
	}
	b.eval(`(() => {
		const escs = document.querySelectorAll("#d-calls .escalation"), st = e => [...e.querySelectorAll("li.call")].map(c => c.querySelector(".what b").textContent + ":" + c.dataset.status);
		return {First: st(escs[0]), Second: st(escs[1]), Text: document.querySelector("#d-calls").textContent,
			Buttons: document.querySelectorAll("#d-calls button.record-answer").length, CanAct: document.querySelector("#ack, #close, #actions") !== null};
	})()`, &page)
	b.shot("call-outcomes-1920")
	want := map[string]bool{"张伟:answered": true, "赵敏:answered_by_colleague": true, "王芳:answered_by_colleague": true}
	for _, c := range page.First {
		if !want[c] {
			t.Errorf("first chain: call %s, want one of %v", c, want)
		}
	}
	for _, c := range page.Second {
		if !strings.HasSuffix(c, ":stopped_resolved") {
			t.Errorf("second chain: call %s, want stopped_resolved", c)
		}
	}
	if strings.Contains(page.Text, "超时未应答") || page.Buttons != 0 {
		t.Errorf("calls whose deadline did not pass unanswered: %d 代为登记应答 buttons, 超时未应答 shown: %v\n%s", page.Buttons, strings.Contains(page.Text, "超时未应答"), page.Text)
	}
	if !strings.Contains(page.Text, "已停止（预警已解除）") || !strings.Contains(page.Text, "他人已应答") {
		t.Errorf("the timeline says neither 已停止（预警已解除） nor 他人已应答:\n%s", page.Text)
	}
	if !page.CanAct {
		t.Errorf("the page offers no actions: logged in as an operator, the missing buttons would prove nothing")
	}

	// Statistics per person: colleague and stopped columns, the rate of
	// answered / (answered + unanswered).
	b.do("statistics by person", chromedp.Navigate(api+"/#/stats?aby=person"))
	b.wait("the answer table", `document.querySelectorAll("#answers-report tbody tr").length === 3`, 10*time.Second)
	var tbl struct {
		Head []string
		Rows [][]string
		Note string
	}
	readTable := `(() => ({Head: [...document.querySelectorAll("#answers-report thead th")].map(c => c.textContent),
		Rows: [...document.querySelectorAll("#answers-report tbody tr, #answers-report tfoot tr")].map(r => [...r.cells].map(c => c.textContent)),
		Note: (document.querySelector("#answers-report .rate-note") || {}).textContent || ""}))()`
	b.eval(readTable, &tbl)
	b.shot("stats-answers-1920")
	wantHead := []string{"", "呼叫", "已应答", "他人已应答", "超时未应答", "等待应答", "已停止", "因预警解除", "因预警升级", "因预警关闭", "应答率", "应答时间中位数", "90% 应答时间"}
	if strings.Join(tbl.Head, "|") != strings.Join(wantHead, "|") {
		t.Errorf("answer table head %q, want %q", tbl.Head, wantHead)
	}
	rows := map[string]string{}
	for _, r := range tbl.Rows {
		if len(r) >= 11 {
			rows[r[0]] = strings.Join(r[1:11], "|")
		}
	}
	for name, want := range map[string]string{
		"张伟": "2|1|0|0|0|1|1|0|0|100%",
		"赵敏": "2|0|1|0|0|1|1|0|0|—",
		"王芳": "2|0|1|0|0|1|1|0|0|—",
		"合计": "6|1|2|0|0|3|3|0|0|100%",
	} {
		if rows[name] != want {
			t.Errorf("answer table row %s: %q, want %q (rows %q)", name, rows[name], want, tbl.Rows)
		}
	}
	if !strings.Contains(tbl.Note, "已应答 ÷（已应答 + 超时未应答）") {
		t.Errorf("the rate's formula is not said under the table: %q", tbl.Note)
	}

	// By organisation with 含下级: the enterprise's row with its name, and
	// the city bureau's row rolling it up.
	b.do("statistics by organisation", chromedp.Navigate(api+"/#/stats?aby=org"))
	b.wait("the org table", `document.querySelectorAll("#answers-report tbody tr").length === 1`, 10*time.Second)
	b.do("含下级", chromedp.Click(chromedp.CSS(`#aby-form input[name=rollup]`)))
	b.wait("the rolled-up org table", `location.hash.includes("rollup=1") && document.querySelectorAll("#answers-report tbody tr").length === 2`, 10*time.Second)
	b.eval(readTable, &tbl)
	var orgs []string
	for _, r := range tbl.Rows {
		orgs = append(orgs, r[0]+":"+r[1])
	}
	if strings.Join(orgs, " ") != "南京市应急管理局:6 某化工有限公司:6 合计:6" && strings.Join(orgs, " ") != "某化工有限公司:6 南京市应急管理局:6 合计:6" {
		t.Errorf("org rows with 含下级: %v, want 南京市应急管理局 and 某化工有限公司 with 6 calls each", orgs)
	}
	var csvHref string
	b.eval(`document.querySelector("#answers-csv").getAttribute("href")`, &csvHref)
	if !strings.Contains(csvHref, "rollup=1") || !strings.Contains(csvHref, "by=org") {
		t.Errorf("CSV link %q does not export what is shown", csvHref)
	}
	b.shot("stats-answers-rollup-1920")

	// English.
	b.do("switch to English", chromedp.Click(chromedp.CSS("#lang")))
	b.wait("English headings", `[...document.querySelectorAll("#answers-report thead th")].map(c => c.textContent).join("|").includes("Answered by a colleague|Unanswered|Pending|Stopped")`, 5*time.Second)
	b.do("back to Chinese", chromedp.Click(chromedp.CSS("#lang")))
}
