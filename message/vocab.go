package message

import (
	"fmt"
	"strings"
	"time"

	"yujing"
)

// guide is what to do: a sentence or two for IM, e-mail and voice, and a
// few words for SMS.
type guide struct{ full, short string }

// vocab is the wording a language gives to levels, families and events.
// Templates arrange these pieces; Go picks them so that every template
// sees the same words.
type vocab struct {
	colour      [5]string // by yujing.Level
	grade       [5]string
	gradeSpoken [5]string
	emoji       [5]string
	family      map[yujing.Family]string
	familyShort map[yujing.Family]string // for SMS
	guidance    map[yujing.Family]guide
	general     guide     // unknown family
	report      [5]string // appended to the full guidance, by level
	downgraded  guide
	resolved    guide
	overdue     guide
	eventWord   map[yujing.Event]string // the SMS parameter "event"
	spoken      func(t, ref time.Time) string
	zh          bool              // names from yujing.MetricName in Chinese, else English
	units       map[string]string // a unit as text-to-speech should say it
	summary     string            // a summary without a name
	// escalation says why a call of call-and-answer is made (Data.Escalation).
	escalation func(step, round int, reminder bool) string
	duration   func(d time.Duration) string
	stamp      func(t time.Time) string // date, time and zone
}

// metricName is the display name of a metric, or its id.
func (v *vocab) metricName(f yujing.Family, metric string) string {
	zh, en := yujing.MetricName(f, metric)
	if v.zh && zh != "" {
		return zh
	}
	if !v.zh && en != "" {
		return en
	}
	return metric
}

// spokenUnit is unit in words for text-to-speech, when it has them.
func (v *vocab) spokenUnit(unit string) string {
	if s, ok := v.units[strings.TrimSpace(unit)]; ok {
		return s
	}
	return unit
}

