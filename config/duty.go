package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"yujing/duty"
	"yujing/internal/yamlconf"
)

// OrgFile is one organisation (orgs:).
type OrgFile struct {
	Pos      yamlconf.Pos
	Fields   yamlconf.Fields
	ID       string   `yaml:"id"`
	Name     string   `yaml:"name"`
	Kind     string   `yaml:"kind"`
	Parent   string   `yaml:"parent"`
	Region   string   `yaml:"region"`
	Sites    []string `yaml:"sites"`
	Timezone string   `yaml:"timezone"`
}

// ResponsibilityFile is the responsibility chain of a site or of every
// site of a region (responsibility:).
type ResponsibilityFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	Site   string     `yaml:"site"`
	Region string     `yaml:"region"`
	Chain  []LinkFile `yaml:"chain"`
}

// LinkFile is one link of a responsibility chain.
type LinkFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	Tier   int      `yaml:"tier"`
	Role   string   `yaml:"role"`
	People []string `yaml:"people"`
	Roster string   `yaml:"roster"` // org/role
	Org    string   `yaml:"org"`
}

// RosterFile is one duty roster (rosters:).
type RosterFile struct {
	Pos       yamlconf.Pos
	Fields    yamlconf.Fields
	Org       string               `yaml:"org"`
	Role      string               `yaml:"role"`
	Timezone  string               `yaml:"timezone"`
	Shifts    []string             `yaml:"shifts"`
	Start     string               `yaml:"start"`
	Rotation  []TurnFile           `yaml:"rotation"`
	Overrides []RosterOverrideFile `yaml:"overrides"`
}

// RosterOverrideFile puts other people on duty for a while.
type RosterOverrideFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	From   string   `yaml:"from"`
	To     string   `yaml:"to"`
	People []string `yaml:"people"`
	Note   string   `yaml:"note"`
}

// TurnFile is one entry of a rotation: a person id, or a list of them.
type TurnFile struct {
	People []string
	At     []yamlconf.Pos // where each person is written
}

// UnmarshalYAMLNode reads a person id or a list of person ids.
func (t *TurnFile) UnmarshalYAMLNode(file string, n *yaml.Node) error {
	pos := func(n *yaml.Node) yamlconf.Pos { return yamlconf.Pos{File: file, Line: n.Line, Col: n.Column} }
	switch n.Kind {
	case yaml.ScalarNode:
		t.People, t.At = []string{n.Value}, []yamlconf.Pos{pos(n)}
		return nil
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode || c.Tag == "!!null" {
				return errors.New("a rotation entry is a person id or a list of person ids, e.g. zhang or [wang, zhao]")
			}
			t.People, t.At = append(t.People, c.Value), append(t.At, pos(c))
		}
		return nil
	}
	return errors.New("a rotation entry is a person id or a list of person ids, e.g. zhang or [wang, zhao]")
}

