package ingest

import (
	"fmt"
	"strings"

	"yujing"
)

// Topic templates map whole families of topics to sensors without listing
// each topic: "plant/{site}/gas/{sensor}" matches plant/demo-plant/gas/GT-101
// and names sensor GT-101 (which must belong to site demo-plant). A
// placeholder stands for one whole topic level.

var placeholders = map[string]bool{"{site}": true, "{sensor}": true, "{family}": true, "{region}": true, "{any}": true}

// CheckTemplate reports what is wrong with a topic template used to find
// sensors: it needs {sensor}, and no MQTT wildcards.
func CheckTemplate(tpl string) error {
	if tpl == "" {
		return fmt.Errorf("empty topic template")
	}
	if strings.ContainsAny(tpl, "+#") {
		return fmt.Errorf("template %q: use placeholders ({sensor}, {site}, {family}, {region}, {any}), not MQTT wildcards", tpl)
	}
	hasSensor := false
	for _, seg := range strings.Split(tpl, "/") {
		if strings.ContainsAny(seg, "{}") {
			if !placeholders[seg] {
				return fmt.Errorf("template %q: %q is not a placeholder; a placeholder is a whole level: {sensor}, {site}, {family}, {region} or {any}", tpl, seg)
			}
			hasSensor = hasSensor || seg == "{sensor}"
		}
	}
	if !hasSensor {
		return fmt.Errorf("template %q has no {sensor} level", tpl)
	}
	return nil
}

// ExpandTopic fills a sensor's own topic template with its fields, e.g.
// "plant/{site}/gas/{sensor}" → "plant/demo-plant/gas/GT-101". {any} is not
// allowed in a sensor's own topic.
func ExpandTopic(tpl string, s *yujing.Sensor) (string, error) {
	if !strings.Contains(tpl, "{") {
		return tpl, nil
	}
	segs := strings.Split(tpl, "/")
	for i, seg := range segs {
		switch seg {
		case "{site}":
			segs[i] = s.Site
		case "{sensor}":
			segs[i] = s.ID
		case "{family}":
			segs[i] = string(s.Family)
		case "{region}":
			segs[i] = s.Region
		default:
			if strings.ContainsAny(seg, "{}") {
				return "", fmt.Errorf("topic %q: %q cannot be filled from the sensor (use {site}, {sensor}, {family} or {region})", tpl, seg)
			}
		}
		if segs[i] == "" {
			return "", fmt.Errorf("topic %q: %s is empty for sensor %s", tpl, seg, s.ID)
		}
	}
	return strings.Join(segs, "/"), nil
}

// template is a compiled topic template.
type template struct {
	src  string
	segs []string
}

func compileTemplate(tpl string) (template, error) {
	if err := CheckTemplate(tpl); err != nil {
		return template{}, err
	}
	return template{src: tpl, segs: strings.Split(tpl, "/")}, nil
}

// filter is the MQTT subscription covering the template.
func (t template) filter() string {
	out := make([]string, len(t.segs))
	for i, s := range t.segs {
		if placeholders[s] {
			out[i] = "+"
		} else {
			out[i] = s
		}
	}
	return strings.Join(out, "/")
}

// match returns the sensor, site, family and region a topic names, without
// allocating.
func (t template) match(topic string) (sensor, site, family, region string, ok bool) {
	if strings.HasPrefix(topic, "$") && placeholders[t.segs[0]] {
		return "", "", "", "", false // like a leading wildcard, a placeholder never matches $SYS topics
	}
	rest := topic
	for i, seg := range t.segs {
		var level string
		if i == len(t.segs)-1 {
			level = rest
			if strings.IndexByte(rest, '/') >= 0 {
				return "", "", "", "", false
			}
		} else {
			j := strings.IndexByte(rest, '/')
			if j < 0 {
				return "", "", "", "", false
			}
			level, rest = rest[:j], rest[j+1:]
		}
		switch seg {
		case "{sensor}":
			sensor = level
		case "{site}":
			site = level
		case "{family}":
			family = level
		case "{region}":
			region = level
		case "{any}":
		default:
			if level != seg {
				return "", "", "", "", false
			}
			continue
		}
		if level == "" {
			return "", "", "", "", false
		}
	}
	return sensor, site, family, region, true
}
