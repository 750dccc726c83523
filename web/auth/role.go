package auth

import (
	"fmt"
)

// Role is what a user or token may do. Roles are ordered: each may do
// what the ones below it may. Public is not a role one can hold: it is
// what Required answers for requests anyone may make.
type Role int

// The roles, lowest first.
const (
	Public   Role = iota // no login needed
	Viewer               // reads everything (except the audit log, users and tokens)
	Operator             // also acknowledges, disposes and closes warnings, answers calls
	Admin                // also changes configuration, sensors, silences, users and tokens
)

var roleNames = [...]string{Public: "public", Viewer: "viewer", Operator: "operator", Admin: "admin"}

// String is the role's name: viewer, operator or admin.
func (r Role) String() string {
	if r < 0 || int(r) >= len(roleNames) {
		return fmt.Sprintf("role(%d)", int(r))
	}
	return roleNames[r]
}

// ParseRole reads viewer, operator or admin.
func ParseRole(s string) (Role, error) {
	for _, r := range []Role{Viewer, Operator, Admin} {
		if s == r.String() {
			return r, nil
		}
	}
	return Public, fmt.Errorf("role %q: want viewer, operator or admin", s)
}

// MarshalText writes the role's name.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads a role's name (see ParseRole).
func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}
