package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleSilencesInBrowser: an admin silences a sensor from its red
// warning's page ("silence this sensor for 2 h"), sets up a recurring
// maintenance window for a site, and ends the first silence early — all
// through the console, in a Chromium running in New York's time zone
// against a server in Asia/Shanghai. The list says who made each silence
// and why, and who ended it; the times typed and shown are Shanghai's; the
// API holds what the page showed.
func TestConsoleSilencesInBrowser(t *testing.T) {
	env := newConsoleEnv(t, nil)
	shanghai := mustZone(t, "Asia/Shanghai")
	alert := env.redAlert()
	p := env.browser(t, "admin", chromedp.Env("TZ=America/New_York"))

	// From the warning: the link opens the form for its sensor, two hours.
	p.goTo(fmt.Sprintf("#/alert/%d", alert.ID), `document.querySelector("#silence-link") !== null`)
	p.wait("the alarm for the red warning", `!document.querySelector("#alarm").hidden`, 5*time.Second)
	p.click("silence this sensor", "#silence-link")
	p.wait("the silence form, filled", `document.querySelector("#silence-form") !== null && document.querySelector("#sl-sensor").value === "GT-101"`, 10*time.Second)
	var span struct {
		Hours float64
		Start string
		From  string
	}
	p.eval(`({Hours: (YJ.time.instant(document.querySelector("#sl-ends").value) - YJ.time.instant(document.querySelector("#sl-starts").value)) / 3600e3,
		Start: document.querySelector("#sl-starts").value, From: document.querySelector("#silence-form h3").textContent})`, &span)
	if span.Hours != 2 || !strings.Contains(span.From, fmt.Sprintf("来自预警 #%d", alert.ID)) {
		t.Errorf("the form from the warning: %v hours, heading %q; want 2 and the warning named", span.Hours, span.From)
	}
	if want := time.Now().In(shanghai).Format("2006-01-02T15:04"); span.Start != want && span.Start != time.Now().Add(-time.Minute).In(shanghai).Format("2006-01-02T15:04") {
		t.Errorf("the form starts at %q, want now in Shanghai (%s)", span.Start, want)
	}
	p.typeIn("#sl-comment", "更换探头后标定，暂停叫应 2 小时")
	p.shot("silence-form-1920")
	p.click("create", "#sl-create")
	p.wait("the silence in force in the list", `document.querySelector('#silences tr[data-status="active"]') !== null && document.querySelector("#sl-flash").textContent.includes("已创建静默")`, 10*time.Second)
	// The alarm for the red warning stops: it is silenced now.
	p.wait("the alarm quiet", `document.querySelector("#alarm").hidden`, 5*time.Second)

	type apiSilence struct {
		ID       int64 `json:"id"`
		Matchers struct {
			Site   string   `json:"site"`
			Sensor string   `json:"sensor"`
			Levels []string `json:"levels"`
		} `json:"matchers"`
		StartsAt  time.Time  `json:"starts_at"`
		EndsAt    time.Time  `json:"ends_at"`
		CreatedBy string     `json:"created_by"`
		Comment   string     `json:"comment"`
		ExpiredAt *time.Time `json:"expired_at"`
		ExpiredBy string     `json:"expired_by"`
		Active    bool       `json:"active"`
		Window    *struct {
			Start    string `json:"start"`
			End      string `json:"end"`
			Weekdays []int  `json:"weekdays"`
		} `json:"window"`
	}
	var ss []apiSilence
	env.viewer.do("GET", "/api/v1/silences", nil, &ss)
	if len(ss) != 1 {
		t.Fatalf("silences after the form: %+v", ss)
	}
	first := ss[0]
	if first.Matchers.Sensor != "GT-101" || first.CreatedBy != "admin" || first.Comment != "更换探头后标定，暂停叫应 2 小时" ||
		first.EndsAt.Sub(first.StartsAt) != 2*time.Hour || time.Since(first.StartsAt) > 2*time.Minute || time.Since(first.StartsAt) < -time.Minute || !first.Active {
		t.Errorf("the silence made from the warning: %+v; want GT-101 for 2 h from now, by admin, with the reason", first)
	}
	var row struct{ Match, When, By, Why string }
	p.eval(fmt.Sprintf(`(() => { const c = document.querySelector('#silences tr[data-id="%d"]').cells;
		return {Match: c[1].textContent, When: c[2].textContent, By: c[4].textContent, Why: c[5].textContent}; })()`, first.ID), &row)
	if !strings.Contains(row.Match, "罐区可燃气体探测器") || !strings.Contains(row.By, "admin") || row.Why != first.Comment ||
		!strings.Contains(row.When, first.StartsAt.In(shanghai).Format("2006-01-02 15:04:05")) || !strings.Contains(row.When, first.EndsAt.In(shanghai).Format("2006-01-02 15:04:05")) {
		t.Errorf("the row %+v; want the sensor by name, admin, the reason and Shanghai's times %s – %s", row,
			first.StartsAt.In(shanghai).Format("15:04:05"), first.EndsAt.In(shanghai).Format("15:04:05"))
	}
	var silenced struct{ Silenced bool }
	env.viewer.do("GET", fmt.Sprintf("/api/v1/alerts/%d", alert.ID), nil, &silenced)
	if !silenced.Silenced {
		t.Error("the warning is not marked silenced")
	}

	// A recurring maintenance window: the site's yellow and blue warnings,
	// Sundays 02:00–04:00, for 30 days.
	p.click("new silence", "#sl-new")
	p.wait("an empty form", `document.querySelector("#silence-form") !== null && document.querySelector("#sl-sensor").value === ""`, 10*time.Second)
	p.choose("#sl-site", "demo-plant")
	p.check(`input[name=level][value=yellow]`)
	p.check(`input[name=level][value=blue]`)
	p.click("+30 days", `.sl-plus[data-ms="2592000000"]`)
	p.check("#sl-window")
	p.choose("#sl-wstart", "02:00")
	p.choose("#sl-wend", "04:00")
	p.check(`input[name=wd][value="0"]`)
	p.typeIn("#sl-comment", "每周日凌晨例行检修")
	p.click("create", "#sl-create")
	p.wait("two silences listed", `document.querySelectorAll("#silences tbody tr").length === 2`, 10*time.Second)
	ss = nil
	env.viewer.do("GET", "/api/v1/silences", nil, &ss)
	if len(ss) != 2 {
		t.Fatalf("silences: %+v", ss)
	}
	win := ss[0]
	if win.Matchers.Site != "demo-plant" || strings.Join(win.Matchers.Levels, ",") != "yellow,blue" || win.Window == nil ||
		win.Window.Start != "02:00" || win.Window.End != "04:00" || fmt.Sprint(win.Window.Weekdays) != "[0]" ||
		win.EndsAt.Sub(win.StartsAt) != 30*24*time.Hour || win.Comment != "每周日凌晨例行检修" {
		t.Errorf("the maintenance window: %+v (window %+v)", win, win.Window)
	}
	wantStatus := "waiting"
	if win.Active {
		wantStatus = "active" // the test runs on a Sunday between 02:00 and 04:00 in Shanghai
	}
	var winRow struct{ Status, Match, Window string }
	p.eval(fmt.Sprintf(`(() => { const r = document.querySelector('#silences tr[data-id="%d"]');
		return {Status: r.dataset.status, Match: r.cells[1].textContent, Window: r.cells[3].textContent}; })()`, win.ID), &winRow)
	if winRow.Status != wantStatus || !strings.Contains(winRow.Match, "演示化工园区") || !strings.Contains(winRow.Match, "黄色 Ⅲ级") || winRow.Window != "每周日 02:00–04:00" {
		t.Errorf("the window's row %+v; want %s, the site by name, the levels, 每周日 02:00–04:00", winRow, wantStatus)
	}
	p.shot("silences-1920")

	// End the first early: the button asks once more, then the silence
	// leaves the current list and shows among the ended ones, by whom.
	expire := fmt.Sprintf(`#silences tr[data-id="%d"] button.expire`, first.ID)
	p.click("end the silence", expire)
	p.wait("the button asks again", fmt.Sprintf(`document.querySelector(%q).textContent === "确认解除？"`, expire), 2*time.Second)
	p.click("confirm", expire)
	p.wait("gone from the current list", fmt.Sprintf(`document.querySelector('#silences tr[data-id="%d"]') === null && document.querySelector("#sl-flash").textContent.includes("已解除")`, first.ID), 10*time.Second)
	p.check("#sl-all")
	p.wait("among the ended ones, by admin", fmt.Sprintf(`(() => { const r = document.querySelector('#silences tr[data-id="%d"]'); return r && r.dataset.status === "ended" && r.cells[6].textContent.includes("admin"); })()`, first.ID), 10*time.Second)
	p.shot("silences-ended-1920")
	ss = nil
	env.viewer.do("GET", "/api/v1/silences", nil, &ss)
	for _, s := range ss {
		if s.ID == first.ID && (s.ExpiredAt == nil || s.ExpiredBy != "admin" || s.Active) {
			t.Errorf("the ended silence: %+v; want expired by admin", s)
		}
	}
	p.wait("the alarm again", `!document.querySelector("#alarm").hidden`, 5*time.Second)
	env.viewer.do("GET", fmt.Sprintf("/api/v1/alerts/%d", alert.ID), nil, &silenced)
	if silenced.Silenced {
		t.Error("the warning is still marked silenced after the silence ended")
	}
	if code := env.viewer.do("DELETE", fmt.Sprintf("/api/v1/silences/%d", win.ID), nil, nil); code != http.StatusForbidden {
		t.Errorf("a viewer ends a silence: status %d, want 403", code)
	}
}
