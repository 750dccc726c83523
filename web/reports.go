package web

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"yujing"
	"yujing/store"
)

// AnswerReports reads what the answer reports (考核) count.
type AnswerReports interface {
	AnswerRows(ctx context.Context, from, to time.Time) ([]store.AnswerRow, error)
	EscalationsBetween(ctx context.Context, from, to time.Time) ([]store.Escalation, error)
}

// People tells the reports a person's organisation and region (package
// duty's Book).
type People interface {
	Person(id string) (yujing.Person, bool)
	PersonRegion(id string) string
}

// AnswerStats are the figures of one group of the answer report. A
// "call" here is one person called in one step of one escalation, however
// many channels reached them (a ladder's SMS and voice count once): it is
// answered when any of them was, and its answer time runs from the first
// of them being made.
type AnswerStats struct {
	Key        string   `json:"key"`
	Name       string   `json:"name,omitempty"`
	Calls      int      `json:"calls"`
	Answered   int      `json:"answered"`
	Unanswered int      `json:"unanswered"`
	AnswerRate float64  `json:"answer_rate"` // answered / calls, 0 when no calls
	Median     *float64 `json:"median_seconds"`
	P90        *float64 `json:"p90_seconds"`
	latencies  []float64
}

// TopReached is a warning whose escalation ran to the top of its chain
// because nobody answered.
type TopReached struct {
	AlertID      int64        `json:"alert_id"`
	EscalationID int64        `json:"escalation_id"`
	Level        yujing.Level `json:"level"`
	Site         string       `json:"site"`
	Sensor       string       `json:"sensor"`
	Policy       string       `json:"policy"`
	StartedAt    time.Time    `json:"started_at"`
	TopReachedAt time.Time    `json:"top_reached_at"`
}

// AnswerReport is GET /api/v1/reports/answers.
type AnswerReport struct {
	From       time.Time     `json:"from"`
	To         time.Time     `json:"to"`
	By         string        `json:"by"`
	Rows       []AnswerStats `json:"rows"`
	Total      AnswerStats   `json:"total"`
	TopReached []TopReached  `json:"top_reached"`
}

// reportGroups are the report's groupings.
var reportGroups = []string{"person", "org", "region", "level", "day", "week", "month"}

// answerReport computes the report for [from, to) grouped by by.
func (s *Server) buildAnswerReport(ctx context.Context, from, to time.Time, by string) (AnswerReport, error) {
	rows, err := s.opts.Reports.AnswerRows(ctx, from, to)
	if err != nil {
		return AnswerReport{}, err
	}
	loc := s.opts.Location
	type unit struct {
		esc         int64
		round, step int
		person      string
	}
	type call struct {
		row      store.AnswerRow
		sent     time.Time
		answered *time.Time
	}
	units := map[unit]*call{}
	var order []unit
	for _, r := range rows {
		u := unit{r.EscalationID, r.Round, r.Step, r.Person}
		sent := r.CreatedAt // when the call was made, as escalate measures answers
		c, ok := units[u]
		if !ok {
			c = &call{row: r, sent: sent}
			units[u] = c
			order = append(order, u)
		}
		if sent.Before(c.sent) {
			c.sent = sent
		}
		if r.AnsweredAt != nil && (c.answered == nil || r.AnsweredAt.Before(*c.answered)) {
			c.answered = r.AnsweredAt
		}
	}
	groups := map[string]*AnswerStats{}
	total := AnswerStats{Key: "total"}
	for _, u := range order {
		c := units[u]
		key, name := s.reportKey(by, c.row, c.sent.In(loc))
		g, ok := groups[key]
		if !ok {
			g = &AnswerStats{Key: key, Name: name}
			groups[key] = g
		}
		for _, st := range []*AnswerStats{g, &total} {
			st.Calls++
			if c.answered != nil {
				st.Answered++
				st.latencies = append(st.latencies, math.Max(0, c.answered.Sub(c.sent).Seconds()))
			} else {
				st.Unanswered++
			}
		}
	}
	rep := AnswerReport{From: from, To: to, By: by, Rows: []AnswerStats{}, TopReached: []TopReached{}}
	for _, g := range groups {
		g.finish()
		rep.Rows = append(rep.Rows, *g)
	}
	slices.SortFunc(rep.Rows, func(a, b AnswerStats) int { return cmp.Compare(a.Key, b.Key) })
	total.finish()
	rep.Total = total
	escs, err := s.opts.Reports.EscalationsBetween(ctx, from, to)
	if err != nil {
		return AnswerReport{}, err
	}
	for _, e := range escs {
		if e.TopReachedAt == nil {
			continue
		}
		t := TopReached{AlertID: e.AlertID, EscalationID: e.ID, Level: e.Level, Policy: e.Policy,
			StartedAt: e.StartedAt, TopReachedAt: *e.TopReachedAt}
		if a, _, err := s.opts.Alerts.Get(ctx, e.AlertID); err == nil {
			t.Site, t.Sensor = a.Site, a.Sensor
		}
		rep.TopReached = append(rep.TopReached, t)
	}
	return rep, nil
}

