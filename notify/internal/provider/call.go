package provider

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"yujing"
)

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

// ParseBeijing reads a provider's "2017-01-01 00:00:00", Beijing time.
// Empty is the zero time.
func ParseBeijing(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(time.DateTime, s, Beijing)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q is not yyyy-mm-dd hh:mm:ss", s)
	}
	return t, nil
}

// FormatValue rounds v to two decimals and drops trailing zeros: 55.5,
// 0.33, 100. NaN and infinities are written as strconv writes them.
func FormatValue(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// Names of the template variables of the cloud SMS and voice channels. An
// approved template uses some or all of them.
const (
	ParamLevel  = "level"  // 红色(Ⅰ级) written, 红色一级 spoken
	ParamSite   = "site"   // site id
	ParamSensor = "sensor" // sensor id
	ParamValue  = "value"  // value with unit, e.g. 55.5%LEL
	ParamTime   = "time"   // 07-14 09:31 written, 7月14日9时31分 spoken; Beijing time
)

// ParamNames returns the variable names in the order a positional
// template ({1}, {2}, …) takes them by default.
func ParamNames() []string {
	return []string{ParamLevel, ParamSite, ParamSensor, ParamValue, ParamTime}
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
		ParamLevel:  level,
		ParamSite:   a.Site,
		ParamSensor: a.Sensor,
		ParamValue:  FormatValue(a.Value) + a.Unit,
		ParamTime:   at,
	}
	for k, v := range p {
		p[k] = Clip(v, max)
	}
	return p
}

// Positional returns the values of vars in the order of names: the
// parameter set of a template whose variables are numbered.
func Positional(vars map[string]string, names []string) []string {
	set := make([]string, len(names))
	for i, n := range names {
		set[i] = vars[n]
	}
	return set
}

// CheckParamNames reports each of names that is not a template variable,
// as an error of the configuration key template_params.
func CheckParamNames(names []string) []error {
	known := ParamNames()
	var errs []error
	for i, n := range names {
		if !slices.Contains(known, n) {
			errs = append(errs, fmt.Errorf("template_params[%d] %q is not one of %s", i, n, strings.Join(known, ", ")))
		}
	}
	return errs
}
