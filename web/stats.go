package web

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"yujing"
	"yujing/store"
)

// Alert report limits.
const (
	// DefaultReportPeriod is the period of a report that names no from.
	DefaultReportPeriod = 30 * 24 * time.Hour
	// MaxReportPeriod bounds to − from of one report.
	MaxReportPeriod = 366 * 24 * time.Hour
	// reportPage is how many alerts one List call of a report reads.
	reportPage = 1000
)

// ReportGroupings are the values of by= in GET /api/v1/reports/alerts.
var ReportGroupings = []string{"level", "family", "region", "industry", "site"}

// LevelCounts counts warnings per level.
type LevelCounts struct {
	Red    int `json:"red"`
	Orange int `json:"orange"`
	Yellow int `json:"yellow"`
	Blue   int `json:"blue"`
}

func (c *LevelCounts) add(l yujing.Level) {
	switch l {
	case yujing.Red:
		c.Red++
	case yujing.Orange:
		c.Orange++
	case yujing.Yellow:
		c.Yellow++
	case yujing.Blue:
		c.Blue++
	}
}

// AlertReportRow is one group of an alert report: its warnings per level,
// and how many of those closed were false alarms.
type AlertReportRow struct {
	Key    string      `json:"key"`            // the level, family, region code, industry or site id ("" unknown)
	Name   string      `json:"name,omitempty"` // the site's name, or the level in Chinese
	Alerts int         `json:"alerts"`
	Levels LevelCounts `json:"levels"`
	Open   int         `json:"open"`
	Closed int         `json:"closed"`
	// FalseAlarms are the closed ones closed with reason false_alarm;
	// FalseAlarmRate is FalseAlarms / Closed, null when none is closed.
	FalseAlarms    int      `json:"false_alarms"`
	FalseAlarmRate *float64 `json:"false_alarm_rate"`
}

func (r *AlertReportRow) add(a *yujing.Alert) {
	r.Alerts++
	r.Levels.add(a.Level)
	if a.State == yujing.StateClosed {
		r.Closed++
		if a.Reason == string(yujing.ReasonFalseAlarm) {
			r.FalseAlarms++
		}
	} else {
		r.Open++
	}
}

func (r *AlertReportRow) finish() {
	if r.Closed > 0 {
		v := float64(r.FalseAlarms) / float64(r.Closed)
		r.FalseAlarmRate = &v
	}
}

// AlertReport answers GET /api/v1/reports/alerts: warnings that started in
// [from, to) grouped by one dimension, the total, and the false-alarm rate
// of every site that had any.
type AlertReport struct {
	From  time.Time        `json:"from"`
	To    time.Time        `json:"to"`
	By    string           `json:"by"`
	Rows  []AlertReportRow `json:"rows"`
	Total AlertReportRow   `json:"total"`
	Sites []AlertReportRow `json:"sites"`
}

// siteLookup is implemented by a Sensors that knows its sites
// (ingest.Registry): reports then show site names and fall back to the
// site's region and industry for sensors that set none.
type siteLookup interface {
	Site(id string) (yujing.Site, bool)
}

