package config

import (
	"strings"
	"testing"
)

// store.dead_letter_max_bytes: 1 GiB by default, at least 1 MiB, its
// position in the error.
func TestDeadLetterMaxBytes(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		want       int64
		err        string
	}{
		{"default", "", 1 << 30, ""},
		{"set", "store: {dead_letter_max_bytes: 4294967296}\n", 4 << 30, ""},
		{"too small", "store:\n  dead_letter_max_bytes: 1000\n", 0,
			`x.yaml:3:26: store.dead_letter_max_bytes 1000: want at least 1048576 (1 MiB)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("x.yaml", []byte(ingestBase+c.yaml), Options{LookupEnv: noEnv})
			if c.err != "" {
				if err == nil || strings.TrimSpace(err.Error()) != c.err {
					t.Fatalf("error:\n%v\nwant:\n%s", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.DeadLetterMaxBytes != c.want {
				t.Errorf("DeadLetterMaxBytes = %d, want %d", cfg.DeadLetterMaxBytes, c.want)
			}
		})
	}
}
