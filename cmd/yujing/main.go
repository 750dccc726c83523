// Command yujing is the early-warning and alert dispatcher.
//
//	yujing serve [-config FILE] [-simulate=false] [-http ADDR] [-mqtt-listen ADDR] [-data DIR]
//	yujing check -config FILE
//	yujing help
//
// commands (main.go) lists every subcommand once, with its lines in
// 'yujing help'. main only parses the command line, builds a
// signal-aware context and runs the subcommand; each subcommand's file
// parses its flags and calls the package that does the work (replay,
// tail, simulate, web/auth/accounts, internal/sensorview, ingest/sheet,
// store/spool, audit).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	_ "time/tzdata" // Asia/Shanghai and friends without a system zone database (containers)

	"yujing/config"
	"yujing/configs"
	"yujing/ingest/decode/all"
	notifyall "yujing/notify/all"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// command is a subcommand: how it is named, its lines in 'yujing help'
// and how it runs. commands lists them all, in the order help shows them.
type command struct {
	names []string    // the name, then its aliases
	help  [][2]string // what follows "yujing " and a one-line description; none for help itself
	run   func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{[]string{"serve"}, [][2]string{{"serve [flags]", "run everything (embedded demo when no -config is given)"}},
			func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
				return serveCmd(ctx, args, stdout, stderr)
			}},
		{[]string{"check"}, [][2]string{{"check -config FILE", "validate a configuration; exit 1 and list every problem"}},
			func(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
				return checkCmd(args, stdout, stderr)
			}},
		{[]string{"audit"}, [][2]string{
			{"audit verify", "check the audit log's hash chain; exit 1 at the first problem"},
			{"audit export", "write the audit log as CSV or JSON ('yujing audit help')"}},
			func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
				return auditCmd(ctx, args, stdout, stderr)
			}},
		{[]string{"replay"}, [][2]string{{"replay FILE", "run recorded readings (CSV or line protocol) through the rules, offline"}},
			func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
				return replayCmd(ctx, args, stdout, stderr)
			}},
		{[]string{"tail"}, [][2]string{{"tail SENSOR|TOPIC", "watch live messages: readings and rule outcomes ('yujing tail -h')"}},
			func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
				return tailCmd(ctx, args, stdout, stderr)
			}},
		{[]string{"simulate"}, [][2]string{{"simulate SCENARIO", "publish a scenario's readings to a broker ('yujing simulate -h')"}},
			func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
				return simulateCmd(ctx, args, stdout, stderr)
			}},
		{[]string{"sensors"}, [][2]string{{"sensors import|ls", "register sensors from a CSV sheet; list, show them ('yujing sensors help')"}},
			func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
				return sensorsCmd(ctx, args, stdout, stderr)
			}},
		{[]string{"users"}, [][2]string{{"users ls|add|...", "manage the users of the console and API ('yujing users help')"}},
			usersCmd},
		{[]string{"tokens"}, [][2]string{{"tokens create NAME", "create an API token for an integration ('yujing tokens help')"}},
			func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
				return tokensCmd(ctx, args, stdout, stderr)
			}},
		{[]string{"deadletter"}, [][2]string{{"deadletter list", "readings InfluxDB refused, kept for replay; replay|drop them ('yujing deadletter help')"}},
			func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
				return deadletterCmd(ctx, args, stdout, stderr)
			}},
		{[]string{"version", "-version", "--version"}, [][2]string{{"version", "print the version"}},
			func(_ context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) int {
				fmt.Fprintln(stdout, "yujing", version())
				return 0
			}},
		{[]string{"help", "-h", "-help", "--help"}, nil,
			func(_ context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) int {
				fmt.Fprint(stdout, usage())
				return 0
			}},
	}
}

// usage is 'yujing help': every command with its one-line description.
func usage() string {
	var b strings.Builder
	b.WriteString("yujing — early-warning and alert dispatcher (预警)\n\nUsage:\n")
	for _, c := range commands() {
		for _, h := range c.help {
			fmt.Fprintf(&b, "  %-25s %s\n", "yujing "+h[0], h[1])
		}
	}
	b.WriteString("\nRun 'yujing serve -h' for the serve flags.\n")
	return b.String()
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return 2
	}
	for _, c := range commands() {
		if slices.Contains(c.names, args[0]) {
			return c.run(ctx, args[1:], os.Stdin, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "yujing: unknown command %q\n\n%s", args[0], usage())
	return 2
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		if v != "" {
			return v
		}
	}
	return "devel"
}

// loadConfig reads the file at path, or the embedded demo when path is "".
func loadConfig(path string) (*config.Config, error) {
	decoders, err := all.Registry()
	if err != nil {
		return nil, err
	}
	channels, err := notifyall.Types()
	if err != nil {
		return nil, err
	}
	opts := config.Options{Decoders: decoders.Names(), Channels: channels}
	if path == "" {
		return config.Parse(configs.DemoName, configs.Demo, opts)
	}
	return config.Load(path, opts)
}

func checkCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file to check (default: the embedded demo)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 && *path == "" {
		*path = fs.Arg(0)
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok: %s\n", cfg.Source, cfg.Summary())
	return 0
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	o := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("-log-format: want text or json, got %q", format)
}

// envBool reads a boolean environment variable; ok is false when unset.
func envBool(name string) (v bool, ok bool, err error) {
	s, set := os.LookupEnv(name)
	if !set || strings.TrimSpace(s) == "" {
		return false, false, nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return false, false, fmt.Errorf("%s: want 1/0 or true/false, got %q", name, s)
	}
	return b, true, nil
}

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, log, code := serveSetup(args, stderr)
	if cfg == nil {
		return code
	}
	if err := serve(ctx, cfg, serveOptions{Logger: log, Version: version()}); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("yujing stopped with an error", "err", err)
		return 1
	}
	return 0
}

// serveSetup parses the serve flags and the configuration. The simulator is
// on for the embedded demo unless turned off; precedence is flag, then
// YUJING_SIMULATE, then the file. A nil config means exit with code.
func serveSetup(args []string, stderr io.Writer) (*config.Config, *slog.Logger, int) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (default: the embedded demo, configs/demo.yaml)")
	simulate := fs.Bool("simulate", false, "publish simulated readings for the configured sensors (default: on for the demo; env YUJING_SIMULATE)")
	httpAddr := fs.String("http", "", "HTTP listen address, overrides http.listen")
	mqttListen := fs.String("mqtt-listen", "", "embedded MQTT broker listen address, overrides mqtt.embedded.listen")
	dataDir := fs.String("data", "", "data directory, overrides data_dir")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "text or json")
	if err := fs.Parse(args); err != nil {
		return nil, nil, 2
	}
	log, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		fmt.Fprintln(stderr, "yujing serve:", err)
		return nil, nil, 2
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		fmt.Fprintln(stderr, "yujing serve: configuration has errors; not starting")
		return nil, nil, 1
	}
	if *path == "" {
		cfg.Simulate = true
	}
	if v, ok, err := envBool("YUJING_SIMULATE"); err != nil {
		fmt.Fprintln(stderr, "yujing serve:", err)
		return nil, nil, 2
	} else if ok {
		cfg.Simulate = v
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "simulate":
			cfg.Simulate = *simulate
		case "http":
			cfg.HTTPListen = *httpAddr
		case "mqtt-listen":
			cfg.EmbeddedListen = *mqttListen
		case "data":
			cfg.DataDir = *dataDir
		}
	})
	return cfg, log, 0
}
