package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"yujing/internal/testenv"
	"yujing/store/sqlstate"
)

// TestServeOnPostgres runs serve with state.url on a real PostgreSQL (the
// password from ${VAR}) and a real InfluxDB: a warning raised from a
// reading is kept in PostgreSQL, not in a state.db; the answer-link key is
// the database's, not a file's; no log line holds the password; and a
// second node on the same database joins it as one cluster and serves the
// same warnings.
func TestServeOnPostgres(t *testing.T) {
	pg := testenv.StartPostgres(t)
	db := testenv.InfluxDB(t)
	u, err := url.Parse(pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	password, _ := u.User.Password()
	if len(password) < 8 {
		t.Fatalf("the test role's password %q is too short to look for", password)
	}
	t.Setenv("YUJING_TEST_STATE_URL", pg.URL)
	dataDir := t.TempDir()
	text := fmt.Sprintf(`
data_dir: %s
mqtt: {embedded: {listen: "127.0.0.1:0"}}
influx: {url: %s, bucket: %s}
state: {url: "${YUJING_TEST_STATE_URL}"}
sites: [{id: p}]
sensors: [{id: G1, site: p, family: gas, metric: lel}]
rules: [{name: gas, match: {family: gas}, above: {red: 50}}]
`, dataDir, db.URL, db.Bucket())
	cfg := configFrom(t, text)
	inst := start(t, cfg)
	publish(t, publisher(t, inst.mqtt), "yujing/p/G1", `{"value": 60}`)
	var as []apiAlert
	waitFor(t, 10*time.Second, "the warning", func() bool {
		getJSON(t, "http://"+inst.http+"/api/v1/alerts", &as)
		return len(as) == 1
	})

	st, err := sqlstate.OpenPostgres(t.Context(), pg.URL, sqlstate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	open, err := st.OpenAlerts(t.Context())
	if err != nil || len(open) != 1 || open[0].Sensor != "G1" || open[0].ID != as[0].ID {
		t.Fatalf("PostgreSQL holds %+v (%v); want the warning the API showed, %+v", open, err, as)
	}
	for _, name := range []string{"state.db", answerKeyFile} {
		if _, err := os.Stat(filepath.Join(dataDir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s in the data directory (%v): the state is PostgreSQL's", name, err)
		}
	}
	if len(st.AnswerKey()) != 32 {
		t.Errorf("answer key in PostgreSQL: %d bytes", len(st.AnswerKey()))
	}

	// A second node on the same database joins the cluster and serves it:
	// the warning raised through the first is on its API too.
	secondCfg := configFrom(t, strings.Replace(text, dataDir, t.TempDir(), 1))
	second := start(t, secondCfg)
	waitFor(t, 20*time.Second, "the warning on the second node", func() bool {
		var got []apiAlert
		getJSON(t, "http://"+second.http+"/api/v1/alerts", &got)
		return len(got) == 1 && got[0].ID == as[0].ID
	})
	logs := second.logs
	second.stop() // its file names another data_dir: a reload would name it as running another file

	// Another state database in the file is reported at a reload (it
	// needs a restart), without its password.
	moved := strings.Replace(pg.URL, u.Path, u.Path+"_other", 1)
	t.Setenv("YUJING_TEST_STATE_URL", moved)
	if code, body := do(t, "POST", "http://"+inst.http+"/-/reload", ""); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	if logged := inst.logs.String(); !strings.Contains(logged, `needs a restart to take effect" section=state`) {
		t.Errorf("the reload does not report the changed state section:\n%s", logged)
	}

	inst.stop()
	for what, s := range map[string]string{"log": inst.logs.String(), "second node's log": logs.String()} {
		if strings.Contains(s, password) {
			t.Errorf("the %s holds the database password:\n%s", what, s)
		}
	}
	if !strings.Contains(inst.logs.String(), `msg="state database" kind=postgres where=postgres://`+u.User.Username()+"@") {
		t.Errorf("the log does not say where the state is:\n%s", inst.logs.String())
	}
}

// TestAdminCommandsOnPostgres: with YUJING_STATE_URL set, yujing users,
// tokens and audit work on that PostgreSQL state database (not on
// DIR/state.db, which is not made), and nothing they print holds the URL's
// password, also when it is wrong.
func TestAdminCommandsOnPostgres(t *testing.T) {
	pg := testenv.StartPostgres(t)
	u, err := url.Parse(pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	password, _ := u.User.Password()
	t.Setenv(stateURLEnv, pg.URL)
	t.Setenv("YUJING_PASSWORD", "duty-room-2026")
	dir := t.TempDir()
	var printed strings.Builder
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"users", "add", "li", "-role", "admin", "-data", dir}, 0, "user li added (admin)"},
		{[]string{"users", "ls", "-data", dir}, 0, "li    admin  enabled"},
		{[]string{"tokens", "create", "grafana", "-role", "viewer", "-data", dir}, 0, "yjt_"},
		{[]string{"audit", "verify", "-data", dir}, 0, "audit log intact: 2 entries"},
		{[]string{"audit", "export", "-format", "json", "-data", dir}, 0, `"yujing tokens create"`},
	} {
		var code int
		var out, errOut string
		if c.args[0] == "audit" {
			code, out, errOut = runAudit(t, c.args[1:]...)
		} else {
			code, out, errOut = runUsers(t, "", c.args...)
		}
		printed.WriteString(out + errOut)
		if code != c.code || !strings.Contains(out, c.out) {
			t.Errorf("yujing %s: exit %d\nstdout %q\nstderr %q\nwant exit %d, stdout with %q",
				strings.Join(c.args, " "), code, out, errOut, c.code, c.out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "state.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state.db in -data (%v): the commands were to use PostgreSQL", err)
	}

	// A wrong password: refused, and neither it nor the right one shown.
	wrong := "wrong-" + password
	t.Setenv(stateURLEnv, strings.Replace(pg.URL, ":"+password+"@", ":"+wrong+"@", 1))
	code, out, errOut := runUsers(t, "", "users", "ls", "-data", dir)
	printed.WriteString(out + errOut)
	if code != 1 || !strings.Contains(errOut, "postgres://"+u.User.Username()+"@"+u.Host) {
		t.Errorf("a wrong password: exit %d, stderr %q; want exit 1 naming the database", code, errOut)
	}
	for _, secret := range []string{password, wrong} {
		if strings.Contains(printed.String(), secret) {
			t.Errorf("the commands printed a password:\n%s", printed.String())
		}
	}
}
