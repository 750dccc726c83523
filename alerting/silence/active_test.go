package silence_test

import (
	"testing"
	"time"

	"yujing"
	"yujing/alerting/silence"
)

func TestActive(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	// Sunday 5 July 2026, 00:00 in Beijing time; the silences run for a month.
	sun := time.Date(2026, 7, 5, 0, 0, 0, 0, cst)
	at := func(day, hour, min int) time.Time {
		return sun.Add(time.Duration(day)*24*time.Hour + time.Duration(hour)*time.Hour + time.Duration(min)*time.Minute)
	}
	month := func(w *yujing.Window) yujing.Silence {
		return yujing.Silence{StartsAt: sun, EndsAt: sun.Add(30 * 24 * time.Hour), Window: w}
	}
	expired := func(sl yujing.Silence, e time.Time) yujing.Silence { sl.ExpiredAt = &e; return sl }
	sundayNight := &yujing.Window{Start: "02:00", End: "04:00", Weekdays: []time.Weekday{time.Sunday}}
	saturdayLate := &yujing.Window{Start: "22:00", End: "02:00", Weekdays: []time.Weekday{time.Saturday}}
	for _, tc := range []struct {
		name string
		sl   yujing.Silence
		t    time.Time
		want bool
	}{
		{"before it starts", month(nil), sun.Add(-time.Second), false},
		{"as it starts", month(nil), sun, true},
		{"within", month(nil), at(10, 12, 0), true},
		{"as it ends", month(nil), sun.Add(30 * 24 * time.Hour), false},
		{"expired before", expired(month(nil), at(1, 0, 0)), at(2, 0, 0), false},
		{"as it is expired", expired(month(nil), at(1, 0, 0)), at(1, 0, 0), false},
		{"expired later", expired(month(nil), at(3, 0, 0)), at(2, 0, 0), true},
		{"window: Sunday 03:00", month(sundayNight), at(0, 3, 0), true},
		{"window: Sunday 02:00, its start", month(sundayNight), at(0, 2, 0), true},
		{"window: Sunday 04:00, its end", month(sundayNight), at(0, 4, 0), false},
		{"window: Sunday 01:59", month(sundayNight), at(0, 1, 59), false},
		{"window: Monday 03:00, not its day", month(sundayNight), at(1, 3, 0), false},
		{"window: Sunday 03:00 given in UTC", month(sundayNight), at(7, 3, 0).UTC(), true},
		{"window every day: Wednesday 03:00", month(&yujing.Window{Start: "02:00", End: "04:00"}), at(3, 3, 0), true},
		{"past midnight: Saturday 23:00", month(saturdayLate), at(6, 23, 0), true},
		{"past midnight: Sunday 01:00 is Saturday's window", month(saturdayLate), at(7, 1, 0), true},
		{"past midnight: Saturday 01:00 is Friday's window", month(saturdayLate), at(6, 1, 0), false},
		{"past midnight: Sunday 23:00", month(saturdayLate), at(7, 23, 0), false},
		{"past midnight: Saturday 21:59", month(saturdayLate), at(6, 21, 59), false},
		{"a window that is not HH:MM", month(&yujing.Window{Start: "25:00", End: "04:00"}), at(0, 3, 0), false},
		{"an empty window", month(&yujing.Window{Start: "03:00", End: "03:00"}), at(0, 3, 0), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := silence.Active(&tc.sl, tc.t, cst); got != tc.want {
				t.Errorf("Active at %s = %v, want %v", tc.t.In(cst).Format("Mon 2006-01-02 15:04"), got, tc.want)
			}
		})
	}
}

// FuzzActive feeds Active windows of any text: it never panics, a window
// it cannot read silences nothing, and a window never widens a silence
// beyond its start and end.
func FuzzActive(f *testing.F) {
	f.Add("02:00", "04:00", int64(3*3600), uint8(0))
	f.Add("22:00", "02:00", int64(25*3600), uint8(6))
	f.Add("24:00", "", int64(0), uint8(9))
	f.Fuzz(func(t *testing.T, start, end string, offset int64, weekday uint8) {
		cst := time.FixedZone("CST", 8*3600)
		from := time.Date(2026, 7, 5, 0, 0, 0, 0, cst)
		sl := yujing.Silence{StartsAt: from, EndsAt: from.Add(7 * 24 * time.Hour),
			Window: &yujing.Window{Start: start, End: end, Weekdays: []time.Weekday{time.Weekday(weekday % 7)}}}
		at := from.Add(time.Duration(offset))
		got := silence.Active(&sl, at, cst)
		if got && (at.Before(sl.StartsAt) || !at.Before(sl.EndsAt)) {
			t.Fatalf("active at %s, outside %s – %s", at, sl.StartsAt, sl.EndsAt)
		}
		_, err1 := time.Parse("15:04", start)
		_, err2 := time.Parse("15:04", end)
		if got && (err1 != nil || err2 != nil) {
			t.Fatalf("window %q–%q is not HH:MM, yet active at %s", start, end, at)
		}
	})
}
