// Package config reads yujing's YAML configuration: strict (unknown fields
// are errors), every problem reported as file:line:col with all problems at
// once, defaults set in one place, and cross-references checked (a rule
// naming a sensor that does not exist, a route naming an unknown channel).
// It turns the file into the values each stage is built from.
//
// config.go holds the root of the file (File), the checked result
// (Config) and the checker's build, which calls each section's check in
// order; load.go reads and decodes. Each section's types, defaults and
// checks are in a file named for it: http.go, mqtt.go, store.go,
// state.go, families.go, site.go, sensors.go, rules.go, scheduled.go,
// notify.go (people, routes, messages, summaries), channels.go,
// escalation.go, duty.go, alerts.go (overdue, inhibition), delivery.go,
// runtime.go. A new section is a new file and one call in build.
package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/escalate"
	"yujing/alerting/inhibit"
	"yujing/alerting/issued/capwarn"
	"yujing/alertmanager"
	"yujing/duty"
	"yujing/internal/cronspec"
	"yujing/internal/yamlconf"
	"yujing/message"
	"yujing/store/influx"
)

// File is the configuration file as written.
type File struct {
	Pos      yamlconf.Pos
	Fields   yamlconf.Fields
	Timezone string        `yaml:"timezone"`
	DataDir  string        `yaml:"data_dir"`
	HTTP     HTTPFile      `yaml:"http"`
	MQTT     MQTTFile      `yaml:"mqtt"`
	Influx   *InfluxFile   `yaml:"influx"`
	Store    StoreFile     `yaml:"store"`
	State    *StateFile    `yaml:"state"`
	Simulate SimulateFile  `yaml:"simulate"`
	Sites    []SiteFile    `yaml:"sites"`
	Sensors  []SensorFile  `yaml:"sensors"`
	Rules    []RuleFile    `yaml:"rules"`
	People   []PersonFile  `yaml:"people"`
	Channels []ChannelFile `yaml:"channels"`
	Notify   []RouteFile   `yaml:"notify"`
	Messages MessagesFile  `yaml:"messages"`
	Inhibit  []InhibitFile `yaml:"inhibit"`
	// Overdue is how long an alert of each level may stay open (督办).
	Overdue *OverdueFile `yaml:"overdue"`
	// Summaries are scheduled reports to leaders.
	Summaries []SummaryFile `yaml:"summaries"`
	// SpotChecks are duty spot checks (查岗, config/spotcheck.go).
	SpotChecks *SpotChecksFile `yaml:"spot_checks"`
	// The directory (package duty, config/duty.go): organisations,
	// responsibility chains and duty rosters, beside people.
	Orgs           []OrgFile            `yaml:"orgs"`
	Responsibility []ResponsibilityFile `yaml:"responsibility"`
	Rosters        []RosterFile         `yaml:"rosters"`
	// Delivery tunes how calls go out, for every channel.
	Delivery DeliveryFile `yaml:"delivery"`
	// Escalation is call-and-answer (叫应): policies by level.
	Escalation *EscalationFile `yaml:"escalation"`
	// Runtime tunes the Go runtime yujing runs on.
	Runtime RuntimeFile `yaml:"runtime"`

	// Families declares sensor families beyond the built-in ones (or
	// renames a built-in one): rules, reports and the console use them.
	Families []FamilyFile `yaml:"families"`

	// Alertmanager takes alerts from Prometheus, Grafana and amtool
	// (config/alertmanager.go).
	Alertmanager *AlertmanagerFile `yaml:"alertmanager"`

	// CAP is how issued warnings in CAP 1.2 are taken (config/cap.go).
	CAP *CAPFile `yaml:"cap"`
}

// SimulateFile configures the built-in simulator.
type SimulateFile struct {
	Enabled  *bool         `yaml:"enabled"`
	Interval time.Duration `yaml:"interval"`
	// LeakEvery is how often, on average, a demo gas leak ramp starts.
	LeakEvery time.Duration `yaml:"leak_every"`
}

