package config

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"yujing"
	"yujing/notify"
)

type pagerConfig struct {
	Name  string `yaml:"name"`
	URL   string `yaml:"url"`
	Level string `yaml:"level"`
}

type pager struct{ name string }

func (p *pager) Name() string                                { return p.name }
func (p *pager) Send(_ context.Context, _ yujing.Call) error { return nil }

// newPager checks like a channel constructor: every problem at once,
// each worded from its field.
func newPager(c pagerConfig) (*pager, error) {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("url is empty"))
	}
	if c.Level != "" && c.Level != "red" {
		errs = append(errs, errors.New("level "+c.Level+" is not red"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("pager %q: %w", c.Name, err)
	}
	return &pager{name: c.Name}, nil
}

// TestChannelTypesFromOptions: the channel blocks config knows are those of
// Options.Channels: a block decodes into its type's configuration, the
// type's constructor checks it, each problem at its field; a key that is no
// type is an unknown field, with a suggestion from the registry (and no
// "give exactly one" besides: it follows from the misspelt key).
func TestChannelTypesFromOptions(t *testing.T) {
	types := notify.NewTypes()
	if err := types.Register(notify.NewType("pager", func(name string, c pagerConfig, _ notify.Deps) (*pager, error) {
		c.Name = name
		return newPager(c)
	}, nil)); err != nil {
		t.Fatal(err)
	}
	const base = "sites: [{id: p}]\npeople: [{id: x, name: X}]\nnotify: [{people: [x], channels: [a]}]\nchannels:\n"
	cfg, err := Parse("c.yaml", []byte(base+"  - {name: a, pager: {url: \"https://p.example.cn\", level: red}}\n"),
		Options{LookupEnv: noEnv, Channels: types})
	if err != nil {
		t.Fatal(err)
	}
	if ch := cfg.Channels[0]; ch.Type != "pager" || ch.Config.(*pagerConfig).URL != "https://p.example.cn" {
		t.Errorf("channel %+v", ch)
	}
	_, err = Parse("c.yaml", []byte(base+"  - {name: a, pager: {level: blue}}\n  - {name: b, log: {}}\n"),
		Options{LookupEnv: noEnv, Channels: types})
	want := []string{
		`c.yaml:5:22: channel "a": pager: url is empty`,
		`c.yaml:5:30: channel "a": pager.level blue is not red`,
		`c.yaml:6:15: channels[1]: unknown field "log" (known fields: breaker, limit, name, pager)`,
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("errors:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}
