package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"yujing/internal/testenv"
)

// Chromium flags that work headless in a container as root, as on this
// project's machines and CI: --no-sandbox (the setuid sandbox needs
// privileges a container does not give), --disable-dev-shm-usage (a small
// /dev/shm crashes renderers), --disable-gpu (no GPU), and no background
// traffic (--disable-background-networking; chromedp's defaults add the
// rest). --no-zygote and --single-process are not needed here.
var chromiumFlags = []chromedp.ExecAllocatorOption{
	chromedp.NoSandbox,
	chromedp.DisableGPU,
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-dev-shm-usage", true),
	chromedp.Flag("lang", "zh-CN"),
	chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	chromedp.WindowSize(1920, 1080),
}

// chromiumPath finds Debian's chromium (scripts/test-deps.sh installs it);
// YUJING_CHROMIUM names another binary. Missing: skip, or fail when
// YUJING_REQUIRE_EXTERNAL=1.
func chromiumPath(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("YUJING_CHROMIUM"), "chromium", "chromium-browser", "/usr/lib/chromium/chromium", "google-chrome"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("chromium not found (looked for %v); run scripts/test-deps.sh to install it", candidates[1:])
	if os.Getenv(testenv.RequireExternalEnv) == "1" {
		t.Fatalf("%s (%s=1)", msg, testenv.RequireExternalEnv)
	}
	t.Skip(msg)
	return ""
}

// artifactsDir is where screenshots go: $YUJING_ARTIFACTS, else artifacts/
// at the repository root.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("YUJING_ARTIFACTS")
	if dir == "" {
		wd, _ := os.Getwd()
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				dir = filepath.Join(d, "artifacts")
				break
			}
			if filepath.Dir(d) == d {
				dir = filepath.Join(wd, "artifacts")
				break
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browserPage drives one Chromium tab.
type browserPage struct {
	t   *testing.T
	ctx context.Context
	dir string
}

// newBrowser starts a headless Chromium for the test, closed when it ends;
// every step must be done within timeout. Screenshots go to dir. opts add
// to the flags (chromedp.Env("TZ=…") runs it in another time zone).
func newBrowser(t *testing.T, chromium, dir string, timeout time.Duration, opts ...chromedp.ExecAllocatorOption) *browserPage {
	t.Helper()
	all := append(append(append(chromedp.DefaultExecAllocatorOptions[:], chromiumFlags...), chromedp.ExecPath(chromium)), opts...)
	alloc, cancelAlloc := chromedp.NewExecAllocator(t.Context(), all...)
	ctx, cancel := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		cancelAlloc()
	})
	return &browserPage{t: t, ctx: ctx, dir: dir}
}

func (p *browserPage) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.shot("failed")
		p.t.Fatalf("%s: %v", what, err)
	}
}

