package inhibit_test

import (
	"maps"
	"slices"
	"testing"

	"yujing"
	"yujing/alerting/inhibit"
	"yujing/ingest"
)

func catalog(t *testing.T) *ingest.Registry {
	t.Helper()
	reg, err := ingest.NewRegistry([]yujing.Site{{ID: "a"}, {ID: "b"}}, []yujing.Sensor{
		{ID: "G1", Site: "a", Family: yujing.FamilyGas, Metric: "lel"},
		{ID: "G2", Site: "a", Family: yujing.FamilyGas, Metric: "lel", Tags: map[string]string{"gateway": "GW"}},
		{ID: "G3", Site: "b", Family: yujing.FamilyGas, Metric: "lel", Tags: map[string]string{"gateway": "GW2"}},
		{ID: "GW", Site: "a", Family: yujing.FamilyElectrical, Metric: "up"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestInhibited(t *testing.T) {
	redAtSite := inhibit.Rule{Source: yujing.Matchers{Levels: []yujing.Level{yujing.Red}},
		Target: yujing.Matchers{Levels: []yujing.Level{yujing.Blue, yujing.Yellow, yujing.Orange}}, Equal: []string{"site"}}
	gatewayDown := inhibit.Rule{Source: yujing.Matchers{Rule: "gw-down"}, Target: yujing.Matchers{Rule: "down"}, Equal: []string{"sensor=tag:gateway"}}
	alert := func(id int64, rule, sensor, site string, l yujing.Level, s yujing.State) *yujing.Alert {
		return &yujing.Alert{ID: id, Rule: rule, Sensor: sensor, Site: site, Family: yujing.FamilyGas, Level: l, State: s}
	}
	red := alert(1, "gas", "G2", "a", yujing.Red, yujing.StateFiring)
	gwDown := alert(2, "gw-down", "GW", "a", yujing.Orange, yujing.StateFiring)
	for _, tc := range []struct {
		name   string
		rules  []inhibit.Rule
		target *yujing.Alert
		active []*yujing.Alert
		want   int64 // the inhibiting alert; 0: none
	}{
		{"red at the site hides a yellow there", []inhibit.Rule{redAtSite}, alert(10, "gas", "G1", "a", yujing.Yellow, yujing.StateFiring), []*yujing.Alert{red}, 1},
		{"acknowledged red still hides", []inhibit.Rule{redAtSite},
			alert(10, "gas", "G1", "a", yujing.Orange, yujing.StateFiring), []*yujing.Alert{alert(1, "gas", "G2", "a", yujing.Red, yujing.StateAcknowledged)}, 1},
		{"red at another site hides nothing", []inhibit.Rule{redAtSite}, alert(10, "gas", "G3", "b", yujing.Yellow, yujing.StateFiring), []*yujing.Alert{red}, 0},
		{"a red is no target", []inhibit.Rule{redAtSite}, alert(10, "gas", "G1", "a", yujing.Red, yujing.StateFiring), []*yujing.Alert{red}, 0},
		{"a resolved red hides nothing", []inhibit.Rule{redAtSite},
			alert(10, "gas", "G1", "a", yujing.Yellow, yujing.StateFiring), []*yujing.Alert{alert(1, "gas", "G2", "a", yujing.Red, yujing.StateResolved)}, 0},
		{"an alert does not hide itself", []inhibit.Rule{{Source: yujing.Matchers{Rule: "gas"}, Target: yujing.Matchers{Rule: "gas"}}},
			red, []*yujing.Alert{red}, 0},
		{"no equal labels: any source hides", []inhibit.Rule{{Source: yujing.Matchers{Rule: "gw-down"}, Target: yujing.Matchers{Site: "b"}}},
			alert(10, "gas", "G3", "b", yujing.Yellow, yujing.StateFiring), []*yujing.Alert{gwDown}, 2},
		{"gateway down hides its sensor's down", []inhibit.Rule{gatewayDown}, alert(10, "down", "G2", "a", yujing.Yellow, yujing.StateFiring), []*yujing.Alert{gwDown}, 2},
		{"gateway down hides not another gateway's sensor", []inhibit.Rule{gatewayDown}, alert(10, "down", "G3", "b", yujing.Yellow, yujing.StateFiring), []*yujing.Alert{gwDown}, 0},
		{"a sensor without the tag is not hidden", []inhibit.Rule{gatewayDown}, alert(10, "down", "G1", "a", yujing.Yellow, yujing.StateFiring), []*yujing.Alert{gwDown}, 0},
		{"a label neither has is never equal", []inhibit.Rule{{Source: yujing.Matchers{Rule: "gw-down"}, Target: yujing.Matchers{Rule: "down"}, Equal: []string{"tag:room"}}},
			alert(10, "down", "G1", "a", yujing.Yellow, yujing.StateFiring), []*yujing.Alert{gwDown}, 0},
		{"the second rule hides", []inhibit.Rule{redAtSite, gatewayDown}, alert(10, "down", "G2", "a", yujing.Yellow, yujing.StateFiring), []*yujing.Alert{gwDown}, 2},
		{"no rules", nil, alert(10, "down", "G2", "a", yujing.Yellow, yujing.StateFiring), []*yujing.Alert{gwDown, red}, 0},
		{"nothing active", []inhibit.Rule{redAtSite, gatewayDown}, alert(10, "down", "G2", "a", yujing.Yellow, yujing.StateFiring), nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := inhibit.New(tc.rules, catalog(t))
			id, ok := in.Inhibited(tc.target, slices.Values(tc.active))
			if ok != (tc.want != 0) || id != tc.want {
				t.Errorf("Inhibited = %d, %v; want %d", id, ok, tc.want)
			}
		})
	}
}

func TestLabel(t *testing.T) {
	cat := catalog(t)
	a := &yujing.Alert{Rule: "gas", Sensor: "G2", Site: "a", Family: yujing.FamilyGas, Level: yujing.Orange}
	want := map[string]string{"site": "a", "sensor": "G2", "family": "gas", "rule": "gas", "level": "orange",
		"tag:gateway": "GW", "tag:room": "", "metric": "", "": ""}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if got := inhibit.Label(a, name, cat); got != want[name] {
			t.Errorf("Label(%q) = %q, want %q", name, got, want[name])
		}
	}
	unknown := &yujing.Alert{Sensor: "site:a"}
	if got := inhibit.Label(unknown, "tag:gateway", cat); got != "" {
		t.Errorf("Label(tag:gateway) of a sensor not in the catalog = %q, want none", got)
	}
}
