package message

import (
	"testing"
	"time"
)

// TestDurationZH: time limits and rate units in Chinese text, never Go's
// "4h0m0s".
func TestDurationZH(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{4 * time.Hour, "4小时"},
		{30 * time.Minute, "30分钟"},
		{90 * time.Minute, "1小时30分钟"},
		{48 * time.Hour, "2天"},
		{50*time.Hour + 5*time.Minute, "2天2小时5分钟"},
		{20 * time.Second, "20秒"},
		{10 * time.Minute, "10分钟"},
	} {
		if got := DurationZH(tc.d); got != tc.want {
			t.Errorf("DurationZH(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
	for _, tc := range []struct {
		per  time.Duration
		want string
	}{{0, "分钟"}, {time.Minute, "分钟"}, {time.Hour, "1小时"}, {10 * time.Minute, "10分钟"}} {
		if got := ratePer(tc.per); got != tc.want {
			t.Errorf("ratePer(%s) = %q, want %q", tc.per, got, tc.want)
		}
	}
	for v, want := range map[float64]string{39.800000000000004: "39.8", -0.0001: "0", 50: "50", 0.1235: "0.124"} {
		if got := Number(v); got != want {
			t.Errorf("Number(%v) = %q, want %q", v, got, want)
		}
	}
}
