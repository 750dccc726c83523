package duty

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"yujing"
)

// at reads "2026-01-01 08:00:00 +0800".
func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse("2006-01-02 15:04:05 -0700", s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func ids(ps []yujing.Person) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return strings.Join(out, ",")
}

func shanghai(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// testSpec is a county in Nanjing: a chemical enterprise running plant-a,
// the county bureau, the city and the province.
func testSpec(t *testing.T) Spec {
	return Spec{
		Location: shanghai(t),
		Sites: []yujing.Site{
			{ID: "plant-a", Name: "A厂", Region: "320115"},
			{ID: "plant-b", Name: "B厂", Region: "320106"},
			{ID: "plant-c", Name: "C厂"}, // region from the org running it
			{ID: "plant-x", Name: "X厂", Region: "330106"},
		},
		Orgs: []Org{
			{ID: "js", Name: "江苏省应急管理厅", Kind: "province", Region: "320000"},
			{ID: "nj", Name: "南京市应急管理局", Kind: "city", Parent: "js", Region: "320100"},
			{ID: "jn-bureau", Name: "江宁区应急管理局", Kind: "county", Parent: "nj", Region: "320115"},
			{ID: "acme", Name: "某化工有限公司", Kind: "enterprise", Parent: "jn-bureau", Sites: []string{"plant-a", "plant-c"}},
			{ID: "acme-safety", Name: "安全环保部", Kind: "department", Parent: "acme"},
		},
		People: []yujing.Person{
			{ID: "zhang", Name: "张伟", Org: "acme", Position: "值班员"},
			{ID: "li", Name: "李娜", Org: "acme", Position: "值班员"},
			{ID: "wang", Name: "王强", Org: "acme", Position: "主要负责人"},
			{ID: "zhao", Name: "赵敏", Org: "acme-safety", Position: "安全员"},
			{ID: "chen", Name: "陈刚", Org: "nj", Position: "督长"},
			{ID: "sun", Name: "孙浩", Org: "jn-bureau"},
			{ID: "zhou", Name: "周杰", Org: "jn-bureau"},
			{ID: "wu", Name: "吴芳"}, // no organisation
		},
		Rosters: []Roster{
			{Org: "acme", Role: RoleDutyOfficer, Shifts: []string{"08:00", "20:00"}, Start: "2026-01-01",
				Rotation: []Turn{{"zhang"}, {"li"}, {"wang", "zhao"}},
				Overrides: []Override{
					{From: "2026-10-01 08:00", To: "2026-10-08 08:00", People: []string{"chen"}, Note: "国庆假期"},
					{From: "2026-10-03 08:00", To: "2026-10-04 08:00", People: []string{"li"}, Note: "调班"},
				}},
			{Org: "jn-bureau", Role: RoleDutyOfficer, Timezone: "UTC", Shifts: []string{"00:00"}, Start: "2026-01-01",
				Rotation: []Turn{{"sun"}, {"zhou"}}},
		},
		Responsibility: []Responsibility{
			{Region: "320100", Chain: []LinkSpec{
				{Tier: 4, Role: RoleSupervisorInChief, People: []string{"chen"}},
				{Tier: 3, Role: "city_bureau", People: []string{"chen"}, Org: "nj"},
			}},
			{Site: "plant-a", Chain: []LinkSpec{
				{Tier: 2, Role: RoleAssignedOfficial, People: []string{"sun"}},
				{Tier: 1, Role: RoleDutyOfficer, Roster: "acme/duty_officer"},
				{Tier: 1, Role: RolePrincipal, People: []string{"wang"}},
			}},
			{Region: "320115", Chain: []LinkSpec{
				{Tier: 3, Role: RoleBureauOnDuty, Roster: "jn-bureau/duty_officer"},
				{Tier: 1, Role: RoleGridMember, People: []string{"zhou", "wu"}},
			}},
		},
	}
}

func newDir(t *testing.T, s Spec) *Directory {
	t.Helper()
	d, err := New(s)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

// TestRosterResolution asks the acme duty officer roster (two shifts a day
// from 08:00 and 20:00 Beijing time, rotation zhang, li, wang+zhao) and the
// county roster (one shift a day from 00:00 UTC) at the edges of shifts,
// across midnight, across the rotation wrapping, and around overrides.
func TestRosterResolution(t *testing.T) {
	d := newDir(t, testSpec(t))
	for _, tc := range []struct {
		name, org, at, want, since, until, next, note string
	}{
		{"a second before the first shift: the day before's last turn", "acme", "2026-01-01 07:59:59 +0800", "wang,zhao",
			"2025-12-31 20:00:00 +0800", "2026-01-01 08:00:00 +0800", "zhang", ""},
		{"the first shift of the start date", "acme", "2026-01-01 08:00:00 +0800", "zhang",
			"2026-01-01 08:00:00 +0800", "2026-01-01 20:00:00 +0800", "li", ""},
		{"a second before the evening shift", "acme", "2026-01-01 19:59:59 +0800", "zhang",
			"2026-01-01 08:00:00 +0800", "2026-01-01 20:00:00 +0800", "li", ""},
		{"the evening shift", "acme", "2026-01-01 20:00:00 +0800", "li",
			"2026-01-01 20:00:00 +0800", "2026-01-02 08:00:00 +0800", "wang,zhao", ""},
		{"after midnight, still the evening shift", "acme", "2026-01-02 00:00:00 +0800", "li",
			"2026-01-01 20:00:00 +0800", "2026-01-02 08:00:00 +0800", "wang,zhao", ""},
		{"the same instant in UTC", "acme", "2026-01-01 16:00:00 +0000", "li",
			"2026-01-01 20:00:00 +0800", "2026-01-02 08:00:00 +0800", "wang,zhao", ""},
		{"two people on one turn", "acme", "2026-01-02 08:00:00 +0800", "wang,zhao",
			"2026-01-02 08:00:00 +0800", "2026-01-02 20:00:00 +0800", "zhang", ""},
		{"the rotation wraps", "acme", "2026-01-02 20:00:00 +0800", "zhang",
			"2026-01-02 20:00:00 +0800", "2026-01-03 08:00:00 +0800", "li", ""},
		{"before the start date the rotation runs backwards", "acme", "2025-12-31 12:00:00 +0800", "li",
			"2025-12-31 08:00:00 +0800", "2025-12-31 20:00:00 +0800", "wang,zhao", ""},
		// 2026-09-30 20:00 is shift 545 = 2 (mod 3); the override cuts the next one short.
		{"a second before the holiday", "acme", "2026-10-01 07:59:59 +0800", "wang,zhao",
			"2026-09-30 20:00:00 +0800", "2026-10-01 08:00:00 +0800", "chen", ""},
		{"the holiday begins", "acme", "2026-10-01 08:00:00 +0800", "chen",
			"2026-10-01 08:00:00 +0800", "2026-10-03 08:00:00 +0800", "li", "国庆假期"},
		{"a swap defined later wins inside the holiday", "acme", "2026-10-03 12:00:00 +0800", "li",
			"2026-10-03 08:00:00 +0800", "2026-10-04 08:00:00 +0800", "chen", "调班"},
		{"the holiday resumes after the swap", "acme", "2026-10-05 12:00:00 +0800", "chen",
			"2026-10-04 08:00:00 +0800", "2026-10-08 08:00:00 +0800", "wang,zhao", "国庆假期"},
		{"a second before the holiday ends", "acme", "2026-10-08 07:59:59 +0800", "chen",
			"2026-10-04 08:00:00 +0800", "2026-10-08 08:00:00 +0800", "wang,zhao", "国庆假期"},
		// 2026-10-08 08:00 is shift 560 = 2 (mod 3).
		{"at its end the rotation is back", "acme", "2026-10-08 08:00:00 +0800", "wang,zhao",
			"2026-10-08 08:00:00 +0800", "2026-10-08 20:00:00 +0800", "zhang", ""},
		{"UTC roster: a second before its midnight", "jn-bureau", "2026-01-02 07:59:59 +0800", "sun",
			"2026-01-01 00:00:00 +0000", "2026-01-02 00:00:00 +0000", "zhou", ""},
		{"UTC roster: its midnight is 08:00 in Beijing", "jn-bureau", "2026-01-02 08:00:00 +0800", "zhou",
			"2026-01-02 00:00:00 +0000", "2026-01-03 00:00:00 +0000", "sun", ""},
		{"UTC roster wraps", "jn-bureau", "2026-01-03 00:00:00 +0000", "sun",
			"2026-01-03 00:00:00 +0000", "2026-01-04 00:00:00 +0000", "zhou", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			when := at(t, tc.at)
			if got := ids(d.OnDuty(tc.org, RoleDutyOfficer, when)); got != tc.want {
				t.Errorf("OnDuty(%s, duty_officer, %s) = %s, want %s", tc.org, tc.at, got, tc.want)
			}
			var e *DutyEntry
			for _, x := range d.Duty(when) {
				if x.Org == tc.org {
					e = &x
				}
			}
			if e == nil {
				t.Fatalf("Duty(%s) has no entry for %s", tc.at, tc.org)
			}
			if got := ids(e.Holders); got != tc.want {
				t.Errorf("Duty holders = %s, want %s", got, tc.want)
			}
			if !e.Since.Equal(at(t, tc.since)) || !e.Until.Equal(at(t, tc.until)) {
				t.Errorf("shift = %s – %s, want %s – %s", e.Since, e.Until, tc.since, tc.until)
			}
			if got := ids(e.Next); got != tc.next {
				t.Errorf("next = %s, want %s", got, tc.next)
			}
			if e.Override != (tc.note != "") || e.Note != tc.note {
				t.Errorf("override = %v %q, want note %q", e.Override, e.Note, tc.note)
			}
		})
	}
}

func TestDutyView(t *testing.T) {
	d := newDir(t, testSpec(t))
	got := d.Duty(at(t, "2026-10-02 09:00:00 +0800"))
	if len(got) != 2 {
		t.Fatalf("Duty: %d entries, want one per roster (2)", len(got))
	}
	e := got[0]
	if e.Org != "acme" || e.OrgName != "某化工有限公司" || e.Role != "duty_officer" || e.RoleLabel != "值班员" ||
		e.Timezone != "Asia/Shanghai" || !e.Override || e.Note != "国庆假期" {
		t.Errorf("acme entry = %+v", e)
	}
	if got := e.Since.Format(time.RFC3339); got != "2026-10-01T08:00:00+08:00" {
		t.Errorf("since is shown as %s, want the roster's zone (2026-10-01T08:00:00+08:00)", got)
	}
	if got[1].Timezone != "UTC" || got[1].Override {
		t.Errorf("county entry = %+v", got[1])
	}
	for role, label := range map[string]string{"duty_officer": "值班员", "leader_on_duty": "带班领导", "principal": "主要负责人",
		"assigned_official": "包保责任人", "bureau_on_duty": "值班局", "supervisor_in_chief": "督长", "grid_member": "网格员", "安全总监": "安全总监"} {
		if got := RoleLabel(role); got != label {
			t.Errorf("RoleLabel(%s) = %s, want %s", role, got, label)
		}
	}
}

func TestChain(t *testing.T) {
	d := newDir(t, testSpec(t))
	type link struct{ tier, role, people, org, source string }
	show := func(ls []Link) []link {
		var out []link
		for _, l := range ls {
			out = append(out, link{string(rune('0' + l.Tier)), l.Role, ids(l.People), l.Org, l.Source})
		}
		return out
	}
	for _, tc := range []struct {
		name, site, at string
		want           []link
	}{
		{"site and county and city entries, by tier, site first, narrow regions before wide", "plant-a", "2026-01-01 09:00:00 +0800", []link{
			{"1", "duty_officer", "zhang", "acme", "site plant-a"},
			{"1", "principal", "wang", "", "site plant-a"},
			{"1", "grid_member", "zhou,wu", "", "region 320115"},
			{"2", "assigned_official", "sun", "", "site plant-a"},
			{"3", "bureau_on_duty", "sun", "jn-bureau", "region 320115"},
			{"3", "city_bureau", "chen", "nj", "region 320100"},
			{"4", "supervisor_in_chief", "chen", "", "region 320100"},
		}},
		{"rosters resolved at the time asked", "plant-a", "2026-01-01 21:00:00 +0800", []link{
			{"1", "duty_officer", "li", "acme", "site plant-a"},
			{"1", "principal", "wang", "", "site plant-a"},
			{"1", "grid_member", "zhou,wu", "", "region 320115"},
			{"2", "assigned_official", "sun", "", "site plant-a"},
			{"3", "bureau_on_duty", "sun", "jn-bureau", "region 320115"},
			{"3", "city_bureau", "chen", "nj", "region 320100"},
			{"4", "supervisor_in_chief", "chen", "", "region 320100"},
		}},
		{"the evening shift and the county's next day", "plant-a", "2026-01-02 20:00:00 +0800", []link{
			{"1", "duty_officer", "zhang", "acme", "site plant-a"},
			{"1", "principal", "wang", "", "site plant-a"},
			{"1", "grid_member", "zhou,wu", "", "region 320115"},
			{"2", "assigned_official", "sun", "", "site plant-a"},
			{"3", "bureau_on_duty", "zhou", "jn-bureau", "region 320115"},
			{"3", "city_bureau", "chen", "nj", "region 320100"},
			{"4", "supervisor_in_chief", "chen", "", "region 320100"},
		}},
		{"another county of the city: the city's entries only", "plant-b", "2026-01-01 09:00:00 +0800", []link{
			{"3", "city_bureau", "chen", "nj", "region 320100"},
			{"4", "supervisor_in_chief", "chen", "", "region 320100"},
		}},
		{"a site without a region takes its org's", "plant-c", "2026-01-01 09:00:00 +0800", []link{
			{"1", "grid_member", "zhou,wu", "", "region 320115"},
			{"3", "bureau_on_duty", "sun", "jn-bureau", "region 320115"},
			{"3", "city_bureau", "chen", "nj", "region 320100"},
			{"4", "supervisor_in_chief", "chen", "", "region 320100"},
		}},
		{"another province", "plant-x", "2026-01-01 09:00:00 +0800", nil},
		{"an unknown site", "nowhere", "2026-01-01 09:00:00 +0800", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := show(d.Chain(tc.site, at(t, tc.at)))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Chain(%s, %s):\n got %v\nwant %v", tc.site, tc.at, got, tc.want)
			}
		})
	}
	// On 2026-01-02 from 08:00 wang and zhao are the duty officers, and
	// from 08:00 (00:00 UTC) zhou is the county's.
	morning := at(t, "2026-01-02 09:00:00 +0800")
	if got := ids(d.Tier("plant-a", 1, morning)); got != "wang,zhao,zhou,wu" {
		t.Errorf("Tier(plant-a, 1) = %s, want the duty officers wang and zhao, then (once) zhou and wu", got)
	}
	if got := ids(d.Tier("plant-a", 3, morning)); got != "zhou,chen" {
		t.Errorf("Tier(plant-a, 3) = %s, want zhou,chen", got)
	}
	if got := ids(d.Tier("plant-a", 5, morning)); got != "" {
		t.Errorf("Tier(plant-a, 5) = %s, want nobody", got)
	}
	if got := ids(d.Role("plant-a", RoleSupervisorInChief, morning)); got != "chen" {
		t.Errorf("Role(plant-a, supervisor_in_chief) = %s, want chen", got)
	}
	if got := ids(d.Role("plant-a", RoleDutyOfficer, morning)); got != "wang,zhao" {
		t.Errorf("Role(plant-a, duty_officer) = %s, want wang,zhao", got)
	}
}

