package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"yujing/config"
	"yujing/configs"
	"yujing/ingest/decode/all"
	notifyall "yujing/notify/all"
)

// wallConfig is the demo with a second site, 太湖泵站, whose outline is a
// GeoJSON file beside the configuration file, and its water-level sensor;
// the demo's plant has a location.
func wallConfig(t *testing.T, hookURL string) *config.Config {
	t.Helper()
	t.Setenv("YUJING_DEMO_WEBHOOK_URL", hookURL)
	t.Setenv("YUJING_DEMO_WEBHOOK_SECRET", "s3cret-for-test")
	dir := t.TempDir()
	outline := `{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "太湖泵站"},
		"geometry": {"type": "Polygon", "coordinates": [[[120.600, 31.230], [120.615, 31.228], [120.618, 31.240], [120.604, 31.243], [120.600, 31.230]]]}}]}`
	if err := os.WriteFile(filepath.Join(dir, "lakeside.geojson"), []byte(outline), 0o644); err != nil {
		t.Fatal(err)
	}
	yaml := strings.Replace(string(configs.Demo), "\nsites:\n", "\nsites:\n  - {id: lakeside, name: 太湖泵站, region: \"320506\", boundary: lakeside.geojson}\n", 1)
	yaml = strings.Replace(yaml, "\nsensors:\n", "\nsensors:\n  - {id: WL-01, name: 泵站前池水位, site: lakeside, family: flood, metric: level, unit: m, interval: 1m}\n", 1)
	path := filepath.Join(dir, "yujing.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	decoders, err := all.Registry()
	if err != nil {
		t.Fatal(err)
	}
	channels, err := notifyall.Types()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.Options{Decoders: decoders.Names(), Channels: channels})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Simulate = false
	cfg.HTTPListen = "127.0.0.1:0"
	cfg.EmbeddedListen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.GroupWait = 300 * time.Millisecond
	return cfg
}

