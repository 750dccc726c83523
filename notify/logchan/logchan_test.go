package logchan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"yujing"
	"yujing/notify"
)

func TestSend(t *testing.T) {
	var buf bytes.Buffer
	ch, err := New(Config{}, slog.New(slog.NewJSONHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if ch.Name() != "log" {
		t.Errorf("Name() = %q, want log", ch.Name())
	}
	c := yujing.Call{
		ID: "7-3-p2-log", Event: yujing.EventRaised, Channel: "log",
		Alert: yujing.Alert{ID: 7, Site: "station-9", Sensor: "rain-1", Level: yujing.Orange,
			Value: 61.2, Message: "【橙色(Ⅱ级)预警】3小时降雨 61.2mm"},
		Person: yujing.Person{ID: "p2", Name: "李四", Phone: "13900000000", IM: map[string]string{"dingtalk": "uid"}},
	}
	if err := ch.Send(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d records, want 1:\n%s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"level": "WARN", "alert_level": "orange",
		"msg": "warning call", "call_id": "7-3-p2-log", "alert_id": 7.0, "event": "raised",
		"site": "station-9", "sensor": "rain-1", "value": 61.2, "person": "p2", "person_name": "李四",
		"message": "【橙色(Ⅱ级)预警】3小时降雨 61.2mm",
	}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("%s = %#v, want %#v", k, rec[k], v)
		}
	}
	if strings.Contains(buf.String(), "13900000000") {
		t.Error("record carries the phone number")
	}
}

// TestWarningLevel checks the record's level and attributes as slog sees
// them.
func TestWarningLevel(t *testing.T) {
	var got slog.Record
	h := &capture{rec: &got}
	ch, err := New(Config{Name: "demo-log"}, slog.New(h))
	if err != nil {
		t.Fatal(err)
	}
	if ch.Name() != "demo-log" {
		t.Errorf("Name() = %q", ch.Name())
	}
	if err := ch.Send(t.Context(), yujing.Call{ID: "x", Alert: yujing.Alert{Level: yujing.Red}}); err != nil {
		t.Fatal(err)
	}
	if got.Level != slog.LevelWarn || got.Message != Message {
		t.Errorf("record level %v msg %q, want WARN %q", got.Level, got.Message, Message)
	}
	var level string
	got.Attrs(func(a slog.Attr) bool {
		if a.Key == "level" {
			t.Error("attribute level clashes with the key of slog")
		}
		if a.Key == "alert_level" {
			level = a.Value.String()
		}
		return true
	})
	if level != "red" {
		t.Errorf("alert_level %q, want red", level)
	}
}

func TestSendCancelled(t *testing.T) {
	var buf bytes.Buffer
	ch, _ := New(Config{}, slog.New(slog.NewTextHandler(&buf, nil)))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := ch.Send(ctx, yujing.Call{ID: "x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled context: %v", err)
	}
	if buf.Len() != 0 {
		t.Errorf("logged after cancellation: %s", buf.String())
	}
}

func TestNewNeedsLogger(t *testing.T) {
	if _, err := New(Config{}, nil); err == nil {
		t.Error("New accepted a nil logger")
	}
}

type capture struct{ rec *slog.Record }

func (c *capture) Enabled(context.Context, slog.Level) bool      { return true }
func (c *capture) Handle(_ context.Context, r slog.Record) error { *c.rec = r.Clone(); return nil }
func (c *capture) WithAttrs([]slog.Attr) slog.Handler            { return c }
func (c *capture) WithGroup(string) slog.Handler                 { return c }

// TestSendGroup: a group is one record, the first call's with the
// combined message, and the ids of every call under group.
func TestSendGroup(t *testing.T) {
	var buf bytes.Buffer
	ch, err := New(Config{}, slog.New(slog.NewJSONHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a := yujing.Call{ID: "7-1-p2-log", Event: yujing.EventRaised, Channel: "log",
		Alert: yujing.Alert{ID: 7, Site: "station-9", Sensor: "rain-1", Level: yujing.Orange, Value: 61.2}}
	b := a
	b.ID, b.Alert.ID, b.Alert.Sensor = "8-1-p2-log", 8, "rain-2"
	lead := a
	lead.Alert.Message = "station-9 2 条预警：橙色 rain-1 61.2mm；橙色 rain-2 61.2mm"
	if _, err := ch.SendGroup(t.Context(), notify.Group{Call: lead, Members: []yujing.Call{a, b}}); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if rec["call_id"] != "7-1-p2-log" || rec["message"] != lead.Alert.Message || fmt.Sprint(rec["group"]) != "[7-1-p2-log 8-1-p2-log]" {
		t.Errorf("record %v", rec)
	}
}
