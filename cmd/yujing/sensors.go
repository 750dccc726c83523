package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/width"

	"yujing"
	"yujing/alerting"
	"yujing/config"
	"yujing/ingest"
	"yujing/ingest/decode/all"
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
危化, 粉尘, 气象, 防汛, 电力, 电气火灾); interval is 10s, 5m, 30秒, 5分钟 or
a number of seconds. An empty cell keeps the sensor's current value (the
default for a new sensor). Every problem is listed as FILE:LINE: column "x":
what is wrong, and nothing is imported while there is one.

-dry-run prints, per row, create / update (with the fields that change) /
unchanged against the running yujing's sensors, or against -config's when no
yujing answers at -url; it exits 1 when a row is invalid. Without -dry-run
new sensors are POSTed and changed ones PUT to /api/v1/sensors.

ls lists the sensors with their last value, when they were last heard from
and their status (online, offline, or fault while a fault or stuck rule has
an open warning on them); show prints everything about one sensor.

-url defaults to $YUJING_URL, else http://127.0.0.1:8080; -token to
$YUJING_TOKEN (sent as Authorization: Bearer).
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

func (f apiFlags) client() (*apiClient, error) {
	tok := *f.token
	if tok == "" {
		tok = os.Getenv("YUJING_TOKEN")
	}
	return newAPIClient(*f.url, tok)
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

// apiClient talks to a running yujing's JSON API.
type apiClient struct {
	base  string // scheme://host[:port][/prefix], no trailing slash
	token string
	hc    *http.Client
}

func newAPIClient(raw, token string) (*apiClient, error) {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("-url: want http://HOST:PORT, got %q", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return &apiClient{base: u.String(), token: token, hc: &http.Client{Timeout: 30 * time.Second}}, nil
}

// unreachableError says no server answered at the URL.
type unreachableError struct {
	url string
	err error
}

func (e *unreachableError) Error() string { return fmt.Sprintf("no answer from %s: %v", e.url, e.err) }
func (e *unreachableError) Unwrap() error { return e.err }

// apiError is an error status from the API, with its message.
type apiError struct {
	Status int
	Msg    string
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("HTTP %d", e.Status)
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	switch e.Status {
	case http.StatusUnauthorized:
		s += " (give an API token with -token or YUJING_TOKEN)"
	case http.StatusForbidden:
		s += " (the token's role may not do this)"
	}
	return s
}

// do sends a request with in as its JSON body (when not nil) and decodes
// the JSON answer into out (when not nil).
func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &unreachableError{url: c.base, err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		} else if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		return &apiError{Status: resp.StatusCode, Msg: msg}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: the answer is not the JSON expected: %w", method, path, err)
		}
	}
	return nil
}

// statuses fetches every sensor with its last readings.
func (c *apiClient) statuses(ctx context.Context) ([]ingest.Status, error) {
	var out []ingest.Status
	err := c.do(ctx, http.MethodGet, "/api/v1/sensors", nil, &out)
	return out, err
}

// ---- The sheet -----------------------------------------------------------

// sheetColumn is a column a sensor sheet may have: its name and the other
// names it goes by in a header (compared after normHeader).
type sheetColumn struct {
	key   string
	names []string
}

var sheetColumns = []sheetColumn{
	{"id", []string{"编号", "传感器编号", "设备编号", "点位编号", "sensor", "sensor id"}},
	{"name", []string{"名称", "传感器名称", "设备名称", "点位名称"}},
	{"family", []string{"类型", "类别", "传感器类型", "type"}},
	{"site", []string{"站点/企业", "站点／企业", "站点", "企业", "所属企业", "所属站点", "site id"}},
	{"region", []string{"区划代码", "行政区划代码", "区划"}},
	{"industry", []string{"行业"}},
	{"metric", []string{"指标", "监测指标"}},
	{"unit", []string{"单位"}},
	{"location", []string{"位置", "安装位置"}},
	{"lat", []string{"纬度", "latitude"}},
	{"lon", []string{"经度", "longitude", "lng"}},
	{"interval", []string{"上报间隔", "上报周期"}},
	{"min", []string{"量程下限", "range min"}},
	{"max", []string{"量程上限", "range max"}},
	{"decoder", []string{"解码器"}},
	{"topic", []string{"主题"}},
	{"tags", []string{"标签"}},
}

// knownColumns lists the columns for error messages.
func knownColumns() string {
	var b strings.Builder
	for _, c := range sheetColumns {
		fmt.Fprintf(&b, "%s (%s), ", c.key, c.names[0])
	}
	b.WriteString("tag:NAME")
	return b.String()
}

// normHeader reduces a header cell to what is compared: no BOM, no '*'
// (required-column marks), no trailing "(unit)", lower case, no spaces,
// '_' or '-'.
func normHeader(h string) string {
	h = strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(h, "\ufeff", ""), "*", ""))
	for _, p := range [][2]string{{"(", ")"}, {"（", "）"}} {
		if strings.HasSuffix(h, p[1]) {
			if i := strings.LastIndex(h, p[0]); i > 0 {
				h = strings.TrimSpace(h[:i])
			}
		}
	}
	h = strings.ToLower(h)
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '_', '-', '\u3000':
			return -1
		}
		return r
	}, h)
}

// columnKey returns the key of a header cell: a sheetColumns key, or
// "tag:NAME"; "" when unknown.
func columnKey(header string) string {
	raw := strings.TrimSpace(strings.ReplaceAll(header, "\ufeff", ""))
	low := strings.ToLower(raw)
	for _, p := range []string{"tag:", "tag.", "标签:", "标签：", "标签."} {
		if strings.HasPrefix(low, p) {
			if name := strings.TrimSpace(raw[len(p):]); name != "" {
				return "tag:" + name
			}
			return ""
		}
	}
	n := normHeader(header)
	for _, c := range sheetColumns {
		if n == c.key {
			return c.key
		}
		for _, name := range c.names {
			if n == normHeader(name) {
				return c.key
			}
		}
	}
	return ""
}

