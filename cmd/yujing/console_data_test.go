package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"yujing"
	"yujing/config"
	"yujing/store/sqlite"
)

// startDataDemo is startConsoleDemo with prepare run on the demo
// configuration before serve starts (to fill the reading store), and an
// administrator admin-zhou (admin-zhou-pw-2025) besides the operator
// duty-li and the viewer viewer-wang.
func startDataDemo(t *testing.T, prepare func(cfg *config.Config)) *consoleDemo {
	t.Helper()
	const adminPassword = "console-admin-test-pw"
	t.Setenv("YUJING_ADMIN_PASSWORD", adminPassword)
	hs := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(hs.Close)
	cfg := demoConfig(t, hs.URL)
	if prepare != nil {
		prepare(cfg)
	}
	inst := start(t, cfg)
	d := &consoleDemo{inst: inst, base: "http://" + inst.http, admin: newConsoleAPI(t, "http://"+inst.http)}
	if d.admin.do("GET", "/api/v1/me", nil, nil) != http.StatusUnauthorized {
		t.Fatal("the demo configuration has no login: the role checks need one")
	}
	d.authOn = true
	d.admin.login("admin", adminPassword)
	for _, u := range []struct{ name, role string }{{"duty-li", "operator"}, {"viewer-wang", "viewer"}, {"admin-zhou", "admin"}} {
		if code := d.admin.do("POST", "/api/v1/users", map[string]string{"username": u.name, "password": u.name + "-pw-2025", "role": u.role}, nil); code != 201 && code != 200 {
			t.Fatalf("create user %s: status %d", u.name, code)
		}
	}
	return d
}

// as is an API client logged in as one of the demo's users.
func (d *consoleDemo) as(t *testing.T, user string) *consoleAPI {
	t.Helper()
	c := newConsoleAPI(t, d.base)
	c.login(user, user+"-pw-2025")
	return c
}

// present says which of the CSS selectors match an element on the page.
func (p *browserPage) present(sels ...string) map[string]bool {
	p.t.Helper()
	var got map[string]bool
	js, _ := json.Marshal(sels)
	p.eval(fmt.Sprintf(`Object.fromEntries(%s.map(s => [s, document.querySelector(s) !== null]))`, js), &got)
	return got
}

// shanghaiClock is what the console writes for at in the demo's zone.
func shanghaiClock(t *testing.T, at time.Time, layout string) string {
	return at.In(mustZone(t, "Asia/Shanghai")).Format(layout)
}

