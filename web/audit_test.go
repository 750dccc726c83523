package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yujing"
	"yujing/alerting/lifecycle"
	"yujing/audit"
	"yujing/store"
	"yujing/store/sqlite"
	"yujing/store/sqlstate"
	"yujing/web"
)

// auditAlerts acks alert 1 and remembers the action; alert 2 is closed
// already (409).
type auditAlerts struct {
	mu   sync.Mutex
	last lifecycle.Action
}

func (*auditAlerts) List(context.Context, store.AlertFilter) ([]yujing.Alert, error) { return nil, nil }
func (*auditAlerts) Count(context.Context, store.AlertFilter) (map[yujing.Level]int, error) {
	return nil, nil
}
func (*auditAlerts) Get(context.Context, int64) (yujing.Alert, []yujing.Transition, error) {
	return yujing.Alert{}, nil, lifecycle.ErrNotFound
}
func (f *auditAlerts) Ack(_ context.Context, id int64, act lifecycle.Action) (yujing.Alert, error) {
	if id != 1 {
		return yujing.Alert{}, lifecycle.ErrConflict
	}
	f.mu.Lock()
	f.last = act
	f.mu.Unlock()
	return yujing.Alert{ID: 1, State: yujing.StateAcknowledged, AckedBy: act.By}, nil
}
func (f *auditAlerts) lastAction() lifecycle.Action {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}
func (f *auditAlerts) Dispose(ctx context.Context, id int64, act lifecycle.Action) (yujing.Alert, error) {
	return f.Ack(ctx, id, act)
}
func (f *auditAlerts) Close(ctx context.Context, id int64, act lifecycle.Action) (yujing.Alert, error) {
	return f.Ack(ctx, id, act)
}

// auditSensors deletes any sensor.
type auditSensors struct{}

func (auditSensors) Create(_ context.Context, s yujing.Sensor) (yujing.Sensor, error) { return s, nil }
func (auditSensors) Update(_ context.Context, s yujing.Sensor) (yujing.Sensor, error) { return s, nil }
func (auditSensors) Delete(context.Context, string) error                             { return nil }
func (auditSensors) Sites() []yujing.Site                                             { return nil }
func (auditSensors) Sensors() []yujing.Sensor                                         { return nil }
func (auditSensors) Check(*yujing.Sensor) error                                       { return nil }
func (auditSensors) Import(context.Context, []yujing.Sensor, bool) error              { return nil }

type auditEnv struct {
	url    string
	state  *sqlstate.State
	alerts *auditAlerts
	reg    *prometheus.Registry
	logs   *lockedBuffer
}

// lockedBuffer collects the server's log lines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newAuditEnv(t *testing.T, st audit.Store) *auditEnv {
	t.Helper()
	env := &auditEnv{alerts: &auditAlerts{}, reg: prometheus.NewRegistry(), logs: &lockedBuffer{}}
	if st == nil {
		s, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		env.state, st = s, s.AuditLog()
	}
	log := slog.New(slog.NewTextHandler(env.logs, nil))
	a, err := web.NewAudit(st, web.AuditOptions{Logger: log, Registerer: env.reg})
	if err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Options{Alerts: env.alerts, SensorsAdm: auditSensors{}, Audit: a, Logger: log,
		Reload: func(context.Context) error { return nil }})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	env.url = hs.URL
	return env
}

func (env *auditEnv) do(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, env.url+path, strings.NewReader(body))
	req.Header.Set("User-Agent", "duty-console/1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (env *auditEnv) entries(t *testing.T, query string) []audit.Entry {
	t.Helper()
	code, body := env.do(t, "GET", "/api/v1/audit"+query, "")
	if code != 200 {
		t.Fatalf("GET /api/v1/audit%s: %d %s", query, code, body)
	}
	var es []audit.Entry
	if err := json.Unmarshal([]byte(body), &es); err != nil {
		t.Fatal(err)
	}
	return es
}

