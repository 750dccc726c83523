package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"yujing/ingest"
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
	chans, err := buildChannels(cfg, registryNames{reg: reg}, slog.New(slog.DiscardHandler))
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
