package ingest

import (
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"yujing"
)

// Status is a sensor with what was last heard from it.
type Status struct {
	yujing.Sensor
	Interval string           `json:"interval"`  // expected reporting interval, e.g. "10s"
	Last     []yujing.Reading `json:"last"`      // newest reading per metric
	LastSeen *time.Time       `json:"last_seen"` // receipt time of the newest message
	Online   bool             `json:"online"`
}

// DefaultInterval is the expected reporting interval of a sensor that sets
// none.
const DefaultInterval = time.Minute

// OfflineAfter is how many expected intervals may pass without a reading
// before a sensor counts as offline.
const OfflineAfter = 3

// online reports whether the sensor at p is online at now (Unix ns):
// heard within OfflineAfter × its interval and not announced offline
// since. Called with p's lock held.
func (c *catalog) online(p int32, now int64) bool {
	l := &c.live[p]
	if l.seen == 0 || l.more != nil && l.more.offline != 0 && l.seen <= l.more.offline {
		return false
	}
	return now-l.seen <= int64(OfflineAfter*c.interval(p))
}

func (c *catalog) interval(p int32) time.Duration {
	if iv := c.recs[p].cls.s.Interval; iv > 0 {
		return iv
	}
	return DefaultInterval
}

// status returns the status of the sensor at p.
func (r *Registry) status(c *catalog, p int32, now time.Time) Status {
	st := Status{Sensor: c.sensor(p)}
	mu := c.lock(p)
	mu.Lock()
	l := &c.live[p]
	add := func(v *lastValue) {
		if v.metric == 0 {
			return
		}
		name := r.metrics.name(v.metric)
		st.Last = append(st.Last, yujing.Reading{Sensor: st.ID, Site: st.Site, Family: st.Family, Metric: name,
			Unit: st.UnitOf(name), Value: v.value, Time: time.Unix(0, v.at).UTC(), Region: st.Region, Industry: st.Industry})
	}
	add(&l.last)
	if l.more != nil {
		for i := range l.more.last {
			add(&l.more.last[i])
		}
	}
	if l.seen != 0 {
		seen := time.Unix(0, l.seen)
		st.LastSeen = &seen
	}
	st.Online = c.online(p, now.UnixNano())
	mu.Unlock()
	sort.Slice(st.Last, func(i, j int) bool { return st.Last[i].Metric < st.Last[j].Metric })
	st.Interval = c.interval(p).String()
	return st
}

// Statuses reports every sensor's last readings and whether it is online: a
// sensor is online when it was heard within OfflineAfter × its interval.
func (r *Registry) Statuses(now time.Time) []Status {
	c := r.cat.Load()
	out := make([]Status, len(c.recs))
	for i := range c.recs {
		out[i] = r.status(c, int32(i), now)
	}
	return out
}

// Status reports one sensor's last readings and whether it is online.
func (r *Registry) Status(id string, now time.Time) (Status, bool) {
	c := r.cat.Load()
	p, ok := c.find(id)
	if !ok {
		return Status{}, false
	}
	return r.status(c, p, now), true
}

// SensorQuery selects sensors, and a page of them, for GET
// /api/v1/sensors: the sensors come in order of id, and a page starts
// after the last id of the one before (keyset paging: a sensor added or
// removed meanwhile moves no other from one page to the next).
type SensorQuery struct {
	Site   string        // only this site's sensors
	Family yujing.Family // only this family
	Region string        // only sensors in this administrative region (its code, or a prefix: 32, 3205)
	Status string        // "online" or "offline"; "" for both
	Q      string        // only sensors whose id or name contains this, in any case
	After  string        // only sensors whose id sorts after this
	Limit  int           // at most this many; 0 for all
}

// SensorPage is a page of the sensors a query selects.
type SensorPage struct {
	Sensors []Status
	Total   int  // how many the query selects, on every page
	More    bool // sensors follow this page
}

// Query returns the page of sensors q selects, with the number selected.
// It reads every sensor's few bytes but builds a Status only for those on
// the page.
func (r *Registry) Query(now time.Time, q SensorQuery) SensorPage {
	c := r.cat.Load()
	start := sort.Search(len(c.recs), func(i int) bool { return c.recs[i].id > q.After })
	if q.After == "" {
		start = 0
	}
	nowNS := now.UnixNano()
	page := SensorPage{Sensors: []Status{}}
	for i := range c.recs {
		p := int32(i)
		rec := &c.recs[i]
		s := &rec.cls.s
		if (q.Site != "" && s.Site != q.Site) || (q.Family != "" && s.Family != q.Family) ||
			(q.Region != "" && !strings.HasPrefix(s.Region, q.Region)) ||
			(q.Q != "" && !containsFold(rec.id, q.Q) && !containsFold(rec.name, q.Q)) {
			continue
		}
		if q.Status != "" {
			mu := c.lock(p)
			mu.Lock()
			online := c.online(p, nowNS)
			mu.Unlock()
			if online != (q.Status == "online") {
				continue
			}
		}
		page.Total++
		if i < start {
			continue
		}
		if q.Limit > 0 && len(page.Sensors) == q.Limit {
			page.More = true
			continue
		}
		page.Sensors = append(page.Sensors, r.status(c, p, now))
	}
	return page
}

// containsFold reports whether s contains sub, ignoring case.
func containsFold(s, sub string) bool {
	if len(sub) > len(s) {
		return false
	}
	if strings.Contains(s, sub) {
		return true
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		if utf8.RuneStart(s[i]) && strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
