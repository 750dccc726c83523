package yamlconf

import (
	"strings"
	"testing"
	"time"
)

type inner struct {
	Pos    Pos
	Fields Fields
	Name   string            `yaml:"name"`
	Limit  float64           `yaml:"limit"`
	Every  time.Duration     `yaml:"every"`
	Tags   map[string]string `yaml:"tags"`
}

type outer struct {
	Title string  `yaml:"title"`
	On    bool    `yaml:"on"`
	Count int     `yaml:"count"`
	Items []inner `yaml:"items"`
	Ptr   *inner  `yaml:"ptr"`
}

func TestDecodeGood(t *testing.T) {
	src := "title: 预警\non: true\ncount: 3\nitems:\n  - name: a\n    limit: 2.5\n    every: 30s\n    tags: {k: v}\nptr:\n  name: p\n"
	var o outer
	if err := Decode("good.yaml", []byte(src), &o); err != nil {
		t.Fatal(err)
	}
	if o.Title != "预警" || !o.On || o.Count != 3 || len(o.Items) != 1 || o.Ptr == nil || o.Ptr.Name != "p" {
		t.Fatalf("decoded %+v", o)
	}
	it := o.Items[0]
	if it.Limit != 2.5 || it.Every != 30*time.Second || it.Tags["k"] != "v" {
		t.Fatalf("item %+v", it)
	}
	if it.Pos != (Pos{"good.yaml", 5, 5}) {
		t.Errorf("item pos = %v, want good.yaml:5:5", it.Pos)
	}
	if got := it.Fields["limit"]; got != (Pos{"good.yaml", 6, 12}) {
		t.Errorf("limit pos = %v, want good.yaml:6:12", got)
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string
	}{
		{"unknown field", "titel: x\n", []string{`bad.yaml:1:1: unknown field "titel" (did you mean "title"?)`}},
		{"all errors at once", "count: many\nitems:\n  - limit: .nan\n    every: soon\n",
			[]string{
				`bad.yaml:1:8: count: want a whole number, got "many"`,
				`bad.yaml:3:12: items[0].limit: want a finite number, got ".nan"`,
				`bad.yaml:4:12: items[0].every: want a duration such as 30s, 5m or 1h30m, got "soon"`,
			}},
		{"duplicate key", "title: a\ntitle: b\n", []string{`bad.yaml:2:1: duplicate key "title"`}},
		{"wrong kind", "items: {a: 1}\n", []string{`bad.yaml:1:8: items: want a list, got a mapping`}},
		{"bool", "on: yes\n", []string{`bad.yaml:1:5: on: want true or false, got "yes"`}},
		{"syntax", "title: [unclosed\n", []string{"bad.yaml:"}},
		{"two documents", "title: a\n---\ntitle: b\n", []string{"only one YAML document"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var o outer
			err := Decode("bad.yaml", []byte(c.src), &o)
			if err == nil {
				t.Fatal("no error")
			}
			got := err.Error()
			lines := strings.Split(got, "\n")
			if c.name == "syntax" || c.name == "two documents" {
				if !strings.Contains(got, c.want[0]) {
					t.Fatalf("got %q, want it to contain %q", got, c.want[0])
				}
				return
			}
			if len(lines) != len(c.want) {
				t.Fatalf("got %d errors:\n%s\nwant:\n%s", len(lines), got, strings.Join(c.want, "\n"))
			}
			for i := range lines {
				if lines[i] != c.want[i] {
					t.Errorf("error %d:\n got %s\nwant %s", i, lines[i], c.want[i])
				}
			}
		})
	}
}

func TestEmptyDocument(t *testing.T) {
	var o outer
	if err := Decode("empty.yaml", nil, &o); err != nil {
		t.Fatal(err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("title: a\nitems:\n  - name: x\n    limit: 1\n")
	f.Add("count: [1, 2]\nptr: {tags: {a: b}}\n")
	f.Add("&a x: *a\n")
	f.Fuzz(func(t *testing.T, src string) {
		var o outer
		err := Decode("fuzz.yaml", []byte(src), &o)
		if err == nil {
			return
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if !strings.HasPrefix(line, "fuzz.yaml:") {
				t.Fatalf("error without position: %q", line)
			}
		}
	})
}

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"SECRET": "s3", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cases := []struct{ in, want, err string }{
		{"plain", "plain", ""},
		{"${SECRET}", "s3", ""},
		{"a-${SECRET}-b", "a-s3-b", ""},
		{"${MISSING:-http://x}", "http://x", ""},
		{"${EMPTY:-d}", "d", ""},
		{"${EMPTY}", "", ""},
		{"$$5 and $x", "$5 and $x", ""},
		{"${MISSING}", "", "environment variable MISSING is not set"},
		{"${1X}", "", "invalid environment variable name"},
		{"${OPEN", "", "unterminated"},
	}
	for _, c := range cases {
		got, err := expandEnv(c.in, lookup)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}
