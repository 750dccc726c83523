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

	"yujing"
	"yujing/alerting"
	"yujing/alerting/alertingtest"
	"yujing/config"
	"yujing/configs"
	"yujing/ingest"
	"yujing/internal/apiclient"
	"yujing/internal/sensorview"
	"yujing/internal/table"
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
		{"gbk", "../../ingest/sheet/testdata/gbk.csv", 0},
		{"broken", "../../ingest/sheet/testdata/broken.csv", 1},
		{"update", "../../ingest/sheet/testdata/update.tsv", 0},
		{"unknown-column", "../../ingest/sheet/testdata/unknown-column.csv", 1},
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
	eng *alertingtest.Stack
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
	eng := alertingtest.New(t, cfg.Rules, state, reg, alertingtest.Options{Engine: alerting.Options{Location: cfg.Location}})
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
		"imported: 9 created, 0 updated, 1 unchanged"} {
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
		if table.Width(l[:strings.LastIndex(l, "  ")+2]) != status {
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
	if code != 0 || !strings.Contains(stdout, "imported: 0 created, 0 updated, 10 unchanged") {
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
// imported, every problem listed — those the server finds (an unknown
// site, an unknown decoder) with those of the sheet itself.
func TestSensorsImportRefusesAnInvalidSheet(t *testing.T) {
	srv := newSensorsServer(t, "t")
	const sheet = "../../ingest/sheet/testdata/broken.csv"
	code, stdout, stderr := runSensors(t, "import", "-url", srv.url, "-token", "t", sheet)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "nothing imported: 16 problems (listed on stderr)") || strings.Count(stderr, sheet+":") != 16 ||
		!strings.Contains(stderr, sheet+`:8: column "Site": site "plant-9" is not defined (sites: demo-plant)`) ||
		!strings.Contains(stderr, sheet+`:9: column "Decoder": unknown decoder "modbus"`) {
		t.Errorf("want 16 problems listed, the server's too:\n%s%s", stdout, stderr)
	}
	if n := countSensors(t, srv.url+"#t"); n != 3 {
		t.Errorf("%d sensors after a refused import, want the demo's 3", n)
	}
	// A dry run against the server lists the same problems.
	code, _, dryErr := runSensors(t, "import", "-dry-run", "-url", srv.url, "-token", "t", sheet)
	if code != 1 || dryErr != stderr {
		t.Errorf("dry run: exit %d\n%s\nwant the import's problems\n%s", code, dryErr, stderr)
	}
	// No server and no configuration: nothing to check against.
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
	c, err := apiclient.New(u, tok)
	if err != nil {
		t.Fatal(err)
	}
	sts, err := sensorview.Statuses(t.Context(), c)
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

// TestSensorsImportAllOrNothing: a sheet whose middle row the server
// refuses (X-7 takes the topic of the configured GT-101) imports nothing,
// exits 1 and lists the problem at its line and column; the dry run
// against the same server reports the same problem. The old import
// created around the failed X-7, after a dry run that said all
// was fine.
func TestSensorsImportAllOrNothing(t *testing.T) {
	srv := newSensorsServer(t, "t")
	sheet := filepath.Join(t.TempDir(), "x.csv")
	if err := os.WriteFile(sheet, []byte("编号,名称,类型,站点,主题\n"+
		"X-6,东门探测器,燃气,demo-plant,\n"+
		"X-7,西门探测器,燃气,demo-plant,yujing/demo-plant/GT-101\n"+
		"X-8,北门探测器,燃气,demo-plant,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := sheet + `:3: column "主题": "yujing/demo-plant/GT-101" is already used by sensor GT-101`
	for _, dry := range []bool{true, false} {
		args := []string{"import", "-url", srv.url, "-token", "t", sheet}
		if dry {
			args = append([]string{"import", "-dry-run"}, args[1:]...)
		}
		code, stdout, stderr := runSensors(t, args...)
		if code != 1 || strings.TrimSpace(stderr) != want {
			t.Errorf("dry run %v: exit %d, stderr\n%s\nwant exit 1 and\n%s\nstdout:\n%s", dry, code, stderr, want, stdout)
		}
		if n := countSensors(t, srv.url+"#t"); n != 3 {
			t.Fatalf("dry run %v: %d sensors after a refused import, want the demo's 3", dry, n)
		}
	}
	// With no yujing there, a dry run against the configuration runs the
	// same checks and finds the same problem.
	code, stdout, stderr := runSensors(t, "import", "-dry-run", "-config", "../../configs/demo.yaml", "-url", "http://127.0.0.1:1", sheet)
	if code != 1 || strings.TrimSpace(stderr) != want || !strings.Contains(stdout, "3     X-7  invalid  1 problem, below") {
		t.Errorf("offline dry run: exit %d, stderr\n%s\nwant exit 1 and\n%s\nstdout:\n%s", code, stderr, want, stdout)
	}
}
