package config

import (
	"strings"
	"testing"
)

// runtime.gogc and runtime.memory_limit_bytes: defaults, explicit values,
// and bad values with their position.
func TestRuntimeSettings(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		gogc       int
		limit      int64
	}{
		{"defaults", "", DefaultGOGC, 0},
		{"go's default", "runtime: {gogc: 100}\n", 100, 0},
		{"limit", "runtime: {memory_limit_bytes: 536870912}\n", DefaultGOGC, 512 << 20},
		{"collector off under a limit", "runtime: {gogc: -1, memory_limit_bytes: 1073741824}\n", -1, 1 << 30},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("x.yaml", []byte(ingestBase+c.yaml), Options{LookupEnv: noEnv})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.GOGC != c.gogc || cfg.MemoryLimit != c.limit {
				t.Errorf("GOGC, MemoryLimit = %d, %d; want %d, %d", cfg.GOGC, cfg.MemoryLimit, c.gogc, c.limit)
			}
		})
	}
}

func TestRuntimeSettingsErrors(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"gogc 0", "runtime:\n  gogc: 0\n",
			`x.yaml:3:9: runtime.gogc 0: want a percentage above 0 (100 is Go's default), or -1 to turn the collector off under runtime.memory_limit_bytes`},
		{"gogc -5", "runtime: {gogc: -5}\n",
			`x.yaml:2:17: runtime.gogc -5: want a percentage above 0 (100 is Go's default), or -1 to turn the collector off under runtime.memory_limit_bytes`},
		{"collector off without a limit", "runtime: {gogc: -1}\n",
			`x.yaml:2:17: runtime.gogc -1 turns the collector off: set runtime.memory_limit_bytes too, or memory grows without bound`},
		{"limit too small", "runtime: {memory_limit_bytes: 1000}\n",
			`x.yaml:2:31: runtime.memory_limit_bytes 1000: want at least 67108864 (64 MiB), or leave it out for no limit`},
		{"gogc not a number", "runtime: {gogc: lots}\n",
			`x.yaml:2:17: runtime.gogc: want a whole number, got "lots"`},
		{"misspelt", "runtime: {go_gc: 200}\n",
			`x.yaml:2:11: runtime: unknown field "go_gc" (did you mean "gogc"?)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(ingestBase+c.yaml), Options{LookupEnv: noEnv})
			if err == nil || strings.TrimSpace(err.Error()) != c.want {
				t.Errorf("error:\n%v\nwant:\n%s", err, c.want)
			}
		})
	}
}
