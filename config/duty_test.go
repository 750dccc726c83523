package config

import (
	"strings"
	"testing"
	"time"
)

// dutyBase is the part of every directory case that is right: lines 1–11.
const dutyBase = `sites:
  - {id: plant-a, name: A厂, region: "320115"}
people:
  - {id: zhang, name: 张伟, org: acme}
  - {id: li, name: 李娜, org: acme}
  - {id: wang, name: 王强, org: acme}
  - {id: chen, name: 陈刚, org: nj}
orgs:
  - {id: nj, name: 南京市应急管理局, kind: city, region: "320100"}
  - {id: jn-bureau, name: 江宁区应急管理局, kind: county, parent: nj, region: "320115"}
  - {id: acme, name: 某化工有限公司, kind: enterprise, parent: jn-bureau, sites: [plant-a]}
`

func TestDutyConfig(t *testing.T) {
	data := dutyBase + `responsibility:
  - site: plant-a
    chain:
      - {tier: 1, role: duty_officer, roster: acme/duty_officer}
      - {tier: 1, role: principal, people: [wang]}
      - {tier: 3, role: bureau_on_duty, roster: jn-bureau/duty_officer}
  - region: "320100"
    chain:
      - {tier: 4, role: supervisor_in_chief, people: [chen]}
rosters:
  - org: acme
    role: duty_officer
    shifts: ["08:00", "20:00"]
    start: 2026-01-01
    rotation: [zhang, li, [wang, chen]]
    overrides:
      - {from: "2026-10-01 08:00", to: "2026-10-08 08:00", people: [chen], note: 国庆假期}
  - org: jn-bureau
    role: duty_officer
    timezone: UTC
    shifts: ["00:00"]
    start: 2026-01-01
    rotation: [chen]
`
	cfg, err := Parse("duty.yaml", []byte(data), Options{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Directory
	if d == nil {
		t.Fatal("no directory")
	}
	when := time.Date(2026, 1, 1, 20, 0, 0, 0, cfg.Location) // default zone: Asia/Shanghai
	var got []string
	for _, l := range d.Chain("plant-a", when) {
		var who []string
		for _, p := range l.People {
			who = append(who, p.ID)
		}
		got = append(got, l.Role+"="+strings.Join(who, "+"))
	}
	if want := "duty_officer=li principal=wang bureau_on_duty=chen supervisor_in_chief=chen"; strings.Join(got, " ") != want {
		t.Errorf("chain at %s = %s, want %s", when, strings.Join(got, " "), want)
	}
	var on []string
	for _, p := range d.OnDuty("acme", "duty_officer", time.Date(2026, 1, 2, 8, 0, 0, 0, cfg.Location)) {
		on = append(on, p.ID)
	}
	if strings.Join(on, "+") != "wang+chen" {
		t.Errorf("the third turn = %v, want wang and chen", on)
	}
	if sum := cfg.Summary(); !strings.Contains(sum, "3 orgs, 2 responsibilities, 2 rosters") {
		t.Errorf("Summary() = %q, want the directory counted", sum)
	}
}

// TestDutyConfigErrors checks each directory error's text and place. Each
// case's yaml follows dutyBase (lines 1–11, ending in the orgs list), so
// its first line is line 12; a case with whole replaces dutyBase.
func TestDutyConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		whole      bool
		want       []string
	}{
		{"orgs", `  - {id: nj, name: 重复, kind: city}
  - {id: x1, name: X, kind: company, parent: x2, region: "3201"}
  - {id: x2, name: Y, kind: park, parent: x1, sites: [plant-z]}
  - id: x3
    kind: county
    timezone: Mars/Base
`, false, []string{
			`duty.yaml:12:10: org nj: id: org "nj" is defined twice`,
			`duty.yaml:13:29: org x1: kind: unknown kind "company" (want one of province, city, county, township, village, enterprise, park, bureau, department)`,
			`duty.yaml:13:46: org x1: parent: organisations form a cycle: x1 → x2 → x1`,
			`duty.yaml:13:58: org x1: region: "3201" is not an administrative division code (6 digits such as 320115, or 9 or 12 for a township or village)`,
			`duty.yaml:14:55: org x2: sites[0]: site "plant-z" is not defined under sites`,
			`duty.yaml:15:5: org x3: name: name is required`,
			`duty.yaml:17:15: org x3: timezone: unknown time zone "Mars/Base"`,
		}},
		{"person of an unknown org once orgs are listed", `sites:
  - {id: plant-a, name: A厂}
people:
  - {id: zhang, name: 张伟, org: acme}
  - {id: li, name: 李娜}
orgs:
  - {id: acme-ltd, name: 某化工有限公司, kind: enterprise, sites: [plant-a]}
`, true, []string{
			`duty.yaml:4:32: person zhang: org: org "acme" is not defined under orgs`,
		}},
		{"responsibility", `responsibility:
  - {site: plant-a, region: "320115", chain: [{tier: 1, role: x, people: [wang]}]}
  - chain: [{tier: 1, role: x, people: [wang]}]
  - site: plant-z
    chain:
      - {tier: 0, role: principal, people: [wang]}
      - {tier: 2, role: assigned_official}
      - {tier: 3, people: [ghost], roster: jn-bureau/duty_officer}
      - {tier: 4, role: supervisor_in_chief, roster: nj/nobody, org: nj-city}
  - region: "32011"
    chain: []
`, false, []string{
			`duty.yaml:13:29: responsibility plant-a: region: give site (one site) or region (every site in it), not both`,
			`duty.yaml:14:5: responsibility: give site (one site) or region (every site in it)`,
			`duty.yaml:15:11: responsibility plant-z: site: site "plant-z" is not defined under sites`,
			`duty.yaml:17:16: responsibility plant-z: chain[0].tier: tier 0: want 1 or more (1 enterprise, 2 assigned official or township, 3 county bureau, 4 city leader, …)`,
			`duty.yaml:18:9: responsibility plant-z: chain[1]: give people: [person ids] or roster: org/role`,
			`duty.yaml:19:9: responsibility plant-z: chain[2].role: role is required (duty_officer, leader_on_duty, principal, assigned_official, bureau_on_duty, supervisor_in_chief, grid_member, or your own)`,
			`duty.yaml:19:28: responsibility plant-z: chain[2].people[0]: person "ghost" is not defined under people`,
			`duty.yaml:19:44: responsibility plant-z: chain[2].roster: give people or roster, not both`,
			`duty.yaml:19:44: responsibility plant-z: chain[2].roster: roster "jn-bureau/duty_officer" is not defined under rosters (write org/role)`,
			`duty.yaml:20:54: responsibility plant-z: chain[3].roster: roster "nj/nobody" is not defined under rosters (write org/role)`,
			`duty.yaml:20:70: responsibility plant-z: chain[3].org: org "nj-city" is not defined under orgs`,
			`duty.yaml:21:13: responsibility region:32011: region: "32011" is not an administrative division code (6 digits such as 320115, or 9 or 12 for a township or village)`,
			`duty.yaml:22:12: responsibility region:32011: chain: chain is empty: list its links, e.g. {tier: 1, role: principal, people: [wang]}`,
		}},
		{"rotation entry shape", `rosters:
  - org: acme
    role: duty_officer
    shifts: ["08:00"]
    start: 2026-01-01
    rotation: [zhang, {id: wang}, [li, [wang]]]
`, false, []string{
			`duty.yaml:17:23: rosters[0].rotation[1]: a rotation entry is a person id or a list of person ids, e.g. zhang or [wang, zhao]`,
			`duty.yaml:17:35: rosters[0].rotation[2]: a rotation entry is a person id or a list of person ids, e.g. zhang or [wang, zhao]`,
		}},
		{"rosters", `rosters:
  - org: acme
    role: duty_officer
    timezone: Asia/Nowhere
    shifts: ["08:00", "8:60", "07:30"]
    start: 2026-13-01
    rotation: [zhang, [li, ghost], []]
    overrides:
      - {from: "2026-10-08 08:00", to: "2026-10-01 08:00", people: [phantom], note: 反了}
      - {from: "2026-10-01", to: "next week"}
  - org: nowhere
    role: duty_officer
    shifts: []
    rotation: []
  - org: acme
    role: duty_officer
    shifts: ["08:00"]
    start: "2026-01-01"
    rotation: [zhang]
`, false, []string{
			`duty.yaml:15:15: roster acme/duty_officer: timezone: unknown time zone "Asia/Nowhere"`,
			`duty.yaml:16:23: roster acme/duty_officer: shifts[1]: want a time of day such as "08:00", got "8:60"`,
			`duty.yaml:16:31: roster acme/duty_officer: shifts[2]: "07:30" is not after the shift before it: list the shifts in the order of the day`,
			`duty.yaml:17:12: roster acme/duty_officer: start: want a date such as 2026-01-01, got "2026-13-01"`,
			`duty.yaml:18:28: roster acme/duty_officer: rotation[1][1]: person "ghost" is not defined under people`,
			`duty.yaml:18:36: roster acme/duty_officer: rotation[2]: empty turn: name who holds this shift`,
			`duty.yaml:20:40: roster acme/duty_officer: overrides[0].to: "2026-10-01 08:00" is not after from "2026-10-08 08:00"`,
			`duty.yaml:20:69: roster acme/duty_officer: overrides[0].people[0]: person "phantom" is not defined under people`,
			`duty.yaml:21:9: roster acme/duty_officer: overrides[1].people: people is required: who is on duty instead`,
			`duty.yaml:21:34: roster acme/duty_officer: overrides[1].to: want a time such as "2026-10-01 08:00" (in the roster's time zone) or RFC 3339, got "next week"`,
			`duty.yaml:22:5: roster nowhere/duty_officer: start: start is required: the date whose first shift rotation[0] holds, e.g. 2026-01-01`,
			`duty.yaml:22:10: roster nowhere/duty_officer: org: org "nowhere" is not defined under orgs`,
			`duty.yaml:24:13: roster nowhere/duty_officer: shifts: shifts is required: the daily start times, e.g. ["08:00"] for one 24-hour shift or ["08:00", "20:00"] for two`,
			`duty.yaml:25:15: roster nowhere/duty_officer: rotation: rotation is empty: list who holds each shift, in turn`,
			`duty.yaml:27:11: roster acme/duty_officer: role: roster "acme/duty_officer" is defined twice`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := dutyBase + tc.yaml
			if tc.whole {
				data = tc.yaml
			}
			_, err := Parse("duty.yaml", []byte(data), Options{LookupEnv: noEnv})
			if err == nil {
				t.Fatal("accepted")
			}
			if got := err.Error(); got != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", got, strings.Join(tc.want, "\n"))
			}
		})
	}
}
