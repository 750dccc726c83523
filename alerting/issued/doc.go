// Package issued is the way into the alert lifecycle, and so into
// call-and-answer (叫应), for warnings that no sensor reading raised:
// warnings another system issued — the weather service's CAP alerts
// (package alerting/issued/cap), Alertmanager's alerts — or an operator
// entered.
//
// A warning is identified by its Source (the issuing system or protocol:
// "cap", "alertmanager") and a Key unique within it, chosen by the caller
// and stable over the warning's life (a CAP alert's sender, identifier and
// area; an Alertmanager alert's fingerprint). It applies to one site, or
// to one administrative area by its division code; a message that names
// several areas is several warnings, one Raise each. It becomes one yujing
// alert:
//
//	Rule   "issued:" + Source
//	Sensor Key
//	Site   the site, or yujing.RegionSite(code) ("region:320115")
//	Level  the warning's level; Message its Title, a newline, its Summary
//
// and call-and-answer runs the escalation policy of its level for it as
// for any alert. For an area, the people called are those the directory's
// responsibility chain names for the area (duty.Directory.Chain): entries
// of the regions covering it, and, rolled down, of the regions inside it
// (a county's warning reaches its townships' officials).
//
// Raise is idempotent: raising a warning again as it stands changes
// nothing and calls nobody, also after a restart (the state database
// keeps every warning, store.IssuedWarning). A different level upgrades
// or downgrades the same alert in place (history recorded; an upgrade
// starts the new level's policy). End ends it with a stated reason
// (cancelled, expired, resolved): the alert resolves, which stops its
// escalation; with Close it is also closed (核查销号). A warning whose
// EndsAt passes ends by itself (Expire, which Run calls every tick). A
// Raise of a warning that ended starts a new episode if it starts after
// the end (StartsAt), or, for one that expired, if its EndsAt is still
// ahead (a renewal: an issuer that re-sends what still holds); anything
// else is a late or repeated delivery and changes nothing (Stale). A
// warning that arrives after its own EndsAt calls nobody: it is not
// raised (Stale), or, in force, it ends (expired).
package issued