func (st *AnswerStats) finish() {
	if st.Calls > 0 {
		st.AnswerRate = float64(st.Answered) / float64(st.Calls)
	}
	if len(st.latencies) > 0 {
		slices.Sort(st.latencies)
		m, p := quantile(st.latencies, 0.5), quantile(st.latencies, 0.9)
		st.Median, st.P90 = &m, &p
	}
}

// quantile of sorted values, linearly interpolated.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (pos-float64(i))*(sorted[i+1]-sorted[i])
}

// reportKey is the group of one call.
func (s *Server) reportKey(by string, r store.AnswerRow, sent time.Time) (key, name string) {
	switch by {
	case "person":
		return r.Person, r.PersonName
	case "org", "region":
		if s.opts.People == nil {
			return "", ""
		}
		if by == "region" {
			return s.opts.People.PersonRegion(r.Person), ""
		}
		p, _ := s.opts.People.Person(r.Person)
		return p.Org, ""
	case "level":
		return r.Level.String(), r.Level.Chinese()
	case "week":
		y, w := sent.ISOWeek()
		return fmt.Sprintf("%d-W%02d", y, w), ""
	case "month":
		return sent.Format("2006-01"), ""
	}
	return sent.Format("2006-01-02"), ""
}

func (s *Server) answerReport(w http.ResponseWriter, r *http.Request) {
	if rep, _, ok := loadReport(s, w, r, reportGroups, "person", s.buildAnswerReport); ok {
		writeJSON(w, http.StatusOK, rep)
	}
}

// answerReportCSV is the same report as CSV: one line per group and a
// total line; ?section=top_reached gives the warnings whose chain reached
// the top instead.
func (s *Server) answerReportCSV(w http.ResponseWriter, r *http.Request) {
	rep, q, ok := loadReport(s, w, r, reportGroups, "person", s.buildAnswerReport)
	if !ok {
		return
	}
	by := q.by
	topReached := r.URL.Query().Get("section") == "top_reached"
	name := "answers-" + by
	if topReached {
		name = "answers-top-reached"
	}
	cw := csvDownload(w, name+"-"+q.from.In(s.opts.Location).Format("20060102"))
	if topReached {
		_ = cw.Write([]string{"alert_id", "escalation_id", "level", "site", "sensor", "policy", "started_at", "top_reached_at"})
		for _, t := range rep.TopReached {
			_ = cw.Write([]string{strconv.FormatInt(t.AlertID, 10), strconv.FormatInt(t.EscalationID, 10), t.Level.String(),
				t.Site, t.Sensor, t.Policy, t.StartedAt.Format(time.RFC3339), t.TopReachedAt.Format(time.RFC3339)})
		}
		cw.Flush()
		return
	}
	_ = cw.Write([]string{by, "name", "calls", "answered", "unanswered", "answer_rate", "median_seconds", "p90_seconds"})
	for _, st := range append(rep.Rows, rep.Total) {
		_ = cw.Write([]string{st.Key, st.Name, strconv.Itoa(st.Calls), strconv.Itoa(st.Answered), strconv.Itoa(st.Unanswered),
			strconv.FormatFloat(st.AnswerRate, 'f', 4, 64), optSeconds(st.Median), optSeconds(st.P90)})
	}
	cw.Flush()
}

func optSeconds(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', 1, 64)
}
