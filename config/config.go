// Package config reads yujing's YAML configuration: strict (unknown fields
// are errors), every problem reported as file:line:col with all problems at
// once, defaults set in one place, and cross-references checked (a rule
// naming a sensor that does not exist, a route naming an unknown channel).
// It turns the file into the values each stage is built from.
package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/escalate"
	"yujing/alerting/inhibit"
	"yujing/duty"
	"yujing/ingest"
	"yujing/internal/cronspec"
	"yujing/internal/yamlconf"
	"yujing/notify"
	"yujing/notify/all"
	"yujing/notify/message"
	"yujing/store"
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
}

// RuntimeFile tunes the Go garbage collector (the GOGC and GOMEMLIMIT
// environment variables win over both, as Prometheus does with its runtime.gogc).
type RuntimeFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	// GOGC is the heap growth, in percent, that starts a collection
	// (default 400; -1 turns the collector off, for use with a memory limit).
	GOGC *int `yaml:"gogc"`
	// MemoryLimitBytes is the soft limit on the memory the runtime uses
	// (default none): nearing it, the collector runs more often.
	MemoryLimitBytes int64 `yaml:"memory_limit_bytes"`
}

// DefaultGOGC is runtime.gogc when it is not set: four times Go's 100.
// yujing's live heap is small (about 20 MB) and most of what it allocates
// (paho's, about 1 KB a message) dies within a message, so it trades about
// 80 MB of heap for about 0.5 µs of CPU per reading at 70 000 readings/s
// (BENCHMARKS.md).
const DefaultGOGC = 400

// DeliveryFile tunes the delivery of calls (the notify dispatcher).
type DeliveryFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	// GroupWait holds calls about warnings raised below red for this long,
	// so that a burst from one site goes to each person as one message
	// per channel; default 10s, 0 turns grouping off.
	GroupWait *time.Duration `yaml:"group_wait"`
}

// DefaultGroupWait is delivery.group_wait when it is not set;
// MaxGroupWait is the most it may be.
const (
	DefaultGroupWait = 10 * time.Second
	MaxGroupWait     = 5 * time.Minute
)

// HTTPFile is the HTTP server section.
type HTTPFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	Listen string `yaml:"listen"`
	// MetricsPublic lets anyone read /metrics (a Prometheus without a
	// token); default false: /metrics needs the viewer role.
	MetricsPublic bool `yaml:"metrics_public"`
	// SecureCookies marks the session cookie Secure on plain HTTP too:
	// set it when a TLS-terminating proxy is in front of yujing.
	SecureCookies bool `yaml:"secure_cookies"`
	// SessionIdle ends a login session unused for that long (default
	// 12h); SessionMax ends it that long after login (default 168h).
	SessionIdle time.Duration `yaml:"session_idle"`
	SessionMax  time.Duration `yaml:"session_max"`
	// APITokens are bearer tokens for integrations, each with a role.
	APITokens []APITokenFile `yaml:"api_tokens"`
	// TrustedProxies are the reverse proxies in front of yujing, as
	// addresses or CIDR ranges: a request from one of them is counted,
	// for the login limits, on the client its X-Forwarded-For (or
	// X-Real-IP) names.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// APITokenFile is an API token written in the configuration, e.g.
// {name: ci, role: admin, token: "${YUJING_API_TOKEN}"}.
type APITokenFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	Name   string `yaml:"name"`
	Role   string `yaml:"role"` // viewer, operator or admin
	Token  string `yaml:"token"`
}

// HTTPAccess are the login and access settings of the HTTP API.
type HTTPAccess struct {
	MetricsPublic bool
	SecureCookies bool
	SessionIdle   time.Duration
	SessionMax    time.Duration
	APITokens     []APIToken
	// TrustedProxies are http.trusted_proxies, each address as a /32 or
	// /128.
	TrustedProxies []netip.Prefix
}

// APIToken is a checked http.api_tokens entry.
type APIToken struct {
	Name, Role, Token string
}

// Defaults and bounds of the http section's access settings.
const (
	DefaultSessionIdle = 12 * time.Hour
	DefaultSessionMax  = 7 * 24 * time.Hour
	MinAPITokenLen     = 32
)

// apiTokenName is what a token name may be (web/auth checks the same).
var apiTokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

// MQTTFile is the MQTT section.
type MQTTFile struct {
	Pos          yamlconf.Pos
	Fields       yamlconf.Fields
	Embedded     *EmbeddedFile `yaml:"embedded"`
	Broker       string        `yaml:"broker"`
	ClientID     string        `yaml:"client_id"`
	Username     string        `yaml:"username"`
	Password     string        `yaml:"password"`
	QoS          *int          `yaml:"qos"`
	CleanSession bool          `yaml:"clean_session"`
	Filters      []string      `yaml:"filters"`
	Shards       int           `yaml:"shards"`
	QueueSize    int           `yaml:"queue_size"`
	// Linger is how long a shard waits to fill its batch under sustained
	// load (default 50ms; 0: never); see ingest.Config.Linger.
	Linger *time.Duration `yaml:"linger"`
	// PasswordFile reads the password from a file (a mounted secret).
	PasswordFile string `yaml:"password_file"`
	// SharedGroup subscribes as $share/<group>/<filter> so several yujing
	// instances split one broker's load.
	SharedGroup string `yaml:"shared_group"`
	// Topics are topic templates such as plant/{site}/gas/{sensor}: a
	// message on a matching topic belongs to the sensor named by {sensor}.
	Topics []string `yaml:"topics"`
	// Discovery lists messages on unknown topics for the integrator to adopt.
	Discovery bool     `yaml:"discovery"`
	TLS       *TLSFile `yaml:"tls"`
	// MaxAge and MaxFuture bound readings' timestamps (default 720h, 5m).
	MaxAge    time.Duration `yaml:"max_age"`
	MaxFuture time.Duration `yaml:"max_future"`
	// MaxUndeclaredMetrics bounds the metric names a sensor that lists no
	// metrics takes from payloads (default 32); see
	// ingest.Config.MaxUndeclaredMetrics.
	MaxUndeclaredMetrics int `yaml:"max_undeclared_metrics"`
}

