package lineprotocol

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yujing/ingest/decode"
)

var update = flag.Bool("update", false, "rewrite testdata/*/expected.json")

type golden struct {
	Points []decode.Point  `json:"points"`
	Errors []*decode.Error `json:"errors,omitempty"`
}

func TestGolden(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/*")
	if len(dirs) == 0 {
		t.Fatal("no golden cases")
	}
	for _, dir := range dirs {
		if filepath.Base(dir) == "fuzz" { // go test -fuzz's corpus
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			payload, err := os.ReadFile(filepath.Join(dir, "payload"))
			if err != nil {
				t.Fatal(err)
			}
			pts, err := Default().Decode(nil, payload)
			got := golden{Points: pts}
			if err != nil {
				got.Errors = decode.Split(err)
			}
			b, _ := json.MarshalIndent(got, "", "  ")
			b = append(b, '\n')
			path := filepath.Join(dir, "expected.json")
			if *update {
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if string(want) != string(b) {
				t.Errorf("decoded %s:\n%s\nwant:\n%s", payload, b, want)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	d, err := New(Config{Name: "telegraf-ms", SensorTag: "device", Precision: "ms"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Name() != "telegraf-ms" {
		t.Errorf("Name() = %q", d.Name())
	}
	pts, err := d.Decode(nil, []byte("gas,sensor=ignored,device=GT-101 lel=31.5 1763856000123\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := decode.Point{Sensor: "GT-101", Metric: "lel", Value: 31.5, Time: time.UnixMilli(1763856000123).UTC()}
	if len(pts) != 1 || pts[0] != want {
		t.Errorf("got %+v, want %+v", pts, want)
	}

	for prec, unit := range map[string]time.Duration{"": time.Nanosecond, "ns": time.Nanosecond, "us": time.Microsecond, "µs": time.Microsecond, "ms": time.Millisecond, "s": time.Second} {
		d, err := New(Config{Precision: prec})
		if err != nil {
			t.Fatalf("precision %q: %v", prec, err)
		}
		if d.Name() != Name {
			t.Errorf("default name %q", d.Name())
		}
		pts, err := d.Decode(nil, []byte("m v=1 1763856000"))
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Unix(0, 1763856000*int64(unit)).UTC(); !pts[0].Time.Equal(want) {
			t.Errorf("precision %q: time %v, want %v", prec, pts[0].Time, want)
		}
	}

	if _, err := New(Config{Precision: "h"}); err == nil || !strings.Contains(err.Error(), `precision "h"`) {
		t.Errorf("precision h: err = %v", err)
	}
	// Overflow in a coarse precision is a bad timestamp, not a wrapped time.
	d, _ = New(Config{Precision: "s"})
	_, err = d.Decode(nil, []byte("m v=1 9223372036854775807"))
	if es := decode.Split(err); len(es) != 1 || es[0].Reason != decode.ReasonBadTime {
		t.Errorf("overflow: err = %v", err)
	}
}

// TestLongLine checks the line count when a line is longer than the
// parser's read buffer, so one line takes several reads.
func TestLongLine(t *testing.T) {
	var b strings.Builder
	b.WriteString("gas,sensor=GT-101 ")
	for i := range 3000 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("f")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString("=1")
	}
	b.WriteString("\n\ngas,sensor=GT-102 lel=\n")
	pts, err := Default().Decode(nil, []byte(b.String()))
	if len(pts) != 3000 {
		t.Errorf("%d points, want 3000", len(pts))
	}
	es := decode.Split(err)
	if len(es) != 1 || es[0].Field != "line 3" || es[0].Reason != decode.ReasonMalformed {
		t.Errorf("err = %v, want one malformed error on line 3", err)
	}
}

func TestAppends(t *testing.T) {
	dst := []decode.Point{{Metric: "kept"}}
	dst, err := Default().Decode(dst, []byte("m a=1\nm b=2"))
	if err != nil || len(dst) != 3 || dst[0].Metric != "kept" || dst[2].Metric != "b" {
		t.Errorf("got %+v, %v", dst, err)
	}
	// A bad line must not drop points that were in dst before it.
	dst, err = Default().Decode(dst[:1], []byte("m a=\n"))
	if err == nil || len(dst) != 1 || dst[0].Metric != "kept" {
		t.Errorf("got %+v, %v", dst, err)
	}
}

var reasons = map[decode.Reason]bool{
	decode.ReasonMalformed: true, decode.ReasonBadValue: true,
	decode.ReasonNotFinite: true, decode.ReasonBadTime: true,
}

func FuzzDecode(f *testing.F) {
	dirs, _ := filepath.Glob("testdata/*/payload")
	for _, p := range dirs {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		pts, err := Default().Decode(nil, payload)
		for _, p := range pts {
			if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
				t.Fatalf("%v leaked from %q", p.Value, payload)
			}
			if p.Metric == "" {
				t.Fatalf("point without metric from %q", payload)
			}
		}
		if err != nil {
			lines := bytes.Count(payload, []byte("\n")) + 1
			for _, e := range decode.Split(err) {
				if !reasons[e.Reason] || e.Msg == "" {
					t.Fatalf("unclassified error %#v from %q", e, payload)
				}
				var n int
				if _, scanErr := fmt.Sscanf(e.Field, "line %d", &n); scanErr == nil && (n < 1 || n > lines) {
					t.Fatalf("error on line %d of %d: %v, from %q", n, lines, e, payload)
				}
				if e.Field != "" && !strings.HasPrefix(e.Field, "line ") {
					t.Fatalf("error without a line: %v, from %q", e, payload)
				}
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	batch := strings.Repeat("gas,site=demo-plant,sensor=GT-101 lel=31.5,alarm=false,count=12i 1763856000000000000\n", 10)
	for _, c := range []struct{ name, payload string }{
		{"single", "gas,site=demo-plant,sensor=GT-101 lel=31.5 1763856000000000000"},
		{"batch10x3", batch},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := []byte(c.payload)
			dst := make([]decode.Point, 0, 32)
			d := Default()
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if dst, err = d.Decode(dst[:0], p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
