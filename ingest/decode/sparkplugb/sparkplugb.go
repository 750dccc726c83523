// Package sparkplugb decodes Eclipse Sparkplug B messages: MQTT topics
//
//	spBv1.0/<group_id>/<message_type>/<edge_node_id>[/<device_id>]
//
// whose payload is the protobuf message org.eclipse.tahu.protobuf.Payload.
// It is a decode.TopicDecoder: the message type and the device come from
// the topic.
//
//   - NDATA, DDATA: every numeric metric (Int8…UInt64, Float, Double;
//     Boolean as 1/0) becomes a point whose metric is the Sparkplug metric
//     name and whose time is the metric's timestamp, else the payload's
//     (milliseconds). String, Text, UUID, DateTime, Bytes, File, DataSet and
//     Template metrics and null metrics are skipped without an error.
//   - NBIRTH, DBIRTH: an EventOnline point, then the metrics as for DATA,
//     marked Snapshot: a BIRTH states each metric's current value, and
//     encoders such as Eclipse Tahu's put a placeholder (0.0) there. The
//     BIRTH's name↔alias and name→datatype map is remembered per edge
//     node and per device, so later DATA that carry only an alias (and, as
//     the specification asks, no datatype) resolve; so are its seq and the
//     time of each value it gave.
//   - A DATA value of the same metric and millisecond as its BIRTH's value,
//     in a message whose seq follows the BIRTH's (Sparkplug's one counter
//     per edge node, 0 to 255, shared with its devices), is newer: it is
//     marked Supersedes and replaces the snapshot downstream.
//   - NDEATH, DDEATH: an EventOffline point; the maps are forgotten. An
//     NDEATH names the edge node: the pipeline marks every device of it
//     offline. An NDEATH whose bdSeq differs from that of the node's last
//     NBIRTH is a late will message of an older session and is ignored.
//   - NCMD, DCMD and STATE: nothing.
//
// Point.Sensor is the device id for device messages and the edge node id
// for node messages. The Sparkplug control metrics bdSeq, "Node Control/…"
// and "Device Control/…" are not measurements and give no points.
package sparkplugb

import (
	"strings"
	"time"

	"yujing/ingest/decode"
)

// Name is the registry name of the default decoder.
const Name = "sparkplugb"

// Namespace is the first topic level of Sparkplug B.
const Namespace = "spBv1.0"

// DefaultMaxMemory bounds the remembered BIRTH maps by default: about
// 100 000 metrics with names of 60 bytes.
const DefaultMaxMemory = 16 << 20

// Config tunes a decoder. The zero value is the default decoder.
type Config struct {
	// Name is the registry name; default "sparkplugb".
	Name string
	// MaxMemory bounds, in bytes (estimated), the BIRTH maps kept; past
	// it the edge nodes whose last BIRTH is oldest are forgotten and their
	// aliases stop resolving until they are born again. Default
	// DefaultMaxMemory.
	MaxMemory int
}

// Decoder decodes Sparkplug B. It keeps the aliases each BIRTH declares;
// it is safe for concurrent use. Register one decoder per broker
// connection: two decoders do not share what they have seen.
type Decoder struct {
	name string
	mem  *memory
}

// New returns a decoder for cfg. It never fails today; the error keeps
// the signature of the other configurable decoders.
func New(cfg Config) (*Decoder, error) {
	d := Default()
	if cfg.Name != "" {
		d.name = cfg.Name
	}
	if cfg.MaxMemory > 0 {
		d.mem = newMemory(cfg.MaxMemory)
	}
	return d, nil
}

// Default returns the decoder registered as "sparkplugb".
func Default() *Decoder {
	return &Decoder{name: Name, mem: newMemory(DefaultMaxMemory)}
}

// Name implements decode.Decoder.
func (d *Decoder) Name() string { return d.name }

// Decode implements decode.Decoder. Sparkplug B needs the topic, so it
// refuses the payload: the pipeline calls DecodeTopic.
func (d *Decoder) Decode(dst []decode.Point, payload []byte) ([]decode.Point, error) {
	return dst, decode.Errorf(decode.ReasonMalformed, "", "sparkplugb needs the MQTT topic (DecodeTopic), not the payload alone")
}

type messageType uint8

const (
	msgNBIRTH messageType = iota + 1
	msgNDEATH
	msgNDATA
	msgNCMD
	msgDBIRTH
	msgDDEATH
	msgDDATA
	msgDCMD
	msgSTATE
)

var messageTypeNames = [...]string{msgNBIRTH: "NBIRTH", msgNDEATH: "NDEATH", msgNDATA: "NDATA", msgNCMD: "NCMD",
	msgDBIRTH: "DBIRTH", msgDDEATH: "DDEATH", msgDDATA: "DDATA", msgDCMD: "DCMD", msgSTATE: "STATE"}

// parseMessageType returns the type called s; STATE is not one (it is a
// topic of its own).
func parseMessageType(s string) (messageType, bool) {
	for t := msgNBIRTH; t < msgSTATE; t++ {
		if messageTypeNames[t] == s {
			return t, true
		}
	}
	return 0, false
}

