package influx

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api/write"
	protocol "github.com/influxdata/line-protocol"

	"yujing"
)

// viaPoint encodes r as the client library does for a write.Point (what
// Write sent before it encoded lines itself): the same encoder settings as
// its write service. ok is false when that encoder refuses the point.
func viaPoint(r *yujing.Reading) (line string, ok bool) {
	m := string(r.Family)
	if m == "" {
		m = DefaultMeasurement
	}
	tags := map[string]string{}
	for _, t := range [][2]string{{"site", r.Site}, {"sensor", r.Sensor}, {"unit", r.Unit}, {"region", r.Region}, {"industry", r.Industry}} {
		if t[1] != "" {
			tags[t[0]] = t[1]
		}
	}
	p := write.NewPoint(m, tags, map[string]any{r.Metric: r.Value}, r.Time) // sorts the tags by key
	var buf bytes.Buffer
	e := protocol.NewEncoder(&buf)
	e.SetFieldTypeSupport(protocol.UintSupport)
	e.FailOnFieldErr(true)
	e.SetPrecision(time.Nanosecond)
	if _, err := e.Encode(p); err != nil {
		return "", false
	}
	return strings.TrimSuffix(buf.String(), "\n"), true
}

func direct(r *yujing.Reading) string {
	var b strings.Builder
	appendLine(&b, make([]byte, 0, 64), r)
	return b.String()
}

func TestAppendLine(t *testing.T) {
	ts := time.Date(2026, 11, 23, 8, 0, 0, 123456789, time.UTC)
	for _, c := range []struct {
		name string
		r    yujing.Reading
		want string
	}{
		{"all tags", yujing.Reading{Sensor: "GT-101", Site: "plant-a", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL",
			Region: "330106", Industry: "chemicals", Value: 12.5, Time: ts},
			`gas,industry=chemicals,region=330106,sensor=GT-101,site=plant-a,unit=%LEL lel=12.5 1795420800123456789`},
		{"no family, no optional tags", yujing.Reading{Sensor: "r1", Metric: "mm", Value: -0.25, Time: ts},
			`reading,sensor=r1 mm=-0.25 1795420800123456789`},
		{"escapes", yujing.Reading{Sensor: "a,b=c d", Site: "北区 1", Family: "my gas,x", Metric: "level m=1", Unit: "m\n\t",
			Value: 1e21, Time: ts},
			`my\ gas\,x,sensor=a\,b\=c\ d,site=北区\ 1,unit=m\n\t level\ m\=1=1000000000000000000000 1795420800123456789`},
		{"small value, time before 1970", yujing.Reading{Sensor: "s", Metric: "v", Value: 1.5e-7, Time: time.Unix(-1, 5)},
			`reading,sensor=s v=0.00000015 -999999995`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := direct(&c.r)
			if got != c.want {
				t.Errorf("appendLine:\n got %s\nwant %s", got, c.want)
			}
			if old, ok := viaPoint(&c.r); !ok || old != got {
				t.Errorf("write.Point encodes it as\n%s (ok %v)\nappendLine as\n%s", old, ok, got)
			}
		})
	}
}

// FuzzAppendLine: the lines Write encodes itself are those the client
// library encodes from a write.Point, for every valid reading it accepts.
func FuzzAppendLine(f *testing.F) {
	f.Add("gas", "plant a", "GT-101", "%LEL", "330106", "", "lel", 12.5, int64(1795420800123456789))
	f.Add("", "", "r,1", "", "", "化工", "water level", -0.0, int64(-5))
	f.Add("a\nb", "x=y", "s\\", "u\t", "\r", "\f", "m\\", math.MaxFloat64, int64(math.MaxInt64-1))
	f.Fuzz(func(t *testing.T, family, site, sensor, unit, region, industry, metric string, v float64, ns int64) {
		r := yujing.Reading{Family: yujing.Family(family), Site: site, Sensor: sensor, Unit: unit, Region: region,
			Industry: industry, Metric: metric, Value: v, Time: time.Unix(0, ns)}
		if validate(&r) != nil {
			return
		}
		want, ok := viaPoint(&r)
		if !ok {
			return // the library refuses it (a field key like `\x`); appendLine writes it escaped
		}
		if got := direct(&r); got != want {
			t.Fatalf("appendLine:\n got %q\nwant %q", got, want)
		}
	})
}

// BenchmarkEncode compares a request body of 400 readings encoded from
// write.Point values with one encoded straight from the readings.
func BenchmarkEncode(b *testing.B) {
	ts := time.Now()
	rs := make([]yujing.Reading, 400)
	for i := range rs {
		rs[i] = yujing.Reading{Sensor: "S042", Site: "bench", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL",
			Value: float64(i) * 1e-6, Time: ts.Add(time.Duration(i) * time.Millisecond)}
	}
	b.Run("point", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var buf bytes.Buffer
			e := protocol.NewEncoder(&buf)
			e.SetFieldTypeSupport(protocol.UintSupport)
			e.FailOnFieldErr(true)
			e.SetPrecision(time.Nanosecond)
			for i := range rs {
				r := &rs[i]
				p := write.NewPointWithMeasurement(string(r.Family))
				p.AddTag("site", r.Site)
				p.AddTag("sensor", r.Sensor)
				p.AddTag("unit", r.Unit)
				p.AddField(r.Metric, r.Value)
				p.SetTime(r.Time)
				if _, err := e.Encode(p); err != nil {
					b.Fatal(err)
				}
			}
			_ = buf.String()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rs)), "ns/reading")
	})
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		var scratch [64]byte
		for range b.N {
			var body strings.Builder
			body.Grow(len(rs) * 96)
			for i := range rs {
				if i > 0 {
					body.WriteByte('\n')
				}
				appendLine(&body, scratch[:0], &rs[i])
			}
			_ = body.String()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rs)), "ns/reading")
	})
}
