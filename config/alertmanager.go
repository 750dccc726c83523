package config

import (
	"fmt"
	"strings"
	"time"

	"yujing"
	"yujing/alertmanager"
	"yujing/internal/yamlconf"
)

// AlertmanagerFile is the alertmanager section: yujing takes alerts from
// Prometheus, Grafana, vmalert and amtool as an Alertmanager would (POST
// /api/v2/alerts) and from an Alertmanager's webhook (POST
// /api/v1/warnings/alertmanager), and maps their labels to warnings.
// Without the section both answer 404. A reload applies a changed
// mapping; adding or removing the section takes a restart.
//
//	alertmanager:
//	  levels: {critical: red, warning: orange, info: blue}
//	  default_level: yellow
//	  site_map: [{label: job, value: node-plant-a, site: plant-a}]
//	  default_family: power
type AlertmanagerFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	// ResolveTimeout ends an alert sent without endsAt (amtool's) that
	// is not sent again within it; default 5m, as Alertmanager's.
	ResolveTimeout time.Duration `yaml:"resolve_timeout"`
	// LevelLabel (default severity) holds the severity; Levels maps its
	// values to levels (default critical: red, error: orange, warning:
	// orange, info: blue); DefaultLevel is the level of an alert whose
	// severity is missing or not listed (default: such an alert is
	// refused).
	LevelLabel   string            `yaml:"level_label"`
	Levels       map[string]string `yaml:"levels"`
	DefaultLevel string            `yaml:"default_level"`
	// SiteLabel (default site) holds a site's id; SiteMap gives the site
	// of an alert without it from another label; DefaultSite the site of
	// an alert neither names (default: such an alert is refused).
	SiteLabel   string                 `yaml:"site_label"`
	SiteMap     []AlertmanagerSiteFile `yaml:"site_map"`
	DefaultSite string                 `yaml:"default_site"`
	// SensorLabel (default instance) is shown as the warning's sensor.
	SensorLabel string `yaml:"sensor_label"`
	// FamilyLabel (default family) holds the warning's family;
	// DefaultFamily is the family of an alert without it.
	FamilyLabel   string `yaml:"family_label"`
	DefaultFamily string `yaml:"default_family"`
}

// AlertmanagerSiteFile maps one value of one label to a site: {label:
// instance, value: "10.1.2.3:9100", site: plant-a}.
type AlertmanagerSiteFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	Label  string `yaml:"label"`
	Value  string `yaml:"value"`
	Site   string `yaml:"site"`
}

// alertmanager checks the alertmanager section and sets
// cfg.Alertmanager (nil without it).
func (c *checker) alertmanager(cfg *Config, sites map[string]bool) {
	af := c.f.Alertmanager
	if af == nil {
		return
	}
	pos := af.Pos
	if pos.IsZero() {
		pos = c.f.Fields.At("alertmanager", c.f.Pos)
	}
	m := alertmanager.Mapping{
		ResolveTimeout: af.ResolveTimeout,
		LevelLabel:     af.LevelLabel,
		SiteLabel:      af.SiteLabel,
		DefaultSite:    af.DefaultSite,
		SensorLabel:    af.SensorLabel,
		FamilyLabel:    af.FamilyLabel,
		DefaultFamily:  yujing.Family(af.DefaultFamily),
	}
	switch {
	case m.ResolveTimeout == 0:
		m.ResolveTimeout = alertmanager.DefaultResolveTimeout
	case m.ResolveTimeout < time.Second:
		c.Add(af.Fields.At("resolve_timeout", pos), "alertmanager.resolve_timeout %s: want at least 1s", m.ResolveTimeout)
	}
	for _, l := range []struct{ key, v, def string }{
		{"level_label", af.LevelLabel, alertmanager.DefaultLevelLabel},
		{"site_label", af.SiteLabel, alertmanager.DefaultSiteLabel},
		{"sensor_label", af.SensorLabel, alertmanager.DefaultSensorLabel},
		{"family_label", af.FamilyLabel, alertmanager.DefaultFamilyLabel},
	} {
		if _, set := af.Fields[l.key]; set && strings.TrimSpace(l.v) == "" {
			c.Add(af.Fields.At(l.key, pos), "alertmanager.%s is empty: name a label, or leave it out for %q", l.key, l.def)
		}
	}
	if af.Levels != nil {
		at := af.Fields.At("levels", pos)
		m.Levels = map[string]yujing.Level{}
		seen := map[string]string{}
		for _, v := range sortedKeys(af.Levels) {
			l, err := yujing.ParseLevel(af.Levels[v])
			if err != nil {
				c.Add(at, "alertmanager.levels: %s: %v", v, err)
				continue
			}
			k := strings.ToLower(v)
			if prev, dup := seen[k]; dup {
				c.Add(at, "alertmanager.levels: %q and %q are the same value (severities are compared without case)", prev, v)
			}
			seen[k] = v
			m.Levels[k] = l
		}
		if len(af.Levels) == 0 && af.DefaultLevel == "" {
			c.Add(at, "alertmanager.levels is empty and default_level is not set: every alert would be refused")
		}
	}
	if af.DefaultLevel != "" {
		l, err := yujing.ParseLevel(af.DefaultLevel)
		if err != nil {
			c.Add(af.Fields.At("default_level", pos), "alertmanager.default_level: %v", err)
		}
		m.DefaultLevel = l
	}
	for i, s := range af.SiteMap {
		where := fmt.Sprintf("alertmanager.site_map[%d]", i)
		switch {
		case s.Label == "" || s.Value == "" || s.Site == "":
			c.Add(s.Pos, "%s: give label, value and site, e.g. {label: job, value: node-plant-a, site: plant-a}", where)
		case !sites[s.Site]:
			c.Add(s.Fields.At("site", s.Pos), "%s: site %q is not defined under sites", where, s.Site)
		default:
			m.SiteMap = append(m.SiteMap, alertmanager.SiteRule{Label: s.Label, Value: s.Value, Site: s.Site})
		}
	}
	if af.DefaultSite != "" && !sites[af.DefaultSite] {
		c.Add(af.Fields.At("default_site", pos), "alertmanager.default_site %q is not defined under sites", af.DefaultSite)
	}
	if af.DefaultFamily != "" && !cfg.Families.Known(m.DefaultFamily) {
		c.Add(af.Fields.At("default_family", pos), "alertmanager.default_family %q is not a family (known: %s)", af.DefaultFamily, familyList(cfg.Families))
	}
	cfg.Alertmanager = &m
}
