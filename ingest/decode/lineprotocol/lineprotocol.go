// Package lineprotocol decodes InfluxDB line protocol, as Telegraf and many
// gateways publish it:
//
//	gas,site=demo-plant,sensor=GT-101 lel=31.5 1763856000000000000
//	tank,sensor=TK-201 level=3.2,pressure=0.41,alarm=false
//
// Every field of every line becomes a point whose metric is the field name.
// The "sensor" tag (Config.SensorTag) names the sensor, so one message may
// carry several sensors; without it the topic's sensor is meant. The
// measurement name and the other tags are ignored. Integer (12i), unsigned
// (12u) and float fields are values, booleans are 1 or 0; a string field is
// refused on its own with ReasonBadValue. A malformed line is refused on its
// own ("line 3: …") and the good lines are kept. The timestamp is read in
// Config.Precision (nanoseconds by default); a line without one means the
// time of receipt.
//
// Parsing is done by github.com/influxdata/line-protocol/v2, InfluxData's
// own pure Go decoder.
package lineprotocol

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	lp "github.com/influxdata/line-protocol/v2/lineprotocol"

	"yujing/ingest/decode"
)

// Name is the registry name of the default decoder.
const Name = "lineprotocol"

// Config tunes a decoder. The zero value is the default decoder.
type Config struct {
	// Name is the registry name; default "lineprotocol". Give a custom
	// decoder its own name so it can sit beside the default one.
	Name string
	// SensorTag is the tag that names the sensor; default "sensor".
	SensorTag string
	// Precision of the timestamps: "ns" (default), "us", "ms" or "s", as
	// Telegraf's and InfluxDB's precision setting.
	Precision string
}

// Decoder decodes line protocol. It holds no state and is safe for
// concurrent use.
type Decoder struct {
	name      string
	sensorTag string
	prec      lp.Precision
}

// New returns a decoder for cfg, or an error naming the bad setting.
func New(cfg Config) (*Decoder, error) {
	d := Default()
	if cfg.Name != "" {
		d.name = cfg.Name
	}
	if cfg.SensorTag != "" {
		d.sensorTag = cfg.SensorTag
	}
	switch cfg.Precision {
	case "", "ns":
		d.prec = lp.Nanosecond
	case "us", "µs":
		d.prec = lp.Microsecond
	case "ms":
		d.prec = lp.Millisecond
	case "s":
		d.prec = lp.Second
	default:
		return nil, fmt.Errorf("lineprotocol: precision %q: want ns, us, ms or s", cfg.Precision)
	}
	return d, nil
}

// Default returns the decoder registered as "lineprotocol": sensor tag
// "sensor", nanosecond timestamps.
func Default() *Decoder {
	return &Decoder{name: Name, sensorTag: "sensor", prec: lp.Nanosecond}
}

// Name implements decode.Decoder.
func (d *Decoder) Name() string { return d.name }

// Decode implements decode.Decoder.
func (d *Decoder) Decode(dst []decode.Point, payload []byte) ([]decode.Point, error) {
	dec := lp.NewDecoderWithBytes(payload)
	lines := lineIndex{payload: payload}
	var errs decode.Errors
	entries := 0
	for dec.Next() {
		dst, errs = d.entry(dec, dst, errs, &lines, entries)
		entries++
	}
	if entries == 0 {
		return dst, decode.Errorf(decode.ReasonMalformed, "", "no line protocol entries (empty payload or only comments)")
	}
	if len(errs) > 0 {
		return dst, errs
	}
	return dst, nil
}

// entry decodes the entry dec stands at, the payload's entry number n
// (from 0). A malformed entry or a bad timestamp drops all of the entry's
// points; a field that is not a number drops only that field.
func (d *Decoder) entry(dec *lp.Decoder, dst []decode.Point, errs decode.Errors, lines *lineIndex, n int) ([]decode.Point, decode.Errors) {
	start, nerr := len(dst), len(errs)
	fail := func(e *decode.Error) ([]decode.Point, decode.Errors) {
		return dst[:start], append(errs[:nerr], e)
	}
	if _, err := dec.Measurement(); err != nil {
		return fail(syntaxError(err, lines, n))
	}
	sensor, tagged := "", false
	for {
		key, val, err := dec.NextTag()
		if err != nil {
			return fail(syntaxError(err, lines, n))
		}
		if key == nil {
			break
		}
		if string(key) == d.sensorTag {
			if tagged {
				return fail(decode.Errorf(decode.ReasonMalformed, lines.field(n), "tag %q given twice", d.sensorTag))
			}
			sensor, tagged = string(val), true
		}
	}
	for {
		key, kind, val, err := dec.NextFieldBytes()
		if err != nil {
			return fail(syntaxError(err, lines, n))
		}
		if key == nil {
			break
		}
		v, e := value(kind, val)
		if e == nil {
			dst = append(dst, decode.Point{Sensor: sensor, Metric: string(key), Value: v})
			continue
		}
		if e.Reason == decode.ReasonMalformed {
			e.Field = lines.field(n)
			e.Msg = fmt.Sprintf("field %q: %s", key, e.Msg)
			return fail(e)
		}
		e.Field = lines.field(n) + " field " + string(key)
		errs = append(errs, e)
	}
	tb, err := dec.TimeBytes()
	if err != nil {
		return fail(syntaxError(err, lines, n))
	}
	if tb != nil {
		t, e := d.timestamp(tb)
		if e != nil {
			e.Field = lines.field(n) + " timestamp"
			return fail(e)
		}
		for i := start; i < len(dst); i++ {
			dst[i].Time = t
		}
	}
	return dst, errs
}

