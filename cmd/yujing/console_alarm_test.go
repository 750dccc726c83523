package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"yujing/config"
)

// consoleDemo is `yujing serve` with the demo configuration for a browser
// test, with an operator duty-li (password duty-li-pw-2025) and a viewer
// viewer-wang (viewer-wang-pw-2025) when login is on.
type consoleDemo struct {
	inst   *instance
	base   string
	authOn bool
	admin  *consoleAPI
}

func startConsoleDemo(t *testing.T) *consoleDemo {
	t.Helper()
	return startConsole(t, demoConfig)
}

// startConsole is startConsoleDemo with the configuration mk makes (given
// the webhook's URL).
func startConsole(t *testing.T, mk func(*testing.T, string) *config.Config) *consoleDemo {
	t.Helper()
	const adminPassword = "console-admin-test-pw"
	t.Setenv("YUJING_ADMIN_PASSWORD", adminPassword)
	hs := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(hs.Close)
	inst := start(t, mk(t, hs.URL))
	d := &consoleDemo{inst: inst, base: "http://" + inst.http, admin: newConsoleAPI(t, "http://"+inst.http)}
	d.authOn = d.admin.do("GET", "/api/v1/me", nil, nil) == http.StatusUnauthorized
	if d.authOn {
		d.admin.login("admin", adminPassword)
		for _, u := range []struct{ name, role string }{{"duty-li", "operator"}, {"viewer-wang", "viewer"}} {
			if code := d.admin.do("POST", "/api/v1/users", map[string]string{"username": u.name, "password": u.name + "-pw-2025", "role": u.role}, nil); code != 201 && code != 200 {
				t.Fatalf("create user %s: status %d", u.name, code)
			}
		}
	}
	return d
}

// open opens the console in p and logs in as user when login is on.
func (d *consoleDemo) open(p *browserPage, hash, user string) {
	p.t.Helper()
	p.do("open the console", chromedp.Navigate(d.base+"/"+hash))
	if d.authOn {
		p.login(user, user+"-pw-2025")
	}
}

// waitNoGesture waits for expr like wait, but evaluates it as a script of
// the page: chromedp's Poll runs its predicate as a user gesture, which
// would let the page play sound.
func (p *browserPage) waitNoGesture(what, expr string, timeout time.Duration) {
	p.t.Helper()
	var ok bool
	waitFor(p.t, timeout, what, func() bool {
		p.eval(expr, &ok)
		return ok
	})
}

