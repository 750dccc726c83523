package ingest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"yujing"
)

// SensorStore keeps the sensors registered, changed or deleted through the
// API, so they survive a restart. The configuration file's sensors are the
// base; saved ones override or add to them, deleted ones remove them.
type SensorStore interface {
	// PutSensors saves sensors in one transaction: all of them or, on
	// error, none.
	PutSensors(ctx context.Context, ss []yujing.Sensor) error
	DeleteSensor(ctx context.Context, id string) error
	SavedSensors(ctx context.Context) (saved []yujing.Sensor, deleted []string, err error)
}

// Errors of sensor management; match with errors.Is.
var (
	ErrSensorExists   = errors.New("sensor already exists")
	ErrSensorNotFound = errors.New("no such sensor")
)

// SensorError is a sensor that cannot be registered, naming the field.
type SensorError struct {
	Field string
	Msg   string
}

func (e *SensorError) Error() string { return e.Field + ": " + e.Msg }

// ImportProblem is what is wrong with one sensor of a batch: Index is its
// place in the batch, or -1 for the batch as a whole.
type ImportProblem struct {
	Index int
	ID    string
	Field string
	Msg   string
}

// ImportError lists every problem of a batch that Import refused.
type ImportError struct {
	Problems []ImportProblem
}

func (e *ImportError) Error() string {
	parts := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		if p.Index < 0 {
			parts = append(parts, p.Msg)
			continue
		}
		parts = append(parts, fmt.Sprintf("sensor %s: %s: %s", p.ID, p.Field, p.Msg))
	}
	return strings.Join(parts, "; ")
}