// sheet is a sensor spreadsheet read from CSV.
type sheet struct {
	file     string
	encoding string
	sep      rune
	headers  []string       // per column, as written
	keys     []string       // per column: its key, "" when blank, "!" when unknown
	col      map[string]int // key → column
	rows     []sheetRow
	errs     []sheetError
}

// sheetRow is one non-empty row: its line and its non-empty cells by key.
type sheetRow struct {
	line  int
	cells map[string]string
}

// sheetError is a problem at a line of the sheet, in a column (its header
// as written) or in the row as a whole.
type sheetError struct {
	line   int
	column string
	msg    string
}

func (sh *sheet) fail(line int, column, format string, args ...any) {
	sh.errs = append(sh.errs, sheetError{line: line, column: column, msg: fmt.Sprintf(format, args...)})
}

// header returns the header of column key as written in the file.
func (sh *sheet) header(key string) string {
	if i, ok := sh.col[key]; ok {
		return sh.headers[i]
	}
	return key
}

// errorLines formats the problems as FILE:LINE: column "x": message, by line.
func (sh *sheet) errorLines() []string {
	errs := slices.Clone(sh.errs)
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].line < errs[j].line })
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		if e.column != "" {
			out = append(out, fmt.Sprintf("%s:%d: column %q: %s", sh.file, e.line, e.column, e.msg))
		} else {
			out = append(out, fmt.Sprintf("%s:%d: %s", sh.file, e.line, e.msg))
		}
	}
	return out
}

// describe is "UTF-8, comma-separated" and the like.
func (sh *sheet) describe() string {
	sep := map[rune]string{',': "comma", ';': "semicolon", '\t': "tab"}[sh.sep]
	return sh.encoding + ", " + sep + "-separated"
}

// decodeSheet returns the text of a CSV file and its encoding: UTF-8 (with
// or without BOM), UTF-16 with BOM, else GB18030 (a superset of GBK).
func decodeSheet(data []byte) (text, encoding string, err error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		if !utf8.Valid(data[3:]) {
			line := badUTF8Line(data)
			return "", "UTF-8 with BOM", &decodeError{line: line, msg: fmt.Sprintf("starts as UTF-8 but line %d is not valid UTF-8", line)}
		}
		return string(data[3:]), "UTF-8 with BOM", nil
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		enc, name := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM), "UTF-16LE"
		if data[0] == 0xFE {
			enc, name = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM), "UTF-16BE"
		}
		b, err := enc.NewDecoder().Bytes(data)
		if err != nil || bytes.ContainsRune(b, utf8.RuneError) {
			return "", name, fmt.Errorf("starts as %s but is not valid %s", name, name)
		}
		return string(b), name, nil
	case utf8.Valid(data):
		return string(data), "UTF-8", nil
	}
	b, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
	if err != nil || bytes.ContainsRune(b, utf8.RuneError) {
		return "", "unknown encoding", errors.New("neither UTF-8 nor GB18030/GBK text; save the sheet as \"CSV UTF-8\" or \"CSV (逗号分隔)\"")
	}
	return string(b), "GB18030", nil
}

// decodeError is text that is not in the encoding it starts in, at a line.
type decodeError struct {
	line int
	msg  string
}

func (e *decodeError) Error() string { return e.msg }

// badUTF8Line is the line of the first byte that is not valid UTF-8.
func badUTF8Line(data []byte) int {
	line := 1
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		i += n
	}
	return line
}

// sniffSeparator picks the separator the first line uses most, outside
// quotes: comma, semicolon or tab (comma when none).
func sniffSeparator(text string) rune {
	inQuote := false
	counts := map[rune]int{}
	for _, r := range text {
		if r == '"' {
			inQuote = !inQuote
		} else if !inQuote {
			if r == '\n' {
				break
			}
			counts[r]++
		}
	}
	best := ','
	for _, r := range []rune{';', '\t'} {
		if counts[r] > counts[best] {
			best = r
		}
	}
	return best
}

// parseSheet reads a sensor sheet; problems are in sh.errs.
func parseSheet(file string, data []byte) *sheet {
	sh := &sheet{file: file, col: map[string]int{}, sep: ','}
	text, enc, err := decodeSheet(data)
	sh.encoding = enc
	if err != nil {
		line := 1
		var de *decodeError
		if errors.As(err, &de) {
			line = de.line
		}
		sh.fail(line, "", "%v", err)
		return sh
	}
	sh.sep = sniffSeparator(strings.TrimLeft(text, "\r\n"))
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = sh.sep
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	header := true
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				sh.fail(pe.Line, "", "%v", pe.Err)
			} else {
				sh.fail(1, "", "%v", err)
			}
			break
		}
		line, _ := r.FieldPos(0)
		if header {
			if allEmpty(rec) {
				continue
			}
			header = false
			sh.readHeader(line, rec)
			continue
		}
		sh.readRow(line, rec)
	}
	if header {
		sh.fail(1, "", "no header row; the first row names the columns: %s", knownColumns())
	}
	return sh
}

