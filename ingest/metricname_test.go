package ingest

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"yujing"
	"yujing/ingest/decode"
	"yujing/ingest/decode/sparkplugb/spbtest"
)

// rawDecoder is a decoder that passes metric names through as they come,
// bytes and all: "name=value" per line. The shipped decoders refuse
// invalid UTF-8 themselves; this one shows the pipeline refuses it.
// Entries are separated by '|', so that a name may hold a newline.
type rawDecoder struct{}

func (rawDecoder) Name() string { return "raw" }

func (rawDecoder) Decode(dst []decode.Point, payload []byte) ([]decode.Point, error) {
	for line := range bytes.SplitSeq(payload, []byte("|")) {
		name, v, ok := bytes.Cut(line, []byte("="))
		f, err := strconv.ParseFloat(string(v), 64)
		if !ok || err != nil {
			return dst, decode.Errorf(decode.ReasonMalformed, "", "want name=value")
		}
		dst = append(dst, decode.Point{Metric: string(name), Value: f})
	}
	return dst, nil
}

// Issue 14 item 13: metric names that are not valid UTF-8, hold control
// characters or are too long are refused whatever the decoder; a sensor
// that lists no metrics takes at most MaxUndeclaredMetrics names besides
// its own, and further new ones are refused, naming topic, sensor and
// metric.
func TestMetricNames(t *testing.T) {
	sensors := []yujing.Sensor{
		{ID: "R-1", Site: "plant", Family: yujing.FamilyHazard, Metric: "value", Decoder: "raw", Topic: "t/R-1"},
		{ID: "R-2", Site: "plant", Family: yujing.FamilyHazard, Metric: "level", Units: map[string]string{"level": "m", "flow": "m3/h"}, Decoder: "raw", Topic: "t/R-2"},
	}
	p := newPipeline(t, Config{MaxUndeclaredMetrics: 3}, sensors, rawDecoder{})
	now := time.Now()
	for _, c := range []struct {
		topic, payload string
		accepted       []string // metrics stored
		rejected       []string // reason: error
	}{
		{"t/R-1", "lel=1|value=2|温度=3|\uFFFD=4", []string{"lel", "value", "温度", "\uFFFD"}, nil},
		{"t/R-1", "a\xffb=1|lel\n=2|bell\a=3|esc\x1b[0m=4|nel\u0085=5|del\x7f=6|" + strings.Repeat("x", 257) + "=7", nil, []string{
			`bad_metric_name: metric "a\xffb": not valid UTF-8 (byte 1)`,
			`bad_metric_name: metric "lel\n": control character U+000A at byte 3`,
			`bad_metric_name: metric "bell\a": control character U+0007 at byte 4`,
			`bad_metric_name: metric "esc\x1b[0m": control character U+001B at byte 3`,
			`bad_metric_name: metric "nel\u0085": control character U+0085 at byte 3`,
			`bad_metric_name: metric "del\x7f": control character U+007F at byte 3`,
			`bad_metric_name: metric "` + strings.Repeat("x", 257) + `": longer than 256 bytes`}},
		// lel, 温度 and U+FFFD are R-1's three: a fourth is refused, the
		// known ones and its own metric still go.
		{"t/R-1", "lel=5|new=6|value=7|温度=8", []string{"lel", "value", "温度"}, []string{
			`too_many_metrics: metric "new": sensor R-1 lists no metrics and already has 3 (mqtt.max_undeclared_metrics) besides "value"; list its metrics to take others`}},
		// A sensor listing its metrics is not bounded, it refuses the others.
		{"t/R-2", "level=1|flow=2|lel=3", []string{"level", "flow"}, []string{`unknown_metric: sensor R-2 has no metric "lel"`}},
	} {
		d := newDecoded()
		before := len(p.s.rejects.List(0))
		p.s.decode(d, &benchMsg{topic: c.topic, payload: []byte(c.payload)}, now)
		now = now.Add(time.Second)
		var got []string
		for _, r := range d.readings {
			got = append(got, r.Metric)
		}
		var rej []string
		list := p.s.rejects.List(0)
		for i := len(list) - before - 1; i >= 0; i-- { // oldest first
			if list[i].Topic != c.topic || list[i].Sensor != sensorOf(c.topic) {
				t.Errorf("rejection %+v does not name topic %s and its sensor", list[i], c.topic)
			}
			rej = append(rej, list[i].Reason+": "+list[i].Error)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.accepted) || fmt.Sprintf("%q", rej) != fmt.Sprintf("%q", c.rejected) {
			t.Errorf("%s %q:\naccepted %q\nrejected %q\nwant %q\nand %q", c.topic, c.payload, got, rej, c.accepted, c.rejected)
		}
	}
	if got := testutil.ToFloat64(p.s.m.rejected.WithLabelValues(ReasonTooManyMetrics)); got != 1 {
		t.Errorf("too_many_metrics counted %v times, want 1", got)
	}
}

