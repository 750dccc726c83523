package sheet

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"yujing"
	"yujing/ingest"
)

// Catalog is where sensors are checked and imported: ingest.Catalog.
type Catalog interface {
	// Sites are the sites sensors may belong to.
	Sites() []yujing.Site
	// Sensors are the sensors in force, with topic, region and industry
	// filled in.
	Sensors() []yujing.Sensor
	// Check fills a sensor's defaults and reports each problem as an
	// *ingest.SensorError (several joined).
	Check(s *yujing.Sensor) error
	// Import checks the batch as a whole and, unless dryRun, applies all
	// of it or nothing; an *ingest.ImportError lists every problem.
	Import(ctx context.Context, batch []yujing.Sensor, dryRun bool) error
}

// familiesOf returns the sensor families cat knows (ingest.Catalog says,
// with its Families method), else the built-in ones.
func familiesOf(cat Catalog) yujing.Families {
	if fc, ok := cat.(interface{ Families() yujing.Families }); ok {
		return fc.Families()
	}
	return yujing.BuiltinFamilies()
}

// Action is what importing a row does.
type Action string

// The actions of a row.
const (
	Create    Action = "create"
	Update    Action = "update"
	Unchanged Action = "unchanged"
	Invalid   Action = "invalid"
)

// Step is what importing one row (one item of a JSON list) does.
type Step struct {
	Line     int      `json:"line,omitempty"`
	Item     int      `json:"item,omitempty"`
	ID       string   `json:"id"`
	Action   Action   `json:"action"`
	Changes  []string `json:"changes,omitempty"`  // update: "field old → new"
	Details  string   `json:"details,omitempty"`  // create: topic, decoder, interval
	Problems int      `json:"problems,omitempty"` // invalid: how many

	sensor yujing.Sensor // create, update: the sensor as it is imported
}

// Result is an import's plan and outcome. Applied says the changes are in
// force; it is false after a dry run and whenever there is a problem, and
// then nothing changed.
type Result struct {
	Format   string    `json:"format"`  // "UTF-8, comma-separated", "JSON"
	Rows     int       `json:"rows"`    // rows (items) read
	Sensors  int       `json:"sensors"` // sensors in force it was compared with
	DryRun   bool      `json:"dry_run"`
	Applied  bool      `json:"applied"`
	Steps    []Step    `json:"steps"`
	Problems []Problem `json:"problems"`
}

// Count is the number of steps with action a.
func (r *Result) Count(a Action) int {
	n := 0
	for _, s := range r.Steps {
		if s.Action == a {
			n++
		}
	}
	return n
}

// planner builds a Result: steps, problems, the batch for the catalogue.
type planner struct {
	res     *Result
	sites   []yujing.Site
	current map[string]yujing.Sensor
	// place returns the problem's place for field of step i: line and
	// column of a sheet, item and field of a JSON list.
	place func(i int, field string) Problem
}

func newPlanner(cat Catalog, res *Result) *planner {
	p := &planner{res: res, sites: cat.Sites(), current: map[string]yujing.Sensor{}}
	for _, s := range cat.Sensors() {
		p.current[s.ID] = s
	}
	res.Sensors = len(p.current)
	return p
}

func (p *planner) fail(i int, field, format string, args ...any) {
	pr := p.place(i, field)
	pr.Message = fmt.Sprintf(format, args...)
	p.res.Problems = append(p.res.Problems, pr)
}

// check runs the catalogue's checks on m, the sensor of step i (its
// defaults filled), leaving out fields already reported; it says whether
// m passed.
func (p *planner) check(cat Catalog, i int, m *yujing.Sensor, reported map[string]bool) bool {
	err := cat.Check(m)
	if err == nil {
		return len(reported) == 0
	}
	for _, e := range sensorErrors(err) {
		if !reported[e.Field] {
			p.fail(i, e.Field, "%s", e.Msg)
		}
	}
	return false
}

// sensorErrors splits a Check error into its *ingest.SensorError parts.
func sensorErrors(err error) []*ingest.SensorError {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var out []*ingest.SensorError
	for _, e := range errs {
		var se *ingest.SensorError
		if !errors.As(e, &se) {
			se = &ingest.SensorError{Field: "sensor", Msg: e.Error()}
		}
		out = append(out, se)
	}
	return out
}

// decide sets step i's action from its checked sensor m.
func (p *planner) decide(i int, m yujing.Sensor) {
	st := &p.res.Steps[i]
	st.sensor = m
	cur, exists := p.current[m.ID]
	if !exists {
		st.Action, st.Details = Create, createDetails(&m)
		return
	}
	a, b := withSite(cur, p.sites), withSite(m, p.sites)
	st.Changes = sensorChanges(&a, &b)
	st.Action = Unchanged
	if len(st.Changes) > 0 {
		st.Action = Update
	}
}

