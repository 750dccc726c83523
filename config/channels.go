package config

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"yujing/internal/yamlconf"
	"yujing/message"
	"yujing/notify"
)

// ChannelFile is one delivery channel: its name, settings every channel
// has, and exactly one type block (dingtalk: {...}), whose key is a channel
// type of Options.Channels and whose fields are that type's configuration.
type ChannelFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	Name   string `yaml:"name"`
	// Limit caps the channel's send rate, replacing the provider's quota
	// the channel declares (DingTalk, WeCom, Feishu).
	Limit *LimitFile `yaml:"limit"`
	// Breaker tunes the channel's circuit breaker.
	Breaker *BreakerFile `yaml:"breaker"`
	// Blocks are the other keys: the type blocks, decoded when checked.
	Blocks yamlconf.Extra
}

// LimitFile is a channel's rate limit: per_minute sends a minute, bursts
// of at most burst (default 1).
type LimitFile struct {
	Pos          yamlconf.Pos
	Fields       yamlconf.Fields
	notify.Limit `yaml:",inline"`
}

// BreakerFile is a channel's circuit breaker: it opens after failures
// retryable failures in a row (default 5; -1: no breaker) and lets a probe
// through after cooldown (default 30s).
type BreakerFile struct {
	Pos            yamlconf.Pos
	Fields         yamlconf.Fields
	notify.Breaker `yaml:",inline"`
}

// Channel is a configured delivery channel, checked by its type's
// constructor: Options.Channels' type Type builds it from Config.
type Channel struct {
	Name string
	// Type is the key of its block: webhook, log, dingtalk, … (notify/all).
	Type string
	// Config is the block as the type's NewConfig made it, decoded (e.g.
	// *dingtalk.Config); the type's New sets the name and the defaults.
	Config any
	// Limit and Breaker are the channel's own settings; nil: the
	// channel's default limit (if any) and the default breaker.
	Limit   *notify.Limit
	Breaker *notify.Breaker
}

// channels checks the channels, each block with its type's constructor,
// given renderer (nil when the messages section is wrong: the built-in
// texts).
func (c *checker) channels(cfg *Config, renderer *message.Renderer) map[string]bool {
	names := map[string]bool{}
	types := c.opts.Channels.Names()
	deps := notify.Deps{Renderer: renderer, Logger: slog.New(slog.DiscardHandler)}
	for _, ch := range c.f.Channels {
		c.id(ch.Fields.At("name", ch.Pos), "channel name", ch.Name)
		if names[ch.Name] {
			c.Add(ch.Fields.At("name", ch.Pos), "channel %q is defined twice", ch.Name)
		}
		names[ch.Name] = true
		out := Channel{Name: ch.Name}
		n := 0
		for _, b := range ch.Blocks {
			typ, ok := c.opts.Channels.Lookup(b.Key)
			if !ok {
				c.dec.Unknown(b, types...)
				continue
			}
			n++
			blockCfg := typ.NewConfig()
			fields := c.dec.DecodeExtra(b, blockCfg)
			if n == 1 {
				out.Type, out.Config = typ.Name(), blockCfg
			}
			c.channelErrors(ch.Name, typ.Name(), b.Pos, fields, typ.Validate(ch.Name, blockCfg, deps))
		}
		if n != 1 {
			c.Add(ch.Pos, "channel %q: give exactly one of %s", ch.Name, strings.Join(types, ", "))
		}
		out.Limit, out.Breaker = c.limit(ch), c.breaker(ch)
		cfg.Channels = append(cfg.Channels, out)
	}
	return names
}

// channelErrors reports the problems a channel type's constructor found in
// its block.
func (c *checker) channelErrors(name, typ string, block yamlconf.Pos, fields yamlconf.Fields, err error) {
	if err == nil {
		return
	}
	// The constructor wraps what it found ("dingtalk %q: %w"), a list when
	// there are several (errors.Join).
	if u := errors.Unwrap(err); u != nil {
		err = u
	}
	c.fieldErrors(fmt.Sprintf("channel %q: %s", name, typ), block, fields, flatErrors(err))
}

// fieldErrors reports each of errs, a constructor's or a Validate's
// findings worded from the field they concern ("url is empty", "to[1] \"x\"
// is not an address"), at that field as what.message, or else at block as
// what: message.
func (c *checker) fieldErrors(what string, block yamlconf.Pos, fields yamlconf.Fields, errs []error) {
	for _, e := range errs {
		msg := e.Error()
		if key := fieldOf(msg, fields); key != "" {
			c.Add(fields[key], "%s.%s", what, msg)
		} else {
			c.Add(block, "%s: %s", what, msg)
		}
	}
}

// fieldOf returns the longest key of fields that msg begins with as a word
// ("to[1]" before "to"), or "".
func fieldOf(msg string, fields yamlconf.Fields) string {
	best := ""
	for k := range fields {
		if len(k) > len(best) && strings.HasPrefix(msg, k) && (len(msg) == len(k) || !isKeyChar(msg[len(k)])) {
			best = k
		}
	}
	return best
}

func isKeyChar(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// limit checks a channel's rate limit.
func (c *checker) limit(ch ChannelFile) *notify.Limit {
	l := ch.Limit
	if l == nil {
		return nil
	}
	if l.PerMinute <= 0 { // the decoder refuses NaN and infinities
		c.Add(l.Fields.At("per_minute", l.Pos), "channel %q: limit.per_minute must be a number above 0 (leave out limit for the channel's default)", ch.Name)
	}
	if l.Burst < 0 {
		c.Add(l.Fields.At("burst", l.Pos), "channel %q: limit.burst %d is negative", ch.Name, l.Burst)
	}
	out := l.Limit
	return &out
}

// breaker checks a channel's circuit breaker.
func (c *checker) breaker(ch ChannelFile) *notify.Breaker {
	b := ch.Breaker
	if b == nil {
		return nil
	}
	if _, set := b.Fields["failures"]; set && (b.Failures == 0 || b.Failures < -1) {
		c.Add(b.Fields.At("failures", b.Pos), "channel %q: breaker.failures %d: want a count of 1 or more, or -1 for no breaker", ch.Name, b.Failures)
	}
	if _, set := b.Fields["cooldown"]; set && b.Cooldown == 0 {
		c.Add(b.Fields.At("cooldown", b.Pos), "channel %q: breaker.cooldown must be above 0 (leave it out for 30s)", ch.Name)
	}
	out := b.Breaker
	return &out
}
