package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConfigErrorsHideSecrets: a configuration error about a value that
// came from the environment quotes it as the file writes it (${VAR}), in
// yujing check's output, in serve's refusal, and in a refused reload's
// ERROR log line and 400 answer. The secret itself appears nowhere.
func TestConfigErrorsHideSecrets(t *testing.T) {
	const secret = "s3cr3t-access-token-91ab"
	t.Setenv("YUJING_TEST_SECRET_TOKEN", secret)
	dir := t.TempDir()
	path := filepath.Join(dir, "site.yaml")
	base := fmt.Sprintf(`data_dir: %s
http: {listen: "127.0.0.1:0"}
mqtt: {embedded: {listen: "127.0.0.1:0"}}
sites: [{id: p}]
people: [{id: x, name: X}]
notify: [{people: [x], channels: [log]}]
`, filepath.Join(dir, "data"))
	good := base + "channels: [{name: log, log: {}}]\n"
	bad := base + `channels:
  - {name: log, log: {}}
  - name: hook
    webhook: {url: "ftp://hooks.example.cn/robot/send?access_token=${YUJING_TEST_SECRET_TOKEN}"}
influx:
  url: "influx.example.cn:8086/?token=${YUJING_TEST_SECRET_TOKEN}"
  bucket: yujing/autogen
`
	// As written in the file, where an error quotes the value.
	const asWritten = `"influx.example.cn:8086/?token=${YUJING_TEST_SECRET_TOKEN}"`
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	hidden := func(where, s string) {
		t.Helper()
		if strings.Contains(s, secret) {
			t.Errorf("%s shows the secret:\n%s", where, s)
		}
		if !strings.Contains(s, asWritten) || !strings.Contains(s, `channel "hook"`) {
			t.Errorf("%s does not name the problems with the value as written (%s):\n%s", where, asWritten, s)
		}
	}

	write(bad)
	code, _, checkOut := runCheck(t, "-config", path)
	if code != 1 {
		t.Errorf("check: exit %d, want 1", code)
	}
	hidden("yujing check", checkOut)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var out, serveOut strings.Builder
	if code := run(ctx, []string{"serve", "-config", path}, &out, &serveOut); code != 1 {
		t.Errorf("serve: exit %d, want 1", code)
	}
	hidden("yujing serve", serveOut.String())

	write(good)
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	inst := start(t, cfg)
	write(bad)
	code, body := do(t, "POST", "http://"+inst.http+"/-/reload", "")
	if code != 400 {
		t.Errorf("reload: %d %s, want 400", code, body)
	}
	hidden("the reload's answer", body)
	var failed string
	for line := range strings.Lines(inst.logs.String()) {
		if strings.Contains(line, "configuration reload failed") {
			failed = line
		}
	}
	if !strings.Contains(failed, "level=ERROR") {
		t.Fatalf("no ERROR log line for the refused reload:\n%s", inst.logs.String())
	}
	// The text handler quotes the error: compare with the line unquoted.
	hidden("the reload's log line", strings.ReplaceAll(failed, `\"`, `"`))
	if strings.Contains(inst.logs.String(), secret) {
		t.Errorf("the log shows the secret")
	}
}