func TestAuditRecordsActions(t *testing.T) {
	env := newAuditEnv(t, nil)
	if es := env.entries(t, ""); len(es) != 0 {
		t.Fatalf("fresh log: %v", es)
	}

	// An ack through the API: recorded with who, what, which, from where,
	// and the handler still got the whole body.
	if code, body := env.do(t, "POST", "/api/v1/alerts/1/ack", `{"by": "li", "note": "已到场"}`); code != 200 {
		t.Fatalf("ack: %d %s", code, body)
	}
	if env.alerts.lastAction().By != "li" || env.alerts.lastAction().Note != "已到场" {
		t.Errorf("handler got %+v", env.alerts.lastAction())
	}
	es := env.entries(t, "")
	if len(es) != 1 {
		t.Fatalf("after ack: %d entries", len(es))
	}
	e := es[0]
	if e.Seq != 1 || e.Actor != "li" || e.Action != "POST /api/v1/alerts/{id}/ack" || e.Object != "/api/v1/alerts/1/ack" ||
		!strings.HasPrefix(e.From, "127.0.0.1:") || !strings.Contains(e.From, `ua="duty-console/1.0"`) ||
		e.Detail != `{"by":"li","note":"已到场"}` || e.PrevHash != audit.GenesisHash || e.Hash != e.Sum() ||
		time.Since(e.At) > time.Minute {
		t.Errorf("ack entry %+v", e)
	}

	// Not recorded: refused actions, reads, unknown routes.
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/api/v1/alerts/2/ack", `{"by": "li"}`}, // 409
		{"POST", "/api/v1/alerts/x/ack", `{"by": "li"}`}, // 400
		{"POST", "/api/v1/alerts/1/ack", `{"by": 1}`},    // 400
		{"GET", "/api/v1/alerts", ""},                    // a read
		{"POST", "/api/v1/nothing", `{"by": "li"}`},      // 405
		{"POST", "/static-looking", `{"by": "li"}`},      // outside /api/ and /-/
		{"GET", "/api/v1/audit/verify", ""},              // a read
	} {
		env.do(t, r.method, r.path, r.body)
	}
	if es := env.entries(t, ""); len(es) != 1 {
		t.Errorf("refused actions and reads recorded: %+v", es)
	}

	// A body with secrets is recorded redacted; a DELETE without a body
	// names nobody.
	if code, body := env.do(t, "POST", "/-/reload", `{"by":"ops","token":"abc123","cfg":{"apiKey":"k-1","keyword":"kw"}}`); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	if code, _ := env.do(t, "DELETE", "/api/v1/sensors/GT-101", ""); code != 204 {
		t.Fatalf("delete sensor: %d", code)
	}
	es = env.entries(t, "")
	if len(es) != 3 || es[0].Seq != 3 || es[1].Seq != 2 {
		t.Fatalf("entries newest first: %+v", es)
	}
	reload, del := es[1], es[0]
	if reload.Actor != "ops" || reload.Action != "POST /-/reload" || strings.Contains(reload.Detail, "abc123") ||
		strings.Contains(reload.Detail, "k-1") || reload.Detail != `{"by":"ops","cfg":{"apiKey":"[REDACTED]","keyword":"kw"},"token":"[REDACTED]"}` {
		t.Errorf("reload entry %+v", reload)
	}
	if del.Actor != "anonymous" || del.Action != "DELETE /api/v1/sensors/{id}" || del.Object != "/api/v1/sensors/GT-101" || del.Detail != "" {
		t.Errorf("delete entry %+v", del)
	}
	if del.PrevHash != reload.Hash || reload.PrevHash != e.Hash {
		t.Error("entries are not chained")
	}

	// Filters.
	for q, want := range map[string]string{
		"?actor=li": "1",
		"?action=" + url.QueryEscape("/-/reload"): "2",
		"?action=POST":      "2,1",
		"?limit=1":          "3",
		"?limit=1&offset=1": "2",
		"?from=" + url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)): "",
		"?to=" + url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)):   "3,2,1",
		// q: text anywhere in the actor, action, object or detail, ASCII
		// letters in either case.
		"?q=" + url.QueryEscape("已到场"):       "1",
		"?q=gt-101":                          "3",
		"?q=OPS":                             "2",
		"?q=reload&actor=ops":                "2",
		"?q=reload&actor=li":                 "",
		"?q=" + url.QueryEscape("alerts/1/"): "1",
		"?q=REDACTED":                        "2",
		"?q=nowhere":                         "",
	} {
		var seqs []string
		for _, e := range env.entries(t, q) {
			seqs = append(seqs, strconv.FormatInt(e.Seq, 10))
		}
		if got := strings.Join(seqs, ","); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
	for _, q := range []string{"?from=yesterday", "?limit=-1", "?offset=x"} {
		if code, body := env.do(t, "GET", "/api/v1/audit"+q, ""); code != 400 || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %s", q, code, body)
		}
	}
	if n := counterValue(t, env.reg, "yujing_audit_entries_total"); n != 3 {
		t.Errorf("yujing_audit_entries_total = %v", n)
	}
}

func TestAuditRecordsDisposalWithPhotos(t *testing.T) {
	env := newAuditEnv(t, nil)
	// Larger than what is read ahead, with "by" after the photo: the entry
	// is made from what the handler read.
	photo := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1, 2, 3, 4}, 50<<10)...)
	body := `{"photos":[{"name":"valve.png","data":"` + base64.StdEncoding.EncodeToString(photo) + `"}],"note":"换阀","by":"li"}`
	if code, resp := env.do(t, "POST", "/api/v1/alerts/1/dispose", body); code != 200 {
		t.Fatalf("dispose: %d %s", code, resp)
	}
	if got := env.alerts.lastAction(); got.By != "li" || got.Note != "换阀" {
		t.Errorf("handler got %+v", got)
	}
	es := env.entries(t, "")
	sum := sha256.Sum256(photo)
	want := fmt.Sprintf(`{"by":"li","note":"换阀","photos":[{"data":"[base64: %d bytes, sha256 %x]","name":"valve.png"}]}`, len(photo), sum)
	if len(es) != 1 || es[0].Actor != "li" || es[0].Detail != want {
		t.Errorf("entries %+v\nwant detail %s", es, want)
	}
}

