package store

import "testing"

// Call ids begin with the instance id, except those of calls about a
// transition or escalation from before the database had one.
func TestCallIDs(t *testing.T) {
	fresh := CallIDs{Instance: "k7f3q2mzab"}
	upgraded := CallIDs{Instance: "k7f3q2mzab", LegacyTransitions: 34, LegacyEscalations: 12}
	for _, c := range []struct {
		name, got, want string
	}{
		{"route", fresh.Route(42, 34, "zhang", "sms"), "k7f3q2mzab-42-34-zhang-sms"},
		{"escalation", fresh.Escalation(12), "k7f3q2mzab-esc12-"},
		{"other", fresh.Other(), "k7f3q2mzab-"},
		{"route, transition before the upgrade", upgraded.Route(42, 34, "zhang", "sms"), "42-34-zhang-sms"},
		{"route, transition after the upgrade", upgraded.Route(42, 35, "zhang", "sms"), "k7f3q2mzab-42-35-zhang-sms"},
		{"escalation before the upgrade", upgraded.Escalation(12), "esc12-"},
		{"escalation after the upgrade", upgraded.Escalation(13), "k7f3q2mzab-esc13-"},
		{"other after the upgrade", upgraded.Other(), "k7f3q2mzab-"},
	} {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.name, c.got, c.want)
		}
	}
}
