package config

import (
	"fmt"
	"reflect"
	"testing"

	"yujing"
	"yujing/internal/yamlconf"
	"yujing/notify/all"
)

const fastHead = "sites:\n  - {id: p, region: \"320506\"}\n  - {id: q}\n"

// fastCases are sensors: lists; fast says whether the fast path reads them
// (else yaml.v3 reads the whole file).
var fastCases = []struct {
	name, list string
	fast       bool
}{
	{"flow", "sensors:\n  - {id: A, name: 1号, site: p, family: gas, metric: lel, unit: \"%LEL\"}\n  - {id: B, site: q, family: flood, interval: 10s, topic: f/B}\n", true},
	{"block", "sensors:\n  - id: A\n    name: 可燃气体 1号\n    site: p\n    family: gas\n  - id: B\n    site: p\n    family: gas\n    unit: 'it''s'\n", true},
	{"at column one, then another key", "sensors:\n- {id: A, site: p, family: gas}\n- id: B\n  site: p\n  family: gas\nrules: []\n", true},
	{"comments and blank lines between items", "sensors:\n  # gas\n  - {id: A, site: p, family: gas}\n\n  - {id: B, site: p, family: gas}   \n# end\n", true},
	{"nulls", "sensors:\n  - {id: A, site: p, family: gas, name: ~, unit: null}\n  - id: B\n    site: p\n    family: gas\n    name: NULL\n", true},
	{"spaces in a flow mapping", "sensors:\n  - {  id:   A ,site: p , family: gas  }\n", true},
	{"plain values with their own punctuation", "sensors:\n  - id: A\n    site: p\n    family: gas\n    location: 罐区[东], 3#\n    topic: a/b{c}\n", true},
	{"check errors point at the value", "sensors:\n  - {id: A, site: nowhere, family: smoke, decoder: xml}\n  - {id: A, site: p, family: gas, topic: yujing/p/B}\n  - {id: B, site: p, family: gas}\n  - {id: 'bad id', site: p, family: gas, topic: a/+}\n", true},
	{"a sensor on another's default topic, in both orders", "sensors:\n  - {id: A, site: p, family: gas}\n  - {id: B, site: p, family: gas, topic: yujing/p/A}\n  - {id: C, site: p, family: gas, topic: yujing/p/D}\n  - {id: D, site: p, family: gas}\n", true},
	{"block errors", "sensors:\n  - id: A\n    site: nowhere\n    family: gas\n    topic: 'x/#'\n", true},

	{"a nested field", "sensors:\n  - {id: A, site: p, family: gas, range: {min: 0, max: 100}}\n", false},
	{"a block nested field", "sensors:\n  - id: A\n    site: p\n    family: gas\n    tags:\n      area: east\n", false},
	{"a comment after a value", "sensors:\n  - {id: A, site: p, family: gas} # first\n", false},
	{"a key twice", "sensors:\n  - {id: A, site: p, site: q, family: gas}\n", false},
	{"an unknown key", "sensors:\n  - {id: A, site: p, family: gas, sight: q}\n", false},
	{"an environment variable", "sensors:\n  - {id: A, site: p, family: gas, name: ${NAME:-x}}\n", false},
	{"an escape", "sensors:\n  - {id: A, site: p, family: gas, name: \"a\\tb\"}\n", false},
	{"an anchor", "sensors:\n  - &a {id: A, site: p, family: gas}\n", false},
	{"a continuation line", "sensors:\n  - id: A\n    site: p\n    family: gas\n    name: long\n      name\n", false},
	{"a bad interval", "sensors:\n  - {id: A, site: p, family: gas, interval: soon}\n", false},
	{"an empty item", "sensors:\n  -\n  - {id: A, site: p, family: gas}\n", false},
	{"uneven items", "sensors:\n  - {id: A, site: p, family: gas}\n    - {id: B, site: p, family: gas}\n", false},
	{"a flow list", "sensors: [{id: A, site: p, family: gas}]\n", false},
	{"an empty mapping", "sensors:\n  - {}\n", false},
	{"a trailing comma", "sensors:\n  - {id: A, site: p, family: gas,}\n", false},
	{"a colon in a flow value", "sensors:\n  - {id: A, site: p, family: gas, topic: a:b}\n", false},
	{"sensors twice", "sensors:\n  - {id: A, site: p, family: gas}\nsensors:\n  - {id: B, site: p, family: gas}\n", false},
	// fastSensors reads the list, Parse then goes to yaml.v3 for all.
	{"a syntax error elsewhere", "sensors:\n  - {id: A, site: p, family: gas}\nrules: [\n", true},
}

