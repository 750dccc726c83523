package cronspec_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"yujing/internal/cronspec"
)

func TestParse(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2025, 1, 1, 23, 50, 0, 0, loc)
	for _, tc := range []struct {
		spec string
		next time.Time // "" for an error
		err  string
	}{
		{spec: "*/5 * * * *", next: time.Date(2025, 1, 1, 23, 55, 0, 0, loc)},
		{spec: "0 0 * * *", next: time.Date(2025, 1, 2, 0, 0, 0, 0, loc)},
		{spec: "@hourly", next: time.Date(2025, 1, 2, 0, 0, 0, 0, loc)},
		{spec: "@daily", next: time.Date(2025, 1, 2, 0, 0, 0, 0, loc)},
		{spec: "@every 5m", next: from.Add(5 * time.Minute)},
		{spec: "CRON_TZ=UTC 0 0 * * *", next: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)},
		{spec: "  30 8 * * 1-5 ", next: time.Date(2025, 1, 2, 8, 30, 0, 0, loc)},
		{spec: "", err: "empty"},
		{spec: "* * *", err: "expected exactly 5 fields"},
		{spec: "0 0 0 * * *", err: "expected exactly 5 fields"},
		{spec: "61 * * * *", err: "above maximum"},
		{spec: "@fortnightly", err: "unrecognized descriptor"},
		{spec: "CRON_TZ=Asia/Shanghai", err: "must be followed by"},
		{spec: "CRON_TZ=Nowhere/City 0 0 * * *", err: "bad location"},
		{spec: "0 0 30 2 *", err: "never fires"},
	} {
		s, err := cronspec.Parse(tc.spec, loc)
		if tc.err != "" {
			var se *cronspec.Error
			if err == nil || !errors.As(err, &se) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) = %v, want a *cronspec.Error containing %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.spec, err)
			continue
		}
		if got := s.Next(from); !got.Equal(tc.next) {
			t.Errorf("Parse(%q).Next(%s) = %s, want %s", tc.spec, from, got, tc.next)
		}
	}
}

// FuzzParse: a cron spec from a configuration file never panics,
// and a parsed schedule always fires again later.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"*/5 * * * *", "@every 5m", "CRON_TZ=UTC 0 0 * * *", "TZ=", "0 0 30 2 *", "1-5/2 8-18 * 1,6 MON-FRI", "@every 0s"} {
		f.Add(s)
	}
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := cronspec.Parse(spec, time.UTC)
		if err != nil {
			return
		}
		if next := s.Next(from); !next.After(from) {
			t.Errorf("%q: Next(%s) = %s", spec, from, next)
		}
	})
}
