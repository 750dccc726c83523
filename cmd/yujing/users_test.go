package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"yujing/audit"
	"yujing/internal/table"
	"yujing/store/sqlite"
	"yujing/store/sqlstate"
)

// runUsers runs yujing users|tokens … with stdin.
func runUsers(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	switch args[0] {
	case "users":
		code = usersCmd(t.Context(), args[1:], strings.NewReader(stdin), &out, &errOut)
	case "tokens":
		code = tokensCmd(t.Context(), args[1:], &out, &errOut)
	}
	return code, out.String(), errOut.String()
}

// httpDo sends a request with optional header pairs and returns the
// status and body.
func httpDo(t *testing.T, c *http.Client, method, url, body string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestUsersAndTokensCLI(t *testing.T) {
	t.Setenv("YUJING_PASSWORD", "")
	dir := t.TempDir()
	for _, tc := range []struct {
		name, stdin string
		args        []string
		code        int
		out, err    string
	}{
		{"add needs a role", "", []string{"users", "add", "li", "-data", dir}, 2, "", "-role: role \"\": want viewer, operator or admin"},
		{"add needs a password", "", []string{"users", "add", "li", "-role", "operator", "-data", dir}, 1, "", "set YUJING_PASSWORD or give it on standard input"},
		{"short password", "short\n", []string{"users", "add", "li", "-role", "operator", "-data", dir}, 1, "", "at least 10 characters"},
		{"add", "duty-room-2026\n", []string{"users", "add", "li", "-role", "operator", "-data", dir}, 0, "user li added (operator)", ""},
		{"flags first", "another-pass-1\n", []string{"users", "add", "-data", dir, "-role", "viewer", "wang"}, 0, "user wang added (viewer)", ""},
		{"twice", "duty-room-2026\n", []string{"users", "add", "li", "-role", "viewer", "-data", dir}, 1, "", "already exists"},
		{"ls", "", []string{"users", "ls", "-data", dir}, 0, "li    operator  enabled", ""},
		{"disable", "", []string{"users", "disable", "wang", "-data", dir}, 0, "user wang disabled", ""},
		{"passwd", "changed-pass-2026\n", []string{"users", "passwd", "li", "-data", dir}, 0, "password of li changed", ""},
		{"rm unknown", "", []string{"users", "rm", "ghost", "-data", dir}, 1, "", `user "ghost": not found`},
		{"ls elsewhere", "", []string{"users", "ls", "-data", t.TempDir()}, 1, "", "no state database"},
		{"unknown verb", "", []string{"users", "promote", "li"}, 2, "", `unknown command "promote"`},
		{"token bad role", "", []string{"tokens", "create", "ci", "-role", "root", "-data", dir}, 2, "", "want viewer, operator or admin"},
		{"token", "", []string{"tokens", "create", "grafana", "-role", "viewer", "-data", dir}, 0, "yjt_", "shown only this once"},
		{"tokens ls", "", []string{"tokens", "ls", "-data", dir}, 0, "grafana  viewer", ""},
		{"revoke", "", []string{"tokens", "revoke", "grafana", "-data", dir}, 0, "token grafana revoked", ""},
		{"revoke twice", "", []string{"tokens", "revoke", "grafana", "-data", dir}, 1, "", "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runUsers(t, tc.stdin, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errOut, tc.err) {
				t.Fatalf("yujing %s: exit %d\nstdout %q\nstderr %q\nwant exit %d, stdout with %q, stderr with %q",
					strings.Join(tc.args, " "), code, out, errOut, tc.code, tc.out, tc.err)
			}
			if tc.stdin != "" && strings.Contains(out+errOut, strings.TrimSpace(tc.stdin)) {
				t.Errorf("the password shows in the output")
			}
		})
	}
	// YUJING_PASSWORD instead of stdin.
	t.Setenv("YUJING_PASSWORD", "from-the-env-2026")
	if code, _, errOut := runUsers(t, "", "users", "add", "zhao", "-role", "admin", "-data", dir); code != 0 {
		t.Fatalf("add with YUJING_PASSWORD: %d %s", code, errOut)
	}

	// Every change is in the audit log, as done from the command line.
	l, err := sqlite.OpenAuditLog(t.Context(), dir+"/state.db")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	es, err := l.List(t.Context(), audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range es {
		actions = append(actions, e.Action+" "+e.Object)
		if !strings.HasPrefix(e.Actor, "cli") || !strings.Contains(e.From, "command line") {
			t.Errorf("entry %+v", e)
		}
	}
	want := "yujing users add users/li,yujing users add users/wang,yujing users disable users/wang,yujing users passwd users/li," +
		"yujing tokens create tokens/grafana,yujing tokens revoke tokens/grafana,yujing users add users/zhao"
	if strings.Join(actions, ",") != want {
		t.Errorf("audit actions:\n got %s\nwant %s", strings.Join(actions, ","), want)
	}
}

