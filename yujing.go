// Package yujing holds the core vocabulary shared by every stage of the
// early-warning pipeline: sensors and their readings, warning levels and
// states, alerts and their history, and the calls that go out to people.
//
// It imports only the standard library. Stages (ingest, alerting, notify)
// exchange these values and never import each other; cmd/yujing wires them.
package yujing

import (
	"fmt"
	"strings"
	"time"
)

// Level is a four-tier warning level. The zero value means "no warning".
type Level int8

// The four tiers, from general (blue, Ⅳ级) to especially serious (red, Ⅰ级).
const (
	LevelNone Level = iota
	Blue
	Yellow
	Orange
	Red
)

// Levels lists the four tiers from lowest to highest.
var Levels = [...]Level{Blue, Yellow, Orange, Red}

var levelNames = [...]string{"none", "blue", "yellow", "orange", "red"}
var levelNamesZH = [...]string{"无", "蓝色", "黄色", "橙色", "红色"}
var levelGrades = [...]string{"", "Ⅳ级", "Ⅲ级", "Ⅱ级", "Ⅰ级"}

// String returns the English name: blue, yellow, orange, red (or none).
func (l Level) String() string {
	if l < LevelNone || l > Red {
		return fmt.Sprintf("level(%d)", int8(l))
	}
	return levelNames[l]
}

// Chinese returns the Chinese name with its grade, e.g. "红色(Ⅰ级)".
func (l Level) Chinese() string {
	if l <= LevelNone || l > Red {
		return levelNamesZH[0]
	}
	return levelNamesZH[l] + "(" + levelGrades[l] + ")"
}

// Valid reports whether l is one of the four tiers.
func (l Level) Valid() bool { return l >= Blue && l <= Red }

// ParseLevel accepts blue, yellow, orange, red (any case) and the Chinese
// colour names 蓝色, 黄色, 橙色, 红色.
func ParseLevel(s string) (Level, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for i := Blue; i <= Red; i++ {
		if t == levelNames[i] || t == levelNamesZH[i] || t == strings.TrimSuffix(levelNamesZH[i], "色") {
			return i, nil
		}
	}
	return LevelNone, fmt.Errorf("unknown level %q (want blue, yellow, orange or red)", s)
}

