// Package cap reads alert messages in the Common Alerting Protocol,
// version 1.2 (OASIS CAP 1.2, namespace urn:oasis:names:tc:emergency:cap:1.2),
// the format China's national emergency early-warning release system
// (国家突发事件预警信息发布系统) publishes warnings in. It parses and checks
// a document; what a warning means for yujing is package
// alerting/issued/capwarn's business. Standard library only.
package cap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Namespace is the XML namespace of CAP 1.2 documents.
const Namespace = "urn:oasis:names:tc:emergency:cap:1.2"

// MaxSize is the largest document Parse reads.
const MaxSize = 1 << 20

// Alert is a CAP message.
type Alert struct {
	Identifier string
	Sender     string
	Sent       time.Time
	Status     string // Actual, Exercise, System, Test, Draft
	MsgType    string // Alert, Update, Cancel, Ack, Error
	Source     string
	Scope      string // Public, Restricted, Private
	Note       string
	References []Reference
	Incidents  string
	Infos      []Info
}

// ID is the message's identity: sender and identifier, as references
// name it ("sender,identifier").
func (a *Alert) ID() string { return a.Sender + "," + a.Identifier }

// Reference names an earlier message: "sender,identifier,sent".
type Reference struct {
	Sender     string
	Identifier string
	Sent       time.Time
}

// ID is the referenced message's identity ("sender,identifier").
func (r Reference) ID() string { return r.Sender + "," + r.Identifier }

// Info is one info block: the warning in one language.
type Info struct {
	Language    string // RFC 3066, default en-US
	Categories  []string
	Event       string
	Urgency     string // Immediate, Expected, Future, Past, Unknown
	Severity    string // Extreme, Severe, Moderate, Minor, Unknown
	Certainty   string // Observed, Likely, Possible, Unlikely, Unknown
	EventCodes  []Value
	Effective   time.Time
	Onset       time.Time
	Expires     time.Time
	SenderName  string
	Headline    string
	Description string
	Instruction string
	Web         string
	Parameters  []Value
	Areas       []Area
}

// Area is where an info block applies.
type Area struct {
	Desc     string
	Geocodes []Value
}

// Value is a valueName/value pair (geocode, parameter, eventCode).
type Value struct {
	Name  string
	Value string
}

// Error is a problem with one element of a document: Path names it
// (alert/info[2]/severity), Line is its line in the document (0 when
// unknown).
type Error struct {
	Path string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Path, e.Msg)
	}
	return e.Path + ": " + e.Msg
}

// The values CAP 1.2 allows.
var (
	Statuses    = []string{"Actual", "Exercise", "System", "Test", "Draft"}
	MsgTypes    = []string{"Alert", "Update", "Cancel", "Ack", "Error"}
	Scopes      = []string{"Public", "Restricted", "Private"}
	Categories  = []string{"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE", "Other"}
	Urgencies   = []string{"Immediate", "Expected", "Future", "Past", "Unknown"}
	Severities  = []string{"Extreme", "Severe", "Moderate", "Minor", "Unknown"}
	Certainties = []string{"Observed", "Likely", "Possible", "Unlikely", "Unknown", "Very Likely"}
)

// the XML form, with each element's line for errors.
type xmlText struct {
	Text string
	line int
}

type xmlValue struct {
	Name  xmlText `xml:"valueName"`
	Value xmlText `xml:"value"`
}

type xmlArea struct {
	Desc     xmlText    `xml:"areaDesc"`
	Geocodes []xmlValue `xml:"geocode"`
	line     int
}

type xmlInfo struct {
	Language    xmlText    `xml:"language"`
	Categories  []xmlText  `xml:"category"`
	Event       xmlText    `xml:"event"`
	Urgency     xmlText    `xml:"urgency"`
	Severity    xmlText    `xml:"severity"`
	Certainty   xmlText    `xml:"certainty"`
	EventCodes  []xmlValue `xml:"eventCode"`
	Effective   xmlText    `xml:"effective"`
	Onset       xmlText    `xml:"onset"`
	Expires     xmlText    `xml:"expires"`
	SenderName  xmlText    `xml:"senderName"`
	Headline    xmlText    `xml:"headline"`
	Description xmlText    `xml:"description"`
	Instruction xmlText    `xml:"instruction"`
	Web         xmlText    `xml:"web"`
	Parameters  []xmlValue `xml:"parameter"`
	Areas       []xmlArea  `xml:"area"`
	line        int
}

type xmlAlert struct {
	XMLName    xml.Name
	Identifier xmlText   `xml:"identifier"`
	Sender     xmlText   `xml:"sender"`
	Sent       xmlText   `xml:"sent"`
	Status     xmlText   `xml:"status"`
	MsgType    xmlText   `xml:"msgType"`
	Source     xmlText   `xml:"source"`
	Scope      xmlText   `xml:"scope"`
	Note       xmlText   `xml:"note"`
	References xmlText   `xml:"references"`
	Incidents  xmlText   `xml:"incidents"`
	Infos      []xmlInfo `xml:"info"`
	line       int
}

