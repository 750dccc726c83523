package ingest

import (
	"fmt"
	"math"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"yujing"
	"yujing/ingest/decode"
)

// What a shard worker does with each message: bind it to its sensor,
// decode it, and check every value before it becomes a reading.

// reject counts refused input and keeps it for inspection.
func (s *Subscriber) reject(now time.Time, topic, sensor, reason, msg string, payload []byte) {
	s.m.rejected.WithLabelValues(reason).Inc()
	s.rejects.Add(Rejection{At: now, Topic: topic, Sensor: sensor, Reason: reason, Error: msg, Payload: clipPayload(payload)})
}

// dupKey identifies a reading for duplicate detection.
type dupKey struct {
	sensor, metric string
	t              int64
}

// readingInfo is what the pipeline knows of a decoded reading besides the
// reading.
type readingInfo struct {
	at       time.Time // when its message was received
	snapshot bool      // a BIRTH's value that no DATA of its instant has replaced (yet)
}

// decoded is what a shard worker decodes from one batch of messages.
type decoded struct {
	readings   []yujing.Reading
	info       []readingInfo  // one per reading
	snapshots  int            // readings decoded as snapshots
	superseded int            // BIRTH snapshots replaced by a newer value of their instant
	points     []decode.Point // the decoder's output, reused
	index      map[dupKey]int // the readings by sensor, metric and time, to refuse duplicates within the batch
	// documents are the payloads of document decoders (decode.DocumentDecoder)
	// accepted in the batch, for the document sink.
	documents []document
}

// document is a message whose decoder takes documents, not readings.
type document struct {
	kind, sensor, topic string
	payload             []byte
}

func newDecoded() *decoded { return &decoded{index: map[dupKey]int{}} }

func (d *decoded) reset() {
	d.readings, d.info, d.snapshots, d.superseded = d.readings[:0], d.info[:0], 0, 0
	clear(d.documents)
	d.documents = d.documents[:0]
	clear(d.index)
}

// decode turns one message, received at now, into valid readings added to
// d, rejecting what is bad.
func (s *Subscriber) decode(d *decoded, m mqtt.Message, now time.Time) {
	superseded := d.superseded
	c := validation{reg: s.reg, decoders: s.decoders, cfg: &s.cfg}
	c.check(d, m.Topic(), m.Payload(), now, s)
	if n := d.superseded - superseded; n > 0 {
		s.m.superseded.Add(float64(n))
	}
}

// verdict counts, keeps and logs what validation refused or noted
// besides the readings it accepted.
func (s *Subscriber) verdict(v Verdict, topic string, payload []byte, now time.Time) {
	switch v.Kind {
	case VerdictRejected:
		if v.Reason == ReasonUnknownTopic && s.discover != nil {
			s.discover.note(topic, payload, now)
		}
		s.reject(now, topic, v.Sensor, v.Reason, v.Error, payload)
		if v.Reason == ReasonOutOfRange {
			if fo, ok := s.obs.(FaultObserver); ok {
				fo.ObserveFault(s.ctx, v.Reading, ReasonOutOfRange)
			}
		}
	case VerdictIgnored:
		s.m.ignored.WithLabelValues(v.Reason).Inc()
		s.log.Debug("edge node metric ignored: no sensor on the node's NDATA topic", "topic", topic, "metric", v.Metric)
	case VerdictEvent:
		if v.EdgeNode != "" {
			s.log.Info("edge node announced its death", "topic", topic, "devices", len(v.Devices))
		} else {
			s.log.Info("device announced its state", "sensor", v.Sensor, "event", v.Event, "topic", topic)
		}
	}
}

// verdictSink is told what validation refuses or notes, besides the
// readings it adds to the batch, in the order it finds them.
type verdictSink interface {
	verdict(v Verdict, topic string, payload []byte, now time.Time)
}

// validation is ingest's one validation of messages: the subscriber's,
// and the Checker's that yujing tail shows.
type validation struct {
	reg      *Registry
	decoders *decode.Registry
	cfg      *Config // its limits: MaxPayload, MaxAge, MaxFuture, MaxUndeclaredMetrics
}

