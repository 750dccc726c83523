package duty

import (
	"testing"
	"time"

	"yujing"
)

// FuzzRoster checks the laws of roster resolution at any time, with any
// shift times, in zones with and without daylight saving: someone always
// holds the roster, the period found contains the time asked, and the next
// period begins where it ends.
func FuzzRoster(f *testing.F) {
	f.Add(int64(0), uint16(480), uint16(1200), uint8(3), "Asia/Shanghai", false)
	f.Add(int64(1_773_000_000), uint16(150), uint16(1380), uint8(1), "America/New_York", true)
	f.Add(int64(-86_400*400), uint16(0), uint16(1), uint8(5), "UTC", true)
	f.Add(int64(1_790_000_000), uint16(90), uint16(180), uint8(2), "Europe/London", false)
	f.Fuzz(func(t *testing.T, sec int64, a, b uint16, n uint8, zone string, holiday bool) {
		if _, err := time.LoadLocation(zone); err != nil || zone == "" || sec < -1<<40 || sec > 1<<40 {
			return
		}
		s1, s2 := int(a)%1440, int(b)%1440
		if s1 >= s2 {
			return
		}
		clock := func(m int) string { return time.Date(2000, 1, 1, 0, m, 0, 0, time.UTC).Format("15:04") }
		people := []yujing.Person{{ID: "p0", Name: "0"}, {ID: "p1", Name: "1"}, {ID: "p2", Name: "2"}}
		r := Roster{Org: "o", Role: "r", Timezone: zone, Shifts: []string{clock(s1), clock(s2)}, Start: "2026-01-01"}
		for i := range int(n%5) + 1 {
			r.Rotation = append(r.Rotation, Turn{people[i%3].ID})
		}
		when := time.Unix(sec, 0)
		if holiday {
			r.Overrides = []Override{
				{From: when.Add(-time.Hour).Format(time.RFC3339), To: when.Add(time.Hour).Format(time.RFC3339), People: []string{"p2"}},
				{From: when.Add(-time.Minute).Format(time.RFC3339), To: when.Add(30 * time.Minute).Format(time.RFC3339), People: []string{"p1"}},
			}
		}
		d, err := New(Spec{People: people, Orgs: []Org{{ID: "o", Name: "O", Kind: "enterprise"}}, Rosters: []Roster{r}})
		if err != nil {
			t.Fatal(err)
		}
		ro := d.rosters["o/r"]
		p := ro.at(when)
		if len(p.people) == 0 {
			t.Fatalf("nobody holds the roster at %s", when)
		}
		if when.Before(p.since) || !when.Before(p.until) {
			t.Fatalf("at %s the period found is %s – %s", when, p.since, p.until)
		}
		if holiday && (p.override == nil || p.people[0] != "p1") {
			t.Fatalf("at %s the override defined last should hold, got %+v", when, p)
		}
		next := ro.at(p.until)
		if !next.since.Equal(p.until) {
			t.Fatalf("the period %s – %s is followed by one from %s", p.since, p.until, next.since)
		}
		if before := ro.at(p.since.Add(-time.Nanosecond)); !before.until.Equal(p.since) {
			t.Fatalf("the period %s – %s is preceded by one until %s", p.since, p.until, before.until)
		}
	})
}

// TestRosterDaylightSaving: a shift whose start the clocks skip begins when
// they jump; on the day they go back a 24-hour shift lasts 25 hours.
func TestRosterDaylightSaving(t *testing.T) {
	people := []yujing.Person{{ID: "a", Name: "A"}, {ID: "b", Name: "B"}}
	d, err := New(Spec{People: people, Orgs: []Org{{ID: "o", Name: "O", Kind: "enterprise", TZ: "America/New_York"}},
		Rosters: []Roster{{Org: "o", Role: "r", Shifts: []string{"02:30"}, Start: "2026-03-01", Rotation: []Turn{{"a"}, {"b"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ at, who, since, until string }{
		// 2026-03-08 02:00 EST the clocks jump to 03:00 EDT.
		{"2026-03-08T06:59:59Z", "a", "2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00"},
		{"2026-03-08T07:00:00Z", "b", "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"},
		// 2026-11-01 02:00 EDT they go back to 01:00 EST.
		{"2026-11-01T12:00:00Z", "b", "2026-11-01T02:30:00-05:00", "2026-11-02T02:30:00-05:00"},
		{"2026-10-31T12:00:00Z", "a", "2026-10-31T02:30:00-04:00", "2026-11-01T02:30:00-05:00"},
	} {
		when, _ := time.Parse(time.RFC3339, tc.at)
		p := d.rosters["o/r"].at(when)
		if p.people[0] != tc.who || p.since.Format(time.RFC3339) != tc.since || p.until.Format(time.RFC3339) != tc.until {
			t.Errorf("at %s: %s from %s until %s, want %s from %s until %s", tc.at, p.people[0],
				p.since.Format(time.RFC3339), p.until.Format(time.RFC3339), tc.who, tc.since, tc.until)
		}
	}
}
