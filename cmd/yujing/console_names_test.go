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
// answered by name — 张伟, in the escalation's line and on the call — not
// by the person's id (zhang), which the API records.
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
	var page struct{ Escalation, Call string }
	p.eval(`({Escalation: document.querySelector("#d-calls .escalation p.answered").textContent,
		Call: document.querySelector('#d-calls li.call[data-status="answered"] .answer').textContent})`, &page)
	p.shot("answered-by-name-1920")
	if !strings.Contains(page.Escalation, "· 张伟 · 应答链接") || strings.Contains(page.Escalation, "zhang") {
		t.Errorf("escalation line %q, want 张伟 by name, answered through the link", page.Escalation)
	}
	if !strings.Contains(page.Call, "应答人 张伟") || strings.Contains(page.Call, "zhang") {
		t.Errorf("the answered call %q, want 应答人 张伟", page.Call)
	}
}
