package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestExampleConfigs: every example configuration in configs/ is valid as
// shipped (the secrets a file takes from the environment set to a
// placeholder), so an integrator can start from any of them.
func TestExampleConfigs(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "configs", "*.yaml"))
	if err != nil || len(paths) < 3 {
		t.Fatalf("examples: %v %v", paths, err)
	}
	// Variables with a default (${VAR:-default}) take it; the others are
	// secrets and get a placeholder.
	env := func(name string) (string, bool) {
		if strings.HasSuffix(name, "_URL") {
			return "", false
		}
		return "placeholder-0123456789abcdef0123456789abcdef", true
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			cfg, err := Load(p, Options{LookupEnv: env})
			if err != nil {
				t.Fatalf("%v", err)
			}
			if len(cfg.Sensors) == 0 || len(cfg.Rules)+len(cfg.Scheduled) == 0 {
				t.Errorf("%s configures no sensors or rules", p)
			}
		})
	}
}
