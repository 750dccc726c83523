package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"yujing/config"
	"yujing/ingest"
	"yujing/ingest/decode/all"
	"yujing/ingest/sheet"
	"yujing/internal/apiclient"
	"yujing/internal/table"
)

const sensorsUsage = `Usage:
  yujing sensors import [-dry-run] [-config FILE] [-url URL] [-token T] FILE.csv
  yujing sensors ls [-url URL] [-token T] [-site S] [-family F] [-json]
  yujing sensors show [-url URL] [-token T] ID

import registers and changes sensors from the spreadsheet integrators keep,
saved as CSV: UTF-8 with or without BOM, GB18030/GBK (Chinese Excel's
"CSV (逗号分隔)") or UTF-16 ("Unicode text"); separated by commas,
semicolons or tabs. The header row names the columns, in English or Chinese:

  id 编号 (required)   name 名称          family 类型        site 站点/企业
  region 区划代码      industry 行业      metric 指标        unit 单位
  location 位置        lat 纬度           lon 经度           interval 上报间隔
  min 量程下限         max 量程上限       decoder 解码器     topic 主题
  tags 标签 (k=v; k=v) tag:NAME (one tag per column)

family is gas, hazard, dust, weather, flood, power or electrical (or 燃气,
危化, 粉尘, 气象, 防汛, 电力, 电气火灾); site is a site's id or name;
interval is 10s, 5m, 30秒, 5分钟 or a number of seconds. An empty cell
keeps the sensor's current value (the default for a new sensor).

The sheet is sent to the running yujing (POST /api/v1/sensors/import),
which checks every row as it checks any sensor — and the rows together: no
topic twice, none another sensor has — and imports all of them or, when
there is any problem, none. Every problem is listed as FILE:LINE: column
"x": what is wrong.

-dry-run prints, per row, create / update (with the fields that change) /
unchanged / invalid and changes nothing; it exits 1 when a row is invalid,
as the import would. When no yujing answers at -url, -dry-run with -config
runs the same checks against that configuration's sites, decoders and
sensors instead.

ls lists the sensors with their last value, when they were last heard from
and their status (online, offline, or fault while a fault or stuck rule has
an open warning on them); show prints everything about one sensor.

-url defaults to $YUJING_URL, else http://127.0.0.1:8080; -token to
$YUJING_TOKEN (sent as Authorization: Bearer; import needs an admin's).
`

func sensorsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, sensorsUsage)
		return 2
	}
	switch args[0] {
	case "import":
		return sensorsImportCmd(ctx, args[1:], stdout, stderr)
	case "ls", "list":
		return sensorsListCmd(ctx, args[1:], stdout, stderr)
	case "show":
		return sensorsShowCmd(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, sensorsUsage)
		return 0
	}
	fmt.Fprintf(stderr, "yujing sensors: unknown subcommand %q\n\n%s", args[0], sensorsUsage)
	return 2
}

// apiFlags are the flags that reach a running yujing.
type apiFlags struct{ url, token *string }

func addAPIFlags(fs *flag.FlagSet) apiFlags {
	def := os.Getenv("YUJING_URL")
	if def == "" {
		def = "http://127.0.0.1:8080"
	}
	return apiFlags{
		url:   fs.String("url", def, "address of the running yujing (env YUJING_URL)"),
		token: fs.String("token", "", "API token, sent as Authorization: Bearer (default: env YUJING_TOKEN)"),
	}
}

func (f apiFlags) client() (*apiclient.Client, error) {
	tok := *f.token
	if tok == "" {
		tok = os.Getenv("YUJING_TOKEN")
	}
	c, err := apiclient.New(*f.url, tok)
	if err != nil {
		return nil, fmt.Errorf("-url: %w", err)
	}
	return c, nil
}

// parseInterleaved parses flags that may come before or after the
// positional arguments, and returns those.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
}

// decoderNames lists the decoders this binary has.
func decoderNames() ([]string, error) {
	reg, err := all.Registry()
	if err != nil {
		return nil, err
	}
	return reg.Names(), nil
}

// ---- import ----------------------------------------------------------------

func sensorsImportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sensors import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, sensorsUsage+"\nFlags of import:\n"); fs.PrintDefaults() }
	dry := fs.Bool("dry-run", false, "print what would change, change nothing")
	path := fs.String("config", "", "with -dry-run, when no yujing answers: check the sheet against this configuration instead")
	api := addAPIFlags(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	c, err := api.client()
	if err != nil {
		fmt.Fprintln(stderr, "yujing sensors import:", err)
		return 2
	}
	var cfg *config.Config
	if *path != "" {
		if cfg, err = loadConfig(*path); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	return sensorsImport(ctx, c, cfg, pos[0], *dry, stdout, stderr)
}

// importPath is where the API imports sheets.
const importPath = "/api/v1/sensors/import"

// sensorsImport sends the sheet to the running yujing, which checks it and
// imports all of it or nothing (with dry, only checks); with no yujing
// there, a dry run with a configuration checks it locally with the same
// code. It prints the plan or the result, and the problems.
func sensorsImport(ctx context.Context, c *apiclient.Client, cfg *config.Config, file string, dry bool, stdout, stderr io.Writer) int {
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(stderr, "yujing sensors import:", err)
		return 1
	}
	q := ""
	if dry {
		q = "?dry_run=1"
	}
	var res sheet.Result
	err = c.Send(ctx, http.MethodPost, importPath+q, "text/csv", data, &res)
	against := fmt.Sprintf("the %d sensors at %s", res.Sensors, c.Base())
	var status *apiclient.StatusError
	var unreachable *apiclient.UnreachableError
	switch {
	case err == nil:
	case errors.As(err, &status) && status.Status == http.StatusUnprocessableEntity && json.Unmarshal(status.Body, &res) == nil &&
		len(res.Problems) > 0:
		// The sheet has problems: printed below.
		against = fmt.Sprintf("the %d sensors at %s", res.Sensors, c.Base())
	case errors.As(err, &unreachable) && dry && cfg != nil:
		r, err := offlineDryRun(ctx, cfg, data)
		if err != nil {
			fmt.Fprintln(stderr, "yujing sensors import:", err)
			return 1
		}
		res = *r
		against = fmt.Sprintf("the %d sensors of %s (no yujing answers at %s)", res.Sensors, cfg.Source, c.Base())
	default:
		switch {
		case errors.As(err, &unreachable) && dry:
			err = fmt.Errorf("%w; give -config to check the sheet against a configuration file instead", err)
		case errors.As(err, &status) && status.Status == http.StatusNotFound:
			err = fmt.Errorf("%w (this yujing has no %s: it is older than this command)", err, importPath)
		}
		fmt.Fprintln(stderr, "yujing sensors import:", err)
		if ctx.Err() != nil {
			return 130
		}
		return 1
	}

	verb := "Importing"
	if dry {
		verb = "Dry run:"
	}
	fmt.Fprintf(stdout, "%s %s (%s, %s) against %s\n", verb, file, plural(res.Rows, "row"), res.Format, against)
	if len(res.Problems) == 0 && !dry {
		printResult(stdout, &res)
		return 0
	}
	printPlan(stdout, res.Steps)
	for _, p := range res.Problems {
		fmt.Fprintln(stderr, p.Format(file))
	}
	summary := fmt.Sprintf("%d to create, %d to update, %d unchanged, %d invalid", res.Count(sheet.Create), res.Count(sheet.Update),
		res.Count(sheet.Unchanged), res.Count(sheet.Invalid))
	switch n := len(res.Problems); {
	case n > 0 && dry:
		fmt.Fprintf(stdout, "dry run: %s; %s; nothing changed\n", summary, plural(n, "problem"))
	case n > 0:
		fmt.Fprintf(stdout, "nothing imported: %s (listed on stderr); fix them and run again\n", plural(n, "problem"))
	default:
		fmt.Fprintf(stdout, "dry run: %s; nothing changed\n", summary)
	}
	if len(res.Problems) > 0 {
		return 1
	}
	return 0
}

// offlineDryRun checks a sheet against a configuration as the server
// checks it against its sensors: the same package, with a catalogue of
// the configuration's sites, decoders and sensors that saves nothing.
func offlineDryRun(ctx context.Context, cfg *config.Config, data []byte) (*sheet.Result, error) {
	decoders, err := decoderNames()
	if err != nil {
		return nil, err
	}
	reg, err := ingest.NewRegistry(cfg.Sites, cfg.Sensors, cfg.MQTT.Topics...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Source, err)
	}
	cat := ingest.NewCatalog(reg, nil, cfg.Sites, cfg.Sensors, cfg.MQTT.Topics, decoders, cfg.Families)
	return sheet.Parse(data).Import(ctx, cat, true)
}

// plural writes "1 row", "2 rows".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func printPlan(w io.Writer, steps []sheet.Step) {
	t := table.New(w, "line", "id", "action", "details")
	for _, s := range steps {
		details := s.Details
		switch s.Action {
		case sheet.Update:
			details = strings.Join(s.Changes, "; ")
		case sheet.Invalid:
			details = plural(s.Problems, "problem") + ", below"
		}
		t.Row(strconv.Itoa(s.Line), dash(s.ID), string(s.Action), details)
	}
	t.Flush()
}

// printResult prints what an import did, row by row.
func printResult(w io.Writer, res *sheet.Result) {
	t := table.New(w, "line", "id", "result")
	for _, s := range res.Steps {
		result := "unchanged"
		switch s.Action {
		case sheet.Create:
			result = "created"
		case sheet.Update:
			result = "updated: " + strings.Join(s.Changes, "; ")
		}
		t.Row(strconv.Itoa(s.Line), s.ID, result)
	}
	t.Flush()
	fmt.Fprintf(w, "imported: %d created, %d updated, %d unchanged\n", res.Count(sheet.Create), res.Count(sheet.Update), res.Count(sheet.Unchanged))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