func allEmpty(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

func (sh *sheet) readHeader(line int, rec []string) {
	for i, h := range rec {
		h = strings.TrimSpace(strings.ReplaceAll(h, "\ufeff", ""))
		sh.headers = append(sh.headers, h)
		if h == "" {
			sh.keys = append(sh.keys, "")
			continue
		}
		k := columnKey(h)
		switch {
		case k == "":
			sh.fail(line, h, "unknown column; the known ones are %s", knownColumns())
			k = "!"
		case hasKey(sh.col, k):
			sh.fail(line, h, "the same column as %q (column %d)", sh.headers[sh.col[k]], sh.col[k]+1)
			k = "!"
		default:
			sh.col[k] = i
		}
		sh.keys = append(sh.keys, k)
	}
	if !hasKey(sh.col, "id") {
		sh.fail(line, "", "no id (编号) column: every sensor needs its id")
	}
}

func hasKey(m map[string]int, k string) bool { _, ok := m[k]; return ok }

func (sh *sheet) readRow(line int, rec []string) {
	if !hasKey(sh.col, "id") {
		return // reported once at the header
	}
	row := sheetRow{line: line, cells: map[string]string{}}
	for i, v := range rec {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		switch {
		case i >= len(sh.keys):
			sh.fail(line, "", "cell %d (%q) is beyond the header's %d columns", i+1, v, len(sh.keys))
		case sh.keys[i] == "":
			sh.fail(line, "", "cell %d (%q) is in a column without a header", i+1, v)
		case sh.keys[i] == "!":
			// an unknown column, reported at the header
		default:
			row.cells[sh.keys[i]] = v
		}
	}
	if len(row.cells) > 0 {
		sh.rows = append(sh.rows, row)
	}
}

// ---- Rows as sensors -----------------------------------------------------

// sheetSensor is a valid row: the fields it sets, to lay over the sensor's
// current values.
type sheetSensor struct {
	line     int
	id       string
	set      map[string]bool // keys of the fields the row sets
	s        yujing.Sensor   // their values
	lat, lon *float64
	tags     map[string]string // from tags and tag:NAME cells
	tagsCell bool              // the tags cell is filled: it replaces every tag
}

// sheetRef is what a configuration file tells about rows: its sites and
// the decoders that exist.
type sheetRef struct {
	source   string
	sites    []yujing.Site
	decoders []string
	families yujing.Families
}

func (ref *sheetRef) site(v string) (string, bool) {
	for _, s := range ref.sites {
		if s.ID == v {
			return s.ID, true
		}
	}
	for _, s := range ref.sites {
		if s.Name == v {
			return s.ID, true
		}
	}
	return "", false
}

// sensorIDPattern is what ingest.Catalog accepts as a sensor id.
var sensorIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// excelScientific is how Excel shows a long number in a narrow column.
var excelScientific = regexp.MustCompile(`^[0-9](\.[0-9]+)?[Ee]\+[0-9]+$`)

// familyAliases maps the Chinese names integrators write to families.
var familyAliases = map[string]yujing.Family{
	"燃气": yujing.FamilyGas, "气体": yujing.FamilyGas, "可燃气体": yujing.FamilyGas, "有毒气体": yujing.FamilyGas, "可燃/有毒气体": yujing.FamilyGas,
	"危化": yujing.FamilyHazard, "危化品": yujing.FamilyHazard, "危险化学品": yujing.FamilyHazard, "重大危险源": yujing.FamilyHazard, "储罐": yujing.FamilyHazard,
	"粉尘": yujing.FamilyDust, "粉尘涉爆": yujing.FamilyDust,
	"气象": yujing.FamilyWeather, "雨量": yujing.FamilyWeather,
	"防汛": yujing.FamilyFlood, "水位": yujing.FamilyFlood, "积水": yujing.FamilyFlood,
	"电力": yujing.FamilyPower, "电力监测": yujing.FamilyPower, "用电": yujing.FamilyPower,
	"电气火灾": yujing.FamilyElectrical, "电气": yujing.FamilyElectrical,
}

// parseFamily accepts a family's id (any case), its Chinese name or a
// Chinese alias, among fams (the built-in families when nil).
func parseFamily(fams yujing.Families, v string) (yujing.Family, error) {
	if fams == nil {
		fams = yujing.BuiltinFamilies()
	}
	t := strings.TrimSpace(v)
	if f := yujing.Family(strings.ToLower(t)); fams.Known(f) {
		return f, nil
	}
	if f, ok := familyAliases[t]; ok && fams.Known(f) {
		return f, nil
	}
	for _, k := range fams {
		if k.Name != "" && k.Name == t {
			return k.ID, nil
		}
	}
	var want []string
	for _, k := range fams {
		want = append(want, string(k.ID)+" "+k.Name)
	}
	return "", fmt.Errorf("unknown family %q (want %s)", v, strings.Join(want, ", "))
}

// familyName is the Chinese name of a built-in family, "" for another.
func familyName(f yujing.Family) string {
	k, _ := yujing.BuiltinFamilies().Get(f)
	return k.Name
}

// parseInterval reads an interval: a Go duration (10s, 5m, 1h30m), a
// number with 秒, 分, 分钟, 时 or 小时, or a plain number of seconds.
func parseInterval(v string) (time.Duration, error) {
	t := strings.TrimSpace(v)
	bad := fmt.Errorf("%q is not a duration: write 10s, 5m, 1h, 30秒, 5分钟 or a number of seconds", v)
	var d time.Duration
	num := func(s string, unit time.Duration) (time.Duration, bool) {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > float64(math.MaxInt64/int64(unit)) {
			return 0, false
		}
		return time.Duration(f * float64(unit)), true
	}
	found := false
	if x, ok := num(t, time.Second); ok {
		d, found = x, true
	}
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"秒钟", time.Second}, {"秒", time.Second}, {"分钟", time.Minute}, {"分", time.Minute}, {"小时", time.Hour}, {"时", time.Hour}} {
		if !found && strings.HasSuffix(t, u.suffix) {
			x, ok := num(strings.TrimSuffix(t, u.suffix), u.unit)
			if !ok {
				return 0, bad
			}
			d, found = x, true
		}
	}
	if !found {
		x, err := time.ParseDuration(t)
		if err != nil {
			return 0, bad
		}
		d = x
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: must be more than zero", v)
	}
	return d, nil
}

// parseNumber reads a finite number.
func parseNumber(v string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a number", v)
	}
	return f, nil
}

// parseTags reads "key=value; key=value" (also ',' '，' '；' between pairs).
func parseTags(v string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' || r == '；' || r == '，' || r == '\n' }) {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, val, ok := strings.Cut(strings.Replace(p, "＝", "=", 1), "=")
		k, val = strings.TrimSpace(k), strings.TrimSpace(val)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value (write owner=张工; zone=A)", p)
		}
		out[k] = val
	}
	return out, nil
}

