package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"

	"yujing/replay"
)

const replayUsage = `Usage: yujing replay [-config FILE] [-speed N|max] [-data DIR] FILE.csv|FILE.lp

Feeds recorded readings through the configuration's rules, offline (no
broker, no HTTP, no calls), on a clock that follows the readings' times, and
prints every warning event that would have been raised, then a summary per
rule and level.

  FILE.csv   header row, then time,sensor,metric,value (time RFC 3339 or
             epoch milliseconds; metric empty for the sensor's default)
  FILE.lp    InfluxDB line protocol: the sensor tag names the sensor, each
             field is a metric, timestamps in nanoseconds

Bad lines are reported as file:line: message on stderr and skipped.

Scheduled rules (schedule:, e.g. the rainstorm preset's sums over 3 h, 6 h
and 12 h) are evaluated too: the readings go into an embedded reading store
as they are replayed, and each rule runs at every tick of its schedule
inside the recording, from the moment its longest window lies inside it
(earlier ticks would judge windows the recording cannot fill).

Flags:
`

func replayCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, replayUsage); fs.PrintDefaults() }
	path := fs.String("config", "", "configuration file (default: the embedded demo)")
	speed := fs.String("speed", "max", "max (as fast as possible) or N: N× real time")
	dataDir := fs.String("data", "", "keep the state database (replay-state.db) and, with scheduled rules, the reading store (replay-readings.db) in DIR instead of a temporary directory")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	factor := 0.0 // 0: max
	if *speed != "max" {
		f, err := strconv.ParseFloat(*speed, 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			fmt.Fprintf(stderr, "yujing replay: -speed: want max or a positive number, got %q\n", *speed)
			return 2
		}
		factor = f
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := replay.Run(ctx, cfg, fs.Arg(0), replay.Options{Speed: factor, DataDir: *dataDir, Out: stdout, Notes: stderr}); err != nil {
		if errors.Is(err, context.Canceled) {
			return 130
		}
		fmt.Fprintln(stderr, "yujing replay:", err)
		return 1
	}
	return 0
}
