package message

import (
	"math"
	"strings"
	"testing"
	"time"

	"yujing"
)

// started is 2025-07-14 01:30 UTC, 09:30 in Beijing: a value the templates
// show, not a clock.
var started = time.Date(2025, 7, 14, 1, 30, 0, 0, time.UTC)

func testCall() yujing.Call {
	return yujing.Call{
		ID: "42-7-p1-sms",
		Alert: yujing.Alert{
			ID: 42, Sensor: "gas-01", Site: "plant-a", Unit: "%LEL", Level: yujing.Red,
			Value: 55.5, StartedAt: started, UpdatedAt: started.Add(time.Minute),
		},
		Created: started.Add(2 * time.Minute),
	}
}

func TestTemplateParams(t *testing.T) {
	long := testCall()
	long.Alert.Site, long.Alert.Value = strings.Repeat("危", 50), 1.0/3
	never := testCall()
	never.Alert.UpdatedAt = time.Time{}
	created := testCall()
	created.Alert.UpdatedAt, created.Alert.StartedAt = time.Time{}, time.Time{}
	orange := testCall()
	orange.Alert.Level, orange.Alert.Value, orange.Alert.Unit = yujing.Orange, 61.25, "mm"
	cases := []struct {
		name  string
		call  yujing.Call
		style Style
		max   int
		want  map[string]string
	}{
		{"written", testCall(), Written, 0,
			map[string]string{"level": "红色(Ⅰ级)", "site": "plant-a", "sensor": "gas-01", "value": "55.5%LEL", "time": "07-14 09:31"}},
		{"spoken", testCall(), Spoken, 0,
			map[string]string{"level": "红色一级", "site": "plant-a", "sensor": "gas-01", "value": "55.5%LEL", "time": "7月14日9时31分"}},
		{"spoken orange", orange, Spoken, 0,
			map[string]string{"level": "橙色二级", "site": "plant-a", "sensor": "gas-01", "value": "61.25mm", "time": "7月14日9时31分"}},
		{"clipped, rounded", long, Written, 12,
			map[string]string{"level": "红色(Ⅰ级)", "site": strings.Repeat("危", 12), "sensor": "gas-01", "value": "0.33%LEL", "time": "07-14 09:31"}},
		{"never updated: the start", never, Written, 0,
			map[string]string{"level": "红色(Ⅰ级)", "site": "plant-a", "sensor": "gas-01", "value": "55.5%LEL", "time": "07-14 09:30"}},
		{"no alert times: the call's", created, Spoken, 0,
			map[string]string{"level": "红色一级", "site": "plant-a", "sensor": "gas-01", "value": "55.5%LEL", "time": "7月14日9时32分"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := TemplateParams(c.call, c.style, c.max)
			if len(got) != len(c.want) {
				t.Errorf("TemplateParams = %v, want %v", got, c.want)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestFormatValue(t *testing.T) {
	for v, want := range map[float64]string{
		55.5: "55.5", 100: "100", 1.0 / 3: "0.33", 2.006: "2.01", -0.5: "-0.5", 1e6: "1000000",
		math.NaN(): "NaN", math.Inf(1): "+Inf", math.Inf(-1): "-Inf",
	} {
		if got := FormatValue(v); got != want {
			t.Errorf("FormatValue(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestBeijingTimes(t *testing.T) {
	at := time.Date(2025, 12, 31, 16, 5, 0, 0, time.UTC) // 2026-01-01 00:05 in Beijing
	for _, c := range []struct{ name, got, want string }{
		{"written", WrittenTime(at), "01-01 00:05"},
		{"clock", Clock(at), "00:05"},
		{"spoken", SpokenTime(at), "1月1日0时5分"},
	} {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.name, c.got, c.want)
		}
	}
}
