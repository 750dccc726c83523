package sheet

import (
	"strings"

	"yujing"
)

// rowSensor is a row whose cells read well: the fields it sets, to lay
// over the sensor's current values.
type rowSensor struct {
	line     int
	id       string
	set      map[string]bool // keys of the fields the row sets
	s        yujing.Sensor   // their values
	lat, lon *float64
	tags     map[string]string // from tags and tag:NAME cells
	tagsCell bool              // the tags cell is filled: it replaces every tag
	family   string            // the family cell as written
}

// readCells checks every row's cells and keeps, per row, what they set;
// problems go to sh.problems. What needs the sensors in force (sites,
// decoders, topics, a new sensor's site and family) is checked by Import.
func (sh *Sheet) readCells() {
	firstLine := map[string]int{}
	for i := range sh.rows {
		rw := &sh.rows[i]
		rs := &rowSensor{line: rw.line, set: map[string]bool{}}
		rw.rs = rs
		bad := func(key, format string, args ...any) { sh.fail(rw.line, key, format, args...) }
		get := func(key string) (string, bool) {
			v, ok := rw.cells[key]
			if ok {
				rs.set[key] = true
			}
			return v, ok
		}
		id, ok := get("id")
		switch {
		case !ok:
			bad("id", "empty; every row needs the sensor's id")
		case excelScientific.MatchString(id):
			bad("id", "%q looks like a number Excel shortened; format the column as text", id)
		default:
			if first, dup := firstLine[id]; dup {
				bad("id", "sensor %q is already on line %d", id, first)
			} else {
				firstLine[id] = rw.line
			}
		}
		rs.id, rs.s.ID = id, id
		for _, k := range []string{"name", "industry", "metric", "unit", "location", "site", "decoder", "topic"} {
			v, ok := get(k)
			if !ok {
				continue
			}
			switch k {
			case "name":
				rs.s.Name = v
			case "industry":
				rs.s.Industry = v
			case "metric":
				rs.s.Metric = v
			case "unit":
				rs.s.Unit = v
			case "location":
				rs.s.Location = v
			case "site":
				rs.s.Site = v // an id or a name: Import tells
			case "decoder":
				rs.s.Decoder = v
			case "topic":
				rs.s.Topic = v
			}
		}
		if v, ok := get("family"); ok {
			// A built-in family reads now; Import reads the cell again
			// against the families the configuration declares.
			rs.family = v
			if f, err := ParseFamily(nil, v); err == nil {
				rs.s.Family = f
			}
		}
		if v, ok := get("region"); ok {
			rs.s.Region = v
			if excelScientific.MatchString(v) {
				bad("region", "%q looks like a number Excel shortened; format the column as text", v)
			}
		}
		if v, ok := get("interval"); ok {
			d, err := parseInterval(v)
			if err != nil {
				bad("interval", "%v", err)
			}
			rs.s.Interval = d
		}
		num := func(key string) *float64 {
			v, ok := get(key)
			if !ok {
				return nil
			}
			f, err := parseNumber(v)
			if err != nil {
				bad(key, "%v", err)
				return nil
			}
			return &f
		}
		rs.s.Min, rs.s.Max = num("min"), num("max")
		rs.lat, rs.lon = num("lat"), num("lon")
		if rs.lat != nil && (*rs.lat < -90 || *rs.lat > 90) {
			bad("lat", "latitude %g is outside -90…90", *rs.lat)
		}
		if rs.lon != nil && (*rs.lon < -180 || *rs.lon > 180) {
			bad("lon", "longitude %g is outside -180…180", *rs.lon)
		}
		if _, latSet := rw.cells["lat"]; latSet != hasCell(rw, "lon") {
			if latSet {
				bad("lat", "give the longitude (%s) too", sh.header("lon"))
			} else {
				bad("lon", "give the latitude (%s) too", sh.header("lat"))
			}
		}
		if v, ok := get("tags"); ok {
			t, err := parseTags(v)
			if err != nil {
				bad("tags", "%v", err)
			}
			rs.tags, rs.tagsCell = t, true
		}
		for k, v := range rw.cells {
			if name, ok := strings.CutPrefix(k, "tag:"); ok {
				rs.set["tags"] = true
				if rs.tags == nil {
					rs.tags = map[string]string{}
				}
				rs.tags[name] = v
			}
		}
	}
}

func hasCell(rw *row, key string) bool { _, ok := rw.cells[key]; return ok }

// header returns the header of column key as written in the file.
func (sh *Sheet) header(key string) string {
	if i, ok := sh.col[key]; ok {
		return sh.headers[i]
	}
	return key
}
