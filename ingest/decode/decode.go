// Package decode defines payload decoders: plugins that turn the bytes of one
// MQTT message into points. Each format lives in its own sub-package
// (decode/json, …) and is listed once in decode/all.
package decode

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Point is one decoded value, before it is bound to a registered sensor.
type Point struct {
	Sensor string    // sensor id when the payload names one (gateway batches); "" means the topic's sensor
	Metric string    // "" means the sensor's default metric
	Value  float64   //
	Time   time.Time // zero means the time the message was received
	// Event is "" for a measured value. EventOffline says the device named
	// by Sensor (or the topic's sensor) went away (a Sparkplug NDEATH or
	// DDEATH); EventOnline that it announced itself (a BIRTH). Value is
	// unused for events.
	Event string
	// Snapshot marks a value a device states when it (re)announces itself,
	// a Sparkplug BIRTH: the metric's current state, often a placeholder
	// (Eclipse Tahu declares 0.0), rather than a new measurement. A value of
	// the same sensor, metric and instant marked Supersedes replaces it,
	// and the pipeline gives the rule engine a snapshot only once no such
	// value came soon after it.
	Snapshot bool `json:",omitempty"`
	// Supersedes marks a value the decoder knows to be newer than the
	// Snapshot of the same sensor, metric and instant (a Sparkplug DATA
	// whose seq follows the BIRTH's): it replaces that snapshot instead of
	// being refused as a duplicate.
	Supersedes bool `json:",omitempty"`
}

// Point events.
const (
	EventOffline = "offline"
	EventOnline  = "online"
)

// MaxMetricName is the longest metric name, in bytes, the pipeline
// accepts from a payload.
const MaxMetricName = 256

// CheckMetricName reports why a metric name a payload gives cannot name a
// metric: not valid UTF-8, a control character (C0, DEL or C1: a newline
// would end an InfluxDB line, a NUL a C string), or longer than
// MaxMetricName bytes. Metric names become InfluxDB field keys and
// column values in the embedded store. The pipeline checks every name a
// decoder returns; a decoder may refuse such names itself.
func CheckMetricName(name string) error {
	if len(name) > MaxMetricName {
		return fmt.Errorf("longer than %d bytes", MaxMetricName)
	}
	for i, r := range name {
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(name[i:]); size == 1 { // not a U+FFFD of its own
				return fmt.Errorf("not valid UTF-8 (byte %d)", i)
			}
		case unicode.IsControl(r):
			return fmt.Errorf("control character %U at byte %d", r, i)
		}
	}
	return nil
}

// TopicDecoder is implemented by decoders that need the topic as well as
// the payload (Sparkplug B carries the message type and device in it, and
// keeps per-device state such as metric aliases). The pipeline calls
// DecodeTopic instead of Decode when a decoder has it. Implementations must
// be safe for concurrent use.
type TopicDecoder interface {
	Decoder
	DecodeTopic(dst []Point, topic string, payload []byte) ([]Point, error)
}

// DocumentDecoder is a decoder of messages that are documents, not
// readings: an issued warning in CAP (decode/cap). Its Decode checks a
// payload — it returns no points, and an error naming the field at fault
// for a payload it refuses — and the pipeline hands an accepted payload
// whole to its document sink (ingest.Options.Documents) under Kind,
// acknowledging the message once the sink has applied it.
type DocumentDecoder interface {
	Decoder
	Kind() string
}

// Decoder decodes one payload. Decode appends to dst and returns it. When
// only some entries of a batch are bad it returns the good points together
// with an Errors value describing the bad ones.
type Decoder interface {
	Name() string
	Decode(dst []Point, payload []byte) ([]Point, error)
}

// Reason classifies why a payload or an entry of it was refused. Reasons are
// metric label values: keep the set small and stable.
type Reason string

// Reasons a decoder reports.
const (
	ReasonMalformed Reason = "malformed" // not the format at all
	ReasonBadValue  Reason = "bad_value" // a field has the wrong type (a string where a number belongs)
	ReasonNotFinite Reason = "not_finite"
	ReasonBadTime   Reason = "bad_timestamp"
)

// Error is a decoding problem with the field it concerns.
type Error struct {
	Reason Reason
	Field  string // e.g. "values.level" or "[2].value"; "" for the whole payload
	Msg    string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Errorf builds an *Error.
func Errorf(reason Reason, field, format string, args ...any) *Error {
	return &Error{Reason: reason, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Errors lists the problems of the bad entries of a partly good payload.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Split returns the individual *Error values of err, classifying anything
// else as malformed.
func Split(err error) []*Error {
	var es Errors
	if errors.As(err, &es) {
		return es
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return []*Error{{Reason: ReasonMalformed, Msg: err.Error()}}
}

// Registry holds decoders by name and refuses duplicates.
type Registry struct {
	byName map[string]Decoder
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{byName: map[string]Decoder{}} }

// Register adds d; a second decoder of the same name is an error.
func (r *Registry) Register(d Decoder) error {
	name := d.Name()
	if name == "" {
		return errors.New("decode: decoder with empty name")
	}
	if _, dup := r.byName[name]; dup {
		return fmt.Errorf("decode: decoder %q registered twice", name)
	}
	r.byName[name] = d
	return nil
}

// Get returns the decoder called name.
func (r *Registry) Get(name string) (Decoder, bool) {
	d, ok := r.byName[name]
	return d, ok
}

// Names lists the registered decoders, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.byName))
	for n := range r.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
