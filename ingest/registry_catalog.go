package ingest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"yujing"
	"yujing/internal/idindex"
)

type catalog struct {
	recs []sensorRec   // sorted by id
	live []liveState   // recs[i]'s, under lock(i)
	ids  idindex.Index // id → place in recs
	// own maps the topics sensors have as their own, other than the
	// default yujing/<site>/<id>, to their places; routes the Sparkplug
	// topics a sensor also takes (its BIRTH and DEATH, its node's).
	own, routes map[string]int32
	sites       map[string]yujing.Site
	templates   []template
	// nodeDevices lists, per Sparkplug edge node ("group/edge"), the
	// sensors that are its devices; nodeSensors holds the place of the
	// sensor registered on the node's own NDATA topic, if any.
	nodeDevices map[string][]string
	nodeSensors map[string]int32
	locks       *[lockStripes]stripe
}

// lockStripes is how many locks the sensors' live state shares: sensor i
// takes lock i % lockStripes, so the shards rarely meet on one.
const lockStripes = 512

type stripe struct {
	sync.Mutex
	_ [56]byte // one cache line each
}

func (c *catalog) lock(i int32) *sync.Mutex { return &c.locks[uint32(i)%lockStripes].Mutex }

func (c *catalog) key(i int32) string { return c.recs[i].id }

// find returns the place of the sensor with id.
func (c *catalog) find(id string) (int32, bool) { return c.ids.Find(id, c.key) }

// sensorRec is one sensor: its own fields, and those it shares with the
// sensors alike.
type sensorRec struct {
	id   string
	name string
	cls  *sensorClass
	x    *recExtra // nil unless the sensor has a location or a topic of its own
}

type recExtra struct {
	location string
	topic    string // "" : the default yujing/<site>/<id>
}

func (r *sensorRec) ownTopic() string {
	if r.x != nil {
		return r.x.topic
	}
	return ""
}

// topic returns the sensor's topic.
func (r *sensorRec) topic() string {
	if t := r.ownTopic(); t != "" {
		return t
	}
	return yujing.DefaultTopic(r.cls.s.Site, r.id)
}

// sensorClass is what sensors alike share.
type sensorClass struct {
	// s holds the shared fields; its ID, Name, Location and Topic are
	// not any sensor's. Region and Industry are the sensor's own or,
	// when it sets none, its site's.
	s yujing.Sensor
	// siteRegion and siteIndustry say Region and Industry are the site's.
	siteRegion, siteIndustry bool
	// saved: registered through the API (Catalog), not configured.
	saved bool
}

// classKey identifies a sensorClass.
type classKey struct {
	site, family, region, industry, metric, unit, decoder string
	interval                                              time.Duration
	min, max                                              float64
	hasMin, hasMax                                        bool
	units, tags, metricMap                                string
	siteRegion, siteIndustry, saved                       bool
}

// mapKey is a map in a canonical form, "" when empty.
func mapKey(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "%d:%s%d:%s", len(k), k, len(m[k]), m[k])
	}
	return b.String()
}

// sensor returns the sensor at place i.
func (c *catalog) sensor(i int32) yujing.Sensor {
	r := &c.recs[i]
	s := r.cls.s
	s.ID, s.Name = r.id, r.name
	if r.x != nil {
		s.Location = r.x.location
	}
	s.Topic = r.topic()
	return s
}

// raw returns the sensor at place i as it was given: without the region
// and industry its site lent it, and without a topic when it has the
// default one.
func (c *catalog) raw(i int32) yujing.Sensor {
	r := &c.recs[i]
	s := r.cls.s
	s.ID, s.Name = r.id, r.name
	if r.x != nil {
		s.Location, s.Topic = r.x.location, r.x.topic
	}
	if r.cls.siteRegion {
		s.Region = ""
	}
	if r.cls.siteIndustry {
		s.Industry = ""
	}
	return s
}

// each calls f with every sensor as it was given (raw) and whether it was
// saved through the API, in order of id, until f fails.
func (c *catalog) each(f func(s *yujing.Sensor, saved bool) error) error {
	for i := range c.recs {
		s := c.raw(int32(i))
		if err := f(&s, c.recs[i].cls.saved); err != nil {
			return err
		}
	}
	return nil
}

