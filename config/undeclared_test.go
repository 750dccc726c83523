package config

import (
	"strings"
	"testing"
)

// mqtt.max_undeclared_metrics: left unset it is 0 (ingest's default, 32);
// a negative bound is refused at its position.
func TestMaxUndeclaredMetrics(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		want       int
		err        string
	}{
		{"default", "mqtt: {broker: \"tcp://b:1883\"}\n", 0, ""},
		{"set", "mqtt: {broker: \"tcp://b:1883\", max_undeclared_metrics: 5}\n", 5, ""},
		{"negative", "mqtt: {broker: \"tcp://b:1883\", max_undeclared_metrics: -1}\n", 0,
			`x.yaml:2:56: mqtt.max_undeclared_metrics -1: want a positive number of metric names (default 32)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("x.yaml", []byte(ingestBase+c.yaml), Options{LookupEnv: noEnv})
			if c.err != "" {
				if err == nil || strings.TrimSpace(err.Error()) != c.err {
					t.Errorf("error:\n%v\nwant:\n%s", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MQTT.MaxUndeclaredMetrics != c.want {
				t.Errorf("MQTT.MaxUndeclaredMetrics = %d, want %d", cfg.MQTT.MaxUndeclaredMetrics, c.want)
			}
		})
	}
}
