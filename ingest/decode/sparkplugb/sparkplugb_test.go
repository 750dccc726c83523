package sparkplugb

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"yujing/ingest/decode"
	"yujing/ingest/decode/sparkplugb/spbtest"
)

var update = flag.Bool("update", false, "rewrite testdata/*/{topic,payload,setup,expected.json}")

// Payloads are real Sparkplug B protobuf, built with spbtest.

// wrongWireType is a metric field numbered num with a varint where the
// message defines another wire type.
func wrongWireType(num protowire.Number, v uint64) spbtest.Field {
	return func(b []byte) []byte {
		return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
	}
}

// i32 is the uint32 two's complement of v, as Tahu puts a negative Int8,
// Int16 or Int32 in int_value.
func i32(v int32) uint32 { return uint32(v) }

const t0 = 1763856000000 // 2025-11-23T00:00:00Z in ms

type fixture struct {
	name    string
	topic   string
	setup   []string // cases decoded first, on the same decoder
	payload []byte
}

func fixtures() []fixture {
	nbirth := spbtest.Payload(t0, 0,
		spbtest.Metric(spbtest.Name("bdSeq"), spbtest.Type(typeInt64), spbtest.Long(3)),
		spbtest.Metric(spbtest.Name("Node Control/Rebirth"), spbtest.Type(typeBoolean), spbtest.Bool(false)),
		spbtest.Metric(spbtest.Name("temperature"), spbtest.Alias(100), spbtest.Type(typeDouble), spbtest.Double(21.5)),
		spbtest.Metric(spbtest.Name("firmware"), spbtest.Alias(101), spbtest.Type(12), spbtest.Str("1.2.0")),
	)
	dbirth := spbtest.Payload(t0, 1,
		spbtest.Metric(spbtest.Name("lel"), spbtest.Alias(1), spbtest.Time(t0-1000), spbtest.Type(typeFloat), spbtest.Float(31.5)),
		spbtest.Metric(spbtest.Name("pressure"), spbtest.Alias(2), spbtest.Type(typeDouble), spbtest.Double(0.41)),
		spbtest.Metric(spbtest.Name("alarm"), spbtest.Alias(3), spbtest.Type(typeBoolean), spbtest.Bool(true)),
		spbtest.Metric(spbtest.Name("status"), spbtest.Alias(4), spbtest.Type(12), spbtest.Str("ok")),
		spbtest.Metric(spbtest.Name("offset"), spbtest.Alias(5), spbtest.Type(typeInt8), spbtest.Int(i32(-3))),
		spbtest.Metric(spbtest.Name("count"), spbtest.Alias(6), spbtest.Type(typeUInt32), spbtest.Long(4000000000)),
		spbtest.Metric(spbtest.Name("Device Control/Rebirth"), spbtest.Alias(7), spbtest.Type(typeBoolean), spbtest.Bool(false)),
	)
	ddataName := spbtest.Payload(t0+60000, 3,
		spbtest.Metric(spbtest.Name("lel"), spbtest.Type(typeFloat), spbtest.Float(12.5)),
		spbtest.Metric(spbtest.Name("level"), spbtest.Time(t0+59000), spbtest.Type(typeDouble), spbtest.Double(3.2)),
		spbtest.Metric(spbtest.Name("temp"), spbtest.Type(typeInt16), spbtest.Int(uint32(uint16(0xFFD8)))), // -40 zero-extended
		spbtest.Metric(spbtest.Name("total"), spbtest.Type(typeUInt64), spbtest.Long(math.MaxUint64)),
		spbtest.Metric(spbtest.Name("valve"), spbtest.Type(typeBoolean), spbtest.Bool(true)),
		spbtest.Metric(spbtest.Name("note"), spbtest.Type(12), spbtest.Str("calibrated")),
		spbtest.Metric(spbtest.Name("fault"), spbtest.Type(typeDouble), spbtest.Null()),
		spbtest.Metric(spbtest.Name("raw"), spbtest.Int(i32(-5))), // no datatype, no BIRTH: taken as Int32
	)
	// Tahu's DBIRTH: a placeholder lel = 0.0 timed with the payload (seq
	// 254, so that the DATA after it wrap past 255).
	placeholder := spbtest.Payload(t0, 254,
		spbtest.Metric(spbtest.Name("lel"), spbtest.Alias(1), spbtest.Time(t0), spbtest.Type(typeFloat), spbtest.Float(0)),
		spbtest.Metric(spbtest.Name("pressure"), spbtest.Alias(2), spbtest.Type(typeDouble), spbtest.Double(0)),
	)
	return []fixture{
		{name: "nbirth", topic: "spBv1.0/plant/NBIRTH/edge1", payload: nbirth},
		{name: "dbirth-placeholder", topic: "spBv1.0/plant/DBIRTH/edge1/GT-101", payload: placeholder},
		// The first DDATA, at the BIRTH's millisecond with the next seq:
		// both values supersede the BIRTH's; the one a millisecond later
		// has nothing to supersede.
		{name: "ddata-supersedes-birth", topic: "spBv1.0/plant/DDATA/edge1/GT-101", setup: []string{"dbirth-placeholder"},
			payload: spbtest.Payload(t0, 255,
				spbtest.Metric(spbtest.Alias(1), spbtest.Time(t0), spbtest.Float(60)),
				spbtest.Metric(spbtest.Alias(2), spbtest.Double(0.4)),
				spbtest.Metric(spbtest.Alias(1), spbtest.Time(t0+1), spbtest.Float(61)),
			)},
		// seq 255 is followed by 0: still newer than the BIRTH's 254
		// (another device's messages took 255).
		{name: "ddata-seq-wraps", topic: "spBv1.0/plant/DDATA/edge1/GT-101", setup: []string{"dbirth-placeholder"},
			payload: spbtest.Payload(t0, 0, spbtest.Metric(spbtest.Alias(1), spbtest.Time(t0), spbtest.Float(60)))},
		// A DATA of the same instant with a seq before the BIRTH's is an
		// older message: it supersedes nothing.
		{name: "ddata-before-birth", topic: "spBv1.0/plant/DDATA/edge1/GT-101", setup: []string{"dbirth-placeholder"},
			payload: spbtest.Payload(t0, 250, spbtest.Metric(spbtest.Alias(1), spbtest.Time(t0), spbtest.Float(60)))},
		{name: "dbirth-aliases", topic: "spBv1.0/plant/DBIRTH/edge1/GT-101", payload: dbirth},
		{name: "ddata-alias", topic: "spBv1.0/plant/DDATA/edge1/GT-101", setup: []string{"dbirth-aliases"},
			payload: spbtest.Payload(t0+60000, 2,
				spbtest.Metric(spbtest.Alias(1), spbtest.Float(33)),
				spbtest.Metric(spbtest.Alias(2), spbtest.Time(t0+59500), spbtest.Double(0.42)),
				spbtest.Metric(spbtest.Alias(3), spbtest.Bool(false)),
				spbtest.Metric(spbtest.Alias(4), spbtest.Str("degraded")),
				spbtest.Metric(spbtest.Alias(5), spbtest.RawInt(uint64(math.MaxUint64-6))), // -7, sign-extended to 64 bits
				spbtest.Metric(spbtest.Alias(6), spbtest.Long(4000000001)),
			)},
		{name: "ddata-name", topic: "spBv1.0/plant/DDATA/edge1/GT-102", payload: ddataName},
		{name: "ndata-alias", topic: "spBv1.0/plant/NDATA/edge1", setup: []string{"nbirth"},
			payload: spbtest.Payload(t0+60000, 4, spbtest.Metric(spbtest.Alias(100), spbtest.Double(22)))},
		{name: "ddeath", topic: "spBv1.0/plant/DDEATH/edge1/GT-101", payload: spbtest.Payload(t0+120000, 5)},
		{name: "ndeath", topic: "spBv1.0/plant/NDEATH/edge1",
			payload: spbtest.Payload(0, 0, spbtest.Metric(spbtest.Name("bdSeq"), spbtest.Type(typeInt64), spbtest.Long(3)))},
		{name: "ndeath-after-nbirth", topic: "spBv1.0/plant/NDEATH/edge1", setup: []string{"nbirth", "dbirth-aliases"},
			payload: spbtest.Payload(0, 0, spbtest.Metric(spbtest.Name("bdSeq"), spbtest.Type(typeInt64), spbtest.Long(3)))},
		{name: "ndeath-stale-bdseq", topic: "spBv1.0/plant/NDEATH/edge1", setup: []string{"nbirth"},
			payload: spbtest.Payload(0, 0, spbtest.Metric(spbtest.Name("bdSeq"), spbtest.Type(typeInt64), spbtest.Long(2)))},
		{name: "unknown-alias", topic: "spBv1.0/plant/DDATA/edge1/dev1",
			payload: spbtest.Payload(t0, 0,
				spbtest.Metric(spbtest.Alias(7), spbtest.Float(1)),
				spbtest.Metric(spbtest.Name("lel"), spbtest.Type(typeFloat), spbtest.Float(1.5)),
			)},
		{name: "alias-not-in-birth", topic: "spBv1.0/plant/DDATA/edge1/GT-101", setup: []string{"dbirth-aliases"},
			payload: spbtest.Payload(t0+60000, 2, spbtest.Metric(spbtest.Alias(9), spbtest.Float(1)), spbtest.Metric(spbtest.Alias(1), spbtest.Float(30)))},
		{name: "ddata-after-ddeath", topic: "spBv1.0/plant/DDATA/edge1/GT-101", setup: []string{"dbirth-aliases", "ddeath"},
			payload: spbtest.Payload(t0+180000, 6, spbtest.Metric(spbtest.Alias(1), spbtest.Float(30)))},
		{name: "ddata-after-ndeath", topic: "spBv1.0/plant/DDATA/edge1/GT-101", setup: []string{"dbirth-aliases", "ndeath"},
			payload: spbtest.Payload(t0+180000, 6, spbtest.Metric(spbtest.Alias(1), spbtest.Float(30)))},
		{name: "not-finite", topic: "spBv1.0/plant/DDATA/edge1/GT-101",
			payload: spbtest.Payload(t0, 0,
				spbtest.Metric(spbtest.Name("lel"), spbtest.Type(typeFloat), spbtest.Float(float32(math.NaN()))),
				spbtest.Metric(spbtest.Name("pressure"), spbtest.Type(typeDouble), spbtest.Double(math.Inf(1))),
				spbtest.Metric(spbtest.Name("level"), spbtest.Type(typeDouble), spbtest.Double(1)),
			)},
		{name: "bad-values", topic: "spBv1.0/plant/DDATA/edge1/GT-101",
			payload: spbtest.Payload(t0, 0,
				spbtest.Metric(spbtest.Name("lel"), spbtest.Type(typeFloat), spbtest.Int(3)),
				spbtest.Metric(spbtest.Name("when"), spbtest.Type(typeDouble), spbtest.Time(math.MaxInt64), spbtest.Double(1)),
				spbtest.Metric(spbtest.Type(typeDouble), spbtest.Double(1)),
				spbtest.Metric(spbtest.Name("bad"), wrongWireType(fMetricFloat, 1)), // float_value with the wrong wire type
				spbtest.Metric(spbtest.Name("ok"), spbtest.Type(typeUInt8), spbtest.Int(200)),
			)},
		{name: "dbirth-truncated", topic: "spBv1.0/plant/DBIRTH/edge1/GT-101", payload: dbirth[:len(dbirth)-3]},
		{name: "ddata-after-bad-dbirth", topic: "spBv1.0/plant/DDATA/edge1/GT-101", setup: []string{"dbirth-aliases", "dbirth-truncated"},
			payload: spbtest.Payload(t0+180000, 6, spbtest.Metric(spbtest.Alias(1), spbtest.Float(30)))},
		{name: "truncated", topic: "spBv1.0/plant/DDATA/edge1/GT-102", payload: ddataName[:len(ddataName)/2]},
		{name: "not-protobuf", topic: "spBv1.0/plant/DDATA/edge1/GT-101", payload: []byte(`{"value": 31.5}`)},
		{name: "wrong-namespace", topic: "spAv1.0/plant/DDATA/edge1/GT-101", payload: ddataName},
		{name: "device-missing", topic: "spBv1.0/plant/DDATA/edge1", payload: ddataName},
		{name: "ncmd", topic: "spBv1.0/plant/NCMD/edge1",
			payload: spbtest.Payload(t0, 0, spbtest.Metric(spbtest.Name("Node Control/Rebirth"), spbtest.Type(typeBoolean), spbtest.Bool(true)))},
		{name: "state", topic: "spBv1.0/STATE/scada-host", payload: []byte(`{"online": true, "timestamp": 1763856000000}`)},
	}
}