// check binds one message, received at now, to its sensor, decodes it and
// checks every value: the valid readings are added to d, everything else
// goes to out.
func (c *validation) check(d *decoded, topic string, payload []byte, now time.Time, out verdictSink) {
	refuse := func(v Verdict) {
		v.Kind = VerdictRejected
		out.verdict(v, topic, payload, now)
	}
	sensor, ok := c.reg.viewByTopic(topic)
	if !ok {
		refuse(Verdict{Reason: ReasonUnknownTopic, Error: "no sensor is registered for this topic"})
		return
	}
	if len(payload) > c.cfg.MaxPayload {
		refuse(Verdict{Sensor: sensor.ID, Reason: ReasonOversize, Error: fmt.Sprintf("payload of %d bytes exceeds the limit of %d", len(payload), c.cfg.MaxPayload)})
		return
	}
	dec, ok := c.decoders.Get(sensor.Decoder)
	if !ok {
		refuse(Verdict{Sensor: sensor.ID, Reason: ReasonNoDecoder, Error: fmt.Sprintf("sensor %s names decoder %q, which does not exist", sensor.ID, sensor.Decoder)})
		return
	}
	var err error
	if dd, ok := dec.(decode.DocumentDecoder); ok {
		if _, err = dd.Decode(d.points[:0], payload); err != nil {
			for _, e := range decode.Split(err) {
				refuse(Verdict{Sensor: sensor.ID, Reason: string(e.Reason), Error: e.Error()})
			}
			return
		}
		d.documents = append(d.documents, document{kind: dd.Kind(), sensor: sensor.ID, topic: topic, payload: payload})
		return
	}
	if td, ok := dec.(decode.TopicDecoder); ok {
		d.points, err = td.DecodeTopic(d.points[:0], topic, payload)
	} else {
		d.points, err = dec.Decode(d.points[:0], payload)
	}
	if err != nil {
		for _, e := range decode.Split(err) {
			refuse(Verdict{Sensor: sensor.ID, Reason: string(e.Reason), Error: e.Error()})
		}
	}
	_, _, _, spDevice, isSparkplug := sparkplugTopic(topic)
	nodeMsg := isSparkplug && spDevice == "" // NBIRTH, NDATA, NDEATH: the edge node's own
	var node sensorView
	if nodeMsg && len(d.points) > 0 {
		node, _ = c.reg.nodeSensor(topic)
	}
	for _, p := range d.points {
		sn := sensor
		switch {
		case nodeMsg && p.Event == decode.EventOffline:
			// NDEATH: every device of the edge node is gone, and the node.
			devices := c.reg.nodeDevices(topic)
			for _, id := range devices {
				c.reg.setOffline(id, true, now)
			}
			v := Verdict{Kind: VerdictEvent, Event: decode.EventOffline, EdgeNode: edgeNode(topic), Devices: devices}
			if node.Sensor != nil {
				c.reg.setOffline(node.ID, true, now)
				v.Sensor = node.ID
			}
			out.verdict(v, topic, payload, now)
			continue
		case nodeMsg && node.Sensor == nil && p.Event != "":
			continue // NBIRTH: devices announce themselves with their own DBIRTH
		case nodeMsg && node.Sensor == nil:
			// The node's own metric (Supply Voltage, …), and no sensor for
			// the node: not an error.
			out.verdict(Verdict{Kind: VerdictIgnored, Metric: p.Metric, Value: p.Value, HasValue: true, Reason: IgnoredNodeMetric,
				Error: "no sensor is registered on the edge node's NDATA topic"}, topic, payload, now)
			continue
		case nodeMsg:
			sn, p.Sensor = node, ""
		case isSparkplug && p.Sensor == spDevice:
			p.Sensor = "" // the device the topic names: the topic's sensor
		}
		if p.Sensor != "" && p.Sensor != sensor.ID {
			other, ok := c.reg.viewByID(p.Sensor)
			if !ok {
				refuse(Verdict{Sensor: p.Sensor, Metric: p.Metric, Value: p.Value, HasValue: p.Event == "",
					Reason: ReasonUnknownSensor, Error: fmt.Sprintf("sensor %q named in the payload is not registered", p.Sensor)})
				continue
			}
			sn = other
		}
		if p.Event != "" {
			if c.reg.setOffline(sn.ID, p.Event == decode.EventOffline, now) {
				out.verdict(Verdict{Kind: VerdictEvent, Sensor: sn.ID, Event: p.Event}, topic, payload, now)
			}
			continue
		}
		c.value(d, sn, p, now, refuse)
	}
}

