package web

import (
	"slices"
	"testing"

	"yujing/store"
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

// Every stop reason escalate writes (store.EscalationReasons; state
// migration 10 rewrote the sentences older versions stored into them) maps
// to a stopped outcome.
func TestStopOutcome(t *testing.T) {
	for reason, want := range map[string]Outcome{
		store.ReasonSuperseded:    OutcomeStoppedSuperseded,
		store.ReasonResolved:      OutcomeStoppedResolved,
		store.ReasonClosed:        OutcomeStoppedClosed,
		store.ReasonSilenced:      OutcomeStoppedOther,
		store.ReasonInhibited:     OutcomeStoppedOther,
		store.ReasonPolicyRemoved: OutcomeStoppedOther,
		"":                        OutcomeStoppedOther,
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