// sensors checks every row and returns the valid ones; problems go to
// sh.errs. ref, when not nil, checks sites and decoders.
func (sh *sheet) sensors(ref *sheetRef) []sheetSensor {
	var out []sheetSensor
	firstLine := map[string]int{}
	readErr := map[int]bool{} // rows the reader found a problem in (a cell beyond the header)
	for _, e := range sh.errs {
		readErr[e.line] = true
	}
	for _, row := range sh.rows {
		n := len(sh.errs)
		ss := sheetSensor{line: row.line, set: map[string]bool{}}
		bad := func(key, format string, args ...any) { sh.fail(row.line, sh.header(key), format, args...) }
		get := func(key string) (string, bool) {
			v, ok := row.cells[key]
			if ok {
				ss.set[key] = true
			}
			return v, ok
		}
		id, ok := get("id")
		switch {
		case !ok:
			bad("id", "empty; every row needs the sensor's id")
		case excelScientific.MatchString(id):
			bad("id", "%q looks like a number Excel shortened; format the column as text", id)
		case !sensorIDPattern.MatchString(id):
			bad("id", "%q: use letters, digits, '-', '_' and '.'", id)
		default:
			if first, dup := firstLine[id]; dup {
				bad("id", "sensor %q is already on line %d", id, first)
			} else {
				firstLine[id] = row.line
			}
		}
		ss.id, ss.s.ID = id, id
		for _, k := range []string{"name", "industry", "metric", "unit", "location"} {
			if v, ok := get(k); ok {
				switch k {
				case "name":
					ss.s.Name = v
				case "industry":
					ss.s.Industry = v
				case "metric":
					ss.s.Metric = v
				case "unit":
					ss.s.Unit = v
				case "location":
					ss.s.Location = v
				}
			}
		}
		if v, ok := get("family"); ok {
			var fams yujing.Families
			if ref != nil {
				fams = ref.families
			}
			f, err := parseFamily(fams, v)
			if err != nil {
				bad("family", "%v", err)
			}
			ss.s.Family = f
		}
		if v, ok := get("site"); ok {
			ss.s.Site = v
			if ref != nil {
				if id, ok := ref.site(v); ok {
					ss.s.Site = id
				} else {
					var ids []string
					for _, s := range ref.sites {
						ids = append(ids, s.ID)
					}
					bad("site", "site %q is not defined in %s (sites: %s)", v, ref.source, strings.Join(ids, ", "))
				}
			} else if !sensorIDPattern.MatchString(v) {
				bad("site", "%q is not a site id (letters, digits, '-', '_', '.'); give -config to use site names", v)
			}
		}
		if v, ok := get("region"); ok {
			ss.s.Region = v
			if excelScientific.MatchString(v) {
				bad("region", "%q looks like a number Excel shortened; format the column as text", v)
			}
		}
		if v, ok := get("decoder"); ok {
			ss.s.Decoder = v
			if ref != nil && !slices.Contains(ref.decoders, v) {
				bad("decoder", "unknown decoder %q (want one of %s)", v, strings.Join(ref.decoders, ", "))
			}
		}
		if v, ok := get("topic"); ok {
			ss.s.Topic = v
			if strings.ContainsAny(v, "+#") {
				bad("topic", "%q must not contain MQTT wildcards; placeholders {site}, {sensor}, {family}, {region} are allowed", v)
			}
		}
		if v, ok := get("interval"); ok {
			d, err := parseInterval(v)
			if err != nil {
				bad("interval", "%v", err)
			}
			ss.s.Interval = d
		}
		num := func(key string) *float64 {
			v, ok := get(key)
			if !ok {
				return nil
			}
			f, err := parseNumber(v)
			if err != nil {
				bad(key, "%v", err)
				return nil
			}
			return &f
		}
		ss.s.Min, ss.s.Max = num("min"), num("max")
		if ss.s.Min != nil && ss.s.Max != nil && *ss.s.Min >= *ss.s.Max {
			bad("max", "range min %g must be below max %g", *ss.s.Min, *ss.s.Max)
		}
		ss.lat, ss.lon = num("lat"), num("lon")
		if ss.lat != nil && (*ss.lat < -90 || *ss.lat > 90) {
			bad("lat", "latitude %g is outside -90…90", *ss.lat)
		}
		if ss.lon != nil && (*ss.lon < -180 || *ss.lon > 180) {
			bad("lon", "longitude %g is outside -180…180", *ss.lon)
		}
		if _, latSet := row.cells["lat"]; latSet != hasCell(row, "lon") {
			if latSet {
				bad("lat", "give the longitude (%s) too", sh.header("lon"))
			} else {
				bad("lon", "give the latitude (%s) too", sh.header("lat"))
			}
		}
		if v, ok := get("tags"); ok {
			t, err := parseTags(v)
			if err != nil {
				bad("tags", "%v", err)
			}
			ss.tags, ss.tagsCell = t, true
		}
		for k, v := range row.cells {
			if name, ok := strings.CutPrefix(k, "tag:"); ok {
				ss.set["tags"] = true
				if ss.tags == nil {
					ss.tags = map[string]string{}
				}
				ss.tags[name] = v
			}
		}
		if len(sh.errs) == n && !readErr[row.line] {
			out = append(out, ss)
		}
	}
	return out
}

func hasCell(row sheetRow, key string) bool { _, ok := row.cells[key]; return ok }

// formatLocation joins a location text and coordinates: "罐区东侧
// (31.2986,120.5853)", or the coordinates alone.
func formatLocation(text string, lat, lon *float64) string {
	if lat == nil || lon == nil {
		return text
	}
	c := strconv.FormatFloat(*lat, 'f', -1, 64) + "," + strconv.FormatFloat(*lon, 'f', -1, 64)
	if text == "" {
		return c
	}
	return text + " (" + c + ")"
}

// locationParts splits a location formatLocation wrote into its place
// name and coordinates.
func locationParts(loc string) (text string, lat, lon *float64) {
	coords := func(s string) (*float64, *float64, bool) {
		a, b, ok := strings.Cut(s, ",")
		x, err1 := strconv.ParseFloat(a, 64)
		y, err2 := strconv.ParseFloat(b, 64)
		return &x, &y, ok && err1 == nil && err2 == nil
	}
	if x, y, ok := coords(loc); ok {
		return "", x, y
	}
	if i := strings.LastIndex(loc, " ("); i >= 0 && strings.HasSuffix(loc, ")") {
		if x, y, ok := coords(loc[i+2 : len(loc)-1]); ok {
			return loc[:i], x, y
		}
	}
	return loc, nil, nil
}

