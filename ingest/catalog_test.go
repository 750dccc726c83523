package ingest_test

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"yujing"
	"yujing/ingest"
	"yujing/store/sqlite"
	"yujing/store/sqlstate"
)

// catalogFixture is a catalogue of two sites and three sensors (one on a
// topic of its own) over a real state database.
func catalogFixture(t *testing.T) (*ingest.Catalog, *sqlstate.State, string, *int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := sqlite.OpenState(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sites := []yujing.Site{{ID: "plant", Region: "320506"}, {ID: "yard"}}
	base := []yujing.Sensor{
		{ID: "GT-1", Site: "plant", Family: yujing.FamilyGas},
		{ID: "GT-2", Site: "plant", Family: yujing.FamilyGas, Topic: "field/GT-2"},
		{ID: "WL-1", Site: "yard", Family: yujing.FamilyFlood},
	}
	reg, err := ingest.NewRegistry(sites, base)
	if err != nil {
		t.Fatal(err)
	}
	cat := ingest.NewCatalog(reg, st, sites, base, nil, []string{"json", "plain"}, yujing.BuiltinFamilies())
	if err := cat.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	swaps := 0
	cat.OnChange(func() { swaps++ })
	return cat, st, path, &swaps
}

func gas(id, topic string) yujing.Sensor {
	return yujing.Sensor{ID: id, Site: "plant", Family: yujing.FamilyGas, Topic: topic}
}

func problems(err error) string {
	var ie *ingest.ImportError
	if !errors.As(err, &ie) {
		return fmt.Sprint(err)
	}
	var out []string
	for _, p := range ie.Problems {
		out = append(out, fmt.Sprintf("%d %s %s: %s", p.Index, p.ID, p.Field, p.Msg))
	}
	return strings.Join(out, "\n")
}

// TestCatalogImportChecksTheBatch: each sensor is checked, and the batch
// against itself and against the sensors it leaves in force; with any
// problem (every one listed, by index) nothing changes, dry run or not.
func TestCatalogImportChecksTheBatch(t *testing.T) {
	for _, c := range []struct {
		name  string
		batch []yujing.Sensor
		want  string // the problems; "" when the batch is fine
	}{
		{"new and replaced", []yujing.Sensor{gas("X-1", ""), gas("GT-1", "field/GT-1")}, ""},
		{"a topic in force", []yujing.Sensor{gas("X-1", ""), gas("X-2", "field/GT-2")},
			`1 X-2 topic: "field/GT-2" is already used by sensor GT-2`},
		{"a default topic in force", []yujing.Sensor{{ID: "X-1", Site: "plant", Family: yujing.FamilyGas, Topic: "yujing/plant/GT-1"}},
			`0 X-1 topic: "yujing/plant/GT-1" is already used by sensor GT-1`},
		{"a topic twice in the batch", []yujing.Sensor{gas("X-1", "t/1"), gas("X-2", "t/1")},
			`1 X-2 topic: "t/1" is already used by sensor X-1`},
		{"a topic the batch frees", []yujing.Sensor{gas("GT-2", "field/GT-2b"), gas("X-1", "field/GT-2")}, ""},
		{"two sensors swap topics", []yujing.Sensor{gas("GT-1", "field/GT-2"), gas("GT-2", "yujing/plant/GT-1")}, ""},
		{"an id twice", []yujing.Sensor{gas("X-1", ""), gas("X-1", "t/2")}, `1 X-1 id: sensor "X-1" comes twice in the batch (also item 1)`},
		{"every problem of every sensor", []yujing.Sensor{
			{ID: "X 1", Site: "nowhere", Family: "smoke", Decoder: "xml"},
			{ID: "X-2", Site: "plant", Family: yujing.FamilyGas, Topic: "a/#"},
			{ID: "X-3", Site: "yard", Family: yujing.FamilyGas, Topic: "f/{region}/{sensor}"},
		}, `0 X 1 id: "X 1": use letters, digits, '-', '_' and '.'
0 X 1 site: site "nowhere" is not defined (sites: plant, yard)
0 X 1 family: unknown family "smoke" (want one of [gas hazard dust weather flood power electrical])
0 X 1 decoder: unknown decoder "xml" (want one of json, plain)
1 X-2 topic: "a/#" must not contain MQTT wildcards (+, #); placeholders {site}, {sensor}, {family}, {region} are allowed
2 X-3 topic: topic "f/{region}/{sensor}": {region} is empty for sensor X-3`},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, dry := range []bool{true, false} {
				cat, st, _, swaps := catalogFixture(t)
				before := cat.Sensors()
				batch := append([]yujing.Sensor(nil), c.batch...)
				err := cat.Import(t.Context(), batch, dry)
				if got := problems(err); (err == nil) != (c.want == "") || (err != nil && got != c.want) {
					t.Fatalf("dry run %v: got\n%s\nwant\n%s", dry, got, c.want)
				}
				saved, _, _ := st.SavedSensors(t.Context())
				changed := err == nil && !dry
				if (len(saved) > 0) != changed || (*swaps == 1) != changed || *swaps > 1 {
					t.Errorf("dry run %v, error %v: %d saved, %d swaps", dry, err, len(saved), *swaps)
				}
				if !changed && fmt.Sprint(cat.Sensors()) != fmt.Sprint(before) {
					t.Errorf("dry run %v: the sensors in force changed", dry)
				}
				if changed && len(saved) != len(c.batch) {
					t.Errorf("%d saved, want %d", len(saved), len(c.batch))
				}
			}
		})
	}
}

