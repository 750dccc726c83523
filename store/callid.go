package store

import "strconv"

// CallIDs is how a state database's calls are named. Call ids say what a
// call is (its escalation, round, step, person and channel; or its alert,
// change, person and channel), so a call made again after a restart has
// the same id and the outbox — and a receiver that de-duplicates by the
// id — drops the copy. They begin with the database's instance id, so that
// two databases (a wiped data directory) never make the same id.
type CallIDs struct {
	// Instance is the database's instance id: ten random lower-case base32
	// characters, made with the database and kept in it.
	Instance string
	// A database made by a version that had no instance id keeps its
	// earlier calls' ids: calls about transitions and escalations with ids
	// up to these, which existed before the upgrade, are named as then —
	// without the instance id — so that a call made again after the upgrade
	// is still recognised. Zero for a database made with an instance id.
	LegacyTransitions, LegacyEscalations int64
}

// Route returns the id of a route's call about transition transitionID of
// alert alertID to person on channel: <instance>-<alert>-<transition>-
// <person>-<channel>.
func (c CallIDs) Route(alertID, transitionID int64, person, channel string) string {
	id := strconv.FormatInt(alertID, 10) + "-" + strconv.FormatInt(transitionID, 10) + "-" + person + "-" + channel
	if transitionID <= c.LegacyTransitions {
		return id
	}
	return c.Instance + "-" + id
}

// Escalation returns the prefix of the ids of escalation escalationID's
// calls: <instance>-esc<escalation>-. The escalation engine adds round,
// step, person and channel.
func (c CallIDs) Escalation(escalationID int64) string {
	p := "esc" + strconv.FormatInt(escalationID, 10) + "-"
	if escalationID <= c.LegacyEscalations {
		return p
	}
	return c.Instance + "-" + p
}

// Other returns the prefix of the ids of calls about neither a transition
// nor an escalation (scheduled summaries): <instance>-.
func (c CallIDs) Other() string { return c.Instance + "-" }