// value checks one measured value of sensor sn — the metric's name, the
// sensor's metric, finite, within the physical range and the time window,
// not a duplicate, within the bound of undeclared metrics — and adds it to
// d as a reading, or refuses it.
func (c *validation) value(d *decoded, sn sensorView, p decode.Point, now time.Time, refuse func(Verdict)) {
	if p.Metric != "" {
		if err := decode.CheckMetricName(p.Metric); err != nil {
			refuse(Verdict{Sensor: sn.ID, Metric: p.Metric, Value: p.Value, HasValue: true,
				Reason: ReasonBadMetricName, Error: fmt.Sprintf("metric %q: %v", p.Metric, err)})
			return
		}
	}
	metric := p.Metric
	if metric == "" {
		metric = sn.Metric
	}
	if m, ok := sn.MetricMap[metric]; ok {
		metric = m
	}
	if !sn.HasMetric(metric) {
		refuse(Verdict{Sensor: sn.ID, Metric: metric, Value: p.Value, HasValue: true,
			Reason: ReasonUnknownMetric, Error: fmt.Sprintf("sensor %s has no metric %q", sn.ID, metric)})
		return
	}
	if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
		refuse(valueVerdict(sn, metric, p.Value, string(decode.ReasonNotFinite), fmt.Sprintf("%s: value is not finite", metric)))
		return
	}
	if (sn.Min != nil && p.Value < *sn.Min) || (sn.Max != nil && p.Value > *sn.Max) {
		ts := p.Time
		if ts.IsZero() {
			ts = now
		}
		v := valueVerdict(sn, metric, p.Value, ReasonOutOfRange, fmt.Sprintf("%s: %g is outside the physical range %s", metric, p.Value, rangeString(sn.Sensor)))
		v.Reading = yujing.Reading{Sensor: sn.ID, Site: sn.Site, Family: sn.Family, Metric: metric,
			Unit: v.Unit, Value: p.Value, Time: ts.UTC()}
		refuse(v)
		return
	}
	ts := p.Time
	if ts.IsZero() {
		ts = now
	} else if ts.After(now.Add(c.cfg.MaxFuture)) || ts.Before(now.Add(-c.cfg.MaxAge)) {
		refuse(valueVerdict(sn, metric, p.Value, ReasonTimestamp,
			fmt.Sprintf("%s: timestamp %s is outside [now-%s, now+%s]", metric, ts.Format(time.RFC3339), c.cfg.MaxAge, c.cfg.MaxFuture)))
		return
	}
	// A duplicate is the device sending the same sensor, metric and time
	// again (a resend); readings timed on receipt are distinct by
	// construction. A value the decoder marks Supersedes is newer than
	// the BIRTH's snapshot of its instant: it replaces it.
	k := dupKey{sn.ID, metric, ts.UnixNano()}
	if !p.Time.IsZero() {
		if i, again := d.index[k]; again {
			if d.info[i].snapshot && p.Supersedes {
				d.readings[i].Value = p.Value
				d.info[i] = readingInfo{at: now}
				d.superseded++
				return
			}
			refuse(valueVerdict(sn, metric, p.Value, ReasonDuplicate, fmt.Sprintf("%s: a reading at %s came twice", metric, ts.Format(time.RFC3339Nano))))
			return
		}
		if found, snapshot := c.reg.stored(sn.ID, metric, ts); found {
			if !snapshot || !p.Supersedes {
				refuse(valueVerdict(sn, metric, p.Value, ReasonDuplicate, fmt.Sprintf("%s: a reading at %s was already stored", metric, ts.Format(time.RFC3339Nano))))
				return
			}
			d.superseded++
		}
	}
	if len(sn.Units) == 0 && metric != sn.Metric && !c.reg.admit(sn.ID, metric, c.cfg.MaxUndeclaredMetrics) {
		refuse(valueVerdict(sn, metric, p.Value, ReasonTooManyMetrics, fmt.Sprintf("metric %q: sensor %s lists no metrics and already has %d (mqtt.max_undeclared_metrics) besides %q; list its metrics to take others",
			metric, sn.ID, c.cfg.MaxUndeclaredMetrics, sn.Metric)))
		return
	}
	d.index[k] = len(d.readings)
	d.readings = append(d.readings, yujing.Reading{Sensor: sn.ID, Site: sn.Site, Family: sn.Family, Metric: metric,
		Unit: sn.UnitOf(metric), Value: p.Value, Time: ts.UTC(), Region: sn.Region, Industry: sn.Industry})
	d.info = append(d.info, readingInfo{at: now, snapshot: p.Snapshot})
	if p.Snapshot {
		d.snapshots++
	}
}

// valueVerdict is the refusal of a value of one of sn's metrics.
func valueVerdict(sn sensorView, metric string, v float64, reason, msg string) Verdict {
	return Verdict{Sensor: sn.ID, Metric: metric, Value: v, HasValue: true, Unit: sn.UnitOf(metric), Reason: reason, Error: msg}
}

// edgeNode is "group/edge" of a Sparkplug topic.
func edgeNode(topic string) string {
	node, _ := SparkplugNode(topic)
	return node
}

func rangeString(s *yujing.Sensor) string {
	lo, hi := "-∞", "+∞"
	if s.Min != nil {
		lo = fmt.Sprint(*s.Min)
	}
	if s.Max != nil {
		hi = fmt.Sprint(*s.Max)
	}
	return "[" + lo + ", " + hi + "]"
}
