package accounts

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"time"

	"yujing/audit"
	"yujing/internal/table"
	"yujing/store/sqlstate"
	"yujing/web/auth"
)

// Actor is who makes the changes, as the audit log records them.
type Actor struct {
	Name string // cli:<login name>, or cli when the login name is unknown
	From string // where: "command line on HOST, pid N"
}

// CommandLine is the actor of a command run by this process's user on
// this host.
func CommandLine() Actor {
	a := Actor{Name: "cli"}
	if u, err := user.Current(); err == nil && u.Username != "" {
		a.Name = "cli:" + u.Username
	}
	host, _ := os.Hostname()
	a.From = fmt.Sprintf("command line on %s, pid %d", host, os.Getpid())
	return a
}

// Accounts changes the users and tokens of one state database.
type Accounts struct {
	state *sqlstate.State
	svc   *auth.Service
	actor Actor
	warn  io.Writer
}

// New manages the accounts in state as actor. A change made but not
// recorded in the audit log is not undone: warn is told.
func New(state *sqlstate.State, actor Actor, warn io.Writer) (*Accounts, error) {
	svc, err := auth.New(auth.Options{Store: state})
	if err != nil {
		return nil, err
	}
	return &Accounts{state: state, svc: svc, actor: actor, warn: warn}, nil
}

// record appends a change to the audit log when it was made (err is its
// outcome, returned as it is).
func (a *Accounts) record(ctx context.Context, action, name string, detail map[string]any, err error) error {
	if err != nil {
		return err
	}
	d := ""
	if detail != nil {
		b, _ := json.Marshal(detail)
		d = string(b)
	}
	kind := strings.Fields(action)[0]
	e := audit.Entry{At: time.Now(), Actor: a.actor.Name, Action: "yujing " + action, Object: kind + "/" + name, Detail: d, From: a.actor.From}
	if aerr := a.state.AuditLog().Append(ctx, &e); aerr != nil {
		fmt.Fprintf(a.warn, "warning: done, but not recorded in the audit log: %v\n", aerr)
	}
	return nil
}

// WriteUsers writes the users as a table: name, role, state, created.
func (a *Accounts) WriteUsers(ctx context.Context, w io.Writer) error {
	us, err := a.state.Users(ctx)
	if err != nil {
		return err
	}
	t := table.New(w, "USER", "ROLE", "STATE", "CREATED")
	for _, u := range us {
		st := "enabled"
		if u.Disabled {
			st = "disabled"
		}
		t.Row(u.Username, u.Role, st, u.CreatedAt.Local().Format(time.DateTime))
	}
	return t.Flush()
}

// AddUser adds a user with a role (viewer, operator, admin) and password.
func (a *Accounts) AddUser(ctx context.Context, name, role, password string) error {
	u, err := a.svc.NewUser(ctx, name, password, role)
	if err != nil {
		return err
	}
	return a.record(ctx, "users add", name, map[string]any{"role": role}, a.state.CreateUser(ctx, u))
}

// SetPassword changes a user's password to the one password gives, asked
// for once the user is found, and ends its sessions.
func (a *Accounts) SetPassword(ctx context.Context, name string, password func() (string, error)) error {
	u, err := a.state.User(ctx, name)
	if err != nil {
		return err
	}
	pw, err := password()
	if err != nil {
		return err
	}
	nu, err := a.svc.NewUser(ctx, name, pw, u.Role)
	if err != nil {
		return err
	}
	u.PasswordHash, u.UpdatedAt = nu.PasswordHash, nu.UpdatedAt
	return a.record(ctx, "users passwd", name, nil, a.state.UpdateUser(ctx, u, true))
}

// SetDisabled disables a user, ending its sessions, or enables it again.
func (a *Accounts) SetDisabled(ctx context.Context, name string, disabled bool) error {
	u, err := a.state.User(ctx, name)
	if err != nil {
		return err
	}
	u.Disabled, u.UpdatedAt = disabled, time.Now()
	verb := map[bool]string{true: "disable", false: "enable"}[disabled]
	return a.record(ctx, "users "+verb, name, nil, a.state.UpdateUser(ctx, u, disabled))
}

// RemoveUser removes a user.
func (a *Accounts) RemoveUser(ctx context.Context, name string) error {
	return a.record(ctx, "users rm", name, nil, a.state.DeleteUser(ctx, name))
}

// CreateToken makes an API token with a role and returns it: only its
// hash is kept, it cannot be shown again.
func (a *Accounts) CreateToken(ctx context.Context, name, role string) (string, error) {
	tok, t, err := a.svc.NewToken(name, role, a.actor.Name)
	if err != nil {
		return "", err
	}
	if err := a.record(ctx, "tokens create", name, map[string]any{"role": role}, a.state.CreateToken(ctx, t)); err != nil {
		return "", err
	}
	return tok, nil
}

// RevokeToken revokes an API token.
func (a *Accounts) RevokeToken(ctx context.Context, name string) error {
	return a.record(ctx, "tokens revoke", name, nil, a.state.RevokeToken(ctx, name, time.Now()))
}

// WriteTokens writes the API tokens of the state database (not those of
// the configuration file) as a table: name, role, who created it and
// when, when it was last used and revoked.
func (a *Accounts) WriteTokens(ctx context.Context, w io.Writer) error {
	ts, err := a.state.Tokens(ctx)
	if err != nil {
		return err
	}
	at := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.Local().Format(time.DateTime)
	}
	tb := table.New(w, "NAME", "ROLE", "CREATED BY", "CREATED", "LAST USED", "REVOKED")
	for _, t := range ts {
		tb.Row(t.Name, t.Role, t.CreatedBy, at(&t.CreatedAt), at(t.LastUsedAt), at(t.RevokedAt))
	}
	return tb.Flush()
}
