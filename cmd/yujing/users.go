package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/term"

	"yujing/audit"
	"yujing/config"
	"yujing/store/sqlite"
	"yujing/web/auth"
)

// newAuth builds the HTTP authentication of serve from the configuration
// and state.db, and creates the first admin on first start.
func newAuth(ctx context.Context, cfg *config.Config, state *sqlite.State, log *slog.Logger, reg prometheus.Registerer) (*auth.Service, error) {
	var toks []auth.ConfigToken
	for _, t := range cfg.HTTP.APITokens {
		role, err := auth.ParseRole(t.Role)
		if err != nil {
			return nil, fmt.Errorf("http.api_tokens %s: %w", t.Name, err)
		}
		toks = append(toks, auth.ConfigToken{Name: t.Name, Role: role, Token: t.Token})
	}
	svc, err := auth.New(auth.Options{Store: state, Logger: log, Registerer: reg, Tokens: toks,
		SessionIdle: cfg.HTTP.SessionIdle, SessionMax: cfg.HTTP.SessionMax,
		SecureCookies: cfg.HTTP.SecureCookies, MetricsPublic: cfg.HTTP.MetricsPublic, TrustedProxies: cfg.HTTP.TrustedProxies})
	if err != nil {
		return nil, err
	}
	if err := svc.Bootstrap(ctx); err != nil {
		return nil, err
	}
	return svc, nil
}

const usersUsage = `Usage:
  yujing users ls [-data DIR]
  yujing users add NAME -role viewer|operator|admin [-data DIR]
  yujing users passwd NAME [-data DIR]
  yujing users disable NAME [-data DIR]
  yujing users enable NAME [-data DIR]
  yujing users rm NAME [-data DIR]

They work on DIR/state.db (default ./data) directly; yujing serve may be
running. add and passwd read the password from YUJING_PASSWORD, else from
standard input (asked twice, not echoed, on a terminal); never from a flag.
Passwords have at least 10 characters. Disabling a user or changing its
password ends its sessions. Each change is recorded in the audit log as
cli:<login name>.
`

const tokensUsage = `Usage:
  yujing tokens create NAME -role viewer|operator|admin [-data DIR]
      print a new API token, once: only its hash is kept
  yujing tokens ls [-data DIR]
  yujing tokens revoke NAME [-data DIR]

Send a token as "Authorization: Bearer <token>". Tokens of the
configuration file (http.api_tokens) are not listed here.
`

// usersCmd runs yujing users ….
func usersCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usersUsage)
		return 2
	}
	switch args[0] {
	case "ls", "add", "passwd", "disable", "enable", "rm":
		return adminCmd(ctx, "users", args, stdin, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usersUsage)
		return 0
	}
	fmt.Fprintf(stderr, "yujing users: unknown command %q\n\n%s", args[0], usersUsage)
	return 2
}

// tokensCmd runs yujing tokens ….
func tokensCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, tokensUsage)
		return 2
	}
	switch args[0] {
	case "create", "ls", "revoke":
		return adminCmd(ctx, "tokens", args, nil, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, tokensUsage)
		return 0
	}
	fmt.Fprintf(stderr, "yujing tokens: unknown command %q\n\n%s", args[0], tokensUsage)
	return 2
}

// adminCmd parses "VERB [NAME] [flags]" (NAME before or after the flags)
// and runs it on state.db.
func adminCmd(ctx context.Context, group string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	verb := args[0]
	prog := "yujing " + group + " " + verb
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", "./data", "data directory holding state.db")
	var role *string
	if verb == "add" || verb == "create" {
		role = fs.String("role", "", "viewer, operator or admin (required)")
	}
	rest := args[1:]
	var name string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		name, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
		rest = fs.Args()[1:]
	} else {
		rest = fs.Args()
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", prog, rest[0])
		return 2
	}
	if verb != "ls" && name == "" {
		fmt.Fprintf(stderr, "%s: NAME is required\n", prog)
		return 2
	}
	if role != nil {
		if _, err := auth.ParseRole(*role); err != nil {
			fmt.Fprintf(stderr, "%s: -role: %v\n", prog, err)
			return 2
		}
	}
	path := filepath.Join(*dataDir, "state.db")
	if verb == "add" || verb == "create" {
		if err := os.MkdirAll(*dataDir, 0o750); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", prog, err)
			return 1
		}
	} else if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(stderr, "%s: no state database: %v (is -data right?)\n", prog, err)
		return 1
	}
	state, err := sqlite.OpenState(ctx, path)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 1
	}
	defer state.Close()
	svc, err := auth.New(auth.Options{Store: state})
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 1
	}
	a := &adminRun{ctx: ctx, state: state, svc: svc, stdin: stdin, stdout: stdout, stderr: stderr}
	switch verb {
	case "ls":
		if group == "tokens" {
			err = a.listTokens()
		} else {
			err = a.listUsers()
		}
	case "add":
		err = a.addUser(name, *role)
	case "passwd":
		err = a.passwd(name)
	case "disable", "enable":
		err = a.setDisabled(name, verb == "disable")
	case "rm":
		err = a.record("users rm", name, nil, state.DeleteUser(ctx, name))
		if err == nil {
			fmt.Fprintf(stdout, "user %s removed\n", name)
		}
	case "create":
		err = a.createToken(name, *role)
	case "revoke":
		err = a.record("tokens revoke", name, nil, state.RevokeToken(ctx, name, time.Now()))
		if err == nil {
			fmt.Fprintf(stdout, "token %s revoked\n", name)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 1
	}
	return 0
}

