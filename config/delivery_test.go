package config

import (
	"strings"
	"testing"
	"time"

	"yujing/notify"
)

const deliveryBase = `sites: [{id: plant}]
people: [{id: p, name: P}]
notify: [{people: [p], channels: [hook]}]
`

func TestDeliverySettings(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		wait       time.Duration
		limit      *notify.Limit
		breaker    *notify.Breaker
	}{
		{name: "defaults", yaml: `channels: [{name: hook, log: {}}]`, wait: DefaultGroupWait},
		{name: "grouping off", yaml: "delivery: {group_wait: 0s}\nchannels: [{name: hook, log: {}}]"},
		{name: "own limit and breaker", yaml: `delivery:
  group_wait: 30s
channels:
  - name: hook
    webhook: {url: "https://ops.example.com/hook"}
    limit: {per_minute: 30, burst: 3}
    breaker: {failures: 3, cooldown: 1m}
`, wait: 30 * time.Second, limit: &notify.Limit{PerMinute: 30, Burst: 3}, breaker: &notify.Breaker{Failures: 3, Cooldown: time.Minute}},
		{name: "half given", yaml: `channels:
  - name: hook
    log: {}
    limit: {per_minute: 0.5}
    breaker: {failures: -1}
`, wait: DefaultGroupWait, limit: &notify.Limit{PerMinute: 0.5}, breaker: &notify.Breaker{Failures: -1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("d.yaml", []byte(deliveryBase+c.yaml), Options{LookupEnv: noEnv})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.GroupWait != c.wait {
				t.Errorf("GroupWait = %s, want %s", cfg.GroupWait, c.wait)
			}
			ch := cfg.Channels[0]
			if (ch.Limit == nil) != (c.limit == nil) || ch.Limit != nil && *ch.Limit != *c.limit {
				t.Errorf("Limit = %+v, want %+v", ch.Limit, c.limit)
			}
			if (ch.Breaker == nil) != (c.breaker == nil) || ch.Breaker != nil && *ch.Breaker != *c.breaker {
				t.Errorf("Breaker = %+v, want %+v", ch.Breaker, c.breaker)
			}
		})
	}
}

func TestDeliveryErrors(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		want       []string
	}{
		{"checks", `delivery:
  group_wait: 10m
channels:
  - name: hook
    log: {}
    limit: {per_minute: 0, burst: -2}
    breaker: {failures: 0, cooldown: 0s}
  - name: sms
    log: {}
    limit: {burst: 2}
    breaker: {failures: -5}
`, []string{
			`d.yaml:5:15: delivery.group_wait 10m0s: at most 5m0s (calls wait this long before they go out; 0 turns grouping off)`,
			`d.yaml:9:25: channel "hook": limit.per_minute must be a number above 0 (leave out limit for the channel's default)`,
			`d.yaml:9:35: channel "hook": limit.burst -2 is negative`,
			`d.yaml:10:25: channel "hook": breaker.failures 0: want a count of 1 or more, or -1 for no breaker`,
			`d.yaml:10:38: channel "hook": breaker.cooldown must be above 0 (leave it out for 30s)`,
			`d.yaml:13:12: channel "sms": limit.per_minute must be a number above 0 (leave out limit for the channel's default)`,
			`d.yaml:14:25: channel "sms": breaker.failures -5: want a count of 1 or more, or -1 for no breaker`,
		}},
		{"decoding", `delivery:
  grop_wait: 5s
channels:
  - name: hook
    log: {}
    limit: {per_minute: .inf, per_second: 5}
    breaker: {cooldown: -1s}
`, []string{
			`d.yaml:5:3: delivery: unknown field "grop_wait" (did you mean "group_wait"?)`,
			`d.yaml:9:25: channels[0].limit.per_minute: want a finite number, got ".inf"`,
			`d.yaml:9:31: channels[0].limit: unknown field "per_second" (known fields: burst, per_minute)`,
			`d.yaml:10:25: channels[0].breaker.cooldown: duration must not be negative, got "-1s"`,
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("d.yaml", []byte(deliveryBase+c.yaml), Options{LookupEnv: noEnv})
			if err == nil {
				t.Fatal("no error")
			}
			if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", err, strings.Join(c.want, "\n"))
			}
		})
	}
}