// decoderNames lists the decoders this binary has.
func decoderNames() ([]string, error) {
	reg, err := all.Registry()
	if err != nil {
		return nil, err
	}
	return reg.Names(), nil
}

// ---- The plan --------------------------------------------------------------

type importAction string

const (
	actionCreate    importAction = "create"
	actionUpdate    importAction = "update"
	actionUnchanged importAction = "unchanged"
	actionInvalid   importAction = "invalid"
)

// importStep is what happens to one row.
type importStep struct {
	line    int
	id      string
	action  importAction
	sensor  yujing.Sensor // what is sent
	changes []string      // update: "field old → new"
	details string        // create: a short description
	errors  int           // invalid: how many problems
}

// merge lays the row's fields over cur (a copy); new sensors start from
// the defaults. Region and industry, when empty, are the site's (sites from
// the configuration, when given).
func (ss *sheetSensor) merge(cur *yujing.Sensor, ref *sheetRef) yujing.Sensor {
	var m yujing.Sensor
	if cur != nil {
		m = *cur
		m.Units, m.Tags, m.MetricMap = maps.Clone(cur.Units), maps.Clone(cur.Tags), maps.Clone(cur.MetricMap)
	} else {
		m = yujing.Sensor{ID: ss.id, Metric: "value", Decoder: "json", Interval: ingest.DefaultInterval}
	}
	defaultTopic := cur == nil || cur.Topic == yujing.DefaultTopic(cur.Site, cur.ID)
	set := ss.set
	if set["name"] {
		m.Name = ss.s.Name
	}
	if set["family"] {
		m.Family = ss.s.Family
	}
	if set["site"] {
		m.Site = ss.s.Site
	}
	if set["region"] {
		m.Region = ss.s.Region
	}
	if set["industry"] {
		m.Industry = ss.s.Industry
	}
	if set["metric"] {
		m.Metric = ss.s.Metric
	}
	if set["unit"] {
		m.Unit = ss.s.Unit
	}
	if set["location"] || set["lat"] {
		// The place name and the coordinates are kept apart: an empty
		// cell keeps its part.
		text, lat, lon := locationParts(m.Location)
		if set["location"] {
			text = ss.s.Location
		}
		if set["lat"] {
			lat, lon = ss.lat, ss.lon
		}
		m.Location = formatLocation(text, lat, lon)
	}
	if set["decoder"] {
		m.Decoder = ss.s.Decoder
	}
	if set["interval"] {
		m.Interval = ss.s.Interval
	}
	if set["min"] {
		m.Min = ss.s.Min
	}
	if set["max"] {
		m.Max = ss.s.Max
	}
	if set["tags"] {
		// A tags cell replaces every tag; tag:NAME cells set one each.
		if ss.tagsCell || m.Tags == nil {
			m.Tags = map[string]string{}
		}
		maps.Copy(m.Tags, ss.tags)
		if len(m.Tags) == 0 {
			m.Tags = nil
		}
	}
	if ref != nil && (cur == nil || set["site"]) {
		for _, s := range ref.sites {
			if s.ID == m.Site {
				if m.Region == "" || (cur != nil && !set["region"] && cur.Site != m.Site) {
					m.Region = s.Region
				}
				if m.Industry == "" || (cur != nil && !set["industry"] && cur.Site != m.Site) {
					m.Industry = s.Industry
				}
			}
		}
	}
	switch {
	case set["topic"]:
		m.Topic = ss.s.Topic
	case defaultTopic:
		m.Topic = yujing.DefaultTopic(m.Site, m.ID)
	}
	return m
}

// plan decides, for every row, what importing it does against the current
// sensors. Rows with problems are "invalid"; problems found only now (a
// topic template that cannot be filled, a range the merged values invert,
// a new sensor without site or family) go to sh.errs.
func (sh *sheet) plan(rows []sheetSensor, current map[string]yujing.Sensor, ref *sheetRef) []importStep {
	valid := map[int]sheetSensor{}
	for _, r := range rows {
		valid[r.line] = r
	}
	errsAt := map[int]int{}
	for _, e := range sh.errs {
		errsAt[e.line]++
	}
	var out []importStep
	for _, row := range sh.rows {
		ss, ok := valid[row.line]
		if !ok {
			out = append(out, importStep{line: row.line, id: row.cells["id"], action: actionInvalid, errors: errsAt[row.line]})
			continue
		}
		n := len(sh.errs)
		bad := func(key, format string, args ...any) { sh.fail(row.line, sh.header(key), format, args...) }
		cur, exists := current[ss.id]
		var m yujing.Sensor
		if exists {
			m = ss.merge(&cur, ref)
		} else {
			m = ss.merge(nil, ref)
			if m.Site == "" {
				bad("site", "empty; a new sensor needs its site")
			}
			if m.Family == "" {
				bad("family", "empty; a new sensor needs its family")
			}
		}
		if strings.Contains(m.Topic, "{") && m.Site != "" {
			t, err := ingest.ExpandTopic(m.Topic, &m)
			if err != nil {
				bad("topic", "%v", err)
			}
			m.Topic = t
		}
		if m.Min != nil && m.Max != nil && *m.Min >= *m.Max && !(ss.set["min"] && ss.set["max"]) {
			key := "max"
			if ss.set["min"] {
				key = "min"
			}
			bad(key, "range min %g must be below max %g (the other end is the sensor's current one)", *m.Min, *m.Max)
		}
		if len(sh.errs) > n {
			out = append(out, importStep{line: row.line, id: ss.id, action: actionInvalid, errors: len(sh.errs) - n})
			continue
		}
		st := importStep{line: row.line, id: ss.id, sensor: m}
		switch {
		case !exists:
			st.action = actionCreate
			st.details = fmt.Sprintf("%s at %s, topic %s, decoder %s, every %s", m.Family, m.Site, m.Topic, m.Decoder, shortDuration(m.Interval))
		default:
			st.changes = sensorChanges(&cur, &m)
			st.action = actionUnchanged
			if len(st.changes) > 0 {
				st.action = actionUpdate
			}
		}
		out = append(out, st)
	}
	return out
}

