package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"yujing/config"
	"yujing/store/sqlstate"
	"yujing/web/auth"
	"yujing/web/auth/accounts"
)

// newAuth builds the HTTP authentication of serve from the configuration
// and state.db, and creates the first admin on first start.
func newAuth(ctx context.Context, cfg *config.Config, state *sqlstate.State, log *slog.Logger, reg prometheus.Registerer) (*auth.Service, error) {
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

They work on DIR/state.db (default ./data) directly, or on the PostgreSQL
state database whose URL is in YUJING_STATE_URL; yujing serve may be
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
configuration file (http.api_tokens) are not listed here. With
YUJING_STATE_URL set, they work on that PostgreSQL state database.
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
	where, pg := adminState(*dataDir)
	switch {
	case pg:
	case verb == "add" || verb == "create":
		if err := os.MkdirAll(*dataDir, 0o750); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", prog, err)
			return 1
		}
	default:
		if _, err := os.Stat(where); err != nil {
			fmt.Fprintf(stderr, "%s: no state database: %v (is -data right?)\n", prog, err)
			return 1
		}
	}
	state, err := sqlstate.Open(ctx, where, sqlstate.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 1
	}
	defer state.Close()
	acc, err := accounts.New(state, accounts.CommandLine(), stderr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 1
	}
	password := func() (string, error) { return accounts.ReadPassword(os.Getenv("YUJING_PASSWORD"), stdin, stderr) }
	switch verb {
	case "ls":
		if group == "tokens" {
			err = acc.WriteTokens(ctx, stdout)
		} else {
			err = acc.WriteUsers(ctx, stdout)
		}
	case "add":
		var pw string
		if pw, err = password(); err == nil {
			if err = acc.AddUser(ctx, name, *role, pw); err == nil {
				fmt.Fprintf(stdout, "user %s added (%s)\n", name, *role)
			}
		}
	case "passwd":
		if err = acc.SetPassword(ctx, name, password); err == nil {
			fmt.Fprintf(stdout, "password of %s changed; its sessions have ended\n", name)
		}
	case "disable", "enable":
		if err = acc.SetDisabled(ctx, name, verb == "disable"); err == nil {
			fmt.Fprintf(stdout, "user %s %sd\n", name, verb)
		}
	case "rm":
		if err = acc.RemoveUser(ctx, name); err == nil {
			fmt.Fprintf(stdout, "user %s removed\n", name)
		}
	case "create":
		var tok string
		if tok, err = acc.CreateToken(ctx, name, *role); err == nil {
			fmt.Fprintln(stdout, tok)
			fmt.Fprintf(stderr, "token %s (%s) created; it is shown only this once: send it as \"Authorization: Bearer <token>\"\n", name, *role)
		}
	case "revoke":
		if err = acc.RevokeToken(ctx, name); err == nil {
			fmt.Fprintf(stdout, "token %s revoked\n", name)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 1
	}
	return 0
}
