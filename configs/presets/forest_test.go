package presets_test

import (
	"testing"
	"time"
)

// TestForestFirePresetReproducesDangerGrades replays a dry spell's
// forest-fire danger grades (GB/T 36743-2018's five grades) and a camera's
// detections: grade 3 is yellow, 4 orange, 5 red, each warning moving in
// place; grades 1 and 2 raise nothing; smoke is orange and fire red, each
// its own warning.
func TestForestFirePresetReproducesDangerGrades(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 20, 8, 0, 0, 0, mustShanghai(t))
	r := newReplay(t, "forest-fire.yaml", start)
	for day, grade := range []float64{1, 2, 3, 4, 5, 5, 3, 2, 1} {
		at := r.at(time.Duration(day) * 24 * time.Hour)
		r.observe(at, "FD-001", "danger_grade", grade)
		if day == 4 { // on the grade-5 day, at 13:00
			cam := at.Add(5 * time.Hour)
			r.observe(cam, "FC-001", "smoke", 1)
			r.observe(cam.Add(3*time.Minute), "FC-001", "fire", 1)
			r.observe(cam.Add(40*time.Minute), "FC-001", "fire", 0)
			r.observe(cam.Add(50*time.Minute), "FC-001", "smoke", 0)
		}
	}
	r.want([]string{
		"03-22 08:00 forest-fire-danger FD-001 raised yellow 3",
		"03-23 08:00 forest-fire-danger FD-001 upgraded orange 4",
		"03-24 08:00 forest-fire-danger FD-001 upgraded red 5",
		"03-24 13:00 forest-smoke-detected FC-001 raised orange 1",
		"03-24 13:03 forest-fire-detected FC-001 raised red 1",
		"03-24 13:40 forest-fire-detected FC-001 resolved red 0",
		"03-24 13:50 forest-smoke-detected FC-001 resolved orange 0",
		"03-26 08:00 forest-fire-danger FD-001 downgraded yellow 3",
		"03-27 08:00 forest-fire-danger FD-001 resolved yellow 2",
	})
	r.wantCalls([]string{
		"forest-fire-detected FC-001 ranger-duty raised red",
		"forest-fire-detected FC-001 farm-director raised red",
		"forest-fire-detected FC-001 forestry-bureau raised red",
		"forest-fire-detected FC-001 ranger-duty resolved red",
	}, "forest-fire-detected")
}
