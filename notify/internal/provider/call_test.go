package provider

import (
	"slices"
	"strings"
	"testing"
	"time"

	"yujing/message"
)

func TestParseBeijing(t *testing.T) {
	at := time.Date(2025, 12, 31, 16, 5, 0, 0, time.UTC) // 2026-01-01 00:05 in Beijing
	got, err := ParseBeijing("2026-01-01 00:05:00")
	if err != nil || !got.Equal(at) {
		t.Errorf("ParseBeijing = %s, %v; want %s", got, err, at)
	}
	if got, err := ParseBeijing(""); err != nil || !got.IsZero() {
		t.Errorf("ParseBeijing(\"\") = %s, %v; want the zero time", got, err)
	}
	if _, err := ParseBeijing("01/01/2026"); err == nil || err.Error() != `time "01/01/2026" is not yyyy-mm-dd hh:mm:ss` {
		t.Errorf("ParseBeijing(01/01/2026): %v", err)
	}
}

func TestPositionalAndNames(t *testing.T) {
	vars := map[string]string{"level": "红色(Ⅰ级)", "site": "plant-a", "time": "07-14 09:31"}
	if got := Positional(vars, []string{"site", "level", "sensor"}); !slices.Equal(got, []string{"plant-a", "红色(Ⅰ级)", ""}) {
		t.Errorf("Positional = %q", got)
	}
	names := message.TemplateParamNames()
	if !slices.Equal(names, []string{"level", "site", "sensor", "value", "time"}) {
		t.Errorf("TemplateParamNames = %q", names)
	}
	names[0] = "changed"
	if message.TemplateParamNames()[0] != "level" {
		t.Error("TemplateParamNames shares its slice")
	}
	if errs := CheckParamNames([]string{"level", "time"}); errs != nil {
		t.Errorf("CheckParamNames of known names: %v", errs)
	}
	errs := CheckParamNames([]string{"level", "place", "who"})
	if len(errs) != 2 || errs[0].Error() != `template_params[1] "place" is not one of level, site, sensor, value, time` ||
		!strings.HasPrefix(errs[1].Error(), `template_params[2] "who"`) {
		t.Errorf("CheckParamNames = %v", errs)
	}
}
