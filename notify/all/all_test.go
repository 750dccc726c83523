package all

import (
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"yujing/internal/yamlconf"
	"yujing/notify"
)

// folder is the notify folder of a channel type: that of the package
// that declares its configuration (yujing/notify/aliyunsms → aliyunsms),
// so that a new type needs no line here.
func folder(typ *notify.Type) (string, bool) {
	pkg := reflect.TypeOf(typ.NewConfig()).Elem().PkgPath()
	dir, ok := strings.CutPrefix(pkg, "yujing/notify/")
	return dir, ok && !strings.Contains(dir, "/")
}

// TestEveryTypeBuildsItsSample: every registered type has a folder whose
// sample.yaml decodes strictly into the type's configuration and builds a
// channel of that name, as a channel block of yujing's configuration does.
func TestEveryTypeBuildsItsSample(t *testing.T) {
	types, err := Types()
	if err != nil {
		t.Fatal(err)
	}
	// Every folder that registers a type (register.go) is in the list.
	listed := map[string]bool{}
	for _, name := range types.Names() {
		typ, _ := types.Lookup(name)
		if dir, ok := folder(typ); ok {
			listed[dir] = true
		}
	}
	registers, err := filepath.Glob(filepath.Join("..", "*", "register.go"))
	if err != nil || len(registers) == 0 {
		t.Fatalf("no register.go under notify: %v", err)
	}
	for _, r := range registers {
		if dir := filepath.Base(filepath.Dir(r)); !listed[dir] {
			t.Errorf("notify/%s registers a channel type that Types does not list: add %s.Type() to all.go", dir, dir)
		}
	}
	env := func(name string) (string, bool) { return "placeholder-" + name, true }
	deps := notify.Deps{Logger: slog.New(slog.DiscardHandler)}
	for _, name := range types.Names() {
		t.Run(name, func(t *testing.T) {
			typ, _ := types.Lookup(name)
			dir, ok := folder(typ)
			if !ok {
				t.Fatalf("type %s: its configuration is not declared in a folder of notify", name)
			}
			path := filepath.Join("..", dir, "sample.yaml")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cfg := typ.NewConfig()
			if err := yamlconf.DecodeEnv(path, data, cfg, env); err != nil {
				t.Fatal(err)
			}
			ch, err := typ.New("ch-"+name, cfg, deps)
			if err != nil {
				t.Fatal(err)
			}
			if ch.Name() != "ch-"+name {
				t.Errorf("channel name %q, want ch-%s", ch.Name(), name)
			}
		})
	}
}

// TestTypesRefusesDuplicates: a second registration of a shipped type is
// refused, so two folders cannot claim one block key.
func TestTypesRefusesDuplicates(t *testing.T) {
	types, err := Types()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range types.Names() {
		typ, _ := types.Lookup(name)
		if err := types.Register(typ); err == nil {
			t.Errorf("type %s registered twice", name)
		}
	}
}
