// Package json decodes yujing's default JSON payload:
//
//	{"value": 31.5}
//	{"value": 31.5, "ts": "2026-11-23T08:00:00+08:00", "metric": "lel"}
//	{"ts": 1763856000000, "values": {"level": 3.2, "pressure": 0.41}}
//	[{"value": 1}, {"sensor": "GT-102", "value": 2}]
//
// "ts" is an RFC 3339 string or Unix epoch milliseconds; without it the time
// of receipt is used. "sensor" lets a gateway publish for several sensors in
// one message. Unknown fields are ignored. A bad entry of an array is
// reported without losing the good ones.
//
// The common forms {"value": N} and {"value": N, "ts": <epoch ms>} are
// decoded without encoding/json and without allocating (fast.go); anything
// else, including every error, goes through encoding/json, and a
// differential fuzz test holds the two to the same result.
package json

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"time"

	"yujing/ingest/decode"
)

// Name is the decoder's registry name.
const Name = "json"

// Decoder is the default JSON decoder.
type Decoder struct{}

// New returns the decoder.
func New() Decoder { return Decoder{} }

// Name implements decode.Decoder.
func (Decoder) Name() string { return Name }

type object struct {
	Sensor json.RawMessage            `json:"sensor"`
	Metric json.RawMessage            `json:"metric"`
	Value  json.RawMessage            `json:"value"`
	Values map[string]json.RawMessage `json:"values"`
	TS     json.RawMessage            `json:"ts"`
}

// Decode implements decode.Decoder.
func (Decoder) Decode(dst []decode.Point, payload []byte) ([]decode.Point, error) {
	p := bytes.TrimSpace(payload)
	if len(p) > 0 && p[0] == '{' {
		if pts, ok := fast(dst, p); ok {
			return pts, nil
		}
	}
	return general(dst, p)
}

// general decodes a trimmed payload with encoding/json.
func general(dst []decode.Point, p []byte) ([]decode.Point, error) {
	if len(p) == 0 {
		return dst, decode.Errorf(decode.ReasonMalformed, "", "empty payload")
	}
	switch p[0] {
	case '{':
		var o object
		if err := json.Unmarshal(p, &o); err != nil {
			return dst, decode.Errorf(decode.ReasonMalformed, "", "invalid JSON: %v", err)
		}
		return o.points(dst, "")
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(p, &items); err != nil {
			return dst, decode.Errorf(decode.ReasonMalformed, "", "invalid JSON: %v", err)
		}
		if len(items) == 0 {
			return dst, decode.Errorf(decode.ReasonMalformed, "", "empty array")
		}
		var errs decode.Errors
		for i, it := range items {
			prefix := "[" + strconv.Itoa(i) + "]"
			var o object
			if err := json.Unmarshal(it, &o); err != nil {
				errs = append(errs, decode.Errorf(decode.ReasonMalformed, prefix, "want an object: %v", err))
				continue
			}
			var err error
			dst, err = o.points(dst, prefix+".")
			if err != nil {
				errs = append(errs, decode.Split(err)...)
			}
		}
		if len(errs) > 0 {
			return dst, errs
		}
		return dst, nil
	default:
		return dst, decode.Errorf(decode.ReasonMalformed, "", "want a JSON object or array, got %q", clip(p))
	}
}

func clip(p []byte) string {
	if len(p) > 32 {
		return string(p[:32]) + "…"
	}
	return string(p)
}

func (o *object) points(dst []decode.Point, prefix string) ([]decode.Point, error) {
	var pt decode.Point
	var err error
	if pt.Sensor, err = str(o.Sensor, prefix+"sensor"); err != nil {
		return dst, err
	}
	if pt.Metric, err = str(o.Metric, prefix+"metric"); err != nil {
		return dst, err
	}
	if pt.Time, err = timestamp(o.TS, prefix+"ts"); err != nil {
		return dst, err
	}
	hasValue := len(o.Value) > 0 && string(o.Value) != "null"
	switch {
	case hasValue && o.Values != nil:
		return dst, decode.Errorf(decode.ReasonMalformed, prefix+"values", "give either value or values, not both")
	case hasValue:
		if pt.Value, err = number(o.Value, prefix+"value"); err != nil {
			return dst, err
		}
		return append(dst, pt), nil
	case len(o.Values) > 0:
		names := make([]string, 0, len(o.Values))
		for k := range o.Values {
			names = append(names, k)
		}
		sort.Strings(names)
		var errs decode.Errors
		for _, k := range names {
			v, err := number(o.Values[k], prefix+"values."+k)
			if err != nil {
				errs = append(errs, decode.Split(err)...)
				continue
			}
			q := pt
			q.Metric, q.Value = k, v
			dst = append(dst, q)
		}
		if len(errs) > 0 {
			return dst, errs
		}
		return dst, nil
	default:
		return dst, decode.Errorf(decode.ReasonMalformed, prefix+"value", "missing: give \"value\" or \"values\"")
	}
}

func str(raw json.RawMessage, field string) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", decode.Errorf(decode.ReasonBadValue, field, "want a string, got %s", clip(raw))
	}
	return s, nil
}

func number(raw json.RawMessage, field string) (float64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, decode.Errorf(decode.ReasonBadValue, field, "want a number, got null")
	}
	c := raw[0]
	if c != '-' && (c < '0' || c > '9') {
		return 0, decode.Errorf(decode.ReasonBadValue, field, "want a number, got %s", clip(raw))
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, decode.Errorf(decode.ReasonNotFinite, field, "%s is not a finite number", clip(raw))
	}
	return f, nil
}

func timestamp(raw json.RawMessage, field string) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, decode.Errorf(decode.ReasonBadTime, field, "invalid string: %v", err)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, decode.Errorf(decode.ReasonBadTime, field, "want RFC 3339 (2026-11-23T08:00:00+08:00) or epoch milliseconds, got %q", s)
		}
		return t, nil
	}
	ms, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsInf(ms, 0) || math.IsNaN(ms) || ms < 0 || ms > 1e15 {
		return time.Time{}, decode.Errorf(decode.ReasonBadTime, field, "want epoch milliseconds or an RFC 3339 string, got %s", clip(raw))
	}
	sec := math.Floor(ms / 1000)
	ns := math.Round((ms - sec*1000) * 1e6)
	return time.Unix(int64(sec), int64(ns)).UTC(), nil
}
