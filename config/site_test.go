package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"yujing"
)

// TestSiteMap: a site's location, and its boundary read from a GeoJSON
// file beside the configuration file (a relative path is the config
// file's folder's, not the working directory's).
func TestSiteMap(t *testing.T) {
	dir := t.TempDir()
	outline := `{"type": "Feature", "properties": {"name": "园区"}, "geometry": {"type": "Polygon",
		"coordinates": [[[120.60, 31.25], [120.66, 31.25], [120.66, 31.29], [120.60, 31.29], [120.60, 31.25]]]}}`
	if err := os.WriteFile(filepath.Join(dir, "park.geojson"), []byte(outline), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "yujing.yaml")
	yaml := `sites:
  - {id: plant, location: {lat: 31.2598, lon: 120.632}}
  - {id: park, boundary: park.geojson}
  - {id: other}
`
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, Options{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Sites[0].Location; got == nil || *got != (yujing.LatLon{Lat: 31.2598, Lon: 120.632}) {
		t.Errorf("plant's location %+v", got)
	}
	if b := cfg.Sites[1].Boundary; len(b) != 1 || len(b[0]) != 1 || len(b[0][0]) != 5 || b[0][0][1] != (yujing.LatLon{Lat: 31.25, Lon: 120.66}) {
		t.Errorf("park's boundary %+v", b)
	}
	if cfg.Sites[2].Location != nil || cfg.Sites[2].Boundary != nil {
		t.Errorf("a site without either: %+v", cfg.Sites[2])
	}
}

func TestSiteMapErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"swapped.geojson": `{"type": "Polygon", "coordinates": [[[31.25, 120.60], [31.25, 120.66], [31.29, 120.66], [31.25, 120.60]]]}`,
		"points.geojson":  `{"type": "Point", "coordinates": [120.6, 31.2]}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ name, yaml, want string }{
		{"latitude", "sites: [{id: a, location: {lat: 131.2, lon: 120.6}}]\n",
			`x.yaml:1:33: site "a": location.lat 131.2 is outside -90…90`},
		{"longitude", "sites: [{id: a, location: {lat: 31.2, lon: -200}}]\n",
			`x.yaml:1:44: site "a": location.lon -200 is outside -180…180`},
		{"half a location", "sites:\n  - id: a\n    location: {lat: 31.2}\n",
			`x.yaml:3:15: site "a": location: give lat and lon (degrees, WGS 84), e.g. {lat: 31.27, lon: 120.63}`},
		{"misspelt", "sites: [{id: a, location: {lat: 31.2, lng: 120.6}}]\n",
			`x.yaml:1:39: sites[0].location: unknown field "lng" (did you mean "lat"?)`},
		{"no file", "sites: [{id: a, boundary: nowhere.geojson}]\n",
			`x.yaml:1:27: site "a": boundary: stat ` + filepath.Join(dir, "nowhere.geojson") + `: no such file or directory`},
		{"latitude first", "sites: [{id: a, boundary: swapped.geojson}]\n",
			`x.yaml:1:27: site "a": boundary swapped.geojson: coordinates[0][0]: latitude 120.6 is outside -90…90 (GeoJSON writes longitude first)`},
		{"no polygon", "sites: [{id: a, boundary: points.geojson}]\n",
			`x.yaml:1:27: site "a": boundary points.geojson: no Polygon or MultiPolygon in it`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(filepath.Join(dir, "x.yaml"), []byte(c.yaml), Options{LookupEnv: noEnv})
			got := ""
			if err != nil {
				got = strings.TrimSpace(strings.ReplaceAll(err.Error(), dir+string(filepath.Separator)+"x.yaml", "x.yaml"))
			}
			if got != c.want {
				t.Errorf("error:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}
