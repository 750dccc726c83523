package message

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"yujing"
)

// The note of a warning: the sentence the rule engine writes into
// Alert.Message with every change (package alerting calls Note), which the
// channels' messages quote (说明) and a plain channel sends as it is; the
// note of an overdue warning (OverdueNote) and the scheduled summary
// (SummaryText).

// NoteRule is what a note says of the rule behind a warning.
type NoteRule struct {
	// Kind is the rule's kind as package alerting names it: threshold,
	// rate, tangent, offline, stuck, fault, event or composite.
	Kind        string
	Description string
	RatePer     time.Duration // a rate rule's unit of time (0: a minute)
	// Above, Below and Clear are the rule's tiers; Hysteresis its band.
	Above, Below, Clear Tiers
	Hysteresis          float64
	// WhenStatus is set when the rule applies only in some production
	// statuses; Status is the site's now, and Applies whether the rule
	// applies in it.
	WhenStatus bool
	Status     yujing.ProductionStatus
	Applies    bool
}

// Tiers is one value per level, where Set.
type Tiers struct {
	Value [yujing.Red + 1]float64
	Set   [yujing.Red + 1]bool
}

// NoteFacts is what the rule engine knows of a change beyond the alert.
type NoteFacts struct {
	// Site, Sensor and Metric are as the note names them: the site's name
	// (else its id), the sensor's "name(id)" (else its id), the metric's
	// display name (else the rule's description, else the metric's id).
	Site, Sensor, Metric string
	Rule                 NoteRule
	Location             *time.Location // the time of the change is written in it
}

// Note writes a change of a warning in Chinese, as duty rooms read it:
// level, site and sensor by name, what the rule watches, and the value
// against the threshold — every comparison a true statement (a level held
// by its hysteresis says so, a downgrade names the threshold the value
// fell under).
func Note(a *yujing.Alert, ev yujing.Event, f NoteFacts) string {
	r := &f.Rule
	site, sensor, metric := f.Site, f.Sensor, f.Metric
	val, th := Number(a.Value)+unitSuffix(a.Unit), Number(a.Threshold)+unitSuffix(a.Unit)
	var b strings.Builder
	fmt.Fprintf(&b, "【%s预警】%s %s", a.Level.Chinese(), site, sensor)
	if d := r.Description; d != "" && d != metric {
		b.WriteString(" " + d)
	}
	resolved := ev == yujing.EventResolved
	if resolved && r.WhenStatus && !r.Applies {
		// Resolved because the rule no longer applies, not because the
		// value came back: say so.
		fmt.Fprintf(&b, "：该单位生产状态已变更为%s，本规则不再适用，预警解除（%s）", r.Status.Chinese(), a.UpdatedAt.In(f.Location).Format("2006-01-02 15:04:05"))
		return b.String()
	}
	switch r.Kind {
	case "offline":
		if resolved {
			b.WriteString("：已恢复上报")
		} else {
			b.WriteString("：传感器离线，超过预期上报周期未收到数据")
		}
	case "stuck":
		if resolved {
			b.WriteString("：数值已恢复变化")
		} else {
			fmt.Fprintf(&b, "：%s %s 长时间不变，疑似设备故障", metric, val)
		}
	case "fault":
		if resolved {
			b.WriteString("：读数已恢复正常范围")
		} else {
			fmt.Fprintf(&b, "：%s读数 %s 超出量程，疑似设备故障", metric, val)
		}
	case "event":
		if resolved {
			fmt.Fprintf(&b, "：%s，设备上报已恢复正常（%s=%s）", metric, a.Metric, Number(a.Value))
		} else {
			fmt.Fprintf(&b, "：%s，设备上报报警状态（%s=%s）", metric, a.Metric, Number(a.Value))
		}
	case "composite":
		if resolved {
			b.WriteString("：关联条件已不再同时满足")
		} else {
			fmt.Fprintf(&b, "：%s 个关联条件同时满足（需 %s 个）", Number(a.Value), Number(a.Threshold))
		}
	default:
		per := ""
		switch r.Kind {
		case "rate":
			metric += "变化速率"
			per = "/" + ratePer(r.RatePer)
			val, th = val+per, th+per
		case "tangent":
			metric += "改进切线角"
		}
		b.WriteString("：")
		switch ev {
		case yujing.EventUpgraded:
			b.WriteString("预警升级，")
		case yujing.EventDowngraded:
			b.WriteString("预警降级，")
		case yujing.EventReopened:
			b.WriteString("再次触发，")
		}
		fmt.Fprintf(&b, "%s %s，", metric, val)
		b.WriteString(comparison(a, r, ev, th, func(v float64) string { return Number(v) + unitSuffix(a.Unit) + per }))
	}
	if r.WhenStatus {
		fmt.Fprintf(&b, "；该单位生产状态：%s", r.Status.Chinese())
	}
	fmt.Fprintf(&b, "（%s）", a.UpdatedAt.In(f.Location).Format("2006-01-02 15:04:05"))
	return b.String()
}

// OverdueNote is the note of a warning of level l not closed within limit
// (督办).
func OverdueNote(limit time.Duration, l yujing.Level) string {
	return fmt.Sprintf("未在%s内闭环（%s预警闭环时限），转入督办", DurationZH(limit), Colour(l))
}

