package web

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"yujing"
	"yujing/store"
)

// Wall is what the duty room's wall screen (大屏, the console's #/wall)
// shows, in one request: the open warnings counted by level, by family
// and by site, and the open red and orange ones each with its
// call-and-answer state — the current step, its deadline, who is being
// called — so that the screen needs no request per warning.
type Wall struct {
	Now time.Time `json:"now"`
	// Levels counts the open warnings by level (red, orange, yellow, blue).
	Levels   map[string]int `json:"levels"`
	Families []WallGroup    `json:"families"` // by family, most warnings first
	Sites    []WallGroup    `json:"sites"`    // by site, most warnings first
	// Warnings are the open red and orange warnings, red first, then the
	// oldest first.
	Warnings []WallWarning `json:"warnings"`
}

// WallGroup counts the open warnings of one family or site by level.
type WallGroup struct {
	Key    string         `json:"key"`
	Name   string         `json:"name,omitempty"`
	Levels map[string]int `json:"levels"`
	Total  int            `json:"total"`
}

// WallWarning is an open red or orange warning with its call-and-answer.
type WallWarning struct {
	yujing.Alert
	// Escalation is its latest escalation (the active one has the
	// deadline of its current step); nil when none was started.
	Escalation *store.Escalation `json:"escalation"`
	// Calling are the calls of the escalation's current step and round:
	// who, on which channel, and how each stands.
	Calling []WallCall `json:"calling"`
}

// WallCall is one call of the current step.
type WallCall struct {
	Person     string  `json:"person"`
	PersonName string  `json:"person_name"`
	Channel    string  `json:"channel"`
	Outcome    Outcome `json:"outcome"`
}

// openStates are the states of a warning that is not closed.
var openStates = []yujing.State{yujing.StateFiring, yujing.StateAcknowledged, yujing.StateDisposing, yujing.StateResolved}

// wall answers GET /api/v1/wall.
func (s *Server) wall(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now()
	as, err := s.opts.Alerts.List(r.Context(), store.AlertFilter{States: openStates, Limit: 5000})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	wall := Wall{Now: now.In(s.opts.Location), Levels: levelCounts(), Families: []WallGroup{}, Sites: []WallGroup{}, Warnings: []WallWarning{}}
	families, sites := map[string]*WallGroup{}, map[string]*WallGroup{}
	count := func(m map[string]*WallGroup, key string, level string) {
		g := m[key]
		if g == nil {
			g = &WallGroup{Key: key, Levels: levelCounts()}
			m[key] = g
		}
		g.Levels[level]++
		g.Total++
	}
	for _, a := range as {
		level := a.Level.String()
		wall.Levels[level]++
		count(families, string(a.Family), level)
		count(sites, a.Site, level)
		if a.Level == yujing.Red || a.Level == yujing.Orange {
			ww, err := s.wallWarning(r.Context(), a, now)
			if err != nil {
				s.fail(w, r, fmt.Errorf("call-and-answer of alert %d: %w", a.ID, err))
				return
			}
			wall.Warnings = append(wall.Warnings, ww)
		}
	}
	for _, g := range families {
		wall.Families = append(wall.Families, *g)
	}
	for _, g := range sites {
		if s.opts.Sensors != nil {
			if site, ok := s.opts.Sensors.Site(g.Key); ok {
				g.Name = site.Name
			}
		}
		wall.Sites = append(wall.Sites, *g)
	}
	byTotal := func(a, b WallGroup) int { return cmp.Or(b.Total-a.Total, strings.Compare(a.Key, b.Key)) }
	slices.SortFunc(wall.Families, byTotal)
	slices.SortFunc(wall.Sites, byTotal)
	slices.SortFunc(wall.Warnings, func(a, b WallWarning) int {
		return cmp.Or(cmp.Compare(b.Level, a.Level), a.StartedAt.Compare(b.StartedAt), cmp.Compare(a.ID, b.ID))
	})
	writeJSON(w, http.StatusOK, wall)
}

func levelCounts() map[string]int {
	m := make(map[string]int, len(yujing.Levels))
	for _, l := range yujing.Levels {
		m[l.String()] = 0
	}
	return m
}

// wallWarning finds a warning's latest escalation and the calls of its
// current step.
func (s *Server) wallWarning(ctx context.Context, a yujing.Alert, now time.Time) (WallWarning, error) {
	ww := WallWarning{Alert: a, Calling: []WallCall{}}
	if s.opts.Escalations == nil {
		return ww, nil
	}
	escs, err := s.opts.Escalations.Escalations(ctx, a.ID)
	if err != nil || len(escs) == 0 {
		return ww, err
	}
	e := slices.MaxFunc(escs, func(x, y store.Escalation) int {
		return cmp.Or(x.StartedAt.Compare(y.StartedAt), cmp.Compare(x.ID, y.ID))
	})
	ww.Escalation = &e
	calls, err := s.callsFor(ctx, a.ID)
	if err != nil {
		return ww, err
	}
	for _, c := range callOutcomes(calls, escs, now) {
		if c.EscalationID != nil && *c.EscalationID == e.ID && c.Round == e.Round && c.Step == e.Step {
			ww.Calling = append(ww.Calling, WallCall{Person: c.Person, PersonName: c.PersonName, Channel: c.Channel, Outcome: c.Outcome})
		}
	}
	return ww, nil
}

