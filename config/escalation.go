package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"yujing"
	"yujing/alerting/escalate"
	"yujing/internal/yamlconf"
)

// EscalationFile is the escalation section: call-and-answer (叫应)
// policies, chosen by level, and how answers come back.
type EscalationFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	// BaseURL is where answer links point: the address officials' phones
	// reach yujing at (default http://<http.listen>).
	BaseURL string `yaml:"base_url"`
	// LinkTTL is how long an answer link works after its call's deadline
	// (default 24h).
	LinkTTL *time.Duration `yaml:"link_ttl"`
	// Secret signs answer links (at least 32 characters); default a random
	// key kept in data_dir/answer.key. Set it (from the environment) when
	// several instances must accept each other's links.
	Secret string `yaml:"secret"`
	// AnswerKeywords are SMS replies that count as an answer; AnswerKeys the
	// voice-call keys.
	AnswerKeywords []string     `yaml:"answer_keywords"`
	AnswerKeys     []string     `yaml:"answer_keys"`
	Policies       []PolicyFile `yaml:"policies"`
}

// PolicyFile is one escalation policy.
type PolicyFile struct {
	Pos                  yamlconf.Pos
	Fields               yamlconf.Fields
	Name                 string     `yaml:"name"`
	Levels               []string   `yaml:"levels"`
	Families             []string   `yaml:"families"`
	Regions              []string   `yaml:"regions"`
	Repeat               int        `yaml:"repeat"`
	ContinueAfterResolve bool       `yaml:"continue_after_resolve"`
	DoubleReport         *StepFile  `yaml:"double_report"`
	Steps                []StepFile `yaml:"steps"`
}

// StepFile is one step of a policy.
type StepFile struct {
	Pos         yamlconf.Pos
	Fields      yamlconf.Fields
	Targets     []TargetFile   `yaml:"targets"`
	Ladder      []string       `yaml:"ladder"`
	LadderWait  *time.Duration `yaml:"ladder_wait"`
	Deadline    *time.Duration `yaml:"deadline"`
	Reminders   int            `yaml:"reminders"`
	RemindEvery *time.Duration `yaml:"remind_every"`
}

// TargetFile names who a step calls: one of person, roster (org/role),
// tier (of the site's responsibility chain) or role (in that chain).
type TargetFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	Person string `yaml:"person"`
	Roster string `yaml:"roster"`
	Tier   int    `yaml:"tier"`
	Role   string `yaml:"role"`
}

// MinAnswerSecret is the shortest escalation.secret accepted.
const MinAnswerSecret = 32

// escalation checks the escalation section into cfg.Escalation.
func (c *checker) escalation(cfg *Config, people map[string]yujing.Person, channels map[string]bool) {
	ef := c.f.Escalation
	if ef == nil {
		return
	}
	set := escalate.Settings{BaseURL: ef.BaseURL, Keywords: ef.AnswerKeywords, Keys: ef.AnswerKeys}
	if ef.BaseURL != "" && !strings.HasPrefix(ef.BaseURL, "http://") && !strings.HasPrefix(ef.BaseURL, "https://") {
		c.Add(ef.Fields.At("base_url", ef.Pos), "escalation.base_url %q: want an http:// or https:// address officials' phones can reach", ef.BaseURL)
	}
	if ef.LinkTTL != nil {
		if *ef.LinkTTL < time.Minute {
			c.Add(ef.Fields.At("link_ttl", ef.Pos), "escalation.link_ttl %s: want at least 1m", *ef.LinkTTL)
		}
		set.LinkTTL = *ef.LinkTTL
	}
	if ef.Secret != "" && len(ef.Secret) < MinAnswerSecret {
		c.Add(ef.Fields.At("secret", ef.Pos), "escalation.secret is %d characters: want at least %d (or leave it out for a random key kept in the data directory)",
			len(ef.Secret), MinAnswerSecret)
	}
	cfg.AnswerSecret = ef.Secret
	names := map[string]int{}
	for i, pf := range ef.Policies {
		where := fmt.Sprintf("escalation.policies[%d]", i)
		p := escalate.Policy{Name: pf.Name, Repeat: pf.Repeat, Regions: pf.Regions, ContinueAfterResolve: pf.ContinueAfterResolve}
		if pf.Name == "" {
			c.Add(pf.Pos, "%s: name is required", where)
		} else if line, dup := names[pf.Name]; dup {
			c.Add(pf.Fields.At("name", pf.Pos), "%s: policy %q is defined twice (first at line %d)", where, pf.Name, line)
		} else {
			names[pf.Name] = pf.Pos.Line
			where = fmt.Sprintf("escalation policy %q", pf.Name)
		}
		for j, ls := range pf.Levels {
			l, err := yujing.ParseLevel(ls)
			if err != nil {
				c.Add(pf.Fields.At(fmt.Sprintf("levels[%d]", j), pf.Fields.At("levels", pf.Pos)), "%s: level %q: %v", where, ls, err)
				continue
			}
			p.Levels = append(p.Levels, l)
		}
		for j, f := range pf.Families {
			if !cfg.Families.Known(yujing.Family(f)) {
				c.Add(pf.Fields.At(fmt.Sprintf("families[%d]", j), pf.Fields.At("families", pf.Pos)), "%s: unknown family %q", where, f)
			}
			p.Families = append(p.Families, yujing.Family(f))
		}
		for j, r := range pf.Regions {
			if !regionCode(r) {
				c.Add(pf.Fields.At(fmt.Sprintf("regions[%d]", j), pf.Fields.At("regions", pf.Pos)),
					"%s: region %q: want an administrative division code of 6, 9 or 12 digits (e.g. 320115)", where, r)
			}
		}
		if pf.Repeat < 0 {
			c.Add(pf.Fields.At("repeat", pf.Pos), "%s: repeat %d must not be negative", where, pf.Repeat)
		}
		if len(pf.Steps) == 0 {
			c.Add(pf.Fields.At("steps", pf.Pos), "%s: at least one step is required", where)
		}
		for j := range pf.Steps {
			p.Steps = append(p.Steps, c.step(&pf.Steps[j], fmt.Sprintf("%s steps[%d]", where, j), people, channels, true))
		}
		if pf.DoubleReport != nil {
			s := c.step(pf.DoubleReport, where+" double_report", people, channels, false)
			p.DoubleReport = &s
		}
		set.Policies = append(set.Policies, p)
	}
	cfg.Escalation = set
	// A roster a policy names must be defined (a role nobody holds).
	rosters := map[string]bool{}
	for _, r := range cfg.DutySpec.Rosters {
		rosters[r.Key()] = true
	}
	for _, pf := range ef.Policies {
		steps := pf.Steps
		if pf.DoubleReport != nil {
			steps = append(slices.Clone(steps), *pf.DoubleReport)
		}
		for _, sf := range steps {
			for _, t := range sf.Targets {
				if strings.Contains(t.Roster, "/") && !rosters[t.Roster] {
					c.Add(t.Fields.At("roster", t.Pos), "escalation policy %q: roster %q is not defined under rosters: nobody holds that role",
						pf.Name, t.Roster)
				}
			}
		}
	}
}

