package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"yujing"
	"yujing/alerting"
	"yujing/config"
	"yujing/configs"
	"yujing/ingest"
	"yujing/store/sqlite"
	"yujing/web"
)

func runSensors(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), append([]string{"sensors"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestSensorsImportDryRunGolden runs `yujing sensors import -dry-run`
// against the demo configuration (no yujing answers at the URL) on the
// example sheet, a Chinese Excel (GBK) sheet, a semicolon sheet with many
// problems, a tab-separated sheet changing the demo's sensors and a sheet
// with an unknown column, and compares stdout, stderr and the exit status
// with testdata/sensors/*.golden. Run with -update to rewrite them, then
// read every one.
func TestSensorsImportDryRunGolden(t *testing.T) {
	t.Setenv("YUJING_TOKEN", "")
	for _, c := range []struct {
		name, file string
		code       int
	}{
		{"example", "../../configs/sensors-example.csv", 0},
		{"gbk", "testdata/sensors/gbk.csv", 0},
		{"broken", "testdata/sensors/broken.csv", 1},
		{"update", "testdata/sensors/update.tsv", 0},
		{"unknown-column", "testdata/sensors/unknown-column.csv", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runSensors(t, "import", "-dry-run", "-config", "../../configs/demo.yaml",
				"-url", "http://127.0.0.1:1", c.file)
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, stdout, stderr)
			}
			got := stdout + "--- stderr\n" + stderr
			golden := filepath.Join("testdata", "sensors", c.name+".golden")
			if *updateCheck {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestSensorsImportDryRunGolden -update and review)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s:\n got:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

// sensorsServer is yujing's HTTP API on loopback around the demo
// configuration (plus a fault rule for gas detectors), with a real
// registry, catalogue, rule engine and state database, behind a check of
// the bearer token.
type sensorsServer struct {
	url string
	eng *alerting.Engine
}

const faultRuleYAML = `rules:
  - name: gas-fault
    description: 探测器超量程
    kind: fault
    match: {family: gas}
    level: blue
`

func newSensorsServer(t *testing.T, token string) *sensorsServer {
	t.Helper()
	ctx := t.Context()
	cfg, err := config.Parse("demo+fault.yaml", bytes.Replace(configs.Demo, []byte("rules:\n"), []byte(faultRuleYAML), 1), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	state, err := sqlite.OpenState(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { state.Close() })
	reg, err := ingest.NewRegistry(cfg.Sites, cfg.Sensors, cfg.MQTT.Topics...)
	if err != nil {
		t.Fatal(err)
	}
	names, err := decoderNames()
	if err != nil {
		t.Fatal(err)
	}
	cat := ingest.NewCatalog(reg, state, cfg.Sites, cfg.Sensors, cfg.MQTT.Topics, names, cfg.Families)
	if err := cat.Load(ctx); err != nil {
		t.Fatal(err)
	}
	eng, err := alerting.New(cfg.Rules, cfg.Routes, state, nopReplayCaller{}, reg, alerting.Options{Location: cfg.Location})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	cat.OnChange(eng.Rebind)
	h := web.New(web.Options{Alerts: eng, Sensors: reg, SensorsAdm: cat, Rules: eng}).Handler()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"authentication required"}` + "\n"))
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	return &sensorsServer{url: hs.URL, eng: eng}
}

// TestSensorsImportIntoServer imports the example sheet into a running API
// and checks what an integrator sees: the dry run's plan, each row's
// result, the sensors in ls and show, and that a second import changes
// nothing. The token comes from YUJING_TOKEN; without it the API's 401 is
// explained.
func TestSensorsImportIntoServer(t *testing.T) {
	const token = "tok-import-test"
	srv := newSensorsServer(t, token)
	sheet := "../../configs/sensors-example.csv"

	t.Setenv("YUJING_TOKEN", "")
	code, _, stderr := runSensors(t, "import", "-url", srv.url, sheet)
	if code != 1 || !strings.Contains(stderr, "HTTP 401: authentication required (give an API token with -token or YUJING_TOKEN)") {
		t.Fatalf("without a token: exit %d, stderr %q", code, stderr)
	}

	t.Setenv("YUJING_TOKEN", token)
	code, stdout, stderr := runSensors(t, "import", "-dry-run", "-url", srv.url, sheet)
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"Dry run: ../../configs/sensors-example.csv (10 rows, UTF-8, comma-separated) against the 3 sensors at " + srv.url,
		"GT-101  unchanged",
		"GT-105  create     gas at demo-plant, topic plant/demo-plant/gas/GT-105, decoder json, every 10s",
		"dry run: 9 to create, 0 to update, 1 unchanged, 0 invalid; nothing changed",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry run: missing %q in\n%s", want, stdout)
		}
	}
	if code, _, _ := runSensors(t, "ls", "-url", srv.url, "-json"); code != 0 {
		t.Fatalf("ls: exit %d", code)
	}
	if n := countSensors(t, srv.url); n != 3 {
		t.Fatalf("the dry run changed the server: %d sensors, want 3", n)
	}

	code, stdout, stderr = runSensors(t, "import", "-url", srv.url, sheet)
	if code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"2     GT-101  unchanged", "3     GT-102  created", "11    WL-402  created",
		"imported: 9 created, 0 updated, 1 unchanged, 0 failed"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("import: missing %q in\n%s", want, stdout)
		}
	}

	// ls: every sensor, with Chinese names lined up.
	code, stdout, stderr = runSensors(t, "ls", "-url", srv.url)
	if code != 0 {
		t.Fatalf("ls: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	if len(lines) != 13 || !strings.HasPrefix(lines[0], "ID ") {
		t.Fatalf("ls: want a header and 12 sensors, got\n%s", stdout)
	}
	status := strings.Index(lines[0], "STATUS")
	for _, l := range lines[1:] {
		if displayWidth(l[:strings.LastIndex(l, "  ")+2]) != status {
			t.Errorf("ls: status column not aligned at %d: %q", status, l)
		}
		if !strings.HasSuffix(l, "  offline") || !strings.Contains(l, "  never  ") {
			t.Errorf("ls: a sensor never heard from is offline and never seen: %q", l)
		}
	}
	if !strings.Contains(stdout, "WL-401  厂外河道水位") {
		t.Errorf("ls: WL-401 missing:\n%s", stdout)
	}
	_, stdout, _ = runSensors(t, "ls", "-url", srv.url, "-family", "防汛")
	if got := strings.Count(stdout, "\n"); got != 3 || !strings.Contains(stdout, "WL-402") {
		t.Errorf("ls -family 防汛: want the header and 2 flood sensors:\n%s", stdout)
	}

	// show: every field of one sensor.
	code, stdout, stderr = runSensors(t, "show", "GT-104", "-url", srv.url)
	if code != 0 {
		t.Fatalf("show: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"name:        泵房硫化氢探测器", "family:      gas 燃气", "topic:       yujing/demo-plant/GT-104",
		"metric:      h2s (ppm)", "range:       0 … 100 ppm", "interval:    10s (offline after 30s without a reading)",
		"tags:        {gas=H2S, zone=pumps}", "location:    泵房北墙 (31.2715,120.6111)", "status:      offline"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("show: missing %q in\n%s", want, stdout)
		}
	}
	if code, _, stderr := runSensors(t, "show", "-url", srv.url, "GT-999"); code != 1 || !strings.Contains(stderr, "HTTP 404") {
		t.Errorf("show of an unknown sensor: exit %d, %q", code, stderr)
	}

	// A detector reading outside its range raises the fault rule: ls says so.
	srv.eng.ObserveFault(t.Context(), yujing.Reading{Sensor: "GT-103", Site: "demo-plant", Family: yujing.FamilyGas,
		Metric: "lel", Unit: "%LEL", Value: 180, Time: time.Now()}, ingest.ReasonOutOfRange)
	_, stdout, _ = runSensors(t, "ls", "-url", srv.url, "-site", "demo-plant", "-family", "gas")
	if !strings.Contains(stdout, "GT-103  泵房可燃气体探测器") || !strings.Contains(lineOf(stdout, "GT-103"), "  fault") {
		t.Errorf("ls: GT-103 should be fault:\n%s", stdout)
	}
	_, stdout, _ = runSensors(t, "show", "-url", srv.url, "GT-103")
	if !strings.Contains(stdout, "status:      fault") || !strings.Contains(stdout, "gas-fault blue (firing)") {
		t.Errorf("show: the fault warning is missing:\n%s", stdout)
	}

	// Importing again changes nothing; an edited sheet updates in place.
	code, stdout, _ = runSensors(t, "import", "-url", srv.url, sheet)
	if code != 0 || !strings.Contains(stdout, "imported: 0 created, 0 updated, 10 unchanged, 0 failed") {
		t.Errorf("second import: exit %d\n%s", code, stdout)
	}
	edited := filepath.Join(t.TempDir(), "edited.csv")
	os.WriteFile(edited, []byte("编号,量程上限,上报间隔,标签\nTK-203,4,30秒,\nWL-401,,,warning_level=4.5\n"), 0o644)
	code, stdout, _ = runSensors(t, "import", "-url", srv.url, edited)
	for _, want := range []string{"TK-203  updated: interval 10s → 30s; max 2.5 → 4",
		"WL-401  updated: tags {guaranteed_level=5.0, warning_level=4.2} → {warning_level=4.5}"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("edited import: exit %d, missing %q in\n%s", code, want, stdout)
		}
	}
	_, stdout, _ = runSensors(t, "show", "-url", srv.url, "TK-203")
	if !strings.Contains(stdout, "name:        3号储罐压力") || !strings.Contains(stdout, "range:       0 … 4 MPa") {
		t.Errorf("an empty cell must keep the sensor's value:\n%s", stdout)
	}

	// -json carries the API's fields and the status word.
	_, stdout, _ = runSensors(t, "ls", "-url", srv.url, "-json", "-family", "hazard")
	var items []struct {
		ID, Topic, Status, Interval string
	}
	if err := json.Unmarshal([]byte(stdout), &items); err != nil || len(items) != 3 || items[2].ID != "TK-203" ||
		items[2].Status != "offline" || items[2].Interval != "30s" {
		t.Errorf("ls -json: %v %+v\n%s", err, items, stdout)
	}
}

// TestSensorsImportRefusesAnInvalidSheet: one bad row and nothing is
// imported, every problem listed.
func TestSensorsImportRefusesAnInvalidSheet(t *testing.T) {
	srv := newSensorsServer(t, "t")
	code, stdout, stderr := runSensors(t, "import", "-url", srv.url, "-token", "t", "testdata/sensors/broken.csv")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "nothing imported: 14 problems (listed on stderr)") || strings.Count(stderr, "testdata/sensors/broken.csv:") != 14 {
		t.Errorf("want 14 problems listed (no -config: sites and decoders are the server's to check):\n%s%s", stdout, stderr)
	}
	if n := countSensors(t, srv.url+"#t"); n != 3 {
		t.Errorf("%d sensors after a refused import, want the demo's 3", n)
	}
	// Against a server, -config still checks sites and decoders.
	code, _, stderr = runSensors(t, "import", "-dry-run", "-url", srv.url, "-token", "t", "-config", "../../configs/demo.yaml", "testdata/sensors/broken.csv")
	if code != 1 || !strings.Contains(stderr, `column "Decoder": unknown decoder "modbus"`) {
		t.Errorf("dry run with -config: exit %d\n%s", code, stderr)
	}
	// No server and no configuration: nothing to compare with.
	code, _, stderr = runSensors(t, "import", "-dry-run", "-url", "http://127.0.0.1:1", "../../configs/sensors-example.csv")
	if code != 1 || !strings.Contains(stderr, "no answer from http://127.0.0.1:1") || !strings.Contains(stderr, "give -config") {
		t.Errorf("no server: exit %d\n%s", code, stderr)
	}
}

// countSensors counts the sensors at url (a token after '#').
func countSensors(t *testing.T, u string) int {
	t.Helper()
	u, tok, _ := strings.Cut(u, "#")
	if tok == "" {
		tok = os.Getenv("YUJING_TOKEN")
	}
	c, err := newAPIClient(u, tok)
	if err != nil {
		t.Fatal(err)
	}
	sts, err := c.statuses(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return len(sts)
}

func lineOf(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// TestSensorsLsLive imports a sheet into a running yujing serve, publishes
// readings over MQTT and checks that ls shows the last values, when each
// sensor was heard from and whether it is online.
func TestSensorsLsLive(t *testing.T) {
	inst := start(t, demoConfig(t, "http://127.0.0.1:9/hook"))
	url := "http://" + inst.http
	t.Setenv("YUJING_TOKEN", testToken) // the harness's admin token
	if code, stdout, stderr := runSensors(t, "import", "-url", url, "../../configs/sensors-example.csv"); code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, stdout, stderr)
	}
	pub := publisher(t, inst.mqtt)
	publish(t, pub, "yujing/demo-plant/GT-102", `{"value": 5}`)
	publish(t, pub, "plant/demo-plant/gas/GT-105", `{"value": 7.5}`) // its own topic template
	publish(t, pub, "yujing/demo-plant/TK-201", `{"values": {"level": 9.1, "pressure": 0.42}}`)
	var stdout string
	took := waitFor(t, 10*time.Second, "ls to show the readings", func() bool {
		_, stdout, _ = runSensors(t, "ls", "-url", url)
		return strings.Contains(lineOf(stdout, "TK-201"), "online")
	})
	t.Logf("ls showed the readings %s after publishing:\n%s", took, stdout)
	for id, want := range map[string][]string{
		"GT-102": {"装卸区可燃气体探测器", "5 %LEL", "s ago", "online"},
		"GT-105": {"7.5 %LEL", "online"},
		"TK-201": {"1号储罐", "level 9.1 m, pressure 0.42 MPa", "online"},
		"GT-103": {"-", "never", "offline"},
	} {
		l := lineOf(stdout, id+" ")
		for _, w := range want {
			if !strings.Contains(l, w) {
				t.Errorf("ls line of %s = %q, want %q in it", id, l, w)
			}
		}
	}
}

func TestSensorsUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Usage:"},
		{[]string{"frobnicate"}, 2, `unknown subcommand "frobnicate"`},
		{[]string{"import"}, 2, "Flags of import"},
		{[]string{"import", "-url", "ftp://x", "a.csv"}, 2, "-url: want http://HOST:PORT"},
		{[]string{"import", "-dry-run", "-config", "../../configs/demo.yaml", "missing.csv"}, 1, "missing.csv: no such file"},
		{[]string{"ls", "-family", "smoke"}, 2, `unknown family "smoke"`},
		{[]string{"ls", "-url", "http://127.0.0.1:1"}, 1, "no answer from http://127.0.0.1:1"},
		{[]string{"show"}, 2, "Usage: yujing sensors show"},
	} {
		code, _, stderr := runSensors(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("sensors %v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

func TestParseInterval(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"10s", 10 * time.Second, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"30", 30 * time.Second, ""},
		{"30秒", 30 * time.Second, ""},
		{"5分钟", 5 * time.Minute, ""},
		{"5 分", 5 * time.Minute, ""},
		{"1小时", time.Hour, ""},
		{"0.5", 500 * time.Millisecond, ""},
		{"0", 0, "must be more than zero"},
		{"-5s", 0, "must be more than zero"},
		{"every minute", 0, "is not a duration"},
		{"5 minutes", 0, "is not a duration"},
		{"1e300", 0, "is not a duration"},
		{"分钟", 0, "is not a duration"},
	} {
		got, err := parseInterval(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseInterval(%q) = %v, %v; want error %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("parseInterval(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

// TestParseSheetEncodings: the same sheet saved by Excel as CSV UTF-8
// (BOM), CSV (逗号分隔) on Chinese Windows (GBK), Unicode text (UTF-16,
// tabs) and with semicolons reads the same.
func TestParseSheetEncodings(t *testing.T) {
	text := "编号,名称,类型,站点\r\nGT-1,罐区探测器,燃气,demo-plant\r\n"
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	tabs := strings.ReplaceAll(text, ",", "\t")
	var utf16 []byte
	utf16 = append(utf16, 0xFF, 0xFE)
	for _, r := range tabs {
		utf16 = append(utf16, byte(r), byte(r>>8))
	}
	for _, c := range []struct {
		name, enc string
		data      []byte
	}{
		{"utf-8", "UTF-8, comma-separated", []byte(text)},
		{"bom", "UTF-8 with BOM, comma-separated", append([]byte("\xEF\xBB\xBF"), text...)},
		{"gbk", "GB18030, comma-separated", []byte(gbk)},
		{"utf-16", "UTF-16LE, tab-separated", utf16},
		{"semicolons", "UTF-8, semicolon-separated", []byte(strings.ReplaceAll(text, ",", ";"))},
	} {
		sh := parseSheet(c.name, c.data)
		if len(sh.errs) > 0 || sh.describe() != c.enc {
			t.Errorf("%s: %s, errors %v", c.name, sh.describe(), sh.errorLines())
			continue
		}
		rows := sh.sensors(nil)
		if len(rows) != 1 || rows[0].s.Name != "罐区探测器" || rows[0].s.Family != yujing.FamilyGas || rows[0].line != 2 {
			t.Errorf("%s: rows %+v", c.name, rows)
		}
	}
	for _, c := range []struct {
		data []byte
		want string
	}{
		{[]byte{0x81, 0x20, 0xFF, 0xFF}, "f.csv:1: neither UTF-8 nor GB18030"},
		{[]byte("\ufeffid,name\nGT-1,\x9e\n"), "f.csv:2: starts as UTF-8 but line 2 is not valid UTF-8"},
		{[]byte("\xff\xfei\x00d\x00\n\x00\x00\xd8"), "f.csv:1: starts as UTF-16LE but is not valid UTF-16LE"},
	} {
		if sh := parseSheet("f.csv", c.data); len(sh.errs) != 1 || !strings.Contains(sh.errorLines()[0], c.want) {
			t.Errorf("%q: %v, want %q", c.data, sh.errorLines(), c.want)
		}
	}
}

// FuzzParseSheet feeds the sheet reader garbage: it never panics, every
// problem names a line of the file, and every row it accepts has a valid
// id and a line after the header.
func FuzzParseSheet(f *testing.F) {
	for _, p := range []string{"../../configs/sensors-example.csv", "testdata/sensors/gbk.csv", "testdata/sensors/broken.csv",
		"testdata/sensors/update.tsv", "testdata/sensors/unknown-column.csv"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("id\n\"GT-1\n"))
	f.Add([]byte("\ufeff编号,名称 \n0,\x9e"))             // a BOM, then bytes that are not UTF-8
	f.Add([]byte("\xff\xfei\x00d\x00\n\x00\x00\xd8")) // UTF-16 with a lone surrogate
	f.Add([]byte("id,tags\nA,\"k=v;x\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sh := parseSheet("f.csv", data)
		rows := sh.sensors(&sheetRef{source: "c.yaml", sites: []yujing.Site{{ID: "s"}}, decoders: []string{"json"}})
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, e := range sh.errs {
			if e.line < 1 || e.line > lines {
				t.Fatalf("error at line %d of a %d-line file: %s", e.line, lines, e.msg)
			}
		}
		for _, r := range rows {
			if r.line < 2 || !sensorIDPattern.MatchString(r.id) || !utf8.ValidString(r.s.Name) {
				t.Fatalf("accepted row %+v", r)
			}
			if r.s.Min != nil && r.s.Max != nil && *r.s.Min >= *r.s.Max {
				t.Fatalf("accepted an inverted range: %+v", r)
			}
		}
		steps := sh.plan(rows, map[string]yujing.Sensor{"A": {ID: "A", Site: "s", Family: yujing.FamilyGas}}, nil)
		if len(steps) != len(sh.rows) {
			t.Fatalf("%d steps for %d rows", len(steps), len(sh.rows))
		}
	})
}

// TestImportPlanKeepsWhatCellsLeaveEmpty: a row changes only what its
// cells say; a location's place name and coordinates, a tags cell and
// tag:NAME cells each keep or replace their own part.
func TestImportPlanKeepsWhatCellsLeaveEmpty(t *testing.T) {
	lo, hi := 0.0, 100.0
	cur := yujing.Sensor{ID: "GT-1", Name: "罐区探测器", Site: "plant", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL",
		Units: map[string]string{"lel": "%LEL", "temp": "℃"}, Location: "罐区东侧 (31.1,120.2)", Topic: "yujing/plant/GT-1",
		Decoder: "json", Interval: 10 * time.Second, Min: &lo, Max: &hi, Tags: map[string]string{"zone": "A", "owner": "王工"}}
	for _, c := range []struct {
		name, sheet string
		want        string
	}{
		{"nothing but the id", "id,name,max\nGT-1,,\n", "unchanged"},
		{"the same values", "编号,名称,量程上限,上报间隔\nGT-1,罐区探测器,100,10秒\n", "unchanged"},
		{"place name only", "id,location,lat,lon\nGT-1,罐区西侧,,\n", `update location "罐区东侧 (31.1,120.2)" → "罐区西侧 (31.1,120.2)"`},
		{"coordinates only", "id,location,lat,lon\nGT-1,,31.3,120.4\n", `update location "罐区东侧 (31.1,120.2)" → "罐区东侧 (31.3,120.4)"`},
		{"tags cell replaces", "id,tags\nGT-1,zone=B\n", "update tags {owner=王工, zone=A} → {zone=B}"},
		{"tag column sets one", "id,tag:zone\nGT-1,B\n", "update tags {owner=王工, zone=A} → {owner=王工, zone=B}"},
		{"site moves the default topic", "id,site\nGT-1,yard\n", `update site "plant" → "yard"; topic "yujing/plant/GT-1" → "yujing/yard/GT-1"`},
		{"topic template", "id,topic\nGT-1,field/{site}/{family}/{sensor}\n", `update topic "yujing/plant/GT-1" → "field/plant/gas/GT-1"`},
		{"one end inverts the range", "id,min\nGT-1,150\n", `invalid: f.csv:2: column "min": range min 150 must be below max 100 (the other end is the sensor's current one)`},
		{"new without a site", "id,family\nGT-2,gas\n", `invalid: f.csv:2: column "site": empty; a new sensor needs its site`},
		{"new", "id,family,site\nGT-2,防汛,plant\n", "create flood at plant, topic yujing/plant/GT-2, decoder json, every 1m"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sh := parseSheet("f.csv", []byte(c.sheet))
			steps := sh.plan(sh.sensors(nil), map[string]yujing.Sensor{"GT-1": cur}, nil)
			if len(steps) != 1 {
				t.Fatalf("%d steps", len(steps))
			}
			s := steps[0]
			got := string(s.action)
			switch s.action {
			case actionUpdate:
				got += " " + strings.Join(s.changes, "; ")
			case actionCreate:
				got += " " + s.details
			case actionInvalid:
				got += ": " + strings.Join(sh.errorLines(), "; ")
			}
			if got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
			if s.action == actionUpdate && (len(s.sensor.Units) != 2 || s.sensor.Metric != "lel" || *s.sensor.Max != 100) {
				t.Errorf("fields without a cell changed: %+v", s.sensor)
			}
		})
	}
	if len(cur.Tags) != 2 || cur.Tags["zone"] != "A" {
		t.Errorf("the current sensor was modified: %v", cur.Tags)
	}
}

// TestParseFamilyConfigured: a sheet's family column takes the families the
// configuration declares, by id or Chinese name, besides the built-in ones
// and their aliases.
func TestParseFamilyConfigured(t *testing.T) {
	fams := append(yujing.BuiltinFamilies(), yujing.FamilyInfo{ID: "smoke", Name: "智能烟感", NameEN: "smoke alarm"})
	for _, c := range []struct {
		fams yujing.Families
		in   string
		want yujing.Family
		err  string
	}{
		{fams, "smoke", "smoke", ""},
		{fams, "SMOKE", "smoke", ""},
		{fams, "智能烟感", "smoke", ""},
		{fams, "可燃气体", yujing.FamilyGas, ""},
		{nil, "smoke", "", `unknown family "smoke"`},
		{fams, "tailings", "", "want gas 燃气, hazard 危化品重大危险源"},
	} {
		got, err := parseFamily(c.fams, c.in)
		if got != c.want || (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("parseFamily(%d families, %q) = %q, %v; want %q, %q", len(c.fams), c.in, got, err, c.want, c.err)
		}
	}
}
