package sparkplugb

import (
	"math"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"yujing/ingest/decode"
)

// The payload is the protobuf message org.eclipse.tahu.protobuf.Payload,
// decoded by hand with protowire. Field numbers as in the official
// definition, eclipse/tahu sparkplug_b/sparkplug_b.proto (proto2):
//
//	message Payload {
//	    optional uint64   timestamp = 1;   // ms since the epoch, at sending
//	    repeated Metric   metrics   = 2;
//	    optional uint64   seq       = 3;   // 0..255
//	    optional string   uuid      = 4;   // ignored
//	    optional bytes    body      = 5;   // ignored
//	    extensions 6 to max;               // ignored
//	    message Metric {
//	        optional string   name          = 1;  // only on BIRTH when aliases are used
//	        optional uint64   alias         = 2;
//	        optional uint64   timestamp     = 3;  // ms since the epoch, at acquisition
//	        optional uint32   datatype      = 4;  // DataType below; BIRTH only, by the spec
//	        optional bool     is_historical = 5;  // ignored
//	        optional bool     is_transient  = 6;  // ignored
//	        optional bool     is_null       = 7;
//	        optional MetaData metadata      = 8;  // ignored
//	        optional PropertySet properties = 9;  // ignored
//	        oneof value {
//	            uint32   int_value      = 10;     // Int8, Int16, Int32, UInt8, UInt16 (UInt32)
//	            uint64   long_value     = 11;     // Int64, UInt32, UInt64, DateTime
//	            float    float_value    = 12;
//	            double   double_value   = 13;
//	            bool     boolean_value  = 14;
//	            string   string_value   = 15;     // skipped
//	            bytes    bytes_value    = 16;     // skipped
//	            DataSet  dataset_value  = 17;     // skipped
//	            Template template_value = 18;     // skipped
//	            MetricValueExtension extension_value = 19; // skipped
//	        }
//	    }
//	}
//
// DataType (the comment block in the same file): Unknown 0, Int8 1, Int16 2,
// Int32 3, Int64 4, UInt8 5, UInt16 6, UInt32 7, UInt64 8, Float 9,
// Double 10, Boolean 11, String 12, DateTime 13, Text 14, UUID 15,
// DataSet 16, Bytes 17, File 18, Template 19, PropertySet 20,
// PropertySetList 21.
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
	fMetricExtension protowire.Number = 19
)

// Sparkplug data types.
const (
	typeUnknown uint32 = 0
	typeInt8    uint32 = 1
	typeInt16   uint32 = 2
	typeInt32   uint32 = 3
	typeInt64   uint32 = 4
	typeUInt8   uint32 = 5
	typeUInt16  uint32 = 6
	typeUInt32  uint32 = 7
	typeUInt64  uint32 = 8
	typeFloat   uint32 = 9
	typeDouble  uint32 = 10
	typeBoolean uint32 = 11
)

var typeNames = [...]string{"Unknown", "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
	"Float", "Double", "Boolean", "String", "DateTime", "Text", "UUID", "DataSet", "Bytes", "File", "Template",
	"PropertySet", "PropertySetList"}

func typeName(t uint32) string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "DataType " + itoa(uint64(t))
}

// maxMillis is the last millisecond of year 9999: later timestamps are
// garbage (and would overflow time.Time arithmetic downstream).
const maxMillis = 253402300799999

// payloadHeader is the top level of a payload that scan found well formed.
type payloadHeader struct {
	timestamp uint64
	hasTime   bool
	seq       uint64
	hasSeq    bool
	metrics   int
}

// scan checks the top level of a payload: every field complete, the known
// ones with their proper wire types. Metrics are length-delimited, so a
// bad metric is reported on its own later; a bad top level refuses the
// whole payload.
func scan(b []byte) (payloadHeader, *decode.Error) {
	var h payloadHeader
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return h, malformed(n)
		}
		b = b[n:]
		switch {
		case num == fPayloadTimestamp && typ == protowire.VarintType:
			h.timestamp, n = protowire.ConsumeVarint(b)
			h.hasTime = true
		case num == fPayloadMetrics && typ == protowire.BytesType:
			_, n = protowire.ConsumeBytes(b)
			h.metrics++
		case num == fPayloadSeq && typ == protowire.VarintType:
			h.seq, n = protowire.ConsumeVarint(b)
			h.hasSeq = true
		case num == fPayloadTimestamp || num == fPayloadMetrics || num == fPayloadSeq:
			return h, decode.Errorf(decode.ReasonMalformed, "", "not a Sparkplug B payload: field %d has wire type %s", num, wireName(typ))
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return h, malformed(n)
		}
		b = b[n:]
	}
	return h, nil
}

