package silence

import (
	"time"

	"yujing"
)

// Active reports whether sl holds back calls at t: after it starts, before
// it ends or was expired, and, with a window, within the window's hours
// and weekdays in loc.
func Active(sl *yujing.Silence, t time.Time, loc *time.Location) bool {
	if sl.ExpiredAt != nil && !t.Before(*sl.ExpiredAt) {
		return false
	}
	if t.Before(sl.StartsAt) || !t.Before(sl.EndsAt) {
		return false
	}
	if sl.Window == nil {
		return true
	}
	lt := t.In(loc)
	start, err1 := time.ParseInLocation("15:04", sl.Window.Start, loc)
	end, err2 := time.ParseInLocation("15:04", sl.Window.End, loc)
	if err1 != nil || err2 != nil {
		return false
	}
	min := lt.Hour()*60 + lt.Minute()
	from, to := start.Hour()*60+start.Minute(), end.Hour()*60+end.Minute()
	day := lt.Weekday()
	in := false
	if from <= to {
		in = min >= from && min < to
	} else { // past midnight: the part after midnight belongs to the previous day's window
		if min >= from {
			in = true
		} else if min < to {
			in, day = true, (day+6)%7
		}
	}
	if !in || len(sl.Window.Weekdays) == 0 {
		return in
	}
	for _, d := range sl.Window.Weekdays {
		if d == day {
			return true
		}
	}
	return false
}
