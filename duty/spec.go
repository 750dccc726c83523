package duty

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"yujing"
)

// OrgKinds are the kinds an organisation may have.
var OrgKinds = []string{"province", "city", "county", "township", "village", "enterprise", "park", "bureau", "department"}

// Roles with a meaning of their own. A link of a responsibility chain may
// also name any other role in free text.
const (
	RoleDutyOfficer       = "duty_officer"        // 值班员
	RoleLeaderOnDuty      = "leader_on_duty"      // 带班领导
	RolePrincipal         = "principal"           // 主要负责人
	RoleAssignedOfficial  = "assigned_official"   // 包保责任人
	RoleBureauOnDuty      = "bureau_on_duty"      // 值班局
	RoleSupervisorInChief = "supervisor_in_chief" // 督长
	RoleGridMember        = "grid_member"         // 网格员
	RoleDamChief          = "dam_chief"           // 库长 (of a tailings pond, as the 督长 of a hazard source)
)

var roleLabels = map[string]string{
	RoleDutyOfficer:       "值班员",
	RoleLeaderOnDuty:      "带班领导",
	RolePrincipal:         "主要负责人",
	RoleAssignedOfficial:  "包保责任人",
	RoleBureauOnDuty:      "值班局",
	RoleSupervisorInChief: "督长",
	RoleGridMember:        "网格员",
	RoleDamChief:          "库长",
}

// RoleLabel is the Chinese name of a known role (值班员 for duty_officer),
// or the role itself.
func RoleLabel(role string) string {
	if l, ok := roleLabels[role]; ok {
		return l
	}
	return role
}

// Org is an organisation: a level of government, a bureau or department,
// an industrial park or an enterprise.
type Org struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Kind   string   `json:"kind"` // one of OrgKinds
	Parent string   `json:"parent,omitempty"`
	Region string   `json:"region,omitempty"` // administrative division code (e.g. 320115)
	Sites  []string `json:"sites,omitempty"`  // sites the organisation runs (enterprises)
	TZ     string   `json:"timezone,omitempty"`
}

// A Link is one entry of a site's responsibility chain, resolved at a time.
type Link struct {
	Tier   int             `json:"tier"`   // 1 = enterprise, 2 = assigned official / township, 3 = county bureau, 4 = city leader (督长) …
	Role   string          `json:"role"`   // duty_officer, leader_on_duty, principal, assigned_official, bureau_on_duty, supervisor_in_chief, grid_member or free text
	People []yujing.Person `json:"people"` // who holds it at the asked time (roster resolved)
	Org    string          `json:"org,omitempty"`
	Source string          `json:"source"` // "site plant-a" or "region 320115": where the entry came from
}

// Responsibility is the responsibility chain of one site, or of every site
// whose region Region covers.
type Responsibility struct {
	Site   string     `json:"site,omitempty"`
	Region string     `json:"region,omitempty"`
	Chain  []LinkSpec `json:"chain"`
}

// Key identifies a responsibility: the site id, or "region:" and the code.
func (r Responsibility) Key() string {
	if r.Site == "" && r.Region != "" {
		return "region:" + r.Region
	}
	return r.Site
}

// LinkSpec is one entry of a responsibility chain as written: named people
// or a roster ("org/role") resolved at the time asked.
type LinkSpec struct {
	Tier   int      `json:"tier"`
	Role   string   `json:"role"`
	People []string `json:"people,omitempty"`
	Roster string   `json:"roster,omitempty"`
	Org    string   `json:"org,omitempty"` // default: the roster's organisation
}

// Roster says who holds one role of one organisation at any time: daily
// shifts, a rotation of turns, and overrides (holidays, swaps).
type Roster struct {
	Org      string `json:"org"`
	Role     string `json:"role"`
	Timezone string `json:"timezone,omitempty"` // default: the configuration's timezone
	// Shifts are the daily start times ("08:00", "20:00"), increasing; a
	// shift ends when the next begins, the last one at the first of the
	// next day.
	Shifts []string `json:"shifts"`
	// Start is a date (2026-01-01) whose first shift is held by
	// Rotation[0]; the rotation runs on from there, one turn per shift
	// (and backwards before it).
	Start    string `json:"start"`
	Rotation []Turn `json:"rotation"`
	// Overrides replace the rotation while in force; the latest listed
	// wins where they overlap.
	Overrides []Override `json:"overrides,omitempty"`
}

// Key identifies a roster: "org/role".
func (r Roster) Key() string { return r.Org + "/" + r.Role }

// Turn is who holds one shift of a rotation: one person or several. In
// JSON it is a person id, or a list of them.
type Turn []string

// MarshalJSON writes a turn of one person as the id alone.
func (t Turn) MarshalJSON() ([]byte, error) {
	if len(t) == 1 {
		return json.Marshal(t[0])
	}
	return json.Marshal([]string(t))
}

// UnmarshalJSON reads a person id or a list of them.
func (t *Turn) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*t = Turn{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("a rotation entry is a person id or a list of them, got %s", b)
	}
	*t = many
	return nil
}

// Override puts People on duty from From until To (both "2006-01-02 15:04"
// in the roster's time zone, or RFC 3339), e.g. a holiday (节假日值班) or a
// swap.
type Override struct {
	From   string   `json:"from"`
	To     string   `json:"to"`
	People []string `json:"people"`
	Note   string   `json:"note,omitempty"`
}

// Spec is what a Directory is built from.
type Spec struct {
	People         []yujing.Person
	Orgs           []Org
	Responsibility []Responsibility
	Rosters        []Roster
	// Sites are the sites responsibilities may name.
	Sites []yujing.Site
	// Location is the time zone of rosters that name none (default UTC).
	Location *time.Location
}

// Kinds of directory entries, as stored and as named in problems.
const (
	KindPerson         = "person"
	KindOrg            = "org"
	KindResponsibility = "responsibility"
	KindRoster         = "roster"
)

// Problem is one thing wrong with one entry of a Spec.
type Problem struct {
	Kind  string // KindPerson, KindOrg, KindResponsibility or KindRoster
	ID    string // the entry's id or key
	Index int    // the entry's position in its Spec list
	// Field is the path of the field within the entry, with the JSON (and
	// YAML) names: "parent", "rotation[2]", "chain[1].people[0]"; "" for
	// the entry as a whole.
	Field string
	Msg   string
}

func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.Kind)
	if p.ID != "" {
		b.WriteString(" " + p.ID)
	}
	if p.Field != "" {
		b.WriteString(": " + p.Field)
	}
	b.WriteString(": " + p.Msg)
	return b.String()
}

// Problems is everything wrong with a Spec, in the order found.
type Problems []*Problem

func (ps Problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "; ")
}
