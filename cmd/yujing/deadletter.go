package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"yujing"
	"yujing/config"
	"yujing/internal/table"
	"yujing/store/influx"
	"yujing/store/spool"
	"yujing/web"
)

const deadletterUsage = `Usage:
  yujing deadletter list [-config FILE] [-data DIR]
      the readings InfluxDB refused for good, kept in DIR/spool/deadletter:
      counts, first and last refusal and InfluxDB's answer, by reason;
      works while yujing serve runs
  yujing deadletter replay [-config FILE] [-data DIR] [-reason R]
      write them to the InfluxDB of FILE now, oldest first: those it takes
      are removed, those it refuses again are kept; exit 0 when none is
      left. yujing serve must be stopped (it offers them to InfluxDB itself,
      at start and every 5 minutes)
  yujing deadletter drop -yes [-config FILE] [-data DIR] [-reason R]
      remove them for good, all or those of one reason; yujing serve must
      be stopped

Fix the cause first: docs/INFLUXDB.md lists InfluxDB's limits
(max-values-per-tag, max-series-per-database) and how to raise them.
-data defaults to the configuration's data_dir.
`

// deadletterCmd runs yujing deadletter list|replay|drop.
func deadletterCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, deadletterUsage)
		return 2
	}
	switch args[0] {
	case "list", "ls":
		return deadletterListCmd(args[1:], stdout, stderr)
	case "replay":
		return deadletterReplayCmd(ctx, args[1:], stdout, stderr)
	case "drop":
		return deadletterDropCmd(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, deadletterUsage)
		return 0
	}
	fmt.Fprintf(stderr, "yujing deadletter: unknown command %q\n\n%s", args[0], deadletterUsage)
	return 2
}

// deadletterFlags are the flags every deadletter command takes.
type deadletterFlags struct {
	fs     *flag.FlagSet
	path   *string
	data   *string
	reason *string
}

func newDeadletterFlags(name string, stderr io.Writer, withReason bool) *deadletterFlags {
	f := &deadletterFlags{fs: flag.NewFlagSet("deadletter "+name, flag.ContinueOnError)}
	f.fs.SetOutput(stderr)
	f.path = f.fs.String("config", "", "configuration file (default: the embedded demo)")
	f.data = f.fs.String("data", "", "data directory (default: the configuration's data_dir)")
	if withReason {
		f.reason = f.fs.String("reason", "", "only the dead letters of this reason (as 'yujing deadletter list' shows it)")
	}
	return f
}

// load parses args and returns the configuration and the dead letters'
// directory; when cfg is nil the problem was reported and code is the exit
// code.
func (f *deadletterFlags) load(name string, args []string, stderr io.Writer) (cfg *config.Config, dir string, code int) {
	if err := f.fs.Parse(args); err != nil {
		return nil, "", 2
	}
	if f.fs.NArg() > 0 {
		fmt.Fprintf(stderr, "yujing deadletter %s: unexpected argument %q\n", name, f.fs.Arg(0))
		return nil, "", 2
	}
	c, err := loadConfig(*f.path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, "", 1
	}
	data := c.DataDir
	if *f.data != "" {
		data = *f.data
	}
	return c, spool.DeadLetterDir(filepath.Join(data, "spool")), 0
}

