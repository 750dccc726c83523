package plain

import (
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"yujing/ingest/decode"
)

var update = flag.Bool("update", false, "rewrite testdata/*/expected.json")

type golden struct {
	Points []decode.Point  `json:"points"`
	Errors []*decode.Error `json:"errors,omitempty"`
}

// TestGolden decodes testdata/<case>/payload with the default decoder, or
// with the Config in testdata/<case>/config.json when there is one.
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
			d := Default()
			if raw, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
				var cfg Config
				if err := json.Unmarshal(raw, &cfg); err != nil {
					t.Fatal(err)
				}
				if d, err = New(cfg); err != nil {
					t.Fatal(err)
				}
			} else if !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			pts, err := d.Decode(nil, payload)
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
				t.Errorf("decoded %q:\n%s\nwant:\n%s", payload, b, want)
			}
		})
	}
}

func TestNew(t *testing.T) {
	d, err := New(Config{Name: "plain-lel", Unit: "%LEL"})
	if err != nil || d.Name() != "plain-lel" {
		t.Fatalf("New = %v, %v", d, err)
	}
	if d, _ := New(Config{}); d.Name() != Name {
		t.Errorf("default name %q", d.Name())
	}
	for _, u := range []string{"1", " %LEL", "% LEL", "m\n", strings.Repeat("m", maxUnit+1), "\xff"} {
		if _, err := New(Config{Unit: u}); err == nil {
			t.Errorf("unit %q accepted", u)
		}
	}
	for _, u := range []string{"%LEL", "MPa", "m³/h", "°C", "℃", "ppm", "µg/m3", "‰"} {
		if _, err := New(Config{Unit: u}); err != nil {
			t.Errorf("unit %q: %v", u, err)
		}
	}
}

func TestAppends(t *testing.T) {
	dst := []decode.Point{{Metric: "kept"}}
	dst, err := Default().Decode(dst, []byte("7"))
	if err != nil || len(dst) != 2 || dst[0].Metric != "kept" || dst[1].Value != 7 {
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
	pinned, err := New(Config{Unit: "%LEL"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, d := range []*Decoder{Default(), pinned} {
			pts, err := d.Decode(nil, payload)
			if (len(pts) == 1) == (err != nil) {
				t.Fatalf("%s: %d points and error %v from %q", d.Name(), len(pts), err, payload)
			}
			for _, p := range pts {
				if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
					t.Fatalf("%v leaked from %q", p.Value, payload)
				}
			}
			if err != nil {
				for _, e := range decode.Split(err) {
					if !reasons[e.Reason] || e.Msg == "" {
						t.Fatalf("unclassified error %#v from %q", e, payload)
					}
				}
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	pinned, _ := New(Config{Unit: "%LEL"})
	for _, c := range []struct {
		name    string
		d       *Decoder
		payload string
	}{
		{"number", Default(), "31.5"},
		{"unit", pinned, " 31.5 %LEL\n"},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := []byte(c.payload)
			dst := make([]decode.Point, 0, 8)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if dst, err = c.d.Decode(dst[:0], p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
