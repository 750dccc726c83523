package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"yujing/configs"
)

// noEnv is an empty environment, so that ${VAR:-default} takes its default.
func noEnv(string) (string, bool) { return "", false }

func TestDemoConfig(t *testing.T) {
	cfg, err := Parse(configs.DemoName, configs.Demo, Options{Decoders: []string{"json"}, LookupEnv: noEnv})
	if err != nil {
		t.Fatalf("demo config:\n%v", err)
	}
	if cfg.Source != configs.DemoName {
		t.Errorf("Source = %q, want %q", cfg.Source, configs.DemoName)
	}
	if len(cfg.Sensors) != 3 {
		t.Errorf("%d sensors, want 3", len(cfg.Sensors))
	}
	if len(cfg.Rules) != 4 {
		t.Errorf("%d rules, want 4", len(cfg.Rules))
	}
	if cfg.EmbeddedListen != "127.0.0.1:1883" {
		t.Errorf("EmbeddedListen = %q, want 127.0.0.1:1883", cfg.EmbeddedListen)
	}
	if !cfg.MQTT.FromEmbedded || cfg.MQTT.Broker != "tcp://127.0.0.1:1883" {
		t.Errorf("MQTT = %+v, want the subscriber on the embedded broker tcp://127.0.0.1:1883", cfg.MQTT)
	}
	if cfg.Influx != nil {
		t.Errorf("Influx = %+v, want the embedded store", cfg.Influx)
	}
	sum := cfg.Summary()
	for _, want := range []string{"3 sensors", "4 rules", "embedded broker on 127.0.0.1:1883"} {
		if !strings.Contains(sum, want) {
			t.Errorf("Summary() = %q, want it to mention %q", sum, want)
		}
	}
}

// errLine is one line of a Parse error: the file name, line and column ≥ 1,
// and a message.
var errLine = regexp.MustCompile(`^fuzz\.yaml:([0-9]+):([0-9]+): \S`)

// FuzzParse feeds the loader garbage: it must never panic, every line of an
// error must be fuzz.yaml:line:col: message with line and col ≥ 1, and no
// error shows what an environment variable holds.
func FuzzParse(f *testing.F) {
	f.Add(configs.Demo)
	seeds, err := filepath.Glob(filepath.Join("..", "cmd", "yujing", "testdata", "check", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{"", "{}", "[]", "~", "a: &x [*x]\n", "sensors: &s [*s]\n", "---\n---\n", "\t"} {
		f.Add([]byte(s))
	}
	const secret = "fuzz-secret-9c1e"
	env := func(name string) (string, bool) {
		switch name {
		case "SET":
			return "value", true
		case "EMPTY":
			return "", true
		case "SECRET":
			return secret, true
		}
		return "", false
	}
	f.Add([]byte("influx: {url: \"${SECRET}\"}\nmqtt: {broker: \"x${SECRET}\"}\n"))
	f.Add([]byte("influx: {url: \"http://i:8086\"}\nstate: {url: \"mysql://u:${SECRET}@h/db\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data, Options{Decoders: []string{"json"}, LookupEnv: env})
		if err == nil {
			if cfg == nil {
				t.Fatal("Parse returned neither a config nor an error")
			}
			_ = cfg.Summary()
			return
		}
		if cfg != nil {
			t.Errorf("Parse returned a config and an error")
		}
		msg := err.Error()
		if msg == "" {
			t.Fatal("empty error")
		}
		if strings.Contains(msg, secret) && !strings.Contains(string(data), secret) {
			t.Fatalf("the error shows what ${SECRET} holds:\n%s", msg)
		}
		for _, line := range strings.Split(msg, "\n") {
			m := errLine.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("error line %q is not fuzz.yaml:line:col: message\nwhole error:\n%s", line, msg)
			}
			l, _ := strconv.Atoi(m[1])
			c, _ := strconv.Atoi(m[2])
			if l < 1 || c < 1 {
				t.Fatalf("error line %q: line and column must be ≥ 1", line)
			}
		}
	})
}
