package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"yujing/simulate"
)

func simulateUsage() string {
	var b strings.Builder
	b.WriteString(`Usage: yujing simulate -broker tcp://HOST:PORT [-config FILE] [-sensors N] [-rate R/s] [-duration D] SCENARIO

Publishes a scenario's JSON readings to the sensors' topics (those of -config,
default the embedded demo; synthetic sensors on yujing/{site}/{id} are added
when the story needs them or -sensors exceeds the configuration's), with a
progress line on stderr, until -duration or Ctrl-C. The story (rise, hold,
fall) plays out over -duration (2m when none is given) and repeats.

Scenarios:
`)
	for _, s := range simulate.Scenarios() {
		fmt.Fprintf(&b, "  %-22s %s\n", s.Name, s.Description)
	}
	b.WriteString("\nFlags:\n")
	return b.String()
}

func simulateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, simulateUsage()); fs.PrintDefaults() }
	broker := fs.String("broker", "", "MQTT broker, tcp://HOST:PORT (required)")
	path := fs.String("config", "", "configuration whose sensors publish (default: the embedded demo)")
	nSensors := fs.Int("sensors", 0, "number of sensors publishing (default: the configuration's, plus any the scenario adds)")
	rateFlag := fs.String("rate", "", "messages per second over all sensors, e.g. 50 or 50/s (default: each sensor once a second)")
	duration := fs.Duration("duration", 0, "stop after this long (default: until Ctrl-C)")
	clientID := fs.String("client-id", "", "MQTT client id (default yujing-simulate-<pid>)")
	// Flags may follow the scenario: yujing simulate gas-leak -broker ….
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(pos) != 1 || *broker == "" {
		fs.Usage()
		return 2
	}
	if *nSensors < 0 || *duration < 0 {
		fmt.Fprintln(stderr, "yujing simulate: -sensors and -duration must not be negative")
		return 2
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	sc, err := simulate.NewScenario(pos[0], cfg.Sensors, *nSensors, *duration, 0)
	if err != nil {
		fmt.Fprintln(stderr, "yujing simulate:", err)
		return 2
	}
	rate := float64(len(sc.Sensors))
	if *rateFlag != "" {
		r, err := strconv.ParseFloat(strings.TrimSuffix(*rateFlag, "/s"), 64)
		if err != nil || !(r > 0) || r > 1e6 {
			fmt.Fprintf(stderr, "yujing simulate: -rate: want messages per second (e.g. 50/s), got %q\n", *rateFlag)
			return 2
		}
		rate = r
	}
	if *clientID == "" {
		*clientID = fmt.Sprintf("yujing-simulate-%d", os.Getpid())
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	if err := simulate.Publish(ctx, sc, simulate.PublishOptions{Broker: *broker, ClientID: *clientID, Rate: rate, Progress: stderr}); err != nil {
		fmt.Fprintln(stderr, "yujing simulate:", err)
		return 1
	}
	return 0
}
