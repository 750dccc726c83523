package json

import (
	"encoding/json"
	"flag"
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

func BenchmarkDecode(b *testing.B) {
	for _, c := range []struct{ name, payload string }{
		{"single", `{"value": 31.5}`},
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
