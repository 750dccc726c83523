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
	"yujing/alerting/issued"
	"yujing/alerting/lifecycle"
	"yujing/duty"
	"yujing/store"
)

// AnswerReports reads what the answer reports (考核) count.
type AnswerReports interface {
	AnswerRows(ctx context.Context, from, to time.Time) ([]store.AnswerRow, error)
	EscalationsBetween(ctx context.Context, from, to time.Time) ([]store.Escalation, error)
}

// People tells the reports a person's organisation and region, and the
// organisation tree (package duty's Book).
type People interface {
	Person(id string) (yujing.Person, bool)
	PersonRegion(id string) string
	// SiteRegion is a site's region code, or an area's own code for a
	// warning about an area ("region:320115").
	SiteRegion(site string) string
	Org(id string) (duty.Org, bool)
	// Ancestors is the organisation itself, then its parent, up to the root.
	Ancestors(orgID string) []duty.Org
}

// AnswerStats are the figures of one group of the answer report. A
// "call" here is one person called in one step of one escalation, however
// many channels reached them (a ladder's SMS and voice count once): its
// Outcome decides which count it goes to, and its answer time runs from
// the first of them being made.
//
// Calls = Answered + AnsweredByColleague + Unanswered + Pending + Stopped,
// and Stopped = StoppedResolved + StoppedSuperseded + StoppedClosed +
// StoppedOther. The answer rate (叫应率) is Answered / (Answered +
// Unanswered), null when both are 0: calls somebody else answered for and
// calls of chains that stopped before their deadline are shown apart, not
// counted as misses.
type AnswerStats struct {
	Key                 string   `json:"key"`
	Name                string   `json:"name,omitempty"`
	Calls               int      `json:"calls"`
	Answered            int      `json:"answered"`
	AnsweredByColleague int      `json:"answered_by_colleague"`
	Unanswered          int      `json:"unanswered"`
	Pending             int      `json:"pending"`
	Stopped             int      `json:"stopped"`
	StoppedResolved     int      `json:"stopped_resolved"`
	StoppedSuperseded   int      `json:"stopped_superseded"`
	StoppedClosed       int      `json:"stopped_closed"`
	StoppedOther        int      `json:"stopped_other"`
	AnswerRate          *float64 `json:"answer_rate"` // answered / (answered + unanswered); null when both are 0
	Median              *float64 `json:"median_seconds"`
	P90                 *float64 `json:"p90_seconds"`
	latencies           []float64
}

// add counts one call with outcome o, answered latency seconds after it
// was made.
func (st *AnswerStats) add(o Outcome, latency float64) {
	st.Calls++
	switch o {
	case OutcomeAnswered:
		st.Answered++
		st.latencies = append(st.latencies, latency)
	case OutcomeColleague:
		st.AnsweredByColleague++
	case OutcomeUnanswered:
		st.Unanswered++
	case OutcomePending:
		st.Pending++
	case OutcomeStoppedResolved:
		st.StoppedResolved++
	case OutcomeStoppedSuperseded:
		st.StoppedSuperseded++
	case OutcomeStoppedClosed:
		st.StoppedClosed++
	default:
		st.StoppedOther++
	}
	if o.Stopped() {
		st.Stopped++
	}
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
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	By   string    `json:"by"`
	// Rollup: each org (region) row also counts the calls of the orgs
	// below it (the regions it covers), so rows overlap; Total counts each
	// call once.
	Rollup bool `json:"rollup"`
	// Source and Area are the filters applied: the warnings' source
	// ("cap" for issued warnings in CAP, "rules" for the rule engine's;
	// "" all) and the area they are about (a region code: warnings of
	// areas and sites within it; "" all).
	Source     string        `json:"source,omitempty"`
	Area       string        `json:"area,omitempty"`
	Rows       []AnswerStats `json:"rows"`
	Total      AnswerStats   `json:"total"`
	TopReached []TopReached  `json:"top_reached"`
}

// reportGroups are the report's groupings; rollupGroups those a roll-up
// applies to.
var (
	reportGroups = []string{"person", "org", "region", "area", "level", "day", "week", "month"}
	rollupGroups = []string{"org", "region", "area"}
)

// SourceRules is the source of the rule engine's warnings in the
// reports' source filter; an issued warning's source is its own (cap).
const SourceRules = "rules"

// answerFilter keeps the calls of some warnings: by source and by area.
type answerFilter struct{ source, area string }

// sourceOf is the source of an alert's rule: an issued warning's source,
// else SourceRules.
func sourceOf(rule string) string {
	if src, ok := issued.SourceOf(rule); ok {
		return src
	}
	return SourceRules
}

// areaOf is the area a call's warning is about: an issued warning's area
// code, else its site's region.
func (s *Server) areaOf(site string) string {
	if code, ok := yujing.SiteRegion(site); ok {
		return code
	}
	if s.opts.People == nil {
		return ""
	}
	return s.opts.People.SiteRegion(site)
}

