package json

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

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
		t.Run(filepath.Base(dir), func(t *testing.T) {
			payload, err := os.ReadFile(filepath.Join(dir, "payload"))
			if err != nil {
				t.Fatal(err)
			}
			pts, err := New().Decode(nil, payload)
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

func FuzzDecode(f *testing.F) {
	dirs, _ := filepath.Glob("testdata/*/payload")
	for _, p := range dirs {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		pts, err := New().Decode(nil, payload)
		for _, p := range pts {
			if p.Value != p.Value {
				t.Fatalf("NaN leaked from %q", payload)
			}
		}
		if err != nil {
			for _, e := range decode.Split(err) {
				if e.Reason == "" || e.Msg == "" {
					t.Fatalf("unclassified error %#v", e)
				}
			}
		}
	})
}

// fastSeeds are payloads at the edge of what fast takes.
var fastSeeds = []string{
	`{"value": 31.5}`, `{"value":-0}`, `{"value": 1e308, "ts": 999999999999999}`, `{"ts":0,"value":0.5e-3}`,
	`{"value": 1, "ts": 1000000000000000}`, `{"value": 1, "ts": -1}`, `{"value": 1, "ts": 01}`, `{"value": 01}`,
	`{"value": 1.}`, `{"value": .5}`, `{"value": 1e}`, `{"value": +1}`, `{"value": 1,}`, `{"value": 1}}`, `{"value": 1} x`,
	`{"value": 1, "ts": 2, "ts": 3}`, `{"valu\u0065": 1}`, `{"VALUE": 1}`, `{"value": null}`, `{"value": "1"}`,
	`{"value": 1e400}`, `{"value": 1e-400}`, `{"ts": 5}`, `{}`, `{"value" 1}`, "{\"value\":\v1}", "{\"value\":1\u00a0}",
	`{"value": 0x10}`, `{"value": 1_000}`, `{"value": Infinity}`, `{"value": 1, "metric": "lel"}`,
}

// FuzzFastAgrees: whatever fast decodes, encoding/json decodes to the same
// point without error; whatever it leaves, it leaves untouched.
func FuzzFastAgrees(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	dirs, _ := filepath.Glob("testdata/*/payload")
	for _, p := range dirs {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		p := bytes.TrimSpace(payload)
		if len(p) == 0 || p[0] != '{' {
			return
		}
		dst := []decode.Point{{Sensor: "earlier"}}
		got, ok := fast(dst, p)
		if !ok {
			if len(got) != 1 || got[0].Sensor != "earlier" {
				t.Fatalf("fast gave up on %q but changed dst: %+v", payload, got)
			}
			return
		}
		want, err := general(nil, p)
		if err != nil {
			t.Fatalf("fast decoded %q, encoding/json refuses it: %v", payload, err)
		}
		if len(got) != 2 || len(want) != 1 || got[0].Sensor != "earlier" {
			t.Fatalf("%q: fast %+v, encoding/json %+v", payload, got, want)
		}
		g, w := got[1], want[0]
		if math.Float64bits(g.Value) != math.Float64bits(w.Value) || !g.Time.Equal(w.Time) || g.Time.Location() != w.Time.Location() ||
			g.Sensor != w.Sensor || g.Metric != w.Metric || g.Event != w.Event {
			t.Fatalf("%q:\n fast         %+v\n encoding/json %+v", payload, g, w)
		}
	})
}

func TestFastPath(t *testing.T) {
	for _, c := range []struct {
		payload string
		fast    bool
	}{
		{`{"value": 31.5}`, true},
		{`{"value": -3, "ts": 1763856000123}`, true},
		{`{"ts": 1763856000123, "value": 1.5E-3}`, true},
		{" \t{ \"value\" : 7 , \"ts\" : 0 }\r\n", true},
		{`{"value": 1, "ts": "2026-11-23T08:00:00+08:00"}`, false}, // RFC 3339
		{`{"value": 1, "ts": 1763856000123.5}`, false},             // fraction of a millisecond
		{`{"Value": 1}`, false},                                    // encoding/json matches keys in any case
		{`{"value": 1, "value": 2}`, false},                        // the last one wins there
		{`{"value": 1, "metric": "lel"}`, false},
		{`{"values": {"lel": 1}}`, false},
		{`{"value": 1e400}`, false},
	} {
		pts, ok := fast(nil, bytes.TrimSpace([]byte(c.payload)))
		if ok != c.fast {
			t.Errorf("fast(%q) ok = %v, want %v", c.payload, ok, c.fast)
		}
		if ok && len(pts) != 1 {
			t.Errorf("fast(%q) = %+v", c.payload, pts)
		}
	}
	p := []byte(`{"value": 0.123456, "ts": 1763856000123}`)
	dst := make([]decode.Point, 0, 1)
	if n := testing.AllocsPerRun(100, func() { dst, _ = New().Decode(dst[:0], p) }); n != 0 {
		t.Errorf("Decode of %s allocates %v times, want 0", p, n)
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range []struct{ name, payload string }{
		{"single", `{"value": 31.5}`},
		{"value-ts", `{"value": 0.123456, "ts": 1763856000123}`},
		{"value-ts-general", `{"ts": 1763856000123, "Value": 0.123456}`},
		{"values", `{"ts": 1763856000000, "values": {"level": 3.2, "pressure": 0.41}}`},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := []byte(c.payload)
			dst := make([]decode.Point, 0, 8)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if dst, err = New().Decode(dst[:0], p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
