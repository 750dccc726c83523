package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"yujing/config"
)

// The browser tests of the console's administration screens (silences,
// sensors, users and tokens, the audit log) and of what each role sees
// there share this: a `yujing serve` with login, its users, and helpers to
// fill a form the way a person does.

const consoleAdminPassword = "console-admin-test-pw"

// consoleEnv is a running yujing with login and three users: admin,
// the operator duty-li and the viewer viewer-wang, each with an API
// client logged in.
type consoleEnv struct {
	t                       *testing.T
	inst                    *instance
	base                    string
	admin, operator, viewer *consoleAPI
}

// The users every consoleEnv has, by role.
var consoleUsers = map[string]struct{ name, password string }{
	"admin":    {"admin", consoleAdminPassword},
	"operator": {"duty-li", "duty-li-pw-2025"},
	"viewer":   {"viewer-wang", "viewer-wang-pw-2025"},
}

// newConsoleEnv starts yujing with the demo configuration (edit changes it
// first, if given) and makes the operator and the viewer.
func newConsoleEnv(t *testing.T, edit func(*config.Config)) *consoleEnv {
	t.Helper()
	t.Setenv("YUJING_ADMIN_PASSWORD", consoleAdminPassword)
	hs := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(hs.Close)
	cfg := demoConfig(t, hs.URL)
	if edit != nil {
		edit(cfg)
	}
	inst := start(t, cfg)
	env := &consoleEnv{t: t, inst: inst, base: "http://" + inst.http}
	env.admin = newConsoleAPI(t, env.base)
	if code := env.admin.do("GET", "/api/v1/me", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("GET /api/v1/me without a login: %d, want 401 (these tests need login on)", code)
	}
	env.admin.login("admin", consoleAdminPassword)
	env.operator, env.viewer = newConsoleAPI(t, env.base), newConsoleAPI(t, env.base)
	for _, role := range []string{"operator", "viewer"} {
		u, c := consoleUsers[role], map[string]*consoleAPI{"operator": env.operator, "viewer": env.viewer}[role]
		if code := env.admin.do("POST", "/api/v1/users", map[string]string{"username": u.name, "password": u.password, "role": role}, nil); code != http.StatusCreated {
			t.Fatalf("create user %s: status %d", u.name, code)
		}
		c.login(u.name, u.password)
	}
	return env
}

// browser opens the console in a new Chromium at 1920 × 1080, closed when
// t ends, and logs in with the role's user.
func (env *consoleEnv) browser(t *testing.T, role string, opts ...chromedp.ExecAllocatorOption) *browserPage {
	t.Helper()
	p := newBrowser(t, chromiumPath(t), artifactsDir(t), 120*time.Second, opts...)
	p.viewport(1920, 1080, false)
	p.do("open the console", chromedp.Navigate(env.base+"/"))
	u := consoleUsers[role]
	p.login(u.name, u.password)
	return p
}

// redAlert publishes a red gas reading for GT-101 and returns the warning.
func (env *consoleEnv) redAlert() apiAlert {
	env.t.Helper()
	publish(env.t, publisher(env.t, env.inst.mqtt), "yujing/demo-plant/GT-101", `{"value": 62}`)
	var open []apiAlert
	waitFor(env.t, 5*time.Second, "the red warning", func() bool {
		open = nil
		env.admin.do("GET", "/api/v1/alerts?state=open", nil, &open)
		return len(open) == 1
	})
	return open[0]
}

// goTo opens a route of the console and waits for what shows it is drawn.
func (p *browserPage) goTo(route, ready string) {
	p.t.Helper()
	p.do("go to "+route, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = %q`, route)))
	p.wait(route+" drawn", ready, 10*time.Second)
}

// choose sets a select's (or any input's) value and fires change, as a
// person picking from the list does.
func (p *browserPage) choose(sel, value string) {
	p.t.Helper()
	p.do("choose "+value+" in "+sel, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(e => { e.value = %q; e.dispatchEvent(new Event("change", {bubbles: true})); })(document.querySelector(%q))`, value, sel)))
}

// check ticks a checkbox (firing change) unless it is ticked.
func (p *browserPage) check(sel string) {
	p.t.Helper()
	p.do("tick "+sel, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(e => { if (!e.checked) { e.click(); } })(document.querySelector(%q))`, sel)))
}

// click clicks the element sel names.
func (p *browserPage) click(what, sel string) {
	p.t.Helper()
	p.do(what, chromedp.Click(chromedp.CSS(sel)))
}

// typeIn replaces an input's text by typing.
func (p *browserPage) typeIn(sel, text string) {
	p.t.Helper()
	p.do("type in "+sel, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ""`, sel)), chromedp.SendKeys(chromedp.CSS(sel), text))
}

// text is the text of the first element sel names ("" when none).
func (p *browserPage) text(sel string) string {
	p.t.Helper()
	var s string
	p.eval(fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel), &s)
	return s
}

// count is how many elements sel names.
func (p *browserPage) count(sel string) int {
	p.t.Helper()
	var n int
	p.eval(fmt.Sprintf(`document.querySelectorAll(%q).length`, sel), &n)
	return n
}

// jsString quotes s for JavaScript.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