// wait polls a JavaScript expression until it is truthy and returns how
// long that took.
func (p *browserPage) wait(what, expr string, timeout time.Duration) time.Duration {
	p.t.Helper()
	start := time.Now()
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(timeout))); err != nil {
		p.shot("failed")
		text, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body.innerText.slice(0, 3000)`))
		p.t.Fatalf("waiting %s for %s (%s): %v\npage text:\n%s", timeout, what, expr, err, text)
	}
	return time.Since(start)
}

func (p *browserPage) eval(expr string, out any) {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[json.RawMessage](expr))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	if err := json.Unmarshal(v, out); err != nil {
		p.t.Fatalf("evaluate %s: %s: %v", expr, v, err)
	}
}

// shot saves a screenshot of the viewport as console-name.png under the
// artifacts; names ending in "-full" take the whole page.
func (p *browserPage) shot(name string) {
	p.t.Helper()
	take := chromedp.CaptureScreenshot()
	if strings.HasSuffix(name, "-full") {
		take = chromedp.FullScreenshot(100)
	}
	png, err := chromedp.Run(p.ctx, take)
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(p.dir, "console-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Errorf("save screenshot: %v", err)
		return
	}
	p.t.Logf("screenshot %s", path)
}

func (p *browserPage) viewport(w, h int64, mobile bool) {
	p.t.Helper()
	opts := []chromedp.EmulateViewportOption{}
	if mobile {
		opts = append(opts, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	p.do("viewport", chromedp.EmulateViewport(w, h, opts...))
}

// login fills the login form.
func (p *browserPage) login(user, password string) {
	p.t.Helper()
	p.wait("the login form", `document.querySelector("#login-user") !== null`, 10*time.Second)
	p.do("log in as "+user,
		chromedp.SendKeys(chromedp.CSS("#login-user"), user),
		chromedp.SendKeys(chromedp.CSS("#login-password"), password),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)))
	p.wait("the header to name "+user, fmt.Sprintf(`(document.querySelector("#whoami")||{}).textContent?.includes(%q)`, user), 10*time.Second)
}

// consoleAPI is a logged-in HTTP client of the API (cookie session), or a
// plain one when the server has no login.
type consoleAPI struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func newConsoleAPI(t *testing.T, base string) *consoleAPI {
	jar, _ := cookiejar.New(nil)
	return &consoleAPI{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

func (a *consoleAPI) do(method, path string, body, out any) int {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if a.csrf != "" {
		req.Header.Set("X-CSRF-Token", a.csrf)
	}
	resp, err := a.c.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			a.t.Fatalf("%s %s: %s: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

func (a *consoleAPI) login(user, password string) {
	a.t.Helper()
	var me struct {
		User      string `json:"user"`
		Role      string `json:"role"`
		CSRFToken string `json:"csrf_token"`
	}
	if code := a.do("POST", "/api/v1/login", map[string]string{"username": user, "password": password}, &me); code != 200 {
		a.t.Fatalf("log in as %s: status %d", user, code)
	}
	a.csrf = me.CSRFToken
}

// TestConsoleInBrowser drives the duty-room console in a real headless
// Chromium against `yujing serve` on loopback: an operator logs in, a red
// gas reading published over MQTT shows on the live board within a second
// without a reload, the operator opens it (chart, timeline), acknowledges,
// records a disposal with a photo and closes it; a viewer sees no actions
// and the API refuses them, and changes their own password. Screenshots
// of the board and the detail page, at 1920×1080 and at phone width, are
// saved under $YUJING_ARTIFACTS (default artifacts/ at the repository
// root).
func TestConsoleInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	dir := artifactsDir(t)
	const adminPassword = "console-admin-test-pw"
	t.Setenv("YUJING_ADMIN_PASSWORD", adminPassword)
	hs := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer hs.Close()
	inst := start(t, demoConfig(t, hs.URL))
	base := "http://" + inst.http
	pub := publisher(t, inst.mqtt)

	// With login (web/auth): an operator and a viewer made by the admin.
	admin := newConsoleAPI(t, base)
	authOn := admin.do("GET", "/api/v1/me", nil, nil) == http.StatusUnauthorized
	operator, viewer := newConsoleAPI(t, base), newConsoleAPI(t, base)
	if authOn {
		admin.login("admin", adminPassword)
		for _, u := range []struct{ name, role string }{{"duty-li", "operator"}, {"viewer-wang", "viewer"}} {
			if code := admin.do("POST", "/api/v1/users", map[string]string{"username": u.name, "password": u.name + "-pw-2025", "role": u.role}, nil); code != 201 && code != 200 {
				t.Fatalf("create user %s: status %d", u.name, code)
			}
		}
		operator.login("duty-li", "duty-li-pw-2025")
		viewer.login("viewer-wang", "viewer-wang-pw-2025")
	} else {
		t.Log("this server has no login (GET /api/v1/me is not 401): the console runs open, the viewer part is skipped")
	}

	// Half an hour of quiet readings before the leak, for the chart.
	now := time.Now().UTC()
	for i := range 30 {
		ts := now.Add(time.Duration(i-30) * time.Minute)
		publish(t, pub, "yujing/demo-plant/GT-101", fmt.Sprintf(`{"value": %.1f, "ts": %q}`, 2+float64(i%7)*0.6, ts.Format(time.RFC3339Nano)))
	}
	waitFor(t, 5*time.Second, "the quiet readings stored", func() bool {
		var s struct{ Count int }
		operator.do("GET", "/api/v1/sensors/GT-101/readings?from="+now.Add(-time.Hour).Format(time.RFC3339), nil, &s)
		return s.Count == 30
	})

	p := newBrowser(t, chromium, dir, 90*time.Second)
	p.viewport(1920, 1080, false)
	p.do("open the console", chromedp.Navigate(base+"/"))
	if authOn {
		p.login("duty-li", "duty-li-pw-2025")
		p.wait("the operator's role in the header", `document.querySelector("#whoami").dataset.role === "operator"`, 5*time.Second)
	}
	p.wait("the live board connected", `document.querySelector("#alerts") && document.querySelector("#conn.on") && document.querySelector("#shown").textContent !== ""`, 10*time.Second)
	p.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.__noReload = "still here"`))

	// The leak: 62 %LEL is over the red threshold (50).
	publish(t, pub, "yujing/demo-plant/GT-101", `{"value": 62}`)
	took := p.wait("the red warning on the board", `document.querySelector('#alerts tbody tr[data-level="red"]') !== null`, 5*time.Second)
	t.Logf("red warning on the live board %s after publishing", took)
	if took > time.Second {
		t.Errorf("the warning took %s to appear on the board, want within 1s", took)
	}
	p.wait("the red counter", `document.querySelector('#counters .count[data-level="red"] b').textContent === "1"`, 2*time.Second)
	var row struct {
		Text, Background, Still, Banner, Counter string
		ID                                       int64
	}
	p.eval(`(() => { const r = document.querySelector('#alerts tbody tr[data-level="red"]'), l = r.querySelector(".lvl");
		return {Text: l.textContent, Background: getComputedStyle(l).backgroundColor, Still: window.__noReload || "",
			Banner: document.querySelector("#banner").hidden ? "" : document.querySelector("#banner").textContent,
			Counter: document.querySelector('#counters .count[data-level="red"]').textContent, ID: +r.dataset.id}; })()`, &row)
	if row.Text != "红色 Ⅰ级" || row.Background != "rgb(198, 40, 40)" {
		t.Errorf("level cell %q on %s, want 红色 Ⅰ级 on red rgb(198, 40, 40)", row.Text, row.Background)
	}
	if row.Still != "still here" {
		t.Errorf("the page was reloaded")
	}
	if !strings.Contains(row.Banner, "红色 Ⅰ级") || !strings.Contains(row.Banner, "GT-101") {
		t.Errorf("banner %q, want the new red warning of GT-101", row.Banner)
	}
	if !strings.HasSuffix(strings.TrimSpace(row.Counter), "1") {
		t.Errorf("red counter %q, want 1", row.Counter)
	}
	p.shot("board-1920")

	// The detail page: chart with the readings and the threshold, timeline.
	// Clicked from script: a live refresh may redraw the row at any moment.
	p.do("open the warning", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector('#alerts tbody tr[data-id="%d"] td.msg').click()`, row.ID)))
	p.wait("the chart", `(() => { const s = document.querySelector("#chart path.series"); return s && +s.dataset.points >= 30 && (s.getAttribute("d").match(/L/g)||[]).length >= 29; })()`, 10*time.Second)
	p.wait("the red threshold line", `document.querySelector("#chart line.threshold.lvl-stroke-red") !== null`, time.Second)
	p.wait("the rule's four tiers drawn", `["blue","yellow","orange","red"].every(l => document.querySelector("#chart line.threshold.lvl-stroke-" + l) !== null)`, 5*time.Second)
	p.wait("the call-and-answer timeline", `(() => { const t = Array.from(document.querySelectorAll(".timeline")).map(e => e.textContent).join(" "); return t.includes("ops-webhook") && t.includes("等待应答"); })()`, 10*time.Second)
	var det struct {
		Title, Calls, History string
	}
	p.eval(`({Title: document.querySelector(".detail-head h2").textContent, Calls: Array.from(document.querySelectorAll(".timeline")).map(e => e.textContent).join(" "),
		History: document.querySelector("table.history").textContent})`, &det)
	if !strings.Contains(det.Title, "红色 Ⅰ级") || !strings.Contains(det.Title, "待响应") {
		t.Errorf("detail title %q", det.Title)
	}
	// The route's notification to 张伟 on ops-webhook, and the red
	// escalation's first step (the duty officers on shift) waiting for an
	// answer until its deadline.
	if !strings.Contains(det.Calls, "张伟") || !strings.Contains(det.Calls, "ops-webhook") ||
		!strings.Contains(det.Calls, "应答时限") || !strings.Contains(det.Calls, "第 1 步") {
		t.Errorf("timeline %q, want the call to 张伟 on ops-webhook and the escalation's step 1 with its deadline", det.Calls)
	}
	if !strings.Contains(det.History, "触发") {
		t.Errorf("history %q, want the raise", det.History)
	}
	p.shot("detail-1920")
	p.shot("detail-1920-full")
	p.viewport(390, 844, true)
	p.wait("the phone layout", `innerWidth === 390`, 2*time.Second)
	p.do("redraw at phone width", chromedp.Navigate(fmt.Sprintf("%s/#/alert/%d?phone", base, row.ID)))
	p.wait("the chart at phone width", `(() => { const s = document.querySelector("#chart svg"); return s && s.viewBox.baseVal.width < 400; })()`, 10*time.Second)
	p.shot("detail-390")
	p.shot("detail-390-full")
	p.do("back to the board", chromedp.Navigate(base+"/#/board"))
	p.wait("the board at phone width", `document.querySelector('#alerts tbody tr[data-level="red"]') !== null`, 10*time.Second)
	p.shot("board-390")
	p.viewport(1920, 1080, false)
	p.do("open the warning again", chromedp.Navigate(fmt.Sprintf("%s/#/alert/%d", base, row.ID)))
	p.wait("the actions", `document.querySelector("#ack") !== null`, 10*time.Second)

	// Acknowledge, dispose with a note and a photo, clear, close.
	if !authOn {
		p.do("say who acts", chromedp.SendKeys(chromedp.CSS("#act-by"), "duty-li"))
	}
	p.do("acknowledge", chromedp.Click(chromedp.CSS("#ack")))
	p.wait("acknowledged", `document.querySelector('article.detail[data-state="acknowledged"]') !== null`, 5*time.Second)
	photo := filepath.Join(t.TempDir(), "valve.png")
	writePNG(t, photo)
	p.do("dispose",
		chromedp.SendKeys(chromedp.CSS("#dispose-note"), "已关闭罐区阀门，开启通风"),
		chromedp.SetUploadFiles(chromedp.CSS("#dispose-photos"), []string{photo}),
		chromedp.Click(chromedp.CSS("#dispose")))
	p.wait("disposing, with the photo", `document.querySelector('article.detail[data-state="disposing"]') !== null && document.querySelector(".photos img") !== null`, 5*time.Second)
	publish(t, pub, "yujing/demo-plant/GT-101", `{"value": 1.5}`)
	p.wait("resolved, live", `document.querySelector('article.detail[data-state="resolved"]') !== null && !document.querySelector("#close").disabled`, 5*time.Second)
	p.do("close",
		chromedp.SetValue(chromedp.CSS("#close-reason"), "equipment_fault"),
		chromedp.SendKeys(chromedp.CSS("#close-note"), "探头受潮漂移，已更换"),
		chromedp.Click(chromedp.CSS("#close")))
	p.wait("closed", `document.querySelector('article.detail[data-state="closed"]') !== null`, 5*time.Second)

	// The API agrees with what the page shows.
	var got struct {
		State   string `json:"state"`
		Reason  string `json:"close_reason"`
		AckedBy string `json:"acked_by"`
		History []struct {
			Event, Actor, Note string
		} `json:"history"`
		Attachments []struct {
			Name string `json:"name"`
		} `json:"attachments"`
	}
	if code := operator.do("GET", fmt.Sprintf("/api/v1/alerts/%d", row.ID), nil, &got); code != 200 {
		t.Fatalf("GET the alert: %d", code)
	}
	var events []string
	for _, h := range got.History {
		events = append(events, h.Event+":"+h.Actor)
	}
	want := "raised:system acknowledged:duty-li disposed:duty-li resolved:system closed:duty-li"
	if got.State != "closed" || got.Reason != "equipment_fault" || got.AckedBy != "duty-li" || strings.Join(events, " ") != want ||
		len(got.Attachments) != 1 || got.Attachments[0].Name != "valve.png" {
		t.Errorf("API: state %s reason %s acked by %s history %v attachments %v; want closed equipment_fault duty-li [%s] [valve.png]",
			got.State, got.Reason, got.AckedBy, events, got.Attachments, want)
	}
	p.do("back to the board", chromedp.Click(chromedp.CSS("a.back")))
	p.wait("the closed warning gone from the open board", fmt.Sprintf(`document.querySelector("#alerts") && document.querySelector('#alerts tbody tr[data-id="%d"]') === null && document.querySelector('#counters .count[data-level="red"] b').textContent === "0"`, row.ID), 5*time.Second)
	p.do("closed warnings", chromedp.Navigate(base+"/#/board?state=closed"))
	p.wait("the warning among the closed", fmt.Sprintf(`document.querySelector('#alerts tbody tr[data-id="%d"][data-state="closed"]') !== null`, row.ID), 5*time.Second)

	// Sensors: GT-101 online, its last value and a trend line.
	p.do("sensors by site", chromedp.Navigate(base+"/#/sensors?view=site"))
	p.wait("GT-101's tile with its trend", `(() => { const t = document.querySelector('.tile[data-sensor="GT-101"]');
		return t && t.querySelector(".s-online") && t.textContent.includes("1.5") && t.querySelector("svg.spark polyline"); })()`, 10*time.Second)
	p.shot("sensors-1920")
	// Statistics: the closed warning counted for its site, no false alarm.
	p.do("statistics", chromedp.Navigate(base+"/#/stats?by=site"))
	p.wait("the site's row", `(() => { const r = document.querySelector("#alerts-report tbody tr"), f = document.querySelector("#false-report table");
		return r && f && [...r.cells].map(c => c.textContent).join("|") === "演示化工园区 (demo-plant)|1|0|0|0|1|0|1|0|0%" && f.textContent.includes("0%"); })()`, 10*time.Second)
	p.wait("bars drawn", `document.querySelectorAll("#alerts-report svg rect.bar.lvl-fill-red").length === 1`, time.Second)
	p.shot("stats-1920")
	// Duty: the rosters (or a note that there are none) and the handover list.
	p.do("duty", chromedp.Navigate(base+"/#/duty"))
	p.wait("the duty page", `document.querySelector("#handover-box .empty, #handover") !== null && !document.querySelector("#duty-list").textContent.includes("…")`, 10*time.Second)
	p.shot("duty-1920")
	// English, remembered across a reload.
	p.do("switch to English", chromedp.Click(chromedp.CSS("#lang")))
	p.wait("English", `document.documentElement.lang === "en" && document.querySelector('#counters .count[data-level="red"]').textContent.startsWith("Red · I")`, 2*time.Second)
	p.do("reload", chromedp.Reload())
	p.wait("still English after a reload", `document.querySelector("#nav") && document.querySelector("#nav").textContent.includes("Live board") && document.querySelector("#handover-box .empty, #handover") !== null`, 10*time.Second)
	p.shot("duty-1920-en")
	p.do("back to Chinese", chromedp.Click(chromedp.CSS("#lang")))
	p.wait("Chinese", `document.documentElement.lang === "zh-CN"`, 2*time.Second)

	// A viewer sees the warning but no actions, and the API refuses them.
	if !authOn {
		return
	}
	publish(t, pub, "yujing/demo-plant/TK-201", `{"values": {"level": 9.7, "pressure": 0.5}}`)
	var open []apiAlert
	waitFor(t, 5*time.Second, "the tank warning", func() bool {
		open = nil
		operator.do("GET", "/api/v1/alerts?state=open", nil, &open)
		return len(open) == 1
	})
	p.do("log out", chromedp.Click(chromedp.CSS("#logout")))
	p.login("viewer-wang", "viewer-wang-pw-2025")
	p.do("open the tank warning", chromedp.Navigate(fmt.Sprintf("%s/#/alert/%d", base, open[0].ID)))
	p.wait("the viewer's detail page", `document.querySelector("article.detail") !== null && document.querySelector("#viewer-note") !== null`, 10*time.Second)
	p.shot("detail-viewer-1920")
	var buttons int
	p.eval(`document.querySelectorAll("#ack, #dispose, #close, #actions").length`, &buttons)
	if buttons != 0 {
		t.Errorf("a viewer sees %d action controls, want none", buttons)
	}
	for _, action := range []string{"ack", "dispose", "close"} {
		if code := viewer.do("POST", fmt.Sprintf("/api/v1/alerts/%d/%s", open[0].ID, action), map[string]string{"by": "viewer-wang", "note": "x", "reason": "other"}, nil); code != http.StatusForbidden {
			t.Errorf("viewer POST %s: status %d, want 403", action, code)
		}
	}
	var state struct{ State string }
	operator.do("GET", fmt.Sprintf("/api/v1/alerts/%d", open[0].ID), nil, &state)
	if state.State != "firing" {
		t.Errorf("after the viewer's attempts the warning is %s, want firing", state.State)
	}
	t.Log("the viewer saw no actions and the API refused them")
	// A page for a higher role (web/static/console.js: YJ.page's role) is
	// neither in the viewer's menu nor drawn when its route is typed in.
	p.do("register an admin page", chromedp.Evaluate[chromedp.Void](`YJ.strings({zh: {"nav.x-admin": "测试管理"}, en: {"nav.x-admin": "test admin"}});
		YJ.page("x-admin", {nav: 99, role: "admin", render: () => { document.querySelector("#view").innerHTML = '<p id="x-admin-drawn">x</p>'; }})`))
	p.do("open it", chromedp.Evaluate[chromedp.Void](`location.hash = "#/x-admin"`))
	p.wait("the page refused", `document.querySelector("#forbidden") !== null`, 5*time.Second)
	var adminPage struct{ Drawn, InMenu bool }
	p.eval(`({Drawn: document.querySelector("#x-admin-drawn") !== null, InMenu: document.querySelector('#nav a[data-page="x-admin"]') !== null})`, &adminPage)
	if adminPage.Drawn || adminPage.InMenu {
		t.Errorf("a viewer: admin page drawn %v, in the menu %v; want neither", adminPage.Drawn, adminPage.InMenu)
	}

	// The viewer changes their own password in the console. A mistyped
	// confirmation and a wrong current password are caught; then the
	// viewer's other session (the API client logged in with the old
	// password) is logged out, the browser's goes on, and the new password
	// logs in.
	fill := func(what, current, next, confirm string) {
		p.do(what,
			chromedp.Evaluate[chromedp.Void](`document.querySelector("#password-form").reset()`),
			chromedp.SendKeys(chromedp.CSS("#pw-current"), current),
			chromedp.SendKeys(chromedp.CSS("#pw-new"), next),
			chromedp.SendKeys(chromedp.CSS("#pw-confirm"), confirm),
			chromedp.Click(chromedp.CSS(`#password-form button[type=submit]`)))
	}
	p.do("open change password", chromedp.Click(chromedp.CSS("#password-link")))
	p.wait("the password form", `document.querySelector("#password-form") !== null`, 5*time.Second)
	fill("mistype the confirmation", "viewer-wang-pw-2025", "viewer-wang-new-2026", "viewer-wang-new-2062")
	p.wait("the mismatch said", `document.querySelector("#pw-error").textContent === "两次输入的新密码不一致"`, 2*time.Second)
	fill("a wrong current password", "not-my-password", "viewer-wang-new-2026", "viewer-wang-new-2026")
	p.wait("the wrong password said", `document.querySelector("#pw-error").textContent === "当前密码不正确"`, 5*time.Second)
	fill("change it", "viewer-wang-pw-2025", "viewer-wang-new-2026", "viewer-wang-new-2026")
	p.wait("the change confirmed", `document.querySelector("#pw-done").textContent.includes("其他 1 处登录已退出") && document.querySelector("#pw-error").textContent === ""`, 5*time.Second)
	p.shot("password-1920")
	if code := viewer.do("GET", "/api/v1/me", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("the viewer's other session after the change: status %d, want 401", code)
	}
	p.do("the board, still logged in", chromedp.Navigate(base+"/#/board"))
	p.wait("the board", `document.querySelector("#alerts") !== null && document.querySelector("#whoami") !== null`, 10*time.Second)
	p.do("log out again", chromedp.Click(chromedp.CSS("#logout")))
	p.login("viewer-wang", "viewer-wang-new-2026")
	if code := newConsoleAPI(t, base).do("POST", "/api/v1/login", map[string]string{"username": "viewer-wang", "password": "viewer-wang-pw-2025"}, nil); code != http.StatusUnauthorized {
		t.Errorf("login with the old password: status %d, want 401", code)
	}
}

