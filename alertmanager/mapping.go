package alertmanager

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"yujing"
)

// Mapping says how an alert's labels become a yujing warning's site,
// sensor, family and level: the configuration's alertmanager section
// (config/alertmanager.go), checked.
type Mapping struct {
	// ResolveTimeout ends an API v2 alert sent without endsAt that is not
	// sent again within it (Alertmanager's resolve_timeout, default 5m).
	ResolveTimeout time.Duration
	// LevelLabel holds the alert's severity (default "severity"); Levels
	// maps its values, compared without case, to levels; DefaultLevel is
	// the level of an alert without that label or with a value Levels does
	// not list (LevelNone: such an alert is refused).
	LevelLabel   string
	Levels       map[string]yujing.Level
	DefaultLevel yujing.Level
	// SiteLabel holds the site's id (default "site"). SiteMap gives the
	// site of an alert without it from another label's value (job,
	// instance, …), first match first; DefaultSite is the site of an alert
	// neither names ("": such an alert is refused).
	SiteLabel   string
	SiteMap     []SiteRule
	DefaultSite string
	// SensorLabel holds what the warning is about, shown as its sensor
	// (default "instance"); without it, the alert's name.
	SensorLabel string
	// FamilyLabel holds the warning's family (default "family");
	// DefaultFamily is the family of an alert without it.
	FamilyLabel   string
	DefaultFamily yujing.Family
}

// SiteRule gives the site of an alert whose label Label has the value
// Value.
type SiteRule struct {
	Label, Value, Site string
}

// Defaults of the mapping.
const (
	DefaultResolveTimeout = 5 * time.Minute
	DefaultLevelLabel     = "severity"
	DefaultSiteLabel      = "site"
	DefaultSensorLabel    = "instance"
	DefaultFamilyLabel    = "family"
)

// DefaultLevels is the severity mapping when the configuration gives
// none: the severities Prometheus' and Grafana's example rules use.
func DefaultLevels() map[string]yujing.Level {
	return map[string]yujing.Level{"critical": yujing.Red, "error": yujing.Orange, "warning": yujing.Orange, "info": yujing.Blue}
}

// Source is the source of every warning that came from an Alertmanager
// client: its alerts' rule is "issued:alertmanager" (alerting/issued).
const Source = "alertmanager"

// Warning is what an alert becomes: the warning the lifecycle keeps under
// Key.
type Warning struct {
	// Key identifies the warning among Source's: the fingerprint of the
	// alert's labels without LevelLabel, so that the same alert sent with
	// another severity moves the warning's level in place. It is the
	// alert's fingerprint when the alert has no LevelLabel.
	Key string
	// Name is the alert's alertname ("" when it has none).
	Name   string
	Site   string
	Sensor string
	Family yujing.Family
	Level  yujing.Level
	// Title is the alert's name, with its sensor in brackets when that is
	// another label's value: HighLoad（10.1.2.3:9100）. Summary is its
	// summary (or description, or message) annotation, else its other
	// labels.
	Title   string
	Summary string
	Start   time.Time
	// End is when the warning ends unless the alert is sent again (an API
	// v2 alert's endsAt); zero: when it is sent resolved.
	End time.Time
	// Labels and Annotations are the alert's (of its highest level, when
	// several severities fire); GeneratorURL links to its source.
	Labels       map[string]string
	Annotations  map[string]string
	GeneratorURL string
	// By is who sent it (the API token's or user's name), for the
	// warning's history; "" when not known.
	By string
}

// ErrUnmapped says an alert's labels do not give a site or a level, or
// name an unknown one.
var ErrUnmapped = errors.New("labels do not map to a warning")

// Mapper applies a Mapping.
type Mapper struct {
	m        Mapping
	site     func(id string) bool
	families yujing.Families
}