// TestConsoleAlarmInBrowser: a new red warning sounds at once, is
// announced in Chinese where the browser has a Chinese voice, and sounds
// again every interval (set to 2 s in the console's alarm settings) while
// nobody acknowledges it; muting for 5 minutes stops it and shows the
// countdown, and when the mute ends it sounds again; acknowledging it
// through the warning page stops it for good. Then, in a Chromium that
// wants a click before it plays sound, the console opened on a kept
// session with no click (a wall screen after a restart) cannot sound: the
// banner says so, a new red warning plays nothing, and one click on the
// banner enables the sound and the alarm plays.
//
// The tone is counted by the audio layer (window.YJAlarm.played counts
// the patterns started on a running AudioContext), not listened to;
// YJAlarm.tick(at) runs the repeat as if the clock said at, so "nothing
// more sounds" is checked at a chosen later time rather than by waiting.
func TestConsoleAlarmInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	dir := artifactsDir(t)
	d := startConsoleDemo(t)
	pub := publisher(t, d.inst.mqtt)

	p := newBrowser(t, chromium, dir, 120*time.Second) // --autoplay-policy=no-user-gesture-required
	p.viewport(1920, 1080, false)
	d.open(p, "#/board", "duty-li")
	p.wait("the live board connected", `document.querySelector("#alerts") && document.querySelector("#conn.on") !== null`, 10*time.Second)
	// A Chinese voice, as a duty-room PC with one installed has
	// (headless Chromium has none): getVoices lists it, speak records.
	p.do("a Chinese voice", chromedp.Evaluate[chromedp.Void](`window.__said = [];
		speechSynthesis.getVoices = () => [{lang: "zh-CN", name: "test-zh", voiceURI: "test-zh", localService: true, default: true}];
		speechSynthesis.speak = u => window.__said.push(u.lang + ":" + u.text);`))
	p.do("open the alarm settings", chromedp.Click(chromedp.CSS("#alarm-toggle")))
	p.wait("the settings", `document.querySelector("#alarm-repeat") !== null && !document.querySelector("#alarm-voice").disabled`, 2*time.Second)
	p.do("repeat every 2 s",
		chromedp.SetValue(chromedp.CSS("#alarm-repeat"), "2"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#alarm-repeat").dispatchEvent(new Event("change"))`))
	p.shot("alarm-settings-1920")
	p.do("close the settings", chromedp.Click(chromedp.CSS("#alarm-close")))
	var before int
	p.eval(`YJAlarm.played`, &before)
	if before != 0 {
		t.Fatalf("the alarm played %d times before any warning", before)
	}

	publish(t, pub, "yujing/demo-plant/GT-101", `{"value": 62}`)
	p.wait("the tone at once", `YJAlarm.played >= 1 && !document.querySelector("#banner").hidden`, 5*time.Second)
	p.wait("the announcement", `window.__said.length === 1`, 2*time.Second)
	var said []string
	p.eval(`window.__said`, &said)
	if want := "zh-CN:红色预警：演示化工园区，罐区可燃气体探测器。请立即响应。"; len(said) != 1 || said[0] != want {
		t.Errorf("spoken %q, want %q", said, want)
	}
	took := p.wait("the tone repeated twice more", `YJAlarm.played >= 3`, 10*time.Second)
	t.Logf("three tones within %s of the first", took)
	var bar string
	p.eval(`document.querySelector("#alarm").textContent`, &bar)
	if !strings.Contains(bar, "1 条红色、橙色预警未响应，报警声每 2 秒重复一次") {
		t.Errorf("alarm bar %q", bar)
	}
	p.shot("alarm-1920")

	// Mute for 5 minutes: the countdown shows; nothing sounds 4 minutes
	// on; after 5 minutes the still unacknowledged warning sounds again.
	p.do("mute 5 minutes", chromedp.Click(chromedp.CSS("#alarm-mute-5")))
	p.wait("the countdown", `/还剩 [45]:[0-5][0-9]$/.test(document.querySelector("#alarm-muted").textContent) && document.querySelector("#alarm-toggle").textContent.startsWith("报警声：静音")`, 2*time.Second)
	p.shot("alarm-muted-1920")
	var muted, later, after int
	p.eval(`YJAlarm.played`, &muted)
	p.eval(`(() => { YJAlarm.tick(Date.now() + 4 * 60e3); return YJAlarm.played; })()`, &later)
	if later != muted {
		t.Errorf("muted for 5 min: %d tones 4 min on, want none (%d before)", later-muted, muted)
	}
	p.eval(`(() => { YJAlarm.tick(Date.now() + 5 * 60e3 + 3000); return YJAlarm.played; })()`, &after)
	if after != muted+1 {
		t.Errorf("the mute over, the unacknowledged warning played %d times, want once", after-muted)
	}
	p.do("unmute", chromedp.Click(chromedp.CSS("#alarm-unmute")))
	p.wait("sounding again on unmute", fmt.Sprintf(`YJAlarm.played > %d && document.querySelector("#alarm-pending") !== null`, after), 3*time.Second)

	// Acknowledge through the warning page: the alarm stops.
	p.do("open the warning from the banner", chromedp.Click(chromedp.CSS("#banner .bt b")))
	p.wait("the actions", `document.querySelector("#ack") !== null`, 10*time.Second)
	p.do("acknowledge", chromedp.Click(chromedp.CSS("#ack")))
	p.wait("acknowledged, the alarm quiet", `document.querySelector('article.detail[data-state="acknowledged"]') !== null && YJAlarm.state().pending === 0 && document.querySelector("#alarm").hidden`, 5*time.Second)
	var acked, quiet int
	p.eval(`YJAlarm.played`, &acked)
	p.eval(`(() => { YJAlarm.tick(Date.now() + 10 * 60e3); return YJAlarm.played; })()`, &quiet)
	if quiet != acked {
		t.Errorf("acknowledged: %d more tones 10 min on, want none", quiet-acked)
	}
	p.shot("alarm-acked-1920")

	// A browser that wants a click before sound (Chromium's default
	// policy) opening the console of a kept session, as a wall screen
	// does after a restart: nobody has clicked in it.
	b := newBrowser(t, chromium, dir, 60*time.Second, chromedp.Flag("autoplay-policy", "document-user-activation-required"))
	b.viewport(1920, 1080, false)
	b.do("open the server", chromedp.Navigate(d.base+"/healthz"))
	if d.authOn {
		session := newConsoleAPI(t, d.base)
		session.login("duty-li", "duty-li-pw-2025")
		u, _ := url.Parse(d.base)
		for _, c := range session.c.Jar.Cookies(u) {
			b.do("the session cookie", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.cookie = %q`, c.Name+"="+c.Value+"; path=/")))
		}
	}
	b.do("the console, no click", chromedp.Navigate(d.base+"/#/board"))
	b.waitNoGesture("the blocked-sound banner", `!!document.querySelector("#alerts") && !!document.querySelector("#conn.on") && !document.querySelector("#soundblocked").hidden && YJAlarm.state().audio === "suspended"`, 10*time.Second)
	publish(t, pub, "yujing/demo-plant/TK-201", `{"values": {"level": 9.7, "pressure": 0.5}}`)
	b.waitNoGesture("the new red warning pending", `YJAlarm.state().pending === 1 && !document.querySelector("#banner").hidden`, 5*time.Second)
	var blocked struct {
		Played int
		Banner string
	}
	b.eval(`({Played: YJAlarm.played, Banner: document.querySelector("#soundblocked").textContent})`, &blocked)
	if blocked.Played != 0 || blocked.Banner != "浏览器阻止了报警声：点击此处启用声音" {
		t.Errorf("blocked: played %d, banner %q; want 0 and the banner", blocked.Played, blocked.Banner)
	}
	b.shot("alarm-blocked-1920")
	b.do("enable sound", chromedp.Click(chromedp.CSS("#soundblocked")))
	b.wait("sound on and playing", `YJAlarm.state().audio === "running" && document.querySelector("#soundblocked").hidden && YJAlarm.played >= 1`, 5*time.Second)
}
