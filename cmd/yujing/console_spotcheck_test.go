package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleSpotChecksInBrowser: an operator starts a duty spot check
// (抽查) of the demo's enterprise from the console; the row shows the
// duty officer on the roster being called; the call is answered (the
// operator records it, as a phone answer would be); the page then shows
// 在岗 and the day's on-duty rate, in Chinese and in English. A viewer
// sees the list without the 抽查 button.
func TestConsoleSpotChecksInBrowser(t *testing.T) {
	env := newConsoleEnv(t, nil)
	p := env.browser(t, "operator")
	p.goTo("#/spotchecks", `document.querySelector("#spot-org option[value='demo-chem']") !== null && document.querySelector(".spotchecks .empty") !== null`)
	p.choose("#spot-org", "demo-chem")
	p.choose("#spot-role", "duty_officer")
	p.shot("spotchecks-form-1920")
	p.click("抽查", "#spot-run")
	p.wait("the check in the list, calling", `document.querySelector('#spot-checks tr[data-state="calling"]') !== null && document.querySelector("#spot-flash").textContent.includes("已向 演示化工有限公司 发起抽查")`, 10*time.Second)

	type check struct {
		ID          int64  `json:"id"`
		State       string `json:"state"`
		RequestedBy string `json:"requested_by"`
		Calls       []struct {
			ID, Person, Channel string
			Step                int
		} `json:"calls"`
	}
	var list []check
	waitFor(t, 10*time.Second, "the duty officer called", func() bool {
		list = nil
		env.viewer.do("GET", "/api/v1/spot-checks", nil, &list)
		return len(list) == 1 && len(list[0].Calls) > 0
	})
	c := list[0]
	if c.RequestedBy != "duty-li" || c.State != "calling" || len(c.Calls) != 1 || c.Calls[0].Step != 1 || c.Calls[0].Channel != "log" ||
		(c.Calls[0].Person != "zhang-wei" && c.Calls[0].Person != "liu-yang") {
		t.Fatalf("the check = %+v, want duty-li's, calling the duty officer on the roster (zhang-wei or liu-yang) on the log", c)
	}
	p.wait("the duty officer named", `document.querySelector('#spot-checks tr[data-state="calling"] [data-person]') !== null`, 10*time.Second)
	if got := p.text(`#spot-checks tr[data-state="calling"] td:nth-child(5)`); !strings.Contains(got, "（值班员）") {
		t.Errorf("called: %q, want the duty officer named with 值班员", got)
	}
	if code := env.operator.do("POST", "/api/v1/calls/"+c.Calls[0].ID+"/answer", map[string]string{"note": "值班员电话应答，在岗"}, nil); code != http.StatusOK {
		t.Fatalf("answer the call: %d", code)
	}
	p.wait("the answer shown (the page looks again while a check is calling)", `document.querySelector('#spot-checks tr[data-state="answered"]') !== null`, 10*time.Second)
	if got := p.text(`#spot-checks tr[data-state="answered"] td:nth-child(4)`); got != "在岗" {
		t.Errorf("result %q, want 在岗", got)
	}
	if got := p.text("#spot-rate"); got != "今日在岗率 100%（1/1）" {
		t.Errorf("rate %q, want 今日在岗率 100%%（1/1）", got)
	}
	p.shot("spotchecks-1920")
	p.do("switch to English", chromedp.Click(chromedp.CSS("#lang")))
	p.wait("English", `document.querySelector("#spot-rate").textContent === "On duty today: 100% (1/1)" && document.querySelector("#spot-run").textContent === "Check now"`, 5*time.Second)
	if got := p.text(`#spot-checks tr[data-state="answered"] td:nth-child(4)`); got != "on duty" {
		t.Errorf("result in English %q, want on duty", got)
	}
	p.do("back to Chinese", chromedp.Click(chromedp.CSS("#lang")))

	v := env.browser(t, "viewer")
	v.goTo("#/spotchecks", `document.querySelector('#spot-checks tr[data-state="answered"]') !== null`)
	if n := v.count("#spot-run"); n != 0 || v.count("#spot-viewer") != 1 {
		t.Errorf("a viewer sees %d 抽查 buttons (want none) and %d notes (want 1)", n, v.count("#spot-viewer"))
	}
	v.shot("spotchecks-viewer-1920")
	if code := env.viewer.do("POST", "/api/v1/spot-checks", map[string]string{"org": "demo-chem"}, nil); code != http.StatusForbidden {
		t.Errorf("a viewer's POST /api/v1/spot-checks: %d, want 403", code)
	}
}
