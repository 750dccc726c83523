package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yujing/internal/yamlconf"
	"yujing/notify"
)

// channelBase is a configuration that needs only a channel called "ch".
const channelBase = `sites: [{id: p}]
people: [{id: x, name: X, phone: "13800000000", email: x@example.cn}]
notify: [{people: [x], channels: [ch]}]
channels:
  - name: ch
`

// TestCheckAndServeAgreeOnChannels: for every channel type, a block its
// constructor refuses is refused by yujing check and by yujing serve with
// the same message, at the line of the field, and that message holds what
// the constructor itself says. One validation, not two.
func TestCheckAndServeAgreeOnChannels(t *testing.T) {
	types := channelTypes(t)
	cases := []struct {
		typ, block string
		want       string // check's output, after the file name
	}{
		{"webhook", `webhook: {url: "hooks.example.cn/yujing", timeout: 5s}`,
			`:6:20: channel "ch": webhook.url scheme "" is not http or https`},
		{"log", `log: {level: warn}`,
			`:6:11: channels[0].log: unknown field "level" (known fields: name)`},
		{"aliyun_sms", `aliyun_sms: {access_key_id: LTAItest, access_key_secret: sk, sign_name: 测试, max_param_length: -1}`,
			`:6:17: channel "ch": aliyun_sms: template_code is empty` + "\n" +
				`:6:99: channel "ch": aliyun_sms.max_param_length -1 is negative`},
		{"tencent_sms", `tencent_sms: {secret_id: id, secret_key: key, sms_sdk_app_id: "14000x", sign_name: 测试, template_id: "1"}`,
			`:6:67: channel "ch": tencent_sms.sms_sdk_app_id "14000x" is not a number`},
		{"sms_gateway", `sms_gateway: {url: "htp://sms.example.cn/send?to={{.Phone}}"}`,
			`:6:24: channel "ch": sms_gateway.url scheme "htp" is not http or https`},
		{"aliyun_voice", `aliyun_voice: {access_key_id: LTAItest, access_key_secret: sk, tts_code: TTS_1, play_times: 5}`,
			`:6:97: channel "ch": aliyun_voice.play_times 5 is not between 1 and 3`},
		{"tencent_voice", `tencent_voice: {secret_id: id, secret_key: key, voice_sdk_app_id: "1400", template_id: "1", template_params: [colour]}`,
			`:6:115: channel "ch": tencent_voice.template_params[0] "colour" is not one of level, site, sensor, value, time`},
		{"dingtalk", `dingtalk: {webhook: "::bad::/robot/send?access_token=t0ken"}`,
			`:6:25: channel "ch": dingtalk.webhook is not a valid URL`},
		{"wecom", `wecom: {webhook: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"}`,
			`:6:22: channel "ch": wecom.webhook has no key parameter`},
		{"feishu", `feishu: {webhook: "https://open.feishu.cn/open-apis/bot/v2/hook/t0ken", lang: fr}`,
			`:6:83: channel "ch": feishu.lang "fr" is not zh-CN or en`},
		{"email", `email: {host: smtp.example.cn, from: ops@example.cn, to: [not-an-address]}`,
			`:6:63: channel "ch": email.to[0] "not-an-address" is not an address: mail: missing '@' or angle-addr`},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.typ] = true
		t.Run(c.typ, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), c.typ+".yaml")
			if err := os.WriteFile(path, []byte(channelBase+"    "+c.block+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			want := path + strings.ReplaceAll(c.want, "\n", "\n"+path) + "\n"

			code, stdout, checkOut := runCheck(t, "-config", path)
			if code != 1 || stdout != "" || checkOut != want {
				t.Errorf("check: exit %d, stdout %q\nstderr:\n%s\nwant:\n%s", code, stdout, checkOut, want)
			}

			// serve refuses the file before it starts anything, with the
			// same lines; a serve that started is stopped after 20s.
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			var out, serveOut strings.Builder
			code = run(ctx, []string{"serve", "-config", path, "-data", t.TempDir(), "-http", "127.0.0.1:0", "-mqtt-listen", "127.0.0.1:0",
				"-simulate=false"}, &out, &serveOut)
			if wantServe := want + "yujing serve: configuration has errors; not starting\n"; code != 1 || serveOut.String() != wantServe {
				t.Errorf("serve: exit %d\nstderr:\n%s\nwant:\n%s", code, serveOut.String(), wantServe)
			}

			// What check says is what the constructor says.
			typ, ok := types.Lookup(c.typ)
			if !ok {
				t.Fatalf("no channel type %q", c.typ)
			}
			block := strings.TrimPrefix(c.block, c.typ+":")
			cfg := typ.NewConfig()
			if err := yamlconf.DecodeEnv("block.yaml", []byte(block), cfg, noEnv); err != nil {
				return // a decoding error: serve's constructor never sees it
			}
			err := typ.Validate("ch", cfg, channelDeps())
			if err == nil {
				t.Fatalf("the %s constructor accepts %s: the case proves nothing", c.typ, block)
			}
			for _, e := range flatJoined(errors.Unwrap(err)) {
				if !strings.Contains(checkOut, e.Error()) {
					t.Errorf("check does not say what the constructor says: %q", e)
				}
			}
		})
	}
	for _, name := range types.Names() {
		if !covered[name] {
			t.Errorf("channel type %s has no case", name)
		}
	}
}

// channelDeps are what a channel is checked with outside serve.
func channelDeps() notify.Deps { return notify.Deps{Logger: slog.New(slog.DiscardHandler)} }

// noEnv is an environment with nothing set.
func noEnv(string) (string, bool) { return "", false }

// flatJoined lists the errors joined in err (errors.Join), or err alone.
func flatJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