// TestServeRequiresLogin: yujing serve always authenticates. On first
// start it makes admin with a random password, logged once; users and
// tokens made with the command line work on the running server.
func TestServeRequiresLogin(t *testing.T) {
	t.Setenv("YUJING_ADMIN_PASSWORD", "")
	t.Setenv("YUJING_PASSWORD", "")
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer hook.Close()
	cfg := demoConfig(t, hook.URL)
	cfg.HTTP.MetricsPublic = false
	inst := start(t, cfg)
	api := "http://" + inst.http
	plain := &http.Client{}

	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/healthz", 200},
		{"GET", "/", 200},
		{"GET", "/api/v1/alerts", 401},
		{"GET", "/metrics", 401},
		{"POST", "/-/reload", 401},
		{"GET", "/api/v1/me", 401},
	} {
		if code, body := httpDo(t, plain, tc.method, api+tc.path, ""); code != tc.code {
			t.Errorf("%s %s without credentials: %d %s, want %d", tc.method, tc.path, code, body, tc.code)
		}
	}

	// The first start's admin password, from the log.
	m := regexp.MustCompile(`level=WARN msg="first start: created user admin with this password — change it" user=admin password=(\S+)`).
		FindStringSubmatch(inst.logs.String())
	if m == nil {
		t.Fatalf("no first-start password in the log:\n%s", inst.logs.String())
	}
	code, body := httpDo(t, plain, "POST", api+"/api/v1/login", fmt.Sprintf(`{"username": "admin", "password": %q}`, m[1]))
	if code != 200 || !strings.Contains(body, `"role":"admin"`) {
		t.Fatalf("login as admin: %d %s", code, body)
	}

	// A user and a token made on the command line, while serve runs.
	if code, _, errOut := runUsers(t, "duty-room-2026\n", "users", "add", "li", "-role", "operator", "-data", cfg.DataDir); code != 0 {
		t.Fatal(errOut)
	}
	code, tok, errOut := runUsers(t, "", "tokens", "create", "grafana", "-role", "viewer", "-data", cfg.DataDir)
	if code != 0 {
		t.Fatal(errOut)
	}
	tok = strings.TrimSpace(tok)
	if code, body := httpDo(t, plain, "POST", api+"/api/v1/login", `{"username": "li", "password": "duty-room-2026"}`); code != 200 || !strings.Contains(body, `"role":"operator"`) {
		t.Errorf("login as li: %d %s", code, body)
	}
	if code, _ := httpDo(t, plain, "GET", api+"/metrics", "", "Authorization", "Bearer "+tok); code != 200 {
		t.Errorf("GET /metrics with the viewer token: %d", code)
	}
	if code, body := httpDo(t, plain, "POST", api+"/-/reload", "", "Authorization", "Bearer "+tok); code != 403 {
		t.Errorf("reload with the viewer token: %d %s", code, body)
	}
	if code, _, _ := runUsers(t, "", "tokens", "revoke", "grafana", "-data", cfg.DataDir); code != 0 {
		t.Fatal("revoke failed")
	}
	if code, _ := httpDo(t, plain, "GET", api+"/api/v1/alerts", "", "Authorization", "Bearer "+tok); code != 401 {
		t.Errorf("revoked token: %d, want 401", code)
	}

	// A second start on the same data does not make or log a password.
	inst.stop()
	second := start(t, cfg)
	if strings.Contains(second.logs.String(), "first start") {
		t.Errorf("second start:\n%s", second.logs.String())
	}
}

// TestTokensListAlignsChinese: 'yujing tokens ls' lines its columns up as
// a terminal shows them when a cell holds Chinese (a token made on a
// machine whose login name is Chinese: CREATED BY cli:张伟): every column
// starts at the same terminal cell on every line.
func TestTokensListAlignsChinese(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runUsers(t, "", "tokens", "create", "grafana", "-role", "viewer", "-data", dir); code != 0 {
		t.Fatal(errOut)
	}
	st, err := sqlite.OpenState(t.Context(), filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateToken(t.Context(), sqlstate.APIToken{Name: "duty-board", Role: "viewer", Hash: "x", CreatedBy: "cli:张伟", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, errOut := runUsers(t, "", "tokens", "ls", "-data", dir)
	if code != 0 {
		t.Fatal(errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("tokens ls:\n%s", out)
	}
	var starts []string
	for _, l := range lines {
		var cols []int
		for _, m := range regexp.MustCompile(`\S+( \S+)*`).FindAllStringIndex(l, -1) {
			cols = append(cols, table.Width(l[:m[0]]))
		}
		starts = append(starts, fmt.Sprint(cols))
	}
	if starts[0] != starts[1] || starts[0] != starts[2] {
		t.Errorf("columns start at %v:\n%s", starts, out)
	}
}
