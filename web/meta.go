package web

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"yujing"
)

// Meta is what the console needs to show things as the server sees them:
// the time zone every time is shown in (the configured timezone, in which
// messages to officials state their times too), and the names of the
// sites and metrics it would otherwise show by id.
type Meta struct {
	Version string `json:"version"`
	// TimeZone is the IANA name of the configured zone (Asia/Shanghai);
	// UTCOffset its offset from UTC now, in seconds, for a browser that
	// does not know the name.
	TimeZone  string `json:"timezone"`
	UTCOffset int    `json:"utc_offset_seconds"`
	// Now is the server's clock: the console reckons "now" (a chart's
	// end, how long ago, whether a deadline passed) from it, not from the
	// browser's clock, which on a duty-room PC may be minutes or years off.
	Now time.Time `json:"now"`
	// Sites are the sites that have sensors, with their location when the
	// configuration gives one (their outlines: GET /api/v1/sites/map).
	Sites []yujing.Site `json:"sites"`
	// Metrics are the display names of the metrics the sensors report,
	// by family (a river's level is 水位, a tank's 液位); "" when yujing
	// has none.
	Metrics []MetricName `json:"metrics"`
}

// MetricName is a metric's display name in Chinese and English.
type MetricName struct {
	Family yujing.Family `json:"family"`
	Metric string        `json:"metric"`
	ZH     string        `json:"zh"`
	EN     string        `json:"en"`
}

// meta answers GET /api/v1/meta.
func (s *Server) meta(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now().In(s.opts.Location)
	_, off := now.Zone()
	m := Meta{Version: s.opts.Version, TimeZone: s.opts.Location.String(), UTCOffset: off, Now: now,
		Sites: []yujing.Site{}, Metrics: []MetricName{}}
	if s.opts.Sensors != nil {
		sites, metrics := map[string]bool{}, map[string]bool{}
		for _, st := range s.opts.Sensors.Statuses(now) {
			if !sites[st.Site] {
				sites[st.Site] = true
				if site, ok := s.opts.Sensors.Site(st.Site); ok {
					m.Sites = append(m.Sites, site)
				}
			}
			names := []string{st.Metric}
			for k := range st.Units {
				names = append(names, k)
			}
			for _, metric := range names {
				key := string(st.Family) + "/" + metric
				if metric == "" || metrics[key] {
					continue
				}
				metrics[key] = true
				zh, en := yujing.MetricName(st.Family, metric)
				m.Metrics = append(m.Metrics, MetricName{Family: st.Family, Metric: metric, ZH: zh, EN: en})
			}
		}
		slices.SortFunc(m.Sites, func(a, b yujing.Site) int { return strings.Compare(a.ID, b.ID) })
		slices.SortFunc(m.Metrics, func(a, b MetricName) int {
			return strings.Compare(string(a.Family)+"/"+a.Metric, string(b.Family)+"/"+b.Metric)
		})
	}
	writeJSON(w, http.StatusOK, m)
}