// MarshalText encodes the level by its English name.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText decodes a level name; "none" and "" give LevelNone.
func (l *Level) UnmarshalText(b []byte) error {
	if len(b) == 0 || string(b) == "none" {
		*l = LevelNone
		return nil
	}
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Family is a sensor family: what kind of hazard a sensor watches.
type Family string

// The built-in sensor families: the families every configuration has.
// A configuration declares more in its families: list (config), and may
// rename or restyle these.
const (
	FamilyGas        Family = "gas"        // 燃气 / 可燃、有毒气体
	FamilyHazard     Family = "hazard"     // 危险化学品重大危险源
	FamilyDust       Family = "dust"       // 粉尘涉爆
	FamilyWeather    Family = "weather"    // 气象
	FamilyFlood      Family = "flood"      // 防汛: water level, waterlogging
	FamilyPower      Family = "power"      // 电力监测
	FamilyElectrical Family = "electrical" // 电气火灾
)

// FamilyInfo describes a sensor family: its names in Chinese and English,
// the metrics its sensors usually report (metric → unit) and how the
// console shows it.
type FamilyInfo struct {
	ID      Family            `json:"id"`
	Name    string            `json:"name"`    // Chinese, as officials read it: 燃气
	NameEN  string            `json:"name_en"` // English: gas
	Metrics map[string]string `json:"metrics,omitempty"`
	Colour  string            `json:"colour,omitempty"` // the console's colour, e.g. #c0392b
	Icon    string            `json:"icon,omitempty"`   // the console's icon: a short text or emoji
}

// Families is the list of families a configuration knows, in the order
// they are shown. The zero value knows none; BuiltinFamilies gives the
// built-in ones.
type Families []FamilyInfo

// BuiltinFamilies returns a new list of the built-in families.
func BuiltinFamilies() Families {
	return Families{
		{ID: FamilyGas, Name: "燃气", NameEN: "gas", Metrics: map[string]string{"lel": "%LEL", "oel": "%OEL", "ppm": "ppm"}},
		{ID: FamilyHazard, Name: "危化品重大危险源", NameEN: "major hazard source", Metrics: map[string]string{"level": "m", "pressure": "MPa", "temperature": "℃"}},
		{ID: FamilyDust, Name: "粉尘涉爆", NameEN: "dust explosion", Metrics: map[string]string{"dp": "Pa", "hopper_temp": "℃"}},
		{ID: FamilyWeather, Name: "气象", NameEN: "weather", Metrics: map[string]string{"rain": "mm", "wind_speed": "m/s"}},
		{ID: FamilyFlood, Name: "防汛", NameEN: "flood", Metrics: map[string]string{"water_level": "m", "depth": "cm"}},
		{ID: FamilyPower, Name: "电力监测", NameEN: "power monitoring", Metrics: map[string]string{"power": "kW", "energy": "kWh"}},
		{ID: FamilyElectrical, Name: "电气火灾", NameEN: "electrical fire", Metrics: map[string]string{"residual_current": "mA", "cable_temp": "℃"}},
	}
}

// Known reports whether f is one of the families.
func (fs Families) Known(f Family) bool {
	_, ok := fs.Get(f)
	return ok
}

// Get returns family f's description.
func (fs Families) Get(f Family) (FamilyInfo, bool) {
	for _, k := range fs {
		if k.ID == f {
			return k, true
		}
	}
	return FamilyInfo{}, false
}

// IDs lists the families' ids in order.
func (fs Families) IDs() []Family {
	out := make([]Family, len(fs))
	for i, k := range fs {
		out[i] = k.ID
	}
	return out
}

// Sensor is a monitored measuring point. Values are immutable once
// registered; a changed sensor is a new value.
type Sensor struct {
	ID       string            `json:"id"`
	Name     string            `json:"name,omitempty"`
	Site     string            `json:"site"`
	Family   Family            `json:"family"`
	Region   string            `json:"region,omitempty"`   // administrative division code
	Industry string            `json:"industry,omitempty"` // industry code or name
	Metric   string            `json:"metric"`             // default metric when a payload names none
	Unit     string            `json:"unit,omitempty"`     // unit of the default metric
	Units    map[string]string `json:"units,omitempty"`    // metric → unit, for multi-metric devices
	Location string            `json:"location,omitempty"`
	Topic    string            `json:"topic"`         // MQTT topic the sensor publishes on
	Decoder  string            `json:"decoder"`       // payload decoder name
	Interval time.Duration     `json:"-"`             // expected reporting interval (the API shows it as "10s")
	Min      *float64          `json:"min,omitempty"` // physical range, low end
	Max      *float64          `json:"max,omitempty"` // physical range, high end
	Tags     map[string]string `json:"tags,omitempty"`
	// MetricMap renames the metric names a device sends to ours (ch1 → lel).
	MetricMap map[string]string `json:"metric_map,omitempty"`
}

// UnitOf returns the unit of metric: from Units, else Unit for the default
// metric, else "".
func (s *Sensor) UnitOf(metric string) string {
	if u, ok := s.Units[metric]; ok {
		return u
	}
	if metric == s.Metric {
		return s.Unit
	}
	return ""
}

// HasMetric reports whether the sensor reports metric. A sensor that lists
// no Units accepts any metric name.
func (s *Sensor) HasMetric(metric string) bool {
	if len(s.Units) == 0 || metric == s.Metric {
		return true
	}
	_, ok := s.Units[metric]
	return ok
}

// Site is a place that owns sensors: an enterprise, a plant, a hazard source,
// a monitoring station.
type Site struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Region   string `json:"region,omitempty"`   // administrative division code
	Industry string `json:"industry,omitempty"` // 行业
	// Parent is the site this one is part of: a major hazard source (重大
	// 危险源) or a tailings pond inside an enterprise's plant. It has the
	// parent's responsibility chain below its own (its own 督长 or 库长).
	Parent string `json:"parent,omitempty"`
	// Location is where the site is, for the wall screen's map; nil: not
	// given (the map then places it at its sensors' coordinates).
	Location *LatLon `json:"location,omitempty"`
	// Boundary is the site's outline, read from the GeoJSON file the
	// configuration names: polygons, each its outer ring then its holes.
	// The API serves it apart, as GeoJSON (GET /api/v1/sites/map).
	Boundary [][][]LatLon `json:"-"`
}

// LatLon is a point on the earth: WGS 84 latitude and longitude in
// degrees, as GPS and GeoJSON give them.
type LatLon struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// DefaultTopic is the topic a sensor publishes on unless it sets its own.
func DefaultTopic(site, sensor string) string { return "yujing/" + site + "/" + sensor }

