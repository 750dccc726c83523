package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestServeSimulateSwitch(t *testing.T) {
	own := filepath.Join(t.TempDir(), "own.yaml")
	os.WriteFile(own, []byte("simulate: {enabled: true}\n"), 0o600)
	cases := []struct {
		name string
		args []string
		env  string
		want bool
	}{
		{"demo simulates by default", nil, "", true},
		{"flag turns it off", []string{"--simulate=false"}, "", false},
		{"env turns it off", nil, "0", false},
		{"flag wins over env", []string{"-simulate=true"}, "0", true},
		{"own config keeps its setting", []string{"-config", own}, "", true},
		{"env overrides own config", []string{"-config", own}, "false", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("YUJING_SIMULATE", c.env)
			var stderr bytes.Buffer
			cfg, _, code := serveSetup(c.args, &stderr)
			if cfg == nil {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if cfg.Simulate != c.want {
				t.Errorf("simulate = %v, want %v", cfg.Simulate, c.want)
			}
		})
	}
	t.Setenv("YUJING_SIMULATE", "maybe")
	var stderr bytes.Buffer
	if cfg, _, code := serveSetup(nil, &stderr); cfg != nil || code != 2 || !bytes.Contains(stderr.Bytes(), []byte("YUJING_SIMULATE")) {
		t.Errorf("bad YUJING_SIMULATE: code %d, stderr %q", code, stderr.String())
	}
}

func TestServeFlagsOverrideListenAddresses(t *testing.T) {
	t.Setenv("YUJING_SIMULATE", "")
	var stderr bytes.Buffer
	cfg, _, _ := serveSetup([]string{"-http", "127.0.0.1:18080", "-mqtt-listen", "127.0.0.1:11883", "-data", "/tmp/x"}, &stderr)
	if cfg == nil || cfg.HTTPListen != "127.0.0.1:18080" || cfg.EmbeddedListen != "127.0.0.1:11883" || cfg.DataDir != "/tmp/x" || !cfg.MQTT.FromEmbedded {
		t.Fatalf("cfg = %+v, stderr %s", cfg, stderr.String())
	}
}