func sensorOf(topic string) string { return topic[strings.LastIndex(topic, "/")+1:] }

// FuzzMetricNames feeds any payload through every decoder yujing ships
// (and rawDecoder) into one subscriber: whatever a decoder makes of it,
// no reading leaves the pipeline with a metric name that
// decode.CheckMetricName refuses or a value that is not finite, and no
// sensor that lists no metrics ends up with more than the bound.
func FuzzMetricNames(f *testing.F) {
	const bound = 4
	var sensors []yujing.Sensor
	topics := map[string]string{}
	for _, dec := range []string{"json", "lineprotocol", "plain", "sparkplugb", "raw"} {
		id := "S-" + dec
		topic := "t/" + id
		if dec == "sparkplugb" {
			topic = "spBv1.0/g/DDATA/e/" + id
		}
		topics[dec] = topic
		sensors = append(sensors, yujing.Sensor{ID: id, Site: "plant", Family: yujing.FamilyHazard, Metric: "value", Decoder: dec, Topic: topic})
	}
	p := newPipeline(f, Config{MaxUndeclaredMetrics: bound}, sensors, rawDecoder{})
	f.Add("json", []byte(`{"values": {"a": 1, "b\u0000": 2, "c": 3}}`))
	f.Add("lineprotocol", []byte("m a=1,b=2,c=3,d=4,e=5"))
	f.Add("plain", []byte("31.5 %LEL"))
	f.Add("sparkplugb", spbtest.Payload(spbtest.Millis(time.Now()), 0,
		spbtest.Metric(spbtest.Name("lel\x01"), spbtest.Type(spbtest.TypeDouble), spbtest.Double(1)),
		spbtest.Metric(spbtest.Name("ok"), spbtest.Type(spbtest.TypeDouble), spbtest.Double(2))))
	f.Add("raw", []byte("a\xff=1|b=2|c\n=3"))
	f.Fuzz(func(t *testing.T, dec string, payload []byte) {
		topic, ok := topics[dec]
		if !ok {
			return
		}
		d := newDecoded()
		p.s.decode(d, &benchMsg{topic: topic, payload: payload}, time.Now())
		for _, r := range d.readings {
			if err := decode.CheckMetricName(r.Metric); err != nil || !utf8.ValidString(r.Metric) {
				t.Fatalf("%s made metric %q of %q: %v", dec, r.Metric, payload, err)
			}
			if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
				t.Fatalf("%s made value %v of %q", dec, r.Value, payload)
			}
		}
		for _, st := range p.s.reg.Statuses(time.Now()) {
			n := 0
			for _, l := range st.Last {
				if l.Metric != st.Metric {
					n++
				}
			}
			if n > bound {
				t.Fatalf("%s has %d metrics besides its own, bound %d", st.ID, n, bound)
			}
		}
		p.s.reg.record(d.readings, d.info)
	})
}