// TestChainOfArea: the chain of an area (the Site of a warning another
// system issued for it, "region:CODE") is its region entries: those
// covering it and, rolled down, those of the townships inside it; a
// township's warning reaches its own officials and those above, not its
// neighbour's.
func TestChainOfArea(t *testing.T) {
	s := testSpec(t)
	s.Responsibility = append(s.Responsibility,
		Responsibility{Region: "320115001", Chain: []LinkSpec{{Tier: 2, Role: "township_leader", People: []string{"wu"}}}},
		Responsibility{Region: "320115002", Chain: []LinkSpec{{Tier: 2, Role: "township_leader", People: []string{"li"}}}},
		Responsibility{Region: "320106", Chain: []LinkSpec{{Tier: 3, Role: "bureau_on_duty", People: []string{"wang"}}}})
	d := newDir(t, s)
	type link struct{ tier, role, people, source string }
	morning := at(t, "2026-01-01 09:00:00 +0800")
	for _, tc := range []struct {
		name, area string
		want       []link
	}{
		{"a county: its townships rolled down, then itself and the city", "320115", []link{
			{"1", "grid_member", "zhou,wu", "region 320115"},
			{"2", "township_leader", "wu", "region 320115001"},
			{"2", "township_leader", "li", "region 320115002"},
			{"3", "bureau_on_duty", "sun", "region 320115"},
			{"3", "city_bureau", "chen", "region 320100"},
			{"4", "supervisor_in_chief", "chen", "region 320100"},
		}},
		{"a township: itself, its county and city, not the other township", "320115002", []link{
			{"1", "grid_member", "zhou,wu", "region 320115"},
			{"2", "township_leader", "li", "region 320115002"},
			{"3", "bureau_on_duty", "sun", "region 320115"},
			{"3", "city_bureau", "chen", "region 320100"},
			{"4", "supervisor_in_chief", "chen", "region 320100"},
		}},
		{"the city: every county and township in it", "320100", []link{
			{"1", "grid_member", "zhou,wu", "region 320115"},
			{"2", "township_leader", "wu", "region 320115001"},
			{"2", "township_leader", "li", "region 320115002"},
			{"3", "bureau_on_duty", "sun", "region 320115"},
			{"3", "bureau_on_duty", "wang", "region 320106"},
			{"3", "city_bureau", "chen", "region 320100"},
			{"4", "supervisor_in_chief", "chen", "region 320100"},
		}},
		{"another province", "330106", nil},
		{"not a code", "3201", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []link
			for _, l := range d.Chain(yujing.RegionSite(tc.area), morning) {
				got = append(got, link{string(rune('0' + l.Tier)), l.Role, ids(l.People), l.Source})
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Chain(region:%s):\n got %v\nwant %v", tc.area, got, tc.want)
			}
		})
	}
	if got := ids(d.Tier(yujing.RegionSite("320115"), 2, morning)); got != "wu,li" {
		t.Errorf("Tier(region:320115, 2) = %s, want the township leaders wu,li", got)
	}
	if got := d.SiteRegion(yujing.RegionSite("320115001")); got != "320115001" {
		t.Errorf("SiteRegion(region:320115001) = %q, want its code", got)
	}
}