// step checks one step; a double report has no deadline of its own (it
// runs alongside step 1).
func (c *checker) step(sf *StepFile, where string, people map[string]yujing.Person, channels map[string]bool, deadline bool) escalate.Step {
	s := escalate.Step{Ladder: sf.Ladder, Reminders: sf.Reminders}
	if len(sf.Targets) == 0 {
		c.Add(sf.Fields.At("targets", sf.Pos), "%s: at least one target is required (person, roster, tier or role)", where)
	}
	for k, tf := range sf.Targets {
		tw := fmt.Sprintf("%s targets[%d]", where, k)
		set := 0
		for _, b := range []bool{tf.Person != "", tf.Roster != "", tf.Tier != 0, tf.Role != ""} {
			if b {
				set++
			}
		}
		if set != 1 {
			c.Add(tf.Pos, "%s: name exactly one of person, roster (org/role), tier (of the site's chain) or role", tw)
		}
		if tf.Person != "" {
			if _, ok := people[tf.Person]; !ok {
				c.Add(tf.Fields.At("person", tf.Pos), "%s: person %q is not defined under people", tw, tf.Person)
			}
		}
		if tf.Roster != "" {
			if org, role, ok := strings.Cut(tf.Roster, "/"); !ok || org == "" || role == "" {
				c.Add(tf.Fields.At("roster", tf.Pos), "%s: roster %q: want org/role, e.g. acme/duty_officer", tw, tf.Roster)
			}
		}
		if tf.Tier < 0 {
			c.Add(tf.Fields.At("tier", tf.Pos), "%s: tier %d: want 1 or more", tw, tf.Tier)
		}
		s.Targets = append(s.Targets, escalate.Target{Person: tf.Person, Roster: tf.Roster, Tier: tf.Tier, Role: tf.Role})
	}
	if len(sf.Ladder) == 0 {
		c.Add(sf.Fields.At("ladder", sf.Pos), "%s: ladder needs at least one channel (e.g. [dingtalk, sms, voice])", where)
	}
	for k, ch := range sf.Ladder {
		if !channels[ch] {
			c.Add(sf.Fields.At(fmt.Sprintf("ladder[%d]", k), sf.Fields.At("ladder", sf.Pos)), "%s: channel %q is not defined under channels", where, ch)
		}
	}
	if !deadline {
		if sf.Deadline != nil {
			c.Add(sf.Fields.At("deadline", sf.Pos), "%s: a double report runs alongside step 1 and has no deadline of its own", where)
		}
	} else if sf.Deadline == nil || *sf.Deadline <= 0 {
		c.Add(sf.Fields.At("deadline", sf.Pos), "%s: deadline is required: how long to wait for an answer (e.g. 5m)", where)
	} else {
		s.Deadline = *sf.Deadline
	}
	if sf.LadderWait != nil {
		if *sf.LadderWait < 0 {
			c.Add(sf.Fields.At("ladder_wait", sf.Pos), "%s: ladder_wait must not be negative", where)
		}
		s.LadderWait = *sf.LadderWait
	}
	if sf.RemindEvery != nil {
		s.RemindEvery = *sf.RemindEvery
	}
	if sf.Reminders < 0 {
		c.Add(sf.Fields.At("reminders", sf.Pos), "%s: reminders must not be negative", where)
	} else if sf.Reminders > 0 && s.RemindEvery <= 0 {
		c.Add(sf.Fields.At("reminders", sf.Pos), "%s: reminders need remind_every", where)
	} else if sf.Reminders > 0 && s.Deadline > 0 && time.Duration(sf.Reminders)*s.RemindEvery >= s.Deadline {
		c.Add(sf.Fields.At("remind_every", sf.Pos), "%s: %d reminders %s apart do not fit before the deadline %s",
			where, sf.Reminders, s.RemindEvery, s.Deadline)
	}
	return s
}

// regionCode reports whether s looks like an administrative division code.
func regionCode(s string) bool {
	if len(s) != 6 && len(s) != 9 && len(s) != 12 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// escalationSummary is the escalation part of Summary: ", N escalation
// policies" ("" when there are none).
func escalationSummary(cfg *Config) string {
	if len(cfg.Escalation.Policies) == 0 {
		return ""
	}
	return ", " + count(len(cfg.Escalation.Policies), "escalation policy", "escalation policies")
}
