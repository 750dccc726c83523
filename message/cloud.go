package message

import (
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"yujing"
)

// The template variables of the cloud SMS and voice templates (Alibaba
// Cloud and Tencent Cloud: TemplateParams, written or spoken), in Beijing
// time, with values rounded to two decimals (FormatValue). The channels
// send them as they are; the order of a positional template and the
// providers' own formats stay in notify/internal/provider.

// Beijing is China Standard Time, UTC+8 all year: the whole country uses
// one zone, the providers count and stamp in it, and a fixed offset needs
// no time-zone database on the host.
var Beijing = time.FixedZone("CST", 8*3600)

// Time formats of the template variables, in Beijing time.
const (
	TimeLayout  = "01-02 15:04" // 07-14 09:31
	ClockLayout = "15:04"       // 09:31
)

// EventTime is the time a provider template shows for c: the warning's
// last change, else its start, else when the call was made.
func EventTime(c yujing.Call) time.Time {
	for _, t := range []time.Time{c.Alert.UpdatedAt, c.Alert.StartedAt} {
		if !t.IsZero() {
			return t
		}
	}
	return c.Created
}

// WrittenTime is t in Beijing time as an SMS shows it: 07-14 09:31.
func WrittenTime(t time.Time) string { return t.In(Beijing).Format(TimeLayout) }

// Clock is t's time of day in Beijing time: 09:31.
func Clock(t time.Time) string { return t.In(Beijing).Format(ClockLayout) }

// SpokenTime is t in Beijing time written to be read aloud: 7月14日9时31分.
func SpokenTime(t time.Time) string {
	t = t.In(Beijing)
	return fmt.Sprintf("%d月%d日%d时%d分", t.Month(), t.Day(), t.Hour(), t.Minute())
}

// FormatValue rounds v to two decimals and drops trailing zeros: 55.5,
// 0.33, 100. NaN and infinities are written as strconv writes them.
func FormatValue(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// Names of the template variables of the cloud SMS and voice channels
// (Alibaba Cloud, Tencent Cloud; TemplateParams). An approved template
// uses some or all of them.
const (
	TemplateLevel  = "level"  // 红色(Ⅰ级) written, 红色一级 spoken
	TemplateSite   = "site"   // site id
	TemplateSensor = "sensor" // sensor id
	TemplateValue  = "value"  // value with unit, e.g. 55.5%LEL
	TemplateTime   = "time"   // 07-14 09:31 written, 7月14日9时31分 spoken; Beijing time
)

// TemplateParamNames returns the variable names of TemplateParams in the
// order a positional template ({1}, {2}, …) takes them by default.
func TemplateParamNames() []string {
	return []string{TemplateLevel, TemplateSite, TemplateSensor, TemplateValue, TemplateTime}
}

// Style is how template variables say the level and the time.
type Style int

// Styles of template variables.
const (
	Written Style = iota // for SMS: 红色(Ⅰ级), 07-14 09:31
	Spoken               // for text-to-speech: 红色一级, 7月14日9时31分
)

// SpokenLevel is the level written to be read aloud: 红色一级.
func SpokenLevel(l yujing.Level) string {
	if s, ok := spokenLevels[l]; ok {
		return s
	}
	return l.Chinese()
}

var spokenLevels = map[yujing.Level]string{
	yujing.Blue: "蓝色四级", yujing.Yellow: "黄色三级", yujing.Orange: "橙色二级", yujing.Red: "红色一级",
}

// TemplateParams returns the template variables of c by name, in style,
// each clipped to max characters (0: no limit).
func TemplateParams(c yujing.Call, style Style, max int) map[string]string {
	a := &c.Alert
	t := EventTime(c)
	level, at := a.Level.Chinese(), WrittenTime(t)
	if style == Spoken {
		level, at = SpokenLevel(a.Level), SpokenTime(t)
	}
	p := map[string]string{
		TemplateLevel:  level,
		TemplateSite:   a.Site,
		TemplateSensor: a.Sensor,
		TemplateValue:  FormatValue(a.Value) + a.Unit,
		TemplateTime:   at,
	}
	for k, v := range p {
		p[k] = Clip(v, max)
	}
	return p
}

// Clip keeps the first max runes of s (0: all of them).
func Clip(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max])
}