// TestCatalogImportFillsDefaults: the batch comes back checked — metric,
// decoder and topic defaults filled, a topic template expanded with the
// site's region — and is in force as such.
func TestCatalogImportFillsDefaults(t *testing.T) {
	cat, _, _, _ := catalogFixture(t)
	batch := []yujing.Sensor{gas("X-1", ""), gas("X-2", "f/{region}/{sensor}")}
	if err := cat.Import(t.Context(), batch, false); err != nil {
		t.Fatal(err)
	}
	if b := batch[0]; b.Metric != "value" || b.Decoder != "json" || b.Topic != "yujing/plant/X-1" || batch[1].Topic != "f/320506/X-2" {
		t.Errorf("checked batch: %+v", batch)
	}
	if s, ok := sensorByTopic(cat, "f/320506/X-2"); !ok || s.ID != "X-2" {
		t.Errorf("X-2 not in force on its topic")
	}
}

// TestCatalogImportStoreFails: when the state database refuses the second
// sensor of a batch, Import fails with the store's error and nothing is
// saved or in force — also for a single Create.
func TestCatalogImportStoreFails(t *testing.T) {
	cat, st, path, swaps := catalogFixture(t)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), `CREATE TRIGGER refuse_x2 BEFORE INSERT ON sensors WHEN NEW.id = 'X-2'
		BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := fmt.Sprint(cat.Sensors())
	err = cat.Import(t.Context(), []yujing.Sensor{gas("X-1", ""), gas("X-2", ""), gas("GT-1", "t/1")}, false)
	if err == nil || !strings.Contains(err.Error(), "save sensor X-2: constraint failed: database or disk is full") {
		t.Fatalf("got %v, want the store's error", err)
	}
	if _, err := cat.Create(t.Context(), gas("X-2", "")); err == nil {
		t.Fatal("Create: no error from a refusing store")
	}
	saved, _, _ := st.SavedSensors(t.Context())
	if len(saved) != 0 || *swaps != 0 || fmt.Sprint(cat.Sensors()) != before {
		t.Errorf("after failed imports: %d saved, %d swaps, sensors %v", len(saved), *swaps, cat.Sensors())
	}
}

func sensorByTopic(cat *ingest.Catalog, topic string) (yujing.Sensor, bool) {
	for _, s := range cat.Sensors() {
		if s.Topic == topic {
			return s, true
		}
	}
	return yujing.Sensor{}, false
}

// TestCatalogReloadKeepsSaved: a reload (SetBase) replaces the configured
// sensors and keeps those saved through the API on top — a saved sensor
// wins over a configured one of its id, a deleted one stays deleted, and a
// saved sensor without a region of its own takes its site's new one — and
// the same holds after a restart (Load over the new configuration).
func TestCatalogReloadKeepsSaved(t *testing.T) {
	cat, st, _, _ := catalogFixture(t)
	ctx := t.Context()
	if _, err := cat.Create(ctx, gas("X-1", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.Update(ctx, yujing.Sensor{ID: "GT-2", Site: "plant", Family: yujing.FamilyGas, Name: "saved", Topic: "field/GT-2"}); err != nil {
		t.Fatal(err)
	}
	if err := cat.Delete(ctx, "WL-1"); err != nil {
		t.Fatal(err)
	}
	sites := []yujing.Site{{ID: "plant", Region: "320507"}, {ID: "yard"}}
	base := []yujing.Sensor{
		{ID: "GT-2", Site: "plant", Family: yujing.FamilyGas, Name: "configured"},
		{ID: "GT-3", Site: "plant", Family: yujing.FamilyGas},
		{ID: "WL-1", Site: "yard", Family: yujing.FamilyFlood},
	}
	want := "GT-2 saved field/GT-2 320507; GT-3  yujing/plant/GT-3 320507; X-1  yujing/plant/X-1 320507; "
	list := func(ss []yujing.Sensor) string {
		var out string
		for _, s := range ss {
			out += fmt.Sprintf("%s %s %s %s; ", s.ID, s.Name, s.Topic, s.Region)
		}
		return out
	}
	if err := cat.SetBase(sites, base, nil, yujing.BuiltinFamilies()); err != nil {
		t.Fatal(err)
	}
	if got := list(cat.Sensors()); got != want {
		t.Errorf("after the reload:\n got %s\nwant %s", got, want)
	}
	reg, err := ingest.NewRegistry(sites, base)
	if err != nil {
		t.Fatal(err)
	}
	restarted := ingest.NewCatalog(reg, st, sites, base, nil, []string{"json", "plain"}, yujing.BuiltinFamilies())
	if err := restarted.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if got := list(restarted.Sensors()); got != want {
		t.Errorf("after a restart:\n got %s\nwant %s", got, want)
	}
}
