package sheet

import (
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/config"
	"yujing/configs"
	"yujing/ingest"
	"yujing/ingest/decode/all"
	"yujing/store/sqlite"
	"yujing/store/sqlstate"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var decoders = []string{"json", "lineprotocol", "plain", "sparkplugb"}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func validID(id string) bool { return idPattern.MatchString(id) }

// newCatalog is a real catalogue of sites and sensors, saving to st (nil:
// one that only checks).
func newCatalog(t testing.TB, st ingest.SensorStore, sites []yujing.Site, sensors []yujing.Sensor) *ingest.Catalog {
	t.Helper()
	reg, err := ingest.NewRegistry(sites, sensors)
	if err != nil {
		t.Fatal(err)
	}
	cat := ingest.NewCatalog(reg, st, sites, sensors, nil, decoders, yujing.BuiltinFamilies())
	if st != nil {
		if err := cat.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	return cat
}

func fuzzCatalog(t testing.TB) *ingest.Catalog {
	return newCatalog(t, nil, []yujing.Site{{ID: "s", Name: "站"}}, []yujing.Sensor{{ID: "A", Site: "s", Family: yujing.FamilyGas, Decoder: "json", Metric: "value"}})
}

// demoCatalog is the demo configuration's catalogue, as yujing serve
// builds it, over a state database in a temporary directory.
func demoCatalog(t *testing.T) (*ingest.Catalog, *sqlstate.State, string) {
	t.Helper()
	reg, err := all.Registry()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(configs.DemoName, configs.Demo, config.Options{Decoders: reg.Names()})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := sqlite.OpenState(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r, err := ingest.NewRegistry(cfg.Sites, cfg.Sensors, cfg.MQTT.Topics...)
	if err != nil {
		t.Fatal(err)
	}
	cat := ingest.NewCatalog(r, st, cfg.Sites, cfg.Sensors, cfg.MQTT.Topics, reg.Names(), cfg.Families)
	if err := cat.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	return cat, st, path
}

// describe is a step as one line: "create …", "update …", "invalid: …".
func describe(res *Result, i int) string {
	s := res.Steps[i]
	got := string(s.Action)
	switch s.Action {
	case Update:
		got += " " + strings.Join(s.Changes, "; ")
	case Create:
		got += " " + s.Details
	case Invalid:
		var ps []string
		for _, p := range res.Problems {
			if (s.Line > 0 && p.Line == s.Line) || (s.Item > 0 && p.Item == s.Item) {
				ps = append(ps, p.Format("f.csv"))
			}
		}
		got += ": " + strings.Join(ps, "; ")
	}
	return got
}

// TestImportKeepsWhatCellsLeaveEmpty: a row changes only what its cells
// say; a location's place name and coordinates, a tags cell and tag:NAME
// cells each keep or replace their own part.
func TestImportKeepsWhatCellsLeaveEmpty(t *testing.T) {
	lo, hi := 0.0, 100.0
	cur := yujing.Sensor{ID: "GT-1", Name: "罐区探测器", Site: "plant", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL",
		Units: map[string]string{"lel": "%LEL", "temp": "℃"}, Location: "罐区东侧 (31.1,120.2)", Topic: "yujing/plant/GT-1",
		Decoder: "json", Interval: 10 * time.Second, Min: &lo, Max: &hi, Tags: map[string]string{"zone": "A", "owner": "王工"}}
	sites := []yujing.Site{{ID: "plant", Name: "一号厂区"}, {ID: "yard", Name: "堆场"}}
	cat := newCatalog(t, nil, sites, []yujing.Sensor{cur})
	for _, c := range []struct {
		name, sheet string
		want        string
	}{
		{"nothing but the id", "id,name,max\nGT-1,,\n", "unchanged"},
		{"the same values", "编号,名称,量程上限,上报间隔\nGT-1,罐区探测器,100,10秒\n", "unchanged"},
		{"place name only", "id,location,lat,lon\nGT-1,罐区西侧,,\n", `update location "罐区东侧 (31.1,120.2)" → "罐区西侧 (31.1,120.2)"`},
		{"coordinates only", "id,location,lat,lon\nGT-1,,31.3,120.4\n", `update location "罐区东侧 (31.1,120.2)" → "罐区东侧 (31.3,120.4)"`},
		{"tags cell replaces", "id,tags\nGT-1,zone=B\n", "update tags {owner=王工, zone=A} → {zone=B}"},
		{"tag column sets one", "id,tag:zone\nGT-1,B\n", "update tags {owner=王工, zone=A} → {owner=王工, zone=B}"},
		{"site moves the default topic", "id,site\nGT-1,yard\n", `update site "plant" → "yard"; topic "yujing/plant/GT-1" → "yujing/yard/GT-1"`},
		{"a site by its name", "id,site\nGT-1,堆场\n", `update site "plant" → "yard"; topic "yujing/plant/GT-1" → "yujing/yard/GT-1"`},
		{"topic template", "id,topic\nGT-1,field/{site}/{family}/{sensor}\n", `update topic "yujing/plant/GT-1" → "field/plant/gas/GT-1"`},
		{"one end inverts the range", "id,min\nGT-1,150\n", `invalid: f.csv:2: column "min": range min 150 must be below max 100 (the other end is the sensor's current one)`},
		{"new without a site", "id,family\nGT-2,gas\n", `invalid: f.csv:2: site: empty; a new sensor needs its site`},
		{"new", "id,family,site\nGT-2,防汛,plant\n", "create flood at plant, topic yujing/plant/GT-2, decoder json, every 1m"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := Parse([]byte(c.sheet)).Import(t.Context(), cat, true)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Steps) != 1 {
				t.Fatalf("%d steps", len(res.Steps))
			}
			if got := describe(res, 0); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
			if s := res.Steps[0]; s.Action == Update && (len(s.sensor.Units) != 2 || s.sensor.Metric != "lel" || *s.sensor.Max != 100) {
				t.Errorf("fields without a cell changed: %+v", s.sensor)
			}
		})
	}
	if got := cat.Sensors(); len(got) != 1 || len(got[0].Tags) != 2 || got[0].Tags["zone"] != "A" {
		t.Errorf("a dry run changed the sensor in force: %+v", got)
	}
}

// TestImportChecksTheSheetAsTheServerDoes: what the catalogue refuses —
// a topic another sensor has, in the sheet or in force, a site or a
// decoder it does not know, a sensor id it does not accept — is reported
// at the row's line and the column's header, in a dry run as in an
// import, together with every other problem of the sheet.
func TestImportChecksTheSheetAsTheServerDoes(t *testing.T) {
	for _, c := range []struct {
		name, sheet string
		want        []string // per row
	}{
		{"a topic in force", "编号,类型,站点,主题\nX-7,燃气,demo-plant,yujing/demo-plant/GT-101\n",
			[]string{`invalid: f.csv:2: column "主题": "yujing/demo-plant/GT-101" is already used by sensor GT-101`}},
		{"a topic twice in the sheet", "id,family,site,topic\nX-1,gas,demo-plant,t/1\nX-2,gas,demo-plant,t/1\n",
			[]string{"create gas at demo-plant, topic t/1, decoder json, every 1m",
				`invalid: f.csv:3: column "topic": "t/1" is already used by sensor X-1`}},
		{"two sensors swap topics", "id,topic\nGT-101,yujing/demo-plant/TK-201\nTK-201,yujing/demo-plant/GT-101\n",
			[]string{`update topic "yujing/demo-plant/GT-101" → "yujing/demo-plant/TK-201"`,
				`update topic "yujing/demo-plant/TK-201" → "yujing/demo-plant/GT-101"`}},
		{"the default topic of a sensor moved in", "id,family,site\nGT-101,gas,demo-plant\nX-1,gas,demo-plant\n",
			[]string{"unchanged", "create gas at demo-plant, topic yujing/demo-plant/X-1, decoder json, every 1m"}},
		{"a site the server does not know", "Id,Family,Site\nX-1,gas,plant-9\n",
			[]string{`invalid: f.csv:2: column "Site": site "plant-9" is not defined (sites: demo-plant)`}},
		{"a site by its name", "id,family,site\nX-1,gas,演示化工园区\n",
			[]string{"create gas at demo-plant, topic yujing/demo-plant/X-1, decoder json, every 1m"}},
		{"a decoder the server does not have", "id,family,site,decoder\nX-1,gas,demo-plant,modbus\n",
			[]string{`invalid: f.csv:2: column "decoder": unknown decoder "modbus" (want one of cap, json, lineprotocol, plain, sparkplugb)`}},
		{"an id the server does not accept", "id,family,site\nX 1,gas,demo-plant\n",
			[]string{`invalid: f.csv:2: column "id": "X 1": use letters, digits, '-', '_' and '.'`}},
		{"every problem of a row", "id,decoder,topic\nX-1,modbus,a/+/b\n",
			[]string{`invalid: f.csv:2: site: empty; a new sensor needs its site; f.csv:2: family: empty; a new sensor needs its family; ` +
				`f.csv:2: column "decoder": unknown decoder "modbus" (want one of cap, json, lineprotocol, plain, sparkplugb); ` +
				`f.csv:2: column "topic": "a/+/b" must not contain MQTT wildcards (+, #); placeholders {site}, {sensor}, {family}, {region} are allowed`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cat, st, _ := demoCatalog(t)
			for _, dry := range []bool{true, false} {
				res, err := Parse([]byte(c.sheet)).Import(t.Context(), cat, dry)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for i := range res.Steps {
					got = append(got, describe(res, i))
				}
				if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
					t.Errorf("dry run %v:\n got %s\nwant %s", dry, strings.Join(got, "\n     "), strings.Join(c.want, "\n     "))
				}
				if res.Applied != (!dry && len(res.Problems) == 0) {
					t.Errorf("dry run %v: applied %v with %d problems", dry, res.Applied, len(res.Problems))
				}
				if len(res.Problems) > 0 || dry {
					if saved, _, _ := st.SavedSensors(t.Context()); len(saved) > 0 {
						t.Fatalf("dry run %v: %d sensors saved, want none", dry, len(saved))
					}
				}
			}
		})
	}
}

