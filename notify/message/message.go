package message

import (
	"bytes"
	"cmp"
	"embed"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"yujing"
)

// Kind is the kind of channel a message is rendered for.
type Kind string

// Kinds of message.
const (
	KindSMS   Kind = "sms"   // Message.Text (≤ MaxSMSTextChars) and Message.SMSParams
	KindIM    Kind = "im"    // Message.Title, Message.Markdown and a plain Message.Text
	KindEmail Kind = "email" // Message.Title (subject) and Message.Text (body)
	KindVoice Kind = "voice" // Message.Text, a script for text-to-speech
)

// Kinds lists every kind.
var Kinds = [...]Kind{KindSMS, KindIM, KindEmail, KindVoice}

// Languages.
const (
	LangZH = "zh-CN" // Simplified Chinese, the default
	LangEN = "en"    // English
)

// Langs lists the supported languages.
var Langs = [...]string{LangZH, LangEN}

// ValidLang reports whether lang is a supported language.
func ValidLang(lang string) bool { return slices.Contains(Langs[:], lang) }

// Message is the rendered text of one call for one kind of channel. Fields
// a kind does not use are empty.
type Message struct {
	Title     string            // IM title, e-mail subject; one line
	Text      string            // SMS text, e-mail body, voice script, IM plain text
	Markdown  string            // IM body
	SMSParams map[string]string // SMS template parameters, keyed by the Param… names
}

// Names gives display names for the site and sensor ids a call carries.
// An empty answer shows the id.
type Names interface {
	SiteName(id string) string
	SensorName(id string) string
}

// FamilyNames is what a Names may also do: name the sensor families a
// configuration declares, in lang (LangZH or LangEN). "" keeps the
// built-in wording (the generic one for a family the renderer does not
// know).
type FamilyNames interface {
	FamilyName(f yujing.Family, lang string) string
}

//go:embed templates/*.tmpl
var templateFiles embed.FS

// Templates that Render executes, by kind.
var entryTemplates = map[Kind][]string{
	KindSMS:   {"sms"},
	KindIM:    {"im.title", "im.markdown", "im.text"},
	KindEmail: {"email.subject", "email.body"},
	KindVoice: {"voice"},
}

// Renderer renders calls. It is safe for concurrent use.
type Renderer struct {
	lang  string
	loc   *time.Location
	words *vocab
	tmpl  *template.Template
	names Names
}

// DefaultLocation is China Standard Time, UTC+8 all year (no daylight
// saving since 1991); New uses it when given no location.
var DefaultLocation = time.FixedZone("CST", 8*3600)

// New builds a renderer for lang ("" means LangZH) that shows times in loc
// (nil means DefaultLocation). overrides replaces built-in templates by
// name (see README.md for the names and the data they see); every
// replacement is parsed and then rendered against sample calls of every
// level and event, and all problems are returned at once, each naming its
// template.
func New(lang string, loc *time.Location, overrides map[string]string) (*Renderer, error) {
	if lang == "" {
		lang = LangZH
	}
	if loc == nil {
		loc = DefaultLocation
	}
	r := &Renderer{lang: lang, loc: loc}
	switch lang {
	case LangZH:
		r.words = &zhCN
	case LangEN:
		r.words = &english
	default:
		return nil, fmt.Errorf("message: language %q is not %s or %s", lang, LangZH, LangEN)
	}
	t, err := builtin(lang)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, name := range sortedKeys(overrides) {
		if name == t.Name() || t.Lookup(name) == nil {
			errs = append(errs, fmt.Errorf("template %q: no such template (known: %s)", name, strings.Join(templateNames(t), ", ")))
			continue
		}
		if _, err := t.New(name).Parse(overrides[name]); err != nil {
			errs = append(errs, fmt.Errorf("template %q: %w", name, err))
		}
	}
	// A replacement that does not parse leaves the built-in template in
	// place, so the check still finds the problems of the others.
	r.tmpl = t
	errs = append(errs, r.check()...)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	return r, nil
}

// builtin parses the built-in templates of lang.
func builtin(lang string) (*template.Template, error) {
	src, err := templateFiles.ReadFile("templates/" + lang + ".tmpl")
	if err != nil {
		return nil, fmt.Errorf("message: built-in templates for %s: %w", lang, err)
	}
	t, err := template.New(lang).Funcs(funcs).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("message: built-in templates for %s: %w", lang, err)
	}
	return t, nil
}

// funcs are the functions templates may call.
var funcs = template.FuncMap{
	// short makes a value fit an SMS: signature brackets replaced, at most
	// MaxSMSParamChars characters.
	"short": func(s string) string { return shorten(s, MaxSMSParamChars) },
	// md escapes text for IM markdown.
	"md": escapeMarkdown,
	// clip makes a text fit an SMS in n characters (a summary's brief form).
	"clip": func(n int, s string) string { return shorten(s, n) },
}