// Reading is one measured value of one metric of one sensor.
type Reading struct {
	Sensor string    `json:"sensor"`
	Site   string    `json:"site"`
	Family Family    `json:"family"`
	Metric string    `json:"metric"`
	Unit   string    `json:"unit,omitempty"`
	Value  float64   `json:"value"`
	Time   time.Time `json:"ts"`
	// Region and Industry are the sensor's (or its site's), for the
	// statistics by region and industry the store's schema serves.
	Region   string `json:"region,omitempty"`
	Industry string `json:"industry,omitempty"`
}

// State is where a warning is in its closed-loop lifecycle (闭环处置).
type State string

// Lifecycle states.
const (
	StateFiring       State = "firing"       // raised, nobody has answered
	StateAcknowledged State = "acknowledged" // somebody answered
	StateDisposing    State = "disposing"    // disposal (处置) recorded
	StateResolved     State = "resolved"     // condition cleared, awaiting verification
	StateClosed       State = "closed"       // verified and closed (核查销号)
)

// Open reports whether a warning in state s still needs somebody.
func (s State) Open() bool { return s != StateClosed }

// CloseReason is why an operator closed a warning.
type CloseReason string

// Close reasons.
const (
	ReasonRealHazard     CloseReason = "real_hazard"     // 真实险情
	ReasonFalseAlarm     CloseReason = "false_alarm"     // 误报
	ReasonEquipmentFault CloseReason = "equipment_fault" // 设备故障
	ReasonMaintenance    CloseReason = "maintenance"     // 检修作业
	ReasonOther          CloseReason = "other"           // 其他
)

// CloseReasons lists every valid close reason.
var CloseReasons = []CloseReason{ReasonRealHazard, ReasonFalseAlarm, ReasonEquipmentFault, ReasonMaintenance, ReasonOther}

// ValidCloseReason reports whether r is one of CloseReasons.
func ValidCloseReason(r CloseReason) bool {
	for _, k := range CloseReasons {
		if k == r {
			return true
		}
	}
	return false
}

// Alert is a warning: one per (rule, sensor) episode.
type Alert struct {
	ID         int64      `json:"id"`
	Rule       string     `json:"rule"`
	Sensor     string     `json:"sensor"`
	Site       string     `json:"site"`
	Family     Family     `json:"family"`
	Metric     string     `json:"metric"`
	Unit       string     `json:"unit,omitempty"`
	Level      Level      `json:"level"`
	State      State      `json:"state"`
	Value      float64    `json:"value"`
	Threshold  float64    `json:"threshold"`
	Message    string     `json:"message"`
	StartedAt  time.Time  `json:"started_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	AckedAt    *time.Time `json:"acked_at,omitempty"`
	AckedBy    string     `json:"acked_by,omitempty"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	ClosedAt   *time.Time `json:"closed_at,omitempty"`
	Reason     string     `json:"close_reason,omitempty"`
	// OverdueAt is when the alert was flagged overdue (督办): not closed
	// within the time its level allows.
	OverdueAt *time.Time `json:"overdue_at,omitempty"`
	Overdue   bool       `json:"overdue"`
	// Silenced and Inhibited say a silence or an inhibition rule keeps the
	// alert from calling anyone now; the alert itself is never hidden.
	Silenced  bool `json:"silenced"`
	Inhibited bool `json:"inhibited"`
}

// Key identifies the (rule, sensor) pair an alert belongs to.
func (a *Alert) Key() string { return AlertKey(a.Rule, a.Sensor) }

// AlertKey is the identity of a warning episode: one open alert per key.
func AlertKey(rule, sensor string) string { return rule + "\x00" + sensor }

// Event names what happened to an alert in one transition.
type Event string

// Transition events.
const (
	EventRaised       Event = "raised"
	EventUpgraded     Event = "upgraded"
	EventDowngraded   Event = "downgraded"
	EventResolved     Event = "resolved"
	EventReopened     Event = "reopened"
	EventAcknowledged Event = "acknowledged"
	EventDisposed     Event = "disposed"
	EventClosed       Event = "closed"
	EventOverdue      Event = "overdue" // not closed in time: supervision (督办)
	EventSummary      Event = "summary" // a scheduled report, not about one alert
)

