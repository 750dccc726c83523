package main

import (
	"bytes"
	"log/slog"
	"math"
	"runtime/debug"
	"strings"
	"testing"

	"yujing/config"
)

// gcNow returns the collector's settings without changing them.
func gcNow() (int, int64) {
	gc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gc)
	return gc, debug.SetMemoryLimit(-1)
}

func TestGoRuntime(t *testing.T) {
	gc0, limit0 := gcNow()
	t.Cleanup(func() { debug.SetGCPercent(gc0); debug.SetMemoryLimit(limit0) })
	noEnv := func(string) (string, bool) { return "", false }
	for _, c := range []struct {
		name      string
		env       map[string]string
		cfg, next config.Config // next: a reload
		want      [2]int64      // after cfg
		wantNext  [2]int64
		logs      string
	}{
		{"configured, then reloaded", nil,
			config.Config{GOGC: 400}, config.Config{GOGC: 150, MemoryLimit: 256 << 20},
			[2]int64{400, math.MaxInt64}, [2]int64{150, 256 << 20},
			`gogc=400 gogc_from=config memory_limit=none memory_limit_from=config|gogc=150 gogc_from=config memory_limit="256 MiB"`},
		{"the environment wins", map[string]string{"GOGC": "70", "GOMEMLIMIT": "1GiB"},
			config.Config{GOGC: 400}, config.Config{GOGC: 150, MemoryLimit: 256 << 20},
			[2]int64{70, 1 << 30}, [2]int64{70, 1 << 30},
			`gogc=70 gogc_from=GOGC memory_limit="1024 MiB" memory_limit_from=GOMEMLIMIT`},
	} {
		t.Run(c.name, func(t *testing.T) {
			debug.SetGCPercent(gc0)
			debug.SetMemoryLimit(limit0)
			lookup := noEnv
			if c.env != nil {
				// What the runtime read from GOGC and GOMEMLIMIT at start.
				debug.SetGCPercent(70)
				debug.SetMemoryLimit(1 << 30)
				lookup = func(k string) (string, bool) { v, ok := c.env[k]; return v, ok }
			}
			before, beforeLimit := gcNow()
			var logs bytes.Buffer
			g := newGoRuntime(slog.New(slog.NewTextHandler(&logs, nil)), lookup)
			g.apply(&c.cfg)
			if gc, limit := gcNow(); [2]int64{int64(gc), limit} != c.want {
				t.Errorf("after start: GOGC %d, limit %d; want %v", gc, limit, c.want)
			}
			g.apply(&c.next)
			if gc, limit := gcNow(); [2]int64{int64(gc), limit} != c.wantNext {
				t.Errorf("after reload: GOGC %d, limit %d; want %v", gc, limit, c.wantNext)
			}
			for _, want := range strings.Split(c.logs, "|") {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("logs lack %q:\n%s", want, logs.String())
				}
			}
			if n := strings.Count(logs.String(), "go runtime"); c.env != nil && n != 1 {
				t.Errorf("logged %d times, want once (a reload that changes nothing stays quiet):\n%s", n, logs.String())
			}
			g.restore()
			if gc, limit := gcNow(); gc != before || limit != beforeLimit {
				t.Errorf("after restore: GOGC %d, limit %d; want %d, %d", gc, limit, before, beforeLimit)
			}
		})
	}
}
