package ingest

import (
	"strconv"
	"time"

	"yujing"
	"yujing/ingest/decode"
)

// VerdictKind says what became of a part of a message.
type VerdictKind int

// Verdict kinds.
const (
	VerdictAccepted VerdictKind = iota // a valid reading
	VerdictRejected                    // refused: the whole message, or one of its values
	VerdictIgnored                     // set aside without being an error (Ignored… reasons)
	VerdictEvent                       // a device, or an edge node, announced its state
)

func (k VerdictKind) String() string {
	switch k {
	case VerdictAccepted:
		return "accepted"
	case VerdictRejected:
		return "rejected"
	case VerdictIgnored:
		return "ignored"
	case VerdictEvent:
		return "event"
	}
	return "VerdictKind(" + strconv.Itoa(int(k)) + ")"
}

// Verdict is what ingest makes of one part of a message: a reading
// accepted or refused, the whole message refused, a device's or an edge
// node's announcement, or an edge node's own metric ignored.
type Verdict struct {
	Kind VerdictKind
	// Sensor is the sensor it concerns: the topic's, or the one the payload
	// names; "" when the topic is no sensor's, and for an edge node that
	// has no sensor.
	Sensor string
	// Metric is the value's metric, after the sensor's metric map once the
	// metric is known to be the sensor's; as the payload gave it before.
	Metric   string
	Value    float64 // the value, when HasValue
	HasValue bool    // a value of the payload (not a refusal of the whole message, nor an event)
	Unit     string  // the metric's unit, once the metric is known to be the sensor's
	// Reading is the reading when Accepted, and when Rejected as out of
	// range: the reading the fault rules are given.
	Reading yujing.Reading
	Reason  string // Rejected: why (Reason…, decode.Reason); Ignored: Ignored…
	Error   string // Rejected, Ignored: what is wrong, as Rejection.Error keeps it
	Event   string // Event: decode.EventOnline or decode.EventOffline
	// EdgeNode is, for a Sparkplug edge node's death (NDEATH), the node
	// ("group/edge"); Sensor is then the node's sensor, if it has one, and
	// Devices the devices it takes offline with it.
	EdgeNode string
	Devices  []string
}

// Checker validates messages one at a time, as the subscriber does —
// bound to their sensor, decoded, every value checked, with the same
// reasons and messages — but without a broker, a store or metrics: what
// yujing tail shows of live messages. The readings it accepts count as
// stored, so the same reading again is a duplicate; the undeclared
// metrics a sensor has taken and the devices' online state are kept in
// the registry, as the subscriber keeps them. A Checker is not safe for
// concurrent use.
type Checker struct {
	v     validation
	cfg   Config
	d     *decoded
	found []found
}

// found is a verdict and how many readings were accepted before it.
type found struct {
	after int
	v     Verdict
}

// NewChecker returns a Checker of messages on reg's sensors with cfg's
// limits (MaxPayload, MaxAge, MaxFuture, MaxUndeclaredMetrics; the
// subscriber's defaults where not set).
func NewChecker(cfg Config, reg *Registry, decoders *decode.Registry) *Checker {
	cfg.setDefaults()
	k := &Checker{cfg: cfg, d: newDecoded()}
	k.v = validation{reg: reg, decoders: decoders, cfg: &k.cfg}
	return k
}

// Check returns what ingest makes of one message received at now, in the
// order of its payload: a verdict for each reading accepted or refused,
// for a refusal of the whole message, for each announcement and for each
// edge node metric ignored.
func (k *Checker) Check(topic string, payload []byte, now time.Time) []Verdict {
	k.d.reset()
	k.found = k.found[:0]
	k.v.check(k.d, topic, payload, now, k)
	out := make([]Verdict, 0, len(k.found)+len(k.d.readings))
	j := 0
	for i, rd := range k.d.readings {
		for ; j < len(k.found) && k.found[j].after <= i; j++ {
			out = append(out, k.found[j].v)
		}
		out = append(out, Verdict{Kind: VerdictAccepted, Sensor: rd.Sensor, Metric: rd.Metric, Value: rd.Value, HasValue: true,
			Unit: rd.Unit, Reading: rd})
	}
	for ; j < len(k.found); j++ {
		out = append(out, k.found[j].v)
	}
	k.v.reg.record(k.d.readings, k.d.info)
	return out
}

func (k *Checker) verdict(v Verdict, _ string, _ []byte, _ time.Time) {
	k.found = append(k.found, found{after: len(k.d.readings), v: v})
}
