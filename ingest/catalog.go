package ingest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"yujing"
)

// SensorStore keeps the sensors registered, changed or deleted through the
// API, so they survive a restart. The configuration file's sensors are the
// base; saved ones override or add to them, deleted ones remove them.
type SensorStore interface {
	PutSensor(ctx context.Context, s yujing.Sensor) error
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

// Catalog manages the sensors: the configured ones plus those registered
// through the API, validated like the configuration file's, and applied to
// the registry at once. Listeners (the rule engine, the subscriber) are told
// after every change.
type Catalog struct {
	mu        sync.Mutex
	reg       *Registry
	st        SensorStore
	sites     []yujing.Site
	base      []yujing.Sensor
	templates []string
	decoders  []string
	families  yujing.Families
	saved     map[string]yujing.Sensor
	deleted   map[string]bool
	listeners []func()
}

// NewCatalog manages reg's sensors. decoders lists the decoder names that
// exist, families the sensor families the configuration knows.
func NewCatalog(reg *Registry, st SensorStore, sites []yujing.Site, base []yujing.Sensor, templates, decoders []string, families yujing.Families) *Catalog {
	return &Catalog{reg: reg, st: st, sites: sites, base: base, templates: templates, decoders: decoders, families: families,
		saved: map[string]yujing.Sensor{}, deleted: map[string]bool{}}
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
	for _, s := range saved {
		c.saved[s.ID] = s
	}
	for _, id := range deleted {
		c.deleted[id] = true
	}
	return c.applyLocked()
}

// merged is the configured sensors with the saved ones applied.
func (c *Catalog) merged() []yujing.Sensor {
	var out []yujing.Sensor
	seen := map[string]bool{}
	for _, s := range c.base {
		if c.deleted[s.ID] {
			continue
		}
		if o, ok := c.saved[s.ID]; ok {
			s = o
		}
		seen[s.ID] = true
		out = append(out, s)
	}
	for id, s := range c.saved {
		if !seen[id] && !c.deleted[id] {
			out = append(out, s)
		}
	}
	return out
}

func (c *Catalog) applyLocked() error {
	if err := c.reg.Replace(c.sites, c.merged(), c.templates...); err != nil {
		return err
	}
	for _, f := range c.listeners {
		f()
	}
	return nil
}

var sensorID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// SetBase replaces the configured sensors, sites, templates and families
// (a reload), keeping those registered through the API on top. On error
// nothing changes.
func (c *Catalog) SetBase(sites []yujing.Site, base []yujing.Sensor, templates []string, families yujing.Families) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	oldSites, oldBase, oldTemplates, oldFamilies := c.sites, c.base, c.templates, c.families
	c.sites, c.base, c.templates, c.families = sites, base, templates, families
	if err := c.applyLocked(); err != nil {
		c.sites, c.base, c.templates, c.families = oldSites, oldBase, oldTemplates, oldFamilies
		return err
	}
	return nil
}

// Check fills a sensor's defaults (metric "value", decoder "json", the
// default topic) and reports every problem.
func (c *Catalog) Check(s *yujing.Sensor) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &SensorError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if !sensorID.MatchString(s.ID) {
		bad("id", "%q: use letters, digits, '-', '_' and '.'", s.ID)
	}
	if !slices.ContainsFunc(c.sites, func(x yujing.Site) bool { return x.ID == s.Site }) {
		bad("site", "site %q is not defined", s.Site)
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
		bad("decoder", "unknown decoder %q (want one of %v)", s.Decoder, c.decoders)
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
		bad("topic", "%q must not contain wildcards", s.Topic)
	default:
		t, err := ExpandTopic(s.Topic, s)
		if err != nil {
			bad("topic", "%v", err)
		}
		s.Topic = t
	}
	return errors.Join(errs...)
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
	if other, ok := c.reg.cat.Load().byTopic[s.Topic]; ok && other.sensor.ID != s.ID {
		return s, &SensorError{Field: "topic", Msg: fmt.Sprintf("%q is already used by sensor %s", s.Topic, other.sensor.ID)}
	}
	prevSaved, hadSaved := c.saved[s.ID]
	prevDeleted := c.deleted[s.ID]
	c.saved[s.ID] = s
	delete(c.deleted, s.ID)
	if err := c.applyLocked(); err != nil {
		c.restore(s.ID, prevSaved, hadSaved, prevDeleted)
		return s, &SensorError{Field: "sensor", Msg: err.Error()}
	}
	if err := c.st.PutSensor(ctx, s); err != nil {
		c.restore(s.ID, prevSaved, hadSaved, prevDeleted)
		_ = c.applyLocked()
		return s, err
	}
	return s, nil
}

func (c *Catalog) restore(id string, prev yujing.Sensor, had, deleted bool) {
	if had {
		c.saved[id] = prev
	} else {
		delete(c.saved, id)
	}
	if deleted {
		c.deleted[id] = true
	}
}

// Delete removes a sensor, configured or registered through the API. Its
// readings stay in the store.
func (c *Catalog) Delete(ctx context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.reg.ByID(id); !ok {
		return fmt.Errorf("sensor %s: %w", id, ErrSensorNotFound)
	}
	if err := c.st.DeleteSensor(ctx, id); err != nil {
		return err
	}
	delete(c.saved, id)
	c.deleted[id] = true
	return c.applyLocked()
}
