package duty

import (
	"strings"
	"testing"
)

func TestRegionCovers(t *testing.T) {
	for _, tc := range []struct {
		region, code string
		want         bool
	}{
		{"320000", "320115", true},       // province covers a county
		{"320000", "320115001", true},    // … and a township
		{"320000", "320000", true},       // itself
		{"320100", "320115", true},       // city covers a county
		{"320100", "320100", true},       // itself
		{"320100", "320200", false},      // not another city
		{"320100", "321100", false},      // 3211 is not 3201
		{"320115", "320115001001", true}, // county covers a village
		{"320115", "320115", true},       // itself
		{"320115", "320116", false},      // not a neighbour
		{"320115", "320100", false},      // a county does not cover its city
		{"320000", "330106", false},      // not another province
		{"320115001", "320115001001", true},
		{"320115001", "320115002001", false},
		{"320115001", "320115", false},    // a township does not cover its county
		{"320115000", "320115001", false}, // 9 digits are kept whole
		{"320100", "3201", false},         // not a code
		{"3201", "320115", false},         // not a code
		{"", "320115", false},
		{"320000", "", false},
		{"000000", "320115", false}, // no province 00
		{"32011a", "320115", false},
		{"320115", "3201150010", false}, // 10 digits
		{"320000", "32011500100", false},
	} {
		if got := RegionCovers(tc.region, tc.code); got != tc.want {
			t.Errorf("RegionCovers(%q, %q) = %v, want %v", tc.region, tc.code, got, tc.want)
		}
	}
}

func TestValidRegion(t *testing.T) {
	for code, want := range map[string]bool{
		"320000": true, "320115": true, "320115001": true, "320115001001": true, "110101": true,
		"": false, "32": false, "3201": false, "32011": false, "3201150": false, "000000": false,
		"32O115": false, "320115 ": false, "+20115": false, "３２０１１５": false,
	} {
		if got := ValidRegion(code); got != want {
			t.Errorf("ValidRegion(%q) = %v, want %v", code, got, want)
		}
	}
}

// FuzzRegionCovers checks the laws of covering on any input: only valid
// codes cover or are covered, every valid code covers itself, its province
// (and its city) cover it, and covering is transitive.
func FuzzRegionCovers(f *testing.F) {
	for _, s := range [][2]string{{"320000", "320115"}, {"320100", "320115001"}, {"320115", "320115001001"},
		{"110000", "110101"}, {"", ""}, {"000000", "000001"}, {"3201", "320100"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, region, code string) {
		got := RegionCovers(region, code)
		if got && (!ValidRegion(region) || !ValidRegion(code)) {
			t.Fatalf("RegionCovers(%q, %q) is true for an invalid code", region, code)
		}
		for _, c := range []string{region, code} {
			if !ValidRegion(c) {
				continue
			}
			if !RegionCovers(c, c) {
				t.Fatalf("%q does not cover itself", c)
			}
			province, city := c[:2]+"0000", c[:4]+"00"
			if !RegionCovers(province, c) || !RegionCovers(city, c) {
				t.Fatalf("%q is not covered by its province %s and city %s", c, province, city)
			}
			if got && !RegionCovers(province, code) && strings.HasPrefix(code, c[:2]) {
				t.Fatalf("covering is not transitive: %s ⊇ %s ⊇ %s", province, region, code)
			}
		}
		if got && len(region) > len(code) {
			t.Fatalf("RegionCovers(%q, %q): a longer code covers a shorter one", region, code)
		}
	})
}