// comparison says how the alert's value stands to the thresholds of its
// level for event ev, truthfully: a raise reaches its threshold; a level
// held by its hysteresis or clear value (possible after a downgrade) is
// under its threshold but not yet past its clear value; a downgrade is
// under the threshold of the next level up; a resolution is past the
// level's threshold back. Below-thresholds (low level, low pressure) turn
// every statement round. th is the formatted threshold, q formats others.
func comparison(a *yujing.Alert, r *NoteRule, ev yujing.Event, th string, q func(float64) string) string {
	l := a.Level
	below := r.Below.Set[l] && r.Below.Value[l] == a.Threshold && !(r.Above.Set[l] && r.Above.Value[l] == a.Threshold)
	tiers, dir, under := &r.Above, 1.0, "低于"
	if below {
		tiers, dir, under = &r.Below, -1.0, "高于"
	}
	colour := Colour(l)
	if ev == yujing.EventResolved {
		if below {
			return fmt.Sprintf("已回升到%s阈值 %s 以上，预警解除", colour, th)
		}
		return fmt.Sprintf("已回落到%s阈值 %s 以下，预警解除", colour, th)
	}
	var parts []string
	if ev == yujing.EventDowngraded {
		for up := l + 1; up <= yujing.Red; up++ {
			if tiers.Set[up] {
				parts = append(parts, fmt.Sprintf("已%s%s阈值 %s", under, Colour(up), q(tiers.Value[up])))
				break
			}
		}
	}
	d := dir * (a.Value - a.Threshold)
	switch {
	case d >= 0:
		word := "达到"
		switch {
		case below && d > 0:
			word = "低于"
		case below:
			word = "降至"
		}
		if ev == yujing.EventDowngraded {
			word = "仍" + word
		}
		parts = append(parts, fmt.Sprintf("%s%s阈值 %s", word, colour, th))
	default: // held by the hysteresis or the clear value
		clear := a.Threshold - dir*r.Hysteresis
		if r.Clear.Set[l] {
			clear = r.Clear.Value[l]
		}
		if below {
			parts = append(parts, fmt.Sprintf("尚未回升到%s解除值 %s 以上", colour, q(clear)))
		} else {
			parts = append(parts, fmt.Sprintf("尚未回落到%s解除值 %s 以下", colour, q(clear)))
		}
	}
	return strings.Join(parts, "，")
}

// Number formats a value with at most three decimals and no trailing
// zeros (a computed 39.800000000000004 is 39.8).
func Number(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	r := math.Round(v*1000) / 1000
	if r == 0 {
		r = 0 // no "-0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// DurationZH writes d in Chinese: 4小时, 30分钟, 1小时30分钟, 2天, 20秒.
func DurationZH(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d秒", int(d.Round(time.Second)/time.Second))
	}
	d = d.Round(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	var b strings.Builder
	if days > 0 {
		fmt.Fprintf(&b, "%d天", days)
	}
	if hours > 0 {
		fmt.Fprintf(&b, "%d小时", hours)
	}
	if mins > 0 || b.Len() == 0 {
		fmt.Fprintf(&b, "%d分钟", mins)
	}
	return b.String()
}

// ratePer is the unit of time a rate is per: 分钟 (the default), 1小时.
func ratePer(per time.Duration) string {
	if per <= 0 || per == time.Minute {
		return "分钟"
	}
	return DurationZH(per)
}

// unitSuffix is a unit after a number: " %LEL", "°" (no space).
func unitSuffix(u string) string {
	switch u {
	case "":
		return ""
	case "°":
		return u // 82.3°
	}
	return " " + u
}

// Colour is a level's colour in Chinese, as a warning names it: 红色,
// 橙色, 黄色, 蓝色; "" for no level.
func Colour(l yujing.Level) string { return zhCN.colour[levelIndex(l)] }

// SummaryFacts is what a scheduled summary reports (alerting/escalate
// counts it).
type SummaryFacts struct {
	Name     string    // the summary's name: 每日预警汇总
	From, To time.Time // the period it covers
	Location *time.Location
	Raised   int                 // warnings raised in the period
	ByLevel  [yujing.Red + 1]int // of those, by level
	Open     int                 // warnings not closed, of any time
	// Unanswered and Overdue are the open warnings nobody answered and
	// those under supervision (督办).
	Unanswered, Overdue int
	Sites               []SiteCount // the sites with the most warnings raised, most first (at most 3)
}

// SiteCount is a site, by name, and its warnings.
type SiteCount struct {
	Name string
	N    int
}

// SummaryText writes a summary in Chinese, as a leader reads it on a phone.
func SummaryText(f SummaryFacts) string {
	var b strings.Builder
	fmt.Fprintf(&b, "【%s】%s 至 %s：新增预警 %d 条", f.Name, f.From.In(f.Location).Format("01-02 15:04"), f.To.In(f.Location).Format("01-02 15:04"), f.Raised)
	if f.Raised > 0 {
		var parts []string
		for l := yujing.Red; l >= yujing.Blue; l-- {
			if f.ByLevel[l] > 0 {
				parts = append(parts, fmt.Sprintf("%s%d", strings.TrimSuffix(Colour(l), "色"), f.ByLevel[l]))
			}
		}
		fmt.Fprintf(&b, "（%s）", strings.Join(parts, "、"))
	}
	fmt.Fprintf(&b, "；未闭环 %d 条，其中未响应 %d 条、超时督办 %d 条", f.Open, f.Unanswered, f.Overdue)
	if len(f.Sites) > 0 {
		var names []string
		for _, x := range f.Sites {
			names = append(names, fmt.Sprintf("%s %d 条", x.Name, x.N))
		}
		fmt.Fprintf(&b, "；预警最多：%s", strings.Join(names, "，"))
	}
	b.WriteString("。")
	return b.String()
}
