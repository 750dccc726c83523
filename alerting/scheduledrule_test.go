package alerting_test

import (
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/store"
)

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