// TestConsoleSitesInBrowser: an administrator opens the sites list, then
// 演示化工园区's page: its responsibility chain names people (张伟 …, never
// their ids), and at a time inside the demo roster's Spring Festival
// override it is that override's pair. The administrator orders the plant
// to stop with the decision's number: the page shows 责令停产停业, who set
// it, when (Shanghai time) and why, in the status and its history, and the
// server has it, with the change in the audit log. A viewer and an
// operator see the same page without the form, and the API refuses them.
func TestConsoleSitesInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	dir := artifactsDir(t)
	d := startDataDemo(t, nil)

	p := newBrowser(t, chromium, dir, 90*time.Second)
	p.viewport(1920, 1080, false)
	d.open(p, "#/sites", "admin-zhou")
	p.wait("the sites", `document.querySelector('#sites-table tr[data-site="demo-plant"] .pstatus[data-status="normal"]') !== null`, 10*time.Second)
	if row := p.text(`#sites-table tr[data-site="demo-plant"]`); !strings.Contains(row, "演示化工园区") || !strings.Contains(row, "演示化工有限公司") || !strings.Contains(row, "正常生产") {
		t.Errorf("the site's row %q, want its name, its enterprise and 正常生产", row)
	}
	p.shot("sites-1920")
	p.do("open the site", chromedp.Click(chromedp.CSS(`#sites-table tr[data-site="demo-plant"] a`)))
	p.wait("the chain and the form", `document.querySelector("#chain tr") !== null && document.querySelector("#status-form") !== null`, 10*time.Second)
	chain := p.text("#chain")
	for _, want := range []string{"值班员", "主要负责人", "王强", "包保责任人", "赵敏", "督长", "陈刚", "值班局", "站点 演示化工园区", "区域 320506"} {
		if !strings.Contains(chain, want) {
			t.Errorf("the chain %q lacks %q", chain, want)
		}
	}
	if strings.Contains(chain, "wang-qiang") || strings.Contains(chain, "chen-gang") {
		t.Errorf("the chain %q shows person ids", chain)
	}
	p.choose(`#chain-at input[name=at]`, "2026-02-20T09:00")
	p.click("the chain during the Spring Festival", `#chain-at button[type=submit]`)
	p.wait("the holiday's duty officers", `location.hash.includes("at=2026-02-20T09") && /张伟[\s\S]*王强/.test((document.querySelector('#chain tr[data-role="duty_officer"]') || {}).textContent || "")`, 10*time.Second)
	// The page was drawn again for that time: the status card comes with
	// its own answer, maybe after the chain's.
	p.wait("the status form again", `document.querySelector("#status-form select[name=status]") !== null`, 10*time.Second)

	const reason = "苏吴应急停字〔2026〕12号：责令停产整改"
	p.choose(`#status-form select[name=status]`, "ordered_stopped")
	p.typeIn(`#status-form textarea[name=reason]`, reason)
	p.click("order the plant to stop", `#status-form button[type=submit]`)
	p.wait("the new status", `document.querySelector('#site-status .pstatus[data-status="ordered_stopped"]') !== null && document.querySelector("#status-history tbody tr") !== null && document.querySelector("#status-msg").textContent !== ""`, 10*time.Second)
	var st struct {
		Status, Since, By, Reason string
		History                   []struct{ Status, Since, By, Reason string }
	}
	d.admin.do("GET", "/api/v1/sites/demo-plant/status", nil, &st)
	since, err := time.Parse(time.RFC3339, st.Since)
	if err != nil || st.Status != "ordered_stopped" || st.By != "admin-zhou" || st.Reason != reason || len(st.History) != 1 {
		t.Fatalf("the server's status: %+v (%v)", st, err)
	}
	page := p.text("#site-status") + "|" + p.text("#status-history")
	for _, want := range []string{"责令停产停业", "admin-zhou", reason, shanghaiClock(t, since, "2006-01-02 15:04:05"), "已保存"} {
		if !strings.Contains(page, want) {
			t.Errorf("the status card and history %q lack %q", page, want)
		}
	}
	if head := p.text("#site-head"); !strings.Contains(head, "责令停产停业") {
		t.Errorf("the page's head %q still says the old status", head)
	}
	var audit []struct{ Actor, Action, Object string }
	d.admin.do("GET", "/api/v1/audit?action=/status", nil, &audit)
	if len(audit) != 1 || audit[0].Actor != "admin-zhou" || audit[0].Object != "/api/v1/sites/demo-plant/status" {
		t.Errorf("audit entries of the change: %+v", audit)
	}
	p.shot("site-status-1920")

	for _, user := range []string{"viewer-wang", "duty-li"} {
		b := newBrowser(t, chromium, dir, 60*time.Second)
		b.viewport(1920, 1080, false)
		d.open(b, "#/sites/demo-plant", user)
		b.wait("the site's status", `document.querySelector('#site-status .pstatus[data-status="ordered_stopped"]') !== null && document.querySelector("#chain tr") !== null`, 10*time.Second)
		if got := b.present("#status-form", `#nav a[data-page="sites"]`); got["#status-form"] || !got[`#nav a[data-page="sites"]`] {
			t.Errorf("%s: %v, want the sites in the menu and no form to change the status", user, got)
		}
		if user == "viewer-wang" {
			b.shot("site-viewer-1920")
		}
		if code := d.as(t, user).do("PUT", "/api/v1/sites/demo-plant/status", map[string]string{"status": "normal", "reason": "x"}, nil); code != http.StatusForbidden {
			t.Errorf("%s: PUT status answered %d, want 403", user, code)
		}
	}
}

