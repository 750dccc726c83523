package provider

import (
	"testing"
	"time"
)

func TestPrintableAndClip(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want string
	}{
		{"  触发\t分钟级\n流控  ", 0, "触发 分钟级 流控"},
		{"a\x00b\x1bc", 0, "abc"},
		{"bad \xff utf8", 0, "bad ? utf8"},
		{"短信模板不合法", 4, "短信模板"},
		{"ok", 10, "ok"},
	}
	for _, c := range cases {
		if got := Printable(c.in, c.max); got != c.want {
			t.Errorf("Printable(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

func TestAliyunWindow(t *testing.T) {
	for msg, want := range map[string]time.Duration{
		"触发分钟级流控Permits:1":  time.Minute,
		"触发小时级流控Permits:5":  time.Hour,
		"触发天级流控Permits:10":  24 * time.Hour,
		"Day limit control": 24 * time.Hour,
		"something else":    0,
	} {
		if got := AliyunWindow(msg); got != want {
			t.Errorf("AliyunWindow(%q) = %s, want %s", msg, got, want)
		}
	}
}
