package presets_test

import (
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/duty"
)

// TestHazardPresetSupervisorPerSource replays a high-high level on the LPG
// sphere and a high-high pressure on the ammonia tank, two major hazard
// sources of one plant: each warning belongs to its source, and the
// source's chain — what the red policy's steps call by tier and role — is
// the plant's duty officer and principal (tier 1), the assigned official
// (tier 2) and that source's own 督长, not the other's.
func TestHazardPresetSupervisorPerSource(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 8, 4, 14, 0, 0, 0, mustShanghai(t))
	r := newReplay(t, "hazard-tanks.yaml", start)
	for i, lv := range []float64{9.8, 10.5, 11.1, 11.2, 10.0} { // H 10.45, HH 11.07
		r.observe(r.at(time.Duration(i)*time.Minute), "V-101", "level", lv)
	}
	for i, p := range []float64{1.2, 1.46, 1.56} { // H 1.45, HH 1.55
		r.observe(r.at(10*time.Minute+time.Duration(i)*time.Minute), "V-201", "pressure", p)
	}
	r.want([]string{
		"08-04 14:01 tank-level V-101 raised yellow 10.5",
		"08-04 14:02 tank-level V-101 upgraded red 11.1",
		"08-04 14:04 tank-level V-101 resolved red 10",
		"08-04 14:11 ammonia-tank-pressure V-201 raised yellow 1.46",
		"08-04 14:12 ammonia-tank-pressure V-201 upgraded red 1.56",
	})
	dir := r.cfg.Directory
	if dir == nil {
		t.Fatal("the preset has no directory")
	}
	when := r.at(15 * time.Minute)
	names := func(ps []yujing.Person) string {
		var out []string
		for _, p := range ps {
			out = append(out, p.ID)
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct{ rule, sensor, site, chief string }{
		{"tank-level", "V-101", "demo-tank-farm", "chief-lpg"},
		{"ammonia-tank-pressure", "V-201", "demo-ammonia-tanks", "chief-ammonia"},
	} {
		a := r.alert(c.rule, c.sensor)
		if a.Site != c.site {
			t.Errorf("%s on %s: site %s, want the hazard source %s", c.rule, c.sensor, a.Site, c.site)
		}
		if got := names(dir.Tier(a.Site, 1, when)); got != "duty-officer,principal" {
			t.Errorf("%s: tier 1 = %s, want the plant's duty-officer,principal", a.Site, got)
		}
		if got := names(dir.Role(a.Site, duty.RoleSupervisorInChief, when)); got != c.chief {
			t.Errorf("%s: 督长 = %s, want %s", a.Site, got, c.chief)
		}
		if got := names(dir.Tier(a.Site, 2, when)); got != "assigned-official" {
			t.Errorf("%s: tier 2 = %s, want assigned-official", a.Site, got)
		}
	}
	// The plant itself has no 督长: each source has its own.
	if got := names(dir.Role("demo-chem-plant", duty.RoleSupervisorInChief, when)); got != "" {
		t.Errorf("the plant's 督长 = %s, want none", got)
	}
}