// TestChainOfHazardSources: two major hazard sources inside plant-a, each
// a site with plant-a as its parent and its own 督长 (a tailings pond its
// 库长); a source's chain is its own entries, then plant-a's, then the
// regions', and it is in plant-a's region.
func TestChainOfHazardSources(t *testing.T) {
	s := testSpec(t)
	s.Sites = append(s.Sites,
		yujing.Site{ID: "tank-farm", Name: "液化烃罐区", Parent: "plant-a"},
		yujing.Site{ID: "pond", Name: "尾矿库", Parent: "plant-a"},
		yujing.Site{ID: "pond-north", Name: "尾矿库北坝", Parent: "pond"})
	s.People = append(s.People, yujing.Person{ID: "qian", Name: "钱副市长", Org: "nj"}, yujing.Person{ID: "feng", Name: "冯副区长", Org: "jn-bureau"})
	s.Responsibility = append(s.Responsibility,
		Responsibility{Site: "tank-farm", Chain: []LinkSpec{{Tier: 4, Role: RoleSupervisorInChief, People: []string{"qian"}}}},
		Responsibility{Site: "pond", Chain: []LinkSpec{{Tier: 3, Role: RoleDamChief, People: []string{"feng"}}}})
	d := newDir(t, s)
	when := at(t, "2026-01-01 09:00:00 +0800")
	show := func(site string) string {
		var out []string
		for _, l := range d.Chain(site, when) {
			out = append(out, fmt.Sprintf("%d %s %s (%s)", l.Tier, l.Role, ids(l.People), l.Source))
		}
		return strings.Join(out, "; ")
	}
	for _, tc := range []struct{ site, want string }{
		{"tank-farm", "1 duty_officer zhang (site plant-a); 1 principal wang (site plant-a); 1 grid_member zhou,wu (region 320115); " +
			"2 assigned_official sun (site plant-a); 3 bureau_on_duty sun (region 320115); 3 city_bureau chen (region 320100); " +
			"4 supervisor_in_chief qian (site tank-farm); 4 supervisor_in_chief chen (region 320100)"},
		{"pond-north", "1 duty_officer zhang (site plant-a); 1 principal wang (site plant-a); 1 grid_member zhou,wu (region 320115); " +
			"2 assigned_official sun (site plant-a); 3 dam_chief feng (site pond); 3 bureau_on_duty sun (region 320115); " +
			"3 city_bureau chen (region 320100); 4 supervisor_in_chief chen (region 320100)"},
	} {
		if got := show(tc.site); got != tc.want {
			t.Errorf("Chain(%s):\n got %s\nwant %s", tc.site, got, tc.want)
		}
	}
	if got := ids(d.Role("tank-farm", RoleSupervisorInChief, when)); got != "qian,chen" {
		t.Errorf("Role(tank-farm, supervisor_in_chief) = %s, want its own 督长 qian before the city's chen", got)
	}
	if got := ids(d.Role("plant-a", RoleSupervisorInChief, when)); got != "chen" {
		t.Errorf("Role(plant-a, supervisor_in_chief) = %s: a source's 督长 is not the plant's", got)
	}
	if got := d.SiteRegion("pond-north"); got != "320115" {
		t.Errorf("SiteRegion(pond-north) = %q, want plant-a's 320115", got)
	}
	// The org running a site, or the site it is part of (the console's
	// site page names it).
	for site, want := range map[string]string{"plant-a": "acme", "plant-c": "acme", "pond-north": "acme", "plant-b": "", "nowhere": ""} {
		if got := d.SiteOrg(site); got != want {
			t.Errorf("SiteOrg(%s) = %q, want %q", site, got, want)
		}
	}
	if got := len(d.Sites()); got != 7 {
		t.Errorf("Sites: %d, want the 7 given", got)
	}
	if RoleLabel(RoleDamChief) != "库长" {
		t.Errorf("RoleLabel(dam_chief) = %s", RoleLabel(RoleDamChief))
	}
}