func deadletterListCmd(args []string, stdout, stderr io.Writer) int {
	f := newDeadletterFlags("list", stderr, false)
	cfg, dir, code := f.load("list", args, stderr)
	if cfg == nil {
		return code
	}
	sums, err := spool.SummarizeDeadLetters(dir)
	if err != nil {
		fmt.Fprintln(stderr, "yujing deadletter list:", err)
		return 1
	}
	if len(sums) == 0 {
		fmt.Fprintf(stdout, "no dead letters in %s: InfluxDB has refused no reading that is still kept\n", dir)
		return 0
	}
	total := 0
	for _, s := range sums {
		total += s.Readings
	}
	loc := cfg.Location
	fmt.Fprintf(stdout, "%d readings InfluxDB refused for good are kept in %s:\n\n", total, dir)
	t := table.New(stdout, "REASON", "READINGS", "BATCHES", "FIRST REFUSED", "LAST REFUSED", "REPLAYS REFUSED")
	for _, s := range sums {
		t.Row(s.Reason, strconv.Itoa(s.Readings), strconv.Itoa(s.Batches),
			s.First.In(loc).Format(time.RFC3339), s.Last.In(loc).Format(time.RFC3339), strconv.Itoa(s.Attempts))
	}
	t.Flush()
	for _, s := range sums {
		fmt.Fprintf(stdout, "\n%s: sensors %s\n  InfluxDB said: %s\n", s.Reason, strings.Join(s.Sensors, ", "), s.Answer)
	}
	fmt.Fprintf(stdout, "\nFix the cause (docs/INFLUXDB.md: InfluxDB's limits and how to raise them). A running yujing serve offers\n"+
		"them to InfluxDB again every %s; with it stopped, 'yujing deadletter replay' writes them at once.\n", spool.DefaultDeadLetterRetry)
	return 0
}

// lockDeadLetters opens the dead letters in dir for a change, saying what
// to do when a yujing serve holds them.
func lockDeadLetters(name, dir string, stderr io.Writer) (*spool.DeadLetters, bool) {
	d, err := spool.OpenDeadLetters(dir, spool.Options{})
	if errors.Is(err, spool.ErrLocked) {
		fmt.Fprintf(stderr, "yujing deadletter %s: %v\n"+
			"A running yujing serve holds them: it offers them to InfluxDB itself, at start and every %s. Stop it to %s them now.\n",
			name, err, spool.DefaultDeadLetterRetry, name)
		return nil, false
	}
	if err != nil {
		fmt.Fprintf(stderr, "yujing deadletter %s: %v\n", name, err)
		return nil, false
	}
	return d, true
}

func deadletterReplayCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newDeadletterFlags("replay", stderr, true)
	cfg, dir, code := f.load("replay", args, stderr)
	if cfg == nil {
		return code
	}
	if cfg.Influx == nil {
		fmt.Fprintf(stderr, "yujing deadletter replay: %s has no influx section: give the configuration yujing serve runs with (-config)\n", cfg.Source)
		return 2
	}
	w, err := influx.New(*cfg.Influx)
	if err != nil {
		fmt.Fprintln(stderr, "yujing deadletter replay:", err)
		return 1
	}
	defer w.Close()
	d, ok := lockDeadLetters("replay", dir, stderr)
	if !ok {
		return 1
	}
	defer d.Close()
	before := d.Status()
	if before.Readings == 0 {
		fmt.Fprintf(stdout, "no dead letters in %s\n", dir)
		return 0
	}
	if l, err := w.Limits(ctx); err == nil {
		fmt.Fprintf(stdout, "InfluxDB %s: max-values-per-tag %d, max-series-per-database %d (0: no limit)\n",
			cfg.Influx.URL, l.MaxValuesPerTag, l.MaxSeriesPerDatabase)
	}
	fmt.Fprintf(stdout, "replaying %d readings to %s bucket %s …\n", before.Readings, cfg.Influx.URL, cfg.Influx.Bucket)
	res, err := d.Replay(ctx, w, spool.ReplayOptions{Retryable: influx.Retryable, Refused: storeRefusals, Reason: *f.reason})
	after := d.Status()
	fmt.Fprintf(stdout, "InfluxDB took %d readings; %d refused again and kept; %d not tried; %d dead-letter readings left\n",
		res.Written, res.Kept, res.Left, after.Readings)
	if err != nil {
		fmt.Fprintln(stderr, "yujing deadletter replay:", err)
		return 1
	}
	if after.Readings > 0 {
		fmt.Fprintf(stderr, "yujing deadletter replay: InfluxDB still refuses %d readings (%s): see 'yujing deadletter list' and docs/INFLUXDB.md\n",
			after.Readings, reasonList(after.Reasons))
		return 1
	}
	return 0
}

func deadletterDropCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newDeadletterFlags("drop", stderr, true)
	yes := f.fs.Bool("yes", false, "drop them: the readings are gone for good")
	cfg, dir, code := f.load("drop", args, stderr)
	if cfg == nil {
		return code
	}
	if !*yes {
		fmt.Fprintln(stderr, "yujing deadletter drop: the readings would be gone for good; add -yes to drop them")
		return 2
	}
	d, ok := lockDeadLetters("drop", dir, stderr)
	if !ok {
		return 1
	}
	defer d.Close()
	n, err := d.Drop(ctx, *f.reason)
	fmt.Fprintf(stdout, "dropped %d readings; %d dead-letter readings left\n", n, d.Status().Readings)
	if err != nil {
		fmt.Fprintln(stderr, "yujing deadletter drop:", err)
		return 1
	}
	return 0
}

func reasonList(m map[string]int64) string {
	var out []string
	for r, n := range m {
		out = append(out, fmt.Sprintf("%s: %d", r, n))
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// storeRefusals tells the spool which readings InfluxDB refused for good,
// and why (BufferedOptions.Refused).
func storeRefusals(err error, rs []yujing.Reading) []spool.Refusal {
	var out []spool.Refusal
	for _, r := range influx.Refusals(err, rs) {
		out = append(out, spool.Refusal{Reason: r.Reason, Err: r.Err.Error(), Readings: r.Readings})
	}
	return out
}

// deadLetterSystem shows the dead letters on the console (web.System):
// a warning while any are held.
type deadLetterSystem struct{ b *spool.Buffered }

func (d deadLetterSystem) SystemStatus() web.SystemStatus {
	st := d.b.DeadLetters().Status()
	if st.Readings == 0 && !st.Full {
		return web.SystemStatus{}
	}
	return web.SystemStatus{Warnings: []web.SystemWarning{{Kind: web.SystemStoreRefused, Readings: st.Readings,
		Since: st.Since, Reasons: st.Reasons, Full: st.Full, How: d.b.How()}}}
}

// checkStoreLimits says at start whether InfluxDB's limits fit the
// sensors: a warning for each that does not, naming the setting to raise.
// When InfluxDB does not report them it compares with InfluxDB 1.8's
// defaults.
func checkStoreLimits(ctx context.Context, w *influx.Writer, sensors []yujing.Sensor, log *slog.Logger) {
	d := influx.DemandOf(sensors)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	l, err := w.Limits(ctx)
	reported := err == nil
	if !reported {
		l = influx.Defaults18
	}
	problems := l.Exceeded(d)
	switch {
	case len(problems) > 0 && reported:
		for _, p := range problems {
			log.Warn("InfluxDB's limits are lower than the configured sensors need; the readings past them will be refused and kept as dead letters",
				"problem", p, "fix", "raise it in [data] of influxdb.conf (0: no limit) and restart InfluxDB; docs/INFLUXDB.md")
		}
	case len(problems) > 0:
		for _, p := range problems {
			log.Warn("InfluxDB did not report its limits, and InfluxDB 1.8's defaults are lower than the configured sensors need",
				"problem", p, "why_unreported", err, "fix", "on InfluxDB 1.8 set [data] max-values-per-tag and max-series-per-database (0: no limit); docs/INFLUXDB.md")
		}
	case reported:
		log.Info("InfluxDB's limits fit the configured sensors", "max_values_per_tag", l.MaxValuesPerTag,
			"max_series_per_database", l.MaxSeriesPerDatabase, "most_tag_values", d.TagValues, "tag", d.Measurement+"."+d.Tag, "series_at_least", d.Series)
	default:
		log.Debug("InfluxDB did not report its limits", "err", err)
	}
}
