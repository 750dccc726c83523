package config

import (
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/store"
)

const scheduledBase = `
sites: [{id: s1}]
sensors:
  - {id: RG-1, site: s1, family: weather, metric: rain, unit: mm}
  - {id: WL-1, site: s1, family: flood, metric: level, unit: m}
rules:
`

func TestScheduledRules(t *testing.T) {
	cfg, err := Parse("s.yaml", []byte(scheduledBase+`
  - name: rainstorm
    match: {family: weather}
    metric: rain
    schedule: "*/5 * * * *"
    aggregate: sum
    windows: {blue: 12h, yellow: 6h, orange: 3h, red: 3h}
    above: {blue: 50, yellow: 50, orange: 50, red: 100}
    hysteresis: 5
  - name: level-rise
    sensors: [WL-1]
    schedule: "@every 10m"
    aggregate: rate
    window: 30m
    above: {yellow: 0.01}
  - name: level
    sensors: [WL-1]
    above: {red: 9}
`), Options{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Rules) != 1 || cfg.Rules[0].Name != "level" {
		t.Errorf("Rules = %v, want only the unscheduled rule", cfg.Rules)
	}
	if len(cfg.Scheduled) != 2 {
		t.Fatalf("%d scheduled rules, want 2", len(cfg.Scheduled))
	}
	r := cfg.Scheduled[0]
	if r.Rule.Name != "rainstorm" || r.Schedule != "*/5 * * * *" || r.Aggregate != store.FuncSum || !r.PerLevel() ||
		r.WindowOf(yujing.Blue) != 12*time.Hour || r.WindowOf(yujing.Red) != 3*time.Hour ||
		r.Rule.Above.Value[yujing.Red] != 100 || r.Rule.Hysteresis != 5 || r.Rule.Match.Family != yujing.FamilyWeather {
		t.Errorf("rainstorm: %+v", r)
	}
	r = cfg.Scheduled[1]
	if r.Aggregate != store.FuncRate || r.Window != 30*time.Minute || r.PerLevel() || r.Rule.Sensors[0] != "WL-1" {
		t.Errorf("level-rise: %+v", r)
	}
}

func TestScheduledRuleErrors(t *testing.T) {
	_, err := Parse("s.yaml", []byte(scheduledBase+`
  - name: a
    sensors: [RG-1]
    schedule: "*/5 * * *"
    aggregate: median
    window: 1h
    above: {blue: 10}
  - name: b
    sensors: [RG-1]
    schedule: "@every 5m"
    aggregate: sum
    windows: {blue: 12h, yellow: 6h}
    above: {blue: 50, yellow: 40, red: 100}
    for: 10m
  - name: c
    sensors: [RG-1]
    window: 3h
    above: {blue: 10}
  - name: d
    sensors: [RG-1]
    schedule: "CRON_TZ=Mars/Olympus 0 * * * *"
    window: 3h
    above: {blue: 10, yellow: 5}
  - name: e
    sensors: [RG-1]
    metric: rainfall
    schedule: "@hourly"
    aggregate: max
    window: 1h
    above: {blue: 10}
`), Options{LookupEnv: noEnv})
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		`s.yaml:10:15: rule "a": schedule "*/5 * * *": expected exactly 5 fields, found 4: [*/5 * * *]`,
		`s.yaml:11:16: rule "a": unknown aggregate "median" (want one of [sum mean max min last count rate])`,
		`s.yaml:19:31: rule "b": above: yellow threshold 40 over 6h must not be lower than blue threshold 50 over 12h`,
		`s.yaml:19:40: rule "b": red has no window: set window (e.g. 3h) or windows.red`,
		`s.yaml:20:10: rule "b": for does not apply to a scheduled rule`,
		`s.yaml:23:13: rule "c": window applies to scheduled rules only; add schedule: (e.g. "*/5 * * * *")`,
		`s.yaml:25:5: rule "d": a scheduled rule needs aggregate: one of [sum mean max min last count rate]`,
		`s.yaml:27:15: rule "d": schedule "CRON_TZ=Mars/Olympus 0 * * * *": provided bad location Mars/Olympus: unknown time zone Mars/Olympus`,
		`s.yaml:29:31: rule "d": above: yellow threshold 5 must be higher than blue threshold 10`,
		`s.yaml:32:13: rule "e": sensor "RG-1" has no metric "rainfall" (it reports [rain])`,
	}
	got := strings.Split(err.Error(), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}
