// Package duty is the directory of people, organisations, responsibility
// chains and duty rosters (值班表) that call-and-answer (叫应) escalates along.
//
// A [Directory] is an immutable snapshot built by [New] from a [Spec]: the
// people, the organisation tree (province → city → county → township →
// village, enterprises, parks, bureaus), each site's responsibility chain by
// tier (enterprise duty officer and principal, assigned official, county
// bureau on duty, city supervisor-in-chief …) and the rosters that say who
// holds a role of an organisation at a given time, with daily shifts, a
// rotation and holiday overrides. It answers "who holds role R of
// organisation O at time T" ([Directory.OnDuty]) and "who is responsible for
// site S at time T, tier by tier" ([Directory.Chain]) in one call each.
//
// A [Book] holds the directory in force: the configuration's lists with the
// entries saved through the API on top (persisted in a [Store]), validated
// by the same checks as the configuration and swapped atomically, so readers
// never see a half-built directory. A Book answers the same questions by
// delegating to its current Directory.
//
// Region codes are Chinese administrative division codes; see [RegionCovers].
package duty
