package config

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/alertmanager"
)

const amBase = "sites: [{id: plant-a}, {id: plant-b}]\n"

// The alertmanager section: absent is off; defaults; every setting.
func TestAlertmanagerSection(t *testing.T) {
	cfg, err := Parse("x.yaml", []byte(amBase), Options{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Alertmanager != nil {
		t.Errorf("no section: Alertmanager = %+v, want nil (the API is off)", cfg.Alertmanager)
	}

	cfg, err = Parse("x.yaml", []byte(amBase+"alertmanager: {}\n"), Options{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if m := cfg.Alertmanager; m == nil || m.ResolveTimeout != alertmanager.DefaultResolveTimeout || m.Levels != nil || m.DefaultLevel != yujing.LevelNone {
		t.Errorf("empty section: %+v, want the defaults (5m, the mapper's default levels)", m)
	}

	cfg, err = Parse("x.yaml", []byte(amBase+`alertmanager:
  resolve_timeout: 2m
  level_label: priority
  levels: {P1: red, p2: 橙色, p3: yellow}
  default_level: blue
  site_label: plant
  site_map:
    - {label: job, value: node-b, site: plant-b}
  default_site: plant-a
  sensor_label: host
  family_label: kind
  default_family: electrical
`), Options{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Alertmanager
	want := alertmanager.Mapping{ResolveTimeout: 2 * time.Minute, LevelLabel: "priority",
		Levels:       map[string]yujing.Level{"p1": yujing.Red, "p2": yujing.Orange, "p3": yujing.Yellow},
		DefaultLevel: yujing.Blue, SiteLabel: "plant", SiteMap: []alertmanager.SiteRule{{Label: "job", Value: "node-b", Site: "plant-b"}},
		DefaultSite: "plant-a", SensorLabel: "host", FamilyLabel: "kind", DefaultFamily: yujing.FamilyElectrical}
	if m == nil || fmtMapping(*m) != fmtMapping(want) {
		t.Errorf("Alertmanager =\n%+v\nwant\n%+v", m, want)
	}
}

func fmtMapping(m alertmanager.Mapping) string {
	var b strings.Builder
	for _, k := range []string{"p1", "p2", "p3"} {
		b.WriteString(k + "=" + m.Levels[k].String() + " ")
	}
	m.Levels = nil
	return b.String() + fmt.Sprintf("%+v", m)
}

func TestAlertmanagerSectionErrors(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"bad level", "alertmanager:\n  levels: {critical: purple}\n",
			`x.yaml:3:11: alertmanager.levels: critical: unknown level "purple" (want blue, yellow, orange or red)`},
		{"same severity twice", "alertmanager:\n  levels: {critical: red, CRITICAL: orange}\n",
			`x.yaml:3:11: alertmanager.levels: "CRITICAL" and "critical" are the same value (severities are compared without case)`},
		{"no levels at all", "alertmanager:\n  levels: {}\n",
			`x.yaml:3:11: alertmanager.levels is empty and default_level is not set: every alert would be refused`},
		{"bad default level", "alertmanager: {default_level: grey}\n",
			`x.yaml:2:31: alertmanager.default_level: unknown level "grey" (want blue, yellow, orange or red)`},
		{"unknown site in the map", "alertmanager:\n  site_map: [{label: job, value: n, site: plant-z}]\n",
			`x.yaml:3:43: alertmanager.site_map[0]: site "plant-z" is not defined under sites`},
		{"incomplete site rule", "alertmanager:\n  site_map: [{label: job, site: plant-a}]\n",
			`x.yaml:3:14: alertmanager.site_map[0]: give label, value and site, e.g. {label: job, value: node-plant-a, site: plant-a}`},
		{"unknown default site", "alertmanager: {default_site: plant-z}\n",
			`x.yaml:2:30: alertmanager.default_site "plant-z" is not defined under sites`},
		{"unknown family", "alertmanager: {default_family: volcano}\n",
			`x.yaml:2:32: alertmanager.default_family "volcano" is not a family (known: [gas hazard dust weather flood power electrical])`},
		{"empty label name", "alertmanager: {site_label: \"\"}\n",
			`x.yaml:2:28: alertmanager.site_label is empty: name a label, or leave it out for "site"`},
		{"short timeout", "alertmanager: {resolve_timeout: 10ms}\n",
			`x.yaml:2:33: alertmanager.resolve_timeout 10ms: want at least 1s`},
		{"misspelt", "alertmanager: {severity_label: s}\n",
			`x.yaml:2:16: alertmanager: unknown field "severity_label"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(amBase+c.yaml), Options{LookupEnv: noEnv})
			if err == nil || !strings.HasPrefix(strings.TrimSpace(err.Error()), c.want) {
				t.Errorf("error:\n%v\nwant:\n%s", err, c.want)
			}
		})
	}
}