// lines finds the line of an offset in the document: the offsets of its
// line breaks, found once, searched by bisection (a document's elements
// each ask, and counting from the start every time would be quadratic).
type lines struct{ breaks []int64 }

func newLines(data []byte) lines {
	var l lines
	for i, c := range data {
		if c == '\n' {
			l.breaks = append(l.breaks, int64(i))
		}
	}
	return l
}

// at is the 1-based line of offset off: one more than the breaks before it.
func (l lines) at(off int64) int {
	i, _ := slices.BinarySearch(l.breaks, off)
	return i + 1
}

// Parse reads and checks one CAP 1.2 document. Its error is an *Error
// naming the element at fault (and its line), or a syntax error with its
// line.
func Parse(data []byte) (*Alert, error) {
	if len(data) > MaxSize {
		return nil, &Error{Path: "alert", Msg: fmt.Sprintf("document of %d bytes: at most %d", len(data), MaxSize)}
	}
	var x xmlAlert
	if err := decode(data, &x); err != nil {
		return nil, err
	}
	return check(&x)
}

// decode fills x by walking the tokens, so that every element knows its
// line (encoding/xml's Unmarshal keeps none).
func decode(data []byte, x *xmlAlert) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	ln := newLines(data)
	var root *xml.StartElement
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return syntaxError(err, ln.at(d.InputOffset()))
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root != nil {
			return &Error{Path: se.Name.Local, Line: ln.at(d.InputOffset()), Msg: "a second root element; a document is one alert"}
		}
		root = &se
		line := ln.at(d.InputOffset())
		if se.Name.Local != "alert" {
			return &Error{Path: se.Name.Local, Line: line, Msg: "the root element is not alert"}
		}
		if se.Name.Space != Namespace {
			return &Error{Path: "alert", Line: line, Msg: fmt.Sprintf("namespace %q: want %s (CAP 1.2)", se.Name.Space, Namespace)}
		}
		x.XMLName, x.line = se.Name, line
		if err := walkAlert(d, ln, x); err != nil {
			return err
		}
	}
	if root == nil {
		return &Error{Path: "alert", Msg: "no alert element: the document is empty"}
	}
	return nil
}

func syntaxError(err error, line int) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return &Error{Path: "alert", Line: se.Line, Msg: "not well-formed XML: " + se.Msg}
	}
	return &Error{Path: "alert", Line: line, Msg: "not well-formed XML: " + err.Error()}
}

// children walks the child elements of the element just started, calling
// each for every child start element (which must consume the child).
func children(d *xml.Decoder, ln lines, each func(se xml.StartElement, line int) error) error {
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return &Error{Path: "alert", Line: ln.at(d.InputOffset()), Msg: "the document ends inside an element"}
			}
			return syntaxError(err, ln.at(d.InputOffset()))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != Namespace {
				// Another namespace's extension: skip it.
				if err := d.Skip(); err != nil {
					return syntaxError(err, ln.at(d.InputOffset()))
				}
				continue
			}
			if err := each(t, ln.at(d.InputOffset())); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

// text reads the text of the element just started (no child elements).
func text(d *xml.Decoder, ln lines, path string, line int) (xmlText, error) {
	var b strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			return xmlText{}, syntaxError(err, ln.at(d.InputOffset()))
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			return xmlText{}, &Error{Path: path + "/" + t.Name.Local, Line: ln.at(d.InputOffset()), Msg: "unexpected element inside " + path}
		case xml.EndElement:
			return xmlText{Text: strings.TrimSpace(b.String()), line: line}, nil
		}
	}
}

func walkAlert(d *xml.Decoder, ln lines, x *xmlAlert) error {
	fields := map[string]*xmlText{"identifier": &x.Identifier, "sender": &x.Sender, "sent": &x.Sent, "status": &x.Status,
		"msgType": &x.MsgType, "source": &x.Source, "scope": &x.Scope, "note": &x.Note, "references": &x.References,
		"incidents": &x.Incidents}
	return children(d, ln, func(se xml.StartElement, line int) error {
		name := se.Name.Local
		if f, ok := fields[name]; ok {
			t, err := text(d, ln, "alert/"+name, line)
			*f = t
			return err
		}
		switch name {
		case "info":
			info := xmlInfo{line: line}
			if err := walkInfo(d, ln, fmt.Sprintf("alert/info[%d]", len(x.Infos)+1), &info); err != nil {
				return err
			}
			x.Infos = append(x.Infos, info)
			return nil
		case "addresses", "code", "restriction":
			_, err := text(d, ln, "alert/"+name, line)
			return err
		}
		return skip(d, ln)
	})
}