// TestImportAllOrNothing: the X-7 case. A sheet whose middle row takes the
// topic of a configured sensor imports nothing — not X-6, not X-8 —
// and the dry run says so; once the row is fixed, the three sensors are
// saved in one transaction and the registry is swapped once; they are in
// force after a restart.
func TestImportAllOrNothing(t *testing.T) {
	cat, st, path := demoCatalog(t)
	swaps := 0
	cat.OnChange(func() { swaps++ })
	before := len(cat.Sensors())
	bad := "编号,名称,类型,站点,主题\nX-6,东门探测器,燃气,demo-plant,\nX-7,西门探测器,燃气,demo-plant,yujing/demo-plant/GT-101\nX-8,北门探测器,燃气,demo-plant,\n"
	for _, dry := range []bool{true, false} {
		res, err := Parse([]byte(bad)).Import(t.Context(), cat, dry)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Problems) != 1 || res.Problems[0].Format("x.csv") != `x.csv:3: column "主题": "yujing/demo-plant/GT-101" is already used by sensor GT-101` ||
			res.Applied || res.Count(Create) != 2 || res.Count(Invalid) != 1 {
			t.Errorf("dry run %v: %+v", dry, res)
		}
	}
	saved, _, err := st.SavedSensors(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cat.Sensors()); n != before || len(saved) != 0 || swaps != 0 {
		t.Fatalf("after a refused import: %d sensors (want %d), %d saved, %d swaps", n, before, len(saved), swaps)
	}

	fixed := strings.Replace(bad, "yujing/demo-plant/GT-101", "", 1)
	res, err := Parse([]byte(fixed)).Import(t.Context(), cat, false)
	if err != nil || !res.Applied || res.Count(Create) != 3 || len(res.Problems) != 0 {
		t.Fatalf("fixed sheet: %v %+v", err, res)
	}
	if n := len(cat.Sensors()); n != before+3 || swaps != 1 {
		t.Errorf("after the import: %d sensors (want %d), %d swaps (want 1)", n, before+3, swaps)
	}
	st.Close()
	st2, err := sqlite.OpenState(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	saved, _, _ = st2.SavedSensors(t.Context())
	if len(saved) != 3 || saved[0].ID != "X-6" || saved[1].Topic != "yujing/demo-plant/X-7" || saved[2].Name != "北门探测器" {
		t.Errorf("saved: %+v", saved)
	}
}