// Lang returns the renderer's language.
func (r *Renderer) Lang() string { return r.lang }

// Location returns the zone times are shown in.
func (r *Renderer) Location() *time.Location { return r.loc }

// WithNames returns a renderer that shows site and sensor names from n
// instead of ids.
func (r *Renderer) WithNames(n Names) *Renderer {
	c := *r
	c.names = n
	return &c
}

// WithLang returns a renderer for lang with the same location and names.
// For the renderer's own language it returns r; for another one it has the
// built-in templates, because replacements are written in one language.
func (r *Renderer) WithLang(lang string) (*Renderer, error) {
	if lang == "" || lang == r.lang {
		return r, nil
	}
	o, err := New(lang, r.loc, nil)
	if err != nil {
		return nil, err
	}
	o.names = r.names
	return o, nil
}

// Render renders c for kind. An SMS text longer than MaxSMSTextChars is
// rendered again in its brief form (the templates leave out guidance and
// threshold); if that is still too long, the Message comes back with an
// error wrapping ErrSMSTooLong.
func (r *Renderer) Render(kind Kind, c yujing.Call) (Message, error) {
	return r.render(kind, r.data(c))
}

// Data returns what the templates see for c, for channels that lay out
// structured messages (cards) themselves.
func (r *Renderer) Data(c yujing.Call) Data { return r.data(c) }

func (r *Renderer) render(kind Kind, d Data) (Message, error) {
	var m Message
	var err error
	switch kind {
	case KindSMS:
		if m.Text, err = r.exec("sms", d); err != nil {
			return Message{}, err
		}
		if SMSChars(m.Text) > MaxSMSTextChars {
			d.Brief = true
			if m.Text, err = r.exec("sms", d); err != nil {
				return Message{}, err
			}
		}
		m.SMSParams = r.smsParams(d)
		if n := SMSChars(m.Text); n > MaxSMSTextChars {
			return m, fmt.Errorf("message: template \"sms\": %w: %d characters, at most %d", ErrSMSTooLong, n, MaxSMSTextChars)
		}
	case KindIM:
		if m.Title, err = r.execLine("im.title", d); err != nil {
			return Message{}, err
		}
		if m.Markdown, err = r.exec("im.markdown", d); err != nil {
			return Message{}, err
		}
		if m.Text, err = r.exec("im.text", d); err != nil {
			return Message{}, err
		}
	case KindEmail:
		if m.Title, err = r.execLine("email.subject", d); err != nil {
			return Message{}, err
		}
		if m.Text, err = r.exec("email.body", d); err != nil {
			return Message{}, err
		}
	case KindVoice:
		if m.Text, err = r.exec("voice", d); err != nil {
			return Message{}, err
		}
	default:
		return Message{}, fmt.Errorf("message: unknown kind %q", kind)
	}
	return m, nil
}

// exec runs the named template and trims the result.
func (r *Renderer) exec(name string, d Data) (string, error) {
	var b bytes.Buffer
	if err := r.tmpl.ExecuteTemplate(&b, name, d); err != nil {
		return "", fmt.Errorf("message: template %q: %w", name, err)
	}
	s := strings.TrimSpace(b.String())
	if s == "" {
		return "", fmt.Errorf("message: template %q: renders nothing for a %s %s call", name, d.Level, d.Event)
	}
	return s, nil
}

// execLine is exec for one-line texts (titles, subjects).
func (r *Renderer) execLine(name string, d Data) (string, error) {
	s, err := r.exec(name, d)
	return strings.Join(strings.Fields(s), " "), err
}

