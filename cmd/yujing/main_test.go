package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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

// TestHelpListsEveryCommand: every command run dispatches is in 'yujing
// help' with a one-line description, and every name help shows runs (its
// -h is its own, not "unknown command").
func TestHelpListsEveryCommand(t *testing.T) {
	var help bytes.Buffer
	if code := run(t.Context(), []string{"help"}, &help, io.Discard); code != 0 {
		t.Fatalf("help: exit %d", code)
	}
	seen := map[string]bool{}
	for _, c := range commands() {
		for _, n := range c.names {
			if seen[n] {
				t.Errorf("%q names two commands", n)
			}
			seen[n] = true
		}
		if c.names[0] == "help" {
			continue
		}
		if len(c.help) == 0 {
			t.Errorf("%s: not in 'yujing help'", c.names[0])
		}
		for _, h := range c.help {
			line := fmt.Sprintf("  %-25s %s\n", "yujing "+h[0], h[1])
			if !strings.HasPrefix(h[0], c.names[0]) || h[1] == "" || strings.Contains(h[1], "\n") || !strings.Contains(help.String(), line) {
				t.Errorf("%s: help line %q not in\n%s", c.names[0], line, help.String())
			}
		}
		var stderr bytes.Buffer
		run(t.Context(), []string{c.names[0], "-h"}, io.Discard, &stderr)
		if strings.Contains(stderr.String(), "unknown command") {
			t.Errorf("yujing %s -h: %s", c.names[0], stderr.String())
		}
	}
	var stderr bytes.Buffer
	if code := run(t.Context(), []string{"frobnicate"}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), `unknown command "frobnicate"`) ||
		!strings.Contains(stderr.String(), help.String()) {
		t.Errorf("unknown command: exit %d\n%s", code, stderr.String())
	}
}