// Transition is one entry of an alert's history: a level change or a state
// change, with who did it.
type Transition struct {
	ID        int64     `json:"id"`
	AlertID   int64     `json:"alert_id"`
	At        time.Time `json:"at"`
	Event     Event     `json:"event"`
	FromLevel Level     `json:"from_level"`
	ToLevel   Level     `json:"to_level"`
	FromState State     `json:"from_state,omitempty"`
	ToState   State     `json:"to_state"`
	Value     float64   `json:"value"`
	Actor     string    `json:"actor"` // "system" for the engine, else a user or person id
	Note      string    `json:"note,omitempty"`
	Reason    string    `json:"reason,omitempty"`
}

// ActorSystem is the actor of transitions made by the rule engine.
const ActorSystem = "system"

// Person is somebody who can be called.
type Person struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Phone    string            `json:"phone,omitempty"`
	Email    string            `json:"email,omitempty"`
	Org      string            `json:"org,omitempty"`
	Position string            `json:"position,omitempty"`
	IM       map[string]string `json:"im,omitempty"` // platform → user id (dingtalk, wecom, feishu)
}

// Call is one attempt to tell one person about one alert through one
// channel. Alerting creates calls; notify delivers them.
type Call struct {
	ID      string    `json:"id"` // idempotency key: unique per alert, event, person, channel
	Alert   Alert     `json:"alert"`
	Event   Event     `json:"event"`
	Person  Person    `json:"person"`
	Channel string    `json:"channel"`
	Created time.Time `json:"created"`
	// Step is the escalation step that made the call (0 when not escalating).
	Step int `json:"step"`
	// Deadline is when an answer is due (zero when none is expected).
	Deadline time.Time `json:"deadline,omitzero"`
	// AnswerURL is the signed link that records an answer ("" when none).
	AnswerURL string `json:"answer_url,omitempty"`
	// Fallback are the channels to try next, in order, if this one fails
	// for good (a route's ladder, e.g. DingTalk → SMS → voice).
	Fallback []string `json:"fallback,omitempty"`
	// Escalation is the call-and-answer escalation that made the call (0
	// for a route's notification), and Round its repetition of the policy
	// (0 the first time through).
	Escalation int64 `json:"escalation,omitempty"`
	Round      int   `json:"round,omitempty"`
	// SpotCheck is the duty spot check (查岗) that made the call (0 for
	// any other call); Step is then the check's step (1: the role checked,
	// then each role it escalates to).
	SpotCheck int64 `json:"spot_check,omitempty"`
}

// CallResult is how the delivery of a call ended for good, as notify
// reports it to call-and-answer: sent (the provider accepted it), or
// failed — the provider refused it for good, or every attempt failed —
// which moves the call on to the next channel of its ladder (Fallback). A
// call that shutdown left for the next start has no result yet.
type CallResult struct {
	Call Call
	Sent bool
	// Reason classifies a failure: timeout, http_5xx, http_4xx, throttled,
	// network, circuit_open or other (notify.FailureReason); "" when sent.
	Reason string
	// Error is the last error's text, without secrets; "" when sent.
	Error string
	At    time.Time // when the delivery ended
}

// Receipt is what a provider reports back about a call after accepting it:
// an SMS status report, a voice call's result, a key pressed during a voice
// call, a reply. Each channel's package parses its provider's callbacks
// into receipts; call-and-answer stores them against their calls and takes
// a reply or a key press as an answer.
type Receipt struct {
	Channel    string    `json:"channel"`
	CallID     string    `json:"call_id,omitempty"`     // our idempotency key, when the provider echoes it back
	ProviderID string    `json:"provider_id,omitempty"` // the provider's id for the message or call (BizId, SerialNo, CallId)
	Phone      string    `json:"phone,omitempty"`
	Status     string    `json:"status"` // delivered, failed, answered, no_answer, busy, key_pressed, replied
	Detail     string    `json:"detail,omitempty"`
	Key        string    `json:"key,omitempty"`  // digit pressed in a voice call
	Text       string    `json:"text,omitempty"` // reply text of an inbound SMS
	At         time.Time `json:"at"`
}

// Receipt statuses.
const (
	ReceiptDelivered  = "delivered"
	ReceiptFailed     = "failed"
	ReceiptAnswered   = "answered"
	ReceiptNoAnswer   = "no_answer"
	ReceiptBusy       = "busy"
	ReceiptKeyPressed = "key_pressed"
	ReceiptReplied    = "replied"
)

