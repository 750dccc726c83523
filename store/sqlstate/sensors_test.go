package sqlstate

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"yujing"
)

// TestPutSensorsRoundTrip: saved sensors come back whole (the interval
// too); a deleted one comes back as deleted, and saving it again revives
// it.
func testPutSensorsRoundTrip(t *testing.T, bk backend) {
	s := bk.open(t)
	ctx := t.Context()
	lo, hi := 0.0, 100.0
	a := yujing.Sensor{ID: "GT-1", Name: "罐区探测器", Site: "plant", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL",
		Topic: "yujing/plant/GT-1", Decoder: "json", Interval: 10 * time.Second, Min: &lo, Max: &hi, Tags: map[string]string{"zone": "A"}}
	b := yujing.Sensor{ID: "WL-1", Site: "plant", Family: yujing.FamilyFlood, Metric: "level", Topic: "yujing/plant/WL-1", Decoder: "json"}
	if err := s.PutSensors(ctx, []yujing.Sensor{a, b}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSensor(ctx, "WL-1"); err != nil {
		t.Fatal(err)
	}
	saved, deleted, err := s.SavedSensors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(saved) != 1 || !reflect.DeepEqual(saved[0], a) || !reflect.DeepEqual(deleted, []string{"WL-1"}) {
		t.Fatalf("saved %+v, deleted %v", saved, deleted)
	}
	b.Name = "河道水位"
	if err := s.PutSensors(ctx, []yujing.Sensor{b}); err != nil {
		t.Fatal(err)
	}
	saved, deleted, _ = s.SavedSensors(ctx)
	if len(saved) != 2 || saved[1].Name != "河道水位" || len(deleted) != 0 {
		t.Errorf("after saving WL-1 again: saved %+v, deleted %v", saved, deleted)
	}
}

// testPutSensorsAllOrNothing: when the database refuses the third sensor of a
// batch (a trigger stands in for a full disk), the first two are not
// saved either; a sensor that cannot be encoded fails the batch before
// anything is written.
func testPutSensorsAllOrNothing(t *testing.T, b backend) {
	s := b.open(t)
	ctx := t.Context()
	keep := yujing.Sensor{ID: "X-1", Name: "before", Site: "plant", Family: yujing.FamilyGas}
	if err := s.PutSensors(ctx, []yujing.Sensor{keep}); err != nil {
		t.Fatal(err)
	}
	trigger := []string{`CREATE TRIGGER refuse_x3 BEFORE INSERT ON sensors WHEN NEW.id = 'X-3'
		BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`}
	if b.postgres() {
		trigger = []string{`CREATE FUNCTION refuse_x3() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN IF NEW.id = 'X-3' THEN RAISE EXCEPTION 'database or disk is full'; END IF; RETURN NEW; END $$`,
			`CREATE TRIGGER refuse_x3 BEFORE INSERT ON sensors FOR EACH ROW EXECUTE FUNCTION refuse_x3()`}
	}
	for _, q := range trigger {
		if _, err := s.db.w.SQL().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	changed := keep
	changed.Name = "after"
	nan := math.NaN()
	for _, c := range []struct {
		name  string
		batch []yujing.Sensor
		want  string
	}{
		{"store fails at the third", []yujing.Sensor{changed, {ID: "X-2", Site: "plant"}, {ID: "X-3", Site: "plant"}, {ID: "X-4", Site: "plant"}},
			"save sensor X-3: "},
		{"cannot encode the second", []yujing.Sensor{changed, {ID: "X-5", Min: &nan}},
			"encode sensor X-5: json: unsupported value: NaN"},
	} {
		err := s.PutSensors(ctx, c.batch)
		if err == nil || !strings.Contains(err.Error(), c.want) || c.name == "store fails at the third" && !strings.Contains(err.Error(), "database or disk is full") {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
		saved, _, err := s.SavedSensors(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(saved) != 1 || saved[0].Name != "before" {
			t.Errorf("%s: a failed batch left %+v, want X-1 as before", c.name, saved)
		}
	}
}
