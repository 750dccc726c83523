package config

import (
	"fmt"
	"slices"
	"time"

	"yujing"
	"yujing/alerting/escalate"
	"yujing/internal/yamlconf"
)

// PersonFile is one person who can be called.
type PersonFile struct {
	Pos      yamlconf.Pos
	Fields   yamlconf.Fields
	ID       string            `yaml:"id"`
	Name     string            `yaml:"name"`
	Phone    string            `yaml:"phone"`
	Email    string            `yaml:"email"`
	Org      string            `yaml:"org"`
	Position string            `yaml:"position"`
	IM       map[string]string `yaml:"im"`
}

// SummaryFile is a scheduled report.
type SummaryFile struct {
	Pos      yamlconf.Pos
	Fields   yamlconf.Fields
	Name     string        `yaml:"name"`
	Schedule string        `yaml:"schedule"`
	Period   time.Duration `yaml:"period"`
	People   []string      `yaml:"people"`
	Channels []string      `yaml:"channels"`
}

// MessagesFile sets the language and templates of messages.
type MessagesFile struct {
	Lang      string            `yaml:"lang"`
	Templates map[string]string `yaml:"templates"`
}

// RouteFile says who is called for which levels and events.
type RouteFile struct {
	Pos      yamlconf.Pos
	Fields   yamlconf.Fields
	Levels   []string `yaml:"levels"`
	Events   []string `yaml:"events"`
	People   []string `yaml:"people"`
	Channels []string `yaml:"channels"`
	Ladder   []string `yaml:"ladder"`
}

func (c *checker) people(cfg *Config) map[string]yujing.Person {
	byID := map[string]yujing.Person{}
	firstLine := map[string]int{}
	for _, p := range c.f.People {
		c.id(p.Fields.At("id", p.Pos), "person", p.ID)
		if _, dup := byID[p.ID]; dup {
			c.Add(p.Fields.At("id", p.Pos), "person %q is defined twice (first at line %d)", p.ID, firstLine[p.ID])
		} else {
			firstLine[p.ID] = p.Pos.Line
		}
		if p.Name == "" {
			c.Add(p.Pos, "person %q: name is required", p.ID)
		}
		person := yujing.Person{ID: p.ID, Name: p.Name, Phone: p.Phone, Email: p.Email, Org: p.Org, Position: p.Position, IM: p.IM}
		byID[p.ID] = person
		cfg.People = append(cfg.People, person)
	}
	return byID
}

func (c *checker) routes(cfg *Config, people map[string]yujing.Person, channels map[string]bool) {
	for i, r := range c.f.Notify {
		route := escalate.Route{Channels: r.Channels}
		for j, ls := range r.Levels {
			l, err := yujing.ParseLevel(ls)
			if err != nil {
				c.Add(r.Fields.At(fmt.Sprintf("levels[%d]", j), r.Pos), "notify[%d]: %v", i, err)
				continue
			}
			route.Levels = append(route.Levels, l)
		}
		for j, es := range r.Events {
			ev := yujing.Event(es)
			if !slices.Contains([]yujing.Event{yujing.EventRaised, yujing.EventReopened, yujing.EventUpgraded, yujing.EventDowngraded, yujing.EventResolved, yujing.EventOverdue}, ev) {
				c.Add(r.Fields.At(fmt.Sprintf("events[%d]", j), r.Pos), "notify[%d]: unknown event %q (want raised, reopened, upgraded, downgraded, resolved or overdue)", i, es)
				continue
			}
			route.Events = append(route.Events, ev)
		}
		if len(r.People) == 0 {
			c.Add(r.Pos, "notify[%d]: people is required", i)
		}
		for j, id := range r.People {
			p, ok := people[id]
			if !ok {
				c.Add(r.Fields.At(fmt.Sprintf("people[%d]", j), r.Pos), "notify[%d]: person %q is not defined under people", i, id)
				continue
			}
			route.People = append(route.People, p)
		}
		if len(r.Channels) == 0 && len(r.Ladder) == 0 {
			c.Add(r.Pos, "notify[%d]: channels or ladder is required", i)
		}
		for j, name := range r.Ladder {
			if !channels[name] {
				c.Add(r.Fields.At(fmt.Sprintf("ladder[%d]", j), r.Pos), "notify[%d]: channel %q is not defined under channels", i, name)
			}
		}
		route.Ladder = r.Ladder
		for j, name := range r.Channels {
			if !channels[name] {
				c.Add(r.Fields.At(fmt.Sprintf("channels[%d]", j), r.Pos), "notify[%d]: channel %q is not defined under channels", i, name)
			}
		}
		cfg.Routes = append(cfg.Routes, route)
	}
}
