package cap

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

// TestGolden: a CAP document gives no points and no error; a refused one
// an error naming the element (testdata/<case>/{payload,expected.json}).
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
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if string(want) != string(b) {
				t.Errorf("decoded %s:\n%s\nwant:\n%s", dir, b, want)
			}
		})
	}
}

// The decoder is a document decoder of kind cap.
func TestDocumentDecoder(t *testing.T) {
	var d decode.Decoder = New()
	dd, ok := d.(decode.DocumentDecoder)
	if !ok || dd.Kind() != "cap" || d.Name() != "cap" {
		t.Fatalf("%T: want a document decoder named and of kind cap", d)
	}
}

// FuzzDecode: no panic, no points, whatever the payload.
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/payload")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		pts, err := New().Decode(nil, payload)
		if len(pts) != 0 {
			t.Fatalf("points from a CAP document: %v", pts)
		}
		if err != nil && len(decode.Split(err)) == 0 {
			t.Fatal("an error that names nothing")
		}
	})
}

// BenchmarkDecode checks the rainstorm warning with two info blocks and
// two areas.
func BenchmarkDecode(b *testing.B) {
	payload, err := os.ReadFile("testdata/alert/payload")
	if err != nil {
		b.Fatal(err)
	}
	d := New()
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Decode(nil, payload); err != nil {
			b.Fatal(err)
		}
	}
}
