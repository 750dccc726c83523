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
	readings  []yujing.Reading
	info      []readingInfo  // one per reading
	snapshots int            // readings decoded as snapshots
	points    []decode.Point // the decoder's output, reused
	index     map[dupKey]int // the readings by sensor, metric and time, to refuse duplicates within the batch
}

func newDecoded() *decoded { return &decoded{index: map[dupKey]int{}} }

func (d *decoded) reset() {
	d.readings, d.info, d.snapshots = d.readings[:0], d.info[:0], 0
	clear(d.index)
}

// decode turns one message, received at now, into valid readings added to
// d, rejecting what is bad.
func (s *Subscriber) decode(d *decoded, m mqtt.Message, now time.Time) {
	topic, payload := m.Topic(), m.Payload()
	sensor, ok := s.reg.viewByTopic(topic)
	if !ok {
		if s.discover != nil {
			s.discover.note(topic, payload, now)
		}
		s.reject(now, topic, "", ReasonUnknownTopic, "no sensor is registered for this topic", payload)
		return
	}
	if len(payload) > s.cfg.MaxPayload {
		s.reject(now, topic, sensor.ID, ReasonOversize, fmt.Sprintf("payload of %d bytes exceeds the limit of %d", len(payload), s.cfg.MaxPayload), payload)
		return
	}
	dec, ok := s.decoders.Get(sensor.Decoder)
	if !ok {
		s.reject(now, topic, sensor.ID, ReasonNoDecoder, fmt.Sprintf("sensor %s names decoder %q, which does not exist", sensor.ID, sensor.Decoder), payload)
		return
	}
	var err error
	if td, ok := dec.(decode.TopicDecoder); ok {
		d.points, err = td.DecodeTopic(d.points[:0], topic, payload)
	} else {
		d.points, err = dec.Decode(d.points[:0], payload)
	}
	if err != nil {
		for _, e := range decode.Split(err) {
			s.reject(now, topic, sensor.ID, string(e.Reason), e.Error(), payload)
		}
	}
	_, _, _, spDevice, isSparkplug := sparkplugTopic(topic)
	nodeMsg := isSparkplug && spDevice == "" // NBIRTH, NDATA, NDEATH: the edge node's own
	var node sensorView
	if nodeMsg && len(d.points) > 0 {
		node, _ = s.reg.nodeSensor(topic)
	}
	for _, p := range d.points {
		sn := sensor
		switch {
		case nodeMsg && p.Event == decode.EventOffline:
			// NDEATH: every device of the edge node is gone, and the node.
			devices := s.reg.nodeDevices(topic)
			for _, id := range devices {
				s.reg.setOffline(id, true, now)
			}
			if node.Sensor != nil {
				s.reg.setOffline(node.ID, true, now)
			}
			s.log.Info("edge node announced its death", "topic", topic, "devices", len(devices))
			continue
		case nodeMsg && node.Sensor == nil && p.Event != "":
			continue // NBIRTH: devices announce themselves with their own DBIRTH
		case nodeMsg && node.Sensor == nil:
			// The node's own metric (Supply Voltage, …), and no sensor for
			// the node: not an error.
			s.m.ignored.WithLabelValues(IgnoredNodeMetric).Inc()
			s.log.Debug("edge node metric ignored: no sensor on the node's NDATA topic", "topic", topic, "metric", p.Metric)
			continue
		case nodeMsg:
			sn, p.Sensor = node, ""
		case isSparkplug && p.Sensor == spDevice:
			p.Sensor = "" // the device the topic names: the topic's sensor
		}
		if p.Sensor != "" && p.Sensor != sensor.ID {
			other, ok := s.reg.viewByID(p.Sensor)
			if !ok {
				s.reject(now, topic, p.Sensor, ReasonUnknownSensor, fmt.Sprintf("sensor %q named in the payload is not registered", p.Sensor), payload)
				continue
			}
			sn = other
		}
		if p.Event != "" {
			if s.reg.setOffline(sn.ID, p.Event == decode.EventOffline, now) {
				s.log.Info("device announced its state", "sensor", sn.ID, "event", p.Event, "topic", topic)
			}
			continue
		}
		if p.Metric != "" {
			if err := decode.CheckMetricName(p.Metric); err != nil {
				s.reject(now, topic, sn.ID, ReasonBadMetricName, fmt.Sprintf("metric %q: %v", p.Metric, err), payload)
				continue
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
			s.reject(now, topic, sn.ID, ReasonUnknownMetric, fmt.Sprintf("sensor %s has no metric %q", sn.ID, metric), payload)
			continue
		}
		if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
			s.reject(now, topic, sn.ID, string(decode.ReasonNotFinite), fmt.Sprintf("%s: value is not finite", metric), payload)
			continue
		}
		if (sn.Min != nil && p.Value < *sn.Min) || (sn.Max != nil && p.Value > *sn.Max) {
			s.reject(now, topic, sn.ID, ReasonOutOfRange, fmt.Sprintf("%s: %g is outside the physical range %s", metric, p.Value, rangeString(sn.Sensor)), payload)
			if fo, ok := s.obs.(FaultObserver); ok {
				ts := p.Time
				if ts.IsZero() {
					ts = now
				}
				fo.ObserveFault(s.ctx, yujing.Reading{Sensor: sn.ID, Site: sn.Site, Family: sn.Family, Metric: metric,
					Unit: sn.UnitOf(metric), Value: p.Value, Time: ts.UTC()}, ReasonOutOfRange)
			}
			continue
		}
		ts := p.Time
		if ts.IsZero() {
			ts = now
		} else if ts.After(now.Add(s.cfg.MaxFuture)) || ts.Before(now.Add(-s.cfg.MaxAge)) {
			s.reject(now, topic, sn.ID, ReasonTimestamp, fmt.Sprintf("%s: timestamp %s is outside [now-%s, now+%s]", metric, ts.Format(time.RFC3339), s.cfg.MaxAge, s.cfg.MaxFuture), payload)
			continue
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
					s.m.superseded.Inc()
					continue
				}
				s.reject(now, topic, sn.ID, ReasonDuplicate, fmt.Sprintf("%s: a reading at %s came twice", metric, ts.Format(time.RFC3339Nano)), payload)
				continue
			}
			if found, snapshot := s.reg.stored(sn.ID, metric, ts); found {
				if !snapshot || !p.Supersedes {
					s.reject(now, topic, sn.ID, ReasonDuplicate, fmt.Sprintf("%s: a reading at %s was already stored", metric, ts.Format(time.RFC3339Nano)), payload)
					continue
				}
				s.m.superseded.Inc()
			}
		}
		if len(sn.Units) == 0 && metric != sn.Metric && !s.reg.admit(sn.ID, metric, s.cfg.MaxUndeclaredMetrics) {
			s.reject(now, topic, sn.ID, ReasonTooManyMetrics, fmt.Sprintf("metric %q: sensor %s lists no metrics and already has %d (mqtt.max_undeclared_metrics) besides %q; list its metrics to take others",
				metric, sn.ID, s.cfg.MaxUndeclaredMetrics, sn.Metric), payload)
			continue
		}
		d.index[k] = len(d.readings)
		d.readings = append(d.readings, yujing.Reading{Sensor: sn.ID, Site: sn.Site, Family: sn.Family, Metric: metric,
			Unit: sn.UnitOf(metric), Value: p.Value, Time: ts.UTC(), Region: sn.Region, Industry: sn.Industry})
		d.info = append(d.info, readingInfo{at: now, snapshot: p.Snapshot})
		if p.Snapshot {
			d.snapshots++
		}
	}
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
