package config

import (
	"time"

	"yujing"
	"yujing/internal/yamlconf"
)

// OverdueFile is a time limit per level.
type OverdueFile struct {
	Blue   time.Duration `yaml:"blue"`
	Yellow time.Duration `yaml:"yellow"`
	Orange time.Duration `yaml:"orange"`
	Red    time.Duration `yaml:"red"`
}

// MatchersFile selects alerts.
type MatchersFile struct {
	Pos    yamlconf.Pos
	Site   string   `yaml:"site"`
	Sensor string   `yaml:"sensor"`
	Family string   `yaml:"family"`
	Rule   string   `yaml:"rule"`
	Levels []string `yaml:"levels"`
}

// InhibitFile is one inhibition rule.
type InhibitFile struct {
	Pos    yamlconf.Pos
	Source MatchersFile `yaml:"source"`
	Target MatchersFile `yaml:"target"`
	Equal  []string     `yaml:"equal"`
}

// matchers converts and checks alert matchers.
func (c *checker) matchers(families yujing.Families, m MatchersFile, where string) yujing.Matchers {
	out := yujing.Matchers{Site: m.Site, Sensor: m.Sensor, Family: yujing.Family(m.Family), Rule: m.Rule}
	for _, ls := range m.Levels {
		l, err := yujing.ParseLevel(ls)
		if err != nil {
			c.Add(m.Pos, "%s: %v", where, err)
			continue
		}
		out.Levels = append(out.Levels, l)
	}
	if m.Family != "" && !families.Known(out.Family) {
		c.Add(m.Pos, "%s: unknown family %q", where, m.Family)
	}
	return out
}
