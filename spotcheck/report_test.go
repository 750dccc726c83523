package spotcheck

import (
	"testing"
	"time"

	"yujing/store"
)

// The report counts made checks only, on duty only when the role checked
// answered within the deadline, and gives exact rates and answer times.
func TestBuild(t *testing.T) {
	t0 := time.Now().Truncate(time.Hour)
	check := func(org, region, state string, step int, answerAfter time.Duration) store.SpotCheck {
		c := store.SpotCheck{Org: org, OrgName: org + "厂", Region: region, State: state, Deadline: 10 * time.Minute,
			AnswerStep: step}
		if state == store.SpotCheckAnswered || state == store.SpotCheckMissed {
			start := t0
			c.StartedAt = &start
		}
		if state == store.SpotCheckAnswered {
			at := t0.Add(answerAfter)
			c.AnsweredAt = &at
		}
		return c
	}
	checks := []store.SpotCheck{
		check("a", "320115", store.SpotCheckAnswered, 1, 60*time.Second),
		check("a", "320115", store.SpotCheckAnswered, 1, 180*time.Second),
		check("a", "320115", store.SpotCheckAnswered, 2, 14*time.Minute),  // the principal: not on duty
		check("a", "320115", store.SpotCheckAnswered, 1, 11*time.Minute),  // late, though the duty officer
		check("b", "320116", store.SpotCheckMissed, 0, 0),                 // nobody
		check("b", "320116", store.SpotCheckAnswered, 1, 600*time.Second), // at the deadline: in time
		check("b", "320116", store.SpotCheckSkipped, 0, 0),                // never made
		check("c", "320116", store.SpotCheckPlanned, 0, 0),                // not yet
	}
	parents := map[string][2]string{"a": {"t1", "东山街道"}, "b": {"t1", "东山街道"}}
	f := func(v *float64) float64 {
		if v == nil {
			return -1
		}
		return *v
	}
	for _, c := range []struct {
		by   string
		want []Row // key, checks, on duty, escalated, missed; rate, median, max checked apart
		rate []float64
		med  []float64
		max  []float64
	}{
		{"org", []Row{{Key: "a", Name: "a厂", Checks: 4, OnDuty: 2, Escalated: 2}, {Key: "b", Name: "b厂", Checks: 2, OnDuty: 1, Missed: 1},
			{Key: "c", Name: "c厂"}}, []float64{0.5, 0.5, -1}, []float64{120, 600, -1}, []float64{180, 600, -1}},
		{"region", []Row{{Key: "320115", Checks: 4, OnDuty: 2, Escalated: 2}, {Key: "320116", Checks: 2, OnDuty: 1, Missed: 1}},
			[]float64{0.5, 0.5}, []float64{120, 600}, []float64{180, 600}},
		{"parent", []Row{{Key: "", Checks: 0}, {Key: "t1", Name: "东山街道", Checks: 6, OnDuty: 3, Escalated: 2, Missed: 1}},
			[]float64{-1, 0.5}, []float64{-1, 180}, []float64{-1, 600}},
	} {
		rep := Build(checks, t0, t0.Add(24*time.Hour), c.by, func(org string) (string, string) { p := parents[org]; return p[0], p[1] })
		if len(rep.Rows) != len(c.want) {
			t.Fatalf("by %s: %d rows %+v, want %d", c.by, len(rep.Rows), rep.Rows, len(c.want))
		}
		for i, w := range c.want {
			g := rep.Rows[i]
			if g.Key != w.Key || g.Name != w.Name || g.Checks != w.Checks || g.OnDuty != w.OnDuty || g.Escalated != w.Escalated ||
				g.Missed != w.Missed || f(g.Rate) != c.rate[i] || f(g.Median) != c.med[i] || f(g.Max) != c.max[i] {
				t.Errorf("by %s row %d = %+v rate %v median %v max %v, want %+v rate %v median %v max %v", c.by, i, g,
					f(g.Rate), f(g.Median), f(g.Max), w, c.rate[i], c.med[i], c.max[i])
			}
		}
		if tot := rep.Total; tot.Checks != 6 || tot.OnDuty != 3 || f(tot.Rate) != 0.5 || f(tot.Median) != 180 || f(tot.Max) != 600 {
			t.Errorf("by %s: total %+v rate %v median %v", c.by, tot, f(tot.Rate), f(tot.Median))
		}
	}
}
