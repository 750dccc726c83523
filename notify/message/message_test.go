package message

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/internal/yamlconf"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var start = time.Date(2025, 7, 14, 9, 30, 0, 0, DefaultLocation)

// gasCall is the call the golden files show: a red gas warning raised at
// plant-a, to be answered within 15 minutes.
func gasCall() yujing.Call {
	return yujing.Call{
		ID: "42-raised-p1-sms",
		Alert: yujing.Alert{
			ID: 42, Rule: "gas-lel-high", Sensor: "gas-01", Site: "plant-a", Family: yujing.FamilyGas,
			Metric: "lel", Unit: "%LEL", Level: yujing.Red, State: yujing.StateFiring,
			Value: 55.5, Threshold: 50, Message: "一号厨房燃气浓度超过二级报警值",
			StartedAt: start, UpdatedAt: start,
		},
		Event:     yujing.EventRaised,
		Person:    yujing.Person{ID: "p1", Name: "张三", Phone: "13800000000"},
		Channel:   "sms",
		Created:   start.Add(5 * time.Second),
		Step:      1,
		Deadline:  start.Add(15 * time.Minute),
		AnswerURL: "https://yj.example.cn/a/Q7xK2mP9",
	}
}

// names gives display names to the ids of gasCall and of the sample calls.
type names map[string]string

func (n names) SiteName(id string) string   { return n[id] }
func (n names) SensorName(id string) string { return n[id] }

var plantNames = names{"plant-a": "甲燃气站", "gas-01": "一号厨房可燃气体探测器"}

