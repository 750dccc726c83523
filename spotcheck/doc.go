// Package spotcheck schedules duty spot checks (值班值守抽查, 查岗): bureaus
// ring enterprises' and townships' duty rooms by surprise, at night and
// on holidays, and count who answers (在岗率).
//
// A Schedule names which organisations may be checked (a list, or every
// enterprise of some regions or industries), a window of the day (e.g.
// 22:00–06:00), how many checks a night, the channels, the deadline and
// the roles called (the duty officer, then the principal). At the start
// of each night's window the Scheduler picks that many organisations and
// a time for each within the window, and hands every check to
// call-and-answer (alerting/escalate's StartCheck), which makes the calls
// and takes the answers as it does for warnings, and records every step.
//
// The picks are random to the people checked but derived from a secret
// and the schedule's name and night (HMAC-SHA256 seeding a ChaCha8
// generator): planning the same night again — after a restart in the
// middle of it — picks the same organisations at the same times, and the
// state database stores each check once by its key, so none is made
// twice. A check whose time passed while yujing was down is made when it
// comes back, unless the night's window has ended: then it is recorded
// as skipped.
//
// The report (Report) gives the on-duty rate and answer times per
// enterprise, organisation and region over a period.
package spotcheck
