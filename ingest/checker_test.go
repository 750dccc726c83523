package ingest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/ingest/decode/all"
	"yujing/ingest/decode/sparkplugb/spbtest"
)

// TestChecker: the Checker gives, message by message and in payload
// order, a verdict for every reading accepted or refused, every refusal of
// a whole message, every announcement and every edge node metric set
// aside; and the subscriber, fed the same messages, refuses the same
// readings for the same reasons with the same words and stores the same
// readings: ingest has one validation, and yujing tail shows it.
func TestChecker(t *testing.T) {
	max20 := 20.0
	sensors := []yujing.Sensor{
		{ID: "M-1", Site: "plant", Family: yujing.FamilyHazard, Metric: "value", Decoder: "json", Topic: "t/M-1"},
		{ID: "TK-1", Site: "plant", Family: yujing.FamilyHazard, Metric: "level", Units: map[string]string{"level": "m"}, Max: &max20, Decoder: "json", Topic: "t/TK-1"},
		{ID: "SP-1", Site: "plant", Family: yujing.FamilyHazard, Metric: "value", Decoder: "sparkplugb", Topic: "spBv1.0/plant/DDATA/edge9/SP-1"},
		{ID: "GW-8", Site: "plant", Family: yujing.FamilyHazard, Metric: "supply", Decoder: "sparkplugb", Topic: "spBv1.0/plant/NDATA/edge8"},
		{ID: "SP-8", Site: "plant", Family: yujing.FamilyHazard, Metric: "value", Decoder: "sparkplugb", Topic: "spBv1.0/plant/DDATA/edge8/SP-8"},
	}
	cfg := Config{MaxUndeclaredMetrics: 1, MaxPayload: 200}
	reg, err := NewRegistry([]yujing.Site{{ID: "plant"}}, sensors)
	if err != nil {
		t.Fatal(err)
	}
	decoders, err := all.Registry()
	if err != nil {
		t.Fatal(err)
	}
	check := NewChecker(cfg, reg, decoders)
	p := newPipeline(t, cfg, sensors)

	now := time.Now().Truncate(time.Millisecond)
	ts := now.Add(-time.Minute).UnixMilli()
	tms := uint64(ts)
	voltage := func(typ string) []byte {
		return spbtest.Payload(tms, 0, spbtest.Metric(spbtest.Name("Supply Voltage"), spbtest.Type(spbtest.TypeDouble), spbtest.Double(24)))
	}
	for _, c := range []struct {
		name, topic string
		payload     []byte
		want        []string // kind sensor metric value reason
	}{
		{"unknown topic", "t/NOPE", []byte(`{"value": 1}`), []string{"rejected - - - unknown_topic"}},
		{"oversize", "t/M-1", []byte(`{"value": 1, "pad": "` + strings.Repeat("x", 200) + `"}`), []string{"rejected M-1 - - oversize"}},
		{"bad payload", "t/M-1", []byte(`{"value": "x"}`), []string{"rejected M-1 - - bad_value"}},
		{"metric names", "t/M-1", fmt.Appendf(nil, `{"ts": %d, "values": {"a": 1, "bell\u0007": 2, "value": 3}}`, ts),
			[]string{"accepted M-1 a 1 -", "rejected M-1 bell\a 2 bad_metric_name", "accepted M-1 value 3 -"}},
		{"undeclared past the bound", "t/M-1", fmt.Appendf(nil, `{"ts": %d, "values": {"b": 1}}`, ts+1),
			[]string{"rejected M-1 b 1 too_many_metrics"}},
		{"resent", "t/M-1", fmt.Appendf(nil, `{"ts": %d, "values": {"a": 1, "value": 3}}`, ts),
			[]string{"rejected M-1 a 1 duplicate", "rejected M-1 value 3 duplicate"}},
		{"range and unknown metric", "t/TK-1", []byte(`{"values": {"level": 25, "temp": 3}}`),
			[]string{"rejected TK-1 level 25 out_of_range", "rejected TK-1 temp 3 unknown_metric"}},
		{"timestamp", "t/TK-1", fmt.Appendf(nil, `{"ts": %d, "value": 5}`, now.Add(time.Hour).UnixMilli()),
			[]string{"rejected TK-1 level 5 timestamp_out_of_window"}},
		{"node birth without a node sensor", "spBv1.0/plant/NBIRTH/edge9", voltage("NBIRTH"), []string{"ignored - Supply Voltage 24 node_metric"}},
		{"node data without a node sensor", "spBv1.0/plant/NDATA/edge9", voltage("NDATA"), []string{"ignored - Supply Voltage 24 node_metric"}},
		{"device birth", "spBv1.0/plant/DBIRTH/edge9/SP-1", spbtest.Payload(tms, 1,
			spbtest.Metric(spbtest.Name("lel"), spbtest.Type(spbtest.TypeDouble), spbtest.Double(3))),
			[]string{"event SP-1 - - -", "accepted SP-1 lel 3 -"}},
		{"node death", "spBv1.0/plant/NDEATH/edge9", spbtest.Payload(0, 0), []string{"event - - - -"}},
		{"node data to the node sensor", "spBv1.0/plant/NDATA/edge8", voltage("NDATA"), []string{"accepted GW-8 Supply Voltage 24 -"}},
		{"node death with a node sensor", "spBv1.0/plant/NDEATH/edge8", spbtest.Payload(0, 0), []string{"event GW-8 - - -"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			vs := check.Check(c.topic, c.payload, now)
			var got, rejected, accepted []string
			for _, v := range vs {
				value := "-"
				if v.HasValue {
					value = fmt.Sprint(v.Value)
				}
				got = append(got, strings.Join([]string{v.Kind.String(), dash(v.Sensor), dash(v.Metric), value, dash(v.Reason)}, " "))
				switch v.Kind {
				case VerdictRejected:
					rejected = append(rejected, v.Sensor+" "+v.Reason+": "+v.Error)
				case VerdictAccepted:
					accepted = append(accepted, fmt.Sprint(v.Reading))
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("verdicts:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}

			// The subscriber, fed the same message.
			before := len(p.s.rejects.List(0))
			d := newDecoded()
			p.s.decode(d, &benchMsg{topic: c.topic, payload: c.payload}, now)
			p.s.reg.record(d.readings, d.info) // as the worker does once they are stored
			var subRejected, subAccepted []string
			list := p.s.rejects.List(0)
			for i := len(list) - before - 1; i >= 0; i-- { // oldest first
				subRejected = append(subRejected, list[i].Sensor+" "+list[i].Reason+": "+list[i].Error)
			}
			for _, rd := range d.readings {
				subAccepted = append(subAccepted, fmt.Sprint(rd))
			}
			if !slices.Equal(rejected, subRejected) {
				t.Errorf("the checker refused\n%s\nthe subscriber\n%s", strings.Join(rejected, "\n"), strings.Join(subRejected, "\n"))
			}
			if !slices.Equal(accepted, subAccepted) {
				t.Errorf("the checker accepted\n%s\nthe subscriber\n%s", strings.Join(accepted, "\n"), strings.Join(subAccepted, "\n"))
			}
		})
	}
	// The out-of-range reading is the one the fault rules get.
	vs := check.Check("t/TK-1", []byte(`{"values": {"level": 30}}`), now)
	if len(vs) != 1 || vs[0].Reading.Sensor != "TK-1" || vs[0].Reading.Metric != "level" || vs[0].Reading.Value != 30 ||
		vs[0].Reading.Unit != "m" || !vs[0].Reading.Time.Equal(now) {
		t.Errorf("out of range: %+v", vs)
	}
	// An edge node's death names the node and the devices it takes along.
	vs = check.Check("spBv1.0/plant/NDEATH/edge9", spbtest.Payload(0, 0), now)
	if len(vs) != 1 || vs[0].EdgeNode != "plant/edge9" || !slices.Equal(vs[0].Devices, []string{"SP-1"}) || vs[0].Event != "offline" {
		t.Errorf("node death: %+v", vs)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