// sensorChanges lists the fields that differ, as `field old → new`.
func sensorChanges(a, b *yujing.Sensor) []string {
	var out []string
	str := func(name, x, y string) {
		if x != y {
			out = append(out, fmt.Sprintf("%s %q → %q", name, x, y))
		}
	}
	str("name", a.Name, b.Name)
	str("family", string(a.Family), string(b.Family))
	str("site", a.Site, b.Site)
	str("region", a.Region, b.Region)
	str("industry", a.Industry, b.Industry)
	str("metric", a.Metric, b.Metric)
	str("unit", a.Unit, b.Unit)
	str("location", a.Location, b.Location)
	str("topic", a.Topic, b.Topic)
	str("decoder", a.Decoder, b.Decoder)
	if effInterval(a.Interval) != effInterval(b.Interval) {
		out = append(out, fmt.Sprintf("interval %s → %s", shortDuration(effInterval(a.Interval)), shortDuration(effInterval(b.Interval))))
	}
	for _, p := range []struct {
		name string
		x, y *float64
	}{{"min", a.Min, b.Min}, {"max", a.Max, b.Max}} {
		if fmtOpt(p.x) != fmtOpt(p.y) {
			out = append(out, fmt.Sprintf("%s %s → %s", p.name, fmtOpt(p.x), fmtOpt(p.y)))
		}
	}
	if !maps.Equal(a.Tags, b.Tags) {
		out = append(out, fmt.Sprintf("tags %s → %s", fmtTags(a.Tags), fmtTags(b.Tags)))
	}
	return out
}

func effInterval(d time.Duration) time.Duration {
	if d <= 0 {
		return ingest.DefaultInterval
	}
	return d
}

// shortDuration writes 10s, 5m, 1h30m rather than 5m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func fmtOpt(f *float64) string {
	if f == nil {
		return "none"
	}
	return strconv.FormatFloat(*f, 'g', -1, 64)
}

