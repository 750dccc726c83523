package alerting_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/store"
)

func TestParseSchedule(t *testing.T) {
	loc := shanghai(t)
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
		s, err := alerting.ParseSchedule(tc.spec, loc)
		if tc.err != "" {
			var se *alerting.ScheduleError
			if err == nil || !errors.As(err, &se) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseSchedule(%q) = %v, want a *ScheduleError containing %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSchedule(%q): %v", tc.spec, err)
			continue
		}
		if got := s.Next(from); !got.Equal(tc.next) {
			t.Errorf("ParseSchedule(%q).Next(%s) = %s, want %s", tc.spec, from, got, tc.next)
		}
	}
}

func TestDerivedMetric(t *testing.T) {
	for _, tc := range []struct {
		metric string
		fn     store.Func
		w      time.Duration
		want   string
	}{
		{"rain", store.FuncSum, 3 * time.Hour, "rain_sum_3h"},
		{"rain_1h", store.FuncSum, 3 * time.Hour, "rain_1h_sum_3h"},
		{"level", store.FuncRate, 30 * time.Minute, "level_rate_30m"},
		{"level", store.FuncMax, 90 * time.Minute, "level_max_90m"},
		{"temp", store.FuncMean, 45 * time.Second, "temp_mean_45s"},
		{"temp", store.FuncCount, 24 * time.Hour, "temp_count_24h"},
	} {
		if got := alerting.DerivedMetric(tc.metric, tc.fn, tc.w); got != tc.want {
			t.Errorf("DerivedMetric(%q, %s, %s) = %q, want %q", tc.metric, tc.fn, tc.w, got, tc.want)
		}
	}
}

func TestScheduledRuleValidate(t *testing.T) {
	loc := shanghai(t)
	cma := func() *alerting.ScheduledRule {
		r := &alerting.ScheduledRule{Schedule: "*/10 * * * *", Aggregate: store.FuncSum,
			Rule: alerting.Rule{Name: "rainstorm", Match: alerting.Selector{Family: yujing.FamilyWeather}}}
		for l, v := range map[yujing.Level]float64{yujing.Blue: 50, yujing.Yellow: 50, yujing.Orange: 50, yujing.Red: 100} {
			r.Rule.Above.Value[l], r.Rule.Above.Set[l] = v, true
		}
		r.Windows[yujing.Blue], r.Windows[yujing.Yellow] = 12*time.Hour, 6*time.Hour
		r.Windows[yujing.Orange], r.Windows[yujing.Red] = 3*time.Hour, 3*time.Hour
		return r
	}
	if err := cma().Validate(loc); err != nil {
		t.Errorf("CMA rainstorm rule: %v", err)
	}
	if !cma().PerLevel() {
		t.Error("CMA rainstorm rule: PerLevel() = false")
	}

	for _, tc := range []struct {
		name   string
		change func(r *alerting.ScheduledRule)
		want   []string
	}{
		{"same window, same threshold", func(r *alerting.ScheduledRule) { r.Rule.Above.Value[yujing.Red] = 50 },
			[]string{"red threshold 50 over 3h must be more extreme than orange threshold 50 over the same window"}},
		{"lower threshold", func(r *alerting.ScheduledRule) { r.Rule.Above.Value[yujing.Yellow] = 40 },
			[]string{"yellow threshold 40 over 6h must not be lower than blue threshold 50 over 12h"}},
		{"no window", func(r *alerting.ScheduledRule) { r.Windows[yujing.Blue] = 0 },
			[]string{"blue has no window"}},
		{"bad schedule and aggregate", func(r *alerting.ScheduledRule) { r.Schedule, r.Aggregate = "every 5 minutes", "median" },
			[]string{`schedule "every 5 minutes"`, `unknown aggregate "median"`}},
		{"not a threshold rule", func(r *alerting.ScheduledRule) { r.Rule.Kind = alerting.KindStuck },
			[]string{`kind "stuck" does not apply`}},
		{"one window: the usual order", func(r *alerting.ScheduledRule) {
			r.Windows = [yujing.Red + 1]time.Duration{}
			r.Window = 3 * time.Hour
		}, []string{"yellow threshold 50 must be higher than blue threshold 50"}},
	} {
		r := cma()
		tc.change(r)
		err := r.Validate(loc)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, w)
			}
		}
	}
}

// FuzzParseSchedule: a cron spec from a configuration file never panics,
// and a parsed schedule always fires again later.
func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"*/5 * * * *", "@every 5m", "CRON_TZ=UTC 0 0 * * *", "TZ=", "0 0 30 2 *", "1-5/2 8-18 * 1,6 MON-FRI", "@every 0s"} {
		f.Add(s)
	}
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := alerting.ParseSchedule(spec, time.UTC)
		if err != nil {
			return
		}
		if next := s.Next(from); !next.After(from) {
			t.Errorf("%q: Next(%s) = %s", spec, from, next)
		}
	})
}

// TestCalendarStart: a calendar window starts at the period that holds the
// instant just before the tick, in the scheduler's zone: a tick during the
// month sums the month so far, a tick at 00:00 on the 1st the month before.
func TestCalendarStart(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	d := func(y int, m time.Month, day, h int) time.Time { return time.Date(y, m, day, h, 0, 0, 0, loc) }
	for _, c := range []struct {
		period   string
		at, want time.Time
	}{
		{alerting.CalendarMonth, d(2026, 3, 15, 8), d(2026, 3, 1, 0)},
		{alerting.CalendarMonth, d(2026, 3, 1, 0), d(2026, 2, 1, 0)},
		{alerting.CalendarMonth, d(2026, 1, 1, 0), d(2025, 12, 1, 0)},
		{alerting.CalendarMonth, d(2026, 3, 1, 0).Add(time.Second), d(2026, 3, 1, 0)},
		{alerting.CalendarDay, d(2026, 3, 15, 8), d(2026, 3, 15, 0)},
		{alerting.CalendarDay, d(2026, 3, 15, 0), d(2026, 3, 14, 0)},
		// 2026-02-28 16:30 UTC is 03-01 00:30 in Shanghai: March there.
		{alerting.CalendarMonth, time.Date(2026, 2, 28, 16, 30, 0, 0, time.UTC), d(2026, 3, 1, 0)},
	} {
		if got := alerting.CalendarStart(c.period, c.at, loc); !got.Equal(c.want) {
			t.Errorf("CalendarStart(%s, %s) = %s, want %s", c.period, c.at.In(loc), got.In(loc), c.want)
		}
	}
}