func skip(d *xml.Decoder, ln lines) error {
	if err := d.Skip(); err != nil {
		return syntaxError(err, ln.at(d.InputOffset()))
	}
	return nil
}

func walkValue(d *xml.Decoder, ln lines, path string) (xmlValue, error) {
	var v xmlValue
	err := children(d, ln, func(se xml.StartElement, line int) error {
		var err error
		switch se.Name.Local {
		case "valueName":
			v.Name, err = text(d, ln, path+"/valueName", line)
		case "value":
			v.Value, err = text(d, ln, path+"/value", line)
		default:
			err = skip(d, ln)
		}
		return err
	})
	return v, err
}

func walkInfo(d *xml.Decoder, ln lines, path string, x *xmlInfo) error {
	fields := map[string]*xmlText{"language": &x.Language, "event": &x.Event, "urgency": &x.Urgency, "severity": &x.Severity,
		"certainty": &x.Certainty, "effective": &x.Effective, "onset": &x.Onset, "expires": &x.Expires,
		"senderName": &x.SenderName, "headline": &x.Headline, "description": &x.Description, "instruction": &x.Instruction,
		"web": &x.Web}
	return children(d, ln, func(se xml.StartElement, line int) error {
		name := se.Name.Local
		if f, ok := fields[name]; ok {
			t, err := text(d, ln, path+"/"+name, line)
			*f = t
			return err
		}
		switch name {
		case "category":
			t, err := text(d, ln, path+"/category", line)
			x.Categories = append(x.Categories, t)
			return err
		case "eventCode", "parameter":
			v, err := walkValue(d, ln, fmt.Sprintf("%s/%s", path, name))
			if name == "eventCode" {
				x.EventCodes = append(x.EventCodes, v)
			} else {
				x.Parameters = append(x.Parameters, v)
			}
			return err
		case "area":
			a := xmlArea{line: line}
			ap := fmt.Sprintf("%s/area[%d]", path, len(x.Areas)+1)
			err := children(d, ln, func(se xml.StartElement, line int) error {
				var err error
				switch se.Name.Local {
				case "areaDesc":
					a.Desc, err = text(d, ln, ap+"/areaDesc", line)
				case "geocode":
					var v xmlValue
					v, err = walkValue(d, ln, fmt.Sprintf("%s/geocode[%d]", ap, len(a.Geocodes)+1))
					a.Geocodes = append(a.Geocodes, v)
				default:
					err = skip(d, ln)
				}
				return err
			})
			x.Areas = append(x.Areas, a)
			return err
		}
		return skip(d, ln)
	})
}

// checker collects the problems of a document, each naming its element.
type checker struct {
	errs []error
	// parent is the line of the element being checked, for the errors of
	// children it lacks.
	parent int
}

