package geojson

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"yujing"
)

const square = `[[120.60, 31.25], [120.66, 31.25], [120.66, 31.29], [120.60, 31.29], [120.60, 31.25]]`

var cases = []struct {
	name, in string
	rings    []int  // each polygon's rings
	err      string // the error, when it is one
}{
	{"polygon", `{"type": "Polygon", "coordinates": [` + square + `]}`, []int{1}, ""},
	{"polygon with a hole", `{"type": "Polygon", "coordinates": [` + square + `, [[120.62, 31.26], [120.63, 31.26], [120.63, 31.27], [120.62, 31.26]]]}`, []int{2}, ""},
	{"multipolygon", `{"type": "MultiPolygon", "coordinates": [[` + square + `], [` + square + `]]}`, []int{1, 1}, ""},
	{"feature collection", `{"type": "FeatureCollection", "features": [
		{"type": "Feature", "properties": {"name": "园区"}, "geometry": {"type": "Polygon", "coordinates": [` + square + `]}},
		{"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [120.6, 31.2]}},
		{"type": "Feature", "properties": {}, "geometry": null}]}`, []int{1}, ""},
	{"geometry collection", `{"type": "GeometryCollection", "geometries": [{"type": "LineString", "coordinates": [[1, 2], [3, 4]]}, {"type": "Polygon", "coordinates": [` + square + `]}]}`, []int{1}, ""},
	{"altitude", `{"type": "Polygon", "coordinates": [[[120.6, 31.25, 5], [120.66, 31.25, 5], [120.66, 31.29, 5], [120.6, 31.25, 5]]]}`, []int{1}, ""},

	{"not json", `<kml/>`, nil, "the top: invalid character '<' looking for beginning of value"},
	{"no type", `{"features": []}`, nil, `the top: no "type": want FeatureCollection, Feature, Polygon or MultiPolygon`},
	{"unknown type", `{"type": "Topology"}`, nil, `the top: type "Topology" is not GeoJSON`},
	{"only points", `{"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.6, 31.2]}}`, nil, "no Polygon or MultiPolygon in it"},
	{"latitude first", `{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[31.25, 120.6], [31.25, 120.66], [31.29, 120.66], [31.25, 120.6]]]}}]}`, nil,
		"features[0].geometry.coordinates[0][0]: latitude 120.6 is outside -90…90 (GeoJSON writes longitude first)"},
	{"longitude", `{"type": "Polygon", "coordinates": [[[200, 1], [1, 1], [1, 2], [200, 1]]]}`, nil, "coordinates[0][0]: longitude 200 is outside -180…180"},
	{"open ring", `{"type": "Polygon", "coordinates": [[[1, 1], [2, 1], [2, 2], [1, 2]]]}`, nil, "coordinates[0]: the ring is not closed: its last position must repeat its first"},
	{"short ring", `{"type": "MultiPolygon", "coordinates": [[` + square + `], [[[1, 1], [2, 1], [1, 1]]]]}`, nil, "coordinates[1][0]: a ring needs at least 4 positions (the first repeated at the end), got 3"},
	{"short position", `{"type": "Polygon", "coordinates": [[[1], [2, 1], [2, 2], [1]]]}`, nil, "coordinates[0][0]: a position is [longitude, latitude], got 1 numbers"},
	{"no rings", `{"type": "Polygon", "coordinates": []}`, nil, "coordinates: a polygon without rings"},
	{"bad coordinates", `{"type": "Polygon", "coordinates": [1, 2]}`, nil,
		"coordinates: a Polygon's coordinates are a list of rings of [longitude, latitude] positions"},
	{"nested too deep", strings.Repeat(`{"type": "GeometryCollection", "geometries": [`, 10) + strings.Repeat(`]}`, 10), nil,
		"geometries[0].geometries[0].geometries[0].geometries[0].geometries[0].geometries[0].geometries[0].geometries[0].geometries[0]: more than 8 collections within each other"},
}

func TestParse(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rings, err := Parse([]byte(c.in))
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, p := range rings {
				got = append(got, len(p))
			}
			if fmt.Sprint(got) != fmt.Sprint(c.rings) {
				t.Fatalf("polygons with %v rings, want %v", got, c.rings)
			}
			if got := rings[0][0][1]; got != (yujing.LatLon{Lat: 31.25, Lon: 120.66}) {
				t.Errorf("second point %+v, want lat 31.25 lon 120.66", got)
			}
		})
	}
}

// TestSimplify: a circle of 3600 points, thinned at 0.0001°, keeps its
// shape within the tolerance in far fewer points, closed.
func TestSimplify(t *testing.T) {
	var ring []yujing.LatLon
	for i := range 3600 {
		a := float64(i) * 2 * math.Pi / 3600
		ring = append(ring, yujing.LatLon{Lat: 31.27 + 0.02*math.Sin(a), Lon: 120.63 + 0.02*math.Cos(a)})
	}
	ring = append(ring, ring[0])
	out := Simplify([][][]yujing.LatLon{{ring}}, 0.0001)
	s := out[0][0]
	if len(s) < 20 || len(s) > 400 || s[0] != s[len(s)-1] {
		t.Fatalf("%d points (first %+v, last %+v), want 20–400 and closed", len(s), s[0], s[len(s)-1])
	}
	for _, p := range ring {
		best := math.Inf(1)
		for i := 1; i < len(s); i++ {
			best = math.Min(best, segDist2(p, s[i-1], s[i]))
		}
		if math.Sqrt(best) > 0.0001+1e-12 {
			t.Fatalf("point %+v is %g° from the thinned ring, more than the tolerance", p, math.Sqrt(best))
		}
	}
	tiny := [][][]yujing.LatLon{{{{Lat: 1, Lon: 1}, {Lat: 1, Lon: 1.00001}, {Lat: 1.00001, Lon: 1}, {Lat: 1, Lon: 1}}}}
	if got := Simplify(tiny, 0.0001); len(got[0][0]) != 4 {
		t.Errorf("a ring smaller than the tolerance became %d points, want it kept whole", len(got[0][0]))
	}
}

// FuzzParse: whatever the input, Parse does not panic, and what it
// accepts is closed rings of at least 4 positions within range, which
// Simplify keeps so.
func FuzzParse(f *testing.F) {
	for _, c := range cases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rings, err := Parse(data)
		if err != nil {
			return
		}
		check := func(what string, ps [][][]yujing.LatLon) {
			for _, r := range slices.Concat(ps...) {
				if len(r) < 4 || r[0] != r[len(r)-1] {
					t.Fatalf("%s: ring of %d points, first %+v last %+v", what, len(r), r[0], r[len(r)-1])
				}
				for _, p := range r {
					if !(p.Lat >= -90 && p.Lat <= 90 && p.Lon >= -180 && p.Lon <= 180) {
						t.Fatalf("%s: point %+v out of range", what, p)
					}
				}
			}
		}
		check("parsed", rings)
		check("simplified", Simplify(rings, 0.0001))
	})
}
