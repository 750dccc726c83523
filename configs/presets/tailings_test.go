package presets_test

import (
	"testing"
	"time"

	"yujing/duty"
)

// TestTailingsPresetReproducesDesignControls replays a wet season on a
// tailings pond: the phreatic line rises at the four piezometers, and the
// phreatic item's warning follows GB 39496-2020 5.5.4 — four points at
// blue make it yellow, three at yellow orange, two at orange red — while
// each point is red at the design's control depth and orange at 1.1 times
// it (GB 51108-2015); the dry beach shortens below the design's minimum,
// the water level passes the design's flood level. The pond's 库长 is in
// its chain above the company's people.
func TestTailingsPresetReproducesDesignControls(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 6, 15, 0, 0, 0, 0, mustShanghai(t))
	r := newReplay(t, "tailings.yaml", start)
	// Phreatic depths (m) of the four points, hour by hour.
	depths := [][4]float64{
		{12, 12, 12, 12},
		{9.5, 9.8, 9.9, 11},  // three at blue
		{9.5, 9.8, 9.9, 9.7}, // four at blue: item yellow
		{7.9, 7.5, 9.9, 9.7}, // two at yellow
		{7.9, 7.5, 7.8, 9.7}, // three at yellow: item orange
		{6.5, 7.5, 7.8, 9.7}, // one at orange
		{6.5, 6.2, 7.8, 9.7}, // two at orange: item red
		{5.9, 6.2, 7.8, 9.7}, // point 1 at its control depth: red
		{9.0, 9.0, 9.0, 10.5},
	}
	for h, ds := range depths {
		at := r.at(time.Duration(h) * time.Hour)
		for i, d := range ds {
			r.observe(at, []string{"TL-PZ-01", "TL-PZ-02", "TL-PZ-03", "TL-PZ-04"}[i], "phreatic_depth", d)
		}
		r.observe(at, "TL-BL-01", "beach_length", []float64{120, 110, 95, 88, 82, 75, 69, 69, 100}[h])
		r.observe(at, "TL-WL-01", "water_level", []float64{1050, 1051, 1052.1, 1052.5, 1053.2, 1053.6, 1054.1, 1054.1, 1051}[h])
	}
	r.want([]string{
		"06-15 01:00 phreatic-depth TL-PZ-01 raised blue 9.5",
		"06-15 01:00 phreatic-depth TL-PZ-02 raised blue 9.8",
		"06-15 01:00 phreatic-depth TL-PZ-03 raised blue 9.9",
		"06-15 02:00 phreatic-depth TL-PZ-04 raised blue 9.7",
		"06-15 02:00 phreatic-item-yellow site:demo-tailings-pond raised yellow 4",
		"06-15 03:00 phreatic-depth TL-PZ-01 upgraded yellow 7.9",
		"06-15 03:00 phreatic-depth TL-PZ-02 upgraded yellow 7.5",
		"06-15 04:00 phreatic-depth TL-PZ-03 upgraded yellow 7.8",
		"06-15 04:00 phreatic-item-orange site:demo-tailings-pond raised orange 3",
		"06-15 05:00 phreatic-depth TL-PZ-01 upgraded orange 6.5", // ≤ 1.1 × 6.0 m
		"06-15 06:00 phreatic-depth TL-PZ-02 upgraded orange 6.2",
		"06-15 06:00 phreatic-item-red site:demo-tailings-pond raised red 2",
		"06-15 07:00 phreatic-depth TL-PZ-01 upgraded red 5.9", // ≤ the control depth 6.0 m
		"06-15 08:00 phreatic-depth TL-PZ-01 downgraded blue 9",
		"06-15 08:00 phreatic-item-orange site:demo-tailings-pond resolved orange 2", // two left at yellow
		"06-15 08:00 phreatic-item-red site:demo-tailings-pond resolved red 1",       // one left at orange
		"06-15 08:00 phreatic-depth TL-PZ-02 downgraded blue 9",
		"06-15 08:00 phreatic-depth TL-PZ-03 downgraded blue 9",
		"06-15 08:00 phreatic-depth TL-PZ-04 resolved blue 10.5",
		"06-15 08:00 phreatic-item-yellow site:demo-tailings-pond resolved yellow 3", // three left at blue
	}, "phreatic-depth", "phreatic-item-yellow", "phreatic-item-orange", "phreatic-item-red")
	r.want([]string{
		"06-15 03:00 dry-beach-length TL-BL-01 raised yellow 88",
		"06-15 05:00 dry-beach-length TL-BL-01 upgraded orange 75",
		"06-15 06:00 dry-beach-length TL-BL-01 upgraded red 69", // below the design minimum 70 m
		"06-15 08:00 dry-beach-length TL-BL-01 resolved red 100",
	}, "dry-beach-length")
	r.want([]string{
		"06-15 02:00 pond-water-level TL-WL-01 raised yellow 1052.1",
		"06-15 04:00 pond-water-level TL-WL-01 upgraded orange 1053.2",
		"06-15 06:00 pond-water-level TL-WL-01 upgraded red 1054.1", // above the design's highest flood level
		"06-15 08:00 pond-water-level TL-WL-01 resolved red 1051",
	}, "pond-water-level")
	when := r.at(6 * time.Hour)
	dir := r.cfg.Directory
	if got := dir.Role("demo-tailings-pond", duty.RoleDamChief, when); len(got) != 1 || got[0].ID != "dam-chief" {
		t.Errorf("the pond's 库长: %v, want dam-chief", got)
	}
	if got := dir.Tier("demo-tailings-pond", 1, when); len(got) != 2 || got[0].ID != "pond-duty" || got[1].ID != "mine-principal" {
		t.Errorf("the pond's tier 1: %v, want the company's pond-duty and mine-principal", got)
	}
	if got := dir.SiteRegion("demo-tailings-pond"); got != "320506" {
		t.Errorf("the pond's region %q, want the mine's 320506", got)
	}
}
