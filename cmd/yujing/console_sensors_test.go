package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"yujing"
	"yujing/config"
)

// TestConsoleSensorsInBrowser: an admin runs the sensor registry through
// the console — searches and filters it, adds a sensor with the form,
// changes its name, deletes it; imports a sheet saved by Excel, first one
// with mistakes (the preview names each at its line and column and
// nothing is imported), then a good one (previewed, then imported all at
// once); and registers a topic nobody knew in two clicks (登记, 保存),
// after which its readings count. The API holds what the page showed.
func TestConsoleSensorsInBrowser(t *testing.T) {
	env := newConsoleEnv(t, func(c *config.Config) { c.MQTT.Discovery = true })
	pub := publisher(t, env.inst.mqtt)
	publish(t, pub, "yujing/demo-plant/GT-101", `{"value": 3.5}`)
	p := env.browser(t, "admin")

	// Search and filters, kept in the URL.
	p.goTo("#/sensors", `document.querySelectorAll("#sensor-table tbody tr").length === 3`)
	p.do("search TK", chromedp.SendKeys(chromedp.CSS("#sensor-q"), "tk"+kb.Enter))
	p.wait("only the tank", `location.hash === "#/sensors?q=tk" && [...document.querySelectorAll("#sensor-table tbody tr")].map(r => r.dataset.sensor).join() === "TK-201"`, 10*time.Second)
	p.click("clear", "#sensor-clear")
	p.wait("all again", `document.querySelectorAll("#sensor-table tbody tr").length === 3`, 10*time.Second)
	p.choose(`#sensor-filters select[name=online]`, "true")
	p.wait("only GT-101 online", `[...document.querySelectorAll("#sensor-table tbody tr")].map(r => r.dataset.sensor + ":" + r.dataset.status).join() === "GT-101:online" && document.querySelector("#sensor-shown").textContent === "显示 1 个，共 1 个"`, 10*time.Second)
	p.choose(`#sensor-filters select[name=online]`, "")
	p.choose(`#sensor-filters select[name=family]`, "weather")
	p.wait("only the rain gauge", `[...document.querySelectorAll("#sensor-table tbody tr")].map(r => r.dataset.sensor).join() === "RG-301" && location.hash.includes("family=weather")`, 10*time.Second)
	p.click("clear", "#sensor-clear")

	// Add a sensor with the form.
	p.wait("the add button", `document.querySelector("#sensor-add") !== null`, 10*time.Second)
	p.click("add a sensor", "#sensor-add")
	p.wait("the empty form", `document.querySelector('#sensor-form[data-mode="new"]') !== null`, 10*time.Second)
	p.typeIn("#sf-id", "GT-150")
	p.typeIn("#sf-name", "东门燃气探测器")
	p.typeIn("#sf-site", "demo-plant")
	p.choose("#sf-family", "gas")
	p.typeIn("#sf-metric", "lel")
	p.typeIn("#sf-unit", "%LEL")
	p.typeIn("#sf-interval", "10s")
	p.typeIn("#sf-min", "0")
	p.typeIn("#sf-max", "100")
	p.typeIn("#sf-location", "东门岗亭")
	p.typeIn("#sf-tags", "zone=东门")
	p.shot("sensor-form-1920")
	p.click("save", "#sf-save")
	p.wait("the new sensor listed", `location.hash === "#/sensors?q=GT-150" && (document.querySelector('#sensor-table tr[data-sensor="GT-150"]') || {}).textContent?.includes("东门燃气探测器")`, 10*time.Second)
	type apiSensor struct {
		ID, Name, Site, Family, Metric, Unit, Topic, Interval, Location string
		Min, Max                                                        *float64
		Tags                                                            map[string]string
	}
	var s apiSensor
	if code := env.viewer.do("GET", "/api/v1/sensors/GT-150", nil, &s); code != 200 || s.Name != "东门燃气探测器" || s.Site != "demo-plant" || s.Family != "gas" ||
		s.Metric != "lel" || s.Unit != "%LEL" || s.Interval != "10s" || s.Min == nil || *s.Min != 0 || s.Max == nil || *s.Max != 100 ||
		s.Location != "东门岗亭" || s.Tags["zone"] != "东门" || s.Topic != "yujing/demo-plant/GT-150" {
		t.Errorf("the sensor made with the form: %d %+v", code, s)
	}

	// Change its name.
	p.click("edit", `#sensor-table tr[data-sensor="GT-150"] a[data-edit]`)
	p.wait("its form", `document.querySelector('#sensor-form[data-mode="edit"]') !== null && document.querySelector("#sf-id").readOnly && document.querySelector("#sf-name").value === "东门燃气探测器"`, 10*time.Second)
	p.typeIn("#sf-name", "东门可燃气体探测器")
	p.click("save", "#sf-save")
	p.wait("the new name listed", `(document.querySelector('#sensor-table tr[data-sensor="GT-150"]') || {}).textContent?.includes("东门可燃气体探测器")`, 10*time.Second)
	s = apiSensor{}
	if env.viewer.do("GET", "/api/v1/sensors/GT-150", nil, &s); s.Name != "东门可燃气体探测器" || s.Tags["zone"] != "东门" || s.Interval != "10s" || s.Topic != "yujing/demo-plant/GT-150" {
		t.Errorf("the changed sensor: %+v; want the new name and everything else kept", s)
	}

	// Delete it: the button asks once more.
	del := `#sensor-table tr[data-sensor="GT-150"] button.sensor-delete`
	p.click("delete", del)
	p.wait("the button asks again", fmt.Sprintf(`document.querySelector(%q).textContent === "确认删除？"`, del), 2*time.Second)
	p.click("confirm", del)
	p.wait("gone", `document.querySelector('#sensor-table tr[data-sensor="GT-150"]') === null && document.querySelector("#sensor-flash").textContent.includes("已删除监测点 GT-150")`, 10*time.Second)
	if code := env.viewer.do("GET", "/api/v1/sensors/GT-150", nil, nil); code != http.StatusNotFound {
		t.Errorf("the deleted sensor: status %d, want 404", code)
	}

	// A sheet with mistakes: the preview names each, nothing is imported.
	dir := t.TempDir()
	bad := filepath.Join(dir, "监测点-有误.csv")
	writeFile(t, bad, "\ufeff编号,名称,类别,站点,指标,单位,上报间隔,量程下限,量程上限\n"+
		"GT-152,西门可燃气体探测器,gas,demo-plant,lel,%LEL,10s,0,100\n"+
		"GT-153,北门可燃气体探测器,gas,no-such-site,lel,%LEL,10s,0,100\n"+
		"GT-154,南门可燃气体探测器,gas,demo-plant,lel,%LEL,10s,zero,100\n")
	p.goTo("#/sensors", `document.querySelector("#sensor-import") !== null`)
	p.click("import a sheet", "#sensor-import")
	p.wait("the import page", `document.querySelector("#import-file") !== null`, 10*time.Second)
	p.do("choose the sheet with mistakes", chromedp.SetUploadFiles(chromedp.CSS("#import-file"), []string{bad}))
	p.wait("the problems", `document.querySelector('#import-plan[data-problems]') !== null && +document.querySelector("#import-plan").dataset.problems >= 2`, 10*time.Second)
	var plan struct {
		Problems []string
		Refused  string
		Apply    bool
		Steps    string
	}
	p.eval(`({Problems: [...document.querySelectorAll("#import-problems li")].map(l => l.textContent), Refused: (document.querySelector("#import-refused")||{}).textContent || "",
		Apply: document.querySelector("#import-apply") !== null, Steps: [...document.querySelectorAll("#import-steps tbody tr")].map(r => r.dataset.id + ":" + r.dataset.action).join()})`, &plan)
	joined := strings.Join(plan.Problems, "\n")
	if plan.Apply || !strings.Contains(plan.Refused, "未导入任何监测点") || !strings.Contains(joined, "第 3 行") || !strings.Contains(joined, "no-such-site") ||
		!strings.Contains(joined, "第 4 行") || plan.Steps != "GT-152:create,GT-153:invalid,GT-154:invalid" {
		t.Errorf("the preview of the sheet with mistakes: %+v", plan)
	}
	p.shot("sensor-import-problems-1920")
	if code := env.viewer.do("GET", "/api/v1/sensors/GT-152", nil, nil); code != http.StatusNotFound {
		t.Errorf("GT-152 after a refused sheet: status %d, want 404 (all or nothing)", code)
	}

	// The corrected sheet: previewed, then imported at once. A row with a
	// known id changes that sensor; empty cells keep its values.
	good := filepath.Join(dir, "监测点.csv")
	writeFile(t, good, "\ufeff编号,名称,类别,站点,指标,单位,上报间隔,量程下限,量程上限,标签\n"+
		"GT-152,西门可燃气体探测器,gas,demo-plant,lel,%LEL,10s,0,100,zone=西门\n"+
		"GT-153,北门可燃气体探测器,gas,demo-plant,lel,%LEL,10s,0,100,zone=北门\n"+
		"RG-301,厂区东侧雨量站,,,,,,,,\n")
	p.do("choose the corrected sheet", chromedp.SetUploadFiles(chromedp.CSS("#import-file"), []string{good}))
	p.wait("the preview", `document.querySelector("#import-apply") !== null`, 10*time.Second)
	p.eval(`({Steps: [...document.querySelectorAll("#import-steps tbody tr")].map(r => r.dataset.id + ":" + r.dataset.action).join(), Refused: document.querySelector("#import-summary").textContent})`, &plan)
	if plan.Steps != "GT-152:create,GT-153:create,RG-301:update" || plan.Refused != "新增 2 个，修改 1 个，不变 0 个，有误 0 行。" {
		t.Errorf("the preview of the corrected sheet: %+v", plan)
	}
	if code := env.viewer.do("GET", "/api/v1/sensors/GT-152", nil, nil); code != http.StatusNotFound {
		t.Errorf("GT-152 after the preview: status %d, want 404 (a preview changes nothing)", code)
	}
	p.shot("sensor-import-preview-1920")
	p.click("import", "#import-apply")
	p.wait("imported", `(document.querySelector("#import-done") || {}).textContent?.includes("已导入：新增 2 个，修改 1 个")`, 10*time.Second)
	for id, name := range map[string]string{"GT-152": "西门可燃气体探测器", "GT-153": "北门可燃气体探测器", "RG-301": "厂区东侧雨量站"} {
		s = apiSensor{}
		if code := env.viewer.do("GET", "/api/v1/sensors/"+id, nil, &s); code != 200 || s.Name != name {
			t.Errorf("%s after the import: %d %+v, want named %s", id, code, s, name)
		}
		if id == "RG-301" && (s.Unit != "mm" || s.Family != "weather") {
			t.Errorf("RG-301 after the import: %+v; want its unit and family kept", s)
		}
	}

	// A topic nobody registered: two clicks make it a sensor, like its
	// neighbour GT-101.
	publish(t, pub, "yujing/demo-plant/GT-160", `{"value": 4.2}`)
	p.goTo("#/sensors", `document.querySelector("#sensor-discovered") !== null`)
	p.click("unregistered topics", "#sensor-discovered")
	p.wait("the topic", `document.querySelector('#discovered tr[data-topic="yujing/demo-plant/GT-160"] a.register') !== null`, 10*time.Second)
	p.shot("sensor-discovered-1920")
	p.click("register (1)", `#discovered tr[data-topic="yujing/demo-plant/GT-160"] a.register`)
	p.wait("the form filled from the topic", `document.querySelector("#sf-id").value === "GT-160" && document.querySelector("#sf-site").value === "demo-plant" &&
		document.querySelector("#sf-family").value === "gas" && document.querySelector("#sf-metric").value === "lel" && document.querySelector("#sf-like").dataset.like === "GT-101"`, 10*time.Second)
	p.click("save (2)", "#sf-save")
	p.wait("registered", `(document.querySelector('#sensor-table tr[data-sensor="GT-160"]') || null) !== null`, 10*time.Second)
	publish(t, pub, "yujing/demo-plant/GT-160", `{"value": 4.4}`)
	waitFor(t, 5*time.Second, "GT-160's reading", func() bool {
		var st struct {
			Online bool
			Unit   string
			Last   []struct{ Value float64 }
		}
		env.viewer.do("GET", "/api/v1/sensors/GT-160", nil, &st)
		return st.Online && st.Unit == "%LEL" && len(st.Last) == 1 && st.Last[0].Value == 4.4
	})
	p.goTo("#/sensors?view=site", `(document.querySelector('.tile[data-sensor="GT-160"]') || {}).textContent?.includes("4.4")`)
	p.shot("sensors-registry-1920")
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConsoleSensorsPagedInBrowser: a registry larger than a page. The
// server answers GET /api/v1/sensors a page at a time (X-Total-Count, a
// Link to the next page) and filters it itself; the console shows the
// first 200 with the total, 显示更多 the rest, and finds by its name a
// sensor far beyond the first page.
func TestConsoleSensorsPagedInBrowser(t *testing.T) {
	const extra = 250
	env := newConsoleEnv(t, func(c *config.Config) {
		var gauge yujing.Sensor
		for _, s := range c.Sensors {
			if s.ID == "RG-301" {
				gauge = s
			}
		}
		for i := range extra {
			s := gauge
			s.ID, s.Name = fmt.Sprintf("RG-%d", 5000+i), fmt.Sprintf("雨量站 %d 号", 5000+i)
			s.Topic = yujing.DefaultTopic(s.Site, s.ID)
			c.Sensors = append(c.Sensors, s)
		}
	})
	p := env.browser(t, "viewer")
	rows := `document.querySelectorAll("#sensor-table tbody tr").length`
	p.goTo("#/sensors", rows+` === 200`)
	total := extra + 3
	p.wait("the total", fmt.Sprintf(`document.querySelector("#sensor-shown").textContent === "显示 200 个，共 %d 个" && !document.querySelector("#sensor-more").hidden`, total), 10*time.Second)
	p.click("show more", "#sensor-more")
	p.wait("every sensor", fmt.Sprintf(`%s === %d && document.querySelector("#sensor-more").hidden && document.querySelector('#sensor-table tr[data-sensor="RG-5249"]') !== null`, rows, total), 10*time.Second)
	p.shot("sensors-paged-1920")

	// By name, the last of them: the server searches all, not a page.
	p.typeIn("#sensor-q", "雨量站 5249")
	p.do("search", chromedp.SendKeys(chromedp.CSS("#sensor-q"), kb.Enter))
	p.wait("found", `[...document.querySelectorAll("#sensor-table tbody tr")].map(r => r.dataset.sensor).join() === "RG-5249" && document.querySelector("#sensor-shown").textContent === "显示 1 个，共 1 个"`, 10*time.Second)
	p.click("clear", "#sensor-clear")
	p.wait("all again", fmt.Sprintf(`location.hash === "#/sensors" && %s === 200 && document.querySelector("#sensor-q").value === ""`, rows), 10*time.Second)
	p.choose(`#sensor-filters select[name=family]`, "gas")
	p.wait("the gas detectors", `document.querySelector("#sensor-shown").textContent === "显示 1 个，共 1 个" && document.querySelector("#sensor-more").hidden`, 10*time.Second)
}

// TestConsoleNamesBeyondFirstPageInBrowser: with more sensors than the
// API's default page (1 000), a warning on one past it is still shown by
// its name on the board, not by its id.
func TestConsoleNamesBeyondFirstPageInBrowser(t *testing.T) {
	const extra = 1100
	last := fmt.Sprintf("GT-%d", 5000+extra-1)
	env := newConsoleEnv(t, func(c *config.Config) {
		var gas yujing.Sensor
		for _, s := range c.Sensors {
			if s.ID == "GT-101" {
				gas = s
			}
		}
		for i := range extra {
			s := gas
			s.ID, s.Name = fmt.Sprintf("GT-%d", 5000+i), fmt.Sprintf("可燃气体探测器 %d 号", 5000+i)
			s.Topic = yujing.DefaultTopic(s.Site, s.ID)
			c.Sensors = append(c.Sensors, s)
		}
	})
	p := env.browser(t, "viewer")
	publish(t, publisher(t, env.inst.mqtt), yujing.DefaultTopic("demo-plant", last), `{"value": 62}`)
	cell := fmt.Sprintf(`document.querySelector('td[data-sensor="%s"]')`, last)
	p.goTo("#/board", cell+` !== null`)
	p.wait("the sensor's name", fmt.Sprintf(`%s.textContent.includes("可燃气体探测器 %d 号")`, cell, 5000+extra-1), 15*time.Second)
	p.shot("board-name-beyond-first-page-1920")
}
