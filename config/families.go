package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"yujing"
	"yujing/internal/yamlconf"
)

// FamilyFile declares a sensor family: {id, name, name_en, metrics,
// colour, icon}. An entry whose id is a built-in family's changes that
// family's names and looks.
type FamilyFile struct {
	Pos     yamlconf.Pos
	Fields  yamlconf.Fields
	ID      string            `yaml:"id"`
	Name    string            `yaml:"name"`    // in Chinese
	NameEN  string            `yaml:"name_en"` // in English
	Metrics map[string]string `yaml:"metrics"` // metric → unit
	Colour  string            `yaml:"colour"`  // the console's colour, #rgb or #rrggbb
	Icon    string            `yaml:"icon"`    // the console's icon, a few characters
}

// familyID is what a family id may be: it is a label in topics, URLs,
// metrics and the console.
var familyID = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// colour is a CSS hex colour.
var colour = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// families sets cfg.Families: the built-in ones, then those declared, an
// entry with a built-in id replacing the built-in description.
func (c *checker) families(cfg *Config) {
	cfg.Families = yujing.BuiltinFamilies()
	builtin := len(cfg.Families)
	seen := map[string]int{}
	for i, ff := range c.f.Families {
		at := ff.Pos
		where := fmt.Sprintf("families[%d]", i)
		ok := false
		switch {
		case ff.ID == "":
			c.Add(at, "%s: id is required", where)
		case !familyID.MatchString(ff.ID):
			c.Add(ff.Fields.At("id", at), "%s: id %q: use 1 to 32 lower-case letters, digits and '_', starting with a letter", where, ff.ID)
		default:
			where = fmt.Sprintf("family %q", ff.ID)
			if line, dup := seen[ff.ID]; dup {
				c.Add(ff.Fields.At("id", at), "%s is declared twice (first at line %d)", where, line)
			} else {
				seen[ff.ID], ok = at.Line, true
			}
		}
		if strings.TrimSpace(ff.Name) == "" {
			c.Add(at, "%s: name (in Chinese, as officials read it) is required", where)
		}
		if strings.TrimSpace(ff.NameEN) == "" {
			c.Add(at, "%s: name_en is required", where)
		}
		for m := range ff.Metrics {
			if m == "" {
				c.Add(ff.Fields.At("metrics", at), "%s: metrics: a metric name is empty", where)
			}
		}
		if ff.Colour != "" && !colour.MatchString(ff.Colour) {
			c.Add(ff.Fields.At("colour", at), "%s: colour %q: want #rgb or #rrggbb", where, ff.Colour)
		}
		if n := len([]rune(ff.Icon)); n > 4 {
			c.Add(ff.Fields.At("icon", at), "%s: icon %q: at most 4 characters (an emoji or a short label)", where, ff.Icon)
		}
		if !ok {
			continue
		}
		info := yujing.FamilyInfo{ID: yujing.Family(ff.ID), Name: ff.Name, NameEN: ff.NameEN, Metrics: ff.Metrics, Colour: ff.Colour, Icon: ff.Icon}
		if j := slices.IndexFunc(cfg.Families[:builtin], func(b yujing.FamilyInfo) bool { return b.ID == info.ID }); j >= 0 {
			if info.Metrics == nil {
				info.Metrics = cfg.Families[j].Metrics
			}
			cfg.Families[j] = info
			continue
		}
		cfg.Families = append(cfg.Families, info)
	}
}

// familyList is the families for error messages: [gas hazard ...].
func familyList(fs yujing.Families) string { return fmt.Sprint(fs.IDs()) }
