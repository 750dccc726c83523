package yamlconf

import (
	"errors"
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

// block is what a key an Extra field takes decodes into in these tests.
type block struct {
	URL   string        `yaml:"url"`
	Every time.Duration `yaml:"every"`
	To    []string      `yaml:"to"`
}

type withExtra struct {
	Pos    Pos
	Fields Fields
	Name   string `yaml:"name"`
	Blocks Extra
}

type extraFile struct {
	Items []withExtra `yaml:"items"`
}

// TestExtra: the keys a struct does not name go to its Extra field, in file
// order, and decode later with the same decoder: errors with the key path
// and place, Fields of the block's keys, and Unknown worded as the struct's
// own unknown fields.
func TestExtra(t *testing.T) {
	src := "items:\n  - name: a\n    hook: {url: \"${URL}\", every: soon, to: [x, y]}\n    hoook: {}\n"
	d := NewDecoder("x.yaml", func(k string) (string, bool) { return "https://h/?t=" + k, true })
	var f extraFile
	if !d.Decode([]byte(src), &f) {
		t.Fatal(d.Errors())
	}
	if err := d.Errors(); err != nil {
		t.Fatalf("document errors: %v", err)
	}
	ex := f.Items[0].Blocks
	if len(ex) != 2 || ex[0].Key != "hook" || ex[1].Key != "hoook" || ex[0].KeyPos != (Pos{"x.yaml", 3, 5}) || ex[0].Pos != (Pos{"x.yaml", 3, 11}) {
		t.Fatalf("extra keys %+v", ex)
	}
	if _, ok := f.Items[0].Fields["hook"]; !ok {
		t.Errorf("Fields lacks the extra key: %v", f.Items[0].Fields)
	}
	var b block
	fields := d.DecodeExtra(ex[0], &b)
	if b.URL != "https://h/?t=URL" || len(b.To) != 2 {
		t.Errorf("decoded %+v", b)
	}
	if fields["to[1]"] != (Pos{"x.yaml", 3, 48}) || fields["url"] != (Pos{"x.yaml", 3, 17}) {
		t.Errorf("fields %v", fields)
	}
	d.Unknown(ex[1], "hook")
	want := "x.yaml:3:34: items[0].hook.every: want a duration such as 30s, 5m or 1h30m, got \"soon\"\n" +
		"x.yaml:4:5: items[0]: unknown field \"hoook\" (did you mean \"hook\"?)"
	if err := d.Errors(); err == nil || err.Error() != want {
		t.Errorf("errors:\n%v\nwant:\n%s", err, want)
	}
}

// TestFailed: a value that did not decode marks its place and the structs
// it is in up to its list item, never the document; the rest stays clean.
func TestFailed(t *testing.T) {
	src := "title: t\ncount: x\nitems:\n  - name: a\n    tags: {k: [1]}\n  - name: b\nptr: {every: soon}\n"
	d := NewDecoder("f.yaml", nil)
	var o outer
	d.Decode([]byte(src), &o)
	for _, c := range []struct {
		p    Pos
		want bool
	}{
		{Pos{"f.yaml", 2, 8}, true},  // count's value
		{Pos{"f.yaml", 5, 15}, true}, // the tag's value
		{Pos{"f.yaml", 4, 5}, true},  // items[0], the list item it is in
		{Pos{"f.yaml", 6, 5}, false}, // items[1]
		{Pos{"f.yaml", 7, 6}, true},  // ptr, whose every failed
		{Pos{"f.yaml", 1, 1}, false}, // the document
		{Pos{"f.yaml", 1, 8}, false}, // title's value
	} {
		if got := d.Failed(c.p); got != c.want {
			t.Errorf("Failed(%v) = %v, want %v", c.p, got, c.want)
		}
	}
}

// TestPointerStaysNilOnError: a *int, *bool or *time.Duration whose value
// did not decode stays nil, so later checks do not see a zero written in
// the file; a pointer to a struct keeps what decoded.
func TestPointerStaysNilOnError(t *testing.T) {
	var v struct {
		N   *int           `yaml:"n"`
		On  *bool          `yaml:"on"`
		For *time.Duration `yaml:"for"`
		In  *inner         `yaml:"in"`
	}
	err := Decode("p.yaml", []byte("n: one\non: yes\nfor: soon\nin: {name: a, limit: x}\n"), &v)
	if err == nil {
		t.Fatal("no error")
	}
	if v.N != nil || v.On != nil || v.For != nil {
		t.Errorf("pointers set after errors: %v %v %v", v.N, v.On, v.For)
	}
	if v.In == nil || v.In.Name != "a" {
		t.Errorf("struct pointer %+v, want name a kept", v.In)
	}
}

// TestRedact: errors quote an expanded value as the file writes it, where
// they are about it and, for values of minRedact characters or more,
// wherever they quote it; a variable's value reads ${NAME} everywhere.
func TestRedact(t *testing.T) {
	env := map[string]string{"TOKEN": "t0ken-secret", "PIN": "42", "QUOTE": `a"b-long-value`}
	d := NewDecoder("r.yaml", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	var v struct {
		URL   string `yaml:"url"`
		PIN   string `yaml:"pin"`
		Q     string `yaml:"q"`
		Other string `yaml:"other"`
		Def   string `yaml:"def"`
	}
	src := "url: https://h/?t=${TOKEN}\npin: ${PIN}\nq: ${QUOTE}\nother: plain\ndef: ${UNSET:-fallback-value}\n"
	if !d.Decode([]byte(src), &v) || d.Errors() != nil {
		t.Fatal(d.Errors())
	}
	at := func(line, col int) Pos { return Pos{"r.yaml", line, col} }
	for _, c := range []struct {
		at       Pos
		msg, out string
	}{
		{at(1, 6), `url "https://h/?t=t0ken-secret" is bad`, `url "https://h/?t=${TOKEN}" is bad`},
		{at(4, 8), `other than "https://h/?t=t0ken-secret"`, `other than "https://h/?t=${TOKEN}"`},
		{at(4, 8), `host of t0ken-secret`, `host of ${TOKEN}`},
		{at(2, 6), `pin "42" is short`, `pin "${PIN}" is short`},
		{at(4, 8), `count 42`, `count 42`}, // short, and not about pin
		{at(3, 4), `q "a\"b-long-value"`, `q "${QUOTE}"`},
		{at(4, 8), `default "fallback-value"`, `default "${UNSET:-fallback-value}"`},
	} {
		err := d.Redact(Errors{{Pos: c.at, Msg: c.msg}})
		if got := err.(Errors)[0].Msg; got != c.out {
			t.Errorf("Redact(%q at %v) = %q, want %q", c.msg, c.at, got, c.out)
		}
	}
	if err := d.Redact(errors.New("plain t0ken-secret")); err.Error() != "plain ${TOKEN}" {
		t.Errorf("plain error: %v", err)
	}
}

// FuzzDecodeExtra decodes garbage through an Extra field and DecodeExtra:
// no panic, and every error has its place.
func FuzzDecodeExtra(f *testing.F) {
	f.Add("items:\n  - name: a\n    hook: {url: x, every: 1s, to: [a]}\n")
	f.Add("items: [{x: [1, {a: b}]}, {y: &a {url: *a}}]\n")
	f.Add("items:\n  - hook: ${X}\n    z: ${Y:-d}\n")
	f.Fuzz(func(t *testing.T, src string) {
		d := NewDecoder("fuzz.yaml", func(k string) (string, bool) { return "v-" + k, true })
		var e extraFile
		if d.Decode([]byte(src), &e) {
			for _, it := range e.Items {
				for _, x := range it.Blocks {
					var b block
					d.DecodeExtra(x, &b)
					d.Unknown(x, "hook")
				}
			}
		}
		err := d.Redact(d.Errors())
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
