package main

import (
	"bytes"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yujing/audit"
	"yujing/store/sqlite"
)

var auditCmdT0 = time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)

// seedAudit writes n entries into dir/state.db, an hour apart from
// auditCmdT0, by li and wang in turn.
func seedAudit(t *testing.T, dir string, n int) []audit.Entry {
	t.Helper()
	st, err := sqlite.OpenState(t.Context(), filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out []audit.Entry
	for i := range n {
		e := audit.Entry{At: auditCmdT0.Add(time.Duration(i) * time.Hour), Actor: []string{"li", "wang"}[i%2],
			Action: "POST /api/v1/alerts/{id}/ack", Object: fmt.Sprintf("/api/v1/alerts/%d/ack", i+1),
			Detail: `{"by":"x","note":"已处置, 见 \"记录\""}`, From: `127.0.0.1:5000 ua="curl/8"`}
		if err := st.AuditLog().Append(t.Context(), &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func runAudit(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), append([]string{"audit"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// tamperState changes dir/state.db behind yujing's back, past the
// append-only triggers, as anyone with the file could.
func tamperState(t *testing.T, dir string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range append([]string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}, stmts...) {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestAuditVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	es := seedAudit(t, dir, 5)
	code, out, errOut := runAudit(t, "verify", "-data", dir)
	if want := "audit log intact: 5 entries, last hash " + es[4].Hash + "\n"; code != 0 || out != want || errOut != "" {
		t.Fatalf("intact log: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	for _, c := range []struct {
		name, stmt, want string
	}{
		{"edited", `UPDATE audit_log SET actor = 'someone else' WHERE seq = 3`,
			"audit log broken: row 3 was changed: its hash does not match its content; entries 1 to 2 are intact"},
		{"deleted", `DELETE FROM audit_log WHERE seq = 4`,
			"audit log broken: row 4 is missing; entries 1 to 3 are intact"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			seedAudit(t, dir, 5)
			tamperState(t, dir, c.stmt)
			code, out, errOut := runAudit(t, "verify", "-data", dir)
			if code != 1 || !strings.HasPrefix(out, c.want) || errOut != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, errOut, c.want)
			}
		})
	}
}

func TestAuditCommandErrors(t *testing.T) {
	empty := t.TempDir()
	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{nil, 2, "Usage:"},
		{[]string{"shred"}, 2, `unknown command "shred"`},
		{[]string{"verify", "-data", empty}, 1, filepath.Join(empty, "state.db")},
		{[]string{"verify", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"verify", "-nope"}, 2, "flag provided but not defined"},
		{[]string{"export", "-data", empty}, 1, filepath.Join(empty, "state.db")},
		{[]string{"export", "-format", "xml"}, 2, `format "xml": want csv or json`},
		{[]string{"export", "-from", "yesterday"}, 2, `-from: want an RFC 3339 time`},
	} {
		code, out, errOut := runAudit(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.stderr) || out != "" {
			t.Errorf("yujing audit %q: exit %d, stdout %q, stderr %q; want exit %d and %q", c.args, code, out, errOut, c.code, c.stderr)
		}
	}
	if code, out, _ := runAudit(t, "help"); code != 0 || !strings.Contains(out, "yujing audit verify [-data DIR]") {
		t.Errorf("help: exit %d %q", code, out)
	}
}

func TestAuditExportCommand(t *testing.T) {
	dir := t.TempDir()
	es := seedAudit(t, dir, 5)

	code, out, errOut := runAudit(t, "export", "-data", dir)
	if code != 0 || errOut != "" {
		t.Fatalf("export: exit %d, stderr %q", code, errOut)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 || strings.Join(rows[0], ",") != "seq,at,actor,action,object,detail,from,prev_hash,hash" {
		t.Fatalf("CSV export %q", rows)
	}
	for i, r := range rows[1:] {
		if want := es[i].Record(); strings.Join(r, "|") != strings.Join(want, "|") {
			t.Errorf("row %d: %q, want %q", i+1, r, want)
		}
	}

	code, out, errOut = runAudit(t, "export", "-data", dir, "-format", "json",
		"-from", "2026-07-01T17:00:00+08:00", "-to", auditCmdT0.Add(4*time.Hour).Format(time.RFC3339))
	var got []audit.Entry
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 || errOut != "" {
		t.Fatalf("JSON export: exit %d, %v, stderr %q\n%s", code, err, errOut, out)
	}
	if len(got) != 3 || got[0].Seq != 2 || got[2].Seq != 4 || got[1].Hash != es[2].Hash || got[1].Detail != es[2].Detail {
		t.Errorf("JSON export from 09:00 to 12:00 UTC: %+v", got)
	}

	code, out, _ = runAudit(t, "export", "-data", dir, "-actor", "wang", "-format", "csv")
	if rows, _ := csv.NewReader(strings.NewReader(out)).ReadAll(); code != 0 || len(rows) != 3 || rows[1][0] != "2" || rows[2][0] != "4" {
		t.Errorf("export -actor wang: exit %d\n%s", code, out)
	}
}

// TestAuditServeRecordsAck acknowledges a warning through the API of a
// running yujing and finds the action in its audit log, over the API and
// with yujing audit verify once it stopped.
func TestAuditServeRecordsAck(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer hook.Close()
	cfg := demoConfig(t, hook.URL)
	inst := start(t, cfg)
	api := "http://" + inst.http
	publish(t, publisher(t, inst.mqtt), "yujing/demo-plant/GT-101", `{"value": 31.5}`)
	var alerts []apiAlert
	waitFor(t, 5*time.Second, "the gas alert", func() bool {
		alerts = nil
		getJSON(t, api+"/api/v1/alerts", &alerts)
		return len(alerts) == 1
	})
	req, _ := http.NewRequestWithContext(t.Context(), "POST", fmt.Sprintf("%s/api/v1/alerts/%d/ack", api, alerts[0].ID),
		strings.NewReader(`{"by": "zhang", "note": "收到, 去现场"}`))
	req.Header.Set("User-Agent", "duty-console/2")
	resp, err := authed.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("ack: %d", resp.StatusCode)
	}
	var es []audit.Entry
	// The actor is who authenticated (the test's token), not the body's "by".
	if code := getJSON(t, api+"/api/v1/audit?actor="+testActor, &es); code != 200 || len(es) != 1 {
		t.Fatalf("GET /api/v1/audit: %d %+v", code, es)
	}
	e := es[0]
	if e.Action != "POST /api/v1/alerts/{id}/ack" || e.Object != fmt.Sprintf("/api/v1/alerts/%d/ack", alerts[0].ID) ||
		!strings.Contains(e.From, "127.0.0.1:") || !strings.Contains(e.From, "duty-console/2") || !strings.Contains(e.Detail, "收到, 去现场") {
		t.Errorf("entry %+v", e)
	}

	// While yujing runs, and after it stopped.
	for _, when := range []string{"running", "stopped"} {
		if when == "stopped" {
			inst.stop()
		}
		code, out, errOut := runAudit(t, "verify", "-data", cfg.DataDir)
		if code != 0 || !strings.HasPrefix(out, "audit log intact: 1 entry, last hash "+e.Hash) {
			t.Errorf("%s: yujing audit verify: exit %d, stdout %q, stderr %q", when, code, out, errOut)
		}
	}
}
