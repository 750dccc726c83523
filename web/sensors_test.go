package web_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"yujing"
	"yujing/ingest"
	"yujing/store/sqlite"
	"yujing/web"
	"yujing/web/auth"
)

// The tokens of the import tests' admin, operator and viewer.
const (
	adminTok    = "admin-token-for-the-import-tests-0001"
	operatorTok = "operator-token-for-the-import-tests-01"
	viewerTok   = "viewer-token-for-the-import-tests-0001"
)

// importFixture is the API over a real catalogue (one plant, the gas
// detector GT-1 and the tank TK-1) saving to a real state database,
// behind authentication with an admin's, an operator's and a viewer's
// token.
type importFixture struct {
	url   string
	state string // the state database's path
	cat   *ingest.Catalog
}

func newImportFixture(t *testing.T) *importFixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := sqlite.OpenState(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sites := []yujing.Site{{ID: "plant", Name: "甲化工厂", Region: "320506"}}
	base := []yujing.Sensor{{ID: "GT-1", Site: "plant", Family: yujing.FamilyGas, Metric: "lel"},
		{ID: "TK-1", Site: "plant", Family: yujing.FamilyHazard, Metric: "level"}}
	reg, err := ingest.NewRegistry(sites, base)
	if err != nil {
		t.Fatal(err)
	}
	cat := ingest.NewCatalog(reg, st, sites, base, nil, []string{"json", "plain"}, yujing.BuiltinFamilies())
	if err := cat.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	svc, err := auth.New(auth.Options{Store: st, Hash: &auth.Params{Memory: 64, Time: 1, Threads: 1},
		LookupEnv: func(string) (string, bool) { return "", false },
		Tokens: []auth.ConfigToken{{Name: "ci", Role: auth.Admin, Token: adminTok},
			{Name: "duty", Role: auth.Operator, Token: operatorTok}, {Name: "wall", Role: auth.Viewer, Token: viewerTok}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Options{Alerts: testEngine(t, reg, time.Now), Sensors: reg, SensorsAdm: cat, Auth: svc,
		Logger: slog.New(slog.DiscardHandler)})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &importFixture{url: hs.URL, state: path, cat: cat}
}

type importAnswer struct {
	Error   string
	Format  string
	Rows    int
	Sensors int
	DryRun  bool `json:"dry_run"`
	Applied bool
	Steps   []struct {
		Line, Item int
		ID, Action string
		Problems   int
	}
	Problems []struct {
		Line, Col, Item        int
		Column, Field, Message string
	}
}

func (f *importFixture) post(t *testing.T, token, query, contentType string, body []byte) (int, importAnswer, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", f.url+"/api/v1/sensors/import"+query, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a importAnswer
	json.Unmarshal(raw, &a)
	return resp.StatusCode, a, string(raw)
}

func (f *importFixture) ids() string {
	var ids []string
	for _, s := range f.cat.Sensors() {
		ids = append(ids, s.ID)
	}
	return strings.Join(ids, " ")
}

// steps writes the answer's steps as "line:id:action" (item for JSON).
func steps(a importAnswer) string {
	var out []string
	for _, s := range a.Steps {
		at := s.Line
		if s.Item > 0 {
			at = s.Item
		}
		out = append(out, strings.Join([]string{itoa(at), s.ID, s.Action}, ":"))
	}
	return strings.Join(out, " ")
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func gbk(t *testing.T, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(b)
}

// TestSensorsImportAPI: POST /api/v1/sensors/import takes the sheet as
// Chinese Excel saves it (GBK) and imports it all or nothing: a sheet
// whose middle row takes GT-1's topic is refused whole (422, the problem
// at its line and column, X-6 and X-8 not created), in a dry run as in an
// import; fixed, its dry run changes nothing and its import creates all
// three sensors. A JSON list is imported the same way. Only an admin may.
func TestSensorsImportAPI(t *testing.T) {
	f := newImportFixture(t)
	bad := gbk(t, "编号,名称,类型,站点,主题\r\nX-6,东门探测器,燃气,甲化工厂,\r\nX-7,西门探测器,燃气,plant,yujing/plant/GT-1\r\nX-8,北门探测器,燃气,plant,\r\n")
	for _, tok := range []string{operatorTok, viewerTok} {
		if code, _, raw := f.post(t, tok, "", "text/csv", bad); code != http.StatusForbidden {
			t.Errorf("%s: %d %s, want 403", tok, code, raw)
		}
	}
	for _, q := range []string{"?dry_run=1", ""} {
		code, a, raw := f.post(t, adminTok, q, "text/csv; charset=gbk", bad)
		if code != http.StatusUnprocessableEntity || a.Error != "1 problem; nothing imported" || a.Applied || a.DryRun != (q != "") ||
			a.Format != "GB18030, comma-separated" || a.Rows != 3 || a.Sensors != 2 || steps(a) != "2:X-6:create 3:X-7:invalid 4:X-8:create" {
			t.Errorf("%q: %d %s", q, code, raw)
		}
		if len(a.Problems) != 1 || a.Problems[0].Line != 3 || a.Problems[0].Col != 5 || a.Problems[0].Column != "主题" ||
			a.Problems[0].Message != `"yujing/plant/GT-1" is already used by sensor GT-1` {
			t.Errorf("%q: problems %+v", q, a.Problems)
		}
		if got := f.ids(); got != "GT-1 TK-1" {
			t.Fatalf("%q: sensors %s after a refused import, want GT-1 TK-1", q, got)
		}
	}

	fixed := bytes.Replace(bad, []byte("yujing/plant/GT-1"), nil, 1)
	code, a, raw := f.post(t, adminTok, "?dry_run=1", "application/vnd.ms-excel", fixed)
	if code != http.StatusOK || a.Applied || !a.DryRun || a.Error != "" || steps(a) != "2:X-6:create 3:X-7:create 4:X-8:create" || f.ids() != "GT-1 TK-1" {
		t.Errorf("dry run of the fixed sheet: %d %s; sensors %s", code, raw, f.ids())
	}
	code, a, raw = f.post(t, adminTok, "", "text/csv", fixed)
	if code != http.StatusOK || !a.Applied || f.ids() != "GT-1 TK-1 X-6 X-7 X-8" {
		t.Errorf("import of the fixed sheet: %d %s; sensors %s", code, raw, f.ids())
	}

	code, a, raw = f.post(t, adminTok, "", "application/json",
		[]byte(`[{"id": "X-9", "site": "plant", "family": "flood", "interval": "5m"}, {"id": "GT-1", "site": "plant", "family": "gas", "metric": "lel", "max": 100}]`))
	if code != http.StatusOK || !a.Applied || a.Format != "JSON" || steps(a) != "1:X-9:create 2:GT-1:update" || !strings.Contains(f.ids(), "X-9") {
		t.Errorf("JSON list: %d %s", code, raw)
	}
	code, a, raw = f.post(t, adminTok, "", "application/json", []byte(`[{"id": "X-10", "site": "plant", "family": "gas", "colour": "red"}]`))
	if code != http.StatusUnprocessableEntity || len(a.Problems) != 1 || a.Problems[0].Item != 1 || a.Problems[0].Message != `json: unknown field "colour"` {
		t.Errorf("JSON list with an unknown field: %d %s", code, raw)
	}
}

// TestSensorsImportAPIRefusals: what the endpoint refuses before reading
// a sheet, and that a store failing mid-batch answers 500 with nothing
// changed.
func TestSensorsImportAPIRefusals(t *testing.T) {
	f := newImportFixture(t)
	sheet := []byte("id,family,site\nX-1,gas,plant\nX-2,gas,plant\n")
	for _, c := range []struct {
		name, query, ctype string
		body               []byte
		code               int
		want               string
	}{
		{"a form", "", "multipart/form-data; boundary=x", sheet, 415, "send the sheet as text/csv"},
		{"a bad dry_run", "?dry_run=yes", "text/csv", sheet, 400, `dry_run: want 1 or 0, got "yes"`},
		{"too big", "", "text/csv", append([]byte("id\n"), bytes.Repeat([]byte("X-1\n"), web.MaxImportBody/4)...), 413, "request body over"},
		{"an empty body", "", "text/csv", nil, 422, "1 problem; nothing imported"},
	} {
		code, a, raw := f.post(t, adminTok, c.query, c.ctype, c.body)
		if code != c.code || !strings.Contains(a.Error+raw, c.want) {
			t.Errorf("%s: %d %s; want %d with %q", c.name, code, raw, c.code, c.want)
		}
	}

	db, err := sql.Open("sqlite", f.state)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), `CREATE TRIGGER refuse_x2 BEFORE INSERT ON sensors WHEN NEW.id = 'X-2'
		BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, _, raw := f.post(t, adminTok, "", "text/csv", sheet)
	if code != http.StatusInternalServerError || !strings.Contains(raw, "nothing imported: state ") || f.ids() != "GT-1 TK-1" {
		t.Errorf("store failing: %d %s; sensors %s", code, raw, f.ids())
	}
}
