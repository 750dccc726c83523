package web

import (
	"slices"
	"testing"
)

func TestRegionAncestors(t *testing.T) {
	for _, c := range []struct {
		code string
		want []string
	}{
		{"320115001001", []string{"320115001001", "320115001", "320115", "320100", "320000"}},
		{"320115001", []string{"320115001", "320115", "320100", "320000"}},
		{"320115", []string{"320115", "320100", "320000"}},
		{"320100", []string{"320100", "320000"}},
		{"320000", []string{"320000"}},
		{"110105", []string{"110105", "110100", "110000"}},
		{"", []string{""}},
		{"32011", []string{"32011"}},
		{"00011500", []string{"00011500"}},
	} {
		if got := regionAncestors(c.code); !slices.Equal(got, c.want) {
			t.Errorf("regionAncestors(%q) = %v, want %v", c.code, got, c.want)
		}
	}
}

// The stop reasons escalate writes (and their likely successors) map to
// the stopped outcomes.
func TestStopOutcome(t *testing.T) {
	for reason, want := range map[string]Outcome{
		"superseded: upgraded to red":     OutcomeStoppedSuperseded,
		"superseded":                      OutcomeStoppedSuperseded,
		"resolved before anyone answered": OutcomeStoppedResolved,
		"resolved":                        OutcomeStoppedResolved,
		"closed":                          OutcomeStoppedClosed,
		"Closed by duty-li":               OutcomeStoppedClosed,
		"calls suppressed: the alert is silenced": OutcomeStoppedOther,
		"policy red is no longer configured":      OutcomeStoppedOther,
		"":                                        OutcomeStoppedOther,
	} {
		if got := stopOutcome(reason); got != want {
			t.Errorf("stopOutcome(%q) = %s, want %s", reason, got, want)
		}
		if !want.Stopped() {
			t.Errorf("%s.Stopped() = false", want)
		}
	}
	for _, o := range []Outcome{OutcomeAnswered, OutcomeColleague, OutcomeUnanswered, OutcomePending} {
		if o.Stopped() {
			t.Errorf("%s.Stopped() = true", o)
		}
	}
}
