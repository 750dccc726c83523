package spotcheck

import (
	"cmp"
	"slices"
	"time"

	"yujing/store"
)

// Groupings of the report: the organisation checked (an enterprise or a
// township), the organisation above it (its parent in the org tree: the
// township, park or bureau that supervises it), and its region.
var Groupings = []string{"org", "parent", "region"}

// Row is one group of the report. Checks counts the checks made (answered
// or missed); planned, calling and skipped ones are not made yet or were
// never made. OnDuty counts those the role checked answered within the
// deadline; Escalated those answered only by a role called after it;
// Missed those nobody answered. The on-duty rate (在岗率) is OnDuty /
// Checks (null when no check was made); the answer times are those of the
// on-duty answers, from the first call to the answer, in seconds.
type Row struct {
	Key       string   `json:"key"`
	Name      string   `json:"name,omitempty"`
	Checks    int      `json:"checks"`
	OnDuty    int      `json:"on_duty"`
	Escalated int      `json:"escalated"`
	Missed    int      `json:"missed"`
	Rate      *float64 `json:"on_duty_rate"`
	Median    *float64 `json:"median_answer_seconds"`
	Max       *float64 `json:"max_answer_seconds"`
	times     []float64
}

func (r *Row) add(c store.SpotCheck) {
	if c.State != store.SpotCheckAnswered && c.State != store.SpotCheckMissed {
		return
	}
	r.Checks++
	switch {
	case c.OnDuty():
		r.OnDuty++
		r.times = append(r.times, c.AnsweredAt.Sub(*c.StartedAt).Seconds())
	case c.State == store.SpotCheckAnswered:
		r.Escalated++
	default:
		r.Missed++
	}
}

func (r *Row) finish() {
	if r.Checks > 0 {
		v := float64(r.OnDuty) / float64(r.Checks)
		r.Rate = &v
	}
	if n := len(r.times); n > 0 {
		slices.Sort(r.times)
		m := r.times[n/2]
		if n%2 == 0 {
			m = (r.times[n/2-1] + r.times[n/2]) / 2
		}
		mx := r.times[n-1]
		r.Median, r.Max = &m, &mx
	}
}

// Report is the on-duty report of a period.
type Report struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	By    string    `json:"by"`
	Rows  []Row     `json:"rows"`
	Total Row       `json:"total"`
}

// Group names the group a check counts in for by=parent: its org's parent
// (id and name); "" when it has none.
type Group func(org string) (key, name string)

// Build counts checks (due in [from, to)) by org, parent (parentOf) or
// region; rows by key.
func Build(checks []store.SpotCheck, from, to time.Time, by string, parentOf Group) Report {
	rep := Report{From: from, To: to, By: by, Rows: []Row{}}
	rows := map[string]*Row{}
	for _, c := range checks {
		key, name := c.Org, c.OrgName
		switch by {
		case "region":
			key, name = c.Region, ""
		case "parent":
			key, name = "", ""
			if parentOf != nil {
				key, name = parentOf(c.Org)
			}
		}
		r, ok := rows[key]
		if !ok {
			r = &Row{Key: key, Name: name}
			rows[key] = r
		}
		r.add(c)
		rep.Total.add(c)
	}
	for _, r := range rows {
		r.finish()
		rep.Rows = append(rep.Rows, *r)
	}
	slices.SortFunc(rep.Rows, func(a, b Row) int { return cmp.Compare(a.Key, b.Key) })
	rep.Total.Key = "total"
	rep.Total.finish()
	return rep
}