var zhCN = vocab{
	colour:      [5]string{"", "蓝色", "黄色", "橙色", "红色"},
	grade:       [5]string{"", "Ⅳ级", "Ⅲ级", "Ⅱ级", "Ⅰ级"},
	gradeSpoken: [5]string{"", "四级", "三级", "二级", "一级"},
	emoji:       [5]string{"", "🔵", "🟡", "🟠", "🔴"},
	family: map[yujing.Family]string{
		yujing.FamilyGas:        "燃气",
		yujing.FamilyHazard:     "危化品重大危险源",
		yujing.FamilyDust:       "粉尘涉爆",
		yujing.FamilyWeather:    "气象",
		yujing.FamilyFlood:      "防汛",
		yujing.FamilyPower:      "电力监测",
		yujing.FamilyElectrical: "电气火灾",
	},
	familyShort: map[yujing.Family]string{
		yujing.FamilyGas: "燃气", yujing.FamilyHazard: "危化品", yujing.FamilyDust: "粉尘涉爆",
		yujing.FamilyWeather: "气象", yujing.FamilyFlood: "防汛", yujing.FamilyPower: "电力",
		yujing.FamilyElectrical: "电气火灾",
	},
	guidance: map[yujing.Family]guide{
		yujing.FamilyGas: {
			"立即组织排查泄漏点，关闭气源阀门，严禁明火和操作电器开关，加强通风，必要时疏散人员。",
			"排查泄漏点，禁止明火，必要时疏散"},
		yujing.FamilyHazard: {
			"立即核实储罐和装置运行参数，按应急预案采取降温、降压、倒罐或紧急停车等措施，必要时疏散周边人员。",
			"核实工况，按预案处置，必要时停车疏散"},
		yujing.FamilyDust: {
			"立即停机检查除尘系统、温度和火花探测情况，清理积尘，杜绝一切火源，必要时疏散人员。",
			"停机检查，清理积尘，杜绝火源"},
		yujing.FamilyWeather: {
			"密切关注天气变化，落实防御措施，停止户外和高处作业，危险区域人员及时转移避险。",
			"落实防御措施，危险区域人员转移"},
		yujing.FamilyFlood: {
			"加强巡查值守，做好排涝和抢险准备，果断转移低洼和危险区域群众，必要时封闭道路、涵洞。",
			"加强巡查，转移低洼危险区域群众"},
		yujing.FamilyPower: {
			"核查企业用电异常原因，确认是否在停产整顿期间违规生产，必要时安排现场检查。",
			"核查用电异常，必要时现场检查"},
		yujing.FamilyElectrical: {
			"立即排查线路和用电设备，必要时切断电源，防止引发电气火灾。",
			"排查线路设备，必要时断电"},
	},
	general:    guide{"立即核实现场情况，按应急预案处置。", "核实现场，按预案处置"},
	report:     [5]string{"", "", "", "请及时向上级报告。", "请立即向上级报告。"},
	downgraded: guide{"继续加强监测，按应急预案处置。", "继续监测，按预案处置"},
	resolved:   guide{"请到现场核查，确认安全后在系统中核查销号。", "请核查后销号"},
	overdue:    guide{"请督促责任单位立即处置，现场核查后在系统中闭环销号。", "请督促处置并闭环"},
	eventWord: map[yujing.Event]string{
		yujing.EventRaised: "发布", yujing.EventUpgraded: "升级", yujing.EventDowngraded: "降级",
		yujing.EventReopened: "再次触发", yujing.EventResolved: "解除", yujing.EventAcknowledged: "应答",
		yujing.EventDisposed: "处置", yujing.EventClosed: "销号", yujing.EventOverdue: "督办",
		yujing.EventSummary: "汇总",
	},
	zh: true,
	units: map[string]string{"%LEL": "%爆炸下限", "%OEL": "%职业接触限值", "mm": "毫米", "m": "米", "cm": "厘米",
		"MPa": "兆帕", "kPa": "千帕", "Pa": "帕", "℃": "摄氏度", "°C": "摄氏度", "m/s": "米每秒", "mA": "毫安",
		"A": "安", "kW": "千瓦", "%": "%", "mg/m³": "毫克每立方米", "mm/h": "毫米每小时"},
	summary: "预警汇总",
	stamp: func(t time.Time) string {
		zone := utcOffset(t)
		if zone == "UTC+8" {
			zone = "北京时间"
		}
		return t.Format("2006-01-02 15:04") + "（" + zone + "）"
	},
	escalation: func(step, round int, reminder bool) string {
		switch {
		case reminder:
			return "您尚未确认收到此预警，特再次提醒。"
		case step > 1 && round > 1:
			return fmt.Sprintf("前一步责任人未在时限内应答，叫应已升至第%d轮第%d步。", round, step)
		case step > 1:
			return fmt.Sprintf("前一步责任人未在时限内应答，叫应已升至第%d步。", step)
		case round > 1:
			return fmt.Sprintf("整条责任链在时限内均无人应答，现开始第%d轮叫应。", round)
		}
		return ""
	},
	duration: func(d time.Duration) string {
		d = d.Round(time.Minute)
		days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
		s := ""
		if days > 0 {
			s += fmt.Sprintf("%d天", days)
		}
		if hours > 0 {
			s += fmt.Sprintf("%d小时", hours)
		}
		if mins > 0 || s == "" {
			s += fmt.Sprintf("%d分钟", mins)
		}
		return s
	},
	spoken: func(t, ref time.Time) string {
		s := fmt.Sprintf("%d点%02d分", t.Hour(), t.Minute())
		if t.Minute() == 0 {
			s = fmt.Sprintf("%d点整", t.Hour())
		}
		if !sameDay(t, ref) {
			s = fmt.Sprintf("%d月%d日", t.Month(), t.Day()) + s
		}
		return s
	},
}

