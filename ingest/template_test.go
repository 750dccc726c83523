package ingest

import (
	"strings"
	"testing"

	"yujing"
)

func TestTemplates(t *testing.T) {
	sensors := []yujing.Sensor{
		{ID: "GT-101", Site: "plant-a", Family: yujing.FamilyGas, Metric: "lel"},
		{ID: "GT-201", Site: "plant-b", Family: yujing.FamilyGas, Metric: "lel"},
		{ID: "TK-1", Site: "plant-a", Family: yujing.FamilyHazard, Metric: "level", Topic: "custom/tank1"},
	}
	r, err := NewRegistry(nil, sensors, "plant/{site}/gas/{sensor}", "gw/{any}/{sensor}/up")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ topic, want string }{
		{"plant/plant-a/gas/GT-101", "GT-101"},
		{"plant/plant-b/gas/GT-201", "GT-201"},
		{"plant/plant-b/gas/GT-101", ""}, // GT-101 is not at plant-b
		{"plant/plant-a/gas/GT-999", ""}, // unknown sensor
		{"plant/plant-a/gas/GT-101/extra", ""},
		{"plant/plant-a/gas", ""},
		{"gw/any-gateway/GT-201/up", "GT-201"},
		{"custom/tank1", "TK-1"},
		{"yujing/plant-a/GT-101", "GT-101"}, // default topic still works
	}
	for _, c := range cases {
		s, ok := r.ByTopic(c.topic)
		got := ""
		if ok {
			got = s.ID
		}
		if got != c.want {
			t.Errorf("ByTopic(%q) = %q, want %q", c.topic, got, c.want)
		}
	}
	if f := r.TemplateFilters(); strings.Join(f, " ") != "plant/+/gas/+ gw/+/+/up" {
		t.Errorf("filters %v", f)
	}
}

func TestCheckTemplate(t *testing.T) {
	for tpl, want := range map[string]string{
		"plant/{site}/gas/{sensor}": "",
		"plant/{site}/gas":          "no {sensor}",
		"plant/+/{sensor}":          "not MQTT wildcards",
		"plant/x{sensor}":           "is not a placeholder",
		"plant/{sensorid}":          "is not a placeholder",
		"":                          "empty",
	} {
		err := CheckTemplate(tpl)
		if (err == nil) != (want == "") || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("CheckTemplate(%q) = %v, want %q", tpl, err, want)
		}
	}
	s := &yujing.Sensor{ID: "GT-1", Site: "a", Family: "gas"}
	if got, err := ExpandTopic("plant/{site}/{family}/{sensor}", s); err != nil || got != "plant/a/gas/GT-1" {
		t.Errorf("ExpandTopic = %q, %v", got, err)
	}
	if _, err := ExpandTopic("plant/{region}/{sensor}", s); err == nil {
		t.Error("ExpandTopic with an empty region succeeded")
	}
}

func FuzzTemplateMatch(f *testing.F) {
	f.Add("plant/{site}/gas/{sensor}", "plant/a/gas/GT-1")
	f.Add("{any}/{sensor}", "x/y")
	f.Fuzz(func(t *testing.T, tpl, topic string) {
		tp, err := compileTemplate(tpl)
		if err != nil {
			return
		}
		sensor, _, _, _, ok := tp.match(topic)
		if !ok {
			return
		}
		if sensor == "" || strings.Contains(sensor, "/") {
			t.Fatalf("template %q matched %q with sensor %q", tpl, topic, sensor)
		}
		// Whatever a template matches, its subscription filter matches too.
		if !TopicMatch(tp.filter(), topic) {
			t.Fatalf("template %q matched %q but its filter %q does not", tpl, topic, tp.filter())
		}
	})
}