// TLSFile configures TLS to the broker.
type TLSFile struct {
	Pos                yamlconf.Pos
	Fields             yamlconf.Fields
	CA                 string `yaml:"ca"`   // PEM file of the CA(s) to trust; default: the system's
	Cert               string `yaml:"cert"` // client certificate (PEM file), with key
	Key                string `yaml:"key"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// EmbeddedFile configures the built-in MQTT broker.
type EmbeddedFile struct {
	Fields yamlconf.Fields
	Listen string `yaml:"listen"`
}

// InfluxFile configures InfluxDB as the reading store.
type InfluxFile struct {
	Pos       yamlconf.Pos
	Fields    yamlconf.Fields
	URL       string        `yaml:"url"`
	Token     string        `yaml:"token"`
	Org       string        `yaml:"org"`
	Bucket    string        `yaml:"bucket"`
	BatchSize int           `yaml:"batch_size"`
	Timeout   time.Duration `yaml:"timeout"`
	// Gzip compresses write requests (default: true, except to localhost
	// or a loopback address); false saves CPU on both sides when InfluxDB
	// is on the same LAN.
	Gzip *bool `yaml:"gzip"`
}

// StoreFile configures the embedded reading store, and the spool in front
// of InfluxDB.
type StoreFile struct {
	Pos       yamlconf.Pos
	Fields    yamlconf.Fields
	Retention time.Duration `yaml:"retention"`
	// SpoolMaxBytes bounds the spool (<data_dir>/spool) that holds readings
	// while InfluxDB is down.
	SpoolMaxBytes int64 `yaml:"spool_max_bytes"`
	// DeadLetterMaxBytes bounds the dead letters (<data_dir>/spool/deadletter)
	// that keep readings InfluxDB refused for good until it takes them.
	DeadLetterMaxBytes int64 `yaml:"dead_letter_max_bytes"`
}

// SimulateFile configures the built-in simulator.
type SimulateFile struct {
	Enabled  *bool         `yaml:"enabled"`
	Interval time.Duration `yaml:"interval"`
	// LeakEvery is how often, on average, a demo gas leak ramp starts.
	LeakEvery time.Duration `yaml:"leak_every"`
}

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

// SiteFile is one site.
type SiteFile struct {
	Pos      yamlconf.Pos
	Fields   yamlconf.Fields
	ID       string `yaml:"id"`
	Name     string `yaml:"name"`
	Region   string `yaml:"region"`
	Industry string `yaml:"industry"`
	// Parent makes the site part of another: a hazard source or a
	// tailings pond of an enterprise's plant.
	Parent string `yaml:"parent"`
	// Location and Boundary place the site on the wall screen's map
	// (config/site.go).
	Location *LatLonFile `yaml:"location"`
	Boundary string      `yaml:"boundary"` // a GeoJSON file, relative to this file
}

// RangeFile is a physical measuring range.
type RangeFile struct {
	Pos yamlconf.Pos
	Min *float64 `yaml:"min"`
	Max *float64 `yaml:"max"`
}

// SensorFile is one sensor.
type SensorFile struct {
	Pos      yamlconf.Pos
	Fields   yamlconf.Fields
	ID       string            `yaml:"id"`
	Name     string            `yaml:"name"`
	Site     string            `yaml:"site"`
	Family   string            `yaml:"family"`
	Region   string            `yaml:"region"`
	Industry string            `yaml:"industry"`
	Metric   string            `yaml:"metric"`
	Unit     string            `yaml:"unit"`
	Metrics  map[string]string `yaml:"metrics"` // metric → unit, for multi-metric devices
	Location string            `yaml:"location"`
	Topic    string            `yaml:"topic"`
	Decoder  string            `yaml:"decoder"`
	// MetricMap renames the device's metric names (ch1 → lel).
	MetricMap map[string]string `yaml:"metric_map"`
	Interval  time.Duration     `yaml:"interval"`
	Range     *RangeFile        `yaml:"range"`
	Tags      map[string]string `yaml:"tags"`
	// fast is where the item is when the fast path read it (then Fields
	// is nil: at finds a field's place).
	fast fastItem
}

// TiersFile is one threshold per level.
type TiersFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	Blue   *float64 `yaml:"blue"`
	Yellow *float64 `yaml:"yellow"`
	Orange *float64 `yaml:"orange"`
	Red    *float64 `yaml:"red"`
}

// SelectorFile selects sensors by their attributes.
type SelectorFile struct {
	Pos      yamlconf.Pos
	Fields   yamlconf.Fields
	Family   string            `yaml:"family"`
	Site     string            `yaml:"site"`
	Region   string            `yaml:"region"`
	Industry string            `yaml:"industry"`
	Tags     map[string]string `yaml:"tags"`
}

// RuleFile is one threshold rule.
type RuleFile struct {
	Pos         yamlconf.Pos
	Fields      yamlconf.Fields
	Name        string        `yaml:"name"`
	Description string        `yaml:"description"`
	Sensors     []string      `yaml:"sensors"`
	Match       *SelectorFile `yaml:"match"`
	Metric      string        `yaml:"metric"`
	Above       *TiersFile    `yaml:"above"`
	Below       *TiersFile    `yaml:"below"`
	Hysteresis  float64       `yaml:"hysteresis"`
	// Clear: per level, the value at which that level is left.
	Clear *TiersFile `yaml:"clear"`
	// Kind: threshold (default), rate, offline, stuck, fault, composite.
	Kind         string                  `yaml:"kind"`
	For          time.Duration           `yaml:"for"`
	ClearFor     time.Duration           `yaml:"clear_for"`
	RateWindow   time.Duration           `yaml:"rate_window"`
	RatePer      time.Duration           `yaml:"rate_per"`
	UniformRate  float64                 `yaml:"uniform_rate"`
	Level        string                  `yaml:"level"`
	OfflineAfter float64                 `yaml:"offline_after"`
	StuckFor     time.Duration           `yaml:"stuck_for"`
	Tolerance    float64                 `yaml:"tolerance"`
	Codes        map[string]string       `yaml:"codes"`
	WhenStatus   []string                `yaml:"when_status"`
	Of           []RefFile               `yaml:"of"`
	K            int                     `yaml:"k"`
	Overrides    map[string]OverrideFile `yaml:"overrides"`
	// Schedule makes the rule a scheduled rule (see scheduled): a cron
	// spec such as "*/5 * * * *" or "@every 5m".
	Schedule  string        `yaml:"schedule"`
	Window    time.Duration `yaml:"window"`
	Windows   *WindowsFile  `yaml:"windows"`
	Aggregate string        `yaml:"aggregate"`
	// Calendar (day or month) makes the window the calendar period so far
	// instead of window.
	Calendar string `yaml:"calendar"`
	// Baseline measures the value from a configured or learned baseline.
	Baseline *BaselineFile `yaml:"baseline"`
}

// BaselineFile is a scheduled rule's baseline: {value: 15} (configured) or
// {aggregate: min, window: 720h} (learned from the sensor's readings).
type BaselineFile struct {
	Pos       yamlconf.Pos
	Fields    yamlconf.Fields
	Value     *float64      `yaml:"value"`
	Aggregate string        `yaml:"aggregate"`
	Window    time.Duration `yaml:"window"`
}

// RefFile is a condition a composite rule counts.
type RefFile struct {
	Pos   yamlconf.Pos
	Rule  string `yaml:"rule"`
	Level string `yaml:"level"`
}

// OverrideFile replaces a rule's numbers for one sensor.
type OverrideFile struct {
	Pos        yamlconf.Pos
	Above      *TiersFile `yaml:"above"`
	Below      *TiersFile `yaml:"below"`
	Hysteresis *float64   `yaml:"hysteresis"`
	// UniformRate is a tangent rule's uniform-stage rate for the sensor.
	UniformRate *float64 `yaml:"uniform_rate"`
}

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
}

// MQTT is the subscriber's connection.
type MQTT struct {
	// FromEmbedded is true when no broker was configured: the subscriber
	// connects to the embedded broker, wherever it ends up listening.
	FromEmbedded bool
	Broker       string
	ClientID     string
	Username     string
	Password     string
	QoS          byte
	CleanSession bool
	Filters      []string
	Shards       int
	QueueSize    int
	Linger       time.Duration // 0: ingest's default; negative: never
	SharedGroup  string
	Topics       []string // topic templates
	Discovery    bool
	TLS          *tls.Config
	MaxAge       time.Duration
	MaxFuture    time.Duration
	// MaxUndeclaredMetrics: 0 means ingest's default.
	MaxUndeclaredMetrics int
}

// Options tune parsing.
type Options struct {
	// Decoders lists the payload decoders that exist, to check sensors' decoder names.
	Decoders []string
	// LookupEnv resolves ${VAR} in string values (os.LookupEnv if nil).
	LookupEnv func(string) (string, bool)
	// Channels are the channel types a channel's block may name, each
	// checking its block with its constructor; nil: notify/all's, every
	// type yujing ships.
	Channels *notify.Types
}

// Load reads and checks the configuration file at path.
func Load(path string, opts Options) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, opts)
}

// Parse checks the configuration in data; name is used in error positions.
// The error, if any, is a yamlconf.Errors listing every problem: values of
// the wrong type and unknown fields together with the checks of what did
// decode (references, duplicates, thresholds, each channel's own checks),
// leaving out a check's error at a place that did not decode. Errors quote
// values as the file writes them (${VAR}), never what the environment gave.
func Parse(name string, data []byte, opts Options) (*Config, error) {
	return parse(name, data, opts, true)
}

// parse is Parse; fast lets a long sensors: list be read without yaml.v3
// (fastsensors.go), which tests turn off to compare.
func parse(name string, data []byte, opts Options, fast bool) (*Config, error) {
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.Channels == nil {
		types, err := all.Types()
		if err != nil {
			return nil, err
		}
		opts.Channels = types
	}
	f, dec, ok := decodeFile(name, data, opts.LookupEnv, fast)
	if !ok {
		return nil, dec.Errors()
	}
	if f.Pos.IsZero() {
		f.Pos = yamlconf.Pos{File: name, Line: 1, Col: 1}
	}
	c := &checker{f: f, opts: opts, dec: dec}
	cfg := c.build()
	var errs yamlconf.Errors
	if err := dec.Errors(); err != nil {
		errs = append(errs, err.(yamlconf.Errors)...)
		for _, e := range c.Errs {
			if !dec.Failed(e.Pos) && !e.Pos.IsZero() {
				errs = append(errs, e)
			}
		}
	} else {
		errs = c.Errs
	}
	if err := errs.Err(); err != nil {
		return nil, dec.Redact(err)
	}
	cfg.Source = name
	return cfg, nil
}

// decodeFile decodes data into a File; ok is false when data is not one
// YAML document. With fast, a long sensors: list in the plain shape is
// read without yaml.v3 (fastsensors.go), the rest of the file with it.
func decodeFile(name string, data []byte, lookupEnv func(string) (string, bool), fast bool) (*File, *yamlconf.Decoder, bool) {
	dec := yamlconf.NewDecoder(name, lookupEnv)
	var f File
	if fast {
		if list, rest, line, seq, ok := fastSensors(name, data); ok {
			if dec.Decode(rest, &f) && dec.Errors() == nil && f.Sensors == nil && f.Fields["sensors"].Line == line {
				f.Sensors = list
				f.Fields["sensors"] = seq
				return &f, dec, true
			}
			// Not what it seemed, or wrong elsewhere: yaml.v3 reads it
			// all and says what is wrong where it always has.
			dec, f = yamlconf.NewDecoder(name, lookupEnv), File{}
		}
	}
	ok := dec.Decode(data, &f)
	return &f, dec, ok
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

// httpAccess checks the http section's login and token settings.
func (c *checker) httpAccess(cfg *Config) {
	h := c.f.HTTP
	pos := h.Pos
	if pos.IsZero() {
		pos = c.f.Pos
	}
	a := HTTPAccess{MetricsPublic: h.MetricsPublic, SecureCookies: h.SecureCookies,
		SessionIdle: h.SessionIdle, SessionMax: h.SessionMax}
	if a.SessionIdle == 0 {
		a.SessionIdle = DefaultSessionIdle
	}
	if a.SessionMax == 0 {
		a.SessionMax = DefaultSessionMax
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"session_idle", a.SessionIdle}, {"session_max", a.SessionMax}} {
		if d.v < time.Minute {
			c.Add(h.Fields.At(d.key, pos), "http.%s %s: want at least 1m", d.key, d.v)
		}
	}
	if a.SessionIdle > a.SessionMax {
		c.Add(h.Fields.At("session_idle", pos), "http.session_idle %s is longer than http.session_max %s", a.SessionIdle, a.SessionMax)
	}
	names, tokens := map[string]bool{}, map[string]string{}
	for i, t := range h.APITokens {
		tp := t.Pos
		if tp.IsZero() {
			tp = h.Fields.At(fmt.Sprintf("api_tokens[%d]", i), pos)
		}
		switch {
		case t.Name == "":
			c.Add(tp, "http.api_tokens[%d]: name is required", i)
		case !apiTokenName.MatchString(t.Name):
			c.Add(t.Fields.At("name", tp), "http.api_tokens[%d]: name %q: use 1 to 64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit", i, t.Name)
		case names[t.Name]:
			c.Add(t.Fields.At("name", tp), "http.api_tokens[%d]: name %q is used twice", i, t.Name)
		}
		names[t.Name] = true
		if !slices.Contains([]string{"viewer", "operator", "admin"}, t.Role) {
			c.Add(t.Fields.At("role", tp), "http.api_tokens[%d] (%s): role %q: want viewer, operator or admin", i, t.Name, t.Role)
		}
		// The token's text is never written into an error.
		switch {
		case len(t.Token) < MinAPITokenLen:
			c.Add(t.Fields.At("token", tp), "http.api_tokens[%d] (%s): token: at least %d characters, got %d (make one with: openssl rand -base64 32)", i, t.Name, MinAPITokenLen, len(t.Token))
		case tokens[t.Token] != "":
			c.Add(t.Fields.At("token", tp), "http.api_tokens[%d] (%s): token is the same as that of token %q", i, t.Name, tokens[t.Token])
		default:
			tokens[t.Token] = t.Name
		}
		a.APITokens = append(a.APITokens, APIToken{Name: t.Name, Role: t.Role, Token: t.Token})
	}
	for i, tp := range h.TrustedProxies {
		p, err := netip.ParsePrefix(tp)
		if err != nil {
			ip, ierr := netip.ParseAddr(tp)
			if ierr != nil || ip.Zone() != "" {
				c.Add(h.Fields.At(fmt.Sprintf("trusted_proxies[%d]", i), h.Fields.At("trusted_proxies", pos)),
					"http.trusted_proxies[%d]: %q: want an IP address or a CIDR range such as 10.0.0.0/8", i, tp)
				continue
			}
			p = netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen())
		}
		a.TrustedProxies = append(a.TrustedProxies, p.Masked())
	}
	cfg.HTTP = a
}

func (c *checker) hostPort(p yamlconf.Pos, field, addr string) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		c.Add(p, "%s: want host:port such as 127.0.0.1:8080, got %q", field, addr)
	}
}

func (c *checker) mqtt(cfg *Config) {
	m := c.f.MQTT
	pos := m.Pos
	if pos.IsZero() {
		pos = c.f.Pos
	}
	if m.Embedded != nil && m.Broker != "" {
		c.Add(m.Fields.At("broker", pos), "mqtt: give embedded: (run the built-in broker) or broker: (use an external one), not both")
	}
	if m.Embedded != nil || m.Broker == "" {
		cfg.EmbeddedListen = "127.0.0.1:1883"
		if m.Embedded != nil && m.Embedded.Listen != "" {
			cfg.EmbeddedListen = m.Embedded.Listen
			c.hostPort(m.Embedded.Fields.At("listen", pos), "mqtt.embedded.listen", cfg.EmbeddedListen)
		}
	}
	cfg.MQTT = MQTT{Broker: m.Broker, ClientID: m.ClientID, Username: m.Username, Password: m.Password,
		CleanSession: m.CleanSession, Filters: m.Filters, Shards: m.Shards, QueueSize: m.QueueSize, QoS: 1}
	if cfg.MQTT.Broker == "" {
		cfg.MQTT.FromEmbedded = true
		host, port, _ := net.SplitHostPort(cfg.EmbeddedListen)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		cfg.MQTT.Broker = "tcp://" + net.JoinHostPort(host, port)
	} else {
		u, err := url.Parse(m.Broker)
		if err != nil || !slices.Contains([]string{"tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss"}, u.Scheme) || u.Host == "" {
			c.Add(m.Fields.At("broker", pos), "mqtt.broker: want a URL such as tcp://127.0.0.1:1883 or ssl://broker:8883, got %q", m.Broker)
		}
	}
	if cfg.MQTT.ClientID == "" {
		cfg.MQTT.ClientID = "yujing"
	}
	if m.QoS != nil {
		if *m.QoS != 0 && *m.QoS != 1 {
			c.Add(m.Fields.At("qos", pos), "mqtt.qos: want 0 or 1 (1 is needed for the no-loss guarantee), got %d", *m.QoS)
		}
		cfg.MQTT.QoS = byte(*m.QoS)
	}
	if m.PasswordFile != "" {
		if m.Password != "" {
			c.Add(m.Fields.At("password_file", pos), "mqtt: give password or password_file, not both")
		}
		b, err := os.ReadFile(m.PasswordFile)
		if err != nil {
			c.Add(m.Fields.At("password_file", pos), "mqtt.password_file: %v", err)
		}
		cfg.MQTT.Password = strings.TrimRight(string(b), "\r\n")
	}
	cfg.MQTT.SharedGroup, cfg.MQTT.Discovery = m.SharedGroup, m.Discovery
	if m.Linger != nil {
		switch l := *m.Linger; {
		case l < 0 || l > time.Second:
			c.Add(m.Fields.At("linger", pos), "mqtt.linger %s: want 0s (never) to 1s; the default, 50ms, suits most sites", l)
		case l == 0:
			cfg.MQTT.Linger = -1
		default:
			cfg.MQTT.Linger = l
		}
	}
	cfg.MQTT.MaxAge, cfg.MQTT.MaxFuture = m.MaxAge, m.MaxFuture
	if m.MaxUndeclaredMetrics < 0 {
		c.Add(m.Fields.At("max_undeclared_metrics", pos), "mqtt.max_undeclared_metrics %d: want a positive number of metric names (default 32)", m.MaxUndeclaredMetrics)
	}
	cfg.MQTT.MaxUndeclaredMetrics = m.MaxUndeclaredMetrics
	if m.SharedGroup != "" && (strings.ContainsAny(m.SharedGroup, "/+#") || m.Embedded != nil || m.Broker == "") {
		c.Add(m.Fields.At("shared_group", pos), "mqtt.shared_group %q: a plain name without / + #, and only with an external broker (broker:)", m.SharedGroup)
	}
	for i, tpl := range m.Topics {
		if err := ingest.CheckTemplate(tpl); err != nil {
			c.Add(m.Fields.At(fmt.Sprintf("topics[%d]", i), pos), "mqtt.topics[%d]: %v", i, err)
		}
		cfg.MQTT.Topics = append(cfg.MQTT.Topics, tpl)
	}
	if t := m.TLS; t != nil {
		tc, err := tlsConfig(t)
		if err != nil {
			c.Add(t.Pos, "mqtt.tls: %v", err)
		}
		cfg.MQTT.TLS = tc
	}
	for i, flt := range m.Filters {
		if flt == "" || strings.Contains(flt, "#") && !strings.HasSuffix(flt, "#") {
			c.Add(m.Fields.At(fmt.Sprintf("filters[%d]", i), pos), "mqtt.filters[%d]: %q is not a valid topic filter", i, flt)
		}
	}
}

// tlsConfig loads the broker TLS files.
func tlsConfig(t *TLSFile) (*tls.Config, error) {
	tc := &tls.Config{ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	var errs []error
	if t.CA != "" {
		pem, err := os.ReadFile(t.CA)
		if err != nil {
			errs = append(errs, fmt.Errorf("ca: %w", err))
		} else {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				errs = append(errs, fmt.Errorf("ca: no PEM certificate in %s", t.CA))
			}
			tc.RootCAs = pool
		}
	}
	if (t.Cert == "") != (t.Key == "") {
		errs = append(errs, errors.New("give both cert and key for a client certificate"))
	} else if t.Cert != "" {
		cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			errs = append(errs, fmt.Errorf("client certificate: %w", err))
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, errors.Join(errs...)
}

func (c *checker) influx(cfg *Config) {
	in := c.f.Influx
	if in == nil {
		return
	}
	cfg.Influx = &influx.Config{URL: in.URL, Token: in.Token, Org: in.Org, Bucket: in.Bucket, BatchSize: in.BatchSize, Timeout: in.Timeout, Gzip: in.Gzip}
	// What influx.New checks, at the fields it concerns.
	c.fieldErrors("influx", in.Pos, in.Fields, flatErrors(cfg.Influx.Validate()))
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

func (c *checker) sites(cfg *Config) map[string]bool {
	seen := map[string]bool{}
	for _, s := range c.f.Sites {
		c.id(s.Fields.At("id", s.Pos), "site", s.ID)
		if seen[s.ID] {
			c.Add(s.Fields.At("id", s.Pos), "site %q is defined twice", s.ID)
		}
		seen[s.ID] = true
		site := yujing.Site{ID: s.ID, Name: s.Name, Region: s.Region, Industry: s.Industry, Parent: s.Parent}
		c.siteMap(s, &site)
		cfg.Sites = append(cfg.Sites, site)
	}
	c.siteParents(cfg, seen)
	return seen
}

// siteParents checks the sites' parents (defined, no cycle) and gives a
// site without its own region or industry its parent's.
func (c *checker) siteParents(cfg *Config, seen map[string]bool) {
	idx := map[string]int{}
	for i, s := range cfg.Sites {
		if _, dup := idx[s.ID]; !dup {
			idx[s.ID] = i
		}
	}
	for _, s := range c.f.Sites {
		if s.Parent == "" {
			continue
		}
		if !seen[s.Parent] {
			c.Add(s.Fields.At("parent", s.Pos), "site %q: parent %q is not defined under sites", s.ID, s.Parent)
			continue
		}
		// Follow the parents up: a cycle comes back to a site already met.
		met := map[string]bool{s.ID: true}
		for p := s.Parent; p != ""; p = cfg.Sites[idx[p]].Parent {
			if met[p] {
				c.Add(s.Fields.At("parent", s.Pos), "site %q: parent %q makes a cycle (a site cannot be part of itself)", s.ID, s.Parent)
				break
			}
			met[p] = true
			if !seen[p] {
				break
			}
		}
	}
	// Inherit region and industry, nearest ancestor first.
	for i := range cfg.Sites {
		s := &cfg.Sites[i]
		for p, n := s.Parent, 0; p != "" && n < len(cfg.Sites); n++ {
			j, found := idx[p]
			if !found {
				break
			}
			if s.Region == "" {
				s.Region = cfg.Sites[j].Region
			}
			if s.Industry == "" {
				s.Industry = cfg.Sites[j].Industry
			}
			p = cfg.Sites[j].Parent
		}
	}
}

func (c *checker) sensors(cfg *Config, sites map[string]bool) map[string]*SensorFile {
	byID := make(map[string]*SensorFile, len(c.f.Sensors))
	topics := map[string]string{} // the topics sensors set, other than the default
	cfg.Sensors = make([]yujing.Sensor, 0, len(c.f.Sensors))
	for i := range c.f.Sensors {
		s := &c.f.Sensors[i]
		if s.ID == "" || !idPattern.MatchString(s.ID) {
			c.id(s.at("id"), "sensor", s.ID)
		}
		if _, dup := byID[s.ID]; dup && s.ID != "" {
			c.Add(s.at("id"), "sensor %q is defined twice (first at line %d)", s.ID, byID[s.ID].Pos.Line)
		}
		byID[s.ID] = s
		if s.Site == "" {
			c.Add(s.Pos, "sensor %q: site is required", s.ID)
		} else if !sites[s.Site] {
			c.Add(s.at("site"), "sensor %q: site %q is not defined under sites", s.ID, s.Site)
		}
		if s.Family == "" {
			c.Add(s.Pos, "sensor %q: family is required (one of %s)", s.ID, familyList(cfg.Families))
		} else if !cfg.Families.Known(yujing.Family(s.Family)) {
			c.Add(s.at("family"), "sensor %q: unknown family %q (want one of %s, or declare it under families)", s.ID, s.Family, familyList(cfg.Families))
		}
		metric := s.Metric
		if metric == "" {
			metric = "value"
		}
		decoder := s.Decoder
		if decoder == "" {
			decoder = "json"
		}
		if len(c.opts.Decoders) > 0 && !slices.Contains(c.opts.Decoders, decoder) {
			c.Add(s.at("decoder"), "sensor %q: unknown decoder %q (want one of %v)", s.ID, decoder, c.opts.Decoders)
		}
		topic, own := s.Topic, s.Topic != ""
		if !own {
			topic = yujing.DefaultTopic(s.Site, s.ID)
		} else if strings.ContainsAny(topic, "+#") {
			c.Add(s.at("topic"), "sensor %q: topic %q must not contain wildcards", s.ID, topic)
		} else if strings.Contains(topic, "{") {
			expanded, err := ingest.ExpandTopic(topic, &yujing.Sensor{ID: s.ID, Site: s.Site, Family: yujing.Family(s.Family), Region: s.Region})
			if err != nil {
				c.Add(s.at("topic"), "sensor %q: %v", s.ID, err)
			}
			topic = expanded
		}
		for from, to := range s.MetricMap {
			if from == "" || to == "" {
				c.Add(s.at("metric_map"), "sensor %q: metric_map entries need both names", s.ID)
			}
		}
		other, dup := topics[topic]
		if site, id, ok := defaultTopicOf(topic); ok && own && !dup {
			// Another sensor's default topic (not kept in topics: a
			// province has a million).
			if o := byID[id]; o != nil && o.Topic == "" && o.Site == site {
				other, dup = id, true
			}
		}
		if dup && other != s.ID {
			c.Add(s.at("topic"), "sensor %q: topic %q is already used by sensor %q", s.ID, topic, other)
		}
		if own {
			topics[topic] = s.ID
		}
		sn := yujing.Sensor{ID: s.ID, Name: s.Name, Site: s.Site, Family: yujing.Family(s.Family), Region: s.Region,
			Industry: s.Industry, Metric: metric, Unit: s.Unit, Units: s.Metrics, Location: s.Location, Topic: topic,
			Decoder: decoder, Interval: s.Interval, Tags: s.Tags, MetricMap: s.MetricMap}
		if s.Range != nil {
			sn.Min, sn.Max = s.Range.Min, s.Range.Max
			if sn.Min != nil && sn.Max != nil && *sn.Min >= *sn.Max {
				c.Add(s.Range.Pos, "sensor %q: range min %g must be below max %g", s.ID, *sn.Min, *sn.Max)
			}
		}
		cfg.Sensors = append(cfg.Sensors, sn)
	}
	return byID
}

// defaultTopicOf splits yujing/<site>/<sensor>.
func defaultTopicOf(topic string) (site, id string, ok bool) {
	rest, ok := strings.CutPrefix(topic, "yujing/")
	if !ok {
		return "", "", false
	}
	site, id, ok = strings.Cut(rest, "/")
	return site, id, ok && !strings.Contains(id, "/")
}

func tiers(t *TiersFile) alerting.Tiers {
	var out alerting.Tiers
	if t == nil {
		return out
	}
	for l, v := range map[yujing.Level]*float64{yujing.Blue: t.Blue, yujing.Yellow: t.Yellow, yujing.Orange: t.Orange, yujing.Red: t.Red} {
		if v != nil {
			out.Value[l], out.Set[l] = *v, true
		}
	}
	return out
}

func (c *checker) rules(cfg *Config, sensors map[string]*SensorFile, sites map[string]bool) {
	seen := map[string]int{}
	for i := range c.f.Rules {
		r := &c.f.Rules[i]
		if r.Name == "" {
			c.Add(r.Pos, "rule: name is required")
		} else if line, dup := seen[r.Name]; dup {
			c.Add(r.Fields.At("name", r.Pos), "rule %q is defined twice (first at line %d)", r.Name, line)
		}
		seen[r.Name] = r.Pos.Line
		for j, id := range r.Sensors {
			if _, ok := sensors[id]; !ok {
				c.Add(r.Fields.At(fmt.Sprintf("sensors[%d]", j), r.Pos), "rule %q: sensor %q is not defined under sensors", r.Name, id)
			}
		}
		rule := &alerting.Rule{Name: r.Name, Description: r.Description, Sensors: r.Sensors, Metric: r.Metric,
			Above: tiers(r.Above), Below: tiers(r.Below), Hysteresis: r.Hysteresis, Clear: tiers(r.Clear),
			Kind: alerting.Kind(r.Kind), For: r.For, ClearFor: r.ClearFor, RateWindow: r.RateWindow, RatePer: r.RatePer, UniformRate: r.UniformRate,
			OfflineAfter: r.OfflineAfter, StuckFor: r.StuckFor, Tolerance: r.Tolerance, K: r.K}
		c.ruleKind(r, rule, sensors)
		switch {
		case rule.Kind == alerting.KindComposite:
			if len(r.Sensors) > 0 || r.Match != nil {
				c.Add(r.Pos, "rule %q: a composite rule counts other rules' conditions per site; leave out sensors and match", r.Name)
			}
		case len(r.Sensors) == 0 && r.Match == nil:
			c.Add(r.Pos, "rule %q: say which sensors it applies to with sensors: [...] or match: {family: ...}", r.Name)
		case len(r.Sensors) > 0 && r.Match != nil:
			c.Add(r.Match.Pos, "rule %q: give sensors or match, not both", r.Name)
		case r.Match != nil:
			m := r.Match
			if m.Family != "" && !cfg.Families.Known(yujing.Family(m.Family)) {
				c.Add(m.Fields.At("family", m.Pos), "rule %q: unknown family %q (want one of %s, or declare it under families)", r.Name, m.Family, familyList(cfg.Families))
			}
			if m.Site != "" && !sites[m.Site] {
				c.Add(m.Fields.At("site", m.Pos), "rule %q: site %q is not defined under sites", r.Name, m.Site)
			}
			rule.Match = alerting.Selector{Family: yujing.Family(m.Family), Site: m.Site, Region: m.Region, Industry: m.Industry, Tags: m.Tags}
		}
		if c.scheduled(cfg, r, rule, sensors) {
			continue
		}
		c.ruleErrors(r, rule)
		c.ruleMetric(r, rule, sensors)
		cfg.Rules = append(cfg.Rules, rule)
	}
}

// ruleKind fills and checks the fields of the rule kinds beyond plain
// thresholds: level, composite references, per-sensor overrides.
func (c *checker) ruleKind(r *RuleFile, rule *alerting.Rule, sensors map[string]*SensorFile) {
	if r.Level != "" {
		l, err := yujing.ParseLevel(r.Level)
		if err != nil {
			c.Add(r.Fields.At("level", r.Pos), "rule %q: %v", r.Name, err)
		}
		rule.Level = l
	}
	if _, set := r.Fields["uniform_rate"]; set && rule.Kind != alerting.KindTangent {
		c.Add(r.Fields.At("uniform_rate", r.Pos), "rule %q: uniform_rate applies to tangent rules only (kind: tangent)", r.Name)
	}
	for j, st := range r.WhenStatus {
		ps := yujing.ProductionStatus(st)
		if !ps.Valid() {
			var want []string
			for _, k := range yujing.ProductionStatuses() {
				want = append(want, string(k))
			}
			c.Add(r.Fields.At(fmt.Sprintf("when_status[%d]", j), r.Fields.At("when_status", r.Pos)),
				"rule %q: when_status: unknown production status %q (want %s)", r.Name, st, strings.Join(want, ", "))
			continue
		}
		rule.WhenStatus = append(rule.WhenStatus, ps)
	}
	if len(r.Codes) > 0 && rule.Kind != alerting.KindEvent {
		c.Add(r.Fields.At("codes", r.Pos), "rule %q: codes applies to event rules only (kind: event)", r.Name)
	}
	for _, code := range slices.Sorted(maps.Keys(r.Codes)) {
		ls := r.Codes[code]
		v, err := strconv.ParseFloat(strings.TrimSpace(code), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			c.Add(r.Fields.At("codes", r.Pos), "rule %q: codes: %q is not a number (the code the device sends)", r.Name, code)
			continue
		}
		l := yujing.LevelNone
		if ls != "clear" {
			var err error
			if l, err = yujing.ParseLevel(ls); err != nil {
				c.Add(r.Fields.At("codes", r.Pos), "rule %q: codes: %s: %v, or clear for the normal state", r.Name, code, err)
				continue
			}
		}
		if rule.Codes == nil {
			rule.Codes = map[float64]yujing.Level{}
		}
		rule.Codes[v] = l
	}
	names := map[string]bool{}
	for _, o := range c.f.Rules {
		names[o.Name] = true
	}
	for i, ref := range r.Of {
		if !names[ref.Rule] || ref.Rule == r.Name {
			c.Add(ref.Pos, "rule %q: of[%d]: rule %q is not defined under rules", r.Name, i, ref.Rule)
		}
		l := yujing.Blue
		if ref.Level != "" {
			var err error
			if l, err = yujing.ParseLevel(ref.Level); err != nil {
				c.Add(ref.Pos, "rule %q: of[%d]: %v", r.Name, i, err)
			}
		}
		rule.Of = append(rule.Of, alerting.Ref{Rule: ref.Rule, Level: l})
	}
	for id, o := range r.Overrides {
		if _, ok := sensors[id]; !ok {
			c.Add(o.Pos, "rule %q: overrides: sensor %q is not defined under sensors", r.Name, id)
		}
		ov := alerting.Override{Hysteresis: o.Hysteresis, UniformRate: o.UniformRate}
		if o.UniformRate != nil && rule.Kind != alerting.KindTangent {
			c.Add(o.Pos, "rule %q: overrides for %s: uniform_rate applies to tangent rules only (kind: tangent)", r.Name, id)
		}
		if o.Above != nil {
			t := tiers(o.Above)
			ov.Above = &t
		}
		if o.Below != nil {
			t := tiers(o.Below)
			ov.Below = &t
		}
		if rule.Overrides == nil {
			rule.Overrides = map[string]alerting.Override{}
		}
		rule.Overrides[id] = ov
		if err := rule.ForSensorValidate(id); err != nil {
			c.Add(o.Pos, "rule %q: overrides for %s: %v", r.Name, id, err)
		}
	}
}

// ruleErrors reports a rule's threshold problems, each at the tier it
// concerns.
func (c *checker) ruleErrors(r *RuleFile, rule *alerting.Rule) {
	err := rule.Validate()
	if err == nil {
		return
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		p := r.Pos
		var oe *alerting.ThresholdOrderError
		switch {
		case errors.As(e, &oe):
			t := r.Above
			if oe.Direction == "below" {
				t = r.Below
			}
			if t != nil {
				p = t.Fields.At(oe.Level.String(), t.Pos)
			}
		case strings.Contains(e.Error(), "hysteresis"):
			p = r.Fields.At("hysteresis", r.Pos)
		case strings.HasPrefix(e.Error(), "clear:") && r.Clear != nil:
			p = r.Clear.Pos
		}
		c.Add(p, "rule %q: %v", r.Name, e)
	}
}

// ruleMetric checks that the sensors a rule names report its metric, so a
// misspelt metric does not make a rule that can never fire.
func (c *checker) ruleMetric(r *RuleFile, rule *alerting.Rule, sensors map[string]*SensorFile) {
	if rule.Metric == "" {
		return
	}
	for j, id := range r.Sensors {
		s, ok := sensors[id]
		if !ok || len(s.Metrics) == 0 && s.Metric == "" {
			continue
		}
		if _, ok := s.Metrics[rule.Metric]; ok || s.Metric == rule.Metric || (s.Metric == "" && rule.Metric == "value") {
			continue
		}
		known := []string{}
		if s.Metric != "" {
			known = append(known, s.Metric)
		}
		for m := range s.Metrics {
			if m != s.Metric {
				known = append(known, m)
			}
		}
		slices.Sort(known)
		c.Add(r.Fields.At("metric", r.Fields.At(fmt.Sprintf("sensors[%d]", j), r.Pos)),
			"rule %q: sensor %q has no metric %q (it reports %v)", r.Name, id, rule.Metric, known)
	}
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

// delivery sets and checks the delivery settings.
func (c *checker) delivery(cfg *Config) {
	d := c.f.Delivery
	cfg.GroupWait = DefaultGroupWait
	if d.GroupWait != nil {
		cfg.GroupWait = *d.GroupWait
	}
	if cfg.GroupWait > MaxGroupWait {
		c.Add(d.Fields.At("group_wait", d.Pos), "delivery.group_wait %s: at most %s (calls wait this long before they go out; 0 turns grouping off)", cfg.GroupWait, MaxGroupWait)
	}
}

// runtime sets and checks the Go runtime settings.
func (c *checker) runtime(cfg *Config) {
	r := c.f.Runtime
	cfg.GOGC = DefaultGOGC
	if r.GOGC != nil {
		cfg.GOGC = *r.GOGC
		if cfg.GOGC < -1 || cfg.GOGC == 0 {
			c.Add(r.Fields.At("gogc", r.Pos), "runtime.gogc %d: want a percentage above 0 (100 is Go's default), or -1 to turn the collector off under runtime.memory_limit_bytes", cfg.GOGC)
		}
	}
	cfg.MemoryLimit = r.MemoryLimitBytes
	if cfg.MemoryLimit != 0 && cfg.MemoryLimit < 64<<20 {
		c.Add(r.Fields.At("memory_limit_bytes", r.Pos), "runtime.memory_limit_bytes %d: want at least 67108864 (64 MiB), or leave it out for no limit", cfg.MemoryLimit)
	}
	if cfg.GOGC == -1 && cfg.MemoryLimit == 0 {
		c.Add(r.Fields.At("gogc", r.Pos), "runtime.gogc -1 turns the collector off: set runtime.memory_limit_bytes too, or memory grows without bound")
	}
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

// WindowsFile gives the levels of a scheduled rule their own windows.
type WindowsFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	Blue   *time.Duration `yaml:"blue"`
	Yellow *time.Duration `yaml:"yellow"`
	Orange *time.Duration `yaml:"orange"`
	Red    *time.Duration `yaml:"red"`
}

// scheduledOnly lists the fields only scheduled rules use; unusedScheduled
// the rule fields a scheduled rule does not use.
var (
	scheduledOnly   = []string{"window", "windows", "aggregate", "calendar", "baseline"}
	unusedScheduled = []string{"for", "clear_for", "rate_window", "rate_per", "level", "offline_after", "stuck_for", "tolerance", "of", "k", "codes", "uniform_rate"}
)

// scheduled checks and collects r if it is a scheduled rule (it has a
// schedule), reporting whether it is. A scheduled rule goes to
// cfg.Scheduled instead of cfg.Rules: it is evaluated on windowed
// aggregates of stored readings at each tick of its schedule, not on each
// reading.
func (c *checker) scheduled(cfg *Config, r *RuleFile, rule *alerting.Rule, sensors map[string]*SensorFile) bool {
	if r.Schedule == "" {
		for _, k := range scheduledOnly {
			if p, ok := r.Fields[k]; ok {
				c.Add(p, "rule %q: %s applies to scheduled rules only; add schedule: (e.g. \"*/5 * * * *\")", r.Name, k)
			}
		}
		return false
	}
	for _, k := range unusedScheduled {
		if p, ok := r.Fields[k]; ok {
			c.Add(p, "rule %q: %s does not apply to a scheduled rule", r.Name, k)
		}
	}
	sr := &alerting.ScheduledRule{Rule: *rule, Schedule: r.Schedule, Aggregate: store.Func(r.Aggregate), Window: r.Window, Calendar: r.Calendar}
	if b := r.Baseline; b != nil {
		sr.Baseline = &alerting.Baseline{Value: b.Value, Aggregate: store.Func(b.Aggregate), Window: b.Window}
	}
	windowPos := map[yujing.Level]yamlconf.Pos{}
	if w := r.Windows; w != nil {
		for l, d := range map[yujing.Level]*time.Duration{yujing.Blue: w.Blue, yujing.Yellow: w.Yellow, yujing.Orange: w.Orange, yujing.Red: w.Red} {
			if d != nil {
				sr.Windows[l] = *d
				windowPos[l] = w.Fields.At(l.String(), w.Pos)
			}
		}
	}
	if r.Aggregate == "" {
		c.Add(r.Pos, "rule %q: a scheduled rule needs aggregate: one of %v", r.Name, store.Funcs)
		sr.Aggregate = store.FuncSum // checked; keep the other checks going
	}
	for _, e := range flatErrors(sr.Validate(cfg.Location)) {
		p := r.Pos
		var (
			se *cronspec.Error
			fe *store.UnknownFuncError
			we *alerting.WindowError
			oe *alerting.ThresholdOrderError
			wo *alerting.WindowedOrderError
		)
		tierPos := func(dir string, l yujing.Level) yamlconf.Pos {
			t := r.Above
			if dir == "below" {
				t = r.Below
			}
			if t == nil {
				return r.Pos
			}
			return t.Fields.At(l.String(), t.Pos)
		}
		switch {
		case errors.As(e, &se):
			p = r.Fields.At("schedule", r.Pos)
		case errors.As(e, &fe):
			p = r.Fields.At("aggregate", r.Pos)
		case errors.As(e, &we):
			if wp, ok := windowPos[we.Level]; ok {
				p = wp
			} else if wp, ok := r.Fields["window"]; ok {
				p = wp
			} else if sr.Rule.Above.Set[we.Level] {
				p = tierPos("above", we.Level)
			} else {
				p = tierPos("below", we.Level)
			}
		case errors.As(e, &oe):
			p = tierPos(oe.Direction, oe.Level)
		case errors.As(e, &wo):
			p = tierPos(wo.Direction, wo.Level)
		case strings.Contains(e.Error(), "hysteresis"):
			p = r.Fields.At("hysteresis", r.Pos)
		case strings.HasPrefix(e.Error(), "clear:") && r.Clear != nil:
			p = r.Clear.Pos
		case strings.Contains(e.Error(), "kind"):
			p = r.Fields.At("kind", r.Pos)
		case strings.HasPrefix(e.Error(), "calendar:"):
			p = r.Fields.At("calendar", r.Pos)
		case strings.HasPrefix(e.Error(), "baseline:"):
			p = r.Fields.At("baseline", r.Pos)
		}
		c.Add(p, "rule %q: %v", r.Name, e)
	}
	c.ruleMetric(r, rule, sensors)
	cfg.Scheduled = append(cfg.Scheduled, sr)
	return true
}

// flatErrors lists the errors joined in err (errors.Join), nested or not.
func flatErrors(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		if err == nil {
			return nil
		}
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, flatErrors(e)...)
	}
	return out
}
