package sheet

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"yujing"
)

// excelScientific is how Excel shows a long number in a narrow column.
var excelScientific = regexp.MustCompile(`^[0-9](\.[0-9]+)?[Ee]\+[0-9]+$`)

// familyAliases maps the Chinese names integrators write to families.
var familyAliases = map[string]yujing.Family{
	"燃气": yujing.FamilyGas, "气体": yujing.FamilyGas, "可燃气体": yujing.FamilyGas, "有毒气体": yujing.FamilyGas, "可燃/有毒气体": yujing.FamilyGas,
	"危化": yujing.FamilyHazard, "危化品": yujing.FamilyHazard, "危险化学品": yujing.FamilyHazard, "重大危险源": yujing.FamilyHazard, "储罐": yujing.FamilyHazard,
	"粉尘": yujing.FamilyDust, "粉尘涉爆": yujing.FamilyDust,
	"气象": yujing.FamilyWeather, "雨量": yujing.FamilyWeather,
	"防汛": yujing.FamilyFlood, "水位": yujing.FamilyFlood, "积水": yujing.FamilyFlood,
	"电力": yujing.FamilyPower, "电力监测": yujing.FamilyPower, "用电": yujing.FamilyPower,
	"电气火灾": yujing.FamilyElectrical, "电气": yujing.FamilyElectrical,
}

// familyChinese is the Chinese name shown next to each family.
var familyChinese = map[yujing.Family]string{
	yujing.FamilyGas: "燃气", yujing.FamilyHazard: "危化", yujing.FamilyDust: "粉尘", yujing.FamilyWeather: "气象",
	yujing.FamilyFlood: "防汛", yujing.FamilyPower: "电力", yujing.FamilyElectrical: "电气火灾",
}

// FamilyChinese is the short Chinese name of a family (燃气, 危化, …); ""
// for an unknown one.
func FamilyChinese(f yujing.Family) string { return familyChinese[f] }

// ParseFamily accepts a family's id (any case), a Chinese alias (燃气,
// 可燃气体, 危化, 重大危险源, 防汛, 水位, …) or the Chinese name of a family
// among fams — the families a configuration knows; nil means the built-in
// ones.
func ParseFamily(fams yujing.Families, v string) (yujing.Family, error) {
	if fams == nil {
		fams = yujing.BuiltinFamilies()
	}
	t := strings.TrimSpace(v)
	if f := yujing.Family(strings.ToLower(t)); fams.Known(f) {
		return f, nil
	}
	if f, ok := familyAliases[t]; ok && fams.Known(f) {
		return f, nil
	}
	for _, k := range fams {
		if k.Name != "" && k.Name == t {
			return k.ID, nil
		}
	}
	var want []string
	for _, k := range fams {
		name := familyChinese[k.ID]
		if name == "" {
			name = k.Name
		}
		want = append(want, strings.TrimSpace(string(k.ID)+" "+name))
	}
	return "", fmt.Errorf("unknown family %q (want %s)", v, strings.Join(want, ", "))
}

// parseInterval reads an interval: a Go duration (10s, 5m, 1h30m), a
// number with 秒, 分, 分钟, 时 or 小时, or a plain number of seconds.
func parseInterval(v string) (time.Duration, error) {
	t := strings.TrimSpace(v)
	bad := fmt.Errorf("%q is not a duration: write 10s, 5m, 1h, 30秒, 5分钟 or a number of seconds", v)
	var d time.Duration
	num := func(s string, unit time.Duration) (time.Duration, bool) {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > float64(math.MaxInt64/int64(unit)) {
			return 0, false
		}
		return time.Duration(f * float64(unit)), true
	}
	found := false
	if x, ok := num(t, time.Second); ok {
		d, found = x, true
	}
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"秒钟", time.Second}, {"秒", time.Second}, {"分钟", time.Minute}, {"分", time.Minute}, {"小时", time.Hour}, {"时", time.Hour}} {
		if !found && strings.HasSuffix(t, u.suffix) {
			x, ok := num(strings.TrimSuffix(t, u.suffix), u.unit)
			if !ok {
				return 0, bad
			}
			d, found = x, true
		}
	}
	if !found {
		x, err := time.ParseDuration(t)
		if err != nil {
			return 0, bad
		}
		d = x
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: must be more than zero", v)
	}
	return d, nil
}

// parseNumber reads a finite number.
func parseNumber(v string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a number", v)
	}
	return f, nil
}

// parseTags reads "key=value; key=value" (also ',' '，' '；' between pairs).
func parseTags(v string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' || r == '；' || r == '，' || r == '\n' }) {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, val, ok := strings.Cut(strings.Replace(p, "＝", "=", 1), "=")
		k, val = strings.TrimSpace(k), strings.TrimSpace(val)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value (write owner=张工; zone=A)", p)
		}
		out[k] = val
	}
	return out, nil
}

// formatLocation joins a location text and coordinates: "罐区东侧
// (31.2986,120.5853)", or the coordinates alone.
func formatLocation(text string, lat, lon *float64) string {
	if lat == nil || lon == nil {
		return text
	}
	c := strconv.FormatFloat(*lat, 'f', -1, 64) + "," + strconv.FormatFloat(*lon, 'f', -1, 64)
	if text == "" {
		return c
	}
	return text + " (" + c + ")"
}

// locationParts splits a location formatLocation wrote into its place
// name and coordinates.
func locationParts(loc string) (text string, lat, lon *float64) {
	coords := func(s string) (*float64, *float64, bool) {
		a, b, ok := strings.Cut(s, ",")
		x, err1 := strconv.ParseFloat(a, 64)
		y, err2 := strconv.ParseFloat(b, 64)
		return &x, &y, ok && err1 == nil && err2 == nil
	}
	if x, y, ok := coords(loc); ok {
		return "", x, y
	}
	if i := strings.LastIndex(loc, " ("); i >= 0 && strings.HasSuffix(loc, ")") {
		if x, y, ok := coords(loc[i+2 : len(loc)-1]); ok {
			return loc[:i], x, y
		}
	}
	return loc, nil, nil
}

// FormatDuration writes 10s, 5m, 1h30m rather than 5m0s.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// FormatNumber writes an optional number: "none" when absent.
func FormatNumber(f *float64) string {
	if f == nil {
		return "none"
	}
	return strconv.FormatFloat(*f, 'g', -1, 64)
}

// FormatTags writes tags sorted by key: {gas=H2S, zone=pumps}.
func FormatTags(t map[string]string) string {
	keys := slices.Sorted(maps.Keys(t))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + t[k]
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