func TestOrgsAndPeople(t *testing.T) {
	d := newDir(t, testSpec(t))
	var names []string
	for _, o := range d.Ancestors("acme-safety") {
		names = append(names, o.ID)
	}
	if got := strings.Join(names, ","); got != "acme-safety,acme,jn-bureau,nj,js" {
		t.Errorf("Ancestors(acme-safety) = %s", got)
	}
	if got := d.Ancestors("nope"); got != nil {
		t.Errorf("Ancestors(nope) = %v, want nil", got)
	}
	for person, want := range map[string]string{"zhang": "320115", "zhao": "320115", "chen": "320100", "wu": "", "nobody": ""} {
		if got := d.PersonRegion(person); got != want {
			t.Errorf("PersonRegion(%s) = %q, want %q", person, got, want)
		}
	}
	if p, ok := d.Person("wang"); !ok || p.Name != "王强" {
		t.Errorf("Person(wang) = %+v, %v", p, ok)
	}
	if got := len(d.People()); got != 8 {
		t.Errorf("People: %d, want 8", got)
	}
	when := at(t, "2026-01-01 09:00:00 +0800")
	// No roster for acme principal: the people of acme whose position is 主要负责人.
	if got := ids(d.OnDuty("acme", RolePrincipal, when)); got != "wang" {
		t.Errorf("OnDuty(acme, principal) = %s, want wang (position 主要负责人)", got)
	}
	if got := d.OnDuty("nj", RoleLeaderOnDuty, when); got != nil {
		t.Errorf("OnDuty(nj, leader_on_duty) = %v, want nobody", got)
	}
}

