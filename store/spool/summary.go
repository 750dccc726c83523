package spool

import (
	"cmp"
	"slices"
	"time"
)

// ReasonSummary is what the dead letters of one reason amount to.
type ReasonSummary struct {
	Reason   string
	Readings int       // readings kept
	Batches  int       // refused batches kept
	First    time.Time // when the store refused the earliest
	Last     time.Time // when it refused the latest
	Attempts int       // the most replays the store refused of one batch
	Answer   string    // the store's answer to the latest
	Sensors  []string  // the first MaxSummarySensors sensors, in the order met
}

// MaxSummarySensors is how many of its sensors a ReasonSummary names.
const MaxSummarySensors = 10

// SummarizeDeadLetters sums up the dead letters in dir by reason, the
// reason with the most readings first. Like ScanDeadLetters it takes no
// lock: it works while a yujing serve holds them.
func SummarizeDeadLetters(dir string) ([]ReasonSummary, error) {
	byReason := map[string]*ReasonSummary{}
	err := ScanDeadLetters(dir, true, func(dl DeadLetter) error {
		s := byReason[dl.Reason]
		if s == nil {
			s = &ReasonSummary{Reason: dl.Reason, First: dl.At, Last: dl.At}
			byReason[dl.Reason] = s
		}
		s.Readings += dl.Count
		s.Batches++
		s.Attempts = max(s.Attempts, dl.Attempts)
		if dl.At.Before(s.First) {
			s.First = dl.At
		}
		if !dl.At.Before(s.Last) {
			s.Last, s.Answer = dl.At, dl.Err
		}
		for _, r := range dl.Readings {
			if len(s.Sensors) < MaxSummarySensors && !slices.Contains(s.Sensors, r.Sensor) {
				s.Sensors = append(s.Sensors, r.Sensor)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]ReasonSummary, 0, len(byReason))
	for _, s := range byReason {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b ReasonSummary) int {
		return cmp.Or(cmp.Compare(b.Readings, a.Readings), cmp.Compare(a.Reason, b.Reason))
	})
	return out, nil
}
