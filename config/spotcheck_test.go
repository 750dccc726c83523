package config

import (
	"strings"
	"testing"
	"time"

	"yujing/duty"
)

const spotBase = dutyBase + `channels:
  - {name: voice, log: {}}
  - {name: sms, log: {}}
`

func TestSpotChecksConfig(t *testing.T) {
	cfg, err := Parse("spot.yaml", []byte(spotBase+`spot_checks:
  on_demand: {channels: [sms], deadline: 5m}
  schedules:
    - name: night
      regions: ["320115"]
      window: {from: "22:00", to: "06:00"}
      per_night: 3
      channels: [voice, sms]
    - name: holiday
      orgs: [acme]
      kinds: [enterprise]
      window: {from: "08:00", to: "20:00"}
      per_night: 1
      channels: [voice]
      deadline: 15m
      roles: [duty_officer]
`), Options{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	sc := cfg.SpotChecks
	if sc.Deadline != 5*time.Minute || len(sc.Channels) != 1 || sc.Channels[0] != "sms" || len(sc.EscalateTo) != 1 ||
		sc.EscalateTo[0] != duty.RolePrincipal {
		t.Errorf("on demand = %+v", sc)
	}
	if len(sc.Schedules) != 2 {
		t.Fatalf("schedules = %+v", sc.Schedules)
	}
	n := sc.Schedules[0]
	if n.Window.From != 22*time.Hour || n.Window.To != 6*time.Hour || n.Window.Length() != 8*time.Hour || n.Deadline != 10*time.Minute ||
		len(n.Roles) != 2 || n.Roles[1] != duty.RolePrincipal || n.PerNight != 3 {
		t.Errorf("night = %+v, want defaults filled in", n)
	}
	if h := sc.Schedules[1]; h.Deadline != 15*time.Minute || len(h.Roles) != 1 || h.Orgs[0] != "acme" {
		t.Errorf("holiday = %+v", h)
	}
}

// Every mistake is reported with its place, all at once.
func TestSpotChecksConfigErrors(t *testing.T) {
	_, err := Parse("spot.yaml", []byte(spotBase+`spot_checks:
  on_demand: {channels: [fax], deadline: -1m}
  schedules:
    - name: night
      orgs: [nobody]
      regions: ["32"]
      kinds: [factory]
      window: {from: "25:00", to: "6am"}
      per_night: 0
      channels: [voice, pager]
    - name: night
      window: {from: "22:00", to: "22:15"}
      per_night: 1
      channels: [voice]
`), Options{LookupEnv: noEnv})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"spot.yaml:16:26: spot_checks.on_demand: channel \"fax\" is not defined under channels",
		"spot.yaml:16:42: spot_checks.on_demand.deadline: duration must not be negative, got \"-1m\"",
		"spot.yaml:18:7: spot_checks.schedules[0]: per_night must be at least 1",
		"spot.yaml:19:14: spot_checks.schedules[0]: org \"nobody\" is not defined under orgs",
		"spot.yaml:20:17: spot_checks.schedules[0]: region \"32\" is not an administrative division code such as 320115",
		"spot.yaml:21:15: spot_checks.schedules[0]: kind \"factory\" is not one of [province city county township village enterprise park bureau department]",
		"spot.yaml:22:22: spot_checks.schedules[0].window.from: \"25:00\" is not a time of day such as 22:00",
		"spot.yaml:22:35: spot_checks.schedules[0].window.to: \"6am\" is not a time of day such as 22:00",
		"spot.yaml:24:25: spot_checks.schedules[0]: channel \"pager\" is not defined under channels",
		"spot.yaml:25:13: spot_checks.schedules[1]: name \"night\" is used twice",
		"spot.yaml:25:7: spot_checks.schedules[1]: 2 roles of 10m0s each do not fit in the window of 15m0s",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}
