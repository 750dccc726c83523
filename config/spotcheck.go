package config

import (
	"fmt"
	"slices"
	"time"

	"yujing/duty"
	"yujing/internal/yamlconf"
	"yujing/spotcheck"
)

// SpotChecksFile is the spot_checks section: duty spot checks (查岗) on a
// schedule, and the defaults of those asked for on demand (POST
// /api/v1/spot-checks).
type SpotChecksFile struct {
	Pos       yamlconf.Pos
	Fields    yamlconf.Fields
	OnDemand  SpotDemandFile     `yaml:"on_demand"`
	Schedules []SpotScheduleFile `yaml:"schedules"`
}

// SpotDemandFile are the defaults of a check asked for on demand.
type SpotDemandFile struct {
	Pos      yamlconf.Pos
	Fields   yamlconf.Fields
	Channels []string      `yaml:"channels"`
	Deadline time.Duration `yaml:"deadline"`
	// EscalateTo are the roles called, in order, when the role checked
	// does not answer (default principal).
	EscalateTo []string `yaml:"escalate_to"`
}

// SpotScheduleFile is one schedule of spot checks.
type SpotScheduleFile struct {
	Pos        yamlconf.Pos
	Fields     yamlconf.Fields
	Name       string        `yaml:"name"`
	Orgs       []string      `yaml:"orgs"`
	Regions    []string      `yaml:"regions"`
	Industries []string      `yaml:"industries"`
	Kinds      []string      `yaml:"kinds"`
	Window     SpotWindow    `yaml:"window"`
	PerNight   int           `yaml:"per_night"`
	Channels   []string      `yaml:"channels"`
	Deadline   time.Duration `yaml:"deadline"`
	Roles      []string      `yaml:"roles"`
}

// SpotWindow is a time of day, from until to ("22:00" to "06:00").
type SpotWindow struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	From   string `yaml:"from"`
	To     string `yaml:"to"`
}

// SpotChecks are the spot checks' settings.
type SpotChecks struct {
	Schedules []spotcheck.Schedule
	// Channels, Deadline and EscalateTo are the defaults of a check asked
	// for on demand: on_demand's, else the first schedule's channels (none
	// without either: a request must name its channel), a 10-minute
	// deadline, and the principal.
	Channels   []string
	Deadline   time.Duration
	EscalateTo []string
}

// spotChecks checks the spot_checks section and sets cfg.SpotChecks.
func (c *checker) spotChecks(cfg *Config, channels map[string]bool) {
	f := c.f.SpotChecks
	out := SpotChecks{Deadline: spotcheck.DefaultDeadline, EscalateTo: []string{duty.RolePrincipal}}
	if f == nil {
		cfg.SpotChecks = out
		return
	}
	chans := func(list []string, fields yamlconf.Fields, pos yamlconf.Pos, where string) {
		for j, ch := range list {
			if !channels[ch] {
				c.Add(fields.At(fmt.Sprintf("channels[%d]", j), pos), "%s: channel %q is not defined under channels", where, ch)
			}
		}
	}
	d := f.OnDemand
	chans(d.Channels, d.Fields, d.Pos, "spot_checks.on_demand")
	if d.Deadline > 0 {
		out.Deadline = d.Deadline
	}
	if d.EscalateTo != nil {
		out.EscalateTo = d.EscalateTo
	}
	out.Channels = d.Channels
	names := map[string]bool{}
	for i, sf := range f.Schedules {
		where := fmt.Sprintf("spot_checks.schedules[%d]", i)
		s := spotcheck.Schedule{Name: sf.Name, Orgs: sf.Orgs, Regions: sf.Regions, Industries: sf.Industries, Kinds: sf.Kinds,
			PerNight: sf.PerNight, Channels: sf.Channels, Deadline: sf.Deadline, Roles: sf.Roles}
		if s.Deadline == 0 {
			s.Deadline = spotcheck.DefaultDeadline
		}
		if len(s.Roles) == 0 {
			s.Roles = spotcheck.DefaultRoles
		}
		if names[sf.Name] {
			c.Add(sf.Fields.At("name", sf.Pos), "%s: name %q is used twice", where, sf.Name)
		}
		names[sf.Name] = true
		var err error
		if s.Window.From, err = spotcheck.ParseClock(sf.Window.From); err != nil {
			c.Add(sf.Window.Fields.At("from", sf.Window.Pos), "%s.window.from: %v", where, err)
		}
		if s.Window.To, err = spotcheck.ParseClock(sf.Window.To); err != nil {
			c.Add(sf.Window.Fields.At("to", sf.Window.Pos), "%s.window.to: %v", where, err)
		}
		chans(sf.Channels, sf.Fields, sf.Pos, where)
		for j, k := range sf.Kinds {
			if !slices.Contains(duty.OrgKinds, k) {
				c.Add(sf.Fields.At(fmt.Sprintf("kinds[%d]", j), sf.Pos), "%s: kind %q is not one of %v", where, k, duty.OrgKinds)
			}
		}
		for j, r := range sf.Regions {
			if !duty.ValidRegion(r) {
				c.Add(sf.Fields.At(fmt.Sprintf("regions[%d]", j), sf.Pos), "%s: region %q is not an administrative division code such as 320115", where, r)
			}
		}
		if cfg.Directory != nil {
			for j, id := range sf.Orgs {
				if _, ok := cfg.Directory.Org(id); !ok {
					c.Add(sf.Fields.At(fmt.Sprintf("orgs[%d]", j), sf.Pos), "%s: org %q is not defined under orgs", where, id)
				}
			}
		}
		if err := s.Check(); err != nil {
			c.Add(sf.Pos, "%s: %v", where, err)
		}
		out.Schedules = append(out.Schedules, s)
	}
	if len(out.Channels) == 0 && len(out.Schedules) > 0 {
		out.Channels = out.Schedules[0].Channels
	}
	cfg.SpotChecks = out
}
