package ingest

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"yujing"
)

// Registry knows every sensor, the topic each publishes on, and the last
// reading of each. Lookups are lock-free; the catalogue is replaced whole.
type Registry struct {
	cat atomic.Pointer[catalog]
}

type catalog struct {
	byID      map[string]*entry
	byTopic   map[string]*entry
	sites     map[string]yujing.Site
	order     []string
	templates []template
	// nodeDevices lists, per Sparkplug edge node ("group/edge"), the
	// sensors that are its devices.
	nodeDevices map[string][]string
}

// sparkplugTopic splits spBv1.0/<group>/<type>/<edge>[/<device>].
func sparkplugTopic(topic string) (group, typ, edge, device string, ok bool) {
	if !strings.HasPrefix(topic, "spBv1.0/") {
		return "", "", "", "", false // without splitting: called for every message
	}
	parts := strings.Split(topic, "/")
	if len(parts) < 4 || len(parts) > 5 || parts[0] != "spBv1.0" {
		return "", "", "", "", false
	}
	if len(parts) == 5 {
		device = parts[4]
	}
	return parts[1], parts[2], parts[3], device, true
}

// SparkplugNode returns "group/edge" for a Sparkplug B topic, so that all
// messages of one edge node can be kept in order.
func SparkplugNode(topic string) (string, bool) {
	g, _, e, _, ok := sparkplugTopic(topic)
	return g + "/" + e, ok
}

type entry struct {
	sensor  yujing.Sensor
	mu      sync.Mutex
	last    map[string]yujing.Reading // metric → last reading
	seen    time.Time                 // receipt time of the newest reading
	offline time.Time                 // when the device said it went away (Sparkplug DEATH); zero if it did not
}

// NewRegistry builds a registry from sites and sensors, and optional topic
// templates (plant/{site}/gas/{sensor}) that map topics to sensors by name.
// Sensors without a topic get the default yujing/{site}/{sensor}. Duplicate
// ids or topics are errors.
func NewRegistry(sites []yujing.Site, sensors []yujing.Sensor, templates ...string) (*Registry, error) {
	r := &Registry{}
	if err := r.Replace(sites, sensors, templates...); err != nil {
		return nil, err
	}
	return r, nil
}

// Replace swaps the catalogue, keeping the last readings of sensors that
// remain.
func (r *Registry) Replace(sites []yujing.Site, sensors []yujing.Sensor, templates ...string) error {
	c := &catalog{byID: map[string]*entry{}, byTopic: map[string]*entry{}, sites: map[string]yujing.Site{}}
	for _, tpl := range templates {
		t, err := compileTemplate(tpl)
		if err != nil {
			return err
		}
		c.templates = append(c.templates, t)
	}
	for _, s := range sites {
		c.sites[s.ID] = s
	}
	old := r.cat.Load()
	for _, s := range sensors {
		if s.Topic == "" {
			s.Topic = yujing.DefaultTopic(s.Site, s.ID)
		}
		// A sensor without its own region or industry has its site's.
		if site, ok := c.sites[s.Site]; ok {
			if s.Region == "" {
				s.Region = site.Region
			}
			if s.Industry == "" {
				s.Industry = site.Industry
			}
		}
		if _, dup := c.byID[s.ID]; dup {
			return fmt.Errorf("sensor %q defined twice", s.ID)
		}
		if o, dup := c.byTopic[s.Topic]; dup {
			return fmt.Errorf("sensors %q and %q both publish on topic %q", o.sensor.ID, s.ID, s.Topic)
		}
		e := &entry{sensor: s, last: map[string]yujing.Reading{}}
		if old != nil {
			if oe, ok := old.byID[s.ID]; ok {
				oe.mu.Lock()
				for k, v := range oe.last {
					e.last[k] = v
				}
				e.seen, e.offline = oe.seen, oe.offline
				oe.mu.Unlock()
			}
		}
		c.byID[s.ID] = e
		c.byTopic[s.Topic] = e
		c.order = append(c.order, s.ID)
		// A Sparkplug B device publishes DBIRTH, DDATA and DDEATH, and its
		// edge node NBIRTH, NDATA and NDEATH: they all reach this sensor's
		// decoder (the node's ones the first of its devices').
		if g, typ, edge, dev, ok := sparkplugTopic(s.Topic); ok && s.Decoder == "sparkplugb" && dev != "" && typ == "DDATA" {
			for _, t := range []string{"DBIRTH", "DDEATH"} {
				c.byTopic["spBv1.0/"+g+"/"+t+"/"+edge+"/"+dev] = e
			}
			node := g + "/" + edge
			if c.nodeDevices == nil {
				c.nodeDevices = map[string][]string{}
			}
			if len(c.nodeDevices[node]) == 0 {
				for _, t := range []string{"NBIRTH", "NDATA", "NDEATH"} {
					c.byTopic["spBv1.0/"+g+"/"+t+"/"+edge] = e
				}
			}
			c.nodeDevices[node] = append(c.nodeDevices[node], s.ID)
		}
	}
	sort.Strings(c.order)
	r.cat.Store(c)
	return nil
}