// SiteMap is GeoJSON (RFC 7946): a FeatureCollection with a Feature per
// site that has sensors, for the wall screen's map.
type SiteMap struct {
	Type     string        `json:"type"` // FeatureCollection
	Features []SiteFeature `json:"features"`
}

// SiteFeature is a site on the map: its outline (MultiPolygon) from the
// boundary the configuration names, else a Point at its location, else
// at the middle of its sensors' coordinates, else no geometry (null).
type SiteFeature struct {
	Type       string         `json:"type"` // Feature
	ID         string         `json:"id"`
	Geometry   *Geometry      `json:"geometry"`
	Properties SiteProperties `json:"properties"`
}

// Geometry is a GeoJSON Point ([longitude, latitude]) or MultiPolygon.
type Geometry struct {
	Type        string `json:"type"`
	Coordinates any    `json:"coordinates"`
}

// SiteProperties name the site and say where its place on the map came
// from: "boundary", "location", "sensors" or "" (none).
type SiteProperties struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Region string `json:"region,omitempty"`
	Placed string `json:"placed"`
	// Label is where to write the site's name: its location when the
	// configuration gives one; null: the map chooses.
	Label *[2]float64 `json:"label"`
}

// siteMap answers GET /api/v1/sites/map.
func (s *Server) siteMap(w http.ResponseWriter, r *http.Request) {
	m := SiteMap{Type: "FeatureCollection", Features: []SiteFeature{}}
	if s.opts.Sensors == nil {
		writeJSON(w, http.StatusOK, m)
		return
	}
	type acc struct {
		lat, lon float64
		n        int
	}
	order, coords := []string{}, map[string]*acc{}
	for _, st := range s.opts.Sensors.Statuses(s.opts.Now()) {
		c, ok := coords[st.Site]
		if !ok {
			c = &acc{}
			coords[st.Site] = c
			order = append(order, st.Site)
		}
		if p, ok := sensorCoords(st.Location); ok {
			c.lat, c.lon, c.n = c.lat+p.Lat, c.lon+p.Lon, c.n+1
		}
	}
	slices.Sort(order)
	for _, id := range order {
		site, ok := s.opts.Sensors.Site(id)
		if !ok {
			site = yujing.Site{ID: id}
		}
		f := SiteFeature{Type: "Feature", ID: id, Properties: SiteProperties{ID: id, Name: cmp.Or(site.Name, id), Region: site.Region}}
		if site.Location != nil {
			f.Properties.Label = &[2]float64{site.Location.Lon, site.Location.Lat}
		}
		switch c := coords[id]; {
		case len(site.Boundary) > 0:
			f.Geometry, f.Properties.Placed = &Geometry{Type: "MultiPolygon", Coordinates: positions(site.Boundary)}, "boundary"
		case site.Location != nil:
			f.Geometry, f.Properties.Placed = &Geometry{Type: "Point", Coordinates: [2]float64{site.Location.Lon, site.Location.Lat}}, "location"
		case c.n > 0:
			f.Geometry, f.Properties.Placed = &Geometry{Type: "Point", Coordinates: [2]float64{round7(c.lon / float64(c.n)), round7(c.lat / float64(c.n))}}, "sensors"
		}
		m.Features = append(m.Features, f)
	}
	writeJSON(w, http.StatusOK, m)
}

// round7 rounds degrees to 7 decimals (about a centimetre).
func round7(x float64) float64 { return math.Round(x*1e7) / 1e7 }

// positions writes polygons as GeoJSON MultiPolygon coordinates.
func positions(polys [][][]yujing.LatLon) [][][][2]float64 {
	out := make([][][][2]float64, len(polys))
	for i, poly := range polys {
		out[i] = make([][][2]float64, len(poly))
		for j, ring := range poly {
			out[i][j] = make([][2]float64, len(ring))
			for k, p := range ring {
				out[i][j][k] = [2]float64{p.Lon, p.Lat}
			}
		}
	}
	return out
}

// sensorCoords reads the coordinates a sensor's location may carry:
// "31.26,120.63" or "罐区东侧 (31.26,120.63)", latitude first, as
// `yujing sensors import` writes its lat and lon columns.
func sensorCoords(loc string) (yujing.LatLon, bool) {
	if i := strings.LastIndex(loc, " ("); i >= 0 && strings.HasSuffix(loc, ")") {
		loc = loc[i+2 : len(loc)-1]
	}
	a, b, ok := strings.Cut(loc, ",")
	if !ok {
		return yujing.LatLon{}, false
	}
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	lon, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	if err1 != nil || err2 != nil || !(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180) {
		return yujing.LatLon{}, false
	}
	return yujing.LatLon{Lat: lat, Lon: lon}, true
}
