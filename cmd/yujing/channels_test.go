package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"yujing"
	"yujing/config"

	"yujing/ingest"
	"yujing/notify"
	notifyall "yujing/notify/all"
)

// TestChannelsExample: configs/channels.yaml, with its secrets in the
// environment, passes `yujing check` and builds every channel type.
func TestChannelsExample(t *testing.T) {
	for _, v := range []string{"ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "TENCENTCLOUD_SECRET_ID",
		"TENCENTCLOUD_SECRET_KEY", "SMS_GATEWAY_TOKEN", "SMS_GATEWAY_PASSWORD", "YUJING_DINGTALK_TOKEN",
		"YUJING_DINGTALK_SECRET", "YUJING_WECOM_KEY", "YUJING_FEISHU_HOOK", "YUJING_FEISHU_SECRET", "YUJING_SMTP_PASSWORD"} {
		t.Setenv(v, "test-"+strings.ToLower(v))
	}
	const path = "../../configs/channels.yaml"
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"check", "-config", path}, &stdout, &stderr); code != 0 {
		t.Fatalf("check: exit %d\n%s", code, stderr.String())
	}
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := ingest.NewRegistry(cfg.Sites, cfg.Sensors)
	if err != nil {
		t.Fatal(err)
	}
	chans, _, err := buildChannels(cfg, channelTypes(t), registryNames{reg: reg}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range chans {
		names = append(names, c.Name())
	}
	want := "log ops-webhook sms-aliyun sms-tencent sms-carrier voice-aliyun voice-tencent duty-dingtalk duty-wecom duty-feishu duty-email"
	if strings.Join(names, " ") != want {
		t.Errorf("channels %v\nwant %s", names, want)
	}
	// A secret never shows in what check prints.
	if strings.Contains(stdout.String(), "test-") {
		t.Errorf("check output shows a secret: %s", stdout.String())
	}
}

// channelTypes is every channel type yujing ships (notify/all).
func channelTypes(t *testing.T) *notify.Types {
	t.Helper()
	types, err := notifyall.Types()
	if err != nil {
		t.Fatal(err)
	}
	return types
}

// TestServeChannelsDoNotFollowRedirects: the channels serve builds use
// their own HTTP clients, which treat a redirect as a permanent failure (a
// webhook's README says so; a redirect may carry a token to another host)
// instead of following it.
func TestServeChannelsDoNotFollowRedirects(t *testing.T) {
	var followed atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			followed.Store(true)
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	cfg, err := config.Parse("r.yaml", []byte(fmt.Sprintf(`sites: [{id: p}]
people: [{id: x, name: X}]
notify: [{people: [x], channels: [hook]}]
channels: [{name: hook, webhook: {url: %q}}]
`, srv.URL+"/hook")), config.Options{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := ingest.NewRegistry(cfg.Sites, cfg.Sensors)
	if err != nil {
		t.Fatal(err)
	}
	chans, _, err := buildChannels(cfg, channelTypes(t), registryNames{reg: reg}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	err = chans[0].Send(t.Context(), yujing.Call{ID: "1-1-x-hook", Channel: "hook", Person: yujing.Person{ID: "x"}})
	if err == nil || notify.Retryable(err) {
		t.Errorf("send to a redirecting webhook: %v, want a permanent failure", err)
	}
	if followed.Load() {
		t.Error("the redirect was followed")
	}
}
