package duty

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"yujing"
)

// Directory is a checked, immutable snapshot of people, organisations,
// responsibility chains and rosters. It is safe for concurrent use.
type Directory struct {
	spec       Spec
	people     map[string]int // index in spec.People
	orgs       map[string]int // index in spec.Orgs
	resp       map[string]int // index in spec.Responsibility
	sites      map[string]yujing.Site
	siteRegion map[string]string
	rosters    map[string]*roster
	rosterList []*roster
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// New checks s and builds its directory. The error lists every problem
// ([Problems]); s must not be changed afterwards.
func New(s Spec) (*Directory, error) {
	if s.Location == nil {
		s.Location = time.UTC
	}
	d := &Directory{spec: s, people: map[string]int{}, orgs: map[string]int{}, resp: map[string]int{},
		sites: map[string]yujing.Site{}, siteRegion: map[string]string{}, rosters: map[string]*roster{}}
	for _, site := range s.Sites {
		d.sites[site.ID] = site
	}
	c := &checker{d: d}
	c.orgs()
	c.people()
	c.rosters()
	c.responsibilities()
	if len(c.probs) > 0 {
		return nil, c.probs
	}
	for _, site := range s.Sites {
		d.siteRegion[site.ID] = site.Region
	}
	for _, o := range s.Orgs {
		for _, site := range o.Sites {
			if d.siteRegion[site] == "" {
				d.siteRegion[site] = d.orgRegion(o.ID)
			}
		}
	}
	// A site inside another (a hazard source, a tailings pond) without a
	// region of its own is where its parent is.
	for _, site := range s.Sites {
		if d.siteRegion[site.ID] != "" {
			continue
		}
		for _, p := range d.siteAncestors(site.ID) {
			if r := d.siteRegion[p]; r != "" {
				d.siteRegion[site.ID] = r
				break
			}
		}
	}
	return d, nil
}

// siteAncestors returns the sites site is part of, nearest first (its
// parent, the parent's parent, …), stopping at a cycle.
func (d *Directory) siteAncestors(site string) []string {
	var out []string
	met := map[string]bool{site: true}
	for p := d.sites[site].Parent; p != "" && !met[p]; p = d.sites[p].Parent {
		met[p] = true
		out = append(out, p)
	}
	return out
}

type checker struct {
	d     *Directory
	probs Problems
}

func (c *checker) add(kind, id string, index int, field, format string, args ...any) {
	c.probs = append(c.probs, &Problem{Kind: kind, ID: id, Index: index, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) id(bad func(field, format string, args ...any), what, id string) {
	switch {
	case id == "":
		bad("id", "id is required")
	case !idPattern.MatchString(id):
		bad("id", "%s id %q: use letters, digits, '-', '_' and '.' (it becomes part of URLs)", what, id)
	}
}

func (c *checker) orgs() {
	d := c.d
	runBy := map[string]string{}
	for i, o := range d.spec.Orgs {
		bad := func(field, format string, args ...any) { c.add(KindOrg, o.ID, i, field, format, args...) }
		c.id(bad, "org", o.ID)
		if _, dup := d.orgs[o.ID]; dup {
			bad("id", "org %q is defined twice", o.ID)
		} else {
			d.orgs[o.ID] = i
		}
		if o.Name == "" {
			bad("name", "name is required")
		}
		switch {
		case o.Kind == "":
			bad("kind", "kind is required (one of %s)", strings.Join(OrgKinds, ", "))
		case !slices.Contains(OrgKinds, o.Kind):
			bad("kind", "unknown kind %q (want one of %s)", o.Kind, strings.Join(OrgKinds, ", "))
		}
		if o.Region != "" && !ValidRegion(o.Region) {
			bad("region", "%s", badRegion(o.Region))
		}
		if o.TZ != "" {
			if _, err := time.LoadLocation(o.TZ); err != nil {
				bad("timezone", "unknown time zone %q", o.TZ)
			}
		}
		for j, site := range o.Sites {
			f := fmt.Sprintf("sites[%d]", j)
			switch other, taken := runBy[site]; {
			case !d.hasSite(site):
				bad(f, "site %q is not defined under sites", site)
			case taken && other != o.ID:
				bad(f, "site %q is already run by org %q", site, other)
			}
			runBy[site] = o.ID
		}
	}
	for i, o := range d.spec.Orgs {
		if _, ok := d.orgs[o.Parent]; o.Parent != "" && !ok {
			c.add(KindOrg, o.ID, i, "parent", "org %q is not defined under orgs", o.Parent)
		}
	}
	// Parent cycles, each reported once, at the first of its orgs listed.
	const (
		unseen = iota
		walking
		done
	)
	state := map[string]int{}
	for _, o := range d.spec.Orgs {
		var path []string
		cur := o.ID
		for {
			i, ok := d.orgs[cur]
			if !ok || state[cur] != unseen {
				break
			}
			state[cur] = walking
			path = append(path, cur)
			cur = d.spec.Orgs[i].Parent
		}
		if state[cur] == walking {
			cycle := path[slices.Index(path, cur):]
			first := slices.MinFunc(cycle, func(a, b string) int { return d.orgs[a] - d.orgs[b] })
			k := slices.Index(cycle, first)
			ordered := append(append([]string{}, cycle[k:]...), cycle[:k]...)
			c.add(KindOrg, first, d.orgs[first], "parent", "organisations form a cycle: %s → %s", strings.Join(ordered, " → "), first)
		}
		for _, id := range path {
			state[id] = done
		}
	}
}

func badRegion(code string) string {
	return fmt.Sprintf("%q is not an administrative division code (6 digits such as 320115, or 9 or 12 for a township or village)", code)
}

func (c *checker) people() {
	d := c.d
	for i, p := range d.spec.People {
		bad := func(field, format string, args ...any) { c.add(KindPerson, p.ID, i, field, format, args...) }
		c.id(bad, "person", p.ID)
		if _, dup := d.people[p.ID]; dup {
			bad("id", "person %q is defined twice", p.ID)
		} else {
			d.people[p.ID] = i
		}
		if p.Name == "" {
			bad("name", "name is required")
		}
		if _, ok := d.orgs[p.Org]; p.Org != "" && len(d.spec.Orgs) > 0 && !ok {
			bad("org", "org %q is not defined under orgs", p.Org)
		}
	}
}

func (c *checker) person(bad func(field, format string, args ...any), field, id string) {
	if _, ok := c.d.people[id]; !ok {
		bad(field, "person %q is not defined under people", id)
	}
}

func (c *checker) rosters() {
	d := c.d
	for i, r := range d.spec.Rosters {
		key := r.Key()
		bad := func(field, format string, args ...any) { c.add(KindRoster, key, i, field, format, args...) }
		out := &roster{spec: r, loc: d.spec.Location}
		if oi, ok := d.orgs[r.Org]; ok && d.spec.Orgs[oi].TZ != "" {
			if loc, err := time.LoadLocation(d.spec.Orgs[oi].TZ); err == nil {
				out.loc = loc
			}
		}
		switch _, ok := d.orgs[r.Org]; {
		case r.Org == "":
			bad("org", "org is required")
		case !ok:
			bad("org", "org %q is not defined under orgs", r.Org)
		}
		switch {
		case r.Role == "":
			bad("role", "role is required (duty_officer, leader_on_duty, …)")
		case strings.Contains(r.Role, "/") || strings.TrimSpace(r.Role) != r.Role:
			bad("role", "role %q: no '/' and no spaces around it (a roster is named org/role)", r.Role)
		}
		if _, dup := d.rosters[key]; dup {
			bad("role", "roster %q is defined twice", key)
		}
		if r.Timezone != "" {
			loc, err := time.LoadLocation(r.Timezone)
			if err != nil {
				bad("timezone", "unknown time zone %q", r.Timezone)
			} else {
				out.loc = loc
			}
		}
		if len(r.Shifts) == 0 {
			bad("shifts", "shifts is required: the daily start times, e.g. [\"08:00\"] for one 24-hour shift or [\"08:00\", \"20:00\"] for two")
		}
		for j, s := range r.Shifts {
			m, err := parseClock(s)
			if err != nil {
				bad(fmt.Sprintf("shifts[%d]", j), "%v", err)
				continue
			}
			if n := len(out.shifts); n > 0 && m <= out.shifts[n-1] {
				bad(fmt.Sprintf("shifts[%d]", j), "%q is not after the shift before it: list the shifts in the order of the day", s)
				continue
			}
			out.shifts = append(out.shifts, m)
		}
		if r.Start == "" {
			bad("start", "start is required: the date whose first shift rotation[0] holds, e.g. 2026-01-01")
		} else if day, err := parseDate(r.Start); err != nil {
			bad("start", "%v", err)
		} else {
			out.start = day
		}
		if len(r.Rotation) == 0 {
			bad("rotation", "rotation is empty: list who holds each shift, in turn")
		}
		for j, turn := range r.Rotation {
			if len(turn) == 0 {
				bad(fmt.Sprintf("rotation[%d]", j), "empty turn: name who holds this shift")
			}
			for k, id := range turn {
				f := fmt.Sprintf("rotation[%d]", j)
				if len(turn) > 1 {
					f += fmt.Sprintf("[%d]", k)
				}
				c.person(bad, f, id)
			}
			out.rotation = append(out.rotation, turn)
		}
		for j, o := range r.Overrides {
			f := fmt.Sprintf("overrides[%d]", j)
			ov := override{people: o.People, note: o.Note}
			var okFrom, okTo bool
			for _, x := range []struct {
				name string
				s    string
				dst  *time.Time
				ok   *bool
			}{{"from", o.From, &ov.from, &okFrom}, {"to", o.To, &ov.to, &okTo}} {
				if x.s == "" {
					bad(f+"."+x.name, "%s is required, e.g. \"2026-10-01 08:00\"", x.name)
					continue
				}
				t, err := parseInstant(x.s, out.loc)
				if err != nil {
					bad(f+"."+x.name, "%v", err)
					continue
				}
				*x.dst, *x.ok = t, true
			}
			if okFrom && okTo && !ov.to.After(ov.from) {
				bad(f+".to", "%q is not after from %q", o.To, o.From)
			}
			if len(o.People) == 0 {
				bad(f+".people", "people is required: who is on duty instead")
			}
			for k, id := range o.People {
				c.person(bad, fmt.Sprintf("%s.people[%d]", f, k), id)
			}
			out.overrides = append(out.overrides, ov)
		}
		if _, dup := d.rosters[key]; !dup {
			d.rosters[key] = out
			d.rosterList = append(d.rosterList, out)
		}
	}
}

func (c *checker) responsibilities() {
	d := c.d
	for i, r := range d.spec.Responsibility {
		key := r.Key()
		bad := func(field, format string, args ...any) { c.add(KindResponsibility, key, i, field, format, args...) }
		switch {
		case r.Site != "" && r.Region != "":
			bad("region", "give site (one site) or region (every site in it), not both")
		case r.Site == "" && r.Region == "":
			bad("", "give site (one site) or region (every site in it)")
		case r.Site != "" && !d.hasSite(r.Site):
			bad("site", "site %q is not defined under sites", r.Site)
		case r.Region != "" && !ValidRegion(r.Region):
			bad("region", "%s", badRegion(r.Region))
		}
		if _, dup := d.resp[key]; dup {
			field := "site"
			if r.Site == "" {
				field = "region"
			}
			bad(field, "the responsibility of %s is defined twice", key)
		} else {
			d.resp[key] = i
		}
		if len(r.Chain) == 0 {
			bad("chain", "chain is empty: list its links, e.g. {tier: 1, role: principal, people: [wang]}")
		}
		for j, l := range r.Chain {
			f := fmt.Sprintf("chain[%d]", j)
			if l.Tier < 1 {
				bad(f+".tier", "tier %d: want 1 or more (1 enterprise, 2 assigned official or township, 3 county bureau, 4 city leader, …)", l.Tier)
			}
			if l.Role == "" {
				bad(f+".role", "role is required (duty_officer, leader_on_duty, principal, assigned_official, bureau_on_duty, supervisor_in_chief, grid_member, or your own)")
			}
			switch {
			case len(l.People) > 0 && l.Roster != "":
				bad(f+".roster", "give people or roster, not both")
			case len(l.People) == 0 && l.Roster == "":
				bad(f, "give people: [person ids] or roster: org/role")
			}
			for k, id := range l.People {
				c.person(bad, fmt.Sprintf("%s.people[%d]", f, k), id)
			}
			if _, ok := d.rosters[l.Roster]; l.Roster != "" && !ok {
				bad(f+".roster", "roster %q is not defined under rosters (write org/role)", l.Roster)
			}
			if _, ok := d.orgs[l.Org]; l.Org != "" && !ok {
				bad(f+".org", "org %q is not defined under orgs", l.Org)
			}
		}
	}
}

func (d *Directory) hasSite(id string) bool {
	_, ok := d.sites[id]
	return ok
}

// orgRegion is the region of org or of its nearest ancestor with one.
// OrgRegion is the region code of an organisation, or of its nearest
// ancestor with one; "" if none.
func (d *Directory) OrgRegion(org string) string { return d.orgRegion(org) }

func (d *Directory) orgRegion(org string) string {
	for _, o := range d.Ancestors(org) {
		if o.Region != "" {
			return o.Region
		}
	}
	return ""
}

// persons looks ids up, skipping unknown ones and repeats.
func (d *Directory) persons(ids []string) []yujing.Person {
	out := make([]yujing.Person, 0, len(ids))
	for _, id := range ids {
		if i, ok := d.people[id]; ok && !slices.ContainsFunc(out, func(p yujing.Person) bool { return p.ID == id }) {
			out = append(out, d.spec.People[i])
		}
	}
	return out
}

// Person returns the person with id.
func (d *Directory) Person(id string) (yujing.Person, bool) {
	i, ok := d.people[id]
	if !ok {
		return yujing.Person{}, false
	}
	return d.spec.People[i], true
}

// People returns every person, in the order defined.
func (d *Directory) People() []yujing.Person { return slices.Clone(d.spec.People) }

// Org returns the organisation with id.
func (d *Directory) Org(id string) (Org, bool) {
	i, ok := d.orgs[id]
	if !ok {
		return Org{}, false
	}
	return d.spec.Orgs[i], true
}

// Orgs returns every organisation, in the order defined.
func (d *Directory) Orgs() []Org { return slices.Clone(d.spec.Orgs) }

// Ancestors returns the organisation itself first, then its parent, and so
// on up to the root; nil for an unknown id.
func (d *Directory) Ancestors(orgID string) []Org {
	var out []Org
	for cur := orgID; cur != ""; {
		i, ok := d.orgs[cur]
		if !ok || len(out) > len(d.spec.Orgs) { // the checks refuse cycles; be safe anyway
			break
		}
		out = append(out, d.spec.Orgs[i])
		cur = d.spec.Orgs[i].Parent
	}
	return out
}

// Site returns a site responsibilities may name.
func (d *Directory) Site(id string) (yujing.Site, bool) {
	s, ok := d.sites[id]
	return s, ok
}

// Sites returns every site responsibilities may name, in the order
// given.
func (d *Directory) Sites() []yujing.Site { return slices.Clone(d.spec.Sites) }

// SiteOrg is the organisation that runs a site (lists it under its
// sites), or that runs the site it is part of; "" if none.
func (d *Directory) SiteOrg(site string) string {
	for _, id := range append([]string{site}, d.siteAncestors(site)...) {
		for _, o := range d.spec.Orgs {
			if slices.Contains(o.Sites, id) {
				return o.ID
			}
		}
	}
	return ""
}

// SiteRegion is the region code of a site: its own, else that of the
// organisation running it (or its nearest ancestor with one); for an area
// (yujing.RegionSite) its code.
func (d *Directory) SiteRegion(site string) string {
	if code, ok := yujing.SiteRegion(site); ok {
		return code
	}
	return d.siteRegion[site]
}

// PersonRegion is the region code of the person's organisation (or of its
// nearest ancestor with one), "" if none.
func (d *Directory) PersonRegion(personID string) string {
	p, ok := d.Person(personID)
	if !ok {
		return ""
	}
	return d.orgRegion(p.Org)
}

// Rosters returns every roster as written, in the order defined.
func (d *Directory) Rosters() []Roster { return slices.Clone(d.spec.Rosters) }

// Roster returns the roster org/role as written.
func (d *Directory) Roster(org, role string) (Roster, bool) {
	r, ok := d.rosters[org+"/"+role]
	if !ok {
		return Roster{}, false
	}
	return r.spec, true
}

// Responsibilities returns every responsibility as written.
func (d *Directory) Responsibilities() []Responsibility { return slices.Clone(d.spec.Responsibility) }

// Responsibility returns the responsibility with key (a site id, or
// "region:" and a code).
func (d *Directory) Responsibility(key string) (Responsibility, bool) {
	i, ok := d.resp[key]
	if !ok {
		return Responsibility{}, false
	}
	return d.spec.Responsibility[i], true
}

// OnDuty returns who holds role of org at time at: the roster org/role
// resolved at that time, or, when there is no such roster, the people of
// org whose position is the role or its Chinese label (主要负责人 for
// principal). Nil when nobody does.
func (d *Directory) OnDuty(org, role string, at time.Time) []yujing.Person {
	if r, ok := d.rosters[org+"/"+role]; ok {
		return d.persons(r.at(at).people)
	}
	var out []yujing.Person
	for _, p := range d.spec.People {
		if p.Org == org && (p.Position == role || p.Position == RoleLabel(role)) {
			out = append(out, p)
		}
	}
	return out
}

// Chain returns the responsibility chain of site at time at, by tier
// ascending: the site's own entries, those of the sites it is part of (a
// hazard source's plant), and those of every region covering the site's
// region. Within a tier the site's entries come first, then its parent's
// and so up, then those of regions from the narrowest to the widest, each
// in the order written. Roster links are resolved at at. Nil for a site
// without any.
//
// For an area (yujing.RegionSite: "region:320115", the Site of a warning
// another system issued for it) the chain is that of its region entries:
// those covering the area, as for a site there, and, rolled down, those of
// the regions inside it — a county's warning reaches its townships' and
// villages' officials. Within a tier the narrower region comes first.
func (d *Directory) Chain(site string, at time.Time) []Link {
	if code, ok := yujing.SiteRegion(site); ok {
		return d.areaChain(code, at)
	}
	region := d.siteRegion[site]
	up := map[string]int{site: 0} // site → 0, its parent → 1, …
	for i, p := range d.siteAncestors(site) {
		up[p] = i + 1
	}
	type entry struct {
		spec   LinkSpec
		source string
		rank   int
	}
	var entries []entry
	for _, r := range d.spec.Responsibility {
		var source string
		var rank int
		switch {
		case r.Site != "":
			n, ok := up[r.Site]
			if !ok {
				continue
			}
			source, rank = "site "+r.Site, n
		case region != "" && RegionCovers(r.Region, region):
			source, rank = "region "+r.Region, len(up)+12-len(regionPrefix(r.Region))
		default:
			continue
		}
		for _, l := range r.Chain {
			entries = append(entries, entry{l, source, rank})
		}
	}
	slices.SortStableFunc(entries, func(a, b entry) int {
		if a.spec.Tier != b.spec.Tier {
			return a.spec.Tier - b.spec.Tier
		}
		return a.rank - b.rank
	})
	var out []Link
	for _, e := range entries {
		out = append(out, d.link(e.spec, e.source, at))
	}
	return out
}

// areaChain is the chain of an administrative area (see Chain): the
// region entries covering code or covered by it, by tier, the narrowest
// region first within a tier.
func (d *Directory) areaChain(code string, at time.Time) []Link {
	if !ValidRegion(code) {
		return nil
	}
	type entry struct {
		spec   LinkSpec
		source string
		rank   int
	}
	var entries []entry
	for _, r := range d.spec.Responsibility {
		if r.Region == "" || (!RegionCovers(r.Region, code) && !RegionCovers(code, r.Region)) {
			continue
		}
		for _, l := range r.Chain {
			entries = append(entries, entry{l, "region " + r.Region, -len(regionPrefix(r.Region))})
		}
	}
	slices.SortStableFunc(entries, func(a, b entry) int {
		if a.spec.Tier != b.spec.Tier {
			return a.spec.Tier - b.spec.Tier
		}
		return a.rank - b.rank
	})
	var out []Link
	for _, e := range entries {
		out = append(out, d.link(e.spec, e.source, at))
	}
	return out
}

// link resolves one written link at time at.
func (d *Directory) link(spec LinkSpec, source string, at time.Time) Link {
	l := Link{Tier: spec.Tier, Role: spec.Role, Org: spec.Org, Source: source}
	if r, ok := d.rosters[spec.Roster]; ok {
		l.People = d.persons(r.at(at).people)
		if l.Org == "" {
			l.Org = r.spec.Org
		}
	} else {
		l.People = d.persons(spec.People)
	}
	return l
}

// Tier returns the people of every link of site's chain at that tier, at
// time at, without repeats, in chain order.
func (d *Directory) Tier(site string, tier int, at time.Time) []yujing.Person {
	return d.collect(site, at, func(l Link) bool { return l.Tier == tier })
}

// Role returns the people of every link of site's chain with that role, at
// time at, without repeats, in chain order.
func (d *Directory) Role(site, role string, at time.Time) []yujing.Person {
	return d.collect(site, at, func(l Link) bool { return l.Role == role })
}

func (d *Directory) collect(site string, at time.Time, keep func(Link) bool) []yujing.Person {
	var out []yujing.Person
	for _, l := range d.Chain(site, at) {
		if !keep(l) {
			continue
		}
		for _, p := range l.People {
			if !slices.ContainsFunc(out, func(q yujing.Person) bool { return q.ID == p.ID }) {
				out = append(out, p)
			}
		}
	}
	return out
}

// DutyEntry is one roster at one time, for the duty-room console.
type DutyEntry struct {
	Org       string `json:"org"`
	OrgName   string `json:"org_name"`
	Role      string `json:"role"`
	RoleLabel string `json:"role_label"` // 值班员, 带班领导, … or the role itself
	Timezone  string `json:"timezone"`
	// Holders are on duty now, since Since (when the current shift, or
	// the override in force, began) until Until; Next take over then.
	Holders []yujing.Person `json:"holders"`
	Since   time.Time       `json:"since"`
	Until   time.Time       `json:"until"`
	Next    []yujing.Person `json:"next"`
	// Override is true when an override (a holiday, a swap) is in force
	// instead of the rotation; Note is its note.
	Override bool   `json:"override"`
	Note     string `json:"note,omitempty"`
}

// Duty returns every roster at time at, in the order defined.
func (d *Directory) Duty(at time.Time) []DutyEntry {
	out := make([]DutyEntry, 0, len(d.rosterList))
	for _, r := range d.rosterList {
		p := r.at(at)
		org, _ := d.Org(r.spec.Org)
		e := DutyEntry{Org: r.spec.Org, OrgName: org.Name, Role: r.spec.Role, RoleLabel: RoleLabel(r.spec.Role),
			Timezone: r.loc.String(), Holders: d.persons(p.people), Since: p.since.In(r.loc), Until: p.until.In(r.loc),
			Next: d.persons(r.at(p.until).people)}
		if p.override != nil {
			e.Override, e.Note = true, p.override.note
		}
		out = append(out, e)
	}
	return out
}
