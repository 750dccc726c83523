package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/ingest"
	"yujing/notify"
)

// TestChannelsDeliveryOptions: a channel's limit and breaker and
// delivery.group_wait reach the dispatcher; a channel's declared quota
// applies where the configuration sets none; the combined text of a group
// shows names.
func TestChannelsDeliveryOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "yujing.yaml")
	if err := os.WriteFile(path, []byte(`sites: [{id: plant, name: 甲化工园区}]
sensors: [{id: GT-1, name: 一号罐区探测器, site: plant, family: gas, metric: lel, unit: "%LEL"}]
people: [{id: p, name: P}]
delivery: {group_wait: 3s}
channels:
  - name: hook
    webhook: {url: "https://ops.example.com/hook"}
    limit: {per_minute: 30, burst: 2}
    breaker: {failures: -1}
  - name: robot
    dingtalk: {webhook: "https://oapi.dingtalk.com/robot/send?access_token=t0ken"}
notify: [{people: [p], channels: [hook, robot]}]
`), 0o600); err != nil {
		t.Fatal(err)
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
	o, err := deliveryOptions(cfg, registryNames{reg: reg})
	if err != nil {
		t.Fatal(err)
	}
	if o.GroupWait != 3*time.Second || len(o.Breakers) != 1 || o.Breakers["hook"].Failures != -1 {
		t.Errorf("options %+v", o)
	}
	d, err := notify.New(chans, o)
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := d.Limit("hook"); l != (notify.Limit{PerMinute: 30, Burst: 2}) {
		t.Errorf("hook limit %+v", l)
	}
	if l, _ := d.Limit("robot"); l != (notify.Limit{PerMinute: 20, Burst: 1}) {
		t.Errorf("robot limit %+v, want DingTalk's quota", l)
	}
	c := yujing.Call{Alert: yujing.Alert{Site: "plant", Sensor: "GT-1", Level: yujing.Yellow, Value: 30, Unit: "%LEL"}}
	if got := o.GroupText([]yujing.Call{c, c}); !strings.HasPrefix(got, "甲化工园区 2 条预警：黄色 一号罐区探测器 30%LEL") {
		t.Errorf("group text %q", got)
	}
}