// NewMapper builds a mapper; site says whether a site exists, families
// are the configuration's.
func NewMapper(m Mapping, site func(id string) bool, families yujing.Families) *Mapper {
	if m.ResolveTimeout <= 0 {
		m.ResolveTimeout = DefaultResolveTimeout
	}
	if m.LevelLabel == "" {
		m.LevelLabel = DefaultLevelLabel
	}
	if m.Levels == nil {
		m.Levels = DefaultLevels()
	} else {
		lv := make(map[string]yujing.Level, len(m.Levels))
		for k, v := range m.Levels {
			lv[strings.ToLower(k)] = v
		}
		m.Levels = lv
	}
	if m.SiteLabel == "" {
		m.SiteLabel = DefaultSiteLabel
	}
	if m.SensorLabel == "" {
		m.SensorLabel = DefaultSensorLabel
	}
	if m.FamilyLabel == "" {
		m.FamilyLabel = DefaultFamilyLabel
	}
	if site == nil {
		site = func(string) bool { return true }
	}
	return &Mapper{m: m, site: site, families: families}
}

// Key is the key of the warning an alert belongs to.
func (p *Mapper) Key(a Alert) string {
	if _, ok := a.Labels[p.m.LevelLabel]; !ok {
		return a.Fingerprint
	}
	ls := maps.Clone(a.Labels)
	delete(ls, p.m.LevelLabel)
	return Fingerprint(ls)
}

// Map turns an alert into its warning, times aside (the Receiver sets
// Start and End). The error wraps ErrUnmapped and names the label.
func (p *Mapper) Map(a Alert) (Warning, error) {
	w := Warning{Key: p.Key(a), Name: a.Name(), Labels: a.Labels, Annotations: a.Annotations, GeneratorURL: a.GeneratorURL}
	var errs []error
	sev, has := a.Labels[p.m.LevelLabel]
	if l, ok := p.m.Levels[strings.ToLower(sev)]; has && ok {
		w.Level = l
	} else if p.m.DefaultLevel.Valid() {
		w.Level = p.m.DefaultLevel
	} else if has {
		errs = append(errs, fmt.Errorf("%w: %s %q maps to no level (alertmanager.levels lists %s)", ErrUnmapped, p.m.LevelLabel, sev, p.levelList()))
	} else {
		errs = append(errs, fmt.Errorf("%w: no %s label, and alertmanager.default_level is not set", ErrUnmapped, p.m.LevelLabel))
	}

	if s, ok := a.Labels[p.m.SiteLabel]; ok {
		w.Site = s
	} else {
		for _, r := range p.m.SiteMap {
			if a.Labels[r.Label] == r.Value {
				w.Site = r.Site
				break
			}
		}
		if w.Site == "" {
			w.Site = p.m.DefaultSite
		}
	}
	switch {
	case w.Site == "":
		errs = append(errs, fmt.Errorf("%w: no %s label, no alertmanager.site_map entry matches and alertmanager.default_site is not set", ErrUnmapped, p.m.SiteLabel))
	case !p.site(w.Site):
		errs = append(errs, fmt.Errorf("%w: site %q is not defined under sites", ErrUnmapped, w.Site))
	}

	if f, ok := a.Labels[p.m.FamilyLabel]; ok {
		w.Family = yujing.Family(f)
		if p.families != nil && !p.families.Known(w.Family) {
			errs = append(errs, fmt.Errorf("%w: %s %q is not a family this configuration knows", ErrUnmapped, p.m.FamilyLabel, f))
		}
	} else {
		w.Family = p.m.DefaultFamily
	}

	w.Sensor = a.Labels[p.m.SensorLabel]
	if w.Sensor == "" {
		w.Sensor = a.Name()
	}
	w.Title, w.Summary = texts(a, w.Sensor)
	return w, errors.Join(errs...)
}

func (p *Mapper) levelList() string {
	if len(p.m.Levels) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, k := range sortedKeys(p.m.Levels) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
	}
	return b.String()
}

// texts are a warning's title and summary from its alert.
func texts(a Alert, sensor string) (title, summary string) {
	title = a.Name()
	if title == "" {
		title = LabelString(a.Labels)
	} else if sensor != "" && sensor != title {
		title += "（" + sensor + "）"
	}
	for _, k := range []string{"summary", "description", "message"} {
		if s := strings.TrimSpace(a.Annotations[k]); s != "" {
			return title, s
		}
	}
	if a.Name() == "" {
		return title, ""
	}
	rest := maps.Clone(a.Labels)
	delete(rest, "alertname")
	if len(rest) == 0 {
		return title, ""
	}
	return title, LabelString(rest)
}
