package spotcheck

import (
	"fmt"
	"testing"
	"time"
)

// ParseClock takes what a configuration may hold and gives a time of day
// within the day, which reads back the same.
func FuzzParseClock(f *testing.F) {
	for _, s := range []string{"22:00", "06:00", "00:00", "23:59", "24:00", "7:5", "22:00:00", "", "-1:00", "２２:００"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseClock(s)
		if err != nil {
			return
		}
		if d < 0 || d >= 24*time.Hour || d%time.Minute != 0 {
			t.Fatalf("ParseClock(%q) = %v, want a minute of the day", s, d)
		}
		again, err := ParseClock(fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute)))
		if err != nil || again != d {
			t.Fatalf("ParseClock(%q) = %v does not read back (%v, %v)", s, d, again, err)
		}
		w := Window{From: d, To: d}
		if w.Length() != 24*time.Hour {
			t.Fatalf("a window from %v to itself lasts %v, want 24h", d, w.Length())
		}
	})
}

func TestWindowLength(t *testing.T) {
	for _, c := range []struct {
		from, to string
		want     time.Duration
	}{
		{"22:00", "06:00", 8 * time.Hour},
		{"08:00", "20:00", 12 * time.Hour},
		{"00:00", "00:00", 24 * time.Hour},
		{"23:30", "00:15", 45 * time.Minute},
	} {
		f, _ := ParseClock(c.from)
		to, _ := ParseClock(c.to)
		if got := (Window{From: f, To: to}).Length(); got != c.want {
			t.Errorf("%s–%s lasts %v, want %v", c.from, c.to, got, c.want)
		}
	}
}