// TestConsoleDirectoryInBrowser: a viewer browses the organisations as a
// tree (江苏省应急管理厅 down to 演示化工有限公司) with their people by name,
// finds the duty officers by searching for 值班员, and follows the
// enterprise's site to its responsibility chain.
func TestConsoleDirectoryInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	dir := artifactsDir(t)
	d := startDataDemo(t, nil)

	p := newBrowser(t, chromium, dir, 60*time.Second)
	p.viewport(1920, 1080, false)
	d.open(p, "#/directory", "viewer-wang")
	p.wait("the tree", `document.querySelector('#org-tree li[data-org="js"] li[data-org="sz"] li[data-org="wz-bureau"] li[data-org="wz-park"] li[data-org="demo-chem"]') !== null`, 10*time.Second)
	chem := p.text(`li[data-org="demo-chem"]`)
	for _, want := range []string{"演示化工有限公司", "企业", "张伟", "刘洋", "王强", "主要负责人", "13800000002", "演示化工园区", "值班员"} {
		if !strings.Contains(chem, want) {
			t.Errorf("the enterprise's node %q lacks %q", chem, want)
		}
	}
	p.shot("directory-1920")
	p.do("search", chromedp.SendKeys(chromedp.CSS(`#dir-search input[name=q]`), "值班员\n"))
	p.wait("the results", `document.querySelectorAll("#dir-results tbody tr").length === 4`, 10*time.Second)
	res := p.text("#dir-results")
	for _, want := range []string{"张伟", "刘洋", "孙浩", "周杰", "江苏省应急管理厅 › 苏州市应急管理局 › 吴中区应急管理局"} {
		if !strings.Contains(res, want) {
			t.Errorf("the search results %q lack %q", res, want)
		}
	}
	p.shot("directory-search-1920")
	p.do("back to the tree", chromedp.Navigate(d.base+"/#/directory"))
	p.wait("the tree again", `document.querySelector('li[data-org="demo-chem"] a[href="#/sites/demo-plant"]') !== null`, 10*time.Second)
	p.do("follow the site", chromedp.Click(chromedp.CSS(`li[data-org="demo-chem"] a[href="#/sites/demo-plant"]`)))
	p.wait("the site's chain", `document.querySelector('#chain tr[data-role="supervisor_in_chief"]') !== null && document.querySelector("#chain").textContent.includes("陈刚")`, 10*time.Second)
}

