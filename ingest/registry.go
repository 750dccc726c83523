package ingest

import (
	"fmt"
	"maps"
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
	// sensors that are its devices; nodeSensors holds the sensor
	// registered on the node's own NDATA topic, if any.
	nodeDevices map[string][]string
	nodeSensors map[string]*entry
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
	sensor yujing.Sensor
	mu     sync.Mutex
	last   map[string]lastReading // metric → newest reading
	// extra holds the metric names admitted for a sensor that lists no
	// metrics, besides its own metric (bounded by the subscriber).
	extra map[string]struct{}
	// seen is the receipt time of the newest message heard from the
	// sensor (a reading, or a Sparkplug BIRTH), offline that of the newest
	// DEATH: a sensor is announced offline while its DEATH is not older
	// than what was last heard. Both only move forward, so the order in
	// which a batch's readings and a DEATH are recorded does not matter,
	// only the order in which they were received.
	seen    time.Time
	offline time.Time
}

// lastReading is a sensor's newest reading of a metric; snapshot when it
// is a BIRTH's value that a DATA of the same instant may yet replace.
type lastReading struct {
	yujing.Reading
	snapshot bool
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
	c := &catalog{byID: map[string]*entry{}, byTopic: map[string]*entry{}, sites: map[string]yujing.Site{},
		nodeDevices: map[string][]string{}, nodeSensors: map[string]*entry{}}
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
		e := &entry{sensor: s, last: map[string]lastReading{}, extra: map[string]struct{}{}}
		if old != nil {
			if oe, ok := old.byID[s.ID]; ok {
				oe.mu.Lock()
				maps.Copy(e.last, oe.last)
				maps.Copy(e.extra, oe.extra)
				e.seen, e.offline = oe.seen, oe.offline
				oe.mu.Unlock()
			}
		}
		c.byID[s.ID] = e
		c.byTopic[s.Topic] = e
		c.order = append(c.order, s.ID)
	}
	c.sparkplugTopics(sensors)
	sort.Strings(c.order)
	r.cat.Store(c)
	return nil
}

// sparkplugTopics routes the other topics of Sparkplug B sensors, which
// never take a topic a sensor has as its own. A device (decoder
// sparkplugb, topic spBv1.0/<group>/DDATA/<edge>/<device>) also gets its
// DBIRTH and DDEATH; a node sensor (topic spBv1.0/<group>/NDATA/<edge>)
// its node's NBIRTH and NDEATH. A node without a node sensor has its
// NBIRTH, NDATA and NDEATH routed to its first device, so that they reach
// a sparkplugb decoder: the devices' BIRTH and DEATH hang on them.
func (c *catalog) sparkplugTopics(sensors []yujing.Sensor) {
	route := func(topic string, e *entry) {
		if _, taken := c.byTopic[topic]; !taken {
			c.byTopic[topic] = e
		}
	}
	for _, s := range sensors {
		e := c.byID[s.ID]
		if g, typ, edge, dev, ok := sparkplugTopic(e.sensor.Topic); ok && s.Decoder == "sparkplugb" && dev == "" && typ == "NDATA" {
			c.nodeSensors[g+"/"+edge] = e
			for _, t := range []string{"NBIRTH", "NDEATH"} {
				route("spBv1.0/"+g+"/"+t+"/"+edge, e)
			}
		}
	}
	for _, s := range sensors {
		e := c.byID[s.ID]
		if g, typ, edge, dev, ok := sparkplugTopic(e.sensor.Topic); ok && s.Decoder == "sparkplugb" && dev != "" && typ == "DDATA" {
			for _, t := range []string{"DBIRTH", "DDEATH"} {
				route("spBv1.0/"+g+"/"+t+"/"+edge+"/"+dev, e)
			}
			for _, t := range []string{"NBIRTH", "NDATA", "NDEATH"} {
				route("spBv1.0/"+g+"/"+t+"/"+edge, e)
			}
			node := g + "/" + edge
			c.nodeDevices[node] = append(c.nodeDevices[node], s.ID)
		}
	}
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

// nodeSensor returns the sensor of the Sparkplug edge node a topic
// belongs to: the one registered on the node's NDATA topic, else one
// whose id is the edge node id.
func (r *Registry) nodeSensor(topic string) (*yujing.Sensor, bool) {
	g, _, edge, _, ok := sparkplugTopic(topic)
	if !ok {
		return nil, false
	}
	c := r.cat.Load()
	e := c.nodeSensors[g+"/"+edge]
	if e == nil {
		if e = c.byID[edge]; e == nil {
			return nil, false
		}
	}
	return &e.sensor, true
}

// stored reports whether a reading of sensor/metric at t was stored (the
// newest one has exactly that time), and whether it is a BIRTH's snapshot.
func (r *Registry) stored(sensor, metric string, t time.Time) (found, snapshot bool) {
	e, ok := r.cat.Load().byID[sensor]
	if !ok {
		return false, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	last, ok := e.last[metric]
	return ok && last.Time.Equal(t), last.snapshot
}

// admit reports whether sensor, which lists no metrics, may have metric:
// one it has already, or a new one while it has fewer than max. A new
// one admitted counts from now on.
func (r *Registry) admit(sensor, metric string, max int) bool {
	e, ok := r.cat.Load().byID[sensor]
	if !ok {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.extra[metric]; ok {
		return true
	}
	if len(e.extra) >= max {
		return false
	}
	e.extra[metric] = struct{}{}
	return true
}

// setOffline records that a device announced it went away (true) or came
// back (false) in a message received at t.
func (r *Registry) setOffline(sensor string, offline bool, t time.Time) bool {
	e, ok := r.cat.Load().byID[sensor]
	if !ok {
		return false
	}
	e.mu.Lock()
	if offline {
		e.offline = later(e.offline, t)
	} else {
		e.seen = later(e.seen, t)
	}
	e.mu.Unlock()
	return true
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
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

// record notes the newest readings of their sensors; info[i] says when
// rs[i]'s message was received and whether it is a BIRTH's snapshot.
func (r *Registry) record(rs []yujing.Reading, info []readingInfo) {
	c := r.cat.Load()
	for i, rd := range rs {
		e, ok := c.byID[rd.Sensor]
		if !ok {
			continue
		}
		e.mu.Lock()
		if prev, ok := e.last[rd.Metric]; !ok || !rd.Time.Before(prev.Time) {
			e.last[rd.Metric] = lastReading{rd, info[i].snapshot}
		}
		e.seen = later(e.seen, info[i].at)
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
			st.Last = append(st.Last, rd.Reading)
		}
		if !e.seen.IsZero() {
			seen := e.seen
			st.LastSeen = &seen
		}
		announcedOffline := !e.offline.IsZero() && !e.seen.After(e.offline)
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
