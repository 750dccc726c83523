package config

import (
	"time"

	"yujing/internal/yamlconf"
	"yujing/store/influx"
)

// InfluxFile configures InfluxDB as the reading store.
type InfluxFile struct {
	Pos       yamlconf.Pos
	Fields    yamlconf.Fields
	URL       string        `yaml:"url"`
	Token     string        `yaml:"token"`
	Org       string        `yaml:"org"`
	Bucket    string        `yaml:"bucket"`
	BatchSize int           `yaml:"batch_size"`
	Timeout   time.Duration `yaml:"timeout"`
	// Gzip compresses write requests (default: true, except to localhost
	// or a loopback address); false saves CPU on both sides when InfluxDB
	// is on the same LAN.
	Gzip *bool `yaml:"gzip"`
}

// StoreFile configures the embedded reading store, and the spool in front
// of InfluxDB.
type StoreFile struct {
	Pos       yamlconf.Pos
	Fields    yamlconf.Fields
	Retention time.Duration `yaml:"retention"`
	// SpoolMaxBytes bounds the spool (<data_dir>/spool) that holds readings
	// while InfluxDB is down.
	SpoolMaxBytes int64 `yaml:"spool_max_bytes"`
	// DeadLetterMaxBytes bounds the dead letters (<data_dir>/spool/deadletter)
	// that keep readings InfluxDB refused for good until it takes them.
	DeadLetterMaxBytes int64 `yaml:"dead_letter_max_bytes"`
}

func (c *checker) influx(cfg *Config) {
	in := c.f.Influx
	if in == nil {
		return
	}
	cfg.Influx = &influx.Config{URL: in.URL, Token: in.Token, Org: in.Org, Bucket: in.Bucket, BatchSize: in.BatchSize, Timeout: in.Timeout, Gzip: in.Gzip}
	// What influx.New checks, at the fields it concerns.
	c.fieldErrors("influx", in.Pos, in.Fields, flatErrors(cfg.Influx.Validate()))
}