func malformed(code int) *decode.Error {
	return decode.Errorf(decode.ReasonMalformed, "", "not a Sparkplug B payload: invalid protobuf: %v", protowire.ParseError(code))
}

// nextMetric returns the next metric of a payload that scan accepted and
// the rest of the payload; m is nil when there are no more.
func nextMetric(b []byte) (m, rest []byte) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		b = b[n:]
		if num == fPayloadMetrics && typ == protowire.BytesType {
			m, n = protowire.ConsumeBytes(b)
			return m, b[n:]
		}
		b = b[protowire.ConsumeFieldValue(num, typ, b):]
	}
	return nil, nil
}

// metricFieldName names the Metric fields the decoder reads.
func metricFieldName(n protowire.Number) string {
	switch n {
	case fMetricName:
		return "name"
	case fMetricAlias:
		return "alias"
	case fMetricTimestamp:
		return "timestamp"
	case fMetricDatatype:
		return "datatype"
	case fMetricIsNull:
		return "is_null"
	case fMetricInt:
		return "int_value"
	case fMetricLong:
		return "long_value"
	case fMetricFloat:
		return "float_value"
	case fMetricDouble:
		return "double_value"
	case fMetricBoolean:
		return "boolean_value"
	}
	return "field"
}

func wireName(t protowire.Type) string {
	switch t {
	case protowire.VarintType:
		return "varint"
	case protowire.Fixed32Type:
		return "fixed32"
	case protowire.Fixed64Type:
		return "fixed64"
	case protowire.BytesType:
		return "bytes"
	case protowire.StartGroupType, protowire.EndGroupType:
		return "group"
	}
	return itoa(uint64(t))
}

// valueKind says which member of the value oneof a metric has.
type valueKind uint8

const (
	valueNone   valueKind = iota
	valueInt              // int_value, uint32
	valueLong             // long_value, uint64
	valueFloat            // float_value
	valueDouble           // double_value
	valueBool             // boolean_value
	valueOther            // string, bytes, dataset, template, extension
)

// metric is one decoded Payload.Metric; name points into the payload.
type metric struct {
	name      []byte
	hasName   bool
	alias     uint64
	hasAlias  bool
	timestamp uint64
	hasTime   bool
	datatype  uint32
	isNull    bool
	kind      valueKind
	raw       uint64 // the value's bits: integer, bool, float32 or float64 bits
}

