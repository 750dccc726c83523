package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleAnsweredByNameInBrowser: 张伟 answers a red warning's
// DingTalk call through its signed link. The warning page says who
// answered and acknowledged by name — 张伟, in the escalation's line, on
// the call and in the facts — not by the person's id (zhang), which the
// API records. The warning clears, comes back and nobody answers: the
// statistics list the chain that reached the top with the site's name.
func TestConsoleAnsweredByNameInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	dir := artifactsDir(t)
	const adminPassword = "console-admin-test-pw"
	t.Setenv("YUJING_ADMIN_PASSWORD", adminPassword)
	ph := newPhones(t)
	inst := start(t, escalationConfig(t, ph))
	base := "http://" + inst.http
	publish(t, publisher(t, inst.mqtt), "yujing/plant-a/G1", `{"value": 62}`)
	var link string
	for _, s := range ph.step1(t) {
		if s.channel == "dingtalk" && strings.Contains(s.to, "13800000001") {
			link = s.link
		}
	}
	if link == "" {
		t.Fatalf("no DingTalk call to 张伟 (13800000001): %v", ph.sent())
	}
	resp, err := http.Post(base+strings.TrimPrefix(link, "http://yj.test"), "application/json", strings.NewReader(`{"note": "收到，马上处理"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("answer through the link: %s", resp.Status)
	}
	var as []apiAlert
	getJSON(t, base+"/api/v1/alerts", &as)
	if len(as) != 1 {
		t.Fatalf("%d alerts, want 1", len(as))
	}

	p := newBrowser(t, chromium, dir, 60*time.Second)
	p.viewport(1920, 1080, false)
	p.do("open the warning", chromedp.Navigate(fmt.Sprintf("%s/#/alert/%d", base, as[0].ID)))
	if newConsoleAPI(t, base).do("GET", "/api/v1/me", nil, nil) == http.StatusUnauthorized {
		p.login("admin", adminPassword)
	}
	p.wait("the answered escalation", `document.querySelector("#d-calls .escalation p.answered") !== null && document.querySelector('#d-calls li.call[data-status="answered"]') !== null`, 10*time.Second)
	var page struct{ Escalation, Call, Acked string }
	p.eval(`({Escalation: document.querySelector("#d-calls .escalation p.answered").textContent,
		Call: document.querySelector('#d-calls li.call[data-status="answered"] .answer').textContent,
		Acked: [...document.querySelectorAll(".facts > div")].filter(d => d.querySelector("dt").textContent === "响应").map(d => d.querySelector("dd").textContent).join("")})`, &page)
	p.shot("answered-by-name-1920")
	if !strings.Contains(page.Escalation, "· 张伟 · 应答链接") || strings.Contains(page.Escalation, "zhang") {
		t.Errorf("escalation line %q, want 张伟 by name, answered through the link", page.Escalation)
	}
	if !strings.Contains(page.Call, "应答人 张伟") || strings.Contains(page.Call, "zhang") {
		t.Errorf("the answered call %q, want 应答人 张伟", page.Call)
	}
	if !strings.Contains(page.Acked, "张伟") || strings.Contains(page.Acked, "zhang") {
		t.Errorf("acknowledged %q, want by 张伟", page.Acked)
	}

	// The warning clears and comes back; nobody answers this time, and
	// the chain reaches the top. The statistics list it under 叫应到顶 with
	// the site's name, not its id.
	pub := publisher(t, inst.mqtt)
	publish(t, pub, "yujing/plant-a/G1", `{"value": 1}`)
	waitFor(t, 10*time.Second, "the warning resolved", func() bool {
		as = nil
		getJSON(t, base+"/api/v1/alerts", &as)
		return len(as) == 1 && as[0].State == "resolved"
	})
	publish(t, pub, "yujing/plant-a/G1", `{"value": 62}`)
	waitFor(t, 20*time.Second, "the second chain at the top", func() bool {
		var d struct {
			Escalations []struct {
				TopReachedAt *time.Time `json:"top_reached_at"`
			} `json:"escalations"`
		}
		getJSON(t, fmt.Sprintf("%s/api/v1/alerts/%d", base, as[0].ID), &d)
		return len(d.Escalations) == 2 && d.Escalations[1].TopReachedAt != nil
	})
	p.do("statistics by person", chromedp.Navigate(base+"/#/stats?aby=person"))
	p.wait("the escalations that reached the top", `document.querySelector("#answers-report ul.top li") !== null`, 10*time.Second)
	var top string
	p.eval(`document.querySelector("#answers-report ul.top li").textContent`, &top)
	p.shot("stats-top-reached-1920")
	if !strings.Contains(top, "甲厂") || strings.Contains(top, "plant-a") {
		t.Errorf("top reached %q, want the site by name (甲厂)", top)
	}
}