func (s *Server) keep(f answerFilter, rule, site string) bool {
	if f.source != "" && sourceOf(rule) != f.source {
		return false
	}
	return f.area == "" || duty.RegionCovers(f.area, s.areaOf(site))
}

// buildAnswerReport computes the report for [from, to) grouped by by, of
// the calls about the warnings f keeps; rollup adds each call to the rows
// of the orgs above its person's org (by=org), of the regions covering its
// person's region (by=region) or of those covering its warning's area
// (by=area).
func (s *Server) buildAnswerReport(ctx context.Context, from, to time.Time, by string, rollup bool, f answerFilter) (AnswerReport, error) {
	if rollup && !slices.Contains(rollupGroups, by) {
		return AnswerReport{}, fmt.Errorf("%w: rollup: only with by=org, by=region or by=area, not by=%s", lifecycle.ErrInvalid, by)
	}
	rows, err := s.opts.Reports.AnswerRows(ctx, from, to)
	if err != nil {
		return AnswerReport{}, err
	}
	units := map[callUnit]*unitCalls{}
	first := map[callUnit]store.AnswerRow{}
	escs := map[int64]store.Escalation{}
	var order []callUnit
	for _, r := range rows {
		if !s.keep(f, r.Rule, r.Site) {
			continue
		}
		u := callUnit{r.EscalationID, r.Round, r.Step, r.Person}
		c, ok := units[u]
		if !ok {
			c = &unitCalls{}
			units[u] = c
			first[u] = r
			order = append(order, u)
		}
		// When the call was made, as escalate measures answers.
		c.add(r.CreatedAt, r.Deadline, r.AnsweredAt)
		escs[r.EscalationID] = r.Escalation
	}
	outs := outcomes(units, escs, s.opts.Now())
	loc := s.opts.Location
	groups := map[string]*AnswerStats{}
	total := AnswerStats{Key: "total"}
	for _, u := range order {
		c, o := units[u], outs[u]
		latency := 0.0
		if c.answered != nil {
			latency = math.Max(0, c.answered.Sub(c.first).Seconds())
		}
		total.add(o, latency)
		for _, k := range s.reportKeys(by, rollup, first[u], c.first.In(loc)) {
			g, ok := groups[k.key]
			if !ok {
				g = &AnswerStats{Key: k.key, Name: k.name}
				groups[k.key] = g
			}
			g.add(o, latency)
		}
	}
	rep := AnswerReport{From: from, To: to, By: by, Rollup: rollup, Source: f.source, Area: f.area, Rows: []AnswerStats{},
		TopReached: []TopReached{}}
	for _, g := range groups {
		g.finish()
		rep.Rows = append(rep.Rows, *g)
	}
	slices.SortFunc(rep.Rows, func(a, b AnswerStats) int {
		if by == "level" {
			la, _ := yujing.ParseLevel(a.Key)
			lb, _ := yujing.ParseLevel(b.Key)
			return cmp.Compare(lb, la) // red first
		}
		return cmp.Compare(a.Key, b.Key)
	})
	total.finish()
	rep.Total = total
	escList, err := s.opts.Reports.EscalationsBetween(ctx, from, to)
	if err != nil {
		return AnswerReport{}, err
	}
	for _, e := range escList {
		if e.TopReachedAt == nil {
			continue
		}
		t := TopReached{AlertID: e.AlertID, EscalationID: e.ID, Level: e.Level, Policy: e.Policy,
			StartedAt: e.StartedAt, TopReachedAt: *e.TopReachedAt}
		a, _, err := s.opts.Alerts.Get(ctx, e.AlertID)
		if err == nil {
			t.Site, t.Sensor = a.Site, a.Sensor
		}
		if (f.source != "" || f.area != "") && (err != nil || !s.keep(f, a.Rule, a.Site)) {
			continue
		}
		rep.TopReached = append(rep.TopReached, t)
	}
	return rep, nil
}