// TestConsoleTimesAndNames runs Chromium in New York's time zone against a
// server configured for Asia/Shanghai: every time the console shows (the
// board, the warning's start, its history, the call list, the handover
// sheet) is Shanghai's, as in the messages to officials, and the footer
// says so; sites, sensors, metrics, the engine and answer channels are
// shown by name (演示化工园区, 罐区可燃气体探测器, 可燃气体浓度, 系统, 值班台代为登记),
// not by id (demo-plant, lel, system, console).
func TestConsoleTimesAndNames(t *testing.T) {
	chromium := chromiumPath(t)
	dir := artifactsDir(t)
	const adminPassword = "console-admin-test-pw"
	t.Setenv("YUJING_ADMIN_PASSWORD", adminPassword)
	hs := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer hs.Close()
	cfg := demoConfig(t, hs.URL)
	if cfg.Location.String() != "Asia/Shanghai" {
		t.Fatalf("the demo configuration's zone is %s, want Asia/Shanghai", cfg.Location)
	}
	shanghai, newYork := cfg.Location, mustZone(t, "America/New_York")
	inst := start(t, cfg)
	base := "http://" + inst.http
	admin := newConsoleAPI(t, base)
	authOn := admin.do("GET", "/api/v1/me", nil, nil) == http.StatusUnauthorized
	if authOn {
		admin.login("admin", adminPassword)
	}

	// A red warning whose escalation calls the duty officers; the duty
	// room records that one of them answered by phone.
	publish(t, publisher(t, inst.mqtt), "yujing/demo-plant/GT-101", `{"value": 62}`)
	var open []apiAlert
	waitFor(t, 5*time.Second, "the red warning", func() bool {
		open = nil
		admin.do("GET", "/api/v1/alerts?state=open", nil, &open)
		return len(open) == 1
	})
	id := open[0].ID
	var callID string
	waitFor(t, 10*time.Second, "a call that waits for an answer", func() bool {
		var d struct {
			Calls []struct {
				ID       string     `json:"id"`
				Deadline *time.Time `json:"deadline"`
			} `json:"calls"`
		}
		admin.do("GET", fmt.Sprintf("/api/v1/alerts/%d", id), nil, &d)
		for _, c := range d.Calls {
			if c.Deadline != nil {
				callID = c.ID
			}
		}
		return callID != ""
	})
	if code := admin.do("POST", "/api/v1/calls/"+callID+"/answer", map[string]any{"note": "电话已确认"}, nil); code != 200 {
		t.Fatalf("record the answer: status %d", code)
	}
	var a struct {
		StartedAt time.Time `json:"started_at"`
		History   []struct {
			At    time.Time `json:"at"`
			Event string    `json:"event"`
		} `json:"history"`
	}
	admin.do("GET", fmt.Sprintf("/api/v1/alerts/%d", id), nil, &a)
	started := a.StartedAt

	p := newBrowser(t, chromium, dir, 90*time.Second, chromedp.Env("TZ=America/New_York"))
	p.viewport(1920, 1080, false)
	p.do("open the console", chromedp.Navigate(base+"/"))
	var browserZone struct {
		Zone   string
		Offset int
	}
	p.eval(`({Zone: Intl.DateTimeFormat().resolvedOptions().timeZone, Offset: new Date().getTimezoneOffset()})`, &browserZone)
	if browserZone.Zone != "America/New_York" || (browserZone.Offset != 240 && browserZone.Offset != 300) {
		t.Fatalf("the browser runs in %s (offset %d min): the test needs it away from Asia/Shanghai", browserZone.Zone, browserZone.Offset)
	}
	if authOn {
		p.login("admin", adminPassword)
	}
	row := fmt.Sprintf(`#alerts tbody tr[data-id="%d"]`, id)
	p.wait("the warning on the board", fmt.Sprintf(`document.querySelector('%s') !== null`, row), 10*time.Second)

	// The board: names, and the start in Shanghai's clock.
	var board struct{ Site, Sensor, Started, Message string }
	p.eval(fmt.Sprintf(`(() => { const r = document.querySelector('%s'), c = r.cells;
		return {Site: c[2].textContent, Sensor: c[3].textContent, Started: c[5].textContent, Message: c[7].textContent}; })()`, row), &board)
	inSH, inNY := started.In(shanghai).Format("15:04:05"), started.In(newYork).Format("15:04:05")
	if board.Site != "演示化工园区" || !strings.HasPrefix(board.Sensor, "罐区可燃气体探测器") {
		t.Errorf("board site %q sensor %q, want 演示化工园区 and 罐区可燃气体探测器", board.Site, board.Sensor)
	}
	if !strings.HasSuffix(board.Started, inSH) || strings.Contains(board.Started, inNY) {
		t.Errorf("board start %q, want Shanghai's %s (New York's would be %s)", board.Started, inSH, inNY)
	}
	if strings.Contains(board.Message, " lel ") || strings.Contains(board.Message, "级阈值") {
		t.Errorf("board message %q", board.Message)
	}
	// The footer names the zone.
	p.wait("the zone in the footer", `(document.querySelector("#zone")||{}).textContent === "时间均为 Asia/Shanghai（UTC+8）"`, 5*time.Second)
	p.shot("board-zone-1920")

	// The detail page: facts by name, times with their date in Shanghai.
	p.do("open the warning", chromedp.Navigate(fmt.Sprintf("%s/#/alert/%d", base, id)))
	p.wait("the history", `document.querySelector("table.history tbody tr[data-event=acknowledged]") !== null`, 10*time.Second)
	var det struct {
		Facts             map[string]string
		Raised, RaisedBy  string
		AckNote, Timeline string
	}
	p.eval(`(() => { const f = {}; document.querySelectorAll(".facts > div").forEach(d => f[d.querySelector("dt").textContent] = d.querySelector("dd").textContent);
		const r = document.querySelector("table.history tr[data-event=raised]"), k = document.querySelector("table.history tr[data-event=acknowledged]");
		return {Facts: f, Raised: r.cells[0].textContent, RaisedBy: r.cells[5].textContent, AckNote: k.cells[6].textContent,
			Timeline: Array.from(document.querySelectorAll(".timeline")).map(e => e.textContent).join(" ")}; })()`, &det)
	wantStart := started.In(shanghai).Format("2006-01-02 15:04:05")
	if !strings.HasPrefix(det.Facts["开始"], wantStart) {
		t.Errorf("detail start %q, want %s (Asia/Shanghai)", det.Facts["开始"], wantStart)
	}
	var raisedAt time.Time
	for _, h := range a.History {
		if h.Event == "raised" {
			raisedAt = h.At
		}
	}
	if want := raisedAt.In(shanghai).Format("2006-01-02 15:04:05"); det.Raised != want {
		t.Errorf("history: raised at %q, want %s (Asia/Shanghai)", det.Raised, want)
	}
	for fact, want := range map[string][]string{
		"站点": {"演示化工园区", "demo-plant"}, "监测点": {"罐区可燃气体探测器", "GT-101", "可燃气体浓度"}, "规则": {"可燃气体浓度", "gas-lel"},
	} {
		for _, w := range want {
			if !strings.Contains(det.Facts[fact], w) {
				t.Errorf("detail %s %q lacks %q", fact, det.Facts[fact], w)
			}
		}
	}
	if strings.Contains(det.Facts["监测点"], "lel ") || !strings.HasPrefix(det.Facts["站点"], "演示化工园区") {
		t.Errorf("detail facts %v: names first, no metric id", det.Facts)
	}
	if det.RaisedBy != "系统" || !strings.Contains(det.AckNote, "叫应已应答（值班台代为登记）：电话已确认") {
		t.Errorf("history: raised by %q, acknowledgement note %q", det.RaisedBy, det.AckNote)
	}
	if !strings.Contains(det.Timeline, "方式 值班台代为登记") || strings.Contains(det.Timeline, "方式 console") {
		t.Errorf("call list %q, want the answer's way in Chinese", det.Timeline)
	}
	p.shot("detail-zone-1920")

	// The handover sheet: names, and the printing time with its zone.
	p.do("duty", chromedp.Navigate(base+"/#/duty"))
	p.wait("the handover list", fmt.Sprintf(`document.querySelector('#handover tr[data-id="%d"]') !== null`, id), 10*time.Second)
	var duty struct{ Site, Printed string }
	p.eval(fmt.Sprintf(`({Site: document.querySelector('#handover tr[data-id="%d"]').cells[2].textContent, Printed: document.querySelector("#printed").textContent})`, id), &duty)
	if duty.Site != "演示化工园区" || !strings.Contains(duty.Printed, "Asia/Shanghai") || !strings.Contains(duty.Printed, "UTC+8") {
		t.Errorf("handover site %q, printed %q", duty.Site, duty.Printed)
	}

	// In English too.
	p.do("switch to English", chromedp.Click(chromedp.CSS("#lang")))
	p.wait("the zone in English", `(document.querySelector("#zone")||{}).textContent === "All times in Asia/Shanghai (UTC+8)"`, 5*time.Second)
	p.do("the warning in English", chromedp.Navigate(fmt.Sprintf("%s/#/alert/%d", base, id)))
	p.wait("the metric's English name", `Array.from(document.querySelectorAll(".facts dd")).some(d => d.textContent.includes("combustible gas"))`, 10*time.Second)
	p.shot("detail-zone-1920-en")
	p.do("back to Chinese", chromedp.Click(chromedp.CSS("#lang")))
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("zone %s: %v", name, err)
	}
	return loc
}