func (t messageType) device() bool { return t >= msgDBIRTH && t <= msgDCMD }

func (t messageType) String() string { return messageTypeNames[t] }

// topic is a parsed Sparkplug topic; its strings share the topic's memory.
type topic struct {
	typ    messageType
	node   nodeKey
	device string
}

// scope names the node or device in messages, as edge or edge/device.
func (t *topic) scope() string {
	if t.device == "" {
		return t.node.edge
	}
	return t.node.edge + "/" + t.device
}

// sensor is the id a point of this message belongs to.
func (t *topic) sensor() string {
	if t.device == "" {
		return t.node.edge
	}
	return t.device
}

func parseTopic(s string) (topic, *decode.Error) {
	var t topic
	if strings.HasPrefix(s, "STATE/") { // Sparkplug 2.2 host application state
		t.typ = msgSTATE
		return t, nil
	}
	ns, rest, _ := strings.Cut(s, "/")
	if ns != Namespace {
		return t, decode.Errorf(decode.ReasonMalformed, "", "topic %q: namespace %q, want %s/<group_id>/<message_type>/<edge_node_id>[/<device_id>]", s, ns, Namespace)
	}
	group, rest, _ := strings.Cut(rest, "/")
	if group == "STATE" { // Sparkplug 3.0: spBv1.0/STATE/<host_id>
		t.typ = msgSTATE
		return t, nil
	}
	typ, rest, _ := strings.Cut(rest, "/")
	edge, device, hasDevice := strings.Cut(rest, "/")
	var ok bool
	if t.typ, ok = parseMessageType(typ); !ok {
		return t, decode.Errorf(decode.ReasonMalformed, "", "topic %q: message type %q, want one of NBIRTH, NDEATH, NDATA, NCMD, DBIRTH, DDEATH, DDATA, DCMD", s, typ)
	}
	if group == "" || edge == "" || (t.typ.device() && (device == "" || strings.Contains(device, "/"))) || (!t.typ.device() && hasDevice) {
		want := "<edge_node_id>"
		if t.typ.device() {
			want = "<edge_node_id>/<device_id>"
		}
		return t, decode.Errorf(decode.ReasonMalformed, "", "topic %q: want %s/<group_id>/%s/%s", s, Namespace, typ, want)
	}
	t.node = nodeKey{group: group, edge: edge}
	t.device = device
	return t, nil
}

// DecodeTopic implements decode.TopicDecoder.
func (d *Decoder) DecodeTopic(dst []decode.Point, topicName string, payload []byte) ([]decode.Point, error) {
	t, terr := parseTopic(topicName)
	if terr != nil {
		return dst, terr
	}
	switch t.typ {
	case msgSTATE, msgNCMD, msgDCMD:
		return dst, nil
	case msgNDEATH:
		return d.nodeDeath(dst, &t, payload)
	case msgDDEATH:
		d.mem.deviceDeath(t.node, t.device)
		return append(dst, decode.Point{Sensor: t.device, Event: decode.EventOffline}), nil
	}

	h, err := scan(payload)
	birth := t.typ == msgNBIRTH || t.typ == msgDBIRTH
	if err != nil {
		if birth { // a new session began: the old aliases are void either way
			d.remember(&t, nil, 0, false)
		}
		return dst, err
	}
	var payloadTime time.Time
	if h.hasTime {
		if h.timestamp > maxMillis {
			if birth {
				d.remember(&t, nil, 0, false)
			}
			return dst, decode.Errorf(decode.ReasonBadTime, "timestamp", "%d is not a time in epoch milliseconds", h.timestamp)
		}
		payloadTime = time.UnixMilli(int64(h.timestamp)).UTC()
	}

	var errs decode.Errors
	var table *birthTable
	if birth {
		dst = append(dst, decode.Point{Sensor: t.sensor(), Event: decode.EventOnline, Time: payloadTime})
		table = newBirthTable(h.metrics)
		table.seq, table.hasSeq = h.seq, h.hasSeq
	} else {
		table = d.mem.table(t.node, t.device)
	}
	var bdSeq uint64
	var hasBdSeq bool
	rest := payload
	for i := 0; ; i++ {
		var raw []byte
		if raw, rest = nextMetric(rest); raw == nil {
			break
		}
		m, msg := parseMetric(raw)
		if msg != "" {
			errs = append(errs, decode.Errorf(decode.ReasonMalformed, metricField(i), "%s", msg))
			continue
		}
		var def metricDef
		if birth {
			if !m.hasName {
				errs = append(errs, decode.Errorf(decode.ReasonBadValue, metricField(i), "%s metric without a name", t.typ))
				continue
			}
			def = metricDef{name: string(m.name), datatype: m.datatype}
			if !table.add(def, m.alias, m.hasAlias) {
				errs = append(errs, decode.Errorf(decode.ReasonBadValue, def.name, "alias %d given to two metrics", m.alias))
			}
			if t.typ == msgNBIRTH && def.name == "bdSeq" && (m.kind == valueInt || m.kind == valueLong) {
				bdSeq, hasBdSeq = m.raw, true
			}
		} else {
			var e *decode.Error
			if def, e = resolve(&m, table, &t, i); e != nil {
				errs = append(errs, e)
				continue
			}
		}
		if control(def.name) || m.isNull {
			continue
		}
		datatype := def.datatype
		if datatype == typeUnknown {
			datatype = inferType(m.kind)
		}
		v, numeric, msg, reason := number(&m, datatype)
		if msg != "" {
			errs = append(errs, decode.Errorf(reason, def.name, "%s", msg))
			continue
		}
		if !numeric {
			continue
		}
		at, ms, timed := payloadTime, h.timestamp, h.hasTime
		if m.hasTime {
			if m.timestamp > maxMillis {
				errs = append(errs, decode.Errorf(decode.ReasonBadTime, def.name, "timestamp %d is not a time in epoch milliseconds", m.timestamp))
				continue
			}
			at, ms, timed = time.UnixMilli(int64(m.timestamp)).UTC(), m.timestamp, true
		}
		p := decode.Point{Sensor: t.sensor(), Metric: def.name, Value: v, Time: at, Snapshot: birth}
		switch {
		case birth && timed:
			table.stamp(def.name, m.alias, m.hasAlias, ms)
		case !birth && timed && def.born && def.bornAt == ms:
			// The BIRTH gave this metric a value of the same instant
			// (Tahu's placeholder): a DATA sent after the BIRTH is newer.
			p.Supersedes = table.follows(h.seq, h.hasSeq)
		}
		dst = append(dst, p)
	}
	if birth {
		d.remember(&t, table, bdSeq, hasBdSeq)
	}
	if len(errs) > 0 {
		return dst, errs
	}
	return dst, nil
}