// SensorJSON is a sensor as the API takes it (POST and PUT
// /api/v1/sensors, a JSON import): the interval written as "10s".
type SensorJSON struct {
	ID        string            `json:"id"`
	Name      string            `json:"name,omitempty"`
	Site      string            `json:"site"`
	Family    string            `json:"family"`
	Region    string            `json:"region,omitempty"`
	Industry  string            `json:"industry,omitempty"`
	Metric    string            `json:"metric,omitempty"`
	Unit      string            `json:"unit,omitempty"`
	Units     map[string]string `json:"units,omitempty"`
	Location  string            `json:"location,omitempty"`
	Topic     string            `json:"topic,omitempty"`
	Decoder   string            `json:"decoder,omitempty"`
	Interval  string            `json:"interval,omitempty"` // e.g. "10s"
	Min       *float64          `json:"min,omitempty"`
	Max       *float64          `json:"max,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
	MetricMap map[string]string `json:"metric_map,omitempty"`
}

// Sensor is the sensor b describes; a bad interval is a *SensorError.
func (b *SensorJSON) Sensor() (yujing.Sensor, error) {
	s := yujing.Sensor{ID: b.ID, Name: b.Name, Site: b.Site, Family: yujing.Family(b.Family), Region: b.Region,
		Industry: b.Industry, Metric: b.Metric, Unit: b.Unit, Units: b.Units, Location: b.Location, Topic: b.Topic,
		Decoder: b.Decoder, Min: b.Min, Max: b.Max, Tags: b.Tags, MetricMap: b.MetricMap}
	if b.Interval != "" {
		d, err := time.ParseDuration(b.Interval)
		if err != nil {
			return s, &SensorError{Field: "interval", Msg: fmt.Sprintf("want a duration such as 10s, got %q", b.Interval)}
		}
		s.Interval = d
	}
	return s, nil
}

// Catalog manages the sensors: the configured ones plus those registered
// through the API, validated like the configuration file's, and applied to
// the registry at once. Listeners (the rule engine, the subscriber) are told
// after every change.
//
// The registry's sensors are the only copy the catalogue keeps: each knows
// whether it was configured or saved through the API, which is all a
// reload needs (saved sensors win over configured ones of the same id),
// and a province's million sensors are not held twice.
type Catalog struct {
	mu        sync.Mutex
	reg       *Registry
	st        SensorStore
	sites     siteSet
	templates []string
	decoders  []string
	families  yujing.Families
	deleted   map[string]bool
	listeners []func()
}

// siteSet is the sites sensors may belong to, with an index by id.
type siteSet struct {
	list []yujing.Site
	idx  map[string]int
}

func newSiteSet(sites []yujing.Site) siteSet {
	idx := make(map[string]int, len(sites))
	for i, s := range sites {
		if _, dup := idx[s.ID]; !dup {
			idx[s.ID] = i
		}
	}
	return siteSet{list: sites, idx: idx}
}

// NewCatalog manages reg's sensors. reg holds the configured sensors, base
// (NewRegistry(sites, base, templates...)): the catalogue takes them from
// there and keeps no copy of base (when reg holds another number of
// sensors, it is built from base first). decoders lists the decoder names
// that exist, families the sensor families the configuration knows. st
// may be nil for a catalogue that only checks (an offline dry run of an
// import): then every change fails.
func NewCatalog(reg *Registry, st SensorStore, sites []yujing.Site, base []yujing.Sensor, templates, decoders []string, families yujing.Families) *Catalog {
	if reg.Len() != len(base) {
		_ = reg.Replace(sites, base, templates...) // an error here, NewRegistry gave the caller already
	}
	return &Catalog{reg: reg, st: st, sites: newSiteSet(sites), templates: templates, decoders: decoders, families: families,
		deleted: map[string]bool{}}
}

// Families returns the sensor families the configuration knows.
func (c *Catalog) Families() yujing.Families {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.families
}

// OnChange registers f to run after every change of the sensors.
func (c *Catalog) OnChange(f func()) {
	c.mu.Lock()
	c.listeners = append(c.listeners, f)
	c.mu.Unlock()
}

// Load applies the saved sensors over the configured ones.
func (c *Catalog) Load(ctx context.Context) error {
	saved, deleted, err := c.st.SavedSensors(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range deleted {
		c.deleted[id] = true
	}
	savedIDs := make(map[string]bool, len(saved))
	for _, s := range saved {
		savedIDs[s.ID] = true
	}
	cur := c.reg.cat.Load()
	next, err := build(c.sites.list, c.templates, len(cur.recs)+len(saved), func(add func(*yujing.Sensor, bool) error) error {
		if err := cur.each(func(s *yujing.Sensor, wasSaved bool) error {
			if c.deleted[s.ID] || savedIDs[s.ID] {
				return nil
			}
			return add(s, wasSaved)
		}); err != nil {
			return err
		}
		for i := range saved {
			if !c.deleted[saved[i].ID] {
				if err := add(&saved[i], true); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.applyLocked(next)
	return nil
}

// Sites returns the sites sensors may belong to.
func (c *Catalog) Sites() []yujing.Site {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sites.list)
}

// Sensors returns the sensors in force, by id, as the registry holds them:
// topic, region and industry filled in.
func (c *Catalog) Sensors() []yujing.Sensor { return c.reg.Sensors() }

func (c *Catalog) applyLocked(next *catalog) {
	c.reg.install(next)
	for _, f := range c.listeners {
		f()
	}
}

var sensorID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// SetBase replaces the configured sensors, sites, templates and families
// (a reload), keeping those registered through the API on top. On error
// nothing changes.
func (c *Catalog) SetBase(sites []yujing.Site, base []yujing.Sensor, templates []string, families yujing.Families) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.reg.cat.Load()
	next, err := build(sites, templates, len(base)+len(cur.recs)/8, func(add func(*yujing.Sensor, bool) error) error {
		for i := range base {
			if c.deleted[base[i].ID] {
				continue
			}
			if p, ok := cur.find(base[i].ID); ok && cur.recs[p].cls.saved {
				continue // the saved one wins
			}
			if err := add(&base[i], false); err != nil {
				return err
			}
		}
		return cur.each(func(s *yujing.Sensor, saved bool) error {
			if !saved {
				return nil
			}
			return add(s, true)
		})
	})
	if err != nil {
		return err
	}
	c.sites, c.templates, c.families = newSiteSet(sites), templates, families
	c.applyLocked(next)
	return nil
}

// Check fills a sensor's defaults (metric "value", decoder "json", the
// default topic) and reports every problem.
func (c *Catalog) Check(s *yujing.Sensor) error {
	c.mu.Lock()
	sites := c.sites
	c.mu.Unlock()
	var errs []error
	for _, e := range c.check(s, sites) {
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// check is Check against the given sites.
func (c *Catalog) check(s *yujing.Sensor, sites siteSet) []*SensorError {
	var errs []*SensorError
	bad := func(field, format string, args ...any) {
		errs = append(errs, &SensorError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if !sensorID.MatchString(s.ID) {
		bad("id", "%q: use letters, digits, '-', '_' and '.'", s.ID)
	}
	i, ok := sites.idx[s.Site]
	if !ok {
		i = -1
		ids := make([]string, len(sites.list))
		for j, x := range sites.list {
			ids[j] = x.ID
		}
		bad("site", "site %q is not defined (sites: %s)", s.Site, strings.Join(ids, ", "))
	}
	if !c.families.Known(s.Family) {
		bad("family", "unknown family %q (want one of %v)", s.Family, c.families.IDs())
	}
	if s.Metric == "" {
		s.Metric = "value"
	}
	if s.Decoder == "" {
		s.Decoder = "json"
	}
	if !slices.Contains(c.decoders, s.Decoder) {
		bad("decoder", "unknown decoder %q (want one of %s)", s.Decoder, strings.Join(c.decoders, ", "))
	}
	if s.Min != nil && s.Max != nil && *s.Min >= *s.Max {
		bad("max", "range min %g must be below max %g", *s.Min, *s.Max)
	}
	if s.Interval < 0 {
		bad("interval", "must not be negative")
	}
	switch {
	case s.Topic == "":
		s.Topic = yujing.DefaultTopic(s.Site, s.ID)
	case strings.ContainsAny(s.Topic, "+#"):
		bad("topic", "%q must not contain MQTT wildcards (+, #); placeholders {site}, {sensor}, {family}, {region} are allowed", s.Topic)
	default:
		// {region} is the site's when the sensor has none, as in the
		// registry.
		filled := *s
		if filled.Region == "" && i >= 0 {
			filled.Region = sites.list[i].Region
		}
		t, err := ExpandTopic(s.Topic, &filled)
		if err != nil {
			bad("topic", "%v", err)
		}
		s.Topic = t
	}
	return errs
}

// Create registers a new sensor.
func (c *Catalog) Create(ctx context.Context, s yujing.Sensor) (yujing.Sensor, error) {
	return c.put(ctx, s, false)
}

// Update replaces an existing sensor.
func (c *Catalog) Update(ctx context.Context, s yujing.Sensor) (yujing.Sensor, error) {
	return c.put(ctx, s, true)
}

func (c *Catalog) put(ctx context.Context, s yujing.Sensor, replace bool) (yujing.Sensor, error) {
	if err := c.Check(&s); err != nil {
		return s, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, exists := c.reg.ByID(s.ID)
	switch {
	case exists && !replace:
		return s, fmt.Errorf("sensor %s: %w", s.ID, ErrSensorExists)
	case !exists && replace:
		return s, fmt.Errorf("sensor %s: %w", s.ID, ErrSensorNotFound)
	}
	batch := []yujing.Sensor{s}
	if err := c.importLocked(ctx, batch, false); err != nil {
		var ie *ImportError
		if errors.As(err, &ie) {
			var errs []error
			for _, p := range ie.Problems {
				errs = append(errs, &SensorError{Field: p.Field, Msg: p.Msg})
			}
			return s, errors.Join(errs...)
		}
		return s, err
	}
	return batch[0], nil
}

// Import registers or replaces a batch of sensors (each new or replacing
// the one with its id) all together or not at all. Every sensor is checked
// as Check does (its defaults filled in batch), and the batch as a whole:
// no id twice, no topic that another sensor — in the batch or not — has
// after the import, and the registry the result makes. With any problem
// nothing changes and the error is an *ImportError listing every one. With
// dryRun nothing changes either way. Otherwise all the sensors are saved in
// one transaction of the store and then applied to the registry at once;
// when the store fails nothing changes.
func (c *Catalog) Import(ctx context.Context, batch []yujing.Sensor, dryRun bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.importLocked(ctx, batch, dryRun)
}

func (c *Catalog) importLocked(ctx context.Context, batch []yujing.Sensor, dryRun bool) error {
	var problems []ImportProblem
	bad := func(i int, field, format string, args ...any) {
		problems = append(problems, ImportProblem{Index: i, ID: batch[i].ID, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	first := map[string]int{}
	for i := range batch {
		for _, e := range c.check(&batch[i], c.sites) {
			bad(i, e.Field, "%s", e.Msg)
		}
		if j, dup := first[batch[i].ID]; dup {
			bad(i, "id", "sensor %q comes twice in the batch (also item %d)", batch[i].ID, j+1)
		} else {
			first[batch[i].ID] = i
		}
	}
	var next *catalog
	if len(problems) == 0 {
		next, problems = c.crossCheckLocked(batch)
	}
	if len(problems) > 0 {
		return &ImportError{Problems: problems}
	}
	if dryRun {
		return nil
	}
	if c.st == nil {
		return errors.New("sensors: this catalogue only checks (no state store)")
	}
	if err := c.st.PutSensors(ctx, batch); err != nil {
		return err
	}
	for _, s := range batch {
		delete(c.deleted, s.ID)
	}
	c.applyLocked(next)
	return nil
}

// crossCheckLocked checks the sensors the batch leaves in force: no topic
// twice (the topics a Sparkplug B device brings with it included), and a
// registry that builds, which it returns.
func (c *Catalog) crossCheckLocked(batch []yujing.Sensor) (*catalog, []ImportProblem) {
	inBatch := make(map[string]bool, len(batch))
	for _, s := range batch {
		inBatch[s.ID] = true
	}
	taken := make(map[string]string, len(batch)) // topic → the batch's sensor on it
	var problems []ImportProblem
	for i, s := range batch {
		other := taken[s.Topic]
		// Only another sensor's own topic is taken: the Sparkplug topics
		// routed to a device (its BIRTH, its node's) give way to a sensor
		// registered on them.
		if id, ok := c.reg.topicOwner(s.Topic); ok && !inBatch[id] {
			other = id
		}
		if other != "" {
			problems = append(problems, ImportProblem{Index: i, ID: s.ID, Field: "topic",
				Msg: fmt.Sprintf("%q is already used by sensor %s", s.Topic, other)})
			continue
		}
		taken[s.Topic] = s.ID
	}
	if len(problems) > 0 {
		return nil, problems
	}
	cur := c.reg.cat.Load()
	next, err := build(c.sites.list, c.templates, len(cur.recs)+len(batch), func(add func(*yujing.Sensor, bool) error) error {
		if err := cur.each(func(s *yujing.Sensor, saved bool) error {
			if inBatch[s.ID] {
				return nil
			}
			return add(s, saved)
		}); err != nil {
			return err
		}
		for i := range batch {
			if err := add(&batch[i], true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, []ImportProblem{{Index: -1, Msg: err.Error()}}
	}
	return next, nil
}

// Delete removes a sensor, configured or registered through the API. Its
// readings stay in the store.
func (c *Catalog) Delete(ctx context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.reg.cat.Load()
	if _, ok := cur.find(id); !ok {
		return fmt.Errorf("sensor %s: %w", id, ErrSensorNotFound)
	}
	if c.st == nil {
		return errors.New("sensors: this catalogue only checks (no state store)")
	}
	next, err := build(c.sites.list, c.templates, len(cur.recs), func(add func(*yujing.Sensor, bool) error) error {
		return cur.each(func(s *yujing.Sensor, saved bool) error {
			if s.ID == id {
				return nil
			}
			return add(s, saved)
		})
	})
	if err != nil {
		return err
	}
	if err := c.st.DeleteSensor(ctx, id); err != nil {
		return err
	}
	c.deleted[id] = true
	c.applyLocked(next)
	return nil
}