// TestConsoleWallInBrowser: the wall screen (#/wall) at 1920 × 1080, for a
// viewer. A red gas leak and an orange tank pressure at the demo plant:
// the counters by level and family, both warnings with their
// call-and-answer (the red one at step 1, who is being called, a countdown
// that moves; the orange one stopped, inhibited by the red at its site),
// the map with the plant (its configured location) red and the pump
// station (its GeoJSON outline) quiet, today's answer rate not yet known.
// When the duty room records an answer to the red warning's call, the
// wall shows it answered and today's answer rate 100 %, live. The header
// gives way to the wall's own bar, the viewer gets no button but full
// screen, and nothing is loaded from outside the binary.
func TestConsoleWallInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	dir := artifactsDir(t)
	d := startConsole(t, wallConfig)
	pub := publisher(t, d.inst.mqtt)

	publish(t, pub, "yujing/demo-plant/GT-101", `{"value": 62}`)
	publish(t, pub, "yujing/demo-plant/TK-201", `{"values": {"level": 5.0, "pressure": 1.15}}`)
	var red int64
	waitFor(t, 10*time.Second, "the red warning calling, the orange one's call-and-answer stopped (inhibited by the red at its site)", func() bool {
		var w struct {
			Warnings []struct {
				ID         int64
				Level      string
				Escalation *struct{ State string }
				Calling    []struct{ Person string }
			}
		}
		d.admin.do("GET", "/api/v1/wall", nil, &w)
		if len(w.Warnings) != 2 {
			return false
		}
		r, o := w.Warnings[0], w.Warnings[1]
		red = r.ID
		return r.Level == "red" && r.Escalation != nil && r.Escalation.State == "active" && len(r.Calling) > 0 &&
			o.Escalation != nil && o.Escalation.State == "stopped"
	})

	p := newBrowser(t, chromium, dir, 90*time.Second)
	p.viewport(1920, 1080, false)
	d.open(p, "#/wall", "viewer-wang")
	p.wait("the wall", `document.querySelectorAll("#wall-warnings li.wall-warning").length === 2 && document.querySelector("#wall-map svg") !== null && document.querySelector(".countdown") && document.querySelector(".countdown").textContent !== ""`, 10*time.Second)
	var wall struct {
		Levels, Families, Escs []string
		Warnings               []string
		Countdown, Rate        string
		Map                    []string
		Buttons                []string
		HeaderShown            bool
		Outside                []string
		Fits                   bool
	}
	read := `(() => ({
		Levels: [...document.querySelectorAll("#wall-levels .wall-level")].map(e => e.dataset.level + ":" + e.querySelector("b").textContent),
		Families: [...document.querySelectorAll(".wall-fam-table tr")].map(r => r.dataset.family + ":" + r.cells[1].textContent),
		Escs: [...document.querySelectorAll("#wall-warnings .ww-esc [data-esc]")].map(e => e.dataset.esc),
		Warnings: [...document.querySelectorAll("#wall-warnings li.wall-warning")].map(l => l.textContent),
		Countdown: document.querySelector(".countdown").textContent,
		Rate: document.querySelector("#wall-rate").textContent,
		Map: [...document.querySelectorAll("#wall-map g.site")].map(g => g.dataset.site + ":" + g.dataset.level + ":" + g.dataset.placed + ":" + g.firstElementChild.nextElementSibling.tagName),
		Buttons: [...document.querySelectorAll("#view button, #view input, #view select, #view textarea")].map(b => b.id),
		HeaderShown: document.querySelector("#top").offsetParent !== null,
		Outside: performance.getEntriesByType("resource").map(e => e.name).filter(n => !n.startsWith(location.origin + "/")),
		Fits: document.documentElement.scrollHeight <= innerHeight + 2}))()`
	p.eval(read, &wall)
	p.shot("wall-1920")
	if strings.Join(wall.Levels, " ") != "red:1 orange:1 yellow:0 blue:0" {
		t.Errorf("levels %v", wall.Levels)
	}
	if strings.Join(wall.Families, " ") != "gas:1 hazard:1" && strings.Join(wall.Families, " ") != "hazard:1 gas:1" {
		t.Errorf("families %v, want gas 1 and hazard 1", wall.Families)
	}
	if strings.Join(wall.Escs, " ") != "active stopped" {
		t.Errorf("call-and-answer states %v, want the red one active, the orange one stopped", wall.Escs)
	}
	if len(wall.Warnings) == 2 {
		if w := wall.Warnings[0]; !strings.Contains(w, "红色 Ⅰ级") || !strings.Contains(w, "演示化工园区") || !strings.Contains(w, "罐区可燃气体探测器") ||
			!strings.Contains(w, "叫应第 1 步") || !strings.Contains(w, "正在呼叫：") || !strings.Contains(w, "剩余 ") {
			t.Errorf("red warning on the wall: %q", w)
		}
		if w := wall.Warnings[1]; !strings.Contains(w, "橙色 Ⅱ级") || !strings.Contains(w, "1号储罐") || !strings.Contains(w, "已抑制") || !strings.Contains(w, "叫应已停止") {
			t.Errorf("orange warning on the wall: %q", w)
		}
	}
	if !strings.HasPrefix(wall.Countdown, "剩余 4:") && !strings.HasPrefix(wall.Countdown, "剩余 5:") {
		t.Errorf("countdown %q, want about 5 minutes left (the demo's red step 1 waits 5 min)", wall.Countdown)
	}
	if wall.Rate != "—" {
		t.Errorf("today's answer rate %q before any call came due or was answered, want —", wall.Rate)
	}
	if strings.Join(wall.Map, " ") != "demo-plant:red:location:circle lakeside:none:boundary:path" {
		t.Errorf("map %v, want the plant red at its location and the pump station's outline quiet", wall.Map)
	}
	if strings.Join(wall.Buttons, " ") != "wall-full" || wall.HeaderShown {
		t.Errorf("controls %v, header shown %v; want only full screen, the header hidden", wall.Buttons, wall.HeaderShown)
	}
	if len(wall.Outside) != 0 {
		t.Errorf("loaded from outside the binary: %v", wall.Outside)
	}
	if !wall.Fits {
		t.Errorf("the wall scrolls at 1920 × 1080")
	}
	p.wait("the countdown moving", fmt.Sprintf(`document.querySelector(".countdown").textContent !== %q`, wall.Countdown), 3*time.Second)

	// The duty room records the answer of whoever the first listed call went to;
	// the wall names that person, not the operator who recorded it.
	var detail struct {
		Calls []struct {
			ID         string     `json:"id"`
			PersonName string     `json:"person_name"`
			Deadline   *time.Time `json:"deadline"`
		} `json:"calls"`
	}
	d.admin.do("GET", fmt.Sprintf("/api/v1/alerts/%d", red), nil, &detail)
	var call, name string
	for _, c := range detail.Calls {
		if c.Deadline != nil {
			call, name = c.ID, c.PersonName
			break
		}
	}
	if call == "" || name == "" {
		t.Fatalf("no escalation call with a deadline and a person's name on warning %d: %+v", red, detail.Calls)
	}
	if code := d.admin.do("POST", "/api/v1/calls/"+call+"/answer", map[string]any{"note": "电话已确认"}, nil); code != 200 {
		t.Fatalf("record the answer: status %d", code)
	}
	p.wait("answered on the wall, live", `document.querySelector("#wall-warnings li.wall-warning [data-esc]").dataset.esc === "answered" && document.querySelector("#wall-rate").textContent === "100%"`, 10*time.Second)
	var answered string
	p.eval(`document.querySelector("#wall-warnings li.wall-warning .ww-esc").textContent`, &answered)
	if !strings.HasPrefix(answered, "已应答："+name+"，") || !strings.HasSuffix(answered, "（值班台代为登记）") || strings.Contains(answered, "admin") {
		t.Errorf("the red warning's call-and-answer reads %q, want 已应答：<the called person's name>，<time>（值班台代为登记）", answered)
	}
	p.shot("wall-answered-1920")

	// In English.
	p.do("English", chromedp.Evaluate[chromedp.Void](`localStorage.setItem("yujing.lang", "en")`), chromedp.Reload())
	p.wait("the wall in English", `(document.querySelector("#wall h2") || {}).textContent === "Warning wall" && document.querySelectorAll("#wall-warnings li.wall-warning").length === 2`, 10*time.Second)
	p.shot("wall-1920-en")
	p.do("back to Chinese", chromedp.Evaluate[chromedp.Void](`localStorage.setItem("yujing.lang", "zh")`))
}
