package main

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleUsersInBrowser: an admin manages accounts through the
// console — creates an operator, makes them a viewer, resets their
// password, disables and enables them, removes them — and creates an API
// token, shown once, that works until it is revoked. Each step is checked
// against the server: the role the API gives, which password logs in, and
// whether the token is accepted.
func TestConsoleUsersInBrowser(t *testing.T) {
	env := newConsoleEnv(t, nil)
	p := env.browser(t, "admin")
	p.goTo("#/users", `document.querySelector("#users tbody tr") !== null && document.querySelector("#tokens tbody") !== null`)
	loginCode := func(user, password string) int {
		return newConsoleAPI(t, env.base).do("POST", "/api/v1/login", map[string]string{"username": user, "password": password}, nil)
	}
	row := `#users tr[data-user="zhao-duty"]`

	// An admin has the longest menu; at 1920 px it still fits the header's
	// one row (a duty-room screen loses no height to a wrapped header).
	// The tops of its parts lie within 30 px of each other (a second row
	// starts 40 px or more lower).
	var spread float64
	p.eval(`(() => { const tops = [...document.querySelectorAll("#top > *")].filter(e => e.offsetParent !== null).map(e => e.getBoundingClientRect().top); return Math.max(...tops) - Math.min(...tops); })()`, &spread)
	if spread >= 30 {
		t.Errorf("the admin's header at 1920 px wraps: its parts' tops lie %.0f px apart, want one row (< 30 px)", spread)
	}

	// Create an operator.
	p.typeIn("#nu-name", "zhao-duty")
	p.typeIn("#nu-password", "zhao-duty-pw-2026")
	p.choose("#nu-role", "operator")
	p.click("create the user", "#nu-create")
	p.wait("the new user", fmt.Sprintf(`(document.querySelector('%s') || {dataset: {}}).dataset.role === "operator" && document.querySelector("#users-msg").textContent === "已创建用户 zhao-duty。"`, row), 10*time.Second)
	if code := loginCode("zhao-duty", "zhao-duty-pw-2026"); code != http.StatusOK {
		t.Fatalf("the new user logs in: status %d", code)
	}

	// A viewer now.
	p.choose(row+" select.user-role", "viewer")
	p.wait("the role changed", fmt.Sprintf(`document.querySelector('%s').dataset.role === "viewer"`, row), 10*time.Second)
	zhao := newConsoleAPI(t, env.base)
	zhao.login("zhao-duty", "zhao-duty-pw-2026")
	var me struct{ Role string }
	if zhao.do("GET", "/api/v1/me", nil, &me); me.Role != "viewer" {
		t.Errorf("zhao-duty's role after the change: %q, want viewer", me.Role)
	}

	// Reset the password: the old one no longer logs in, the new one does.
	p.click("reset the password", row+" button.user-reset")
	p.wait("the password form", `document.querySelector("#reset-password") !== null`, 5*time.Second)
	p.typeIn("#reset-password", "zhao-new-pw-2026")
	p.click("set it", "#reset-save")
	p.wait("reset", `document.querySelector("#users-msg").textContent.includes("已重置 zhao-duty 的密码")`, 10*time.Second)
	if old, nw := loginCode("zhao-duty", "zhao-duty-pw-2026"), loginCode("zhao-duty", "zhao-new-pw-2026"); old != http.StatusUnauthorized || nw != http.StatusOK {
		t.Errorf("after the reset: the old password %d (want 401), the new one %d (want 200)", old, nw)
	}
	if code := zhao.do("GET", "/api/v1/me", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("zhao-duty's session after the reset: %d, want 401", code)
	}

	// Disable (asked twice), then enable.
	toggle := row + " button.user-toggle"
	p.click("disable", toggle)
	p.wait("the button asks again", fmt.Sprintf(`document.querySelector('%s').textContent === "确认停用？"`, toggle), 2*time.Second)
	p.click("confirm", toggle)
	p.wait("disabled", fmt.Sprintf(`document.querySelector('%s').dataset.disabled === "true"`, row), 10*time.Second)
	if code := loginCode("zhao-duty", "zhao-new-pw-2026"); code != http.StatusUnauthorized {
		t.Errorf("a disabled user logs in: status %d, want 401", code)
	}
	p.shot("users-1920")
	p.click("enable", toggle)
	p.wait("enabled", fmt.Sprintf(`document.querySelector('%s').dataset.disabled === "false"`, row), 10*time.Second)
	if code := loginCode("zhao-duty", "zhao-new-pw-2026"); code != http.StatusOK {
		t.Errorf("an enabled user logs in: status %d, want 200", code)
	}
	// Admin's own row offers nothing that could lock admin out.
	if n := p.count(`#users tr[data-user="admin"] button, #users tr[data-user="admin"] select`); n != 0 {
		t.Errorf("admin's own row has %d controls, want none", n)
	}

	// An API token, shown once.
	p.typeIn("#nt-name", "grafana")
	p.choose("#nt-role", "viewer")
	p.click("create the token", "#nt-create")
	p.wait("the token shown", `(document.querySelector("#token-value") || {}).textContent?.startsWith("yjt_") && document.querySelector('#tokens tr[data-token="grafana"]') !== null`, 10*time.Second)
	token := p.text("#token-value")
	p.shot("tokens-1920")
	bearer := func() int {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", env.base+"/api/v1/alerts", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := bearer(); code != http.StatusOK {
		t.Errorf("the new token: status %d, want 200", code)
	}
	p.goTo("#/board", `document.querySelector("#alerts") !== null`)
	p.goTo("#/users", `document.querySelector('#tokens tr[data-token="grafana"]') !== null`)
	if n := p.count("#token-value"); n != 0 || strings.Contains(p.text("#view"), token) {
		t.Error("the token's secret is shown again after leaving the page")
	}
	revoke := `#tokens tr[data-token="grafana"] button.token-revoke`
	p.click("revoke", revoke)
	p.click("confirm", revoke)
	p.wait("revoked", `document.querySelector('#tokens tr[data-token="grafana"]').dataset.revoked === "true"`, 10*time.Second)
	if code := bearer(); code != http.StatusUnauthorized {
		t.Errorf("the revoked token: status %d, want 401", code)
	}

	// Remove the user.
	del := row + " button.user-delete"
	p.click("remove", del)
	p.click("confirm", del)
	p.wait("removed", fmt.Sprintf(`document.querySelector('%s') === null && document.querySelector("#users-msg").textContent === "已删除用户 zhao-duty。"`, row), 10*time.Second)
	var users []struct{ Username string }
	env.admin.do("GET", "/api/v1/users", nil, &users)
	for _, u := range users {
		if u.Username == "zhao-duty" {
			t.Error("zhao-duty is still a user")
		}
	}
}

