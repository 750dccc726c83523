package config

import (
	"fmt"
	"slices"

	"yujing"
	"yujing/alerting/issued/capwarn"
	"yujing/cap"
	"yujing/internal/yamlconf"
)

// CAPFile is the cap section: how issued warnings in CAP 1.2 (the weather
// service's, hydrology's, natural resources') become yujing warnings
// (package alerting/issued/capwarn). Every field is optional.
type CAPFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	// Colours maps a word of the event or headline to a level (红色预警 →
	// red); default 红色/橙色/黄色/蓝色 and Red/Orange/Yellow/Blue.
	Colours map[string]string `yaml:"colours"`
	// Severities maps CAP severity (Extreme, Severe, Moderate, Minor) to a
	// level when no colour is named; default red, orange, yellow, blue.
	Severities map[string]string `yaml:"severities"`
	// Geocodes are the geocode valueNames that carry administrative
	// division codes; default any geocode whose value is one.
	Geocodes []string `yaml:"geocodes"`
	// Statuses are the CAP statuses taken; default [Actual].
	Statuses []string `yaml:"statuses"`
	// Languages are the info languages preferred; default [zh].
	Languages []string `yaml:"languages"`
	// Family is the warnings' family (e.g. weather), for policies by family.
	Family string `yaml:"family"`
	// CloseOnEnd closes a cancelled or expired warning instead of leaving
	// it resolved for an operator to close (default false).
	CloseOnEnd bool `yaml:"close_on_end"`
}

// capSection checks the cap section into cfg.CAP.
func (c *checker) capSection(cfg *Config) {
	f := c.f.CAP
	if f == nil {
		return
	}
	levels := func(field string, m map[string]string, keys []string) map[string]yujing.Level {
		if len(m) == 0 {
			return nil
		}
		out := map[string]yujing.Level{}
		for _, k := range sortedKeys(m) {
			l, err := yujing.ParseLevel(m[k])
			if err != nil {
				c.Add(f.Fields.At(field, f.Pos), "cap.%s[%q]: %v", field, k, err)
				continue
			}
			if keys != nil && !slices.Contains(keys, k) {
				c.Add(f.Fields.At(field, f.Pos), "cap.%s: %q is not a CAP severity (want one of %v)", field, k, keys[:4])
				continue
			}
			if k == "" {
				c.Add(f.Fields.At(field, f.Pos), "cap.%s: an empty word matches every warning", field)
				continue
			}
			out[k] = l
		}
		return out
	}
	cfg.CAP = capwarn.Settings{Colours: levels("colours", f.Colours, nil), Severities: levels("severities", f.Severities, cap.Severities),
		Geocodes: f.Geocodes, Statuses: f.Statuses, Languages: f.Languages, Family: yujing.Family(f.Family), CloseOnEnd: f.CloseOnEnd}
	for i, s := range f.Statuses {
		if !slices.Contains(cap.Statuses, s) {
			c.Add(f.Fields.At(fmt.Sprintf("statuses[%d]", i), f.Pos), "cap.statuses[%d]: %q is not a CAP status (want one of %v)", i, s, cap.Statuses)
		}
	}
	if f.Family != "" && !cfg.Families.Known(yujing.Family(f.Family)) {
		c.Add(f.Fields.At("family", f.Pos), "cap.family: %q is not a family (want one of %v)", f.Family, cfg.Families.IDs())
	}

}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