// TestProblems checks what New refuses, each problem naming its entry and
// field.
func TestProblems(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Spec)
		want   []string
	}{
		{"duplicate ids", func(s *Spec) {
			s.Orgs = append(s.Orgs, Org{ID: "nj", Name: "x", Kind: "city"})
			s.People = append(s.People, yujing.Person{ID: "wang", Name: "x"})
			s.Rosters = append(s.Rosters, s.Rosters[1])
			s.Responsibility = append(s.Responsibility, Responsibility{Region: "320115", Chain: []LinkSpec{{Tier: 1, Role: "x", People: []string{"wu"}}}})
		}, []string{
			`org nj: id: org "nj" is defined twice`,
			`person wang: id: person "wang" is defined twice`,
			`roster jn-bureau/duty_officer: role: roster "jn-bureau/duty_officer" is defined twice`,
			`responsibility region:320115: region: the responsibility of region:320115 is defined twice`,
		}},
		{"org checks", func(s *Spec) {
			s.Orgs = append(s.Orgs, Org{ID: "bad id", Kind: "company", Region: "3201", Parent: "nowhere", Sites: []string{"plant-a", "plant-z"}, TZ: "Mars/Olympus"})
		}, []string{
			`org bad id: id: org id "bad id": use letters, digits, '-', '_' and '.' (it becomes part of URLs)`,
			`org bad id: name: name is required`,
			`org bad id: kind: unknown kind "company" (want one of province, city, county, township, village, enterprise, park, bureau, department)`,
			`org bad id: region: "3201" is not an administrative division code (6 digits such as 320115, or 9 or 12 for a township or village)`,
			`org bad id: timezone: unknown time zone "Mars/Olympus"`,
			`org bad id: sites[0]: site "plant-a" is already run by org "acme"`,
			`org bad id: sites[1]: site "plant-z" is not defined under sites`,
			`org bad id: parent: org "nowhere" is not defined under orgs`,
		}},
		{"parent cycle", func(s *Spec) {
			s.Orgs[0].Parent = "jn-bureau" // js → jn-bureau → nj → js
		}, []string{`org js: parent: organisations form a cycle: js → jn-bureau → nj → js`}},
		{"own parent", func(s *Spec) {
			s.Orgs[1].Parent = "nj"
		}, []string{`org nj: parent: organisations form a cycle: nj → nj`}},
		{"person's org", func(s *Spec) { s.People[0].Org = "acme-ltd" },
			[]string{`person zhang: org: org "acme-ltd" is not defined under orgs`}},
		{"roster checks", func(s *Spec) {
			s.Rosters = append(s.Rosters, Roster{Org: "nope", Role: "a/b", Timezone: "Nowhere/City",
				Shifts: []string{"08:00", "25:00", "07:00"}, Start: "2026-02-30",
				Rotation:  []Turn{{"zhang", "ghost"}, {}, {"phantom"}},
				Overrides: []Override{{From: "2026-10-08 08:00", To: "2026-10-01 08:00", People: []string{"nobody"}}, {From: "tomorrow"}}})
		}, []string{
			`roster nope/a/b: org: org "nope" is not defined under orgs`,
			`roster nope/a/b: role: role "a/b": no '/' and no spaces around it (a roster is named org/role)`,
			`roster nope/a/b: timezone: unknown time zone "Nowhere/City"`,
			`roster nope/a/b: shifts[1]: want a time of day such as "08:00", got "25:00"`,
			`roster nope/a/b: shifts[2]: "07:00" is not after the shift before it: list the shifts in the order of the day`,
			`roster nope/a/b: start: want a date such as 2026-01-01, got "2026-02-30"`,
			`roster nope/a/b: rotation[0][1]: person "ghost" is not defined under people`,
			`roster nope/a/b: rotation[1]: empty turn: name who holds this shift`,
			`roster nope/a/b: rotation[2]: person "phantom" is not defined under people`,
			`roster nope/a/b: overrides[0].to: "2026-10-01 08:00" is not after from "2026-10-08 08:00"`,
			`roster nope/a/b: overrides[0].people[0]: person "nobody" is not defined under people`,
			`roster nope/a/b: overrides[1].from: want a time such as "2026-10-01 08:00" (in the roster's time zone) or RFC 3339, got "tomorrow"`,
			`roster nope/a/b: overrides[1].to: to is required, e.g. "2026-10-01 08:00"`,
			`roster nope/a/b: overrides[1].people: people is required: who is on duty instead`,
		}},
		{"empty roster", func(s *Spec) { s.Rosters = append(s.Rosters, Roster{Org: "nj", Role: "leader_on_duty"}) }, []string{
			`roster nj/leader_on_duty: shifts: shifts is required: the daily start times, e.g. ["08:00"] for one 24-hour shift or ["08:00", "20:00"] for two`,
			`roster nj/leader_on_duty: start: start is required: the date whose first shift rotation[0] holds, e.g. 2026-01-01`,
			`roster nj/leader_on_duty: rotation: rotation is empty: list who holds each shift, in turn`,
		}},
		{"responsibility checks", func(s *Spec) {
			s.Responsibility = append(s.Responsibility,
				Responsibility{Site: "plant-b", Region: "320106", Chain: []LinkSpec{{Tier: 1, Role: "x", People: []string{"wu"}}}},
				Responsibility{Chain: []LinkSpec{{Tier: 1, Role: "x", People: []string{"wu"}}}},
				Responsibility{Site: "plant-z"},
				Responsibility{Region: "32", Chain: []LinkSpec{
					{Tier: 0, Role: "", People: []string{"wu"}, Roster: "acme/duty_officer"},
					{Tier: 2, Role: "x"},
					{Tier: 3, Role: "x", People: []string{"ghost"}, Org: "nope"},
					{Tier: 4, Role: "x", Roster: "nj/leader"},
				}})
		}, []string{
			`responsibility plant-b: region: give site (one site) or region (every site in it), not both`,
			`responsibility: give site (one site) or region (every site in it)`,
			`responsibility plant-z: site: site "plant-z" is not defined under sites`,
			`responsibility plant-z: chain: chain is empty: list its links, e.g. {tier: 1, role: principal, people: [wang]}`,
			`responsibility region:32: region: "32" is not an administrative division code (6 digits such as 320115, or 9 or 12 for a township or village)`,
			`responsibility region:32: chain[0].tier: tier 0: want 1 or more (1 enterprise, 2 assigned official or township, 3 county bureau, 4 city leader, …)`,
			`responsibility region:32: chain[0].role: role is required (duty_officer, leader_on_duty, principal, assigned_official, bureau_on_duty, supervisor_in_chief, grid_member, or your own)`,
			`responsibility region:32: chain[0].roster: give people or roster, not both`,
			`responsibility region:32: chain[1]: give people: [person ids] or roster: org/role`,
			`responsibility region:32: chain[2].people[0]: person "ghost" is not defined under people`,
			`responsibility region:32: chain[2].org: org "nope" is not defined under orgs`,
			`responsibility region:32: chain[3].roster: roster "nj/leader" is not defined under rosters (write org/role)`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSpec(t)
			tc.change(&s)
			d, err := New(s)
			var ps Problems
			if !errors.As(err, &ps) || d != nil {
				t.Fatalf("New = %v, %v; want Problems", d, err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, p.Error())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
