package geojson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"yujing"
)

// Limits on what Parse accepts.
const (
	maxDepth  = 8         // GeometryCollections within each other
	maxPoints = 1_000_000 // positions in all polygons together
)

// object is any GeoJSON object; which fields count depends on its type.
type object struct {
	Type        string            `json:"type"`
	Features    []json.RawMessage `json:"features"`
	Geometry    json.RawMessage   `json:"geometry"`
	Geometries  []json.RawMessage `json:"geometries"`
	Coordinates json.RawMessage   `json:"coordinates"`
}

// Parse reads the polygons of a GeoJSON text — a FeatureCollection, a
// Feature or a geometry — each as its rings of points: the outer ring,
// then its holes. Points, lines and features without a geometry are
// skipped; a text with no polygon at all is an error. An error says where, as a path into the text:
// features[2].geometry.coordinates[0][5]: latitude 95 is outside -90…90.
func Parse(data []byte) ([][][]yujing.LatLon, error) {
	p := parser{}
	if err := p.object(data, "", 0); err != nil {
		return nil, err
	}
	if len(p.polygons) == 0 {
		return nil, fmt.Errorf("no Polygon or MultiPolygon in it")
	}
	return p.polygons, nil
}

type parser struct {
	polygons [][][]yujing.LatLon
	points   int
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func (p *parser) object(data json.RawMessage, path string, depth int) error {
	at := path
	if at == "" {
		at = "the top"
	}
	if depth > maxDepth {
		return fmt.Errorf("%s: more than %d collections within each other", at, maxDepth)
	}
	var o object
	if err := json.Unmarshal(data, &o); err != nil {
		return fmt.Errorf("%s: %w", at, err)
	}
	switch o.Type {
	case "FeatureCollection":
		for i, f := range o.Features {
			if err := p.object(f, fmt.Sprintf("%s[%d]", join(path, "features"), i), depth+1); err != nil {
				return err
			}
		}
	case "Feature":
		if len(o.Geometry) == 0 || bytes.Equal(bytes.TrimSpace(o.Geometry), []byte("null")) {
			return nil
		}
		return p.object(o.Geometry, join(path, "geometry"), depth+1)
	case "GeometryCollection":
		for i, g := range o.Geometries {
			if err := p.object(g, fmt.Sprintf("%s[%d]", join(path, "geometries"), i), depth+1); err != nil {
				return err
			}
		}
	case "Polygon":
		var c [][][]float64
		if err := json.Unmarshal(o.Coordinates, &c); err != nil {
			return fmt.Errorf("%s: a Polygon's coordinates are a list of rings of [longitude, latitude] positions", join(path, "coordinates"))
		}
		return p.polygon(c, join(path, "coordinates"))
	case "MultiPolygon":
		var c [][][][]float64
		if err := json.Unmarshal(o.Coordinates, &c); err != nil {
			return fmt.Errorf("%s: a MultiPolygon's coordinates are a list of polygons, each a list of rings of [longitude, latitude] positions", join(path, "coordinates"))
		}
		for i, poly := range c {
			if err := p.polygon(poly, fmt.Sprintf("%s[%d]", join(path, "coordinates"), i)); err != nil {
				return err
			}
		}
	case "Point", "MultiPoint", "LineString", "MultiLineString":
		return nil // not an outline
	case "":
		return fmt.Errorf("%s: no \"type\": want FeatureCollection, Feature, Polygon or MultiPolygon", at)
	default:
		return fmt.Errorf("%s: type %q is not GeoJSON", at, o.Type)
	}
	return nil
}

func (p *parser) polygon(rings [][][]float64, path string) error {
	if len(rings) == 0 {
		return fmt.Errorf("%s: a polygon without rings", path)
	}
	var poly [][]yujing.LatLon
	for i, ring := range rings {
		at := fmt.Sprintf("%s[%d]", path, i)
		if len(ring) < 4 {
			return fmt.Errorf("%s: a ring needs at least 4 positions (the first repeated at the end), got %d", at, len(ring))
		}
		if p.points += len(ring); p.points > maxPoints {
			return fmt.Errorf("%s: more than %d positions in all; simplify the outline first", at, maxPoints)
		}
		out := make([]yujing.LatLon, len(ring))
		for j, pos := range ring {
			if len(pos) < 2 {
				return fmt.Errorf("%s[%d]: a position is [longitude, latitude], got %d numbers", at, j, len(pos))
			}
			lon, lat := pos[0], pos[1]
			if math.IsNaN(lon) || lon < -180 || lon > 180 {
				return fmt.Errorf("%s[%d]: longitude %g is outside -180…180", at, j, lon)
			}
			if math.IsNaN(lat) || lat < -90 || lat > 90 {
				return fmt.Errorf("%s[%d]: latitude %g is outside -90…90 (GeoJSON writes longitude first)", at, j, lat)
			}
			out[j] = yujing.LatLon{Lat: lat, Lon: lon}
		}
		if out[0] != out[len(out)-1] {
			return fmt.Errorf("%s: the ring is not closed: its last position must repeat its first", at)
		}
		poly = append(poly, out)
	}
	p.polygons = append(p.polygons, poly)
	return nil
}

// Simplify thins each ring of each polygon to the points that matter at
// tolerance (degrees; 0.0001° is about 10 m), by Douglas–Peucker, keeping
// every ring closed and at least 4 points long. A ring that shrinks below
// that is kept whole.
func Simplify(polygons [][][]yujing.LatLon, tolerance float64) [][][]yujing.LatLon {
	out := make([][][]yujing.LatLon, 0, len(polygons))
	for _, poly := range polygons {
		out = append(out, simplifyRings(poly, tolerance))
	}
	return out
}

func simplifyRings(rings [][]yujing.LatLon, tolerance float64) [][]yujing.LatLon {
	out := make([][]yujing.LatLon, 0, len(rings))
	for _, r := range rings {
		keep := make([]bool, len(r))
		keep[0], keep[len(r)-1] = true, true
		// The ring's first point is also its last: split it at the point
		// farthest from the first, so that both halves have a chord.
		far, best := 0, -1.0
		for i := range r {
			if d := dist2(r[i], r[0]); d > best {
				far, best = i, d
			}
		}
		keep[far] = true
		douglasPeucker(r, 0, far, tolerance*tolerance, keep)
		douglasPeucker(r, far, len(r)-1, tolerance*tolerance, keep)
		var s []yujing.LatLon
		for i, k := range keep {
			if k {
				s = append(s, r[i])
			}
		}
		if len(s) < 4 {
			s = r
		}
		out = append(out, s)
	}
	return out
}

func douglasPeucker(r []yujing.LatLon, a, b int, tol2 float64, keep []bool) {
	if b-a < 2 {
		return
	}
	far, best := -1, tol2
	for i := a + 1; i < b; i++ {
		if d := segDist2(r[i], r[a], r[b]); d > best {
			far, best = i, d
		}
	}
	if far < 0 {
		return
	}
	keep[far] = true
	douglasPeucker(r, a, far, tol2, keep)
	douglasPeucker(r, far, b, tol2, keep)
}

func dist2(p, q yujing.LatLon) float64 {
	dx, dy := p.Lon-q.Lon, p.Lat-q.Lat
	return dx*dx + dy*dy
}

// segDist2 is the squared distance from p to the segment a–b, in degrees
// (flat: outlines are small).
func segDist2(p, a, b yujing.LatLon) float64 {
	dx, dy := b.Lon-a.Lon, b.Lat-a.Lat
	l2 := dx*dx + dy*dy
	if l2 == 0 {
		return dist2(p, a)
	}
	t := ((p.Lon-a.Lon)*dx + (p.Lat-a.Lat)*dy) / l2
	t = math.Max(0, math.Min(1, t))
	return dist2(p, yujing.LatLon{Lon: a.Lon + t*dx, Lat: a.Lat + t*dy})
}