func newRenderer(t *testing.T, lang string) *Renderer {
	t.Helper()
	r, err := New(lang, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func render(t *testing.T, r *Renderer, k Kind, c yujing.Call) Message {
	t.Helper()
	m, err := r.Render(k, c)
	if err != nil {
		t.Fatalf("Render(%s, %s %s): %v", k, c.Alert.Level, c.Event, err)
	}
	return m
}

// goldenCase is one call the golden files show in every kind.
type goldenCase struct {
	name string
	call yujing.Call
}

// goldenCases are a call of every kind an official gets: the events of a
// warning's life, the supervision of an overdue one (督办), a scheduled
// summary, and call-and-answer going on (a reminder, a later step, a later
// round); a route's notification without an answer link; a flood warning
// (水位, units spoken as words). Notes are what alerting writes.
func goldenCases() []goldenCase {
	at := func(d time.Duration) *time.Time { t := start.Add(d); return &t }
	with := func(f func(c *yujing.Call)) yujing.Call {
		c := gasCall()
		c.ID, c.Escalation, c.Step, c.Round = "esc7-r0-s1-p1-p-sms", 7, 1, 0
		c.Alert.Message = "【红色(Ⅰ级)预警】甲燃气站 一号厨房可燃气体探测器(gas-01)：可燃气体浓度 55.5 %LEL，达到红色阈值 50 %LEL（2025-07-14 09:30:00）"
		f(&c)
		return c
	}
	noAnswer := func(c *yujing.Call) {
		c.ID, c.Escalation, c.Step, c.AnswerURL, c.Deadline = "42-"+string(c.Event)+"-p1-sms", 0, 0, "", time.Time{}
	}
	return []goldenCase{
		{"raised", with(func(c *yujing.Call) {})},
		{"reminder", with(func(c *yujing.Call) {
			c.ID, c.Created = "esc7-r0-s1-p1-p-sms-remind1", start.Add(5*time.Minute)
		})},
		{"step2", with(func(c *yujing.Call) {
			c.ID, c.Step, c.Person = "esc7-r0-s2-p2-p-voice", 2, yujing.Person{ID: "p2", Name: "李四"}
			c.Created, c.Deadline = start.Add(15*time.Minute), start.Add(25*time.Minute)
		})},
		{"round2", with(func(c *yujing.Call) {
			c.ID, c.Round = "esc7-r1-s1-p1-p-sms", 1
			c.Created, c.Deadline = start.Add(35*time.Minute), start.Add(50*time.Minute)
		})},
		{"upgraded", with(func(c *yujing.Call) {
			c.Event, c.Alert.UpdatedAt, c.Created = yujing.EventUpgraded, start.Add(3*time.Minute), start.Add(3*time.Minute)
			c.Alert.Message = "【红色(Ⅰ级)预警】甲燃气站 一号厨房可燃气体探测器(gas-01)：预警升级，可燃气体浓度 55.5 %LEL，达到红色阈值 50 %LEL（2025-07-14 09:33:00）"
			c.ID, c.Deadline = "esc8-r0-s1-p1-p-sms", start.Add(18*time.Minute)
		})},
		{"downgraded", with(func(c *yujing.Call) {
			noAnswer(c)
			c.Event, c.Alert.Level, c.Alert.Value, c.Alert.Threshold = yujing.EventDowngraded, yujing.Orange, 39.8, 40
			c.Alert.UpdatedAt, c.Created = start.Add(20*time.Minute), start.Add(20*time.Minute)
			c.Alert.Message = "【橙色(Ⅱ级)预警】甲燃气站 一号厨房可燃气体探测器(gas-01)：预警降级，可燃气体浓度 39.8 %LEL，已低于红色阈值 50 %LEL，尚未回落到橙色解除值 38 %LEL 以下（2025-07-14 09:50:00）"
			noAnswer(c)
		})},
		{"resolved", with(func(c *yujing.Call) {
			c.Event, c.Alert.Level, c.Alert.Value, c.Alert.Threshold = yujing.EventResolved, yujing.Orange, 1.5, 40
			c.Alert.State, c.Alert.ResolvedAt, c.Alert.UpdatedAt, c.Created = yujing.StateResolved, at(40*time.Minute), start.Add(40*time.Minute), start.Add(40*time.Minute)
			c.Alert.Message = "【橙色(Ⅱ级)预警】甲燃气站 一号厨房可燃气体探测器(gas-01)：可燃气体浓度 1.5 %LEL，已回落到橙色阈值 40 %LEL 以下，预警解除（2025-07-14 10:10:00）"
			noAnswer(c)
		})},
		{"reopened", with(func(c *yujing.Call) {
			c.Event, c.Alert.Level, c.Alert.Value, c.Alert.Threshold = yujing.EventReopened, yujing.Orange, 41, 40
			c.Alert.UpdatedAt, c.Created = start.Add(50*time.Minute), start.Add(50*time.Minute)
			c.Alert.Message = "【橙色(Ⅱ级)预警】甲燃气站 一号厨房可燃气体探测器(gas-01)：再次触发，可燃气体浓度 41 %LEL，达到橙色阈值 40 %LEL（2025-07-14 10:20:00）"
			c.ID, c.Deadline = "esc9-r0-s1-p1-p-sms", start.Add(80*time.Minute)
		})},
		{"acknowledged", with(func(c *yujing.Call) {
			c.Event, c.Alert.State, c.Alert.AckedAt, c.Alert.AckedBy = yujing.EventAcknowledged, yujing.StateAcknowledged, at(4*time.Minute), "张三"
			c.Created = start.Add(4 * time.Minute)
			noAnswer(c)
		})},
		{"disposed", with(func(c *yujing.Call) {
			c.Event, c.Alert.State, c.Alert.UpdatedAt, c.Created = yujing.EventDisposed, yujing.StateDisposing, start.Add(12*time.Minute), start.Add(12*time.Minute)
			noAnswer(c)
		})},
		{"closed", with(func(c *yujing.Call) {
			c.Event, c.Alert.State, c.Alert.Value, c.Alert.ClosedAt = yujing.EventClosed, yujing.StateClosed, 1.5, at(90*time.Minute)
			c.Created = start.Add(90 * time.Minute)
			noAnswer(c)
		})},
		{"overdue", with(func(c *yujing.Call) {
			c.Event, c.Alert.Level, c.Alert.Threshold, c.Alert.Value = yujing.EventOverdue, yujing.Orange, 40, 42
			c.Alert.Overdue, c.Alert.OverdueAt, c.Alert.UpdatedAt, c.Created = true, at(4*time.Hour+time.Minute), start.Add(4*time.Hour+time.Minute), start.Add(4*time.Hour+time.Minute)
			c.Alert.Message = "【橙色(Ⅱ级)预警】甲燃气站 一号厨房可燃气体探测器(gas-01)：可燃气体浓度 42 %LEL，达到橙色阈值 40 %LEL（2025-07-14 09:30:00）"
			c.Person = yujing.Person{ID: "chief", Name: "陈刚"}
			noAnswer(c)
		})},
		{"summary", with(func(c *yujing.Call) {
			c.ID, c.Event, c.Person = "summary-每日预警汇总-1752456600-chief-sms", yujing.EventSummary, yujing.Person{ID: "chief", Name: "陈刚"}
			c.Alert = yujing.Alert{Rule: "summary:每日预警汇总", Level: yujing.Red, State: yujing.StateFiring, StartedAt: start, UpdatedAt: start,
				Message: "【每日预警汇总】07-13 09:30 至 07-14 09:30：新增预警 3 条（红1、橙1、黄1）；未闭环 2 条，其中未响应 1 条、超时督办 1 条；预警最多：甲燃气站 2 条，乙厂 1 条。"}
			c.Escalation, c.Step, c.AnswerURL, c.Deadline, c.Created = 0, 0, "", time.Time{}, start
		})},
		{"notification", with(noAnswer)},
		{"issued", with(func(c *yujing.Call) {
			c.Alert.Rule, c.Alert.Sensor, c.Alert.Site, c.Alert.Family = "issued:cap", "南京市江宁区气象台,32011541600000_20250714093000#320115001", "region:320115001", yujing.FamilyWeather
			c.Alert.Metric, c.Alert.Unit, c.Alert.Value, c.Alert.Threshold = "", "", 0, 0
			c.Alert.Message = "江宁区气象台发布暴雨红色预警信号（江宁区东山街道）\n过去3小时东山街道降雨量已达100毫米以上，且降雨仍将持续。防御指南：1. 政府及相关部门按照职责做好防暴雨应急和抢险工作；2. 停止集会、停课、停业（除特殊行业外）。"
		})},
		{"issued-upgraded", with(func(c *yujing.Call) {
			c.Alert.Rule, c.Alert.Sensor, c.Alert.Site, c.Alert.Family = "issued:cap", "南京市江宁区气象台,32011541600000_20250714093000#320115", "region:320115", ""
			c.Alert.Metric, c.Alert.Unit, c.Alert.Value, c.Alert.Threshold = "", "", 0, 0
			c.Event, c.Alert.UpdatedAt, c.Created = yujing.EventUpgraded, start.Add(3*time.Minute), start.Add(3*time.Minute)
			c.Alert.Message = "江宁区气象台将暴雨橙色预警信号升级为红色（江宁区）"
			c.ID, c.Step, c.Deadline, c.Person = "esc8-r0-s2-p2-p-voice", 2, start.Add(18*time.Minute), yujing.Person{ID: "p2", Name: "李四"}
		})},
		{"flood", with(func(c *yujing.Call) {
			c.Alert.Family, c.Alert.Site, c.Alert.Sensor, c.Alert.Metric, c.Alert.Unit = yujing.FamilyFlood, "qinglong", "wl-01", "level", "m"
			c.Alert.Level, c.Alert.Value, c.Alert.Threshold = yujing.Orange, 12.7, 12.5
			c.Alert.Message = "【橙色(Ⅱ级)预警】青龙河 1号水位站(wl-01) 河道水位（警戒 12.5 m，保证 14 m）：水位 12.7 m，达到橙色阈值 12.5 m（2025-07-14 09:30:00）"
		})},
	}
}

// TestGolden pins every message kind (goldenCases) in every language
// and channel kind: testdata/<lang>/<case>.golden. Run with -update after
// changing a template, and read the diff line by line.
func TestGolden(t *testing.T) {
	goldenNames := names{"plant-a": "甲燃气站", "gas-01": "一号厨房可燃气体探测器", "qinglong": "青龙河", "wl-01": "1号水位站"}
	for _, lang := range Langs {
		r := newRenderer(t, lang).WithNames(goldenNames)
		for _, gc := range goldenCases() {
			t.Run(lang+"/"+gc.name, func(t *testing.T) {
				var b strings.Builder
				for _, k := range Kinds {
					fmt.Fprintf(&b, "######## %s\n%s", k, formatMessage(render(t, r, k, gc.call)))
				}
				got := b.String()
				path := filepath.Join("testdata", lang, gc.name+".golden")
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
				}
			})
		}
	}
}

// formatMessage lays a Message out for a golden file.
func formatMessage(m Message) string {
	var b strings.Builder
	for _, f := range []struct{ name, value string }{{"title", m.Title}, {"text", m.Text}, {"markdown", m.Markdown}} {
		if f.value != "" {
			fmt.Fprintf(&b, "== %s\n%s\n", f.name, f.value)
		}
	}
	if m.SMSParams != nil {
		b.WriteString("== sms params\n")
		for _, k := range SMSParamNames {
			fmt.Fprintf(&b, "%s=%s\n", k, m.SMSParams[k])
		}
	}
	return b.String()
}

// smsForbidden are characters providers refuse in SMS templates (they read
// 【】 as the signature and reject "special symbols"), checked in every
// rendered SMS text and parameter.
const smsForbidden = "【】[]★※→①『』「」〖〗•²¥ⅠⅡⅢⅣ"

// TestSMSLengthRules renders the SMS of every level and every event, with
// and without an answer link, in both languages, for long ids, long
// Chinese names and short ones, and checks the providers' rules.
func TestSMSLengthRules(t *testing.T) {
	const signature = "【某某市应急管理局】" // 10 characters, within SMSSignatureChars
	if SMSChars(signature) > SMSSignatureChars {
		t.Fatalf("test signature longer than the budget")
	}
	longNames := names{
		"xinghuo-chemical-industrial-park-plant-3": "星火化工园区【三厂】东区液化烃罐区",
		"tank-farm-east-lel-detector-07":           "东罐区二号球罐可燃气体检测报警器[07]",
	}
	shortNames := names{"xinghuo-chemical-industrial-park-plant-3": "甲厂", "tank-farm-east-lel-detector-07": "一号罐"}
	variants := map[string]Names{"ids": nil, "long names": longNames, "short names": shortNames}
	families := append(yujing.BuiltinFamilies().IDs(), "unknown")
	for _, lang := range Langs {
		for vname, n := range variants {
			r := newRenderer(t, lang).WithNames(n)
			brief := 0
			calls := 0
			for _, c := range SampleCalls() {
				for _, f := range families {
					c.Alert.Family = f
					calls++
					m := render(t, r, KindSMS, c)
					where := fmt.Sprintf("%s/%s/%s/%s %s answer=%v", lang, vname, f, c.Alert.Level, c.Event, c.AnswerURL != "")
					if n := SMSChars(m.Text); n > MaxSMSTextChars {
						t.Errorf("%s: %d characters, at most %d: %s", where, n, MaxSMSTextChars, m.Text)
					}
					if s := SMSSegments(signature + m.Text); s > MaxSMSSegments {
						t.Errorf("%s: %d segments with the signature: %s", where, s, m.Text)
					}
					if i := strings.IndexAny(m.Text, smsForbidden); i >= 0 {
						t.Errorf("%s: forbidden character in %q", where, m.Text)
					}
					if strings.ContainsAny(m.Text, "\r\n") {
						t.Errorf("%s: line break in %q", where, m.Text)
					}
					if c.AnswerURL != "" && !strings.Contains(m.Text, " "+c.AnswerURL) {
						t.Errorf("%s: answer link missing or glued to text: %s", where, m.Text)
					}
					if c.AnswerURL != "" && !strings.Contains(m.Text, m.SMSParams[ParamDeadline]) {
						t.Errorf("%s: deadline missing: %s", where, m.Text)
					}
					if c.Event != yujing.EventSummary && !strings.Contains(m.Text, m.SMSParams[ParamLevel]) {
						t.Errorf("%s: level missing: %s", where, m.Text)
					}
					if strings.Contains(m.Text, m.SMSParams[ParamThreshold]) {
						// full form
					} else {
						brief++
					}
					checkSMSParams(t, where, m.SMSParams, c)
				}
			}
			t.Logf("%s/%s: %d of %d texts in brief form", lang, vname, brief, calls)
		}
	}
}

func checkSMSParams(t *testing.T, where string, p map[string]string, c yujing.Call) {
	t.Helper()
	if len(p) != len(SMSParamNames) {
		t.Errorf("%s: %d parameters, want %d: %v", where, len(p), len(SMSParamNames), p)
	}
	for _, k := range SMSParamNames {
		v, ok := p[k]
		if !ok {
			t.Errorf("%s: parameter %s missing", where, k)
			continue
		}
		// Alibaba Cloud refuses these variable names.
		if slices.Contains([]string{"email", "mobile", "id", "nick", "site"}, k) {
			t.Errorf("%s: parameter name %s is reserved by Alibaba Cloud", where, k)
		}
		if k == ParamLink {
			if v != c.AnswerURL {
				t.Errorf("%s: link %q, want %q", where, v, c.AnswerURL)
			}
			continue
		}
		if n := SMSChars(v); n > MaxSMSParamChars {
			t.Errorf("%s: parameter %s=%q has %d characters, at most %d", where, k, v, n, MaxSMSParamChars)
		}
		if strings.ContainsAny(v, smsForbidden+"\r\n") {
			t.Errorf("%s: parameter %s=%q has a forbidden character", where, k, v)
		}
		optional := k == ParamDeadline && c.Deadline.IsZero() || k == ParamFamily && !yujing.BuiltinFamilies().Known(c.Alert.Family) ||
			c.Event == yujing.EventSummary && slices.Contains([]string{ParamFamily, ParamSensor, ParamValue, ParamThreshold}, k) ||
			strings.HasPrefix(c.Alert.Rule, yujing.IssuedRulePrefix) && slices.Contains([]string{ParamSensor, ParamValue, ParamThreshold}, k)
		if v == "" && !optional {
			t.Errorf("%s: parameter %s is empty", where, k)
		}
	}
}

func TestSMSSegments(t *testing.T) {
	cases := []struct {
		text string
		want int
	}{
		{"", 0},
		{strings.Repeat("字", 70), 1},
		{strings.Repeat("a", 70), 1}, // domestic SMS: a letter counts like a character
		{strings.Repeat("字", 71), 2},
		{strings.Repeat("字", 134), 2},
		{strings.Repeat("字", 135), 3},
		{strings.Repeat("字", 69) + "🔴", 2}, // an emoji is two UTF-16 units
	}
	for _, c := range cases {
		if got := SMSSegments(c.text); got != c.want {
			t.Errorf("SMSSegments(%d chars) = %d, want %d", SMSChars(c.text), got, c.want)
		}
	}
	if MaxSMSTextChars != 122 {
		t.Errorf("MaxSMSTextChars = %d, want 2×67−12 = 122", MaxSMSTextChars)
	}
}

func TestShorten(t *testing.T) {
	cases := []struct{ in, want string }{
		{"甲厂", "甲厂"},
		{"【甲厂】", "(甲厂)"},
		{"[A]\nB", "(A) B"},
		{"一二三四五六七八九十一二", "一二三四五六七八九十一二"},
		{"一二三四五六七八九十一二三", "一二三四五六七八九十一…"},
		{"  plant-a  ", "plant-a"},
	}
	for _, c := range cases {
		if got := shorten(c.in, 12); got != c.want {
			t.Errorf("shorten(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestContent checks what each kind says about a call: level, family,
// site, sensor, value, threshold, local time, guidance, answer link and
// deadline.
func TestContent(t *testing.T) {
	zh := newRenderer(t, LangZH).WithNames(plantNames)
	c := gasCall()
	for _, k := range []Kind{KindIM, KindEmail} {
		m := render(t, zh, k, c)
		all := m.Title + "\n" + m.Text + "\n" + m.Markdown
		for _, want := range []string{"燃气红色预警（Ⅰ级）", "甲燃气站", "一号厨房可燃气体探测器", "gas-01", "55.5%LEL", "50%LEL",
			"2025-07-14 09:30（北京时间）", "排查泄漏点", "明火", "疏散", "请立即向上级报告", c.AnswerURL, "2025-07-14 09:45（北京时间）"} {
			if !strings.Contains(all, want) {
				t.Errorf("%s: %q missing from\n%s", k, want, all)
			}
		}
	}
	sms := render(t, zh, KindSMS, c)
	for _, want := range []string{"燃气红色预警", "甲燃气站", "55.5%LEL", "（阈值50%LEL）", "09:30", "排查泄漏点", "09:45前确认 " + c.AnswerURL} {
		if !strings.Contains(sms.Text, want) {
			t.Errorf("sms: %q missing from %s", want, sms.Text)
		}
	}
	voice := render(t, zh, KindVoice, c)
	for _, want := range []string{"燃气红色一级预警", "甲燃气站", "9点45分前确认"} {
		if !strings.Contains(voice.Text, want) {
			t.Errorf("voice: %q missing from %s", want, voice.Text)
		}
	}
	if strings.Contains(voice.Text, "http") {
		t.Errorf("voice reads out a link: %s", voice.Text)
	}

	en := newRenderer(t, LangEN)
	m := render(t, en, KindIM, c)
	for _, want := range []string{"RED (I) gas warning", "plant-a", "gas-01", "55.5%LEL", "threshold 50%LEL", "Find the leak", c.AnswerURL} {
		if !strings.Contains(m.Title+m.Markdown, want) {
			t.Errorf("en im: %q missing from %s\n%s", want, m.Title, m.Markdown)
		}
	}
}

// TestEvents checks the wording of each event and that only events that
// call for action carry guidance.
func TestEvents(t *testing.T) {
	zh := newRenderer(t, LangZH)
	en := newRenderer(t, LangEN)
	cases := []struct {
		event    yujing.Event
		zh, en   string
		guidance bool
	}{
		{yujing.EventRaised, "燃气红色预警（Ⅰ级）", "RED (I) gas warning", true},
		{yujing.EventUpgraded, "燃气预警升级为红色（Ⅰ级）", "Upgraded to RED (I): gas warning", true},
		{yujing.EventDowngraded, "燃气预警降为红色（Ⅰ级）", "Downgraded to RED (I): gas warning", true},
		{yujing.EventReopened, "燃气红色预警（Ⅰ级）再次触发", "RED (I) gas warning raised again", true},
		{yujing.EventResolved, "燃气红色预警（Ⅰ级）已解除", "RED (I) gas warning cleared", true},
		{yujing.EventAcknowledged, "已有人应答", "answered", false},
		{yujing.EventDisposed, "已登记处置", "disposal recorded", false},
		{yujing.EventClosed, "已核查销号", "closed", false},
		{yujing.EventOverdue, "燃气红色预警（Ⅰ级）超时未闭环（督办）", "Overdue: RED (I) gas warning not closed in time", true},
		{yujing.EventSummary, "预警汇总", "Warning summary", false},
	}
	for _, tc := range cases {
		c := gasCall()
		c.Event = tc.event
		mz := render(t, zh, KindIM, c)
		if !strings.HasPrefix(mz.Title, tc.zh) && !strings.Contains(mz.Title, tc.zh) {
			t.Errorf("%s zh title %q, want %q", tc.event, mz.Title, tc.zh)
		}
		if got := strings.Contains(mz.Markdown, "处置要求"); got != tc.guidance {
			t.Errorf("%s zh: guidance shown = %v, want %v", tc.event, got, tc.guidance)
		}
		me := render(t, en, KindIM, c)
		if !strings.Contains(me.Title, tc.en) {
			t.Errorf("%s en title %q, want %q", tc.event, me.Title, tc.en)
		}
	}
	c := gasCall()
	c.Event = yujing.EventResolved
	if m := render(t, zh, KindSMS, c); !strings.Contains(m.Text, "已解除") || !strings.Contains(m.Text, "核查后销号") {
		t.Errorf("resolved sms: %s", m.Text)
	}
}

// TestChineseSaysItInChinese renders every sample call and golden case
// in Chinese and finds no Latin letters but the ids, units and links the
// call carries (and the product's name): no metric id ("lel"), no rule
// name, no time zone abbreviation ("CST"), no English word.
func TestChineseSaysItInChinese(t *testing.T) {
	r := newRenderer(t, LangZH).WithNames(names{"plant-a": "甲燃气站", "gas-01": "一号厨房可燃气体探测器"})
	latin := regexp.MustCompile(`[A-Za-z]+`)
	calls := SampleCalls()
	for _, gc := range goldenCases() {
		calls = append(calls, gc.call)
	}
	for _, c := range calls {
		for _, k := range Kinds {
			m, err := r.Render(k, c)
			if err != nil {
				t.Fatalf("%s %s: %v", k, c.Event, err)
			}
			text := m.Title + "\n" + m.Text + "\n" + m.Markdown
			text = regexp.MustCompile(`https?://\S+`).ReplaceAllString(text, "")
			for _, ok := range []string{c.ID, c.Alert.Rule, c.Alert.Site, c.Alert.Sensor, c.Alert.Unit, "yujing",
				shorten(c.Alert.Site, MaxSMSParamChars), shorten(c.Alert.Sensor, MaxSMSParamChars)} {
				if ok != "" {
					text = strings.ReplaceAll(text, ok, "")
				}
			}
			if w := latin.FindAllString(text, -1); len(w) > 0 {
				t.Errorf("%s %s %s: Latin words %q in\n%s", c.Alert.Level, c.Event, k, w, text)
			}
		}
	}
}

// TestLevelsAndFamilies checks the colour, grade and family words and the
// family guidance.
func TestLevelsAndFamilies(t *testing.T) {
	zh := newRenderer(t, LangZH)
	for l, want := range map[yujing.Level]string{yujing.Blue: "蓝色预警（Ⅳ级）", yujing.Yellow: "黄色预警（Ⅲ级）",
		yujing.Orange: "橙色预警（Ⅱ级）", yujing.Red: "红色预警（Ⅰ级）"} {
		c := gasCall()
		c.Alert.Level = l
		if m := render(t, zh, KindIM, c); !strings.Contains(m.Title, want) {
			t.Errorf("%s: title %q, want %q", l, m.Title, want)
		}
	}
	for f, want := range map[yujing.Family][2]string{
		yujing.FamilyGas: {"燃气", "泄漏"}, yujing.FamilyHazard: {"危化品重大危险源", "紧急停车"},
		yujing.FamilyDust: {"粉尘涉爆", "积尘"}, yujing.FamilyWeather: {"气象", "转移"},
		yujing.FamilyFlood: {"防汛", "低洼"}, yujing.FamilyPower: {"电力监测", "停产"},
		yujing.FamilyElectrical: {"电气火灾", "切断电源"}, "unknown": {"红色预警", "应急预案"},
	} {
		c := gasCall()
		c.Alert.Family = f
		m := render(t, zh, KindEmail, c)
		if !strings.HasPrefix(m.Title, want[0]) || !strings.Contains(m.Text, want[1]) {
			t.Errorf("%s: subject %q / body without %q:\n%s", f, m.Title, want[1], m.Text)
		}
	}
}

// TestTimeZone shows times in the renderer's zone.
func TestTimeZone(t *testing.T) {
	r, err := New(LangZH, time.UTC, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := gasCall()
	m := render(t, r, KindEmail, c)
	if !strings.Contains(m.Text, "2025-07-14 01:30（UTC）") || !strings.Contains(m.Text, "01:45（UTC）前") {
		t.Errorf("times not in UTC:\n%s", m.Text)
	}
	// Every zone is said by its offset; UTC+8 is 北京时间 in Chinese.
	for _, tc := range []struct {
		loc    *time.Location
		zh, en string
	}{
		{DefaultLocation, "2025-07-14 09:30（北京时间）", "2025-07-14 09:30 (UTC+8)"},
		{time.FixedZone("JST", 9*3600), "2025-07-14 10:30（UTC+9）", "2025-07-14 10:30 (UTC+9)"},
		{time.FixedZone("IST", 5*3600+1800), "2025-07-14 07:00（UTC+5:30）", "2025-07-14 07:00 (UTC+5:30)"},
		{time.FixedZone("NST", -(3*3600 + 1800)), "2025-07-13 22:00（UTC-3:30）", "2025-07-13 22:00 (UTC-3:30)"},
	} {
		for lang, want := range map[string]string{LangZH: tc.zh, LangEN: tc.en} {
			r, err := New(lang, tc.loc, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Data(gasCall()).Time; got != want {
				t.Errorf("%s in %s: time %q, want %q", lang, tc.loc, got, want)
			}
		}
	}
	// A deadline on the next day shows its date in the SMS.
	c.Deadline = start.Add(15 * time.Hour)
	if m := render(t, newRenderer(t, LangZH), KindSMS, c); !strings.Contains(m.Text, "07-15 00:30前确认") {
		t.Errorf("next-day deadline: %s", m.Text)
	}
}

func TestNoAnswerExpected(t *testing.T) {
	c := gasCall()
	c.AnswerURL, c.Deadline = "", time.Time{}
	for _, lang := range Langs {
		r := newRenderer(t, lang)
		for _, k := range Kinds {
			m := render(t, r, k, c)
			all := m.Text + m.Markdown
			if strings.Contains(all, "确认") || strings.Contains(all, "onfirm") || strings.Contains(all, "Answer by") {
				t.Errorf("%s/%s asks for an answer without a link:\n%s", lang, k, all)
			}
		}
	}
}

// TestMarkdownEscape keeps names from injecting markdown or IM tags.
func TestMarkdownEscape(t *testing.T) {
	r := newRenderer(t, LangZH).WithNames(names{"plant-a": "甲厂 *粗* [链接](http://x) <at id=all></at>\n### 标题"})
	m := render(t, r, KindIM, gasCall())
	for _, bad := range []string{"<at", "[链接](", "*粗*", "\n### 标题"} {
		if strings.Contains(m.Markdown, bad) {
			t.Errorf("markdown carries %q unescaped:\n%s", bad, m.Markdown)
		}
	}
	if !strings.Contains(m.Markdown, "甲厂 ＊粗＊ ［链接］(http://x) ＜at id=all＞＜/at＞ ### 标题") {
		t.Errorf("escaped name not found:\n%s", m.Markdown)
	}
}

func TestSMSTooLong(t *testing.T) {
	c := gasCall()
	c.AnswerURL = "https://yj.example.cn/answer?token=" + strings.Repeat("x", 120)
	m, err := newRenderer(t, LangZH).Render(KindSMS, c)
	if !errors.Is(err, ErrSMSTooLong) {
		t.Fatalf("err = %v, want ErrSMSTooLong", err)
	}
	if m.SMSParams[ParamLink] != c.AnswerURL || m.SMSParams[ParamLevel] != "红色" {
		t.Errorf("params not filled with the error: %v", m.SMSParams)
	}
	if !strings.Contains(err.Error(), `template "sms"`) {
		t.Errorf("error %q does not name the template", err)
	}
}

func TestOverrides(t *testing.T) {
	r, err := New(LangZH, nil, map[string]string{
		"sms":      `{{template "sms.headline" .}}：{{short .Site}}，{{.Value}}。请登录平台处置。`,
		"guidance": `unused`, // not a template: error below
	})
	if err == nil || !strings.Contains(err.Error(), `template "guidance": no such template (known: `) {
		t.Fatalf("New = %v, %v; want an unknown-template error", r, err)
	}

	r, err = New(LangZH, nil, map[string]string{
		"sms":      `{{template "sms.headline" .}}：{{short .Site}}，{{.Value}}。请登录平台处置。`,
		"headline": `【{{.Colour}}】{{.Family}}告警`,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := gasCall()
	if m := render(t, r, KindSMS, c); m.Text != "燃气红色预警：plant-a，55.5%LEL。请登录平台处置。" {
		t.Errorf("overridden sms: %q", m.Text)
	}
	if m := render(t, r, KindIM, c); !strings.Contains(m.Title, "【红色】燃气告警") {
		t.Errorf("overridden headline not used by im.title: %q", m.Title)
	}
	// Other templates are the built-in ones.
	if m := render(t, r, KindVoice, c); !strings.Contains(m.Text, "燃气红色一级预警") {
		t.Errorf("voice: %s", m.Text)
	}

	// All problems at once, each naming its template.
	_, err = New(LangEN, nil, map[string]string{
		"sms":           `{{.Colour`,                                   // parse error
		"email.subject": `{{.NoSuchField}}`,                            // execution error
		"voice":         `{{if eq .Event "raised"}}{{.Colour}}{{end}}`, // empty for other events
	})
	if err == nil {
		t.Fatal("New accepted broken templates")
	}
	for _, want := range []string{`template "sms": template: sms:1: unclosed action`,
		`template "email.subject": template: email.subject:1:2: executing "email.subject" at <.NoSuchField>: can't evaluate field NoSuchField`,
		`template "voice": renders nothing for a blue upgraded call`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}

	// An SMS that cannot fit two segments is refused at start.
	_, err = New(LangZH, nil, map[string]string{"sms": `{{template "sms.headline" .}}` + strings.Repeat("请", 120)})
	if err == nil || !strings.Contains(err.Error(), `template "sms": sms text longer than two segments for a blue raised call with a 40-character answer link`) {
		t.Errorf("long sms: %v", err)
	}
}

func TestNew(t *testing.T) {
	if _, err := New("fr", nil, nil); err == nil || !strings.Contains(err.Error(), `language "fr" is not zh-CN or en`) {
		t.Errorf("New(fr): %v", err)
	}
	r, err := New("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Lang() != LangZH || r.Location() != DefaultLocation {
		t.Errorf("defaults: %s %v", r.Lang(), r.Location())
	}
	if _, err := r.Render("fax", gasCall()); err == nil {
		t.Error("Render accepted an unknown kind")
	}
	en, err := r.WithNames(plantNames).WithLang(LangEN)
	if err != nil {
		t.Fatal(err)
	}
	if m := render(t, en, KindIM, gasCall()); !strings.Contains(m.Title, "RED (I) gas warning 甲燃气站") {
		t.Errorf("WithLang kept neither language nor names: %q", m.Title)
	}
	if same, _ := r.WithLang(LangZH); same != r {
		t.Error("WithLang(own language) made a new renderer")
	}
}

// TestSampleConfig keeps sample.yaml valid: strict decoding, FromConfig,
// and the replacement SMS in use.
func TestSampleConfig(t *testing.T) {
	data, err := os.ReadFile("sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg Config
	if err := yamlconf.Decode("sample.yaml", data, &cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := time.LoadLocation(cfg.TimeZone); err != nil {
		t.Skipf("no zone database here: %v", err)
	}
	r, err := FromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := render(t, r, KindSMS, gasCall())
	if !strings.HasSuffix(m.Text, "值班室0571-12345678") || !strings.Contains(m.Text, "09:45前确认 https://") {
		t.Errorf("sample sms: %q", m.Text)
	}
	if _, err := FromConfig(Config{Lang: "de", TimeZone: "Mars/Olympus"}); err == nil ||
		!strings.Contains(err.Error(), `lang "de"`) || !strings.Contains(err.Error(), `time_zone "Mars/Olympus"`) {
		t.Errorf("FromConfig(bad): %v", err)
	}
}

// familyNames names the families a configuration declares.
type familyNames struct {
	names
	zh, en map[yujing.Family]string
}

func (n familyNames) FamilyName(f yujing.Family, lang string) string {
	if lang == LangEN {
		return n.en[f]
	}
	return n.zh[f]
}

// TestConfiguredFamilyName: a family the configuration declares is named
// in every kind of message (the SMS family parameter too), in the
// renderer's language; a family nobody names keeps the built-in wording.
func TestConfiguredFamilyName(t *testing.T) {
	n := familyNames{names: plantNames,
		zh: map[yujing.Family]string{"smoke": "智能烟感"}, en: map[yujing.Family]string{"smoke": "smoke alarm"}}
	for _, tc := range []struct {
		lang   string
		family yujing.Family
		want   string
	}{
		{LangZH, "smoke", "智能烟感"},
		{LangEN, "smoke", "smoke alarm"},
		{LangZH, yujing.FamilyGas, "燃气"},
		{LangEN, yujing.FamilyGas, "gas"},
	} {
		r := newRenderer(t, tc.lang).WithNames(n)
		c := SampleCalls()[0]
		c.Alert.Family = tc.family
		if d := r.Data(c); d.Family != tc.want || d.FamilyShort != tc.want {
			t.Errorf("%s %s: Family %q, FamilyShort %q, want %q", tc.lang, tc.family, d.Family, d.FamilyShort, tc.want)
		}
		for _, k := range Kinds {
			m := render(t, r, k, c)
			text := m.Text + m.Title + m.Markdown
			for _, v := range m.SMSParams {
				text += v
			}
			if !strings.Contains(text, tc.want) {
				t.Errorf("%s %s %s: %+v does not name the family %q", tc.lang, tc.family, k, m, tc.want)
			}
		}
	}
}
