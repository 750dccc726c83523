package config

import (
	"os"
	"path/filepath"

	"yujing"
	"yujing/geojson"
	"yujing/internal/yamlconf"
)

// LatLonFile is a point on the earth: WGS 84 latitude and longitude in
// degrees, as a phone's map or GPS gives them.
type LatLonFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	Lat    *float64 `yaml:"lat"`
	Lon    *float64 `yaml:"lon"`
}

// boundaryTolerance thins a site's outline to what the wall screen's map
// shows: 0.0001° is about 10 m.
const boundaryTolerance = 0.0001

// maxBoundaryBytes bounds a boundary file.
const maxBoundaryBytes = 32 << 20

// siteMap checks where a site is on the wall screen's map: its location,
// and its boundary, a GeoJSON file read relative to the configuration
// file's folder.
func (c *checker) siteMap(s SiteFile, site *yujing.Site) {
	if l := s.Location; l != nil {
		pos := s.Fields.At("location", s.Pos)
		switch {
		case l.Lat == nil || l.Lon == nil:
			c.Add(pos, "site %q: location: give lat and lon (degrees, WGS 84), e.g. {lat: 31.27, lon: 120.63}", s.ID)
		case !(*l.Lat >= -90 && *l.Lat <= 90):
			c.Add(l.Fields.At("lat", pos), "site %q: location.lat %g is outside -90…90", s.ID, *l.Lat)
		case !(*l.Lon >= -180 && *l.Lon <= 180):
			c.Add(l.Fields.At("lon", pos), "site %q: location.lon %g is outside -180…180", s.ID, *l.Lon)
		default:
			site.Location = &yujing.LatLon{Lat: *l.Lat, Lon: *l.Lon}
		}
	}
	if s.Boundary == "" {
		return
	}
	pos := s.Fields.At("boundary", s.Pos)
	path := s.Boundary
	if !filepath.IsAbs(path) && c.f.Pos.File != "" {
		path = filepath.Join(filepath.Dir(c.f.Pos.File), path)
	}
	if st, err := os.Stat(path); err != nil {
		c.Add(pos, "site %q: boundary: %v", s.ID, err)
		return
	} else if st.Size() > maxBoundaryBytes {
		c.Add(pos, "site %q: boundary %s: %d bytes, more than %d: simplify the outline first", s.ID, s.Boundary, st.Size(), maxBoundaryBytes)
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		c.Add(pos, "site %q: boundary: %v", s.ID, err)
		return
	}
	rings, err := geojson.Parse(data)
	if err != nil {
		c.Add(pos, "site %q: boundary %s: %v", s.ID, s.Boundary, err)
		return
	}
	site.Boundary = geojson.Simplify(rings, boundaryTolerance)
}

// SiteFile is one site.
type SiteFile struct {
	Pos      yamlconf.Pos
	Fields   yamlconf.Fields
	ID       string `yaml:"id"`
	Name     string `yaml:"name"`
	Region   string `yaml:"region"`
	Industry string `yaml:"industry"`
	// Parent makes the site part of another: a hazard source or a
	// tailings pond of an enterprise's plant.
	Parent string `yaml:"parent"`
	// Location and Boundary place the site on the wall screen's map
	// (config/site.go).
	Location *LatLonFile `yaml:"location"`
	Boundary string      `yaml:"boundary"` // a GeoJSON file, relative to this file
}

func (c *checker) sites(cfg *Config) map[string]bool {
	seen := map[string]bool{}
	for _, s := range c.f.Sites {
		c.id(s.Fields.At("id", s.Pos), "site", s.ID)
		if seen[s.ID] {
			c.Add(s.Fields.At("id", s.Pos), "site %q is defined twice", s.ID)
		}
		seen[s.ID] = true
		site := yujing.Site{ID: s.ID, Name: s.Name, Region: s.Region, Industry: s.Industry, Parent: s.Parent}
		c.siteMap(s, &site)
		cfg.Sites = append(cfg.Sites, site)
	}
	c.siteParents(cfg, seen)
	return seen
}

// siteParents checks the sites' parents (defined, no cycle) and gives a
// site without its own region or industry its parent's.
func (c *checker) siteParents(cfg *Config, seen map[string]bool) {
	idx := map[string]int{}
	for i, s := range cfg.Sites {
		if _, dup := idx[s.ID]; !dup {
			idx[s.ID] = i
		}
	}
	for _, s := range c.f.Sites {
		if s.Parent == "" {
			continue
		}
		if !seen[s.Parent] {
			c.Add(s.Fields.At("parent", s.Pos), "site %q: parent %q is not defined under sites", s.ID, s.Parent)
			continue
		}
		// Follow the parents up: a cycle comes back to a site already met.
		met := map[string]bool{s.ID: true}
		for p := s.Parent; p != ""; p = cfg.Sites[idx[p]].Parent {
			if met[p] {
				c.Add(s.Fields.At("parent", s.Pos), "site %q: parent %q makes a cycle (a site cannot be part of itself)", s.ID, s.Parent)
				break
			}
			met[p] = true
			if !seen[p] {
				break
			}
		}
	}
	// Inherit region and industry, nearest ancestor first.
	for i := range cfg.Sites {
		s := &cfg.Sites[i]
		for p, n := s.Parent, 0; p != "" && n < len(cfg.Sites); n++ {
			j, found := idx[p]
			if !found {
				break
			}
			if s.Region == "" {
				s.Region = cfg.Sites[j].Region
			}
			if s.Industry == "" {
				s.Industry = cfg.Sites[j].Industry
			}
			p = cfg.Sites[j].Parent
		}
	}
}