func writeFixtures(t *testing.T) {
	for _, f := range fixtures() {
		dir := filepath.Join("testdata", f.name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{"topic": []byte(f.topic + "\n"), "payload": f.payload}
		if len(f.setup) > 0 {
			files["setup"] = []byte(strings.Join(f.setup, "\n") + "\n")
		} else {
			_ = os.Remove(filepath.Join(dir, "setup"))
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

type message struct {
	topic   string
	payload []byte
	setup   []string
}

func readCase(t testing.TB, dir string) message {
	topic, err := os.ReadFile(filepath.Join(dir, "topic"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := os.ReadFile(filepath.Join(dir, "payload"))
	if err != nil {
		t.Fatal(err)
	}
	m := message{topic: strings.TrimSpace(string(topic)), payload: payload}
	if setup, err := os.ReadFile(filepath.Join(dir, "setup")); err == nil {
		m.setup = strings.Fields(string(setup))
	} else if !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return m
}

type golden struct {
	Points []decode.Point  `json:"points"`
	Errors []*decode.Error `json:"errors,omitempty"`
}

// TestGolden decodes testdata/<case>/payload, published on the topic in
// testdata/<case>/topic, with a new decoder that has first decoded the
// cases listed in testdata/<case>/setup (a BIRTH, say; their own results
// are checked as cases of their own). -update rewrites
// the binary payloads from fixtures() as well as expected.json.
func TestGolden(t *testing.T) {
	if *update {
		writeFixtures(t)
	}
	dirs, _ := filepath.Glob("testdata/*")
	if len(dirs) == 0 {
		t.Fatal("no golden cases")
	}
	for _, dir := range dirs {
		if filepath.Base(dir) == "fuzz" { // go test -fuzz's corpus
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			m := readCase(t, dir)
			d := Default()
			for _, s := range m.setup {
				sm := readCase(t, filepath.Join("testdata", s))
				_, _ = d.DecodeTopic(nil, sm.topic, sm.payload) // checked as a case of its own
			}
			pts, err := d.DecodeTopic(nil, m.topic, m.payload)
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
				t.Errorf("decoded %s %x:\n%s\nwant:\n%s", m.topic, m.payload, b, want)
			}
		})
	}
}

// TestFixtures checks that the stored binary payloads are what the
// builders make, so a change to either is noticed.
func TestFixtures(t *testing.T) {
	for _, f := range fixtures() {
		m := readCase(t, filepath.Join("testdata", f.name))
		if m.topic != f.topic || !bytes.Equal(m.payload, f.payload) || strings.Join(m.setup, " ") != strings.Join(f.setup, " ") {
			t.Errorf("testdata/%s differs from fixtures() (run go test -update and review the diff)", f.name)
		}
	}
}

func TestTopics(t *testing.T) {
	for _, c := range []struct {
		topic  string
		typ    messageType
		group  string
		edge   string
		device string
		err    string
	}{
		{topic: "spBv1.0/g/DDATA/e/d", typ: msgDDATA, group: "g", edge: "e", device: "d"},
		{topic: "spBv1.0/g/NDATA/e", typ: msgNDATA, group: "g", edge: "e"},
		{topic: "spBv1.0/STATE/host", typ: msgSTATE},
		{topic: "STATE/host", typ: msgSTATE},
		{topic: "spAv1.0/g/DDATA/e/d", err: `namespace "spAv1.0"`},
		{topic: "yujing/demo-plant/GT-101", err: `namespace "yujing"`},
		{topic: "spBv1.0", err: `message type ""`},
		{topic: "spBv1.0/g/DATA/e/d", err: `message type "DATA"`},
		{topic: "spBv1.0/g/DDATA/e", err: "want spBv1.0/<group_id>/DDATA/<edge_node_id>/<device_id>"},
		{topic: "spBv1.0/g/DDATA/e/d/x", err: "want spBv1.0/<group_id>/DDATA/<edge_node_id>/<device_id>"},
		{topic: "spBv1.0/g/NDATA/e/d", err: "want spBv1.0/<group_id>/NDATA/<edge_node_id>"},
		{topic: "spBv1.0//NDATA/e", err: "want spBv1.0/<group_id>/NDATA/<edge_node_id>"},
		{topic: "spBv1.0/g/DDATA//d", err: "want spBv1.0/<group_id>/DDATA/<edge_node_id>/<device_id>"},
	} {
		got, err := parseTopic(c.topic)
		if c.err != "" {
			if err == nil || err.Reason != decode.ReasonMalformed || !strings.Contains(err.Msg, c.err) {
				t.Errorf("%s: err = %v, want malformed %q", c.topic, err, c.err)
			}
			continue
		}
		if err != nil || got.typ != c.typ || got.node.group != c.group || got.node.edge != c.edge || got.device != c.device {
			t.Errorf("%s: got %+v, %v", c.topic, got, err)
		}
	}
}

func TestDecodeNeedsTopic(t *testing.T) {
	var _ decode.TopicDecoder = Default()
	_, err := Default().Decode(nil, spbtest.Payload(t0, 0))
	if es := decode.Split(err); len(es) != 1 || es[0].Reason != decode.ReasonMalformed {
		t.Errorf("Decode without topic: %v", err)
	}
}

func TestIntegerTypes(t *testing.T) {
	for _, c := range []struct {
		typ  uint32
		f    spbtest.Field
		want float64
	}{
		{typeInt8, spbtest.Int(i32(-128)), -128},
		{typeInt8, spbtest.Int(0xFF), -1}, // zero-extended encoding
		{typeInt16, spbtest.Int(i32(-32768)), -32768},
		{typeInt32, spbtest.Int(i32(math.MinInt32)), math.MinInt32},
		{typeInt32, spbtest.Long(uint64(math.MaxUint64)), -1},
		{typeInt64, spbtest.Long(uint64(1) << 63), math.MinInt64},
		{typeUInt8, spbtest.Int(255), 255},
		{typeUInt16, spbtest.Int(65535), 65535},
		{typeUInt32, spbtest.Int(math.MaxUint32), math.MaxUint32},
		{typeUInt32, spbtest.Long(math.MaxUint32), math.MaxUint32},
		{typeUInt64, spbtest.Long(math.MaxUint64), math.MaxUint64},
		{typeBoolean, spbtest.Bool(true), 1},
		{typeFloat, spbtest.Double(2.5), 2.5},
	} {
		p := spbtest.Payload(0, 0, spbtest.Metric(spbtest.Name("m"), spbtest.Type(c.typ), c.f))
		pts, err := Default().DecodeTopic(nil, "spBv1.0/g/DDATA/e/d", p)
		if err != nil || len(pts) != 1 || pts[0].Value != c.want {
			t.Errorf("%s: got %+v, %v, want %v", typeName(c.typ), pts, err, c.want)
		}
	}
}

// TestFollows: a message follows the BIRTH when its seq is one of the
// 127 after the BIRTH's, counting 255 → 0.
func TestFollows(t *testing.T) {
	for _, c := range []struct {
		birth, seq    uint64
		birthSeq, has bool
		want          bool
	}{
		{birth: 1, seq: 2, birthSeq: true, has: true, want: true},
		{birth: 254, seq: 255, birthSeq: true, has: true, want: true},
		{birth: 255, seq: 0, birthSeq: true, has: true, want: true},
		{birth: 200, seq: 71, birthSeq: true, has: true, want: true},  // 127 after
		{birth: 200, seq: 72, birthSeq: true, has: true, want: false}, // 128 after: as far behind as ahead
		{birth: 5, seq: 5, birthSeq: true, has: true, want: false},    // the BIRTH itself, or 256 later
		{birth: 5, seq: 4, birthSeq: true, has: true, want: false},    // sent before the BIRTH
		{birth: 0, seq: 255, birthSeq: true, has: true, want: false},  // 255 before 0
		{birth: 5, seq: 4, birthSeq: false, has: true, want: true},    // no seq: receipt order
		{birth: 5, seq: 4, birthSeq: true, has: false, want: true},
		{birth: 1, seq: 258, birthSeq: true, has: true, want: true}, // out of range: mod 256
	} {
		tb := &birthTable{seq: c.birth, hasSeq: c.birthSeq}
		if got := tb.follows(c.seq, c.has); got != c.want {
			t.Errorf("BIRTH seq %d (%v), message seq %d (%v): follows = %v, want %v", c.birth, c.birthSeq, c.seq, c.has, got, c.want)
		}
	}
}

// TestMemoryBound births many devices into a small memory: the oldest
// nodes are forgotten and the size stays near the bound.
func TestMemoryBound(t *testing.T) {
	const max = 64 << 10
	d, _ := New(Config{MaxMemory: max})
	var metrics [][]byte
	for i := range 20 {
		metrics = append(metrics, spbtest.Metric(spbtest.Name(fmt.Sprintf("metric-with-a-longish-name-%02d", i)), spbtest.Alias(uint64(i)), spbtest.Type(typeDouble), spbtest.Double(1)))
	}
	birth := spbtest.Payload(t0, 0, metrics...)
	for n := range 200 {
		topic := fmt.Sprintf("spBv1.0/g/DBIRTH/edge%d/dev", n)
		if _, err := d.DecodeTopic(nil, topic, birth); err != nil {
			t.Fatal(err)
		}
		if _, _, size := d.mem.stats(); size > max+len(birth)*20 {
			t.Fatalf("after %d births: %d bytes held, bound %d", n+1, size, max)
		}
	}
	nodes, tables, _ := d.mem.stats()
	if nodes >= 200 || nodes == 0 || tables != nodes {
		t.Errorf("%d nodes, %d tables kept", nodes, tables)
	}
	data := spbtest.Payload(t0, 1, spbtest.Metric(spbtest.Alias(3), spbtest.Double(2)))
	if _, err := d.DecodeTopic(nil, "spBv1.0/g/DDATA/edge199/dev", data); err != nil {
		t.Errorf("newest node forgotten: %v", err)
	}
	_, err := d.DecodeTopic(nil, "spBv1.0/g/DDATA/edge0/dev", data)
	if err == nil || !strings.Contains(err.Error(), "no BIRTH seen for edge0/dev") {
		t.Errorf("oldest node: err = %v", err)
	}
}

// TestConcurrent: eight gateways' worth of births, data and deaths
// decoded at once through one decoder (under -race in make test). Every
// message decodes as it would alone — a birth to its snapshot, a death to
// its offline event, data to its value — except data whose birth another
// worker's death (or the memory limit) has just forgotten, refused as an
// unknown alias; nothing else goes wrong, and afterwards a birth and its
// data decode as on a fresh decoder.
func TestConcurrent(t *testing.T) {
	d, _ := New(Config{MaxMemory: 8 << 10})
	birth := spbtest.Payload(t0, 0, spbtest.Metric(spbtest.Name("lel"), spbtest.Alias(1), spbtest.Type(typeFloat), spbtest.Float(1)))
	data := spbtest.Payload(t0, 1, spbtest.Metric(spbtest.Alias(1), spbtest.Float(2)))
	// check returns what is wrong with one decode ("" when nothing) and
	// whether it was data refused for want of its birth.
	check := func(kind string, pts []decode.Point, err error) (string, bool) {
		switch {
		case kind == "DDATA" && err != nil:
			for _, e := range decode.Split(err) {
				if e.Reason != decode.ReasonBadValue || !strings.Contains(e.Msg, "alias 1 unknown") {
					return fmt.Sprintf("DDATA refused with %v", err), false
				}
			}
			return "", true
		case err != nil:
			return fmt.Sprintf("%s refused: %v", kind, err), false
		case kind == "DDATA" && (len(pts) != 1 || pts[0].Metric != "lel" || pts[0].Value != 2):
			return fmt.Sprintf("DDATA gave %+v, want lel = 2", pts), false
		case kind == "DBIRTH" && !slices.ContainsFunc(pts, func(p decode.Point) bool { return p.Metric == "lel" && p.Value == 1 && p.Snapshot }):
			return fmt.Sprintf("DBIRTH gave %+v, want the snapshot lel = 1", pts), false
		case (kind == "DDEATH" || kind == "NDEATH") && !slices.ContainsFunc(pts, func(p decode.Point) bool { return p.Event == decode.EventOffline }):
			return fmt.Sprintf("%s gave %+v, want an offline event", kind, pts), false
		}
		return "", false
	}
	var (
		wg                     sync.WaitGroup
		mu                     sync.Mutex
		wrong                  []string
		decoded, forgotten, nd int
	)
	for w := range 8 {
		wg.Go(func() {
			var dst []decode.Point
			var err error
			var bad []string
			var ok, lost, n int
			decodeAs := func(kind, topic string, payload []byte) {
				dst, err = d.DecodeTopic(dst[:0], topic, payload)
				n++
				if msg, refused := check(kind, dst, err); msg != "" {
					bad = append(bad, topic+": "+msg)
				} else if refused {
					lost++
				} else if kind == "DDATA" {
					ok++
				}
			}
			for i := range 300 {
				dev := fmt.Sprintf("spBv1.0/g/%%s/edge%d/dev%d", w%3, i%7)
				decodeAs("DBIRTH", fmt.Sprintf(dev, "DBIRTH"), birth)
				decodeAs("DDATA", fmt.Sprintf(dev, "DDATA"), data)
				if i%50 == 0 {
					decodeAs("NDEATH", fmt.Sprintf("spBv1.0/g/NDEATH/edge%d", w%3), nil)
				}
				if i%11 == 0 {
					decodeAs("DDEATH", fmt.Sprintf(dev, "DDEATH"), nil)
				}
			}
			mu.Lock()
			wrong, decoded, forgotten, nd = append(wrong, bad...), decoded+ok, forgotten+lost, nd+n
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("%d messages: %d data decoded, %d refused for a birth another worker's death forgot", nd, decoded, forgotten)
	if len(wrong) > 0 {
		t.Errorf("%d decodes went wrong, first: %s", len(wrong), wrong[0])
	}
	if decoded == 0 {
		t.Error("no data decoded at all")
	}
	for e := range 3 {
		for v := range 7 {
			dev := fmt.Sprintf("spBv1.0/g/%%s/edge%d/dev%d", e, v)
			pts, err := d.DecodeTopic(nil, fmt.Sprintf(dev, "DBIRTH"), birth)
			if msg, _ := check("DBIRTH", pts, err); msg != "" {
				t.Errorf("afterwards, %s", msg)
			}
			pts, err = d.DecodeTopic(nil, fmt.Sprintf(dev, "DDATA"), data)
			if msg, refused := check("DDATA", pts, err); msg != "" || refused {
				t.Errorf("afterwards, edge%d/dev%d's data after its birth: %v %v", e, v, pts, err)
			}
		}
	}
}

var reasons = map[decode.Reason]bool{
	decode.ReasonMalformed: true, decode.ReasonBadValue: true,
	decode.ReasonNotFinite: true, decode.ReasonBadTime: true,
}

func FuzzDecode(f *testing.F) {
	dirs, _ := filepath.Glob("testdata/*")
	for _, dir := range dirs {
		if filepath.Base(dir) == "fuzz" {
			continue
		}
		m := readCase(f, dir)
		f.Add(m.topic, m.payload)
	}
	// One decoder for the whole run, with a small memory, so BIRTHs of
	// earlier inputs are in play and the bound is exercised.
	d, _ := New(Config{MaxMemory: 4 << 10})
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		pts, err := d.DecodeTopic(nil, topic, payload)
		for _, p := range pts {
			if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
				t.Fatalf("%v leaked from %s %x", p.Value, topic, payload)
			}
			if (p.Event == "") == (p.Metric == "") || p.Sensor == "" || !utf8.ValidString(p.Metric) {
				t.Fatalf("bad point %+v from %s %x", p, topic, payload)
			}
			// Only a BIRTH's values are snapshots, only a DATA's supersede.
			birth, data := strings.Contains(topic, "BIRTH/"), strings.Contains(topic, "DATA/")
			if p.Snapshot && (!birth || p.Event != "") || p.Supersedes && !data {
				t.Fatalf("point %+v from %s %x", p, topic, payload)
			}
		}
		if err != nil {
			for _, e := range decode.Split(err) {
				if !reasons[e.Reason] || e.Msg == "" {
					t.Fatalf("unclassified error %#v from %s %x", e, topic, payload)
				}
			}
		}
		// At most the bound plus the table just born (≤ 20 bytes held per
		// payload byte: a metric of 5 bytes costs about 100).
		if _, _, size := d.mem.stats(); size > 4<<10+len(payload)*20+nodeCost+len(topic) {
			t.Fatalf("memory holds %d bytes", size)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	var fx = map[string]fixture{}
	for _, f := range fixtures() {
		fx[f.name] = f
	}
	d := Default()
	birth := fx["dbirth-aliases"]
	if _, err := d.DecodeTopic(nil, birth.topic, birth.payload); err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"ddata-alias", "ddata-name", "dbirth-aliases"} {
		c := fx[name]
		b.Run(name, func(b *testing.B) {
			dst := make([]decode.Point, 0, 16)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if dst, err = d.DecodeTopic(dst[:0], c.topic, c.payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
