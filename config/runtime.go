package config

import (
	"yujing/internal/yamlconf"
)

// RuntimeFile tunes the Go garbage collector (the GOGC and GOMEMLIMIT
// environment variables win over both, as Prometheus does with its runtime.gogc).
type RuntimeFile struct {
	Pos    yamlconf.Pos
	Fields yamlconf.Fields
	// GOGC is the heap growth, in percent, that starts a collection
	// (default 400; -1 turns the collector off, for use with a memory limit).
	GOGC *int `yaml:"gogc"`
	// MemoryLimitBytes is the soft limit on the memory the runtime uses
	// (default none): nearing it, the collector runs more often.
	MemoryLimitBytes int64 `yaml:"memory_limit_bytes"`
}

// DefaultGOGC is runtime.gogc when it is not set: four times Go's 100.
// yujing's live heap is small (about 20 MB) and most of what it allocates
// (paho's, about 1 KB a message) dies within a message, so it trades about
// 80 MB of heap for about 0.5 µs of CPU per reading at 70 000 readings/s
// (BENCHMARKS.md).
const DefaultGOGC = 400

// runtime sets and checks the Go runtime settings.
func (c *checker) runtime(cfg *Config) {
	r := c.f.Runtime
	cfg.GOGC = DefaultGOGC
	if r.GOGC != nil {
		cfg.GOGC = *r.GOGC
		if cfg.GOGC < -1 || cfg.GOGC == 0 {
			c.Add(r.Fields.At("gogc", r.Pos), "runtime.gogc %d: want a percentage above 0 (100 is Go's default), or -1 to turn the collector off under runtime.memory_limit_bytes", cfg.GOGC)
		}
	}
	cfg.MemoryLimit = r.MemoryLimitBytes
	if cfg.MemoryLimit != 0 && cfg.MemoryLimit < 64<<20 {
		c.Add(r.Fields.At("memory_limit_bytes", r.Pos), "runtime.memory_limit_bytes %d: want at least 67108864 (64 MiB), or leave it out for no limit", cfg.MemoryLimit)
	}
	if cfg.GOGC == -1 && cfg.MemoryLimit == 0 {
		c.Add(r.Fields.At("gogc", r.Pos), "runtime.gogc -1 turns the collector off: set runtime.memory_limit_bytes too, or memory grows without bound")
	}
}