// buildAlertReport reads every alert that started in [from, to) from as
// and groups it by by (one of ReportGroupings).
func (s *Server) buildAlertReport(ctx context.Context, from, to time.Time, by string) (AlertReport, error) {
	sensors := map[string]yujing.Sensor{}
	for _, st := range s.opts.Sensors.Statuses(s.opts.Now()) {
		sensors[st.ID] = st.Sensor
	}
	sites, _ := s.opts.Sensors.(siteLookup)
	site := func(id string) (yujing.Site, bool) {
		if sites == nil {
			return yujing.Site{}, false
		}
		return sites.Site(id)
	}
	key := func(a *yujing.Alert) string {
		switch by {
		case "level":
			return a.Level.String()
		case "family":
			return string(a.Family)
		case "site":
			return a.Site
		case "region":
			if code, ok := yujing.SiteRegion(a.Site); ok { // an issued warning's area
				return code
			}
			if sn, ok := sensors[a.Sensor]; ok && sn.Region != "" {
				return sn.Region
			}
			st, _ := site(a.Site)
			return st.Region
		case "industry":
			if sn, ok := sensors[a.Sensor]; ok && sn.Industry != "" {
				return sn.Industry
			}
			st, _ := site(a.Site)
			return st.Industry
		}
		return ""
	}
	groups := map[string]*AlertReportRow{}
	perSite := map[string]*AlertReportRow{}
	rep := AlertReport{From: from, To: to, By: by}
	// Pages come newest (highest id) first; an alert raised while paging
	// shifts the rest by one, so ids not below the last one seen are skipped.
	last := int64(-1)
	for offset := 0; ; {
		page, err := s.opts.Alerts.List(ctx, store.AlertFilter{From: from, To: to, Limit: reportPage, Offset: offset})
		if err != nil {
			return AlertReport{}, fmt.Errorf("alert report: list alerts: %w", err)
		}
		if len(page) == 0 {
			break
		}
		offset += len(page)
		for i := range page {
			a := &page[i]
			if last >= 0 && a.ID >= last {
				continue
			}
			last = a.ID
			k := key(a)
			g := groups[k]
			if g == nil {
				g = &AlertReportRow{Key: k}
				groups[k] = g
			}
			g.add(a)
			rep.Total.add(a)
			ps := perSite[a.Site]
			if ps == nil {
				ps = &AlertReportRow{Key: a.Site}
				perSite[a.Site] = ps
			}
			ps.add(a)
		}
	}
	name := func(r *AlertReportRow, isSite bool) {
		if isSite {
			if st, ok := site(r.Key); ok {
				r.Name = st.Name
			}
		} else if by == "level" {
			if l, err := yujing.ParseLevel(r.Key); err == nil {
				r.Name = l.Chinese()
			}
		}
		r.finish()
	}
	rep.Rows = make([]AlertReportRow, 0, len(groups))
	for _, g := range groups {
		name(g, by == "site")
		rep.Rows = append(rep.Rows, *g)
	}
	slices.SortFunc(rep.Rows, func(a, b AlertReportRow) int {
		if by == "level" {
			la, _ := yujing.ParseLevel(a.Key)
			lb, _ := yujing.ParseLevel(b.Key)
			return cmp.Compare(lb, la) // red first
		}
		return cmp.Or(cmp.Compare(b.Alerts, a.Alerts), cmp.Compare(a.Key, b.Key))
	})
	rep.Sites = make([]AlertReportRow, 0, len(perSite))
	for _, g := range perSite {
		name(g, true)
		rep.Sites = append(rep.Sites, *g)
	}
	// Highest false-alarm rate first: the sites whose thresholds need work.
	slices.SortFunc(rep.Sites, func(a, b AlertReportRow) int {
		ra, rb := -1.0, -1.0
		if a.FalseAlarmRate != nil {
			ra = *a.FalseAlarmRate
		}
		if b.FalseAlarmRate != nil {
			rb = *b.FalseAlarmRate
		}
		return cmp.Or(cmp.Compare(rb, ra), cmp.Compare(b.Alerts, a.Alerts), cmp.Compare(a.Key, b.Key))
	})
	rep.Total.Key = "total"
	rep.Total.finish()
	return rep, nil
}

