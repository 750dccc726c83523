package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleChartInBrowser: the warning page's chart of a tank whose
// level crossed four tiers within a second, after twenty minutes of
// readings near 2 m on a 0–10 m scale. The window fits the data (it
// starts at the first reading, not an hour before the warning); the four
// events (raised, three upgrades) are drawn as numbered markers whose
// labels do not overlap, and listed under the chart with their numbers;
// the four tier lines (8.0, 8.5, 9.0, 9.5 m: at phone width a few pixels
// apart) each carry a label and no two labels overlap. Dragging across
// the chart zooms to that span and reads it again; 还原 goes back.
func TestConsoleChartInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	dir := artifactsDir(t)
	d := startConsoleDemo(t)
	pub := publisher(t, d.inst.mqtt)

	now := time.Now().UTC()
	first := now.Add(-20 * time.Minute)
	for i := range 20 {
		ts := first.Add(time.Duration(i) * time.Minute)
		publish(t, pub, "yujing/demo-plant/TK-201", fmt.Sprintf(`{"values": {"level": %.2f, "pressure": 0.4}, "ts": %q}`, 1.8+float64(i%5)*0.1, ts.Format(time.RFC3339Nano)))
	}
	for _, level := range []float64{8.2, 8.7, 9.2, 9.7} {
		publish(t, pub, "yujing/demo-plant/TK-201", fmt.Sprintf(`{"values": {"level": %.1f, "pressure": 0.4}}`, level))
	}
	var id int64
	waitFor(t, 10*time.Second, "the tank warning, red after three upgrades", func() bool {
		var as []apiAlert
		d.admin.do("GET", "/api/v1/alerts?state=open", nil, &as)
		if len(as) != 1 || as[0].Level != "red" {
			return false
		}
		var a struct {
			History []struct{ Event string } `json:"history"`
		}
		d.admin.do("GET", fmt.Sprintf("/api/v1/alerts/%d", as[0].ID), nil, &a)
		id = as[0].ID
		return len(a.History) == 4
	})

	p := newBrowser(t, chromium, dir, 90*time.Second)
	p.viewport(1920, 1080, false)
	d.open(p, fmt.Sprintf("#/alert/%d", id), "duty-li")
	p.wait("the chart", `(() => { const s = document.querySelector("#chart path.series"); return s && +s.dataset.points >= 24; })()`, 10*time.Second)
	p.shot("chart-1920")
	// overlaps counts the pairs of elements matching sel whose boxes
	// overlap, and returns how many there are.
	const overlaps = `(sel => { const bs = [...document.querySelectorAll(sel)].map(e => e.getBBox()); let n = 0;
		for (let i = 0; i < bs.length; i++) for (let j = i + 1; j < bs.length; j++) { const a = bs[i], b = bs[j];
			if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height) n++; }
		return [bs.length, n]; })`
	var chart struct {
		From, To       int64
		Markers        [2]int
		Tiers          [2]int
		TierTexts      []string
		SeriesStartPct float64
	}
	p.eval(`(() => { const svg = document.querySelector("#chart svg.chart"), g = svg.querySelector("line.grid"), plot = [+g.getAttribute("x1"), +g.getAttribute("x2")],
		x0 = +svg.querySelector("path.series").getAttribute("d").match(/^M([\d.]+)/)[1];
		return {From: +(svg.dataset.from || 0), To: +(svg.dataset.to || 0), Markers: (`+overlaps+`)("#chart text.marker-label"), Tiers: (`+overlaps+`)("#chart text.th-label"),
			TierTexts: [...svg.querySelectorAll("text.th-label")].map(e => e.textContent), SeriesStartPct: (x0 - plot[0]) / (plot[1] - plot[0]) * 100}; })()`, &chart)
	if from := time.UnixMilli(chart.From); from.Before(first.Add(-2*time.Minute)) || from.After(first) {
		t.Errorf("the chart starts at %s, want just before the first reading %s (not an hour before the warning)", from.Format(time.TimeOnly), first.Format(time.TimeOnly))
	}
	if chart.SeriesStartPct > 10 {
		t.Errorf("the readings start %.0f%% into the chart's width, want within the first 10%%", chart.SeriesStartPct)
	}
	if chart.Markers[0] == 0 || chart.Markers[1] != 0 {
		t.Errorf("%d marker labels, %d pairs overlapping; want some, none overlapping", chart.Markers[0], chart.Markers[1])
	}
	if chart.Tiers[0] != 4 || chart.Tiers[1] != 0 {
		t.Errorf("%d tier labels %q, %d pairs overlapping; want 4, none overlapping", chart.Tiers[0], chart.TierTexts, chart.Tiers[1])
	}
	for i, want := range []string{"红色 Ⅰ级 9.5", "橙色 Ⅱ级 9", "黄色 Ⅲ级 8.5", "蓝色 Ⅳ级 8"} {
		if i >= len(chart.TierTexts) || chart.TierTexts[i] != want {
			t.Errorf("tier labels %q, want %s at %d", chart.TierTexts, want, i)
		}
	}
	// The events: every one numbered in a marker and listed.
	var events struct {
		Drawn int
		List  []string
	}
	p.eval(`({Drawn: [...document.querySelectorAll("#chart g.marker-group")].reduce((n, g) => n + +g.dataset.markers, 0),
		List: [...document.querySelectorAll("#chart-events li")].map(l => l.textContent)})`, &events)
	if events.Drawn != 4 || len(events.List) != 4 {
		t.Errorf("%d events in markers, list %q; want 4 and 4", events.Drawn, events.List)
	}
	for i, want := range []string{"1 ", "2 ", "3 ", "4 "} {
		if i < len(events.List) && (!strings.HasPrefix(events.List[i], want) || !strings.Contains(events.List[i], map[bool]string{true: "触发", false: "升级"}[i == 0])) {
			t.Errorf("event %d listed as %q", i+1, events.List[i])
		}
	}

	// Zoom: drag from 30% to 60% of the plot's width.
	var box struct{ Left, Right, Top, Bottom float64 }
	p.eval(`(() => { const svg = document.querySelector("#chart svg.chart"), r = svg.getBoundingClientRect(), vb = svg.viewBox.baseVal, plot = svg.dataset.plot.split(" ").map(Number), k = r.width / vb.width;
		return {Left: r.left + plot[0] * k, Right: r.left + plot[1] * k, Top: r.top + plot[2] * k, Bottom: r.top + plot[3] * k}; })()`, &box)
	y := (box.Top + box.Bottom) / 2
	x1, x2 := box.Left+(box.Right-box.Left)*0.3, box.Left+(box.Right-box.Left)*0.6
	p.do("drag across the chart", chromedp.DragAndDropXY(x1, y, x2, y))
	wantFrom := chart.From + int64(float64(chart.To-chart.From)*0.3)
	wantTo := chart.From + int64(float64(chart.To-chart.From)*0.6)
	p.wait("zoomed in", fmt.Sprintf(`(() => { const s = document.querySelector("#chart svg.chart"); return s && Math.abs(+s.dataset.from - %d) < 30e3 && Math.abs(+s.dataset.to - %d) < 30e3 && !document.querySelector("#zoom-reset").hidden; })()`, wantFrom, wantTo), 5*time.Second)
	p.shot("chart-zoom-1920")
	var zoomedPoints int
	p.eval(`+document.querySelector("#chart path.series").dataset.points`, &zoomedPoints)
	if zoomedPoints < 4 || zoomedPoints > 9 {
		t.Errorf("zoomed to 30%%–60%% of 20 minutes of minute readings: %d points drawn, want about 6", zoomedPoints)
	}
	p.do("reset", chromedp.Click(chromedp.CSS("#zoom-reset")))
	p.wait("the whole window again", fmt.Sprintf(`(() => { const s = document.querySelector("#chart svg.chart"); return s && Math.abs(+s.dataset.from - %d) < 5e3 && document.querySelector("#zoom-reset").hidden; })()`, chart.From), 5*time.Second)

	// At phone width the chart is 240 px high: the tier lines are a few
	// pixels apart, their labels still apart.
	p.viewport(390, 844, true)
	p.do("the warning at phone width", chromedp.Navigate(fmt.Sprintf("%s/#/alert/%d?phone", d.base, id)))
	p.wait("the chart at phone width", `(() => { const s = document.querySelector("#chart svg.chart"); return s && s.viewBox.baseVal.width < 400 && s.querySelector("path.series"); })()`, 10*time.Second)
	var phone struct {
		Tiers   [2]int
		Spacing float64
	}
	p.eval(`(() => { const ys = [...document.querySelectorAll("#chart line.threshold")].map(l => +l.getAttribute("y1")).sort((a, b) => a - b);
		return {Tiers: (`+overlaps+`)("#chart text.th-label"), Spacing: Math.min(...ys.slice(1).map((y, i) => y - ys[i]))}; })()`, &phone)
	t.Logf("phone: tier lines %.1f px apart", phone.Spacing)
	if phone.Tiers[0] != 4 || phone.Tiers[1] != 0 {
		t.Errorf("phone: %d tier labels, %d pairs overlapping; want 4, none", phone.Tiers[0], phone.Tiers[1])
	}
	p.shot("chart-390-full")
}
