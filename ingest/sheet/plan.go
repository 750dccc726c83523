package sheet

import (
	"fmt"
	"maps"
	"time"

	"yujing"
	"yujing/ingest"
)

// merge lays the row's fields over cur (a copy); new sensors start from
// the defaults. A site given by name becomes its id. Region and industry,
// when empty, are the site's; so are they when the row moves the sensor
// to another site and leaves them empty.
func (rs *rowSensor) merge(cur *yujing.Sensor, sites []yujing.Site) yujing.Sensor {
	var m yujing.Sensor
	if cur != nil {
		m = *cur
		m.Units, m.Tags, m.MetricMap = maps.Clone(cur.Units), maps.Clone(cur.Tags), maps.Clone(cur.MetricMap)
	} else {
		m = yujing.Sensor{ID: rs.id, Metric: "value", Decoder: "json", Interval: ingest.DefaultInterval}
	}
	defaultTopic := cur == nil || cur.Topic == yujing.DefaultTopic(cur.Site, cur.ID)
	set := rs.set
	if set["name"] {
		m.Name = rs.s.Name
	}
	if set["family"] {
		m.Family = rs.s.Family
	}
	if set["site"] {
		m.Site = siteID(sites, rs.s.Site)
	}
	if set["region"] {
		m.Region = rs.s.Region
	}
	if set["industry"] {
		m.Industry = rs.s.Industry
	}
	if set["metric"] {
		m.Metric = rs.s.Metric
	}
	if set["unit"] {
		m.Unit = rs.s.Unit
	}
	if set["location"] || set["lat"] {
		// The place name and the coordinates are kept apart: an empty
		// cell keeps its part.
		text, lat, lon := locationParts(m.Location)
		if set["location"] {
			text = rs.s.Location
		}
		if set["lat"] {
			lat, lon = rs.lat, rs.lon
		}
		m.Location = formatLocation(text, lat, lon)
	}
	if set["decoder"] {
		m.Decoder = rs.s.Decoder
	}
	if set["interval"] {
		m.Interval = rs.s.Interval
	}
	if set["min"] {
		m.Min = rs.s.Min
	}
	if set["max"] {
		m.Max = rs.s.Max
	}
	if set["tags"] {
		// A tags cell replaces every tag; tag:NAME cells set one each.
		if rs.tagsCell || m.Tags == nil {
			m.Tags = map[string]string{}
		}
		maps.Copy(m.Tags, rs.tags)
		if len(m.Tags) == 0 {
			m.Tags = nil
		}
	}
	if cur == nil || set["site"] {
		for _, s := range sites {
			if s.ID == m.Site {
				if m.Region == "" || (cur != nil && !set["region"] && cur.Site != m.Site) {
					m.Region = s.Region
				}
				if m.Industry == "" || (cur != nil && !set["industry"] && cur.Site != m.Site) {
					m.Industry = s.Industry
				}
			}
		}
	}
	switch {
	case set["topic"]:
		m.Topic = rs.s.Topic
	case defaultTopic:
		m.Topic = yujing.DefaultTopic(m.Site, m.ID)
	}
	return m
}

// siteID is the id of the site v names (its id or its name); v itself
// when no site has it, for the catalogue to refuse.
func siteID(sites []yujing.Site, v string) string {
	for _, s := range sites {
		if s.ID == v {
			return s.ID
		}
	}
	for _, s := range sites {
		if s.Name == v {
			return s.ID
		}
	}
	return v
}

// withSite is s with the region and industry of its site where it has
// none, as the registry fills them.
func withSite(s yujing.Sensor, sites []yujing.Site) yujing.Sensor {
	for _, x := range sites {
		if x.ID == s.Site {
			if s.Region == "" {
				s.Region = x.Region
			}
			if s.Industry == "" {
				s.Industry = x.Industry
			}
		}
	}
	return s
}

// sensorChanges lists the fields that differ, as `field old → new`.
func sensorChanges(a, b *yujing.Sensor) []string {
	var out []string
	str := func(name, x, y string) {
		if x != y {
			out = append(out, fmt.Sprintf("%s %q → %q", name, x, y))
		}
	}
	str("name", a.Name, b.Name)
	str("family", string(a.Family), string(b.Family))
	str("site", a.Site, b.Site)
	str("region", a.Region, b.Region)
	str("industry", a.Industry, b.Industry)
	str("metric", a.Metric, b.Metric)
	str("unit", a.Unit, b.Unit)
	str("location", a.Location, b.Location)
	str("topic", a.Topic, b.Topic)
	str("decoder", a.Decoder, b.Decoder)
	if effInterval(a.Interval) != effInterval(b.Interval) {
		out = append(out, fmt.Sprintf("interval %s → %s", FormatDuration(effInterval(a.Interval)), FormatDuration(effInterval(b.Interval))))
	}
	for _, p := range []struct {
		name string
		x, y *float64
	}{{"min", a.Min, b.Min}, {"max", a.Max, b.Max}} {
		if FormatNumber(p.x) != FormatNumber(p.y) {
			out = append(out, fmt.Sprintf("%s %s → %s", p.name, FormatNumber(p.x), FormatNumber(p.y)))
		}
	}
	for _, p := range []struct {
		name string
		x, y map[string]string
	}{{"units", a.Units, b.Units}, {"tags", a.Tags, b.Tags}, {"metric_map", a.MetricMap, b.MetricMap}} {
		if !maps.Equal(p.x, p.y) {
			out = append(out, fmt.Sprintf("%s %s → %s", p.name, FormatTags(p.x), FormatTags(p.y)))
		}
	}
	return out
}

func effInterval(d time.Duration) time.Duration {
	if d <= 0 {
		return ingest.DefaultInterval
	}
	return d
}

// createDetails describes a new sensor: "gas at demo-plant, topic …,
// decoder json, every 10s".
func createDetails(m *yujing.Sensor) string {
	return fmt.Sprintf("%s at %s, topic %s, decoder %s, every %s", m.Family, m.Site, m.Topic, m.Decoder, FormatDuration(effInterval(m.Interval)))
}
