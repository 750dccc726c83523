package config

import (
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/alerting/escalate"
)

const escalationBase = `sites: [{id: plant}]
people: [{id: zhang, name: 张伟}, {id: chen, name: 陈刚}]
channels: [{name: sms, log: {}}, {name: voice, log: {}}]
`

func TestEscalationPolicies(t *testing.T) {
	cfg, err := Parse("e.yaml", []byte(escalationBase+`escalation:
  base_url: https://yj.example.cn/
  link_ttl: 12h
  answer_keywords: [收到, ok]
  policies:
    - name: red
      levels: [red]
      families: [gas]
      regions: ["320115"]
      repeat: 1
      double_report: {targets: [{person: chen}], ladder: [sms]}
      steps:
        - targets: [{tier: 1}, {role: principal}]
          ladder: [sms, voice]
          ladder_wait: 2m
          deadline: 5m
          reminders: 1
          remind_every: 3m
        - targets: [{person: chen}]
          ladder: [voice]
          deadline: 10m
`), Options{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	set := cfg.Escalation
	if set.BaseURL != "https://yj.example.cn/" || set.LinkTTL != 12*time.Hour || len(set.Keywords) != 2 || len(set.Policies) != 1 {
		t.Fatalf("settings = %+v", set)
	}
	p := set.Policies[0]
	if p.Name != "red" || p.Levels[0] != yujing.Red || p.Families[0] != yujing.FamilyGas || p.Regions[0] != "320115" || p.Repeat != 1 {
		t.Errorf("policy = %+v", p)
	}
	want := escalate.Step{Targets: []escalate.Target{{Tier: 1}, {Role: "principal"}}, Ladder: []string{"sms", "voice"},
		LadderWait: 2 * time.Minute, Deadline: 5 * time.Minute, Reminders: 1, RemindEvery: 3 * time.Minute}
	got := p.Steps[0]
	if len(got.Targets) != 2 || got.Targets[0] != want.Targets[0] || got.Targets[1] != want.Targets[1] ||
		got.LadderWait != want.LadderWait || got.Deadline != want.Deadline || got.Reminders != 1 || got.RemindEvery != want.RemindEvery {
		t.Errorf("step 1 = %+v, want %+v", got, want)
	}
	if p.DoubleReport == nil || p.DoubleReport.Targets[0].Person != "chen" {
		t.Errorf("double report = %+v", p.DoubleReport)
	}
	if errs := p.Check(); len(errs) > 0 {
		t.Errorf("checked policy has problems: %v", errs)
	}
}

func TestEscalationErrors(t *testing.T) {
	_, err := Parse("e.yaml", []byte(escalationBase+`escalation:
  base_url: yj.example.cn
  secret: short
  policies:
    - name: red
      levels: [crimson]
      families: [lava]
      regions: ["32a"]
      steps:
        - targets: [{person: nobody}, {tier: 1, role: principal}, {roster: acme}]
          ladder: [pager]
          reminders: 2
          remind_every: 3m
        - targets: []
          ladder: [sms]
          deadline: 5m
          reminders: 1
    - name: red
      steps: []
`), Options{LookupEnv: noEnv})
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		`e.yaml:5:13: escalation.base_url "yj.example.cn": want an http:// or https:// address officials' phones can reach`,
		`e.yaml:6:11: escalation.secret is 5 characters: want at least 32 (or leave it out for a random key kept in the data directory)`,
		`e.yaml:9:16: escalation policy "red": level "crimson": unknown level "crimson" (want blue, yellow, orange or red)`,
		`e.yaml:10:18: escalation policy "red": unknown family "lava"`,
		`e.yaml:11:17: escalation policy "red": region "32a": want an administrative division code of 6, 9 or 12 digits (e.g. 320115)`,
		`e.yaml:13:11: escalation policy "red" steps[0]: deadline is required: how long to wait for an answer (e.g. 5m)`,
		`e.yaml:13:30: escalation policy "red" steps[0] targets[0]: person "nobody" is not defined under people`,
		`e.yaml:13:39: escalation policy "red" steps[0] targets[1]: name exactly one of person, roster (org/role), tier (of the site's chain) or role`,
		`e.yaml:13:76: escalation policy "red" steps[0] targets[2]: roster "acme": want org/role, e.g. acme/duty_officer`,
		`e.yaml:14:20: escalation policy "red" steps[0]: channel "pager" is not defined under channels`,
		`e.yaml:17:20: escalation policy "red" steps[1]: at least one target is required (person, roster, tier or role)`,
		`e.yaml:20:22: escalation policy "red" steps[1]: reminders need remind_every`,
		`e.yaml:21:13: escalation.policies[1]: policy "red" is defined twice (first at line 8)`,
		`e.yaml:22:14: escalation.policies[1]: at least one step is required`,
	}
	got := strings.Split(err.Error(), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

func TestEscalationNamesUndefinedRoster(t *testing.T) {
	_, err := Parse("e.yaml", []byte(escalationBase+`escalation:
  policies:
    - name: red
      steps:
        - {targets: [{roster: acme/duty_officer}], ladder: [sms], deadline: 5m}
`), Options{LookupEnv: noEnv})
	want := `e.yaml:8:31: escalation policy "red": roster "acme/duty_officer" is not defined under rosters: nobody holds that role`
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}