// finish hands the creates and updates to the catalogue, which checks them
// together (a topic taken twice, …) and applies them unless this is a dry
// run or a problem was found; then each step with a problem is invalid.
func (p *planner) finish(ctx context.Context, cat Catalog, dryRun bool) (*Result, error) {
	res := p.res
	var batch []yujing.Sensor
	var of []int // batch index → step
	for i, st := range res.Steps {
		if st.Action == Create || st.Action == Update {
			batch = append(batch, st.sensor)
			of = append(of, i)
		}
	}
	if len(batch) > 0 {
		err := cat.Import(ctx, batch, dryRun || len(res.Problems) > 0)
		var ie *ingest.ImportError
		switch {
		case errors.As(err, &ie):
			for _, pr := range ie.Problems {
				if pr.Index < 0 || pr.Index >= len(of) {
					res.Problems = append(res.Problems, Problem{Message: pr.Msg})
					continue
				}
				p.fail(of[pr.Index], pr.Field, "%s", pr.Msg)
			}
		case err != nil:
			return nil, err
		}
	}
	res.Problems = sortProblems(res.Problems)
	for i := range res.Steps {
		st := &res.Steps[i]
		st.Problems = 0
		for _, pr := range res.Problems {
			if (st.Line > 0 && pr.Line == st.Line) || (st.Item > 0 && pr.Item == st.Item) {
				st.Problems++
			}
		}
		if st.Problems > 0 {
			st.Action, st.Changes, st.Details = Invalid, nil, ""
		}
	}
	if res.Steps == nil {
		res.Steps = []Step{}
	}
	res.Applied = !dryRun && len(res.Problems) == 0
	return res, nil
}

// sortProblems orders problems by line (item), then column.
func sortProblems(ps []Problem) []Problem {
	ps = append([]Problem{}, ps...)
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Item, b.Item), cmp.Compare(a.Col, b.Col))
	})
	return ps
}

// Import plans the sheet's rows against the catalogue's sensors — each
// row creates a sensor, updates one (an empty cell keeps the current
// value) or leaves it unchanged — and, unless dryRun, applies the plan:
// all of it, or nothing when there is any problem. Every problem is in the
// Result; the error is for a failure to apply (the store) only.
func (sh *Sheet) Import(ctx context.Context, cat Catalog, dryRun bool) (*Result, error) {
	res := &Result{Format: sh.Describe(), Rows: len(sh.rows), DryRun: dryRun, Problems: slices.Clone(sh.problems)}
	p := newPlanner(cat, res)
	p.place = func(i int, field string) Problem {
		pr := Problem{Line: res.Steps[i].Line}
		if c, ok := sh.col[field]; ok {
			pr.Col, pr.Column = c+1, sh.headers[c]
		} else {
			pr.Field = field
		}
		return pr
	}
	readProblems := map[int][]Problem{}
	for _, pr := range sh.problems {
		readProblems[pr.Line] = append(readProblems[pr.Line], pr)
	}
	for i, rw := range sh.rows {
		rs := rw.rs
		res.Steps = append(res.Steps, Step{Line: rw.line, ID: rs.id})
		// A row whose cells did not read is invalid, but it is still
		// checked, so that every problem it has is listed at once; a
		// field already reported is not reported again.
		reported := map[string]bool{}
		for _, pr := range readProblems[rw.line] {
			reported[pr.key] = true
		}
		bad := func(key, format string, args ...any) {
			if !reported[key] {
				reported[key] = true
				p.fail(i, key, format, args...)
			}
		}
		if rs.set["family"] {
			f, err := ParseFamily(familiesOf(cat), rs.family)
			if err != nil {
				bad("family", "%v", err)
			}
			rs.s.Family = f
		}
		cur, exists := p.current[rs.id]
		var m yujing.Sensor
		if exists {
			m = rs.merge(&cur, p.sites)
		} else {
			m = rs.merge(nil, p.sites)
			if m.Site == "" {
				bad("site", "empty; a new sensor needs its site")
			}
			if m.Family == "" {
				bad("family", "empty; a new sensor needs its family")
			}
		}
		if m.Min != nil && m.Max != nil && *m.Min >= *m.Max && !(rs.set["min"] && rs.set["max"]) {
			key := "max"
			if rs.set["min"] {
				key = "min"
			}
			bad(key, "range min %g must be below max %g (the other end is the sensor's current one)", *m.Min, *m.Max)
			reported["max"] = true
		}
		if p.check(cat, i, &m, reported) && len(readProblems[rw.line]) == 0 {
			p.decide(i, m)
		}
	}
	return p.finish(ctx, cat, dryRun)
}

// ImportJSON imports a JSON list of sensors as POST /api/v1/sensors takes
// each ({"id": "GT-1", "site": …, "interval": "10s", …}): each creates a
// sensor or replaces the one with its id whole (a field left out takes
// its default, not the current value). Otherwise as Sheet.Import.
func ImportJSON(ctx context.Context, cat Catalog, data []byte, dryRun bool) (*Result, error) {
	res := &Result{Format: "JSON", DryRun: dryRun}
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		res.Steps, res.Problems = []Step{}, []Problem{{Message: "not a JSON list of sensors: " + err.Error()}}
		return res, nil
	}
	res.Rows = len(items)
	p := newPlanner(cat, res)
	p.place = func(i int, field string) Problem { return Problem{Item: i + 1, Field: field} }
	first := map[string]int{}
	for i, raw := range items {
		res.Steps = append(res.Steps, Step{Item: i + 1})
		var b ingest.SensorJSON
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			p.fail(i, "", "%v", err)
			continue
		}
		res.Steps[i].ID = b.ID
		reported := map[string]bool{}
		if j, dup := first[b.ID]; dup && b.ID != "" {
			p.fail(i, "id", "sensor %q is already item %d", b.ID, j+1)
			reported["id"] = true
		} else if !dup {
			first[b.ID] = i
		}
		m, err := b.Sensor()
		if err != nil {
			for _, e := range sensorErrors(err) {
				p.fail(i, e.Field, "%s", e.Msg)
				reported[e.Field] = true
			}
		}
		if p.check(cat, i, &m, reported) {
			p.decide(i, m)
		}
	}
	return p.finish(ctx, cat, dryRun)
}