// adminRun is one yujing users|tokens command at work.
type adminRun struct {
	ctx            context.Context
	state          *sqlite.State
	svc            *auth.Service
	stdin          io.Reader
	stdout, stderr io.Writer
}

// record appends the command to the audit log when it succeeded (err is
// its outcome, returned as it is).
func (a *adminRun) record(action, name string, detail map[string]any, err error) error {
	if err != nil {
		return err
	}
	actor := "cli"
	if u, uerr := user.Current(); uerr == nil && u.Username != "" {
		actor = "cli:" + u.Username
	}
	host, _ := os.Hostname()
	d := ""
	if detail != nil {
		b, _ := json.Marshal(detail)
		d = string(b)
	}
	kind := strings.Fields(action)[0]
	e := audit.Entry{At: time.Now(), Actor: actor, Action: "yujing " + action, Object: kind + "/" + name, Detail: d,
		From: fmt.Sprintf("command line on %s, pid %d", host, os.Getpid())}
	if aerr := a.state.AuditLog().Append(a.ctx, &e); aerr != nil {
		fmt.Fprintf(a.stderr, "warning: done, but not recorded in the audit log: %v\n", aerr)
	}
	return nil
}

func (a *adminRun) listUsers() error {
	us, err := a.state.Users(a.ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tROLE\tSTATE\tCREATED")
	for _, u := range us {
		st := "enabled"
		if u.Disabled {
			st = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Username, u.Role, st, u.CreatedAt.Local().Format(time.DateTime))
	}
	return tw.Flush()
}

func (a *adminRun) addUser(name, role string) error {
	pw, err := a.password()
	if err != nil {
		return err
	}
	u, err := a.svc.NewUser(a.ctx, name, pw, role)
	if err != nil {
		return err
	}
	if err := a.record("users add", name, map[string]any{"role": role}, a.state.CreateUser(a.ctx, u)); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "user %s added (%s)\n", name, role)
	return nil
}

func (a *adminRun) passwd(name string) error {
	u, err := a.state.User(a.ctx, name)
	if err != nil {
		return err
	}
	pw, err := a.password()
	if err != nil {
		return err
	}
	nu, err := a.svc.NewUser(a.ctx, name, pw, u.Role)
	if err != nil {
		return err
	}
	u.PasswordHash, u.UpdatedAt = nu.PasswordHash, nu.UpdatedAt
	if err := a.record("users passwd", name, nil, a.state.UpdateUser(a.ctx, u, true)); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "password of %s changed; its sessions have ended\n", name)
	return nil
}

func (a *adminRun) setDisabled(name string, disabled bool) error {
	u, err := a.state.User(a.ctx, name)
	if err != nil {
		return err
	}
	u.Disabled, u.UpdatedAt = disabled, time.Now()
	verb := map[bool]string{true: "disable", false: "enable"}[disabled]
	if err := a.record("users "+verb, name, nil, a.state.UpdateUser(a.ctx, u, disabled)); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "user %s %sd\n", name, verb)
	return nil
}

// password reads a new password: YUJING_PASSWORD, else twice without
// echo from a terminal, else the first line of standard input.
func (a *adminRun) password() (string, error) {
	if pw, ok := os.LookupEnv("YUJING_PASSWORD"); ok && pw != "" {
		return pw, auth.CheckPassword(pw)
	}
	if f, ok := a.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(a.stderr, "New password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", err
		}
		if err := auth.CheckPassword(string(p1)); err != nil {
			return "", err
		}
		fmt.Fprint(a.stderr, "Again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", err
		}
		if string(p1) != string(p2) {
			return "", errors.New("the passwords differ")
		}
		return string(p1), nil
	}
	if a.stdin == nil {
		return "", errors.New("password: set YUJING_PASSWORD or give it on standard input")
	}
	line, err := bufio.NewReader(io.LimitReader(a.stdin, auth.MaxPassword+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("password: read standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("password: set YUJING_PASSWORD or give it on standard input")
	}
	return pw, auth.CheckPassword(pw)
}

func (a *adminRun) createToken(name, role string) error {
	tok, t, err := a.svc.NewToken(name, role, "cli")
	if err != nil {
		return err
	}
	if u, uerr := user.Current(); uerr == nil && u.Username != "" {
		t.CreatedBy = "cli:" + u.Username
	}
	if err := a.record("tokens create", name, map[string]any{"role": role}, a.state.CreateToken(a.ctx, t)); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, tok)
	fmt.Fprintf(a.stderr, "token %s (%s) created; it is shown only this once: send it as \"Authorization: Bearer <token>\"\n", name, role)
	return nil
}

func (a *adminRun) listTokens() error {
	ts, err := a.state.Tokens(a.ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tCREATED BY\tCREATED\tLAST USED\tREVOKED")
	at := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.Local().Format(time.DateTime)
	}
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, t.CreatedBy, at(&t.CreatedAt), at(t.LastUsedAt), at(t.RevokedAt))
	}
	return tw.Flush()
}
