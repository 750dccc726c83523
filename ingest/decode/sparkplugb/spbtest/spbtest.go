// Package spbtest builds Sparkplug B payloads (the protobuf message
// org.eclipse.tahu.protobuf.Payload) for tests, as an edge node encodes
// them: tests that publish to a running yujing build their BIRTH, DATA and
// DEATH messages here with times computed from the clock they control,
// never from fixed dates.
package spbtest

import (
	"math"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of eclipse/tahu sparkplug_b.proto (see the decoder's
// payload.go for the whole message).
const (
	fPayloadTimestamp protowire.Number = 1
	fPayloadMetrics   protowire.Number = 2
	fPayloadSeq       protowire.Number = 3

	fMetricName      protowire.Number = 1
	fMetricAlias     protowire.Number = 2
	fMetricTimestamp protowire.Number = 3
	fMetricDatatype  protowire.Number = 4
	fMetricIsNull    protowire.Number = 7
	fMetricInt       protowire.Number = 10
	fMetricLong      protowire.Number = 11
	fMetricFloat     protowire.Number = 12
	fMetricDouble    protowire.Number = 13
	fMetricBoolean   protowire.Number = 14
	fMetricString    protowire.Number = 15
)

// Sparkplug data types (the DataType enum of sparkplug_b.proto).
const (
	TypeInt8    uint32 = 1
	TypeInt16   uint32 = 2
	TypeInt32   uint32 = 3
	TypeInt64   uint32 = 4
	TypeUInt8   uint32 = 5
	TypeUInt16  uint32 = 6
	TypeUInt32  uint32 = 7
	TypeUInt64  uint32 = 8
	TypeFloat   uint32 = 9
	TypeDouble  uint32 = 10
	TypeBoolean uint32 = 11
	TypeString  uint32 = 12
)

// Millis is t in milliseconds since the epoch, as Sparkplug times are.
func Millis(t time.Time) uint64 { return uint64(t.UnixMilli()) }

// Payload is a payload with the given timestamp (ms since the epoch; 0
// leaves it out, as an NDEATH does), metrics and sequence number.
func Payload(ts, seq uint64, metrics ...[]byte) []byte {
	var b []byte
	if ts != 0 {
		b = protowire.AppendTag(b, fPayloadTimestamp, protowire.VarintType)
		b = protowire.AppendVarint(b, ts)
	}
	for _, m := range metrics {
		b = protowire.AppendTag(b, fPayloadMetrics, protowire.BytesType)
		b = protowire.AppendBytes(b, m)
	}
	b = protowire.AppendTag(b, fPayloadSeq, protowire.VarintType)
	return protowire.AppendVarint(b, seq)
}

// Field appends one field of a metric.
type Field func([]byte) []byte

// Metric is a metric made of the given fields, in order.
func Metric(fs ...Field) []byte {
	var b []byte
	for _, f := range fs {
		b = f(b)
	}
	return b
}

func varint(num protowire.Number, v uint64) Field {
	return func(b []byte) []byte {
		return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
	}
}

// Name is the metric's name.
func Name(s string) Field {
	return func(b []byte) []byte {
		return protowire.AppendString(protowire.AppendTag(b, fMetricName, protowire.BytesType), s)
	}
}

// Alias is the metric's alias.
func Alias(a uint64) Field { return varint(fMetricAlias, a) }

// Time is the metric's own timestamp (ms since the epoch).
func Time(ms uint64) Field { return varint(fMetricTimestamp, ms) }

// Type is the metric's datatype.
func Type(t uint32) Field { return varint(fMetricDatatype, uint64(t)) }

// Null marks the metric's value null.
func Null() Field { return varint(fMetricIsNull, 1) }

// Int is an int_value (Int8, Int16, Int32, UInt8, UInt16; negative values
// as their uint32 two's complement, as Tahu puts them).
func Int(v uint32) Field { return varint(fMetricInt, uint64(v)) }

// RawInt is an int_value of 64 bits, as some encoders sign-extend.
func RawInt(v uint64) Field { return varint(fMetricInt, v) }

// Long is a long_value (Int64, UInt32, UInt64, DateTime).
func Long(v uint64) Field { return varint(fMetricLong, v) }

// Bool is a boolean_value.
func Bool(v bool) Field { return varint(fMetricBoolean, protowire.EncodeBool(v)) }

// Float is a float_value.
func Float(v float32) Field {
	return func(b []byte) []byte {
		return protowire.AppendFixed32(protowire.AppendTag(b, fMetricFloat, protowire.Fixed32Type), math.Float32bits(v))
	}
}

// Double is a double_value.
func Double(v float64) Field {
	return func(b []byte) []byte {
		return protowire.AppendFixed64(protowire.AppendTag(b, fMetricDouble, protowire.Fixed64Type), math.Float64bits(v))
	}
}

// Str is a string_value.
func Str(s string) Field {
	return func(b []byte) []byte {
		return protowire.AppendString(protowire.AppendTag(b, fMetricString, protowire.BytesType), s)
	}
}