// ByTopic returns the sensor publishing on topic: the sensor whose own
// topic it is, else the sensor a topic template names.
func (r *Registry) ByTopic(topic string) (*yujing.Sensor, bool) {
	c := r.cat.Load()
	if e, ok := c.byTopic[topic]; ok {
		return &e.sensor, true
	}
	for _, t := range c.templates {
		id, site, family, region, ok := t.match(topic)
		if !ok {
			continue
		}
		e, ok := c.byID[id]
		if !ok {
			continue
		}
		s := &e.sensor
		if (site != "" && site != s.Site) || (family != "" && family != string(s.Family)) || (region != "" && region != s.Region) {
			continue
		}
		return s, true
	}
	return nil, false
}

// TemplateFilters returns the subscriptions covering the topic templates.
func (r *Registry) TemplateFilters() []string {
	var out []string
	for _, t := range r.cat.Load().templates {
		out = append(out, t.filter())
	}
	return out
}

// nodeDevices returns the sensors that are devices of the Sparkplug edge
// node a topic belongs to.
func (r *Registry) nodeDevices(topic string) []string {
	node, ok := SparkplugNode(topic)
	if !ok {
		return nil
	}
	return r.cat.Load().nodeDevices[node]
}

// duplicate reports whether a reading of sensor/metric at t was already
// stored (the newest one has exactly that time).
func (r *Registry) duplicate(sensor, metric string, t time.Time) bool {
	e, ok := r.cat.Load().byID[sensor]
	if !ok {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	last, ok := e.last[metric]
	return ok && last.Time.Equal(t)
}

// setOffline records that a device announced it went away (true) or came
// back (false) at t.
func (r *Registry) setOffline(sensor string, offline bool, t time.Time) bool {
	e, ok := r.cat.Load().byID[sensor]
	if !ok {
		return false
	}
	e.mu.Lock()
	if offline {
		e.offline = t
	} else {
		e.offline = time.Time{}
		e.seen = t
	}
	e.mu.Unlock()
	return true
}

// ByID returns the sensor with id.
func (r *Registry) ByID(id string) (*yujing.Sensor, bool) {
	e, ok := r.cat.Load().byID[id]
	if !ok {
		return nil, false
	}
	return &e.sensor, true
}

// Site returns the site with id.
func (r *Registry) Site(id string) (yujing.Site, bool) {
	s, ok := r.cat.Load().sites[id]
	return s, ok
}

// SitesInRegion lists the sites in an administrative region: those whose
// division code starts with code (province 32 contains city 3205, which
// contains county 320506).
func (r *Registry) SitesInRegion(code string) []string {
	out := []string{}
	for id, s := range r.cat.Load().sites {
		if s.Region != "" && strings.HasPrefix(s.Region, code) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// Sensors lists every sensor, sorted by id.
func (r *Registry) Sensors() []yujing.Sensor {
	c := r.cat.Load()
	out := make([]yujing.Sensor, 0, len(c.order))
	for _, id := range c.order {
		out = append(out, c.byID[id].sensor)
	}
	return out
}

// Topics lists every sensor topic.
func (r *Registry) Topics() []string {
	c := r.cat.Load()
	out := make([]string, 0, len(c.byTopic))
	for t := range c.byTopic {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// record notes the newest readings of their sensors.
func (r *Registry) record(rs []yujing.Reading, now time.Time) {
	c := r.cat.Load()
	for _, rd := range rs {
		e, ok := c.byID[rd.Sensor]
		if !ok {
			continue
		}
		e.mu.Lock()
		if prev, ok := e.last[rd.Metric]; !ok || !rd.Time.Before(prev.Time) {
			e.last[rd.Metric] = rd
		}
		e.seen = now
		if !e.offline.IsZero() && now.After(e.offline) {
			e.offline = time.Time{}
		}
		e.mu.Unlock()
	}
}

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

// Statuses reports every sensor's last readings and whether it is online: a
// sensor is online when it was heard within OfflineAfter × its interval.
func (r *Registry) Statuses(now time.Time) []Status {
	c := r.cat.Load()
	out := make([]Status, 0, len(c.order))
	for _, id := range c.order {
		e := c.byID[id]
		st := Status{Sensor: e.sensor}
		e.mu.Lock()
		for _, rd := range e.last {
			st.Last = append(st.Last, rd)
		}
		if !e.seen.IsZero() {
			seen := e.seen
			st.LastSeen = &seen
		}
		announcedOffline := !e.offline.IsZero()
		e.mu.Unlock()
		sort.Slice(st.Last, func(i, j int) bool { return st.Last[i].Metric < st.Last[j].Metric })
		interval := e.sensor.Interval
		if interval <= 0 {
			interval = DefaultInterval
		}
		st.Interval = interval.String()
		st.Online = !announcedOffline && st.LastSeen != nil && now.Sub(*st.LastSeen) <= OfflineAfter*interval
		out = append(out, st)
	}
	return out
}