// fillReadings writes readings of GT-101 (%LEL) into the demo's embedded
// reading store before yujing starts: every 5 minutes over the last 7
// days at 3 %LEL, with three leaks — 30 for 30 minutes five days ago, 45
// for 40 minutes three days ago, 60 for 10 minutes a day ago.
func fillReadings(t *testing.T, cfg *config.Config, now time.Time) (leaks [3]time.Time) {
	t.Helper()
	rs, err := sqlite.OpenReadings(t.Context(), filepath.Join(cfg.DataDir, "readings.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	from := now.Add(-7 * 24 * time.Hour).Truncate(5 * time.Minute).Add(5 * time.Minute)
	leaks = [3]time.Time{from.Add(2 * 24 * time.Hour), from.Add(4 * 24 * time.Hour), from.Add(6 * 24 * time.Hour)}
	spans := []struct {
		at     time.Time
		length time.Duration
		value  float64
	}{{leaks[0], 30 * time.Minute, 30}, {leaks[1], 40 * time.Minute, 45}, {leaks[2], 10 * time.Minute, 60}}
	var batch []yujing.Reading
	for at := from; at.Before(now.Add(-5 * time.Minute)); at = at.Add(5 * time.Minute) {
		v := 3.0
		for _, s := range spans {
			if !at.Before(s.at) && at.Before(s.at.Add(s.length)) {
				v = s.value
			}
		}
		batch = append(batch, yujing.Reading{Sensor: "GT-101", Site: "demo-plant", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Value: v, Time: at})
	}
	if err := rs.Write(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	return leaks
}

// TestConsoleRulesInBrowser: with a week of gas readings in the store and
// one live leak (31.5 %LEL, yellow), an administrator opens the rules,
// then 可燃气体浓度: its tiers, the detector it binds (by name, yellow now),
// the live warning among its recent ones. The preview of yellow 35, red
// 55 alone (blue and orange emptied) and a 15-minute hold over the last 7
// days shows, beside the rule as it is (four warnings: yellow, orange,
// red, and the live one) and the one actually raised,
// that only the 40-minute leak would have raised a warning, yellow, 15
// minutes in, at its time in Shanghai. Viewers and operators see the rule
// without the preview; the API refuses them.
func TestConsoleRulesInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	dir := artifactsDir(t)
	now := time.Now()
	var leaks [3]time.Time
	d := startDataDemo(t, func(cfg *config.Config) { leaks = fillReadings(t, cfg, now) })
	publish(t, publisher(t, d.inst.mqtt), "yujing/demo-plant/GT-101", `{"value": 31.5}`)
	waitFor(t, 10*time.Second, "the live warning", func() bool {
		var as []apiAlert
		d.admin.do("GET", "/api/v1/alerts?rule=gas-lel", nil, &as)
		return len(as) == 1
	})

	p := newBrowser(t, chromium, dir, 90*time.Second)
	p.viewport(1920, 1080, false)
	d.open(p, "#/rules", "admin-zhou")
	p.wait("the rules", `document.querySelector('#rules-table tr[data-rule="gas-lel"]') !== null`, 10*time.Second)
	if row := p.text(`#rules-table tr[data-rule="gas-lel"]`); !strings.Contains(row, "可燃气体浓度") || !strings.Contains(row, "黄色 Ⅲ级 ≥ 25") || !strings.Contains(row, "红色 Ⅰ级 ≥ 50") {
		t.Errorf("gas-lel's row %q, want its name and tiers", row)
	}
	p.shot("rules-1920")
	p.do("open the rule", chromedp.Click(chromedp.CSS(`#rules-table tr[data-rule="gas-lel"] a`)))
	p.wait("the rule's page", `document.querySelector('#rule-bound tr[data-sensor="GT-101"] .lvl-yellow') !== null && document.querySelector("#rule-alerts tbody tr") !== null && document.querySelector("#preview-form") !== null`, 10*time.Second)
	if bound := p.text("#rule-bound"); !strings.Contains(bound, "罐区可燃气体探测器") || !strings.Contains(bound, "演示化工园区") {
		t.Errorf("the bound sensors %q, want the detector and its site by name", bound)
	}
	// The demo's tiers are blue 10, yellow 25, orange 40, red 50: proposed,
	// yellow 35 and red 55 alone (blue and orange emptied).
	for _, tier := range []struct{ level, value string }{{"blue", ""}, {"yellow", "35"}, {"orange", ""}, {"red", "55"}} {
		sel := fmt.Sprintf(`#preview-form input[name="above-%s"]`, tier.level)
		p.do("set "+tier.level, chromedp.Clear(chromedp.CSS(sel)))
		if tier.value != "" {
			p.do("type "+tier.level, chromedp.SendKeys(chromedp.CSS(sel), tier.value))
		}
	}
	p.do("hold 15 minutes", chromedp.SendKeys(chromedp.CSS(`#preview-form input[name="for"]`), "15m"),
		chromedp.Click(chromedp.CSS("#preview-run")))
	p.wait("the preview", `document.querySelector('#preview-table tr[data-sensor="GT-101"]') !== null`, 30*time.Second)
	counts := p.text(".pv-current") + "|" + p.text(".pv-proposed") + "|" + p.text(".pv-actual")
	// The live reading is stored too: the rule as it is raises it again.
	for _, want := range []string{"按现行规则4 次预警", "按拟调整阈值1 次预警", "实际发生1 次预警"} {
		if !strings.Contains(strings.ReplaceAll(counts, "\n", ""), want) {
			t.Errorf("the counts %q lack %q", counts, want)
		}
	}
	var proposed []string
	p.eval(`[...document.querySelectorAll('#preview-table tr[data-sensor="GT-101"] td.pv-proposed li')].map(li => li.dataset.event + " " + li.dataset.level + " " + li.querySelector(".when").textContent)`, &proposed)
	want := []string{
		"raised yellow " + shanghaiClock(t, leaks[1].Add(15*time.Minute), "2006-01-02 15:04:05"),
		"resolved yellow " + shanghaiClock(t, leaks[1].Add(40*time.Minute), "2006-01-02 15:04:05"),
	}
	if strings.Join(proposed, "; ") != strings.Join(want, "; ") {
		t.Errorf("proposed events %q, want %q", proposed, want)
	}
	var current []string
	p.eval(`[...document.querySelectorAll('#preview-table tr[data-sensor="GT-101"] td.pv-current li')].map(li => li.dataset.event + " " + li.dataset.level)`, &current)
	if got := strings.Join(current, "; "); got != "raised yellow; resolved yellow; reopened orange; resolved orange; reopened red; resolved red; reopened yellow" {
		t.Errorf("the rule as it is: %s", got)
	}
	if actual := p.text(`#preview-table tr[data-sensor="GT-101"] td.pv-actual`); !strings.Contains(actual, "触发") || !strings.Contains(actual, "31.5") {
		t.Errorf("actually raised %q, want the live warning", actual)
	}
	p.shot("rule-preview-1920")
	var d2 struct{ Above map[string]float64 }
	d.admin.do("GET", "/api/v1/rules/gas-lel", nil, &d2)
	if d2.Above["yellow"] != 25 {
		t.Errorf("the rule after the preview: %v, want it unchanged", d2.Above)
	}

	for _, user := range []string{"viewer-wang", "duty-li"} {
		b := newBrowser(t, chromium, dir, 60*time.Second)
		b.viewport(1920, 1080, false)
		d.open(b, "#/rules/gas-lel", user)
		b.wait("the rule", `document.querySelector("#rule-tiers") !== null && document.querySelector("#rule-bound") !== null`, 10*time.Second)
		if got := b.present("#preview-form", "#preview-run"); got["#preview-form"] || got["#preview-run"] {
			t.Errorf("%s sees the preview: %v", user, got)
		}
		if user == "viewer-wang" {
			b.shot("rule-viewer-1920")
		}
		if code := d.as(t, user).do("POST", "/api/v1/rules/gas-lel/preview", map[string]any{}, nil); code != http.StatusForbidden {
			t.Errorf("%s: preview answered %d, want 403", user, code)
		}
	}
}

// TestConsoleRostersInBrowser: an administrator edits the demo plant's
// duty-officer roster in the page: a third turn (王强) and an override
// (刘洋 the day after tomorrow, 08:00 to 20:00, 临时调班). The roster's
// page shows them by name, its coming shifts, and the change in its audit
// record under the administrator's name; asking who is on duty at 09:00
// that day answers 刘洋 with the override. An override ending before it
// starts is refused at its row and nothing is saved. Viewers and
// operators see the rosters and who is on duty, without edit, delete,
// new or the audit record; the API refuses their change.
func TestConsoleRostersInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	dir := artifactsDir(t)
	d := startDataDemo(t, nil)
	sh := mustZone(t, "Asia/Shanghai")
	day := time.Now().In(sh).AddDate(0, 0, 2)
	from := time.Date(day.Year(), day.Month(), day.Day(), 8, 0, 0, 0, sh)

	p := newBrowser(t, chromium, dir, 240*time.Second)
	p.viewport(1920, 1080, false)
	d.open(p, "#/rosters?"+url.Values{"org": {"demo-chem"}, "role": {"duty_officer"}}.Encode(), "admin-zhou")
	p.wait("the roster", `document.querySelector("#rotation li") !== null && document.querySelector("#coming-table tbody tr") !== null && document.querySelector("#roster-edit") !== null`, 10*time.Second)
	if rot := p.text("#rotation"); !strings.Contains(rot, "张伟") || !strings.Contains(rot, "刘洋") || strings.Contains(rot, "zhang-wei") {
		t.Errorf("the rotation %q, want names", rot)
	}
	p.do("edit", chromedp.Click(chromedp.CSS("#roster-edit")))
	p.wait("the editor", `!document.querySelector("#roster-editor").hidden && document.querySelectorAll("#turns .turn").length === 2`, 5*time.Second)
	p.do("a third turn", chromedp.Click(chromedp.CSS("#add-turn")))
	p.choose(`#turns .turn[data-i="2"] select.person`, "wang-qiang")
	p.do("an override", chromedp.Click(chromedp.CSS("#add-override")))
	row := `#override-rows .override[data-i="1"]`
	p.choose(row+` input[name=from]`, from.Format("2006-01-02T15:04"))
	p.choose(row+` input[name=to]`, from.Add(12*time.Hour).Format("2006-01-02T15:04"))
	p.choose(row+` select.person`, "liu-yang")
	p.typeIn(row+` input[name=note]`, "临时调班")
	p.shot("roster-edit-1920")
	p.do("save", chromedp.Click(chromedp.CSS("#roster-save")))
	p.wait("saved", `document.querySelector("#roster-msg").textContent.includes("已保存") && document.querySelectorAll("#rotation li").length === 3 && document.querySelector("#roster-audit tbody tr") !== null`, 10*time.Second)
	if ov := p.text("#overrides"); !strings.Contains(ov, "刘洋") || !strings.Contains(ov, "临时调班") || !strings.Contains(ov, from.Format("2006-01-02 15:04")) {
		t.Errorf("the overrides %q, want 刘洋's from %s", ov, from.Format("2006-01-02 15:04"))
	}
	if changes := p.text("#roster-audit"); !strings.Contains(changes, "admin-zhou") || !strings.Contains(changes, "修改") {
		t.Errorf("the roster's changes %q, want admin-zhou's", changes)
	}
	p.shot("roster-1920")

	// A bad override: refused at its row, nothing saved.
	p.do("edit again", chromedp.Click(chromedp.CSS("#roster-edit")), chromedp.Click(chromedp.CSS("#add-override")))
	bad := `#override-rows .override[data-i="2"]`
	// An override that ends before it starts.
	p.choose(bad+` input[name=from]`, from.Format("2006-01-02T15:04"))
	p.choose(bad+` input[name=to]`, from.Add(-time.Hour).Format("2006-01-02T15:04"))
	p.choose(bad+` select.person`, "zhang-wei")
	p.click("save", "#roster-save")
	p.wait("the problem at its row", `document.querySelector('#override-rows .override[data-i="2"].invalid .row-error').textContent.includes("is not after from") && document.querySelector("#roster-problems").textContent.includes("临时调整第 3 条")`, 10*time.Second)
	p.shot("roster-refused-1920")
	var ro struct {
		Rotation  []any
		Overrides []struct{ From, To, Note string }
	}
	d.admin.do("GET", "/api/v1/rosters/demo-chem/duty_officer", nil, &ro)
	if len(ro.Rotation) != 3 || len(ro.Overrides) != 2 || ro.Overrides[1].Note != "临时调班" || ro.Overrides[1].From != from.Format("2006-01-02 15:04") {
		t.Errorf("the roster on the server: %+v, want the first save only", ro)
	}

	// Who is on duty at 09:00 that day.
	p.do("the rosters", chromedp.Navigate(d.base+"/#/rosters"))
	p.wait("who is on duty now", `document.querySelector('#duty-at-table tr[data-org="demo-chem"]') !== null`, 10*time.Second)
	p.choose(`#duty-at input[name=at]`, from.Add(time.Hour).Format("2006-01-02T15:04"))
	p.click("at 09:00 the day after tomorrow", `#duty-at button[type=submit]`)
	p.wait("刘洋 on duty", `location.hash.includes("at=") && (r => r.cells[1].textContent.includes("临时调整：临时调班") && r.cells[2].textContent.includes("刘洋"))(document.querySelector('#duty-at-table tr[data-org="demo-chem"]'))`, 10*time.Second)
	if title := p.text(".at-title"); !strings.Contains(title, from.Add(time.Hour).Format("2006-01-02 15:04")) || !strings.Contains(title, "Asia/Shanghai") {
		t.Errorf("the query's title %q, want the time asked in Shanghai", title)
	}
	if cells := p.text(`#duty-at-table tr[data-org="demo-chem"]`); !strings.Contains(cells, from.Format("2006-01-02 15:04")) || !strings.Contains(cells, from.Add(12*time.Hour).Format("2006-01-02 15:04")) {
		t.Errorf("the shift %q, want %s – %s", cells, from.Format("15:04"), from.Add(12*time.Hour).Format("15:04"))
	}
	p.shot("rosters-1920")

	for _, user := range []string{"viewer-wang", "duty-li"} {
		b := newBrowser(t, chromium, dir, 60*time.Second)
		b.viewport(1920, 1080, false)
		d.open(b, "#/rosters?"+url.Values{"org": {"demo-chem"}, "role": {"duty_officer"}}.Encode(), user)
		b.wait("the roster", `document.querySelector("#coming-table tbody tr") !== null`, 10*time.Second)
		if got := b.present("#roster-edit", "#roster-delete", "#roster-editor", "#roster-changes"); got["#roster-edit"] || got["#roster-delete"] || got["#roster-editor"] || got["#roster-changes"] {
			t.Errorf("%s sees editing: %v", user, got)
		}
		b.do("the rosters", chromedp.Navigate(d.base+"/#/rosters"))
		b.wait("who is on duty", `document.querySelector('#duty-at-table tr[data-org="demo-chem"]') !== null`, 10*time.Second)
		if got := b.present("#new-roster"); got["#new-roster"] {
			t.Errorf("%s sees the new roster form", user)
		}
		if user == "viewer-wang" {
			b.viewport(390, 844, true)
			b.shot("rosters-viewer-390")
		}
		if code := d.as(t, user).do("PUT", "/api/v1/rosters/demo-chem/duty_officer", map[string]any{"shifts": []string{"08:00"}, "start": "2026-01-01", "rotation": []string{"zhang-wei"}}, nil); code != http.StatusForbidden {
			t.Errorf("%s: PUT roster answered %d, want 403", user, code)
		}
	}
}
