package ingest

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"yujing"
	"yujing/internal/idindex"
)

// Registry knows every sensor, the topic each publishes on, and the last
// reading of each. Lookups are lock-free; the catalogue is replaced whole.
//
// A province has a million sensors, so the catalogue keeps each in a few
// dozen bytes (BENCHMARKS.md, "sensors at province scale"): what sensors
// alike share — site, family, region, industry, metric, unit, decoder,
// interval, range, tags — is held once for all of them (a sensorClass);
// a sensor's topic is not stored when it is the default
// yujing/<site>/<id>; sensors are found by id through an open-addressed
// index of their places; and the newest reading is kept per sensor in a
// slice beside them, its metric name interned.
type Registry struct {
	cat     atomic.Pointer[catalog]
	metrics metricNames
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

// splitDefaultTopic splits yujing/<site>/<sensor>.
func splitDefaultTopic(topic string) (site, id string, ok bool) {
	rest, ok := strings.CutPrefix(topic, "yujing/")
	if !ok {
		return "", "", false
	}
	site, id, ok = strings.Cut(rest, "/")
	if !ok || strings.IndexByte(id, '/') >= 0 {
		return "", "", false
	}
	return site, id, true
}

// isDefaultTopic reports whether topic is yujing/<site>/<id>, which the
// registry need not store: site and id have no '/'.
func isDefaultTopic(topic, site, id string) bool {
	s, i, ok := splitDefaultTopic(topic)
	return ok && s == site && i == id
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
	c, err := build(sites, templates, len(sensors), func(add func(*yujing.Sensor, bool) error) error {
		for i := range sensors {
			if err := add(&sensors[i], false); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.install(c)
	return nil
}

// install makes c the catalogue in force, with the last readings of the
// sensors it keeps.
func (r *Registry) install(c *catalog) {
	if old := r.cat.Load(); old != nil && len(old.recs) > 0 {
		for i := range c.recs {
			if j, ok := old.find(c.recs[i].id); ok {
				mu := old.lock(j)
				mu.Lock()
				c.live[i] = old.live[j].clone()
				mu.Unlock()
			}
		}
	}
	r.cat.Store(c)
}

// build makes a catalogue of the sensors src gives add, in order (about n
// of them), each saved or configured. A sensor without a topic gets the
// default; one without a region or industry, its site's.
func build(sites []yujing.Site, templates []string, n int, src func(add func(s *yujing.Sensor, saved bool) error) error) (*catalog, error) {
	c := &catalog{sites: make(map[string]yujing.Site, len(sites)), own: map[string]int32{}, routes: map[string]int32{},
		nodeDevices: map[string][]string{}, nodeSensors: map[string]int32{}, locks: new([lockStripes]stripe)}
	for _, tpl := range templates {
		t, err := compileTemplate(tpl)
		if err != nil {
			return nil, err
		}
		c.templates = append(c.templates, t)
	}
	for _, s := range sites {
		c.sites[s.ID] = s
	}
	c.recs = make([]sensorRec, 0, n)
	c.ids = idindex.New(n)
	classes := map[classKey]*sensorClass{}
	names := map[string]string{} // one copy of each name that recurs (the same names at every site)
	var buf []byte
	add := func(s *yujing.Sensor, saved bool) error {
		if len(c.recs) >= int(^uint32(0)>>2) {
			return fmt.Errorf("more than %d sensors", len(c.recs))
		}
		if len(c.recs) == c.ids.Cap() {
			c.regrow()
		}
		k := classKey{site: s.Site, family: string(s.Family), region: s.Region, industry: s.Industry, metric: s.Metric,
			unit: s.Unit, decoder: s.Decoder, interval: s.Interval, units: mapKey(s.Units), tags: mapKey(s.Tags),
			metricMap: mapKey(s.MetricMap), saved: saved}
		if s.Min != nil {
			k.min, k.hasMin = *s.Min, true
		}
		if s.Max != nil {
			k.max, k.hasMax = *s.Max, true
		}
		// A sensor without its own region or industry has its site's.
		if site, ok := c.sites[s.Site]; ok {
			if s.Region == "" {
				k.region, k.siteRegion = site.Region, site.Region != ""
			}
			if s.Industry == "" {
				k.industry, k.siteIndustry = site.Industry, site.Industry != ""
			}
		}
		p := int32(len(c.recs))
		c.recs = append(c.recs, sensorRec{id: s.ID})
		if _, fresh := c.ids.Insert(s.ID, p, c.key); !fresh {
			return fmt.Errorf("sensor %q defined twice", s.ID)
		}
		rec := &c.recs[p]
		rec.name = s.Name
		if n, ok := names[s.Name]; ok {
			rec.name = n
		} else {
			names[s.Name] = s.Name
		}
		topic := s.Topic
		if topic == "" || isDefaultTopic(topic, s.Site, s.ID) {
			topic = ""
			// Another sensor's own topic may be this one's default.
			if len(c.own) > 0 {
				buf = append(append(append(append(buf[:0], "yujing/"...), s.Site...), '/'), s.ID...)
				if o, dup := c.own[string(buf)]; dup {
					return fmt.Errorf("sensors %q and %q both publish on topic %q", c.recs[o].id, s.ID, string(buf))
				}
			}
		} else {
			other, dup := c.own[topic]
			if site, id, ok := splitDefaultTopic(topic); ok && !dup {
				// The default topic of another sensor.
				if o, found := c.find(id); found && o != p && c.recs[o].ownTopic() == "" && c.recs[o].cls.s.Site == site {
					other, dup = o, true
				}
			}
			if dup {
				return fmt.Errorf("sensors %q and %q both publish on topic %q", c.recs[other].id, s.ID, topic)
			}
			c.own[topic] = p
		}
		if topic != "" || s.Location != "" {
			rec.x = &recExtra{location: s.Location, topic: topic}
		}
		cls := classes[k]
		if cls == nil {
			cls = &sensorClass{s: yujing.Sensor{Site: s.Site, Family: s.Family, Region: k.region, Industry: k.industry,
				Metric: s.Metric, Unit: s.Unit, Units: s.Units, Decoder: s.Decoder, Interval: s.Interval, Min: s.Min,
				Max: s.Max, Tags: s.Tags, MetricMap: s.MetricMap},
				siteRegion: k.siteRegion, siteIndustry: k.siteIndustry, saved: saved}
			classes[k] = cls
		}
		rec.cls = cls
		return nil
	}
	if err := src(add); err != nil {
		return nil, err
	}
	c.sparkplugTopics()
	c.sortByID()
	c.live = make([]liveState, len(c.recs))
	return c, nil
}

// regrow doubles the index while building.
func (c *catalog) regrow() {
	x := idindex.New(2 * max(len(c.recs), 4))
	for i := range c.recs {
		x.Insert(c.recs[i].id, int32(i), c.key)
	}
	c.ids = x
}

// sortByID orders the sensors by id and indexes them again.
func (c *catalog) sortByID() {
	perm := make([]int32, len(c.recs))
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortFunc(perm, func(a, b int32) int { return strings.Compare(c.recs[a].id, c.recs[b].id) })
	to := make([]int32, len(perm)) // old place → new
	recs := make([]sensorRec, len(c.recs))
	for i, p := range perm {
		recs[i] = c.recs[p]
		to[p] = int32(i)
	}
	c.recs = recs
	for t, p := range c.own {
		c.own[t] = to[p]
	}
	for t, p := range c.routes {
		c.routes[t] = to[p]
	}
	for n, p := range c.nodeSensors {
		c.nodeSensors[n] = to[p]
	}
	c.ids = idindex.New(len(c.recs))
	for i := range c.recs {
		c.ids.Insert(c.recs[i].id, int32(i), c.key)
	}
}

// sparkplugTopics routes the other topics of Sparkplug B sensors, which
// never take a topic a sensor has as its own. A device (decoder
// sparkplugb, topic spBv1.0/<group>/DDATA/<edge>/<device>) also gets its
// DBIRTH and DDEATH; a node sensor (topic spBv1.0/<group>/NDATA/<edge>)
// its node's NBIRTH and NDEATH. A node without a node sensor has its
// NBIRTH, NDATA and NDEATH routed to its first device, so that they reach
// a sparkplugb decoder: the devices' BIRTH and DEATH hang on them.
func (c *catalog) sparkplugTopics() {
	route := func(topic string, p int32) {
		if _, taken := c.own[topic]; taken {
			return
		}
		if _, taken := c.routes[topic]; !taken {
			c.routes[topic] = p
		}
	}
	for p := range c.recs {
		r := &c.recs[p]
		if g, typ, edge, dev, ok := sparkplugTopic(r.ownTopic()); ok && r.cls.s.Decoder == "sparkplugb" && dev == "" && typ == "NDATA" {
			c.nodeSensors[g+"/"+edge] = int32(p)
			for _, t := range []string{"NBIRTH", "NDEATH"} {
				route("spBv1.0/"+g+"/"+t+"/"+edge, int32(p))
			}
		}
	}
	for p := range c.recs {
		r := &c.recs[p]
		if g, typ, edge, dev, ok := sparkplugTopic(r.ownTopic()); ok && r.cls.s.Decoder == "sparkplugb" && dev != "" && typ == "DDATA" {
			for _, t := range []string{"DBIRTH", "DDEATH"} {
				route("spBv1.0/"+g+"/"+t+"/"+edge+"/"+dev, int32(p))
			}
			for _, t := range []string{"NBIRTH", "NDATA", "NDEATH"} {
				route("spBv1.0/"+g+"/"+t+"/"+edge, int32(p))
			}
			node := g + "/" + edge
			c.nodeDevices[node] = append(c.nodeDevices[node], r.id)
		}
	}
}

// lookupTopic returns the place of the sensor publishing on topic: the
// sensor whose own topic it is, else the one it is routed to, else the
// sensor a topic template names.
func (c *catalog) lookupTopic(topic string) (int32, bool) {
	if p, ok := c.ownerOf(topic); ok {
		return p, true
	}
	if p, ok := c.routes[topic]; ok {
		return p, true
	}
	for _, t := range c.templates {
		id, site, family, region, ok := t.match(topic)
		if !ok {
			continue
		}
		p, ok := c.find(id)
		if !ok {
			continue
		}
		s := &c.recs[p].cls.s
		if (site != "" && site != s.Site) || (family != "" && family != string(s.Family)) || (region != "" && region != s.Region) {
			continue
		}
		return p, true
	}
	return 0, false
}

// ownerOf returns the place of the sensor whose own topic topic is.
func (c *catalog) ownerOf(topic string) (int32, bool) {
	if p, ok := c.own[topic]; ok {
		return p, true
	}
	if site, id, ok := splitDefaultTopic(topic); ok {
		if p, ok := c.find(id); ok && c.recs[p].ownTopic() == "" && c.recs[p].cls.s.Site == site {
			return p, true
		}
	}
	return 0, false
}

// ByTopic returns the sensor publishing on topic: the sensor whose own
// topic it is, else the sensor a topic template names.
func (r *Registry) ByTopic(topic string) (*yujing.Sensor, bool) {
	c := r.cat.Load()
	p, ok := c.lookupTopic(topic)
	if !ok {
		return nil, false
	}
	s := c.sensor(p)
	return &s, true
}

// viewByTopic is ByTopic for the pipeline, without an allocation.
func (r *Registry) viewByTopic(topic string) (sensorView, bool) {
	c := r.cat.Load()
	p, ok := c.lookupTopic(topic)
	if !ok {
		return sensorView{}, false
	}
	return c.view(p), true
}

// topicOwner returns the id of the sensor whose own topic topic is.
func (r *Registry) topicOwner(topic string) (string, bool) {
	c := r.cat.Load()
	p, ok := c.ownerOf(topic)
	if !ok {
		return "", false
	}
	return c.recs[p].id, true
}

// TemplateFilters returns the subscriptions covering the topic templates.
func (r *Registry) TemplateFilters() []string {
	var out []string
	for _, t := range r.cat.Load().templates {
		out = append(out, t.filter())
	}
	return out
}

// uncovered returns the sensors' topics (own and routed) that none of
// filters covers, sorted. It builds each default topic in a buffer: with
// yujing/# among the filters, it allocates nothing per sensor.
func (r *Registry) uncovered(filters []string) []string {
	c := r.cat.Load()
	covered := func(t string) bool {
		for _, f := range filters {
			if TopicMatch(f, t) {
				return true
			}
		}
		return false
	}
	seen := map[string]bool{}
	var out []string
	keep := func(t string) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	// yujing/# (the default filter) or # covers every default topic.
	allDefault := slices.Contains(filters, "#") || slices.Contains(filters, "yujing/#")
	var buf []byte
	for i := range c.recs {
		rec := &c.recs[i]
		if allDefault || rec.ownTopic() != "" {
			continue
		}
		buf = append(append(append(append(buf[:0], "yujing/"...), rec.cls.s.Site...), '/'), rec.id...)
		if !covered(string(buf)) {
			keep(string(buf))
		}
	}
	for t := range c.own {
		if !covered(t) {
			keep(t)
		}
	}
	for t := range c.routes {
		if !covered(t) {
			keep(t)
		}
	}
	sort.Strings(out)
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
func (r *Registry) nodeSensor(topic string) (sensorView, bool) {
	g, _, edge, _, ok := sparkplugTopic(topic)
	if !ok {
		return sensorView{}, false
	}
	c := r.cat.Load()
	p, ok := c.nodeSensors[g+"/"+edge]
	if !ok {
		if p, ok = c.find(edge); !ok {
			return sensorView{}, false
		}
	}
	return c.view(p), true
}

// stored reports whether a reading of sensor/metric at t was stored (the
// newest one has exactly that time), and whether it is a BIRTH's snapshot.
func (r *Registry) stored(sensor, metric string, t time.Time) (found, snapshot bool) {
	c := r.cat.Load()
	p, ok := c.find(sensor)
	if !ok {
		return false, false
	}
	m, ok := r.metrics.lookup(metric)
	if !ok {
		return false, false
	}
	mu := c.lock(p)
	mu.Lock()
	defer mu.Unlock()
	last := c.live[p].get(m)
	if last == nil {
		return false, false
	}
	return last.at == t.UnixNano(), last.snapshot
}

// admit reports whether sensor, which lists no metrics, may have metric:
// one it has already, or a new one while it has fewer than max. A new
// one admitted counts from now on.
func (r *Registry) admit(sensor, metric string, max int) bool {
	c := r.cat.Load()
	p, ok := c.find(sensor)
	if !ok {
		return false
	}
	mu := c.lock(p)
	mu.Lock()
	defer mu.Unlock()
	l := &c.live[p]
	n := 0
	if l.more != nil {
		if m, ok := r.metrics.lookup(metric); ok && slices.Contains(l.more.extra, m) {
			return true
		}
		n = len(l.more.extra)
	}
	if n >= max {
		return false
	}
	if l.more == nil {
		l.more = &liveMore{}
	}
	l.more.extra = append(l.more.extra, r.metrics.id(metric))
	return true
}

// setOffline records that a device announced it went away (true) or came
// back (false) in a message received at t.
func (r *Registry) setOffline(sensor string, offline bool, t time.Time) bool {
	c := r.cat.Load()
	p, ok := c.find(sensor)
	if !ok {
		return false
	}
	mu := c.lock(p)
	mu.Lock()
	if offline {
		l := &c.live[p]
		if l.more == nil {
			l.more = &liveMore{}
		}
		l.more.offline = max(l.more.offline, t.UnixNano())
	} else {
		c.live[p].seen = max(c.live[p].seen, t.UnixNano())
	}
	mu.Unlock()
	return true
}

// ByID returns the sensor with id.
func (r *Registry) ByID(id string) (*yujing.Sensor, bool) {
	c := r.cat.Load()
	p, ok := c.find(id)
	if !ok {
		return nil, false
	}
	s := c.sensor(p)
	return &s, true
}

// viewByID is ByID for the pipeline, without an allocation.
func (r *Registry) viewByID(id string) (sensorView, bool) {
	c := r.cat.Load()
	p, ok := c.find(id)
	if !ok {
		return sensorView{}, false
	}
	return c.view(p), true
}

// Len returns how many sensors there are.
func (r *Registry) Len() int { return len(r.cat.Load().recs) }

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
	out := make([]yujing.Sensor, len(c.recs))
	for i := range c.recs {
		out[i] = c.sensor(int32(i))
	}
	return out
}

// Topics lists every sensor topic.
func (r *Registry) Topics() []string {
	c := r.cat.Load()
	out := make([]string, 0, len(c.recs)+len(c.routes))
	for i := range c.recs {
		out = append(out, c.recs[i].topic())
	}
	for t := range c.routes {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// record notes the newest readings of their sensors; info[i] says when
// rs[i]'s message was received and whether it is a BIRTH's snapshot.
func (r *Registry) record(rs []yujing.Reading, info []readingInfo) {
	c := r.cat.Load()
	for i := range rs {
		rd := &rs[i]
		p, ok := c.find(rd.Sensor)
		if !ok {
			continue
		}
		m := r.metrics.id(rd.Metric)
		at := rd.Time.UnixNano()
		mu := c.lock(p)
		mu.Lock()
		l := &c.live[p]
		if v := l.slot(m); v.metric == 0 || at >= v.at {
			*v = lastValue{at: at, value: rd.Value, metric: m, snapshot: info[i].snapshot}
		}
		l.seen = max(l.seen, info[i].at.UnixNano())
		mu.Unlock()
	}
}
