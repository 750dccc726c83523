package presets_test

import (
	"strings"
	"testing"
	"time"
)

// TestGeohazardPresetReproducesTangentAngleStages replays a landslide that
// creeps at 1 mm a day, settles into its uniform stage (2.1 mm a day) and
// accelerates (3, 15, 40 mm a day), with a rainstorm over the slope on the
// fourth day. The improved tangent angle atan(24-hour rate / 2 mm a day)
// goes through Xu Qiang's stages: blue in the uniform stage (≥ 45°), yellow
// in the initial acceleration (≥ 50°), orange in the medium acceleration
// (≥ 80°), red when sliding is imminent (≥ 85°); the crack meter, moving at
// 0.2 mm a day against its 0.5, raises nothing. The 24-hour rainfall is
// blue from 50 mm and yellow from 100 mm and steps back down as the window
// slides past the storm.
func TestGeohazardPresetReproducesTangentAngleStages(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 7, 1, 0, 0, 0, 0, mustShanghai(t))
	r := newReplay(t, "geohazard.yaml", start)
	daily := []float64{1, 2.1, 2.1, 3, 15, 40} // mm a day, by day
	gnss := 0.0
	r.schedule(start.Add(6*24*time.Hour), 10*time.Minute, func(from, to time.Time) {
		for ts := from; ts.Before(to); ts = ts.Add(10 * time.Minute) {
			h := ts.Sub(start).Hours()
			if ts.Minute() == 0 {
				if h > 0 {
					gnss += daily[int(h-1)/24] / 24 // the hour before ts
				}
				r.observe(ts, "GNSS-01", "displacement", gnss)
				r.observe(ts, "CR-01", "crack_width", 0.2*h/24)
			}
			rain := 0.0
			if day, hour := int(h)/24, int(h)%24; day == 3 && hour < 12 {
				rain = 2 // 12 mm an hour
			}
			r.observe(ts, "RG-01", "rain", rain)
		}
	})
	r.want([]string{
		"07-02 22:00 landslide-tangent-angle GNSS-01 raised blue 45.119",     // 2.008 mm/d: the uniform stage
		"07-04 08:00 landslide-tangent-angle GNSS-01 upgraded yellow 50.194", // 2.4 mm/d: initial acceleration
		"07-05 17:00 landslide-tangent-angle GNSS-01 upgraded orange 80.134", // 11.5 mm/d: medium acceleration
		"07-06 08:00 landslide-tangent-angle GNSS-01 upgraded red 85.101",    // 23.3 mm/d: imminent sliding
	}, "landslide-tangent-angle")
	r.want([]string{
		"07-04 04:10 landslide-rainfall RG-01 raised blue 50",
		"07-04 08:20 landslide-rainfall RG-01 upgraded yellow 100",
		"07-05 04:10 landslide-rainfall RG-01 downgraded blue 94",
		"07-05 08:20 landslide-rainfall RG-01 resolved blue 44",
	}, "landslide-rainfall")
	a := r.alert("landslide-tangent-angle", "GNSS-01")
	if want := "位移改进切线角 85.101°"; !strings.Contains(a.Message, want) || a.Unit != "°" {
		t.Errorf("message %q, unit %q: want %q and °", a.Message, a.Unit, want)
	}
}