// TestFastSensorsAsYAML: what the fast path reads is what yaml.v3 reads —
// the sensors, their places and every error with its place — and lists
// outside its shape go to yaml.v3.
func TestFastSensorsAsYAML(t *testing.T) {
	for _, c := range fastCases {
		t.Run(c.name, func(t *testing.T) {
			data := []byte(fastHead + c.list)
			_, _, _, _, fast := fastSensors("f.yaml", data)
			if fast != c.fast {
				t.Errorf("fast path taken: %v, want %v", fast, c.fast)
			}
			checkFastAsYAML(t, data)
		})
	}
}

// FuzzFastSensors varies the sensors: list (after the sites), where the
// fast path reads: the decoded file and the sensors' checks are the same
// with and without it.
func FuzzFastSensors(f *testing.F) {
	for _, c := range fastCases {
		f.Add(c.list)
	}
	f.Fuzz(func(t *testing.T, list string) {
		data := []byte(fastHead + list)
		got, gotErr := checkSensors(data, true)
		want, wantErr := checkSensors(data, false)
		if gotErr != wantErr {
			t.Fatalf("errors differ:\nfast path:\n%v\nyaml.v3:\n%v", gotErr, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("sensors differ:\nfast path: %+v\nyaml.v3:   %+v", got, want)
		}
		comparePlaces(t, data)
	})
}

// checkSensors decodes data and checks its sites and sensors as Parse
// does, returning the sensors and every error.
func checkSensors(data []byte, fast bool) ([]yujing.Sensor, string) {
	f, dec, ok := decodeFile("f.yaml", data, noEnv, fast)
	if !ok {
		return nil, fmt.Sprint(dec.Errors())
	}
	c := &checker{f: f, opts: Options{Decoders: []string{"json"}}, dec: dec}
	cfg := &Config{}
	c.sensors(cfg, c.sites(cfg))
	errs := c.Errs
	if err := dec.Errors(); err != nil {
		errs = append(err.(yamlconf.Errors), errs...)
	}
	return cfg.Sensors, fmt.Sprint(errs.Err())
}

// checkFastAsYAML compares the parse of data with and without the fast
// path.
func checkFastAsYAML(t *testing.T, data []byte) {
	t.Helper()
	types, err := all.Types()
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Decoders: []string{"json"}, LookupEnv: noEnv, Channels: types}
	got, gotErr := parse("f.yaml", data, opts, true)
	want, wantErr := parse("f.yaml", data, opts, false)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Fatalf("errors differ:\nfast path:\n%v\nyaml.v3:\n%v", gotErr, wantErr)
	}
	if gotErr == nil && !reflect.DeepEqual(got.Sensors, want.Sensors) {
		t.Fatalf("sensors differ:\nfast path: %+v\nyaml.v3:   %+v", got.Sensors, want.Sensors)
	}
	comparePlaces(t, data)
}

// comparePlaces checks that the fast path's sensors, where it reads them,
// are yaml.v3's, with the same places.
func comparePlaces(t *testing.T, data []byte) {
	t.Helper()
	items, _, _, seq, ok := fastSensors("f.yaml", data)
	if !ok {
		return
	}
	var f File
	dec := yamlconf.NewDecoder("f.yaml", noEnv)
	if !dec.Decode(data, &f) || dec.Errors() != nil {
		return // Parse went to yaml.v3 for all
	}
	if len(f.Sensors) != len(items) || f.Fields["sensors"] != seq {
		t.Fatalf("%d sensors at %v, yaml.v3 %d at %v", len(items), seq, len(f.Sensors), f.Fields["sensors"])
	}
	for i := range items {
		fs, ys := items[i], f.Sensors[i]
		if fs.Pos != ys.Pos {
			t.Errorf("sensor %d at %v, yaml.v3 %v", i, fs.Pos, ys.Pos)
		}
		for key, p := range ys.Fields {
			if got := fs.at(key); got != p {
				t.Errorf("sensor %d: %s at %v, yaml.v3 %v", i, key, got, p)
			}
		}
		fs.fast, fs.Fields, ys.Fields = fastItem{}, nil, nil
		if !reflect.DeepEqual(fs, ys) {
			t.Errorf("sensor %d:\nfast path %+v\nyaml.v3   %+v", i, fs, ys)
		}
	}
}
