package presets_test

import (
	"strings"
	"testing"
	"time"
)

// TestSmokePresetMapsGB20517Signals replays a networked smoke alarm's
// reports through the smoke preset: each signal of GB 20517 is a warning
// of its own at its tier (fire alarm red, fault and tamper yellow, low
// battery blue), so a low-battery report never touches the fire alarm, and
// an alarm silent for two heartbeat periods is offline until it reports.
func TestSmokePresetMapsGB20517Signals(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 12, 1, 8, 0, 0, 0, mustShanghai(t))
	r := newReplay(t, "smoke.yaml", start)
	const s = "SA-0502-1"
	heartbeat := func(at time.Time, battery float64) {
		for _, m := range []string{"alarm", "fault", "tamper"} {
			r.observe(at, s, m, 0)
		}
		r.observe(at, s, "battery_low", battery)
	}
	heartbeat(r.at(0), 0)
	r.observe(r.at(2*time.Hour), s, "battery_low", 1)
	r.observe(r.at(6*time.Hour), s, "alarm", 1) // cooking smoke, or a fire
	r.observe(r.at(6*time.Hour+6*time.Minute), s, "alarm", 0)
	r.observe(r.at(7*time.Hour), s, "tamper", 1)
	r.observe(r.at(7*time.Hour+30*time.Minute), s, "tamper", 0)
	heartbeat(r.at(24*time.Hour), 1)
	heartbeat(r.at(25*time.Hour), 0) // battery replaced
	for h := 26; h <= 74; h++ {
		r.tick(r.at(time.Duration(h) * time.Hour))
	}
	heartbeat(r.at(75*time.Hour), 0)
	r.want([]string{
		"12-01 10:00 smoke-battery-low SA-0502-1 raised blue 1",
		"12-01 14:00 smoke-fire-alarm SA-0502-1 raised red 1",
		"12-01 14:06 smoke-fire-alarm SA-0502-1 resolved red 0",
		"12-01 15:00 smoke-tamper SA-0502-1 raised yellow 1",
		"12-01 15:30 smoke-tamper SA-0502-1 resolved yellow 0",
		"12-02 09:00 smoke-battery-low SA-0502-1 resolved blue 0",
		"12-04 10:00 smoke-offline SA-0502-1 raised yellow 0", // 48 h after 12-02 09:00
		"12-04 11:00 smoke-offline SA-0502-1 resolved yellow 0",
	})
	r.wantCalls([]string{
		"smoke-battery-low SA-0502-1 maintainer raised blue",
		"smoke-fire-alarm SA-0502-1 grid-member raised red",
		"smoke-fire-alarm SA-0502-1 relative raised red",
		"smoke-fire-alarm SA-0502-1 grid-member resolved red",
		"smoke-fire-alarm SA-0502-1 relative resolved red",
		"smoke-tamper SA-0502-1 maintainer raised yellow",
		"smoke-tamper SA-0502-1 maintainer resolved yellow",
		"smoke-battery-low SA-0502-1 maintainer resolved blue",
		"smoke-offline SA-0502-1 maintainer raised yellow",
		"smoke-offline SA-0502-1 maintainer resolved yellow",
	})
	a := r.alert("smoke-fire-alarm", s)
	if want := "【红色(Ⅰ级)预警】示例小区3栋502（独居老人） 客厅独立式感烟火灾探测报警器(SA-0502-1)：烟雾火灾报警，设备上报已恢复正常（alarm=0）"; !strings.HasPrefix(a.Message, want) {
		t.Errorf("message %q, want it to start %q", a.Message, want)
	}
}