func (st *AnswerStats) finish() {
	if n := st.Answered + st.Unanswered; n > 0 {
		r := float64(st.Answered) / float64(n)
		st.AnswerRate = &r
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

// groupKey is a report row's key and name.
type groupKey struct{ key, name string }

// reportKeys are the groups one call counts in: one, or with rollup the
// person's org and every org above it (by=org), the person's region and
// every region covering it (by=region).
func (s *Server) reportKeys(by string, rollup bool, r store.AnswerRow, sent time.Time) []groupKey {
	switch by {
	case "person":
		return []groupKey{{r.Person, r.PersonName}}
	case "org":
		if s.opts.People == nil {
			return []groupKey{{}}
		}
		p, _ := s.opts.People.Person(r.Person)
		if !rollup {
			o, _ := s.opts.People.Org(p.Org)
			return []groupKey{{p.Org, o.Name}}
		}
		var out []groupKey
		for _, o := range s.opts.People.Ancestors(p.Org) {
			out = append(out, groupKey{o.ID, o.Name})
		}
		if len(out) == 0 {
			out = append(out, groupKey{key: p.Org})
		}
		return out
	case "region":
		if s.opts.People == nil {
			return []groupKey{{}}
		}
		code := s.opts.People.PersonRegion(r.Person)
		if !rollup {
			return []groupKey{{key: code}}
		}
		var out []groupKey
		for _, c := range regionAncestors(code) {
			out = append(out, groupKey{key: c})
		}
		return out
	case "area":
		code := s.areaOf(r.Site)
		if !rollup {
			return []groupKey{{key: code}}
		}
		var out []groupKey
		for _, c := range regionAncestors(code) {
			out = append(out, groupKey{key: c})
		}
		return out
	case "level":
		return []groupKey{{r.Level.String(), r.Level.Chinese()}}
	case "week":
		y, w := sent.ISOWeek()
		return []groupKey{{key: fmt.Sprintf("%d-W%02d", y, w)}}
	case "month":
		return []groupKey{{key: sent.Format("2006-01")}}
	}
	return []groupKey{{key: sent.Format("2006-01-02")}}
}

// regionAncestors is an administrative division code and the codes of the
// divisions above it (GB/T 2260): a village 320115001001, its township
// 320115001, county 320115, city 320100, province 320000. A code that is
// not one (duty.ValidRegion), "" included, is returned alone.
func regionAncestors(code string) []string {
	if !duty.ValidRegion(code) {
		return []string{code}
	}
	out := []string{code}
	for c := code; ; {
		switch {
		case len(c) > 6:
			c = c[:len(c)-3]
		case c[4:] != "00":
			c = c[:4] + "00"
		case c[2:4] != "00":
			c = c[:2] + "0000"
		default:
			return out
		}
		out = append(out, c)
	}
}

// answerBuilder reads the answer report's rollup parameter (1, true, 0,
// false; default false) and its filters, source (cap, rules, …) and area
// (a region code), and returns its builder.
func (s *Server) answerBuilder(r *http.Request) func(ctx context.Context, from, to time.Time, by string) (AnswerReport, error) {
	return func(ctx context.Context, from, to time.Time, by string) (AnswerReport, error) {
		q := r.URL.Query()
		f := answerFilter{source: q.Get("source"), area: q.Get("area")}
		if f.area != "" && !duty.ValidRegion(f.area) {
			return AnswerReport{}, fmt.Errorf("%w: area: %q is not an administrative division code (6, 9 or 12 digits)", lifecycle.ErrInvalid, f.area)
		}
		rollup := false
		if v := r.URL.Query().Get("rollup"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return AnswerReport{}, fmt.Errorf("%w: rollup: want 1 or 0, got %q", lifecycle.ErrInvalid, v)
			}
			rollup = b
		}
		return s.buildAnswerReport(ctx, from, to, by, rollup, f)
	}
}

func (s *Server) answerReport(w http.ResponseWriter, r *http.Request) {
	if rep, _, ok := loadReport(s, w, r, reportGroups, "person", s.answerBuilder(r)); ok {
		writeJSON(w, http.StatusOK, rep)
	}
}

// answerReportCSV is the same report as CSV: one line per group and a
// total line; ?section=top_reached gives the warnings whose chain reached
// the top instead.
func (s *Server) answerReportCSV(w http.ResponseWriter, r *http.Request) {
	rep, q, ok := loadReport(s, w, r, reportGroups, "person", s.answerBuilder(r))
	if !ok {
		return
	}
	by := q.by
	topReached := r.URL.Query().Get("section") == "top_reached"
	name := "answers-" + by
	if rep.Rollup {
		name += "-rollup"
	}
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
	_ = cw.Write([]string{by, "name", "calls", "answered", "answered_by_colleague", "unanswered", "pending", "stopped",
		"stopped_resolved", "stopped_superseded", "stopped_closed", "stopped_other", "answer_rate", "median_seconds", "p90_seconds"})
	for _, st := range append(rep.Rows, rep.Total) {
		line := []string{st.Key, st.Name}
		for _, n := range []int{st.Calls, st.Answered, st.AnsweredByColleague, st.Unanswered, st.Pending, st.Stopped,
			st.StoppedResolved, st.StoppedSuperseded, st.StoppedClosed, st.StoppedOther} {
			line = append(line, strconv.Itoa(n))
		}
		_ = cw.Write(append(line, optFloat(st.AnswerRate, 4), optFloat(st.Median, 1), optFloat(st.P90, 1)))
	}
	cw.Flush()
}

// optFloat formats v with prec decimals, "" for nil.
func optFloat(v *float64, prec int) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', prec, 64)
}