// duty checks orgs, responsibility and rosters with the people, and
// builds the directory. The checks are those of package duty (the API
// makes the same); each problem is reported at the field it names.
func (c *checker) duty(cfg *Config) {
	f := c.f
	spec := duty.Spec{People: cfg.People, Sites: cfg.Sites, Location: cfg.Location}
	for _, o := range f.Orgs {
		spec.Orgs = append(spec.Orgs, duty.Org{ID: o.ID, Name: o.Name, Kind: o.Kind, Parent: o.Parent, Region: o.Region, Sites: o.Sites, TZ: o.Timezone})
	}
	for _, r := range f.Responsibility {
		out := duty.Responsibility{Site: r.Site, Region: r.Region}
		for _, l := range r.Chain {
			out.Chain = append(out.Chain, duty.LinkSpec{Tier: l.Tier, Role: l.Role, People: l.People, Roster: l.Roster, Org: l.Org})
		}
		spec.Responsibility = append(spec.Responsibility, out)
	}
	for _, r := range f.Rosters {
		out := duty.Roster{Org: r.Org, Role: r.Role, Timezone: r.Timezone, Shifts: r.Shifts, Start: r.Start}
		for _, t := range r.Rotation {
			out.Rotation = append(out.Rotation, duty.Turn(t.People))
		}
		for _, o := range r.Overrides {
			out.Overrides = append(out.Overrides, duty.Override{From: o.From, To: o.To, People: o.People, Note: o.Note})
		}
		spec.Rosters = append(spec.Rosters, out)
	}
	cfg.DutySpec = spec
	d, err := duty.New(spec)
	var problems duty.Problems
	if !errors.As(err, &problems) {
		cfg.Directory = d
		return
	}
	for _, p := range problems {
		var entry reflect.Value
		switch p.Kind {
		case duty.KindPerson:
			if p.Field != "org" { // c.people reports the rest
				continue
			}
			entry = reflect.ValueOf(f.People[p.Index])
		case duty.KindOrg:
			entry = reflect.ValueOf(f.Orgs[p.Index])
		case duty.KindResponsibility:
			entry = reflect.ValueOf(f.Responsibility[p.Index])
		case duty.KindRoster:
			entry = reflect.ValueOf(f.Rosters[p.Index])
		}
		c.Add(fieldPos(entry, p.Field, f.Pos), "%s", p.Error())
	}
}

// fieldPos finds the position of a field path such as "chain[1].people[0]"
// or "rotation[2][1]" in a decoded File struct, through the Pos and Fields
// of the structs on the way; the closest known position when the field
// was not written.
func fieldPos(v reflect.Value, path string, at yamlconf.Pos) yamlconf.Pos {
	if !v.IsValid() {
		return at
	}
	if p := v.FieldByName("Pos"); p.IsValid() && !p.Interface().(yamlconf.Pos).IsZero() {
		at = p.Interface().(yamlconf.Pos)
	}
	for path != "" {
		var name string
		name, path, _ = strings.Cut(path, ".")
		key, index, hasIndex := splitIndex(name)
		fields, _ := v.FieldByName("Fields").Interface().(yamlconf.Fields)
		at = fields.At(key, at)
		if hasIndex {
			at = fields.At(name[:strings.IndexByte(name, ']')+1], at)
		}
		fv := fieldByTag(v, key)
		if !fv.IsValid() || !hasIndex || fv.Kind() != reflect.Slice || index[0] >= fv.Len() {
			return at
		}
		elem := fv.Index(index[0])
		if t, ok := elem.Interface().(TurnFile); ok {
			if len(index) > 1 && index[1] < len(t.At) {
				at = t.At[index[1]]
			}
			return at
		}
		if elem.Kind() != reflect.Struct {
			return at
		}
		v = elem
		if p := v.FieldByName("Pos"); p.IsValid() && !p.Interface().(yamlconf.Pos).IsZero() {
			at = p.Interface().(yamlconf.Pos)
		}
	}
	return at
}

// splitIndex splits "rotation[2][1]" into rotation and [2 1].
func splitIndex(s string) (string, []int, bool) {
	i := strings.IndexByte(s, '[')
	if i < 0 {
		return s, nil, false
	}
	var idx []int
	for _, part := range strings.Split(strings.TrimSuffix(s[i+1:], "]"), "][") {
		n, err := strconv.Atoi(part)
		if err != nil {
			return s[:i], nil, false
		}
		idx = append(idx, n)
	}
	return s[:i], idx, true
}

// fieldByTag is the field of struct v whose yaml tag is key.
func fieldByTag(v reflect.Value, key string) reflect.Value {
	t := v.Type()
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name == key {
			return v.Field(i)
		}
	}
	return reflect.Value{}
}

// directorySummary counts the directory for `yujing check`; "" without one.
func directorySummary(cfg *Config) string {
	s := cfg.DutySpec
	if len(s.Orgs)+len(s.Responsibility)+len(s.Rosters) == 0 {
		return ""
	}
	return fmt.Sprintf(", %s, %s, %s", count(len(s.Orgs), "org", "orgs"),
		count(len(s.Responsibility), "responsibility", "responsibilities"), count(len(s.Rosters), "roster", "rosters"))
}