// Data is what templates see. Strings are ready to print: localized,
// formatted and in the renderer's zone.
type Data struct {
	Lang  string // zh-CN or en
	Event string // raised, upgraded, downgraded, reopened, resolved, acknowledged, disposed, closed
	Level string // blue, yellow, orange, red

	Colour      string // 红色 / RED
	Grade       string // Ⅰ级 / I
	GradeSpoken string // 一级 / level one
	Emoji       string // 🔴 🟠 🟡 🔵
	Family      string // 燃气 / gas; "" for an unknown family
	FamilyShort string // the family in a word or two, for SMS: 危化品 / hazard

	Site       string // site name, or id
	SiteID     string
	Sensor     string // sensor name, or id
	SensorID   string
	Metric     string // the id: lel
	MetricName string // its display name: 可燃气体浓度 / combustible gas; the id when yujing has none
	Rule       string

	Value     string // 55.5%LEL
	Threshold string // 50%LEL, the threshold of the warning's level
	// ValueSpoken and ThresholdSpoken are for text-to-speech: units in
	// words (55.5%爆炸下限, 3.2米).
	ValueSpoken, ThresholdSpoken string

	Time  string // when it happened: 2025-07-14 09:31（北京时间） / 2025-07-14 09:31 (UTC+8)
	Clock string // 09:31, or 07-14 09:31 when not on the day of the call

	Deadline       string // answer due, as Time; "" when none
	DeadlineClock  string // 09:46, or 07-15 09:46 on another day than Time
	DeadlineSpoken string // 9点46分 / 9:46
	AnswerURL      string // "" when no answer is expected through a link

	Guidance      string // what to do, one or two sentences; "" when nothing
	ShortGuidance string // the same in a few words, for SMS

	Note string // the alert's own message (for a summary, the summary without its 【name】)
	// Issued says the warning was issued by another system (the weather
	// service's CAP warning, an Alertmanager alert: alerting/issued): it
	// has no sensor and no value; Title is its headline and Body its text
	// (Note is both), and Guidance is empty (the issuer's own is in Body).
	Issued      bool
	Title, Body string
	Person      string // name of the person called
	AlertID     int64
	CallID      string
	Step        int // escalation step, from 1; 0 for a route's notification
	Round       int // escalation round, from 1 (the policy repeated); 0 for a route's notification

	// Escalation says why this person is called now, when it is not the
	// first call: a reminder, a later step or round of call-and-answer
	// ("前一步责任人未在时限内应答，叫应已升至第2步。"); "" otherwise.
	Escalation string
	Reminder   bool // the call repeats an unanswered one of the same step

	OpenFor string // how long the warning has been open: 4小时1分钟 / 4 h 1 min (for overdue)
	Summary string // a summary's name (event summary): 每日预警汇总

	// Brief asks for the shortest form: set for the second try of an SMS
	// that came out too long.
	Brief bool
}

// data prepares the template data for c.
func (r *Renderer) data(c yujing.Call) Data {
	a := &c.Alert
	w := r.words
	li := levelIndex(a.Level)
	at := eventTime(c).In(r.loc)
	ref := c.Created
	if ref.IsZero() {
		ref = at
	}
	ref = ref.In(r.loc)
	d := Data{
		Lang: r.lang, Event: string(c.Event), Level: a.Level.String(),
		Colour: w.colour[li], Grade: w.grade[li], GradeSpoken: w.gradeSpoken[li], Emoji: w.emoji[li],
		Family: w.family[a.Family], FamilyShort: w.familyShort[a.Family],
		Site: a.Site, SiteID: a.Site, Sensor: a.Sensor, SensorID: a.Sensor,
		Metric: a.Metric, MetricName: w.metricName(a.Family, a.Metric), Rule: a.Rule,
		Value: quantity(a.Value, a.Unit), Threshold: quantity(a.Threshold, a.Unit),
		ValueSpoken: quantity(a.Value, w.spokenUnit(a.Unit)), ThresholdSpoken: quantity(a.Threshold, w.spokenUnit(a.Unit)),
		Time: w.stamp(at), Clock: clock(at, ref),
		AnswerURL: c.AnswerURL,
		Note:      strings.TrimSpace(a.Message), Person: c.Person.Name,
		AlertID: a.ID, CallID: c.ID, Step: c.Step,
	}
	if c.Escalation != 0 {
		d.Round = c.Round + 1
		d.Reminder = isReminder(c.ID)
		d.Escalation = w.escalation(d.Step, d.Round, d.Reminder)
	}
	if !a.StartedAt.IsZero() && at.After(a.StartedAt) {
		d.OpenFor = w.duration(at.Sub(a.StartedAt))
	}
	if c.Event == yujing.EventSummary {
		if name, ok := strings.CutPrefix(a.Rule, "summary:"); ok {
			d.Summary = strings.TrimSpace(name)
		}
		d.Note = strings.TrimSpace(strings.TrimPrefix(d.Note, "【"+d.Summary+"】"))
		if d.Summary == "" {
			d.Summary = w.summary
		}
	}
	if d.Level == "none" {
		d.Level = ""
	}
	if strings.HasPrefix(a.Rule, yujing.IssuedRulePrefix) {
		d.Issued = true
		d.Title, d.Body, _ = strings.Cut(d.Note, "\n")
		d.Title, d.Body = strings.TrimSpace(d.Title), strings.TrimSpace(d.Body)
	}
	if r.names != nil {
		if n := strings.TrimSpace(r.names.SiteName(a.Site)); n != "" {
			d.Site = n
		}
		if n := strings.TrimSpace(r.names.SensorName(a.Sensor)); n != "" {
			d.Sensor = n
		}
		if fn, ok := r.names.(FamilyNames); ok {
			if n := strings.TrimSpace(fn.FamilyName(a.Family, r.lang)); n != "" {
				d.Family, d.FamilyShort = n, n
			}
		}
	}
	if !c.Deadline.IsZero() {
		dl := c.Deadline.In(r.loc)
		d.Deadline = w.stamp(dl)
		d.DeadlineClock = clock(dl, at)
		d.DeadlineSpoken = w.spoken(dl, at)
	}
	if !d.Issued {
		g := w.guidanceFor(a.Family, a.Level, c.Event)
		d.Guidance, d.ShortGuidance = g.full, g.short
	}
	return d
}