// reportParams parses from, to and by of a report request: from and to
// are RFC 3339 times or dates (2026-07-01, midnight in loc), by default the
// DefaultReportPeriod up to now; by is one of groupings, def when absent.
func reportParams(r *http.Request, now time.Time, loc *time.Location, groupings []string, def string) (from, to time.Time, by string, err error) {
	q := r.URL.Query()
	parse := func(name string, t *time.Time) error {
		v := q.Get(name)
		if v == "" {
			return nil
		}
		p, err := time.Parse(time.RFC3339, v)
		if err != nil {
			if p, err = time.ParseInLocation(time.DateOnly, v, loc); err != nil {
				return fmt.Errorf("%s: want an RFC 3339 time such as 2025-06-01T00:00:00+08:00 or a date such as 2025-06-01, got %q", name, v)
			}
		}
		*t = p
		return nil
	}
	to = now
	if err := parse("to", &to); err != nil {
		return from, to, by, err
	}
	from = to.Add(-DefaultReportPeriod)
	if err := parse("from", &from); err != nil {
		return from, to, by, err
	}
	if !from.Before(to) {
		return from, to, by, fmt.Errorf("from: %s is not before to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if to.Sub(from) > MaxReportPeriod {
		return from, to, by, fmt.Errorf("from: the period from %s to %s is longer than %d days", from.Format(time.RFC3339), to.Format(time.RFC3339), int(MaxReportPeriod/(24*time.Hour)))
	}
	by = q.Get("by")
	if by == "" {
		by = def
	}
	if !slices.Contains(groupings, by) {
		return from, to, by, fmt.Errorf("by: want one of %v, got %q", groupings, by)
	}
	return from, to, by, nil
}

// reportQuery is a report's ?from=&to=&by=.
type reportQuery struct {
	from, to time.Time
	by       string
}

// loadReport reads a report's query (by one of groupings, default def) and
// builds the report with build. It answers a bad query (400) or a failure
// itself, and then returns ok false.
func loadReport[T any](s *Server, w http.ResponseWriter, r *http.Request, groupings []string, def string,
	build func(ctx context.Context, from, to time.Time, by string) (T, error)) (rep T, q reportQuery, ok bool) {
	from, to, by, err := reportParams(r, s.opts.Now(), s.opts.Location, groupings, def)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return rep, q, false
	}
	rep, err = build(r.Context(), from, to, by)
	if err != nil {
		s.fail(w, r, err)
		return rep, q, false
	}
	return rep, reportQuery{from, to, by}, true
}

// csvDownload starts a CSV attachment named name (".csv" added). It begins
// with a UTF-8 byte order mark so that spreadsheet programs show the
// Chinese names.
func csvDownload(w http.ResponseWriter, name string) *csv.Writer {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.csv"`, name))
	_, _ = w.Write([]byte("\uFEFF"))
	return csv.NewWriter(w)
}

// alertReport serves GET /api/v1/reports/alerts?from=&to=&by=.
func (s *Server) alertReport(w http.ResponseWriter, r *http.Request) {
	if rep, _, ok := loadReport(s, w, r, ReportGroupings, "level", s.buildAlertReport); ok {
		writeJSON(w, http.StatusOK, rep)
	}
}

// alertReportCSV serves GET /api/v1/reports/alerts.csv: the rows of the
// report, then the total.
func (s *Server) alertReportCSV(w http.ResponseWriter, r *http.Request) {
	rep, q, ok := loadReport(s, w, r, ReportGroupings, "level", s.buildAlertReport)
	if !ok {
		return
	}
	cw := csvDownload(w, fmt.Sprintf("yujing-alerts-by-%s-%s-%s", q.by, q.from.Format("20060102"), q.to.Format("20060102")))
	by := q.by
	_ = cw.Write([]string{by, "name", "alerts", "red", "orange", "yellow", "blue", "open", "closed", "false_alarms", "false_alarm_rate"})
	row := func(x AlertReportRow) {
		rate := ""
		if x.FalseAlarmRate != nil {
			rate = strconv.FormatFloat(*x.FalseAlarmRate, 'f', 4, 64)
		}
		_ = cw.Write([]string{x.Key, x.Name, strconv.Itoa(x.Alerts), strconv.Itoa(x.Levels.Red), strconv.Itoa(x.Levels.Orange),
			strconv.Itoa(x.Levels.Yellow), strconv.Itoa(x.Levels.Blue), strconv.Itoa(x.Open), strconv.Itoa(x.Closed),
			strconv.Itoa(x.FalseAlarms), rate})
	}
	for _, x := range rep.Rows {
		row(x)
	}
	row(rep.Total)
	cw.Flush()
}
