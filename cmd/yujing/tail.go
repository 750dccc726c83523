package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"yujing/tail"
)

const tailUsage = `Usage: yujing tail [-config FILE] [-broker tcp://HOST:PORT] [-n COUNT] [-url URL] SENSOR|TOPIC-FILTER

Watches a sensor's topics (or any topic filter) on the broker and prints, for
each message, one line per reading: receive time, topic, sensor, metric,
value and unit, and what the configuration's rules make of it:

  → ok                        accepted, no warning level reached
  → gas-lel: yellow (≥ 25)    a rule's level is reached (evaluated offline)
  → rejected: REASON: …       refused as yujing serve refuses it, by the
                              same checks (unknown topic, bad payload, bad
                              metric name, too many metrics, out of range, …)
  → ignored: node_metric: …   a Sparkplug edge node's own metric, which no
                              sensor takes: set aside, as serve does
  → device online|offline     a device announced itself or went away

A sensor's topics are its own and those the configuration's topic templates
(mqtt.topics, e.g. plant/{site}/gas/{sensor}) map to it. A sensor that is not
in the configuration file (registered through the API: yujing sensors import,
the console) is looked up at the running yujing (-url, -token).

tail is a separate MQTT client (clean session, its own client id, QoS 0): it
never takes messages from yujing's own session, raises nothing and calls
no one. It stops after -n messages or on Ctrl-C.

Flags:
`

func tailCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, tailUsage); fs.PrintDefaults() }
	path := fs.String("config", "", "configuration file (default: the embedded demo)")
	broker := fs.String("broker", "", "MQTT broker URL (default: the configuration's)")
	count := fs.Int("n", 0, "stop after this many messages (0: until Ctrl-C)")
	api := addAPIFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || *count < 0 {
		fs.Usage()
		return 2
	}
	c, err := api.client()
	if err != nil {
		fmt.Fprintln(stderr, "yujing tail:", err)
		return 2
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *broker != "" {
		cfg.MQTT.Broker = *broker
		if !strings.Contains(cfg.MQTT.Broker, "://") {
			cfg.MQTT.Broker = "tcp://" + cfg.MQTT.Broker
		}
	}
	if err := tail.Run(ctx, cfg, tail.Options{Target: fs.Arg(0), Count: *count, API: c, Out: stdout, Notes: stderr}); err != nil {
		fmt.Fprintln(stderr, "yujing tail:", err)
		return 1
	}
	return 0
}
