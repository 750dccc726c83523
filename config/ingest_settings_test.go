package config

import (
	"strings"
	"testing"
	"time"
)

const ingestBase = "sites: [{id: plant}]\n"

// mqtt.qos and influx.gzip: defaults, explicit values (qos: 0 stays 0),
// and bad values with their position.
func TestIngestSettings(t *testing.T) {
	off, on := false, true
	for _, c := range []struct {
		name, yaml string
		qos        byte
		gzip       *bool // nil: left to store/influx's default (on, except to localhost)
	}{
		{"defaults", "mqtt: {broker: \"tcp://b:1883\"}\ninflux: {url: \"http://i:8086\", bucket: y/autogen}\n", 1, nil},
		{"qos 0", "mqtt: {broker: \"tcp://b:1883\", qos: 0}\n", 0, nil},
		{"qos 1", "mqtt: {broker: \"tcp://b:1883\", qos: 1}\n", 1, nil},
		{"embedded broker, qos 0", "mqtt: {qos: 0}\n", 0, nil},
		{"gzip off", "influx: {url: \"http://i:8086\", bucket: y/autogen, gzip: false}\n", 1, &off},
		{"gzip on", "influx: {url: \"http://i:8086\", bucket: y/autogen, gzip: true}\n", 1, &on},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("x.yaml", []byte(ingestBase+c.yaml), Options{LookupEnv: noEnv})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MQTT.QoS != c.qos {
				t.Errorf("MQTT.QoS = %d, want %d", cfg.MQTT.QoS, c.qos)
			}
			if cfg.Influx == nil {
				return
			}
			if g := cfg.Influx.Gzip; (g == nil) != (c.gzip == nil) || g != nil && *g != *c.gzip {
				t.Errorf("Influx.Gzip = %v, want %v", g, c.gzip)
			}
		})
	}
}

func TestIngestSettingsErrors(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"qos 2", "mqtt: {broker: \"tcp://b:1883\", qos: 2}\n",
			`x.yaml:2:37: mqtt.qos: want 0 or 1 (1 is needed for the no-loss guarantee), got 2`},
		{"gzip not a bool", "influx:\n  url: \"http://i:8086\"\n  bucket: y/autogen\n  gzip: maybe\n",
			`x.yaml:5:9: influx.gzip: want true or false, got "maybe"`},
		{"linger too long", "mqtt: {broker: \"tcp://b:1883\", linger: 5s}\n",
			`x.yaml:2:40: mqtt.linger 5s: want 0s (never) to 1s; the default, 50ms, suits most sites`},
		{"gzip misspelt", "influx: {url: \"http://i:8086\", bucket: y/autogen, gzipped: false}\n",
			`x.yaml:2:51: influx: unknown field "gzipped" (known fields: batch_size, bucket, gzip, org, timeout, token, url)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(ingestBase+c.yaml), Options{LookupEnv: noEnv})
			if err == nil || strings.TrimSpace(err.Error()) != c.want {
				t.Errorf("error:\n%v\nwant:\n%s", err, c.want)
			}
		})
	}
}

// mqtt.linger: unset leaves ingest's default, 0s turns lingering off.
func TestLingerSetting(t *testing.T) {
	for yaml, want := range map[string]time.Duration{
		"mqtt: {broker: \"tcp://b:1883\"}\n":               0,
		"mqtt: {broker: \"tcp://b:1883\", linger: 0s}\n":   -1,
		"mqtt: {broker: \"tcp://b:1883\", linger: 50ms}\n": 50 * time.Millisecond,
	} {
		cfg, err := Parse("x.yaml", []byte(ingestBase+yaml), Options{LookupEnv: noEnv})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.MQTT.Linger != want {
			t.Errorf("%s: MQTT.Linger = %v, want %v", yaml, cfg.MQTT.Linger, want)
		}
	}
}