func (c *checker) bad(path string, t xmlText, format string, args ...any) {
	c.errs = append(c.errs, &Error{Path: path, Line: t.line, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) required(path string, t xmlText) bool {
	if t.Text != "" {
		return true
	}
	if t.line == 0 {
		t.line = c.parent
	}
	c.bad(path, t, "required")
	return false
}

func (c *checker) oneOf(path string, t xmlText, allowed []string) {
	if c.required(path, t) && !slices.Contains(allowed, t.Text) {
		c.bad(path, t, "%q is not one of %s", t.Text, strings.Join(allowed, ", "))
	}
}

func (c *checker) when(path string, t xmlText, need bool) time.Time {
	if t.Text == "" {
		if need {
			c.required(path, t)
		}
		return time.Time{}
	}
	v, err := ParseTime(t.Text)
	if err != nil {
		c.bad(path, t, "%v", err)
	}
	return v
}

func (c *checker) noComma(path string, t xmlText) {
	if c.required(path, t) && strings.ContainsAny(t.Text, ", <&") {
		c.bad(path, t, "%q: no spaces, commas or restricted characters (CAP 1.2 3.2.1)", t.Text)
	}
}

// check turns the XML form into an Alert, refusing what CAP 1.2 requires
// and is missing or malformed; the first problem is the error.
func check(x *xmlAlert) (*Alert, error) {
	c := &checker{parent: x.line}
	a := &Alert{Identifier: x.Identifier.Text, Sender: x.Sender.Text, Status: x.Status.Text, MsgType: x.MsgType.Text,
		Source: x.Source.Text, Scope: x.Scope.Text, Note: x.Note.Text, Incidents: x.Incidents.Text}
	c.noComma("alert/identifier", x.Identifier)
	c.noComma("alert/sender", x.Sender)
	a.Sent = c.when("alert/sent", x.Sent, true)
	c.oneOf("alert/status", x.Status, Statuses)
	c.oneOf("alert/msgType", x.MsgType, MsgTypes)
	c.oneOf("alert/scope", x.Scope, Scopes)
	for i, f := range strings.Fields(x.References.Text) {
		parts := strings.Split(f, ",")
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
			c.bad("alert/references", x.References, "entry %d %q: want sender,identifier,sent", i+1, f)
			continue
		}
		sent, err := ParseTime(parts[2])
		if err != nil {
			c.bad("alert/references", x.References, "entry %d %q: sent: %v", i+1, f, err)
			continue
		}
		a.References = append(a.References, Reference{Sender: parts[0], Identifier: parts[1], Sent: sent})
	}
	if (a.MsgType == "Update" || a.MsgType == "Cancel") && x.References.Text == "" {
		c.bad("alert/references", xmlText{line: x.line}, "required: an %s names the message it changes", a.MsgType)
	}
	for i := range x.Infos {
		a.Infos = append(a.Infos, c.info(fmt.Sprintf("alert/info[%d]", i+1), &x.Infos[i], a, x.Sent.Text))
	}
	if len(c.errs) > 0 {
		return nil, c.errs[0]
	}
	return a, nil
}

// info checks the info block xi at path of alert a (sent as written).
func (c *checker) info(p string, xi *xmlInfo, a *Alert, sent string) Info {
	c.parent = xi.line
	in := Info{Language: xi.Language.Text, Event: xi.Event.Text, Urgency: xi.Urgency.Text, Severity: xi.Severity.Text,
		Certainty: xi.Certainty.Text, SenderName: xi.SenderName.Text, Headline: xi.Headline.Text,
		Description: xi.Description.Text, Instruction: xi.Instruction.Text, Web: xi.Web.Text}
	if in.Language == "" {
		in.Language = "en-US"
	}
	if len(xi.Categories) == 0 {
		c.required(p+"/category", xmlText{})
	}
	for _, cat := range xi.Categories {
		c.oneOf(p+"/category", cat, Categories)
		in.Categories = append(in.Categories, cat.Text)
	}
	c.required(p+"/event", xi.Event)
	c.oneOf(p+"/urgency", xi.Urgency, Urgencies)
	c.oneOf(p+"/severity", xi.Severity, Severities)
	c.oneOf(p+"/certainty", xi.Certainty, Certainties)
	in.Effective = c.when(p+"/effective", xi.Effective, false)
	in.Onset = c.when(p+"/onset", xi.Onset, false)
	in.Expires = c.when(p+"/expires", xi.Expires, false)
	if !in.Expires.IsZero() && !a.Sent.IsZero() && !in.Expires.After(a.Sent) && a.MsgType != "Cancel" {
		c.bad(p+"/expires", xi.Expires, "%s is not after sent %s", xi.Expires.Text, sent)
	}
	for _, v := range xi.EventCodes {
		in.EventCodes = append(in.EventCodes, Value{v.Name.Text, v.Value.Text})
	}
	for _, v := range xi.Parameters {
		in.Parameters = append(in.Parameters, Value{v.Name.Text, v.Value.Text})
	}
	for j, xa := range xi.Areas {
		ap := fmt.Sprintf("%s/area[%d]", p, j+1)
		c.parent = xa.line
		c.required(ap+"/areaDesc", xa.Desc)
		ar := Area{Desc: xa.Desc.Text}
		for k, g := range xa.Geocodes {
			gp := fmt.Sprintf("%s/geocode[%d]", ap, k+1)
			c.required(gp+"/valueName", g.Name)
			c.required(gp+"/value", g.Value)
			ar.Geocodes = append(ar.Geocodes, Value{g.Name.Text, g.Value.Text})
		}
		in.Areas = append(in.Areas, ar)
	}
	return in
}

// ParseTime reads a CAP date-time: "2026-07-01T08:00:00+08:00", with an
// explicit offset ("-00:00" for UTC; CAP 1.2 forbids "Z", which is taken
// too).
func ParseTime(s string) (time.Time, error) {
	if strings.HasSuffix(s, "-00:00") {
		s = strings.TrimSuffix(s, "-00:00") + "+00:00"
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || !strings.Contains(s, "T") {
		return time.Time{}, fmt.Errorf("%q is not a CAP date-time such as 2026-07-01T08:00:00+08:00", s)
	}
	return t, nil
}

// Preferred returns the info block in the first of the languages (by
// prefix: "zh" takes zh-CN), else the first block; nil when none.
func (a *Alert) Preferred(languages ...string) *Info {
	for _, l := range languages {
		for i := range a.Infos {
			if strings.HasPrefix(strings.ToLower(a.Infos[i].Language), strings.ToLower(l)) {
				return &a.Infos[i]
			}
		}
	}
	if len(a.Infos) == 0 {
		return nil
	}
	return &a.Infos[0]
}