// writePNG writes a small photo for the disposal record.
func writePNG(t *testing.T, path string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		for y := range 48 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 120, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConsoleStringsTranslated: every string the console shows by a fixed
// key exists in Chinese and English. Each file's YJ.strings({zh: {…},
// en: {…}}) (i18n.js for the core, one in each page file) has the same
// keys in both languages (dynamic keys such as "level." + l are covered
// by this check), no key is defined by two files, and every t("key") in
// any file is defined by one of them.
func TestConsoleStringsTranslated(t *testing.T) {
	dir := filepath.Join("..", "..", "web", "static")
	files, err := filepath.Glob(filepath.Join(dir, "*.js"))
	if err != nil {
		t.Fatal(err)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "pages", "*.js"))
	files = append(files, pages...)
	keyRE := regexp.MustCompile(`"([a-z]+\.[A-Za-z0-9_.]+)":`)
	keys := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, k := range keyRE.FindAllStringSubmatch(s, -1) {
			m[k[1]] = true
		}
		return m
	}
	zh, owner := map[string]bool{}, map[string]string{}
	sources := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name, src := strings.TrimPrefix(filepath.ToSlash(f), filepath.ToSlash(dir)+"/"), string(b)
		sources[name] = src
		blocks := strings.Split(src, "YJ.strings({")[1:]
		if len(blocks) > 1 {
			t.Errorf("%s: %d YJ.strings blocks, want at most one", name, len(blocks))
		}
		for _, block := range blocks {
			block, _, _ = strings.Cut(block, "});")
			zhPart, enPart, ok := strings.Cut(block, "en: {")
			if !ok || !strings.Contains(zhPart, "zh: {") {
				t.Errorf("%s: YJ.strings without zh: { … } then en: { … }", name)
				continue
			}
			zhKeys, enKeys := keys(zhPart), keys(enPart)
			for k := range zhKeys {
				if !enKeys[k] {
					t.Errorf("%s: %q has no English", name, k)
				}
				if owner[k] != "" {
					t.Errorf("%s: %q is defined in %s too", name, k, owner[k])
				}
				owner[k], zh[k] = name, true
			}
			for k := range enKeys {
				if !zhKeys[k] {
					t.Errorf("%s: %q has no Chinese", name, k)
				}
			}
		}
	}
	useRE := regexp.MustCompile(`\bt\("([a-zA-Z0-9_.]+)"[,)]`)
	for name, src := range sources {
		for _, m := range useRE.FindAllStringSubmatch(src, -1) {
			if !zh[m[1]] {
				t.Errorf("%s uses %q, which no YJ.strings defines", name, m[1])
			}
		}
	}
	if len(zh) < 100 || len(pages) < 5 {
		t.Errorf("only %d strings found in %d page files: is the dictionary's format what this test expects?", len(zh), len(pages))
	}
}