// Config is the checked configuration, as the stages need it.
type Config struct {
	Source     string
	Location   *time.Location
	DataDir    string
	HTTPListen string
	// HTTP are the login and access settings (http.metrics_public,
	// secure_cookies, session_idle, session_max, api_tokens).
	HTTP HTTPAccess
	// EmbeddedListen is where the built-in broker listens; "" when an
	// external broker is used.
	EmbeddedListen string
	MQTT           MQTT
	Influx         *influx.Config
	Retention      time.Duration
	SpoolMaxBytes  int64
	Simulate       bool
	SimInterval    time.Duration
	LeakEvery      time.Duration
	Sites          []yujing.Site
	Sensors        []yujing.Sensor
	Rules          []*alerting.Rule
	// Scheduled are the rules with a schedule: not in Rules, evaluated by
	// alerting.Scheduler on windowed aggregates of the reading store.
	Scheduled []*alerting.ScheduledRule
	People    []yujing.Person

	// Directory is the people, organisations, responsibility chains and
	// rosters; DutySpec the lists it was built from (for a duty.Book).
	Directory *duty.Directory
	DutySpec  duty.Spec

	// DeadLetterMaxBytes bounds the spool's dead letters
	// (store.dead_letter_max_bytes).
	DeadLetterMaxBytes int64

	Channels  []Channel
	Routes    []escalate.Route
	Messages  message.Config
	Inhibit   []inhibit.Rule
	Overdue   [yujing.Red + 1]time.Duration
	Summaries []escalate.Summary
	// SpotChecks are the duty spot checks' schedules and defaults.
	SpotChecks SpotChecks
	// GroupWait is delivery.group_wait: how long calls about warnings
	// raised below red are held to be grouped; 0: no grouping.
	GroupWait time.Duration
	// Escalation are the call-and-answer policies and settings; AnswerSecret
	// signs answer links ("" : a random key kept in the data directory).
	Escalation   escalate.Settings
	CAP          capwarn.Settings // config/cap.go
	AnswerSecret string
	// GOGC and MemoryLimit are runtime.gogc and runtime.memory_limit_bytes
	// (0: no limit).
	GOGC        int
	MemoryLimit int64

	// Families are the built-in sensor families and those the file
	// declares.
	Families yujing.Families

	// State is the PostgreSQL state database (state.url); nil: the
	// embedded SQLite file in DataDir.
	State *State

	// Alertmanager maps alerts from Alertmanager clients to warnings
	// (config/alertmanager.go); nil: the API is off.
	Alertmanager *alertmanager.Mapping
}

