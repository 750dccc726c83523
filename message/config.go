package message

import (
	"errors"
	"fmt"
	"time"
)

// Config is the messages section of a configuration.
type Config struct {
	Lang      string            `yaml:"lang"`      // zh-CN (default) or en
	TimeZone  string            `yaml:"time_zone"` // IANA zone, e.g. Asia/Shanghai; default UTC+8 (CST)
	Templates map[string]string `yaml:"templates"` // replacements of built-in templates, by name
}

// FromConfig builds a renderer from cfg, reporting every problem at once.
// A named TimeZone needs the zone database: the system's, or the one a
// binary embeds by importing time/tzdata.
func FromConfig(cfg Config) (*Renderer, error) {
	var errs []error
	if cfg.Lang != "" && !ValidLang(cfg.Lang) {
		errs = append(errs, fmt.Errorf("lang %q is not %s or %s", cfg.Lang, LangZH, LangEN))
	}
	var loc *time.Location
	if cfg.TimeZone != "" {
		l, err := time.LoadLocation(cfg.TimeZone)
		if err != nil {
			errs = append(errs, fmt.Errorf("time_zone %q: %w", cfg.TimeZone, err))
		}
		loc = l
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	return New(cfg.Lang, loc, cfg.Templates)
}
