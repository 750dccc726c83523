package config

import (
	"slices"
	"strings"
	"time"

	"yujing"
	"yujing/ingest"
	"yujing/internal/yamlconf"
)

// RangeFile is a physical measuring range.
type RangeFile struct {
	Pos yamlconf.Pos
	Min *float64 `yaml:"min"`
	Max *float64 `yaml:"max"`
}

// SensorFile is one sensor.
type SensorFile struct {
	Pos      yamlconf.Pos
	Fields   yamlconf.Fields
	ID       string            `yaml:"id"`
	Name     string            `yaml:"name"`
	Site     string            `yaml:"site"`
	Family   string            `yaml:"family"`
	Region   string            `yaml:"region"`
	Industry string            `yaml:"industry"`
	Metric   string            `yaml:"metric"`
	Unit     string            `yaml:"unit"`
	Metrics  map[string]string `yaml:"metrics"` // metric → unit, for multi-metric devices
	Location string            `yaml:"location"`
	Topic    string            `yaml:"topic"`
	Decoder  string            `yaml:"decoder"`
	// MetricMap renames the device's metric names (ch1 → lel).
	MetricMap map[string]string `yaml:"metric_map"`
	Interval  time.Duration     `yaml:"interval"`
	Range     *RangeFile        `yaml:"range"`
	Tags      map[string]string `yaml:"tags"`
	// fast is where the item is when the fast path read it (then Fields
	// is nil: at finds a field's place).
	fast fastItem
}

func (c *checker) sensors(cfg *Config, sites map[string]bool) map[string]*SensorFile {
	byID := make(map[string]*SensorFile, len(c.f.Sensors))
	topics := map[string]string{} // the topics sensors set, other than the default
	cfg.Sensors = make([]yujing.Sensor, 0, len(c.f.Sensors))
	for i := range c.f.Sensors {
		s := &c.f.Sensors[i]
		if s.ID == "" || !idPattern.MatchString(s.ID) {
			c.id(s.at("id"), "sensor", s.ID)
		}
		if _, dup := byID[s.ID]; dup && s.ID != "" {
			c.Add(s.at("id"), "sensor %q is defined twice (first at line %d)", s.ID, byID[s.ID].Pos.Line)
		}
		byID[s.ID] = s
		if s.Site == "" {
			c.Add(s.Pos, "sensor %q: site is required", s.ID)
		} else if !sites[s.Site] {
			c.Add(s.at("site"), "sensor %q: site %q is not defined under sites", s.ID, s.Site)
		}
		if s.Family == "" {
			c.Add(s.Pos, "sensor %q: family is required (one of %s)", s.ID, familyList(cfg.Families))
		} else if !cfg.Families.Known(yujing.Family(s.Family)) {
			c.Add(s.at("family"), "sensor %q: unknown family %q (want one of %s, or declare it under families)", s.ID, s.Family, familyList(cfg.Families))
		}
		metric := s.Metric
		if metric == "" {
			metric = "value"
		}
		decoder := s.Decoder
		if decoder == "" {
			decoder = "json"
		}
		if len(c.opts.Decoders) > 0 && !slices.Contains(c.opts.Decoders, decoder) {
			c.Add(s.at("decoder"), "sensor %q: unknown decoder %q (want one of %v)", s.ID, decoder, c.opts.Decoders)
		}
		topic, own := s.Topic, s.Topic != ""
		if !own {
			topic = yujing.DefaultTopic(s.Site, s.ID)
		} else if strings.ContainsAny(topic, "+#") {
			c.Add(s.at("topic"), "sensor %q: topic %q must not contain wildcards", s.ID, topic)
		} else if strings.Contains(topic, "{") {
			expanded, err := ingest.ExpandTopic(topic, &yujing.Sensor{ID: s.ID, Site: s.Site, Family: yujing.Family(s.Family), Region: s.Region})
			if err != nil {
				c.Add(s.at("topic"), "sensor %q: %v", s.ID, err)
			}
			topic = expanded
		}
		for from, to := range s.MetricMap {
			if from == "" || to == "" {
				c.Add(s.at("metric_map"), "sensor %q: metric_map entries need both names", s.ID)
			}
		}
		other, dup := topics[topic]
		if site, id, ok := defaultTopicOf(topic); ok && own && !dup {
			// Another sensor's default topic (not kept in topics: a
			// province has a million).
			if o := byID[id]; o != nil && o.Topic == "" && o.Site == site {
				other, dup = id, true
			}
		}
		if dup && other != s.ID {
			c.Add(s.at("topic"), "sensor %q: topic %q is already used by sensor %q", s.ID, topic, other)
		}
		if own {
			topics[topic] = s.ID
		}
		sn := yujing.Sensor{ID: s.ID, Name: s.Name, Site: s.Site, Family: yujing.Family(s.Family), Region: s.Region,
			Industry: s.Industry, Metric: metric, Unit: s.Unit, Units: s.Metrics, Location: s.Location, Topic: topic,
			Decoder: decoder, Interval: s.Interval, Tags: s.Tags, MetricMap: s.MetricMap}
		if s.Range != nil {
			sn.Min, sn.Max = s.Range.Min, s.Range.Max
			if sn.Min != nil && sn.Max != nil && *sn.Min >= *sn.Max {
				c.Add(s.Range.Pos, "sensor %q: range min %g must be below max %g", s.ID, *sn.Min, *sn.Max)
			}
		}
		cfg.Sensors = append(cfg.Sensors, sn)
	}
	return byID
}

// defaultTopicOf splits yujing/<site>/<sensor>.
func defaultTopicOf(topic string) (site, id string, ok bool) {
	rest, ok := strings.CutPrefix(topic, "yujing/")
	if !ok {
		return "", "", false
	}
	site, id, ok = strings.Cut(rest, "/")
	return site, id, ok && !strings.Contains(id, "/")
}