// smsParams are the SMS template parameters of d, each within
// MaxSMSParamChars except the link.
func (r *Renderer) smsParams(d Data) map[string]string {
	if d.Summary != "" { // no sensor, no value
		d.Value, d.Threshold = "", ""
	}
	if d.Issued { // the issuer's headline in place of the site; no sensor, no value
		d.Site, d.Sensor, d.Value, d.Threshold = d.Title, "", "", ""
	}
	return map[string]string{
		ParamLevel:     shorten(d.Colour, MaxSMSParamChars),
		ParamFamily:    shorten(d.FamilyShort, MaxSMSParamChars),
		ParamPlace:     shorten(cmp.Or(d.Summary, d.Site), MaxSMSParamChars),
		ParamSensor:    shorten(d.Sensor, MaxSMSParamChars),
		ParamValue:     shorten(d.Value, MaxSMSParamChars),
		ParamThreshold: shorten(d.Threshold, MaxSMSParamChars),
		ParamTime:      shorten(d.Clock, MaxSMSParamChars),
		ParamEvent:     shorten(r.words.eventWord[yujing.Event(d.Event)], MaxSMSParamChars),
		ParamDeadline:  shorten(d.DeadlineClock, MaxSMSParamChars),
		ParamLink:      d.AnswerURL,
	}
}

// isReminder reports whether an escalation call repeats an unanswered
// one: alerting/escalate ends the id of a reminder with "-remind<k>".
func isReminder(id string) bool {
	_, k, ok := strings.Cut(id, "-remind")
	if !ok || k == "" {
		return false
	}
	_, err := strconv.Atoi(k)
	return err == nil
}

// eventTime is when the event of c happened: the resolution, the start of
// the warning, or its last change.
func eventTime(c yujing.Call) time.Time {
	a := &c.Alert
	var t *time.Time
	switch c.Event {
	case yujing.EventRaised:
		t = &a.StartedAt
	case yujing.EventResolved:
		t = a.ResolvedAt
	case yujing.EventAcknowledged:
		t = a.AckedAt
	case yujing.EventClosed:
		t = a.ClosedAt
	}
	for _, v := range []*time.Time{t, &a.UpdatedAt, &a.StartedAt, &c.Created} {
		if v != nil && !v.IsZero() {
			return *v
		}
	}
	return time.Time{}
}

// utcOffset names t's zone by its offset: UTC, UTC+8, UTC-3:30.
func utcOffset(t time.Time) string {
	_, off := t.Zone()
	if off == 0 {
		return "UTC"
	}
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	s := fmt.Sprintf("UTC%s%d", sign, off/3600)
	if m := off % 3600 / 60; m != 0 {
		s += fmt.Sprintf(":%02d", m)
	}
	return s
}

// clock formats t as 15:04, with the date when it is not on the day of ref.
func clock(t, ref time.Time) string {
	if sameDay(t, ref) {
		return t.Format("15:04")
	}
	return t.Format("01-02 15:04")
}

// quantity formats a value with its unit: at most three decimals, no
// trailing zeros.
func quantity(v float64, unit string) string {
	var s string
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		s = strconv.FormatFloat(v, 'f', -1, 64)
	default:
		r := math.Round(v*1000) / 1000
		if r == 0 {
			r = 0 // no "-0"
		}
		s = strconv.FormatFloat(r, 'f', -1, 64)
	}
	return s + strings.TrimSpace(unit)
}

// escapeMarkdown keeps a value from being read as IM markdown or as the
// <font>/<at> tags DingTalk, WeCom and Feishu accept. Their markdown
// dialects do not all honour backslash escapes, so the characters that
// could start emphasis, code, a link or a tag become their full-width
// forms, and line breaks spaces (so nothing starts a heading or a list).
// Underscores stay: they do not emphasise inside words, and ids have them.
var escapeMarkdown = strings.NewReplacer(
	"*", "＊", "`", "｀", "[", "［", "]", "］", "<", "＜", ">", "＞",
	"\r\n", " ", "\n", " ", "\r", " ",
).Replace

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// templateNames lists the templates of t a configuration may replace.
func templateNames(t *template.Template) []string {
	var names []string
	for _, x := range t.Templates() {
		if x.Name() != t.Name() {
			names = append(names, x.Name())
		}
	}
	sort.Strings(names)
	return names
}