// parseMetric decodes one metric. The returned message says what is
// wrong when it is not well formed.
func parseMetric(b []byte) (metric, string) {
	var m metric
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return m, "invalid protobuf: " + protowire.ParseError(n).Error()
		}
		b = b[n:]
		want := protowire.VarintType
		switch num {
		case fMetricName:
			want = protowire.BytesType
		case fMetricFloat:
			want = protowire.Fixed32Type
		case fMetricDouble:
			want = protowire.Fixed64Type
		case fMetricAlias, fMetricTimestamp, fMetricDatatype, fMetricIsNull, fMetricInt, fMetricLong, fMetricBoolean:
		default:
			if num >= fMetricString && num <= fMetricExtension {
				m.kind = valueOther
			}
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return m, "invalid protobuf: " + protowire.ParseError(n).Error()
			}
			b = b[n:]
			continue
		}
		if typ != want {
			return m, metricFieldName(num) + " (field " + itoa(uint64(num)) + ") has wire type " + wireName(typ) + ", want " + wireName(want)
		}
		var v uint64
		switch want {
		case protowire.BytesType:
			m.name, n = protowire.ConsumeBytes(b)
			m.hasName = true
		case protowire.Fixed32Type:
			var v32 uint32
			v32, n = protowire.ConsumeFixed32(b)
			v = uint64(v32)
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(b)
		default:
			v, n = protowire.ConsumeVarint(b)
		}
		if n < 0 {
			return m, "invalid protobuf: " + protowire.ParseError(n).Error()
		}
		b = b[n:]
		switch num {
		case fMetricAlias:
			m.alias, m.hasAlias = v, true
		case fMetricTimestamp:
			m.timestamp, m.hasTime = v, true
		case fMetricDatatype:
			m.datatype = uint32(v)
		case fMetricIsNull:
			m.isNull = v != 0
		case fMetricInt:
			m.kind, m.raw = valueInt, uint64(uint32(v)) // uint32 on the wire: keep the low 32 bits
		case fMetricLong:
			m.kind, m.raw = valueLong, v
		case fMetricFloat:
			m.kind, m.raw = valueFloat, v
		case fMetricDouble:
			m.kind, m.raw = valueDouble, v
		case fMetricBoolean:
			m.kind, m.raw = valueBool, v
		}
	}
	if m.hasName && !utf8.Valid(m.name) {
		return m, "metric name is not valid UTF-8"
	}
	if m.hasName && len(m.name) == 0 {
		m.hasName = false
	}
	return m, ""
}

// inferType guesses the data type of a metric that carries none and
// whose BIRTH is unknown, from its value field. Integers are taken as
// signed: a negative Int8..Int32 sent as a two's complement uint32 reads
// right, a UInt32 above 2³¹ does not.
func inferType(k valueKind) uint32 {
	switch k {
	case valueInt:
		return typeInt32
	case valueLong:
		return typeInt64
	case valueFloat:
		return typeFloat
	case valueDouble:
		return typeDouble
	case valueBool:
		return typeBoolean
	}
	return typeUnknown
}

// number converts a metric's value by its data type. numeric is false
// for data types that are not numbers (strings, bytes, data sets,
// templates, DateTime, …): the caller skips those.
func number(m *metric, datatype uint32) (v float64, numeric bool, msg string, reason decode.Reason) {
	switch datatype {
	case typeInt8, typeInt16, typeInt32, typeInt64, typeUInt8, typeUInt16, typeUInt32, typeUInt64:
		if m.kind != valueInt && m.kind != valueLong {
			return 0, true, "datatype " + typeName(datatype) + " without an int_value or long_value", decode.ReasonBadValue
		}
		// Narrow types keep their low bits, so both a sign-extended
		// and a zero-extended encoding of a negative Int8 read right.
		switch datatype {
		case typeInt8:
			v = float64(int8(m.raw))
		case typeInt16:
			v = float64(int16(m.raw))
		case typeInt32:
			v = float64(int32(m.raw))
		case typeInt64:
			v = float64(int64(m.raw))
		case typeUInt8:
			v = float64(uint8(m.raw))
		case typeUInt16:
			v = float64(uint16(m.raw))
		case typeUInt32:
			v = float64(uint32(m.raw))
		case typeUInt64:
			v = float64(m.raw)
		}
		return v, true, "", ""
	case typeFloat, typeDouble:
		switch m.kind {
		case valueFloat:
			v = float64(math.Float32frombits(uint32(m.raw)))
		case valueDouble:
			v = math.Float64frombits(m.raw)
		default:
			return 0, true, "datatype " + typeName(datatype) + " without a float_value or double_value", decode.ReasonBadValue
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, true, "value " + fmtFloat(v) + " is not finite", decode.ReasonNotFinite
		}
		return v, true, "", ""
	case typeBoolean:
		if m.kind != valueBool {
			return 0, true, "datatype Boolean without a boolean_value", decode.ReasonBadValue
		}
		if m.raw != 0 {
			return 1, true, "", ""
		}
		return 0, true, "", ""
	case typeUnknown:
		if m.kind == valueNone {
			return 0, true, "no value and no datatype", decode.ReasonBadValue
		}
		return 0, false, "", ""
	}
	return 0, false, "", ""
}

func fmtFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	default:
		return "-Inf"
	}
}

func itoa(u uint64) string { return strconv.FormatUint(u, 10) }