// Matchers select alerts. Empty fields match anything; Levels matches any
// of its levels.
type Matchers struct {
	Site   string  `json:"site,omitempty"`
	Sensor string  `json:"sensor,omitempty"`
	Family Family  `json:"family,omitempty"`
	Rule   string  `json:"rule,omitempty"`
	Levels []Level `json:"levels,omitempty"`
}

// Match reports whether a is selected.
func (m *Matchers) Match(a *Alert) bool {
	if (m.Site != "" && m.Site != a.Site) || (m.Sensor != "" && m.Sensor != a.Sensor) ||
		(m.Family != "" && m.Family != a.Family) || (m.Rule != "" && m.Rule != a.Rule) {
		return false
	}
	if len(m.Levels) == 0 {
		return true
	}
	for _, l := range m.Levels {
		if l == a.Level {
			return true
		}
	}
	return false
}

// Silence suppresses calls about the alerts it matches while it is active
// (maintenance, calibration). It never hides the alerts themselves.
type Silence struct {
	ID        int64      `json:"id"`
	Matchers  Matchers   `json:"matchers"`
	StartsAt  time.Time  `json:"starts_at"`
	EndsAt    time.Time  `json:"ends_at"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	Comment   string     `json:"comment"`
	ExpiredAt *time.Time `json:"expired_at,omitempty"`
	ExpiredBy string     `json:"expired_by,omitempty"` // who ended it early
	// Window, when set, makes the silence recurring: active only within
	// these daily hours (and weekdays) between StartsAt and EndsAt.
	Window *Window `json:"window,omitempty"`
}

// Window is a recurring daily period, e.g. maintenance 02:00–04:00 on
// Sundays. An End before Start runs past midnight.
type Window struct {
	Start    string         `json:"start"` // "HH:MM", in the configured time zone
	End      string         `json:"end"`
	Weekdays []time.Weekday `json:"weekdays,omitempty"` // none: every day
}

// Attachment is a file (a photo of the site) attached to a disposal record.
type Attachment struct {
	ID           int64     `json:"id"`
	AlertID      int64     `json:"alert_id"`
	TransitionID int64     `json:"transition_id"`
	Name         string    `json:"name"`
	ContentType  string    `json:"content_type"`
	Size         int64     `json:"size"`
	SHA256       string    `json:"sha256"`
	Data         []byte    `json:"-"`
	CreatedBy    string    `json:"created_by"`
	CreatedAt    time.Time `json:"created_at"`
}

// ProductionStatus is what a site is allowed to do (生产状态), as the
// regulator has decided: rules watching enterprises ordered to stop
// (电力监测) apply only while a site is in one of the statuses they name.
type ProductionStatus string

// Production statuses.
const (
	StatusNormal         ProductionStatus = "normal"          // 正常生产
	StatusOrderedStopped ProductionStatus = "ordered_stopped" // 责令停产停业
	StatusRectifying     ProductionStatus = "rectifying"      // 停产整顿
	StatusSuspended      ProductionStatus = "suspended"       // 停产（自行停产、季节性停产）
	StatusClosed         ProductionStatus = "closed"          // 关闭取缔
)

// ProductionStatuses lists every production status.
func ProductionStatuses() []ProductionStatus {
	return []ProductionStatus{StatusNormal, StatusOrderedStopped, StatusRectifying, StatusSuspended, StatusClosed}
}

// Valid reports whether s is one of ProductionStatuses.
func (s ProductionStatus) Valid() bool {
	for _, k := range ProductionStatuses() {
		if k == s {
			return true
		}
	}
	return false
}

// Chinese is the status as officials name it: 责令停产停业 for
// ordered_stopped.
func (s ProductionStatus) Chinese() string {
	switch s {
	case StatusNormal:
		return "正常生产"
	case StatusOrderedStopped:
		return "责令停产停业"
	case StatusRectifying:
		return "停产整顿"
	case StatusSuspended:
		return "停产"
	case StatusClosed:
		return "关闭取缔"
	}
	return string(s)
}

// SiteStatus is a site's production status since a time, with who set it
// and why (the decision's document number, say).
type SiteStatus struct {
	Site   string           `json:"site"`
	Status ProductionStatus `json:"status"`
	Since  time.Time        `json:"since"`
	By     string           `json:"by"`
	Reason string           `json:"reason"`
}
