package replay

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/ingest"
)

func registry(t testing.TB) *ingest.Registry {
	t.Helper()
	lo, hi := 0.0, 100.0
	reg, err := ingest.NewRegistry([]yujing.Site{{ID: "plant"}}, []yujing.Sensor{
		{ID: "GT-101", Site: "plant", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Min: &lo, Max: &hi},
		{ID: "TK-201", Site: "plant", Family: yujing.FamilyHazard, Metric: "level", Units: map[string]string{"level": "m", "pressure": "MPa"},
			MetricMap: map[string]string{"p": "pressure"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// TestRead: each good line is a reading bound to its sensor and metric
// (metric map applied, the default metric for an empty one), a value
// outside the physical range is kept for the fault rules, and each bad
// line is reported as name:line: message and skipped.
func TestRead(t *testing.T) {
	for _, c := range []struct {
		name, text string
		lp         bool
		want       []string // line sensor metric value unit time [fault]
		bad        []string
	}{
		{"csv", "time,sensor,metric,value\n" +
			"2026-07-01T08:00:00+08:00,GT-101,,12.5\n" +
			"# a comment\n\n" +
			"1782864003000,TK-201,p,0.4\n" +
			"2026-07-01T00:00:04Z,GT-101,lel,120\n",
			false, []string{
				"2 GT-101 lel 12.5 %LEL 2026-07-01T00:00:00Z",
				"5 TK-201 pressure 0.4 MPa 2026-07-01T00:00:03Z",
				"6 GT-101 lel 120 %LEL 2026-07-01T00:00:04Z fault",
			}, nil},
		{"bad csv lines", "sensor,time,metric,value\n" +
			"2026-07-01T00:00:00Z,GT-101,lel\n" +
			"yesterday,GT-101,lel,1\n" +
			"2026-07-01T00:00:00Z,GT-101,lel,lots\n" +
			"2026-07-01T00:00:00Z,RG-999,lel,1\n" +
			"2026-07-01T00:00:00Z,TK-201,temperature,1\n" +
			"2026-07-01T00:00:00Z,GT-101,lel,NaN\n",
			false, nil, []string{
				"rec.csv:1: want a header row time,sensor,metric,value",
				"rec.csv:2: want time,sensor,metric,value, got 3 fields",
				`rec.csv:3: time "yesterday": want RFC 3339 or epoch milliseconds`,
				`rec.csv:4: value "lots" is not a number`,
				`rec.csv:5: unknown sensor "RG-999"`,
				`rec.csv:6: sensor TK-201 has no metric "temperature"`,
				"rec.csv:7: lel: value is not finite",
			}},
		{"line protocol", "tank,sensor=TK-201 level=3.5,p=0.41 1782864000000000000\n" +
			"gas,sensor=GT-101 lel=9 1782864001000000000\n" +
			"gas lel=9 1782864001000000000\n" +
			"gas,sensor=GT-101 lel=9\n" +
			"gas,sensor=GT-101 lel=\"x\" 1782864001000000000\n",
			true, []string{
				"1 TK-201 level 3.5 m 2026-07-01T00:00:00Z",
				"1 TK-201 pressure 0.41 MPa 2026-07-01T00:00:00Z",
				"2 GT-101 lel 9 %LEL 2026-07-01T00:00:01Z",
			}, []string{
				"rec.lp:3: no sensor tag",
				"rec.lp:4: no timestamp",
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var bad strings.Builder
			name := "rec.csv"
			if c.lp {
				name = "rec.lp"
			}
			rs, n, err := Read(name, strings.NewReader(c.text), c.lp, registry(t), &bad)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rs {
				s := fmt.Sprintf("%d %s %s %g %s %s", r.Line, r.Reading.Sensor, r.Reading.Metric, r.Reading.Value, r.Reading.Unit, r.Reading.Time.Format(time.RFC3339))
				if r.Fault {
					s += " fault"
				}
				got = append(got, s)
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("readings:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			lines := strings.Split(strings.TrimSuffix(bad.String(), "\n"), "\n")
			if bad.Len() == 0 {
				lines = nil
			}
			// A line protocol decoder error is reported too: compare the
			// lines the case lists, and the count.
			for _, w := range c.bad {
				if !strings.Contains(bad.String(), w+"\n") {
					t.Errorf("missing %q in\n%s", w, bad.String())
				}
			}
			if n != len(lines) || (!c.lp && n != len(c.bad)) {
				t.Errorf("%d bad lines counted, %d reported, want %d:\n%s", n, len(lines), len(c.bad), bad.String())
			}
		})
	}
}

// FuzzRead: whatever a recording holds, Read returns only readings of
// known sensors and metrics with finite values, each from a line that
// exists, and counts one bad line per report.
func FuzzRead(f *testing.F) {
	f.Add("time,sensor,metric,value\n2026-07-01T00:00:00Z,GT-101,,12.5\n", false)
	f.Add("time,sensor,metric,value\n1782864003000,TK-201,p,0.4\nx,y\n", false)
	f.Add("tank,sensor=TK-201 level=3.5,p=0.41 1782864000000000000\n", true)
	f.Add("gas,sensor=GT-101 lel=1e999 1\n", true)
	reg := registry(f)
	f.Fuzz(func(t *testing.T, text string, lp bool) {
		var bad strings.Builder
		rs, n, err := Read("rec", strings.NewReader(text), lp, reg, &bad)
		if err != nil {
			return // a line over the scanner's limit
		}
		lines := strings.Count(text, "\n") + 1
		for _, r := range rs {
			sn, ok := reg.ByID(r.Reading.Sensor)
			if !ok || !sn.HasMetric(r.Reading.Metric) || math.IsNaN(r.Reading.Value) || math.IsInf(r.Reading.Value, 0) || r.Line < 1 || r.Line > lines {
				t.Fatalf("reading %+v of %q", r, text)
			}
		}
		if reports := strings.Count(bad.String(), "\n"); reports != n { // one line each
			t.Fatalf("%d bad lines counted, %d reported:\n%s", n, reports, bad.String())
		}
	})
}
