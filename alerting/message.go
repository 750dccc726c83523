package alerting

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"yujing"
)

// message writes the alert in Chinese, as duty rooms read it: level, site
// and sensor by name, what the rule watches, and the value against the
// threshold — every comparison a true statement (a level held by its
// hysteresis says so, a downgrade names the threshold the value fell
// under).
func (e *Engine) message(a *yujing.Alert, r *Rule, ev yujing.Event) string {
	site := a.Site
	if s, ok := e.cat.Site(a.Site); ok && s.Name != "" {
		site = s.Name
	}
	sensor := a.Sensor
	if s, ok := e.cat.ByID(a.Sensor); ok && s.Name != "" {
		sensor = s.Name + "(" + s.ID + ")"
	}
	metric, _ := yujing.MetricName(a.Family, a.Metric)
	if metric == "" {
		metric = r.Description
	}
	if metric == "" {
		metric = a.Metric
	}
	val, th := number(a.Value)+unitSuffix(a.Unit), number(a.Threshold)+unitSuffix(a.Unit)
	var b strings.Builder
	fmt.Fprintf(&b, "【%s预警】%s %s", a.Level.Chinese(), site, sensor)
	if d := r.Description; d != "" && d != metric {
		b.WriteString(" " + d)
	}
	resolved := ev == yujing.EventResolved
	if status := e.siteStatus(a.Site); resolved && len(r.WhenStatus) > 0 && !slices.Contains(r.WhenStatus, status) {
		// Resolved because the rule no longer applies, not because the
		// value came back: say so.
		fmt.Fprintf(&b, "：该单位生产状态已变更为%s，本规则不再适用，预警解除（%s）", status.Chinese(), a.UpdatedAt.In(e.loc).Format("2006-01-02 15:04:05"))
		return b.String()
	}
	switch r.kind() {
	case KindOffline:
		if resolved {
			b.WriteString("：已恢复上报")
		} else {
			b.WriteString("：传感器离线，超过预期上报周期未收到数据")
		}
	case KindStuck:
		if resolved {
			b.WriteString("：数值已恢复变化")
		} else {
			fmt.Fprintf(&b, "：%s %s 长时间不变，疑似设备故障", metric, val)
		}
	case KindFault:
		if resolved {
			b.WriteString("：读数已恢复正常范围")
		} else {
			fmt.Fprintf(&b, "：%s读数 %s 超出量程，疑似设备故障", metric, val)
		}
	case KindEvent:
		if resolved {
			fmt.Fprintf(&b, "：%s，设备上报已恢复正常（%s=%s）", metric, a.Metric, number(a.Value))
		} else {
			fmt.Fprintf(&b, "：%s，设备上报报警状态（%s=%s）", metric, a.Metric, number(a.Value))
		}
	case KindComposite:
		if resolved {
			b.WriteString("：关联条件已不再同时满足")
		} else {
			fmt.Fprintf(&b, "：%s 个关联条件同时满足（需 %s 个）", number(a.Value), number(a.Threshold))
		}
	default:
		per := ""
		switch r.kind() {
		case KindRate:
			metric += "变化速率"
			per = "/" + ratePer(r)
			val, th = val+per, th+per
		case KindTangent:
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
		b.WriteString(comparison(a, r, ev, th, func(v float64) string { return number(v) + unitSuffix(a.Unit) + per }))
	}
	if len(r.WhenStatus) > 0 {
		fmt.Fprintf(&b, "；该单位生产状态：%s", e.siteStatus(a.Site).Chinese())
	}
	fmt.Fprintf(&b, "（%s）", a.UpdatedAt.In(e.loc).Format("2006-01-02 15:04:05"))
	return b.String()
}

// comparison says how the alert's value stands to the thresholds of its
// level for event ev, truthfully: a raise reaches its threshold; a level
// held by its hysteresis or clear value (possible after a downgrade) is
// under its threshold but not yet past its clear value; a downgrade is
// under the threshold of the next level up; a resolution is past the
// level's threshold back. Below-thresholds (low level, low pressure) turn
// every statement round. th is the formatted threshold, q formats others.
func comparison(a *yujing.Alert, r *Rule, ev yujing.Event, th string, q func(float64) string) string {
	l := a.Level
	below := r.Below.Set[l] && r.Below.Value[l] == a.Threshold && !(r.Above.Set[l] && r.Above.Value[l] == a.Threshold)
	tiers, dir, under := &r.Above, 1.0, "低于"
	if below {
		tiers, dir, under = &r.Below, -1.0, "高于"
	}
	colour := levelShort(l)
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
				parts = append(parts, fmt.Sprintf("已%s%s阈值 %s", under, levelShort(up), q(tiers.Value[up])))
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

// number formats a value with at most three decimals and no trailing
// zeros (a computed 39.800000000000004 is 39.8).
func number(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	r := math.Round(v*1000) / 1000
	if r == 0 {
		r = 0 // no "-0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// durationZH writes d in Chinese: 4小时, 30分钟, 1小时30分钟, 2天, 20秒.
func durationZH(d time.Duration) string {
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

func ratePer(r *Rule) string {
	if r.RatePer <= 0 || r.RatePer == time.Minute {
		return "分钟"
	}
	return durationZH(r.RatePer)
}

func unitSuffix(u string) string {
	switch u {
	case "":
		return ""
	case "°":
		return u // 82.3°
	}
	return " " + u
}

func levelShort(l yujing.Level) string {
	return map[yujing.Level]string{yujing.Blue: "蓝色", yujing.Yellow: "黄色", yujing.Orange: "橙色", yujing.Red: "红色"}[l]
}