// value converts a field value. Errors are field-level (bad value, not
// finite) unless the number itself is malformed.
func value(kind lp.ValueKind, b []byte) (float64, *decode.Error) {
	switch kind {
	case lp.Float:
		if !floatSyntax(b) {
			return 0, decode.Errorf(decode.ReasonMalformed, "", "invalid float %q", b)
		}
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, decode.Errorf(decode.ReasonMalformed, "", "invalid float %q", b)
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, decode.Errorf(decode.ReasonNotFinite, "", "%s is not a finite number", b)
		}
		return f, nil
	case lp.Int:
		i, err := strconv.ParseInt(string(b), 10, 64)
		if errors.Is(err, strconv.ErrRange) {
			return 0, decode.Errorf(decode.ReasonBadValue, "", "integer %si is out of the int64 range", b)
		}
		if err != nil {
			return 0, decode.Errorf(decode.ReasonMalformed, "", "invalid integer %q", string(b)+"i")
		}
		return float64(i), nil
	case lp.Uint:
		u, err := strconv.ParseUint(string(b), 10, 64)
		if errors.Is(err, strconv.ErrRange) {
			return 0, decode.Errorf(decode.ReasonBadValue, "", "unsigned %su is out of the uint64 range", b)
		}
		if err != nil {
			return 0, decode.Errorf(decode.ReasonMalformed, "", "invalid unsigned integer %q", string(b)+"u")
		}
		return float64(u), nil
	case lp.Bool:
		switch string(b) {
		case "t", "T", "true", "True", "TRUE":
			return 1, nil
		case "f", "F", "false", "False", "FALSE":
			return 0, nil
		}
		return 0, decode.Errorf(decode.ReasonMalformed, "", "invalid boolean %q", b)
	case lp.String:
		return 0, decode.Errorf(decode.ReasonBadValue, "", "string value %q, want a number (float, integer, unsigned or boolean)", clip(b))
	default:
		return 0, decode.Errorf(decode.ReasonMalformed, "", "value %q of unknown type", clip(b))
	}
}

// floatSyntax reports whether b uses only what line protocol allows in a
// float (strconv.ParseFloat also takes hex, underscores and "inf").
func floatSyntax(b []byte) bool {
	for _, c := range b {
		if (c < '0' || c > '9') && c != '.' && c != 'e' && c != 'E' && c != '-' && c != '+' {
			return false
		}
	}
	return true
}

func (d *Decoder) timestamp(b []byte) (time.Time, *decode.Error) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return time.Time{}, decode.Errorf(decode.ReasonBadTime, "", "%q is not an integer timestamp", clip(b))
	}
	unit := int64(d.prec.Duration())
	ns := n * unit
	if ns/unit != n {
		return time.Time{}, decode.Errorf(decode.ReasonBadTime, "", "%s in %s is out of range", b, d.prec)
	}
	return time.Unix(0, ns).UTC(), nil
}

func syntaxError(err error, lines *lineIndex, n int) *decode.Error {
	var de *lp.DecodeError
	if errors.As(err, &de) {
		return decode.Errorf(decode.ReasonMalformed, "line "+strconv.FormatInt(de.Line, 10), "column %d: %v", de.Column, de.Err)
	}
	return decode.Errorf(decode.ReasonMalformed, lines.field(n), "%v", err)
}

func clip(b []byte) string {
	if len(b) > 32 {
		return string(b[:32]) + "…"
	}
	return string(b)
}

// lineIndex finds the line an entry starts on, for the errors the parser
// does not report itself (it gives line numbers only in syntax errors). It
// parses the payload again, once, and only when an error needs a line.
type lineIndex struct {
	payload []byte
	starts  []int // line of each entry
}

// field returns "line N" for entry n (from 0).
func (x *lineIndex) field(n int) string {
	if x.starts == nil {
		// The reader hands the parser one physical line per Read, so the
		// number of lines handed out when an entry starts is its line.
		r := lineReader{rest: x.payload, atStart: true}
		dec := lp.NewDecoder(&r)
		x.starts = []int{}
		for dec.Next() {
			x.starts = append(x.starts, r.lines)
		}
	}
	if n < len(x.starts) {
		return "line " + strconv.Itoa(x.starts[n])
	}
	return "entry " + strconv.Itoa(n+1) // cannot happen: both parses see the same entries
}

// lineReader hands out one physical line (or what fits of it) per Read and
// counts the lines it has started.
type lineReader struct {
	rest    []byte
	lines   int
	atStart bool
}

func (r *lineReader) Read(p []byte) (int, error) {
	if len(r.rest) == 0 {
		return 0, io.EOF
	}
	n := bytes.IndexByte(r.rest, '\n') + 1
	if n == 0 {
		n = len(r.rest)
	}
	n = copy(p, r.rest[:n])
	if n == 0 {
		return 0, nil
	}
	if r.atStart {
		r.lines++
	}
	r.atStart = r.rest[n-1] == '\n'
	r.rest = r.rest[n:]
	return n, nil
}
