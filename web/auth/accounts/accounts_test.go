package accounts

import (
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yujing/audit"
	"yujing/store/sqlite"
)

// TestAccounts: each change is made in the state database and recorded in
// its audit log under the actor; a change that fails is not recorded; the
// listings are tables lined up with Chinese in a cell.
func TestAccounts(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.OpenState(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var warn strings.Builder
	a, err := New(st, Actor{Name: "cli:张伟", From: "command line on duty-pc, pid 7"}, &warn)
	if err != nil {
		t.Fatal(err)
	}
	asked := 0
	pw := func(p string) func() (string, error) { return func() (string, error) { asked++; return p, nil } }
	for _, c := range []struct {
		name string
		do   func() error
		err  string
	}{
		{"add", func() error { return a.AddUser(ctx, "li", "operator", "duty-room-2026") }, ""},
		{"add viewer", func() error { return a.AddUser(ctx, "wang", "viewer", "another-pass-1") }, ""},
		{"add twice", func() error { return a.AddUser(ctx, "li", "viewer", "duty-room-2026") }, "already exists"},
		{"bad role", func() error { return a.AddUser(ctx, "zhao", "root", "duty-room-2026") }, "want viewer, operator or admin"},
		{"short password", func() error { return a.AddUser(ctx, "zhao", "viewer", "short") }, "at least 10 characters"},
		{"disable", func() error { return a.SetDisabled(ctx, "wang", true) }, ""},
		{"passwd", func() error { return a.SetPassword(ctx, "li", pw("changed-pass-2026")) }, ""},
		{"passwd of nobody asks for none", func() error { return a.SetPassword(ctx, "ghost", pw("changed-pass-2026")) }, "not found"},
		{"rm", func() error { return a.RemoveUser(ctx, "wang") }, ""},
		{"rm unknown", func() error { return a.RemoveUser(ctx, "ghost") }, "not found"},
		{"token", func() error {
			tok, err := a.CreateToken(ctx, "grafana", "viewer")
			if err == nil && !strings.HasPrefix(tok, "yjt_") {
				err = errors.New("token " + tok)
			}
			return err
		}, ""},
		{"revoke", func() error { return a.RevokeToken(ctx, "grafana") }, ""},
		{"revoke twice", func() error { return a.RevokeToken(ctx, "grafana") }, "not found"},
	} {
		err := c.do()
		if (c.err == "" && err != nil) || (c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err))) {
			t.Errorf("%s: %v, want error %q", c.name, err, c.err)
		}
	}
	if asked != 1 {
		t.Errorf("password asked %d times, want once (not for a user that does not exist)", asked)
	}
	es, err := st.AuditLog().List(ctx, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Action+" "+e.Object+" "+e.Detail)
		if e.Actor != "cli:张伟" || e.From != "command line on duty-pc, pid 7" {
			t.Errorf("entry %+v: not the actor's", e)
		}
	}
	want := []string{
		`yujing users add users/li {"role":"operator"}`, `yujing users add users/wang {"role":"viewer"}`,
		"yujing users disable users/wang ", "yujing users passwd users/li ", "yujing users rm users/wang ",
		`yujing tokens create tokens/grafana {"role":"viewer"}`, "yujing tokens revoke tokens/grafana ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	var users, tokens strings.Builder
	if err := a.WriteUsers(ctx, &users); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(users.String(), "USER  ROLE      STATE    CREATED\nli    operator  enabled  ") {
		t.Errorf("users:\n%s", users.String())
	}
	if err := a.WriteTokens(ctx, &tokens); err != nil {
		t.Fatal(err)
	}
	created := time.Now().Local().Format("2006-01-02")
	if lines := strings.Split(tokens.String(), "\n"); len(lines) != 3 ||
		lines[0] != "NAME     ROLE    CREATED BY  CREATED              LAST USED  REVOKED" ||
		!strings.HasPrefix(lines[1], "grafana  viewer  cli:张伟    "+created) {
		t.Errorf("tokens:\n%s", tokens.String())
	}
	if warn.Len() > 0 {
		t.Errorf("warnings: %s", warn.String())
	}
}

func TestReadPassword(t *testing.T) {
	for _, c := range []struct {
		name, env, in, want, err string
		nilIn                    bool
	}{
		{name: "env first", env: "from-the-env-2026", in: "from-stdin-2026\n", want: "from-the-env-2026"},
		{name: "first line of stdin", in: "duty-room-2026\r\nsecond line\n", want: "duty-room-2026"},
		{name: "no newline", in: "duty-room-2026", want: "duty-room-2026"},
		{name: "empty stdin", in: "", err: "set YUJING_PASSWORD or give it on standard input"},
		{name: "no stdin", nilIn: true, err: "set YUJING_PASSWORD or give it on standard input"},
		{name: "too short", in: "short\n", err: "at least 10 characters"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var in io.Reader // nil: none
			if !c.nilIn {
				in = strings.NewReader(c.in)
			}
			got, err := ReadPassword(c.env, in, io.Discard)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("%q, %v; want %q", got, err, c.want)
			}
		})
	}
}
