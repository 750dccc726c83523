// Package silence keeps silences: matchers that hold back the calls about
// the alerts they select while they are active (maintenance, calibration),
// never the alerts themselves, which are recorded as always.
//
// A silence is active from StartsAt until EndsAt or until it is expired,
// whichever comes first; with a Window it is active only within those daily
// hours (and weekdays) in the configured time zone, a window ending before
// it starts running past midnight. Silences are saved in a Store before
// they count and are loaded again after a restart.
//
// The alerting engine asks Match for every alert change it is about to
// call people for, and marks the alerts a silence holds back (Silenced) for
// the console.
package silence
