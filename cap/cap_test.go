package cap_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"yujing/cap"
)

var update = flag.Bool("update", false, "rewrite testdata/*/expected.json")

// TestParse reads every testdata/<case>/alert.xml and compares what Parse
// makes of it — the alert, or the error naming the element and its line —
// with testdata/<case>/expected.json (go test -update rewrites them).
func TestParse(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/alert.xml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, path := range dirs {
		dir := filepath.Dir(path)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			doc, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Alert *cap.Alert `json:"alert,omitempty"`
				Error string     `json:"error,omitempty"`
			}
			got.Alert, err = cap.Parse(doc)
			if err != nil {
				got.Error = err.Error()
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(got); err != nil {
				t.Fatal(err)
			}
			b := buf.Bytes()
			want := filepath.Join(dir, "expected.json")
			if *update {
				if err := os.WriteFile(want, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			w, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(b, w) {
				t.Errorf("Parse(%s):\n%s\nwant (%s):\n%s", path, b, want, w)
			}
		})
	}
}

// The preferred info block is the first in the languages asked for, by
// prefix, else the first block.
func TestPreferred(t *testing.T) {
	doc, err := os.ReadFile("testdata/alert/alert.xml")
	if err != nil {
		t.Fatal(err)
	}
	a, err := cap.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		langs []string
		want  string
	}{
		{[]string{"zh"}, "zh-CN"},
		{[]string{"en", "zh"}, "en-US"},
		{[]string{"fr"}, "zh-CN"},
		{nil, "zh-CN"},
	} {
		if got := a.Preferred(c.langs...).Language; got != c.want {
			t.Errorf("Preferred(%v) = %s, want %s", c.langs, got, c.want)
		}
	}
}

// FuzzParse: whatever the bytes, Parse returns an alert or an error,
// never panics, and an alert it returns holds what CAP requires.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/alert.xml")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><info><area><geocode><value>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		a, err := cap.Parse(doc)
		if err != nil {
			if a != nil {
				t.Fatalf("an alert and an error: %v", err)
			}
			if err.Error() == "" {
				t.Fatal("an error without text")
			}
			return
		}
		if a.Identifier == "" || a.Sender == "" || a.Sent.IsZero() || a.Status == "" || a.MsgType == "" || a.Scope == "" {
			t.Fatalf("an alert without what CAP requires: %+v", a)
		}
		for _, in := range a.Infos {
			if in.Event == "" || len(in.Categories) == 0 {
				t.Fatalf("an info block without event or category: %+v", in)
			}
		}
	})
}
