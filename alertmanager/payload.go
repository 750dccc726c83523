package alertmanager

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// PostableAlert is one alert of the body of POST /api/v2/alerts, as
// Alertmanager's API v2 defines it (postableAlert) and Prometheus,
// Grafana, vmalert and amtool send it.
type PostableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// WebhookMessage is the body an Alertmanager's webhook receiver posts
// (version "4"): one notification about a group of alerts.
type WebhookMessage struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []WebhookAlert    `json:"alerts"`
}

// WebhookAlert is one alert of a webhook notification.
type WebhookAlert struct {
	Status       string            `json:"status"` // firing or resolved
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// WebhookVersion is the only webhook payload version accepted.
const WebhookVersion = "4"

// Alert is a checked alert, from either payload.
type Alert struct {
	// Index is the alert's place in its payload's list, from 0.
	Index int
	// Labels identify the alert (labels with an empty value are dropped,
	// as Alertmanager drops them); Fingerprint is theirs.
	Labels       map[string]string
	Annotations  map[string]string
	Fingerprint  string
	StartsAt     time.Time // zero: not given
	EndsAt       time.Time // zero: not given
	GeneratorURL string
	// Resolved says the sender says the alert is resolved (a webhook
	// alert of status "resolved"); an API v2 alert is resolved when its
	// EndsAt has passed.
	Resolved bool
	// Webhook says the alert came in a webhook notification, whose
	// firing alerts are not re-sent before they resolve: their EndsAt is
	// no expiry.
	Webhook bool
}

// Name is the alert's alertname label ("" when it has none).
func (a Alert) Name() string { return a.Labels["alertname"] }

// An Error says what is wrong with one alert of a payload: Index is its
// place in the list (from 0), Labels name it.
type Error struct {
	Index  int
	Labels map[string]string
	Err    error
}

func (e *Error) Error() string {
	if len(e.Labels) == 0 {
		return fmt.Sprintf("alerts[%d]: %v", e.Index, e.Err)
	}
	return fmt.Sprintf("alerts[%d] %s: %v", e.Index, LabelString(e.Labels), e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// LabelString writes labels as Prometheus does: {a="1", b="2"}, names in
// order.
func LabelString(labels map[string]string) string {
	names := make([]string, 0, len(labels))
	for n := range labels {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%q", n, labels[n])
	}
	b.WriteByte('}')
	return b.String()
}

// ErrPayload says a body is not a payload at all (not JSON, not a list,
// a wrong webhook version): nothing of it was taken.
var ErrPayload = errors.New("bad payload")

// DecodePostable reads the body of POST /api/v2/alerts: a JSON array of
// postable alerts. It returns the alerts that are valid, in order, and an
// error joining one *Error per invalid alert — as Alertmanager takes the
// valid alerts of a request and answers 400 for the others — or wrapping
// ErrPayload when the body is not such an array (then no alert).
func DecodePostable(body []byte) ([]Alert, error) {
	var raw []json.RawMessage
	if err := strictArray(body, &raw); err != nil {
		return nil, err
	}
	var out []Alert
	var errs []error
	for i, m := range raw {
		var p PostableAlert
		if err := json.Unmarshal(m, &p); err != nil {
			errs = append(errs, &Error{Index: i, Err: jsonError(err)})
			continue
		}
		a, err := check(p.Labels, p.Annotations, p.StartsAt, p.EndsAt)
		if err != nil {
			errs = append(errs, &Error{Index: i, Labels: p.Labels, Err: err})
			continue
		}
		a.Index, a.GeneratorURL = i, p.GeneratorURL
		out = append(out, a)
	}
	return out, errors.Join(errs...)
}

// DecodeWebhook reads an Alertmanager webhook notification (version "4").
// Like DecodePostable it returns the valid alerts and an error per invalid
// one, or an error wrapping ErrPayload when the body is no such
// notification. The fingerprint the sender gives is not trusted: each
// alert's is computed from its labels.
func DecodeWebhook(body []byte) (*WebhookMessage, []Alert, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, nil, fmt.Errorf("%w: want a JSON object (an Alertmanager webhook notification, version %q)", ErrPayload, WebhookVersion)
	}
	var msg struct {
		WebhookMessage
		Alerts []json.RawMessage `json:"alerts"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrPayload, jsonError(err))
	}
	if msg.Version != WebhookVersion {
		return nil, nil, fmt.Errorf("%w: version %q: want %q (Alertmanager's webhook payload)", ErrPayload, msg.Version, WebhookVersion)
	}
	m := msg.WebhookMessage
	m.Alerts = make([]WebhookAlert, 0, len(msg.Alerts))
	var out []Alert
	var errs []error
	for i, r := range msg.Alerts {
		var w WebhookAlert
		if err := json.Unmarshal(r, &w); err != nil {
			errs = append(errs, &Error{Index: i, Err: jsonError(err)})
			continue
		}
		m.Alerts = append(m.Alerts, w)
		var resolved bool
		switch w.Status {
		case "firing":
		case "resolved":
			resolved = true
		default:
			errs = append(errs, &Error{Index: i, Labels: w.Labels, Err: fmt.Errorf("status %q: want firing or resolved", w.Status)})
			continue
		}
		a, err := check(w.Labels, w.Annotations, w.StartsAt, w.EndsAt)
		if err != nil {
			errs = append(errs, &Error{Index: i, Labels: w.Labels, Err: err})
			continue
		}
		a.Index, a.GeneratorURL, a.Resolved, a.Webhook = i, w.GeneratorURL, resolved, true
		out = append(out, a)
	}
	return &m, out, errors.Join(errs...)
}

// strictArray decodes a JSON array, refusing anything else.
func strictArray(body []byte, v *[]json.RawMessage) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '[' {
		return fmt.Errorf("%w: want a JSON array of alerts ({labels, annotations, startsAt, endsAt, generatorURL})", ErrPayload)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %v", ErrPayload, jsonError(err))
	}
	return nil
}

// jsonError names the field a type error is about.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Errorf("%s: want %s, not a JSON %s", te.Field, kindName(te.Type), te.Value)
	}
	var pe *time.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("a time is not RFC 3339 (2006-01-02T15:04:05Z07:00): %q", pe.Value)
	}
	return err
}

// kindName says what JSON a Go type takes.
func kindName(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}

// check checks an alert's labels, annotations and times as Alertmanager's
// validation does: at least one label once empty values are dropped;
// names non-empty UTF-8; values UTF-8; the end not before the start.
func check(labels, annotations map[string]string, start, end time.Time) (Alert, error) {
	ls := make(map[string]string, len(labels))
	for n, v := range labels {
		if v != "" {
			ls[n] = v
		}
	}
	if err := checkSet("labels", ls); err != nil {
		return Alert{}, err
	}
	if len(ls) == 0 {
		return Alert{}, errors.New("labels: at least one label with a value is required")
	}
	if err := checkSet("annotations", annotations); err != nil {
		return Alert{}, err
	}
	if !start.IsZero() && !end.IsZero() && end.Before(start) {
		return Alert{}, fmt.Errorf("endsAt %s is before startsAt %s", end.Format(time.RFC3339Nano), start.Format(time.RFC3339Nano))
	}
	var ann map[string]string
	if len(annotations) > 0 {
		ann = make(map[string]string, len(annotations))
		for n, v := range annotations {
			ann[n] = v
		}
	}
	return Alert{Labels: ls, Annotations: ann, Fingerprint: Fingerprint(ls), StartsAt: start, EndsAt: end}, nil
}

func checkSet(what string, m map[string]string) error {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		switch {
		case n == "":
			return fmt.Errorf("%s: a name is empty", what)
		case !utf8.ValidString(n):
			return fmt.Errorf("%s: name %q is not valid UTF-8", what, n)
		case !utf8.ValidString(m[n]):
			return fmt.Errorf("%s: %s: value %q is not valid UTF-8", what, n, m[n])
		}
	}
	return nil
}
