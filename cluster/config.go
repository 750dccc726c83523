package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Config.
const (
	DefaultTTL        = 10 * time.Second
	DefaultPartitions = 32
)

// Config is what a node's operator chooses. Partitions must be the same on
// every node of a cluster; TTL should be.
type Config struct {
	// TTL is how long a lease (and a node's heartbeat) lasts on the
	// database's clock without renewal. A node renews every TTL/3. A dead
	// node's partitions are taken within TTL plus one renewal period.
	// Default 10 s; at least 300 ms.
	TTL time.Duration
	// Margin is how much earlier than TTL after a renewal was sent the
	// node stops treating the lease as held (its own deadline: sent + TTL
	// − Margin). It must cover the longest action begun under a held lease
	// that is not itself fenced by the database (a send, a publish) and
	// any drift between the node's clock rate and the database's. Default
	// TTL/5; at least 1 ms and less than TTL − TTL/3.
	Margin time.Duration
	// Partitions is the number of partitions of the sites. Default 32.
	Partitions int
	// Hostname is the second half of the node id (the first is random);
	// default os.Hostname().
	Hostname string
	// ConfigHash identifies the node's configuration; it is recorded in
	// nodes so that nodes whose files differ can be named.
	ConfigHash string
}

// Options are what a node is handed by its program.
type Options struct {
	Callbacks Callbacks
	// Logger; nil discards.
	Logger *slog.Logger
	// Registerer for the node's metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

const minTTL = 300 * time.Millisecond

// withDefaults returns c with its defaults set, or the first problem.
func (c Config) withDefaults() (Config, error) {
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.Margin == 0 {
		c.Margin = c.TTL / 5
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	var errs []error
	if c.TTL < minTTL {
		errs = append(errs, fmt.Errorf("cluster: ttl %v: below %v", c.TTL, minTTL))
	}
	if c.Margin < time.Millisecond || c.Margin >= c.TTL-c.TTL/3 {
		errs = append(errs, fmt.Errorf("cluster: margin %v: want at least 1ms and less than ttl − ttl/3 (%v)", c.Margin, c.TTL-c.TTL/3))
	}
	if c.Partitions < 1 || c.Partitions > maxPartitions {
		errs = append(errs, fmt.Errorf("cluster: partitions %d: want 1 to %d", c.Partitions, maxPartitions))
	}
	return c, errors.Join(errs...)
}

// period is the renewal period: TTL/3.
func (c Config) period() time.Duration { return c.TTL / 3 }
