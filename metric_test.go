package yujing

import "testing"

func TestMetricName(t *testing.T) {
	for _, tc := range []struct {
		f      Family
		metric string
		zh, en string
	}{
		{FamilyGas, "lel", "可燃气体浓度", "combustible gas"},
		{FamilyHazard, "level", "液位", "level"},
		{FamilyFlood, "level", "水位", "water level"},
		{FamilyWeather, "rain_1h", "1小时雨量", "1-hour rainfall"},
		{FamilyDust, "dp", "除尘器压差", "filter differential pressure"},
		{FamilyGas, "ch4", "", ""},
		{"", "", "", ""},
	} {
		if zh, en := MetricName(tc.f, tc.metric); zh != tc.zh || en != tc.en {
			t.Errorf("MetricName(%s, %s) = %q, %q; want %q, %q", tc.f, tc.metric, zh, en, tc.zh, tc.en)
		}
	}
	// Every name is set in both languages.
	for id, m := range metricNames {
		if m.zh == "" || m.en == "" {
			t.Errorf("metric %s: zh %q en %q", id, m.zh, m.en)
		}
	}
}