// TestConsoleAuditInBrowser: an admin reads the audit log in the console
// (Chromium in New York, server in Shanghai): the chain is reported
// intact; actions are in words with their objects by name; the log is
// searched and filtered by actor, kind and a time typed in Shanghai's
// clock; the CSV export holds the same entries as the page.
func TestConsoleAuditInBrowser(t *testing.T) {
	env := newConsoleEnv(t, nil)
	shanghai := mustZone(t, "Asia/Shanghai")
	// Something to audit: a sensor renamed, a silence, a warning acknowledged.
	if code := env.admin.do("PUT", "/api/v1/sensors/RG-301", map[string]any{"site": "demo-plant", "family": "weather", "name": "厂区东侧雨量站", "metric": "rain_1h", "unit": "mm"}, nil); code != 200 {
		t.Fatalf("rename RG-301: %d", code)
	}
	if code := env.admin.do("POST", "/api/v1/silences", map[string]any{"matchers": map[string]string{"sensor": "TK-201"}, "ends_at": time.Now().Add(time.Hour), "comment": "储罐检修"}, nil); code != 201 {
		t.Fatalf("silence: %d", code)
	}
	alert := env.redAlert()
	if code := env.operator.do("POST", fmt.Sprintf("/api/v1/alerts/%d/ack", alert.ID), map[string]string{"note": "已到场"}, nil); code != 200 {
		t.Fatalf("ack: %d", code)
	}

	p := env.browser(t, "admin", chromedp.Env("TZ=America/New_York"))
	p.goTo("#/audit", `document.querySelector('#audit-verify[data-ok="true"]') !== null && document.querySelector("#audit tbody tr") !== null`)
	var page struct {
		Verify string
		Rows   []map[string]string
	}
	readRows := func() {
		p.eval(`({Verify: document.querySelector("#audit-verify").textContent, Rows: [...document.querySelectorAll("#audit tbody tr")].map(r => ({
			seq: r.dataset.seq, actor: r.dataset.actor, action: r.cells[3].textContent, object: r.cells[4].textContent, at: r.cells[1].textContent}))})`, &page)
	}
	readRows()
	var rep struct {
		Entries  int    `json:"entries"`
		LastHash string `json:"last_hash"`
	}
	env.admin.do("GET", "/api/v1/audit/verify", nil, &rep)
	if !strings.Contains(page.Verify, fmt.Sprintf("审计链完整：共 %d 条记录", rep.Entries)) || !strings.Contains(page.Verify, rep.LastHash) {
		t.Errorf("verification %q; want intact, %d entries, the last hash %s", page.Verify, rep.Entries, rep.LastHash)
	}
	find := func(action string) map[string]string {
		for _, r := range page.Rows {
			if strings.HasPrefix(r["action"], action) {
				return r
			}
		}
		return nil
	}
	var entries []struct {
		Seq int64     `json:"seq"`
		At  time.Time `json:"at"`
	}
	env.admin.do("GET", "/api/v1/audit?limit=1", nil, &entries)
	for action, want := range map[string][]string{
		"确认响应":  {"duty-li", fmt.Sprintf("预警 #%d", alert.ID)},
		"修改监测点": {"admin", "厂区东侧雨量站 RG-301"},
		"新建静默":  {"admin", "1号储罐 TK-201"},
		"新建用户":  {"admin", "用户 viewer-wang"},
		"登录":    {"admin", "用户 admin"},
	} {
		r := find(action)
		if r == nil || r["actor"] != want[0] || r["object"] != want[1] {
			t.Errorf("the %s entry: %v; want by %s on %q", action, r, want[0], want[1])
		}
	}
	if len(page.Rows) == 0 || page.Rows[0]["at"] != entries[0].At.In(shanghai).Format("2006-01-02 15:04:05") {
		t.Errorf("the newest entry's time %v, want %s (Asia/Shanghai)", page.Rows[0], entries[0].At.In(shanghai).Format("2006-01-02 15:04:05"))
	}
	p.shot("audit-1920")

	// Filter by actor.
	p.typeIn("#audit-actor", "duty-li")
	p.do("leave the field", chromedp.Evaluate[chromedp.Void](`document.querySelector("#audit-actor").dispatchEvent(new Event("change", {bubbles: true}))`))
	p.wait("only duty-li's", `location.hash.includes("actor=duty-li") && document.querySelectorAll("#audit tbody tr").length > 0 && [...document.querySelectorAll("#audit tbody tr")].every(r => r.dataset.actor === "duty-li")`, 10*time.Second)
	p.click("clear", "#audit-clear")
	// Search: text anywhere, here the note of the acknowledgement.
	p.wait("all again", `!location.hash.includes("actor") && document.querySelector('#audit tbody tr[data-actor="admin"]') !== null`, 10*time.Second)
	p.typeIn("#audit-q", "已到场")
	p.do("search", chromedp.Evaluate[chromedp.Void](`document.querySelector("#audit-filters").requestSubmit()`))
	p.wait("the acknowledgement found", `[...document.querySelectorAll("#audit tbody tr")].map(r => r.dataset.action).join() === "POST /api/v1/alerts/{id}/ack"`, 10*time.Second)
	p.click("clear", "#audit-clear")
	// By kind: the sensors'.
	p.wait("all again", `!location.hash.includes("q=") && document.querySelectorAll("#audit tbody tr").length > 2`, 10*time.Second)
	p.choose("#audit-kind", "/api/v1/sensors")
	p.wait("only sensor changes", `[...document.querySelectorAll("#audit tbody tr")].map(r => r.dataset.action).join() === "PUT /api/v1/sensors/{id}"`, 10*time.Second)
	p.click("clear", "#audit-clear")
	// By time, typed in Shanghai's clock: from a minute before the
	// newest entry there is something; from a minute after, nothing. (A
	// time read in New York's clock would be 12 or 13 hours off.)
	before := entries[0].At.Add(-time.Minute).In(shanghai).Format("2006-01-02T15:04")
	after := entries[0].At.Add(time.Minute).In(shanghai).Format("2006-01-02T15:04")
	p.wait("all again", `!location.hash.includes("action") && document.querySelectorAll("#audit tbody tr").length > 2`, 10*time.Second)
	p.choose("#audit-from", after)
	p.wait("nothing after", `document.querySelector("#audit-list .empty") !== null`, 10*time.Second)
	p.choose("#audit-from", before)
	p.wait("the newest entries", fmt.Sprintf(`document.querySelector('#audit tbody tr[data-seq="%d"]') !== null`, entries[0].Seq), 10*time.Second)

	// The CSV export: the same filter, the same entries.
	var exported struct {
		Href, CSV string
		Seqs      []string
	}
	p.do("download the CSV", chromedp.Evaluate[chromedp.Void](`fetch(document.querySelector("#audit-csv").href, {credentials: "same-origin"}).then(r => r.text()).then(s => { window.__csv = s; })`))
	p.wait("the CSV", `typeof window.__csv === "string"`, 10*time.Second)
	p.eval(`({Href: document.querySelector("#audit-csv").getAttribute("href"), CSV: window.__csv, Seqs: [...document.querySelectorAll("#audit tbody tr")].map(r => r.dataset.seq)})`, &exported)
	rows, err := csv.NewReader(strings.NewReader(exported.CSV)).ReadAll()
	if err != nil || len(rows) < 2 || !strings.HasPrefix(exported.Href, "/api/v1/audit.csv?from=") {
		t.Fatalf("CSV from %s: %v %q", exported.Href, err, exported.CSV)
	}
	var csvSeqs []string
	for _, r := range rows[1:] {
		csvSeqs = append([]string{r[0]}, csvSeqs...) // oldest first in the CSV, newest first on the page
	}
	if strings.Join(csvSeqs, ",") != strings.Join(exported.Seqs, ",") {
		t.Errorf("the CSV holds entries %v, the page %v", csvSeqs, exported.Seqs)
	}
}
