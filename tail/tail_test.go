package tail

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"yujing/config"
	"yujing/configs"
	"yujing/ingest"
	"yujing/ingest/decode/sparkplugb/spbtest"
	"yujing/store/sqlite"
)

// demo is the embedded demo configuration with a Sparkplug device, SP-1,
// on an edge node that has no sensor of its own.
func demo(t *testing.T) *config.Config {
	t.Helper()
	text := strings.Replace(string(configs.Demo), "sensors:\n", `sensors:
  - {id: SP-1, site: demo-plant, family: gas, metric: lel, unit: "%LEL", decoder: sparkplugb, topic: spBv1.0/plant/DDATA/edge9/SP-1}
`, 1)
	cfg, err := config.Parse("demo+sparkplug.yaml", []byte(text), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestFilters(t *testing.T) {
	cfg := demo(t)
	for _, c := range []struct {
		name, target string
		templates    []string
		want         []string
		err          string
	}{
		{"sensor", "GT-101", nil, []string{"yujing/demo-plant/GT-101"}, ""},
		{"sensor and templates", "GT-101", []string{"plant/{site}/gas/{sensor}", "county/{region}/{any}/{sensor}", "{family}/{sensor}"},
			[]string{"yujing/demo-plant/GT-101", "plant/demo-plant/gas/GT-101", "county/320506/+/GT-101", "gas/GT-101"}, ""},
		{"sparkplug device: its BIRTH and DEATH, its node's", "SP-1", nil,
			[]string{"spBv1.0/plant/+/edge9/SP-1", "spBv1.0/plant/+/edge9"}, ""},
		{"topic filter", "yujing/+/GT-101", nil, []string{"yujing/+/GT-101"}, ""},
		{"unknown sensor", "NOPE-1", nil, nil, `no sensor "NOPE-1" in the configuration; give a sensor id or a topic filter`},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg, err := ingest.NewRegistry(cfg.Sites, cfg.Sensors, c.templates...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Filters(reg, c.templates, c.target)
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, c.want) {
				t.Errorf("Filters = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// TestJudge: one line per verdict of ingest's validation, with the warning
// level the configuration's rules give an accepted reading, the fault
// rules' verdict on a value out of range, and an edge node's own metric set
// aside as serve sets it aside.
func TestJudge(t *testing.T) {
	cfg := demo(t)
	reg, err := ingest.NewRegistry(cfg.Sites, cfg.Sensors, cfg.MQTT.Topics...)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var out strings.Builder
	j, err := newJudge(t.Context(), cfg, reg, st, &out)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Truncate(time.Second)
	ms := spbtest.Millis(at.Add(-time.Second))
	for _, c := range []struct {
		topic, payload string
		want           []string // each line after the receive time
	}{
		{"yujing/demo-plant/GT-101", `{"value": 5}`, []string{"yujing/demo-plant/GT-101  GT-101  lel  5 %LEL  → ok"}},
		{"yujing/demo-plant/GT-101", `{"value": 30}`, []string{"yujing/demo-plant/GT-101  GT-101  lel  30 %LEL  → gas-lel: yellow (≥ 25)"}},
		{"yujing/demo-plant/GT-101", `{"value": "x"}`, []string{`yujing/demo-plant/GT-101  GT-101  -  -  → rejected: bad_value: value: want a number, got "x"`}},
		{"yujing/demo-plant/GT-101", `{"value": 120}`, []string{"yujing/demo-plant/GT-101  GT-101  lel  120 %LEL  → rejected: out_of_range: 120 is outside the physical range [0, 100]"}},
		{"yujing/demo-plant/TK-201", `{"values": {"level": 3, "temp": 20}}`, []string{
			"yujing/demo-plant/TK-201  TK-201  level  3 m  → ok",
			`yujing/demo-plant/TK-201  TK-201  temp  20  → rejected: unknown_metric: sensor TK-201 has no metric "temp"`}},
		{"yujing/demo-plant/NOPE", `{"value": 1}`, []string{"yujing/demo-plant/NOPE  -  -  -  → rejected: unknown_topic: no sensor is registered for this topic"}},
		{"spBv1.0/plant/NDATA/edge9", string(spbtest.Payload(ms, 0,
			spbtest.Metric(spbtest.Name("Supply Voltage"), spbtest.Type(spbtest.TypeDouble), spbtest.Double(24)))),
			[]string{"spBv1.0/plant/NDATA/edge9  -  Supply Voltage  24  → ignored: node_metric: no sensor is registered on the edge node's NDATA topic"}},
		{"spBv1.0/plant/DDATA/edge9/SP-1", string(spbtest.Payload(ms, 1,
			spbtest.Metric(spbtest.Name("lel\n"), spbtest.Type(spbtest.TypeDouble), spbtest.Double(1)),
			spbtest.Metric(spbtest.Name("lel"), spbtest.Type(spbtest.TypeDouble), spbtest.Double(12)))),
			[]string{`spBv1.0/plant/DDATA/edge9/SP-1  SP-1  "lel\n"  1  → rejected: bad_metric_name: metric "lel\n": control character U+000A at byte 3`,
				"spBv1.0/plant/DDATA/edge9/SP-1  SP-1  lel  12 %LEL  → gas-lel: blue (≥ 10)"}},
		{"spBv1.0/plant/NDEATH/edge9", string(spbtest.Payload(0, 0)), []string{"spBv1.0/plant/NDEATH/edge9  -  -  -  → edge node plant/edge9 offline, and its devices SP-1"}},
	} {
		out.Reset()
		j.handle(t.Context(), message{at: at, topic: c.topic, payload: []byte(c.payload)})
		var want []string
		for _, w := range c.want {
			want = append(want, at.In(cfg.Location).Format("2006-01-02 15:04:05")+"  "+w)
		}
		if got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"); !slices.Equal(got, want) {
			t.Errorf("%s %q:\n%s\nwant\n%s", c.topic, c.payload, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
