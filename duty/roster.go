package duty

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// roster is a checked Roster, ready to resolve.
type roster struct {
	spec      Roster
	loc       *time.Location
	shifts    []int // minutes after midnight, increasing
	start     int64 // civil day number of the start date
	rotation  [][]string
	overrides []override
}

type override struct {
	from, to time.Time
	people   []string
	note     string
}

// period is who holds a roster from since until until.
type period struct {
	people       []string
	since, until time.Time
	override     *override // nil: the rotation
}

var clockPattern = regexp.MustCompile(`^([01]?[0-9]|2[0-3]):([0-5][0-9])$`)

// parseClock reads "08:00" as minutes after midnight.
func parseClock(s string) (int, error) {
	m := clockPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("want a time of day such as \"08:00\", got %q", s)
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	return h*60 + mi, nil
}

// parseDate reads "2026-01-01" as a civil day number.
func parseDate(s string) (int64, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("want a date such as 2026-01-01, got %q", s)
	}
	return dayNumber(t.Date()), nil
}

// parseInstant reads "2026-10-01 08:00" (or a date alone, meaning its
// midnight) in loc, or an RFC 3339 time.
func parseInstant(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("want a time such as \"2026-10-01 08:00\" (in the roster's time zone) or RFC 3339, got %q", s)
}

// dayNumber counts civil days from 1970-01-01.
func dayNumber(y int, m time.Month, d int) int64 {
	return floorDiv(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix(), 86400)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// shiftStart is when shift i of the civil day (y, m, d) begins. A shift
// whose start time the clocks skip (daylight saving begins) begins when
// they jump, so the day's shifts stay in order.
func (r *roster) shiftStart(y int, m time.Month, d, i int) time.Time {
	t := time.Date(y, m, d, 0, r.shifts[i], 0, 0, r.loc)
	want := time.Date(y, m, d, 0, r.shifts[i], 0, 0, time.UTC)
	got := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, time.UTC)
	switch diff := want.Sub(got); {
	case diff > 0: // read with the offset after the jump: before it
		t, _ = t.Add(diff).ZoneBounds()
	case diff < 0: // read with the offset before the jump: after it
		t, _ = t.ZoneBounds()
	}
	return t
}

// shift finds the rotation shift holding at t: its number counted from the
// start date's first shift (negative before it), and its bounds.
func (r *roster) shift(t time.Time) (n int64, since, until time.Time) {
	y, m, d := t.In(r.loc).Date()
	j := -1
	for i := range r.shifts {
		if !t.Before(r.shiftStart(y, m, d, i)) {
			j = i
		}
	}
	if j < 0 { // before the day's first shift: the last one of the day before
		y, m, d = time.Date(y, m, d-1, 12, 0, 0, 0, time.UTC).Date()
		j = len(r.shifts) - 1
	}
	since = r.shiftStart(y, m, d, j)
	if j+1 < len(r.shifts) {
		until = r.shiftStart(y, m, d, j+1)
	} else {
		until = r.shiftStart(y, m, d+1, 0)
	}
	n = (dayNumber(y, m, d)-r.start)*int64(len(r.shifts)) + int64(j)
	return n, since, until
}

// at resolves the roster at t: the override in force (the latest listed of
// those containing t), else the rotation's turn; since and until bound the
// time the same holders stay on duty for the same reason.
func (r *roster) at(t time.Time) period {
	win := -1
	for i, o := range r.overrides {
		if !t.Before(o.from) && t.Before(o.to) {
			win = i
		}
	}
	var p period
	later := r.overrides
	if win >= 0 {
		o := &r.overrides[win]
		p = period{people: o.people, since: o.from, until: o.to, override: o}
		later = r.overrides[win+1:]
	} else {
		n, since, until := r.shift(t)
		p = period{people: r.rotation[floorMod(n, int64(len(r.rotation)))], since: since, until: until}
	}
	// Only the overrides that would win over p (every one, over the
	// rotation) can cut it short.
	for _, o := range later {
		if o.to.After(p.since) && !o.to.After(t) {
			p.since = o.to
		}
		if o.from.After(t) && o.from.Before(p.until) {
			p.until = o.from
		}
	}
	return p
}