func fmtTags(t map[string]string) string {
	keys := slices.Sorted(maps.Keys(t))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + t[k]
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// sensorJSON is a sensor as POST and PUT /api/v1/sensors take it.
type sensorJSON struct {
	ID        string            `json:"id"`
	Name      string            `json:"name,omitempty"`
	Site      string            `json:"site"`
	Family    string            `json:"family"`
	Region    string            `json:"region,omitempty"`
	Industry  string            `json:"industry,omitempty"`
	Metric    string            `json:"metric,omitempty"`
	Unit      string            `json:"unit,omitempty"`
	Units     map[string]string `json:"units,omitempty"`
	Location  string            `json:"location,omitempty"`
	Topic     string            `json:"topic,omitempty"`
	Decoder   string            `json:"decoder,omitempty"`
	Interval  string            `json:"interval,omitempty"`
	Min       *float64          `json:"min,omitempty"`
	Max       *float64          `json:"max,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
	MetricMap map[string]string `json:"metric_map,omitempty"`
}

func toSensorJSON(s *yujing.Sensor) sensorJSON {
	out := sensorJSON{ID: s.ID, Name: s.Name, Site: s.Site, Family: string(s.Family), Region: s.Region, Industry: s.Industry,
		Metric: s.Metric, Unit: s.Unit, Units: s.Units, Location: s.Location, Topic: s.Topic, Decoder: s.Decoder,
		Min: s.Min, Max: s.Max, Tags: s.Tags, MetricMap: s.MetricMap}
	if s.Interval > 0 {
		out.Interval = s.Interval.String()
	}
	return out
}

// fromStatus is the sensor an API status describes (its interval parsed).
func fromStatus(st *ingest.Status) yujing.Sensor {
	s := st.Sensor
	if d, err := time.ParseDuration(st.Interval); err == nil {
		s.Interval = d
	}
	return s
}

// ---- import ----------------------------------------------------------------

func sensorsImportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sensors import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, sensorsUsage+"\nFlags of import:\n"); fs.PrintDefaults() }
	dry := fs.Bool("dry-run", false, "print what would change, change nothing")
	path := fs.String("config", "", "configuration whose sites and decoders rows are checked against (and, with -dry-run, whose sensors are compared when no yujing answers)")
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

func sensorsImport(ctx context.Context, c *apiClient, cfg *config.Config, file string, dry bool, stdout, stderr io.Writer) int {
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(stderr, "yujing sensors import:", err)
		return 1
	}
	sh := parseSheet(file, data)
	var ref *sheetRef
	if cfg != nil {
		decoders, err := decoderNames()
		if err != nil {
			fmt.Fprintln(stderr, "yujing sensors import:", err)
			return 1
		}
		ref = &sheetRef{source: cfg.Source, sites: cfg.Sites, decoders: decoders, families: cfg.Families}
	}
	rows := sh.sensors(ref)

	// The sensors to compare with: the server's, else (dry run) the
	// configuration's.
	current := map[string]yujing.Sensor{}
	var against string
	sts, err := c.statuses(ctx)
	var unreachable *unreachableError
	switch {
	case err == nil:
		for i := range sts {
			current[sts[i].ID] = fromStatus(&sts[i])
		}
		against = fmt.Sprintf("the %d sensors at %s", len(sts), c.base)
	case errors.As(err, &unreachable) && dry && cfg != nil:
		sites := map[string]yujing.Site{}
		for _, s := range cfg.Sites {
			sites[s.ID] = s
		}
		for _, s := range cfg.Sensors {
			if s.Region == "" {
				s.Region = sites[s.Site].Region
			}
			if s.Industry == "" {
				s.Industry = sites[s.Site].Industry
			}
			s.Interval = effInterval(s.Interval)
			current[s.ID] = s
		}
		against = fmt.Sprintf("the %d sensors of %s (no yujing answers at %s)", len(cfg.Sensors), cfg.Source, c.base)
	default:
		for _, l := range sh.errorLines() {
			fmt.Fprintln(stderr, l)
		}
		if errors.As(err, &unreachable) && dry {
			err = fmt.Errorf("%w; give -config to compare with a configuration file instead", err)
		}
		fmt.Fprintln(stderr, "yujing sensors import:", err)
		return 1
	}
	steps := sh.plan(rows, current, ref)

	verb := "Importing"
	if dry {
		verb = "Dry run:"
	}
	fmt.Fprintf(stdout, "%s %s (%s, %s) against %s\n", verb, file, plural(len(sh.rows), "row"), sh.describe(), against)
	errs := sh.errorLines()
	if dry || len(errs) > 0 {
		printPlan(stdout, steps)
		for _, l := range errs {
			fmt.Fprintln(stderr, l)
		}
		counts := map[importAction]int{}
		for _, s := range steps {
			counts[s.action]++
		}
		summary := fmt.Sprintf("%d to create, %d to update, %d unchanged, %d invalid", counts[actionCreate], counts[actionUpdate],
			counts[actionUnchanged], counts[actionInvalid])
		switch {
		case len(errs) > 0 && dry:
			fmt.Fprintf(stdout, "dry run: %s; %s; nothing changed\n", summary, plural(len(errs), "problem"))
		case len(errs) > 0:
			fmt.Fprintf(stdout, "nothing imported: %s (listed on stderr); fix them and run again\n", plural(len(errs), "problem"))
		default:
			fmt.Fprintf(stdout, "dry run: %s; nothing changed\n", summary)
		}
		if len(errs) > 0 {
			return 1
		}
		return 0
	}

	failed, counts := 0, map[string]int{}
	w := newTable(stdout, "line", "id", "result")
	for _, st := range steps {
		result := ""
		switch st.action {
		case actionUnchanged:
			result = "unchanged"
		case actionCreate, actionUpdate:
			body := toSensorJSON(&st.sensor)
			var err error
			if st.action == actionCreate {
				err = c.do(ctx, http.MethodPost, "/api/v1/sensors", body, nil)
				result = "created"
			} else {
				body.ID = ""
				err = c.do(ctx, http.MethodPut, "/api/v1/sensors/"+url.PathEscape(st.id), body, nil)
				result = "updated: " + strings.Join(st.changes, "; ")
			}
			if err != nil {
				if ctx.Err() != nil {
					w.flush()
					fmt.Fprintln(stderr, "yujing sensors import: interrupted")
					return 130
				}
				failed++
				result = "failed: " + err.Error()
			}
		}
		verbOf, _, _ := strings.Cut(result, ":")
		counts[verbOf]++
		w.row(strconv.Itoa(st.line), st.id, result)
	}
	w.flush()
	fmt.Fprintf(stdout, "imported: %d created, %d updated, %d unchanged, %d failed\n", counts["created"], counts["updated"], counts["unchanged"], failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// plural writes "1 row", "2 rows".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func printPlan(w io.Writer, steps []importStep) {
	t := newTable(w, "line", "id", "action", "details")
	for _, s := range steps {
		details := s.details
		switch s.action {
		case actionUpdate:
			details = strings.Join(s.changes, "; ")
		case actionInvalid:
			details = plural(s.errors, "problem") + ", below"
		}
		t.row(strconv.Itoa(s.line), dash(s.id), string(s.action), details)
	}
	t.flush()
}

// ---- ls and show -----------------------------------------------------------

// sensorItem is a sensor as ls -json prints it: the API's status plus the
// status word ls shows.
type sensorItem struct {
	ingest.Status
	State string `json:"status"`
}

// faultKinds are the kinds of rule whose open warning means the device is
// faulty.
var faultKinds = []alerting.Kind{alerting.KindFault, alerting.KindStuck}

// sensorStates returns each sensor's status word: fault while a fault or
// stuck rule has an open warning on it, else online or offline. note says
// why fault could not be told, if so.
func sensorStates(ctx context.Context, c *apiClient, sts []ingest.Status, sensor string) (states map[string]string, open []yujing.Alert, note string) {
	states = map[string]string{}
	for _, st := range sts {
		states[st.ID] = "offline"
		if st.Online {
			states[st.ID] = "online"
		}
	}
	var rules []alerting.RuleStatus
	if err := c.do(ctx, http.MethodGet, "/api/v1/rules", nil, &rules); err != nil {
		return states, nil, "fault status unknown: " + err.Error()
	}
	q := url.Values{"state": {"firing,acknowledged,disposing"}}
	if sensor != "" {
		q.Set("sensor", sensor)
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/alerts?"+q.Encode(), nil, &open); err != nil {
		return states, nil, "fault status unknown: " + err.Error()
	}
	kinds := map[string]alerting.Kind{}
	for _, r := range rules {
		kinds[r.Name] = r.Kind
	}
	for _, a := range open {
		if _, ok := states[a.Sensor]; ok && slices.Contains(faultKinds, kinds[a.Rule]) {
			states[a.Sensor] = "fault"
		}
	}
	return states, open, ""
}

func sensorsListCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sensors ls", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: yujing sensors ls [-url URL] [-token T] [-site S] [-family F] [-json]\n\n")
		fs.PrintDefaults()
	}
	site := fs.String("site", "", "only the sensors of this site")
	family := fs.String("family", "", "only this family (gas, hazard, … or 燃气, 危化, …)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	api := addAPIFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	c, err := api.client()
	if err != nil {
		fmt.Fprintln(stderr, "yujing sensors ls:", err)
		return 2
	}
	var fam yujing.Family
	if *family != "" {
		// The server's configuration may declare more families than the
		// built-in ones; a server that does not say knows the built-in ones.
		var fams yujing.Families
		if c.do(ctx, http.MethodGet, "/api/v1/families", nil, &fams) != nil {
			fams = nil
		}
		f, err := parseFamily(fams, *family)
		if err != nil {
			fmt.Fprintln(stderr, "yujing sensors ls: -family:", err)
			return 2
		}
		fam = f
	}
	sts, err := c.statuses(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "yujing sensors ls:", err)
		return 1
	}
	sts = slices.DeleteFunc(sts, func(s ingest.Status) bool {
		return (*site != "" && s.Site != *site) || (fam != "" && s.Family != fam)
	})
	states, _, note := sensorStates(ctx, c, sts, "")
	if note != "" {
		fmt.Fprintln(stderr, "yujing sensors ls:", note)
	}
	if *asJSON {
		items := make([]sensorItem, len(sts))
		for i, st := range sts {
			items[i] = sensorItem{Status: st, State: states[st.ID]}
		}
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(items); err != nil {
			fmt.Fprintln(stderr, "yujing sensors ls:", err)
			return 1
		}
		return 0
	}
	now := time.Now()
	t := newTable(stdout, "ID", "NAME", "FAMILY", "SITE", "LAST VALUE", "LAST SEEN", "STATUS")
	for _, st := range sts {
		t.row(st.ID, dash(st.Name), string(st.Family), st.Site, dash(lastValues(&st)), ago(now, st.LastSeen), states[st.ID])
	}
	t.flush()
	if len(sts) == 0 {
		fmt.Fprintln(stderr, "no sensors")
	}
	return 0
}

// lastValues writes the newest value of each metric, the default metric
// first: "12.5 %LEL", or "level 9.1 m, pressure 0.42 MPa".
func lastValues(st *ingest.Status) string {
	rs := slices.Clone(st.Last)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Metric == st.Metric && rs[j].Metric != st.Metric })
	var parts []string
	for _, r := range rs {
		v := strconv.FormatFloat(r.Value, 'g', -1, 64)
		if r.Unit != "" {
			v += " " + r.Unit
		}
		if len(rs) > 1 {
			v = r.Metric + " " + v
		}
		parts = append(parts, v)
	}
	return strings.Join(parts, ", ")
}

// ago writes how long ago t was: 8s ago, 3m ago, 2h5m ago, 4d ago, never.
func ago(now time.Time, t *time.Time) string {
	if t == nil || t.IsZero() {
		return "never"
	}
	d := now.Sub(*t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm ago", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
}

func sensorsShowCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sensors show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: yujing sensors show [-url URL] [-token T] ID\n\n")
		fs.PrintDefaults()
	}
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
		fmt.Fprintln(stderr, "yujing sensors show:", err)
		return 2
	}
	var st ingest.Status
	if err := c.do(ctx, http.MethodGet, "/api/v1/sensors/"+url.PathEscape(pos[0]), nil, &st); err != nil {
		fmt.Fprintln(stderr, "yujing sensors show:", err)
		return 1
	}
	states, open, note := sensorStates(ctx, c, []ingest.Status{st}, st.ID)
	if note != "" {
		fmt.Fprintln(stderr, "yujing sensors show:", note)
	}
	showSensor(stdout, &st, states[st.ID], open, time.Now())
	return 0
}

// showSensor prints every field of a sensor, its readings and its open
// warnings.
func showSensor(w io.Writer, st *ingest.Status, state string, open []yujing.Alert, now time.Time) {
	field := func(name, v string) {
		label := ""
		if name != "" {
			label = name + ":"
		}
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%-13s%s", label, v), " "))
	}
	field("id", st.ID)
	field("name", st.Name)
	field("family", strings.TrimSpace(string(st.Family)+" "+familyName(st.Family)))
	field("site", st.Site)
	field("region", st.Region)
	field("industry", st.Industry)
	field("location", st.Location)
	field("topic", st.Topic)
	field("decoder", st.Decoder)
	metric := st.Metric
	if st.Unit != "" {
		metric += " (" + st.Unit + ")"
	}
	field("metric", metric)
	if len(st.Units) > 0 {
		field("metrics", fmtTags(st.Units))
	}
	if len(st.MetricMap) > 0 {
		field("metric map", fmtTags(st.MetricMap))
	}
	rng := "none"
	if st.Min != nil || st.Max != nil {
		lo, hi := "-∞", "+∞"
		if st.Min != nil {
			lo = fmtOpt(st.Min)
		}
		if st.Max != nil {
			hi = fmtOpt(st.Max)
		}
		rng = lo + " … " + hi
		if st.Unit != "" {
			rng += " " + st.Unit
		}
	}
	field("range", rng)
	iv := st.Interval
	if d, err := time.ParseDuration(st.Interval); err == nil {
		iv = fmt.Sprintf("%s (offline after %s without a reading)", shortDuration(d), shortDuration(ingest.OfflineAfter*d))
	}
	field("interval", iv)
	if len(st.Tags) > 0 {
		field("tags", fmtTags(st.Tags))
	}
	seen := ago(now, st.LastSeen)
	if st.LastSeen != nil {
		seen = st.LastSeen.Local().Format("2006-01-02 15:04:05") + " (" + seen + ")"
	}
	field("last seen", seen)
	field("status", state)
	label := "last values"
	for _, r := range st.Last {
		v := r.Metric + " " + strconv.FormatFloat(r.Value, 'g', -1, 64)
		if r.Unit != "" {
			v += " " + r.Unit
		}
		field(label, v+" at "+r.Time.Local().Format("2006-01-02 15:04:05"))
		label = ""
	}
	label = "warnings"
	for _, a := range open {
		field(label, fmt.Sprintf("#%d %s %s (%s) since %s, value %g", a.ID, a.Rule, a.Level, a.State,
			a.StartedAt.Local().Format("2006-01-02 15:04:05"), a.Value))
		label = ""
	}
}

// ---- Tables that line up with Chinese text ---------------------------------

// table writes aligned columns, counting East Asian wide characters as two
// cells as a terminal shows them.
type table struct {
	w    io.Writer
	rows [][]string
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{w: w}
	if len(header) > 0 {
		t.rows = append(t.rows, header)
	}
	return t
}

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) flush() {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], displayWidth(c))
		}
	}
	for _, r := range t.rows {
		var b strings.Builder
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-displayWidth(c)+2))
			}
		}
		fmt.Fprintln(t.w, strings.TrimRight(b.String(), " "))
	}
	t.rows = nil
}

// displayWidth is how many terminal cells s takes.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}