var english = vocab{
	colour:      [5]string{"", "BLUE", "YELLOW", "ORANGE", "RED"},
	grade:       [5]string{"", "IV", "III", "II", "I"},
	gradeSpoken: [5]string{"", "level four", "level three", "level two", "level one"},
	emoji:       [5]string{"", "🔵", "🟡", "🟠", "🔴"},
	family: map[yujing.Family]string{
		yujing.FamilyGas:        "gas",
		yujing.FamilyHazard:     "major hazard source",
		yujing.FamilyDust:       "dust explosion",
		yujing.FamilyWeather:    "weather",
		yujing.FamilyFlood:      "flood",
		yujing.FamilyPower:      "power monitoring",
		yujing.FamilyElectrical: "electrical fire",
	},
	familyShort: map[yujing.Family]string{
		yujing.FamilyGas: "gas", yujing.FamilyHazard: "hazard", yujing.FamilyDust: "dust",
		yujing.FamilyWeather: "weather", yujing.FamilyFlood: "flood", yujing.FamilyPower: "power",
		yujing.FamilyElectrical: "electrical",
	},
	guidance: map[yujing.Family]guide{
		yujing.FamilyGas: {
			"Find the leak at once, shut off the gas supply, allow no open flame and no switching of electrical equipment, ventilate, evacuate if needed.",
			"Find the leak, no flames"},
		yujing.FamilyHazard: {
			"Check tank and process readings at once and act on the emergency plan (cool, depressurise, transfer or shut down); evacuate the surroundings if needed.",
			"Check the plant, act on the plan"},
		yujing.FamilyDust: {
			"Stop the line, check the dust collector, temperatures and spark detection, remove dust deposits and every ignition source; evacuate if needed.",
			"Stop the line, no ignition"},
		yujing.FamilyWeather: {
			"Watch the weather, put protective measures in place, stop outdoor work and work at height, move people out of danger areas.",
			"Protect, move people to safety"},
		yujing.FamilyFlood: {
			"Patrol and keep watch, prepare drainage and rescue, move people out of low-lying and danger areas, close roads and underpasses if needed.",
			"Patrol, evacuate low areas"},
		yujing.FamilyPower: {
			"Find out why the site draws power and whether a suspended site is operating; inspect on site if needed.",
			"Check the power draw"},
		yujing.FamilyElectrical: {
			"Check wiring and equipment at once and cut the power if needed to prevent an electrical fire.",
			"Check wiring, cut power if needed"},
	},
	general:    guide{"Verify the situation on site at once and act on the emergency plan.", "Verify on site"},
	report:     [5]string{"", "", "", " Report it to your superior.", " Report it to your superior at once."},
	downgraded: guide{"Keep monitoring and act on the emergency plan.", "Keep monitoring"},
	resolved:   guide{"Verify on site that it is safe, then close the warning in the system.", "Verify, then close"},
	overdue:    guide{"See that the responsible unit deals with it now; verify on site, then close the warning in the system.", "Follow up, then close"},
	eventWord: map[yujing.Event]string{
		yujing.EventRaised: "raised", yujing.EventUpgraded: "upgraded", yujing.EventDowngraded: "downgraded",
		yujing.EventReopened: "reopened", yujing.EventResolved: "cleared", yujing.EventAcknowledged: "answered",
		yujing.EventDisposed: "disposed", yujing.EventClosed: "closed", yujing.EventOverdue: "overdue",
		yujing.EventSummary: "summary",
	},
	summary: "Warning summary",
	stamp:   func(t time.Time) string { return t.Format("2006-01-02 15:04") + " (" + utcOffset(t) + ")" },
	escalation: func(step, round int, reminder bool) string {
		switch {
		case reminder:
			return "You have not confirmed this warning yet: a reminder."
		case step > 1 && round > 1:
			return fmt.Sprintf("Nobody at the previous step answered in time: call-and-answer is at step %d of round %d.", step, round)
		case step > 1:
			return fmt.Sprintf("Nobody at the previous step answered in time: call-and-answer is at step %d.", step)
		case round > 1:
			return fmt.Sprintf("Nobody on the whole chain answered in time: call-and-answer starts round %d.", round)
		}
		return ""
	},
	duration: func(d time.Duration) string {
		d = d.Round(time.Minute)
		days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
		var parts []string
		if days > 0 {
			parts = append(parts, fmt.Sprintf("%d d", days))
		}
		if hours > 0 {
			parts = append(parts, fmt.Sprintf("%d h", hours))
		}
		if mins > 0 || len(parts) == 0 {
			parts = append(parts, fmt.Sprintf("%d min", mins))
		}
		return strings.Join(parts, " ")
	},
	spoken: func(t, ref time.Time) string {
		if sameDay(t, ref) {
			return t.Format("15:04")
		}
		return t.Format("January 2, 15:04")
	},
}

// guidanceFor returns what to do after event for a warning of family at
// level. Events that need no action (acknowledged, disposed, closed, a
// summary) have none.
func (v *vocab) guidanceFor(f yujing.Family, l yujing.Level, e yujing.Event) guide {
	switch e {
	case yujing.EventRaised, yujing.EventUpgraded, yujing.EventReopened:
		g, ok := v.guidance[f]
		if !ok {
			g = v.general
		}
		if l.Valid() {
			g.full += v.report[l]
		}
		return g
	case yujing.EventDowngraded:
		return v.downgraded
	case yujing.EventResolved:
		return v.resolved
	case yujing.EventOverdue:
		return v.overdue
	}
	return guide{}
}

// levelIndex maps a level to the vocabulary tables; invalid levels give 0
// (empty words).
func levelIndex(l yujing.Level) int {
	if !l.Valid() {
		return 0
	}
	return int(l)
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}
