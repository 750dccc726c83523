package config

import (
	"time"

	"yujing/internal/yamlconf"
)

// DeliveryFile tunes the delivery of calls (the notify dispatcher).
type DeliveryFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	// GroupWait holds calls about warnings raised below red for this long,
	// so that a burst from one site goes to each person as one message
	// per channel; default 10s, 0 turns grouping off.
	GroupWait *time.Duration `yaml:"group_wait"`
}

// DefaultGroupWait is delivery.group_wait when it is not set;
// MaxGroupWait is the most it may be.
const (
	DefaultGroupWait = 10 * time.Second
	MaxGroupWait     = 5 * time.Minute
)

// delivery sets and checks the delivery settings.
func (c *checker) delivery(cfg *Config) {
	d := c.f.Delivery
	cfg.GroupWait = DefaultGroupWait
	if d.GroupWait != nil {
		cfg.GroupWait = *d.GroupWait
	}
	if cfg.GroupWait > MaxGroupWait {
		c.Add(d.Fields.At("group_wait", d.Pos), "delivery.group_wait %s: at most %s (calls wait this long before they go out; 0 turns grouping off)", cfg.GroupWait, MaxGroupWait)
	}
}