// TestImportStoreFailsMidBatch: when the state database refuses the
// second of three sensors (a trigger stands in for a full disk), the
// import fails, nothing is saved and nothing changes in force.
func TestImportStoreFailsMidBatch(t *testing.T) {
	cat, st, path := demoCatalog(t)
	swaps := 0
	cat.OnChange(func() { swaps++ })
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), `CREATE TRIGGER refuse_x7 BEFORE INSERT ON sensors WHEN NEW.id = 'X-7'
		BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := cat.Sensors()
	sheet := "id,family,site,max\nX-6,gas,demo-plant,100\nX-7,gas,demo-plant,100\nX-8,gas,demo-plant,100\nGT-101,,,80\n"
	res, err := Parse([]byte(sheet)).Import(t.Context(), cat, false)
	if err == nil || !strings.Contains(err.Error(), "save sensor X-7: constraint failed: database or disk is full") {
		t.Fatalf("got %v, %+v; want the store's error", err, res)
	}
	saved, _, _ := st.SavedSensors(t.Context())
	after := cat.Sensors()
	if len(saved) != 0 || len(after) != len(before) || swaps != 0 || *after[0].Max != 100 {
		t.Errorf("after a failed import: %d saved, %d sensors (want %d), %d swaps, GT-101 max %v", len(saved), len(after), len(before), swaps, *after[0].Max)
	}
}

// TestImportJSON: a JSON list of sensors as the API takes them — each a
// whole sensor — is planned, checked and applied like a sheet, its
// problems named by item and field.
func TestImportJSON(t *testing.T) {
	cat, _, _ := demoCatalog(t)
	body := `[
		{"id": "X-1", "site": "demo-plant", "family": "gas", "metric": "lel", "interval": "10s", "max": 100},
		{"id": "GT-101", "name": "罐区可燃气体探测器", "site": "demo-plant", "family": "gas", "metric": "lel", "unit": "%LEL",
		 "interval": "10s", "min": 0, "max": 100},
		{"id": "RG-301", "site": "demo-plant", "family": "weather", "metric": "rain"},
		{"id": "X-2", "site": "demo-plant", "family": "gas", "colour": "red"},
		{"id": "X-3", "site": "demo-plant", "family": "gas", "interval": "soon"},
		{"id": "X-1", "site": "demo-plant", "family": "gas"},
		{"id": "X-4", "site": "demo-plant", "family": "gas", "topic": "yujing/demo-plant/TK-201"}
	]`
	res, err := ImportJSON(t.Context(), cat, []byte(body), false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range res.Steps {
		got = append(got, describe(res, i))
	}
	want := []string{
		"create gas at demo-plant, topic yujing/demo-plant/X-1, decoder json, every 10s",
		"unchanged",
		`update name "厂区雨量站" → ""; metric "rain_1h" → "rain"; unit "mm" → ""; min 0 → none; max 300 → none`, // a whole sensor: what it leaves out is gone
		`invalid: f.csv: item 4: json: unknown field "colour"`,
		`invalid: f.csv: item 5: interval: want a duration such as 10s, got "soon"`,
		`invalid: f.csv: item 6: id: sensor "X-1" is already item 1`,
		`invalid: f.csv: item 7: topic: "yujing/demo-plant/TK-201" is already used by sensor TK-201`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || res.Applied || res.Format != "JSON" || res.Rows != 7 {
		t.Errorf("got\n%s\nwant\n%s\n(applied %v)", strings.Join(got, "\n"), strings.Join(want, "\n"), res.Applied)
	}
	if _, ok := findSensor(cat, "X-1"); ok {
		t.Error("X-1 was created by a refused import")
	}
	res, err = ImportJSON(t.Context(), cat, []byte(`[{"id": "X-1", "site": "demo-plant", "family": "gas"}]`), false)
	if s, ok := findSensor(cat, "X-1"); err != nil || !res.Applied || !ok || s.Topic != "yujing/demo-plant/X-1" {
		t.Errorf("valid list: %v %+v", err, res)
	}
	res, _ = ImportJSON(t.Context(), cat, []byte(`{"id": "X-1"}`), true)
	if len(res.Problems) != 1 || !strings.HasPrefix(res.Problems[0].Message, "not a JSON list of sensors: json: cannot unmarshal object") {
		t.Errorf("not a list: %+v", res.Problems)
	}
}

func findSensor(cat *ingest.Catalog, id string) (yujing.Sensor, bool) {
	for _, s := range cat.Sensors() {
		if s.ID == id {
			return s, true
		}
	}
	return yujing.Sensor{}, false
}

// TestImportGolden imports each sheet of testdata (and the example sheet
// of configs/) into the demo configuration's catalogue as a dry run and
// compares the Result — what POST /api/v1/sensors/import answers — with
// testdata/<name>.json. Run with -update to rewrite them, then read
// every one.
func TestImportGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.[ct]sv")
	files = append(files, "../../configs/sensors-example.csv")
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cat, _, _ := demoCatalog(t)
			res, err := Parse(data).Import(t.Context(), cat, true)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.MarshalIndent(res, "", "  ")
			got = append(got, '\n')
			golden := filepath.Join("testdata", name+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestImportGolden -update and review)", err)
			}
			if string(got) != string(want) {
				t.Errorf("differs from %s:\n got:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

// TestImportDeclaredFamily: a row may name a family the configuration
// declares, by its id or its Chinese name; a family nobody declared is a
// problem at the family cell.
func TestImportDeclaredFamily(t *testing.T) {
	sites := []yujing.Site{{ID: "home", Name: "住户"}}
	reg, err := ingest.NewRegistry(sites, nil)
	if err != nil {
		t.Fatal(err)
	}
	fams := append(yujing.BuiltinFamilies(), yujing.FamilyInfo{ID: "smoke", Name: "智能烟感", NameEN: "smoke alarm"})
	cat := ingest.NewCatalog(reg, nil, sites, nil, nil, decoders, fams)
	sh := Parse([]byte("id,site,family,metric\nSA-1,home,智能烟感,alarm\nSA-2,home,smoke,alarm\nSA-3,home,tailings,level\n"))
	res, err := sh.Import(t.Context(), cat, true)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range res.Steps {
		got = append(got, fmt.Sprintf("%s %s", s.ID, s.Action))
	}
	if want := "SA-1 create, SA-2 create, SA-3 invalid"; strings.Join(got, ", ") != want {
		t.Errorf("steps %v, want %s", got, want)
	}
	if len(res.Problems) != 1 || res.Problems[0].Line != 4 || res.Problems[0].Column != "family" ||
		!strings.Contains(res.Problems[0].Message, `unknown family "tailings"`) {
		t.Errorf("problems %+v, want one: line 4, column family, unknown family \"tailings\"", res.Problems)
	}
}