func counterValue(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func TestAuditExportCSVAndVerify(t *testing.T) {
	env := newAuditEnv(t, nil)
	for _, by := range []string{"li", "wang", "li"} {
		if code, body := env.do(t, "POST", "/api/v1/alerts/1/dispose", `{"by":"`+by+`","note":"关阀, \"二号\""}`); code != 200 {
			t.Fatalf("dispose: %d %s", code, body)
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", env.url+"/api/v1/audit.csv", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/csv; charset=utf-8" {
		t.Errorf("CSV: %d %s", resp.StatusCode, ct)
	}
	if len(rows) != 4 || strings.Join(rows[0], ",") != "seq,at,actor,action,object,detail,from,prev_hash,hash" {
		t.Fatalf("CSV rows %q", rows)
	}
	for i, r := range rows[1:] {
		if r[0] != strconv.Itoa(i+1) || r[2] != []string{"li", "wang", "li"}[i] || r[3] != "POST /api/v1/alerts/{id}/dispose" ||
			!strings.Contains(r[5], `关阀, \"二号\"`) {
			t.Errorf("CSV row %d: %q", i+1, r)
		}
	}
	code, body := env.do(t, "GET", "/api/v1/audit.csv?actor=li&limit=1&offset=1", "")
	if rows, _ := csv.NewReader(strings.NewReader(body)).ReadAll(); code != 200 || len(rows) != 2 || rows[1][0] != "3" {
		t.Errorf("filtered CSV: %d %q", code, body)
	}
	// The search selects the same entries in the CSV as in the list.
	code, body = env.do(t, "GET", "/api/v1/audit.csv?q=WANG", "")
	if rows, _ := csv.NewReader(strings.NewReader(body)).ReadAll(); code != 200 || len(rows) != 2 || rows[1][0] != "2" {
		t.Errorf("CSV searched for WANG: %d %q", code, body)
	}
	if code, _ := env.do(t, "GET", "/api/v1/audit.csv?to=never", ""); code != 400 {
		t.Errorf("CSV with a bad filter: %d", code)
	}

	var rep audit.Report
	code, body = env.do(t, "GET", "/api/v1/audit/verify", "")
	if err := json.Unmarshal([]byte(body), &rep); err != nil || code != 200 || !rep.OK || rep.Entries != 3 || rep.LastHash != rows[3][8] {
		t.Fatalf("verify: %d %s", code, body)
	}

	// Someone edits the database behind yujing's back.
	db, err := sql.Open("sqlite", env.state.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{`DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET actor = 'someone else' WHERE seq = 2`} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	rep = audit.Report{}
	code, body = env.do(t, "GET", "/api/v1/audit/verify", "")
	if err := json.Unmarshal([]byte(body), &rep); err != nil || code != 200 || rep.OK || rep.BadSeq != 2 ||
		rep.Problem != "row 2 was changed: its hash does not match its content" {
		t.Errorf("verify after tampering: %d %s", code, body)
	}
}

// failingLog refuses every append.
type failingLog struct{ audit.Store }

func (failingLog) Append(context.Context, *audit.Entry) error { return errors.New("disk full") }

func TestAuditFailureKeepsTheActionAndCounts(t *testing.T) {
	env := newAuditEnv(t, failingLog{})
	code, body := env.do(t, "POST", "/api/v1/alerts/1/ack", `{"by": "li"}`)
	if code != 200 || env.alerts.lastAction().By != "li" {
		t.Fatalf("ack with a failing audit log: %d %s, handler saw %+v", code, body, env.alerts.lastAction())
	}
	if code, body := env.do(t, "POST", "/-/reload", `{"by": "ops", "password": "hunter2"}`); code != 200 {
		t.Fatalf("reload with a failing audit log: %d %s", code, body)
	}
	if n := counterValue(t, env.reg, "yujing_audit_errors_total"); n != 2 {
		t.Errorf("yujing_audit_errors_total = %v", n)
	}
	logs := env.logs.String()
	if strings.Count(logs, "level=ERROR") != 2 || !strings.Contains(logs, "disk full") ||
		!strings.Contains(logs, "POST /api/v1/alerts/{id}/ack") || !strings.Contains(logs, "actor=ops") || strings.Contains(logs, "hunter2") {
		t.Errorf("log:\n%s", logs)
	}
}

func TestAuditEndpointsWithoutLog(t *testing.T) {
	srv := web.New(web.Options{Alerts: &auditAlerts{}})
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	for _, p := range []string{"/api/v1/audit", "/api/v1/audit.csv", "/api/v1/audit/verify"} {
		resp, err := http.Get(hs.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("%s without an audit log: %d", p, resp.StatusCode)
		}
	}
	if _, err := web.NewAudit(nil, web.AuditOptions{}); err == nil {
		t.Error("NewAudit(nil) succeeded")
	}
}
