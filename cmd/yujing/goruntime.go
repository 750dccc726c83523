package main

import (
	"log/slog"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"strconv"

	"yujing/config"
)

// goRuntime applies runtime.gogc and runtime.memory_limit_bytes to the Go
// runtime, at start and on each reload, unless the GOGC or GOMEMLIMIT
// environment variable is set: those win, as they do over Prometheus's
// runtime.gogc. restore puts back what the process had before serve (tests
// run serve in-process, one after another).
type goRuntime struct {
	log             *slog.Logger
	envGC, envLimit bool

	applied           bool
	prevGC, curGC     int
	prevLimit, curLim int64
}

func newGoRuntime(log *slog.Logger, lookupEnv func(string) (string, bool)) *goRuntime {
	_, gc := lookupEnv("GOGC")
	_, limit := lookupEnv("GOMEMLIMIT")
	return &goRuntime{log: log, envGC: gc, envLimit: limit}
}

// apply sets cfg's collector settings, logging them when they change.
func (g *goRuntime) apply(cfg *config.Config) {
	gc, limit := cfg.GOGC, cfg.MemoryLimit
	gcFrom, limitFrom := "config", "config"
	if limit == 0 {
		limit = math.MaxInt64 // the runtime's "no limit"
	}
	if g.envGC || g.envLimit {
		// What the runtime took from the environment at start.
		now := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
		metrics.Read(now)
		if g.envGC {
			gc, gcFrom = int(now[0].Value.Uint64()), "GOGC"
		}
		if g.envLimit {
			limit, limitFrom = int64(now[1].Value.Uint64()), "GOMEMLIMIT"
		}
	}
	if g.applied && gc == g.curGC && limit == g.curLim {
		return
	}
	prevGC := debug.SetGCPercent(gc)
	prevLimit := debug.SetMemoryLimit(limit)
	if !g.applied {
		g.prevGC, g.prevLimit, g.applied = prevGC, prevLimit, true
	}
	g.curGC, g.curLim = gc, limit
	memLimit := "none"
	if limit != math.MaxInt64 {
		memLimit = strconv.FormatInt(limit>>20, 10) + " MiB"
	}
	g.log.Info("go runtime", "gogc", gc, "gogc_from", gcFrom, "memory_limit", memLimit, "memory_limit_from", limitFrom)
}

// restore puts back the settings the process had before the first apply.
func (g *goRuntime) restore() {
	if !g.applied {
		return
	}
	debug.SetGCPercent(g.prevGC)
	debug.SetMemoryLimit(g.prevLimit)
	g.applied = false
}