// sensorView is a sensor as the ingest pipeline reads it: its id, and the
// fields it shares with the sensors alike. Its Name, Location and Topic
// are not the sensor's: the pipeline does not read them, and a view costs
// no allocation.
type sensorView struct {
	ID string
	*yujing.Sensor
}

func (c *catalog) view(i int32) sensorView {
	r := &c.recs[i]
	return sensorView{ID: r.id, Sensor: &r.cls.s}
}

// liveState is what was last heard from a sensor. Times are Unix
// nanoseconds, 0 for none.
type liveState struct {
	// seen is the receipt time of the newest message heard from the
	// sensor (a reading, or a Sparkplug BIRTH), offline that of the newest
	// DEATH: a sensor is announced offline while its DEATH is not older
	// than what was last heard. Both only move forward, so the order in
	// which a batch's readings and a DEATH are recorded does not matter,
	// only the order in which they were received.
	seen int64
	last lastValue // the newest reading of the first metric heard
	more *liveMore // the other metrics', the DEATH: rarely needed
}

type liveMore struct {
	offline int64 // see seen
	last    []lastValue
	// extra holds the metric names admitted for a sensor that lists no
	// metrics, besides its own metric (bounded by the subscriber).
	extra []uint32
}

// lastValue is a sensor's newest reading of a metric; snapshot when it is
// a BIRTH's value that a DATA of the same instant may yet replace.
type lastValue struct {
	at       int64 // the reading's time
	value    float64
	metric   uint32 // metricNames id; 0: no reading
	snapshot bool
}

// get returns the newest reading of metric m, or nil.
func (l *liveState) get(m uint32) *lastValue {
	if l.last.metric == m {
		return &l.last
	}
	if l.more != nil {
		for i := range l.more.last {
			if l.more.last[i].metric == m {
				return &l.more.last[i]
			}
		}
	}
	return nil
}

// slot returns where the newest reading of metric m goes.
func (l *liveState) slot(m uint32) *lastValue {
	if v := l.get(m); v != nil {
		return v
	}
	if l.last.metric == 0 {
		return &l.last
	}
	if l.more == nil {
		l.more = &liveMore{}
	}
	l.more.last = append(l.more.last, lastValue{})
	return &l.more.last[len(l.more.last)-1]
}

func (l *liveState) clone() liveState {
	out := *l
	if l.more != nil {
		out.more = &liveMore{offline: l.more.offline, last: slices.Clone(l.more.last), extra: slices.Clone(l.more.extra)}
	}
	return out
}

// metricNames interns the metric names of the readings kept: a sensor's
// newest readings hold 4-byte ids. Reading is lock-free; a name is added
// by copying the map, and new names are rare (a sensor that lists no
// metrics is bounded by mqtt.max_undeclared_metrics).
type metricNames struct {
	mu    sync.Mutex
	ids   atomic.Pointer[map[string]uint32]
	names atomic.Pointer[[]string] // id-1 → name
}

// lookup returns the id of name, if it has one.
func (m *metricNames) lookup(name string) (uint32, bool) {
	if p := m.ids.Load(); p != nil {
		id, ok := (*p)[name]
		return id, ok
	}
	return 0, false
}

// id returns the id of name, giving it one if it has none.
func (m *metricNames) id(name string) uint32 {
	if id, ok := m.lookup(name); ok {
		return id
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if id, ok := m.lookup(name); ok {
		return id
	}
	var names []string
	if p := m.names.Load(); p != nil {
		names = *p
	}
	names = append(names, strings.Clone(name))
	ids := map[string]uint32{}
	if p := m.ids.Load(); p != nil {
		ids = maps.Clone(*p)
	}
	id := uint32(len(names))
	ids[names[id-1]] = id
	m.names.Store(&names)
	m.ids.Store(&ids)
	return id
}

func (m *metricNames) name(id uint32) string { return (*m.names.Load())[id-1] }
