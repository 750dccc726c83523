package alerting

import (
	"context"
	"time"
)

// EvaluateAt evaluates the scheduled rule named name once, at tick at, as
// its loop would, without recording its health: how many sensors it
// selected, how many had an empty window, and what failed. For tests and
// benchmarks of one tick.
func (s *Scheduler) EvaluateAt(ctx context.Context, name string, at time.Time) (sensors, noData int, errs []error) {
	for _, r := range s.Rules() {
		if r.Rule.Name == name {
			return s.evaluate(ctx, r, at)
		}
	}
	panic("alerting: no scheduled rule " + name)
}