// remember stores what a BIRTH declared (nil: forget the old session).
func (d *Decoder) remember(t *topic, table *birthTable, bdSeq uint64, hasBdSeq bool) {
	if t.typ == msgNBIRTH {
		d.mem.nodeBirth(t.node, table, bdSeq, hasBdSeq)
	} else {
		d.mem.deviceBirth(t.node, t.device, table)
	}
}

// resolve finds a DATA metric's name and datatype: its own, else what the
// BIRTH declared for its name or alias.
func resolve(m *metric, table *birthTable, t *topic, i int) (metricDef, *decode.Error) {
	var def metricDef
	var known bool
	switch {
	case m.hasName && table != nil:
		def, known = table.byName[string(m.name)]
		if !known {
			def.name = string(m.name)
		}
	case m.hasName:
		def.name = string(m.name)
	case !m.hasAlias:
		return def, decode.Errorf(decode.ReasonBadValue, metricField(i), "metric with neither name nor alias")
	case table == nil:
		return def, decode.Errorf(decode.ReasonBadValue, metricField(i), "alias %d unknown: no BIRTH seen for %s", m.alias, t.scope())
	default:
		if def, known = table.byAlias[m.alias]; !known {
			birth := "NBIRTH"
			if t.device != "" {
				birth = "DBIRTH"
			}
			return def, decode.Errorf(decode.ReasonBadValue, metricField(i), "alias %d unknown: not in the %s of %s", m.alias, birth, t.scope())
		}
	}
	if m.datatype != typeUnknown {
		def.datatype = m.datatype
	}
	return def, nil
}

// nodeDeath handles an NDEATH: the node and its devices go offline unless
// the bdSeq shows the will message of an older session.
func (d *Decoder) nodeDeath(dst []decode.Point, t *topic, payload []byte) ([]decode.Point, error) {
	if seq, ok := deathSeq(payload); ok {
		if born, known := d.mem.bdSeq(t.node); known && born != seq {
			return dst, nil
		}
	}
	d.mem.nodeDeath(t.node)
	return append(dst, decode.Point{Sensor: t.node.edge, Event: decode.EventOffline}), nil
}

// deathSeq returns the bdSeq metric of an NDEATH payload, if it has one.
// An unreadable payload has none: the node is offline all the same.
func deathSeq(payload []byte) (uint64, bool) {
	if _, err := scan(payload); err != nil {
		return 0, false
	}
	for rest := payload; ; {
		var raw []byte
		if raw, rest = nextMetric(rest); raw == nil {
			return 0, false
		}
		if m, msg := parseMetric(raw); msg == "" && string(m.name) == "bdSeq" && (m.kind == valueInt || m.kind == valueLong) {
			return m.raw, true
		}
	}
}

// control reports whether name is a Sparkplug control metric rather than
// a measurement.
func control(name string) bool {
	return name == "bdSeq" || strings.HasPrefix(name, "Node Control/") || strings.HasPrefix(name, "Device Control/")
}

func metricField(i int) string { return "metrics[" + itoa(uint64(i)) + "]" }