type checker struct {
	yamlconf.Collector
	f    *File
	opts Options
	dec  *yamlconf.Decoder
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func (c *checker) id(p yamlconf.Pos, what, id string) {
	switch {
	case id == "":
		c.Add(p, "%s: id is required", what)
	case !idPattern.MatchString(id):
		c.Add(p, "%s id %q: use letters, digits, '-', '_' and '.' (it becomes part of MQTT topics and URLs)", what, id)
	}
}

func (c *checker) build() *Config {
	f := c.f
	cfg := &Config{}

	// Defaults live here, in one place.
	tz := f.Timezone
	if tz == "" {
		tz = "Asia/Shanghai"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		c.Add(f.Fields.At("timezone", f.Pos), "unknown time zone %q", tz)
		loc = time.UTC
	}
	cfg.Location = loc
	cfg.DataDir = f.DataDir
	if cfg.DataDir == "" {
		cfg.DataDir = "./data"
	}
	cfg.HTTPListen = f.HTTP.Listen
	if cfg.HTTPListen == "" {
		cfg.HTTPListen = "127.0.0.1:8080"
	}
	c.hostPort(f.HTTP.Fields.At("listen", f.Pos), "http.listen", cfg.HTTPListen)
	c.httpAccess(cfg)
	cfg.Retention = f.Store.Retention
	if cfg.Retention == 0 {
		cfg.Retention = 30 * 24 * time.Hour
	}
	cfg.SpoolMaxBytes = f.Store.SpoolMaxBytes
	if cfg.SpoolMaxBytes == 0 {
		cfg.SpoolMaxBytes = 1 << 30
	} else if cfg.SpoolMaxBytes < 1<<20 {
		c.Add(f.Store.Fields.At("spool_max_bytes", f.Pos), "store.spool_max_bytes %d: want at least 1048576 (1 MiB)", cfg.SpoolMaxBytes)
	}
	cfg.DeadLetterMaxBytes = f.Store.DeadLetterMaxBytes
	if cfg.DeadLetterMaxBytes == 0 {
		cfg.DeadLetterMaxBytes = 1 << 30
	} else if cfg.DeadLetterMaxBytes < 1<<20 {
		c.Add(f.Store.Fields.At("dead_letter_max_bytes", f.Pos), "store.dead_letter_max_bytes %d: want at least 1048576 (1 MiB)", cfg.DeadLetterMaxBytes)
	}
	if f.Simulate.Enabled != nil {
		cfg.Simulate = *f.Simulate.Enabled
	}
	cfg.SimInterval = f.Simulate.Interval
	if cfg.SimInterval == 0 {
		cfg.SimInterval = 2 * time.Second
	}
	cfg.LeakEvery = f.Simulate.LeakEvery
	if cfg.LeakEvery == 0 {
		cfg.LeakEvery = 3 * time.Minute
	}

	c.mqtt(cfg)
	c.influx(cfg)
	c.state(cfg)
	c.families(cfg)
	sites := c.sites(cfg)
	sensors := c.sensors(cfg, sites)
	c.rules(cfg, sensors, sites)
	c.alertmanager(cfg, sites)
	people := c.people(cfg)
	c.duty(cfg)
	cfg.Messages = message.Config{Lang: c.f.Messages.Lang, Templates: c.f.Messages.Templates, TimeZone: cfg.Location.String()}
	renderer, err := message.FromConfig(cfg.Messages)
	if err != nil {
		c.Add(c.f.Fields.At("messages", c.f.Pos), "messages: %v", err)
	}
	channels := c.channels(cfg, renderer)
	c.routes(cfg, people, channels)
	c.escalation(cfg, people, channels)
	c.capSection(cfg)
	c.spotChecks(cfg, channels)
	for i, sf := range c.f.Summaries {
		sum := escalate.Summary{Name: sf.Name, Schedule: sf.Schedule, Period: sf.Period, Channels: sf.Channels}
		if sf.Name == "" {
			c.Add(sf.Pos, "summaries[%d]: name is required", i)
		}
		if _, err := cronspec.Parse(sf.Schedule, cfg.Location); err != nil {
			c.Add(sf.Fields.At("schedule", sf.Pos), "summaries[%d]: schedule %q: %v (e.g. \"0 8 * * *\" for 08:00 daily)", i, sf.Schedule, err)
		}
		for j, id := range sf.People {
			p, ok := people[id]
			if !ok {
				c.Add(sf.Fields.At(fmt.Sprintf("people[%d]", j), sf.Pos), "summaries[%d]: person %q is not defined under people", i, id)
			}
			sum.People = append(sum.People, p)
		}
		for j, ch := range sf.Channels {
			if !channels[ch] {
				c.Add(sf.Fields.At(fmt.Sprintf("channels[%d]", j), sf.Pos), "summaries[%d]: channel %q is not defined under channels", i, ch)
			}
		}
		if len(sf.People) == 0 || len(sf.Channels) == 0 {
			c.Add(sf.Pos, "summaries[%d]: people and channels are required", i)
		}
		cfg.Summaries = append(cfg.Summaries, sum)
	}
	for i, in := range c.f.Inhibit {
		src, dst := c.matchers(cfg.Families, in.Source, fmt.Sprintf("inhibit[%d].source", i)), c.matchers(cfg.Families, in.Target, fmt.Sprintf("inhibit[%d].target", i))
		for _, eq := range in.Equal {
			for _, l := range strings.Split(eq, "=") {
				if !slices.Contains([]string{"site", "sensor", "family", "rule", "level"}, l) && !strings.HasPrefix(l, "tag:") {
					c.Add(in.Pos, "inhibit[%d].equal: %q is not a label (site, sensor, family, rule, level, tag:<name>, or source=target such as sensor=tag:gateway)", i, eq)
				}
			}
		}
		cfg.Inhibit = append(cfg.Inhibit, inhibit.Rule{Source: src, Target: dst, Equal: in.Equal})
	}
	if o := c.f.Overdue; o != nil {
		cfg.Overdue[yujing.Blue], cfg.Overdue[yujing.Yellow], cfg.Overdue[yujing.Orange], cfg.Overdue[yujing.Red] = o.Blue, o.Yellow, o.Orange, o.Red
	}
	c.delivery(cfg)
	c.runtime(cfg)
	return cfg
}

// Summary says what was loaded, for `yujing check`.
func (cfg *Config) Summary() string {
	mode := "external broker " + cfg.MQTT.Broker
	if cfg.EmbeddedListen != "" {
		mode = "embedded broker on " + cfg.EmbeddedListen
	}
	storeDesc := "embedded store in " + cfg.DataDir
	if cfg.Influx != nil {
		storeDesc = "InfluxDB " + cfg.Influx.URL + " bucket " + cfg.Influx.Bucket
	}
	if cfg.State != nil {
		storeDesc += ", state in " + cfg.State.Where
	}
	return fmt.Sprintf("%s, %s, %s, %s, %s, %s%s; %s; %s",
		count(len(cfg.Sites), "site", "sites"), count(len(cfg.Sensors), "sensor", "sensors"),
		count(len(cfg.Rules)+len(cfg.Scheduled), "rule", "rules"), count(len(cfg.People), "person", "people"),
		count(len(cfg.Channels), "channel", "channels"), count(len(cfg.Routes), "route", "routes"), directorySummary(cfg)+escalationSummary(cfg), mode, storeDesc)
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
