package all

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"yujing/internal/yamlconf"
	"yujing/notify"
)

// folders are the notify folders of the channel types, by type name.
var folders = map[string]string{
	"webhook": "webhook", "log": "logchan", "aliyun_sms": "aliyunsms", "tencent_sms": "tencentsms",
	"sms_gateway": "smsgateway", "aliyun_voice": "aliyunvoice", "tencent_voice": "tencentvoice",
	"dingtalk": "dingtalk", "wecom": "wecom", "feishu": "feishu", "email": "email",
}

// TestEveryTypeBuildsItsSample: every registered type has a folder whose
// sample.yaml decodes strictly into the type's configuration and builds a
// channel of that name, as a channel block of yujing's configuration does.
func TestEveryTypeBuildsItsSample(t *testing.T) {
	types, err := Types()
	if err != nil {
		t.Fatal(err)
	}
	if len(types.Names()) != len(folders) {
		t.Errorf("types %v, want the %d of folders", types.Names(), len(folders))
	}
	env := func(name string) (string, bool) { return "placeholder-" + name, true }
	deps := notify.Deps{Logger: slog.New(slog.DiscardHandler)}
	for _, name := range types.Names() {
		t.Run(name, func(t *testing.T) {
			dir, ok := folders[name]
			if !ok {
				t.Fatalf("type %s: add its folder to the test", name)
			}
			path := filepath.Join("..", dir, "sample.yaml")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			typ, _ := types.Lookup(name)
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
