// Package cronspec parses the cron specs of yujing's schedules — scheduled
// rules (package alerting) and summaries (package alerting/escalate) — one
// way for both: five fields or a descriptor, in a configured time zone.
package cronspec

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Error says a cron spec does not parse or never fires.
type Error struct {
	Spec string
	Err  error
}

func (e *Error) Error() string { return fmt.Sprintf("schedule %q: %v", e.Spec, e.Err) }

func (e *Error) Unwrap() error { return e.Err }

// Parse parses a cron spec: five fields (minute hour day-of-month month
// day-of-week), or a descriptor (@yearly, @monthly, @weekly, @daily,
// @hourly, "@every 5m"). Specs are in loc unless they start with
// "CRON_TZ=Area/City ". "@every d" ticks every d from the time the
// scheduler starts. The error is an *Error.
func Parse(spec string, loc *time.Location) (cron.Schedule, error) {
	fail := func(err error) (cron.Schedule, error) { return nil, &Error{Spec: spec, Err: err} }
	s := strings.TrimSpace(spec)
	hasTZ := strings.HasPrefix(s, "CRON_TZ=") || strings.HasPrefix(s, "TZ=")
	if hasTZ && !strings.Contains(s, " ") {
		return fail(errors.New("CRON_TZ=<zone> must be followed by a space and the schedule"))
	}
	if s == "" {
		return fail(errors.New(`empty; want five fields such as "*/5 * * * *" or a descriptor such as "@every 5m"`))
	}
	p := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	sched, err := p.Parse(s)
	if err != nil {
		return fail(err)
	}
	if ss, ok := sched.(*cron.SpecSchedule); ok && !hasTZ {
		if loc == nil {
			loc = time.UTC
		}
		ss.Location = loc
	}
	// A spec such as "0 0 30 2 *" (30 February) parses but never fires.
	if sched.Next(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return fail(errors.New("never fires"))
	}
	return sched, nil
}
