package presets_test

import (
	"io/fs"
	"strings"
	"testing"

	"yujing/config"
	"yujing/configs/presets"
	"yujing/ingest/decode/all"
)

// TestPresetsParse checks every preset as `yujing check` does, and that the
// README documents each of them.
func TestPresetsParse(t *testing.T) {
	t.Parallel()
	decoders, err := all.Registry()
	if err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(presets.FS, "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 5 {
		t.Fatalf("presets %v: want gas, rainstorm, flood, hazard-tanks and dust at least", names)
	}
	readme, err := fs.ReadFile(presets.FS, "README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		data, err := fs.ReadFile(presets.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Parse("configs/presets/"+name, data, config.Options{Decoders: decoders.Names(),
			LookupEnv: func(string) (string, bool) { return "", false }})
		if err != nil {
			t.Errorf("%s:\n%v", name, err)
			continue
		}
		if len(cfg.Rules)+len(cfg.Scheduled) == 0 || len(cfg.Sensors) == 0 || len(cfg.Routes) == 0 {
			t.Errorf("%s: %d rules, %d scheduled rules, %d sensors, %d routes: want a complete example",
				name, len(cfg.Rules), len(cfg.Scheduled), len(cfg.Sensors), len(cfg.Routes))
		}
		if !strings.Contains(string(readme), "("+name+")") {
			t.Errorf("README.md does not link %s", name)
		}
	}
}
