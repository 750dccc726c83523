package sqlstate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"yujing/store/internal/sqldb"
)

// Errors of the user, session and token tables.
var (
	// ErrExists: a user or token of that name is already there.
	ErrExists = errors.New("already exists")
	// ErrLastAdmin: the change would leave no enabled admin, and nobody
	// could manage users any more.
	ErrLastAdmin = errors.New("the last enabled admin cannot be removed, disabled or demoted")
)

// AdminRole is the role whose last enabled holder is protected (see
// ErrLastAdmin).
const AdminRole = "admin"

// User is a login account as stored (web/auth gives the role its meaning).
type User struct {
	Username     string
	Role         string
	PasswordHash string // PHC string, e.g. $argon2id$v=19$m=…,t=…,p=…$salt$hash
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Session is a login session. Only a hash of its id is stored: whoever
// reads the database cannot take over a session.
type Session struct {
	IDHash    string // hex SHA-256 of the session id
	Username  string
	CSRF      string // the token state-changing requests must carry
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time // absolute end, whatever the activity
}

// APIToken is a bearer token for integrations, stored as a hash.
type APIToken struct {
	Name       string
	Role       string
	Hash       string // hex SHA-256 of the token
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

const userColumns = `username, role, password_hash, disabled, created_at, updated_at`

func scanUser(r scanner) (User, error) {
	var u User
	var created, updated int64
	if err := r.Scan(&u.Username, &u.Role, &u.PasswordHash, &u.Disabled, &created, &updated); err != nil {
		return u, err
	}
	u.CreatedAt, u.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return u, nil
}

// Users lists every user by name.
func (s *State) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("state %s: list users: %w", s.db.path, err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("state %s: list users: %w", s.db.path, err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// User returns one user; an error wrapping ErrNotFound when there is none.
func (s *State) User(ctx context.Context, name string) (User, error) {
	u, err := scanUser(s.db.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("state %s: user %q: %w", s.db.path, name, err)
	}
	return u, nil
}

// CreateUser adds u; an error wrapping ErrExists when the name is taken.
func (s *State) CreateUser(ctx context.Context, u User) error {
	ok, err := s.insertUser(ctx, u, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("user %q: %w", u.Username, ErrExists)
	}
	return nil
}

// CreateFirstUser adds u only when there is no user at all, and reports
// whether it did. Processes or nodes starting on one database at once
// create one first user between them: the insert runs under the users
// lock, so that each sees the others' commits (on PostgreSQL, under READ
// COMMITTED, NOT EXISTS alone lets every node insert its own).
func (s *State) CreateFirstUser(ctx context.Context, u User) (bool, error) {
	return s.insertUser(ctx, u, `INSERT INTO users (`+userColumns+`)
		SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM users)`)
}

func (s *State) insertUser(ctx context.Context, u User, query string) (bool, error) {
	created, err := nanos(u.CreatedAt)
	if err != nil {
		return false, fmt.Errorf("state %s: create user %q: %w", s.db.path, u.Username, err)
	}
	tx, err := s.db.w.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("state %s: create user %q: %w", s.db.path, u.Username, err)
	}
	defer tx.Rollback()
	if err := tx.Lock(ctx, lockUsers); err != nil {
		return false, fmt.Errorf("state %s: create user %q: lock: %w", s.db.path, u.Username, err)
	}
	res, err := tx.ExecContext(ctx, query, u.Username, u.Role, u.PasswordHash, u.Disabled, created, created)
	if err != nil {
		return false, fmt.Errorf("state %s: create user %q: %w", s.db.path, u.Username, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("state %s: create user %q: %w", s.db.path, u.Username, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("state %s: create user %q: commit: %w", s.db.path, u.Username, err)
	}
	return n == 1, nil
}

// UpdateUser writes u's role, password hash and disabled flag. With
// logout, the user's sessions end in the same transaction (a new
// password, a disabled account). It fails with ErrNotFound when there is
// no such user and with ErrLastAdmin when no enabled admin would be left.
func (s *State) UpdateUser(ctx context.Context, u User, logout bool) error {
	updated, err := nanos(u.UpdatedAt)
	if err != nil {
		return fmt.Errorf("state %s: update user %q: %w", s.db.path, u.Username, err)
	}
	return s.userTx(ctx, u.Username, "update", func(tx *sqldb.Tx) (sql.Result, error) {
		res, err := tx.ExecContext(ctx, `UPDATE users SET role = ?, password_hash = ?, disabled = ?, updated_at = ? WHERE username = ?`,
			u.Role, u.PasswordHash, u.Disabled, updated, u.Username)
		if err == nil && logout {
			_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE username = ?`, u.Username)
		}
		return res, err
	})
}

// SetPassword replaces name's password hash and ends every session of
// name but keep (a session's id hash: the one that made the change; ""
// ends them all). It returns how many sessions it ended, and an error
// wrapping ErrNotFound when there is no such user.
func (s *State) SetPassword(ctx context.Context, name, hash string, at time.Time, keep string) (int, error) {
	updated, err := nanos(at)
	if err != nil {
		return 0, fmt.Errorf("state %s: set password of user %q: %w", s.db.path, name, err)
	}
	var ended int64
	err = s.userTx(ctx, name, "set password of", func(tx *sqldb.Tx) (sql.Result, error) {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE username = ?`, hash, updated, name)
		if err != nil {
			return nil, err
		}
		del, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE username = ? AND id_sha256 <> ?`, name, keep)
		if err != nil {
			return nil, err
		}
		ended, _ = del.RowsAffected()
		return res, nil
	})
	return int(ended), err
}

// DeleteUser removes a user and its sessions; ErrNotFound when there is
// none, ErrLastAdmin when it is the last enabled admin.
func (s *State) DeleteUser(ctx context.Context, name string) error {
	return s.userTx(ctx, name, "delete", func(tx *sqldb.Tx) (sql.Result, error) {
		return tx.ExecContext(ctx, `DELETE FROM users WHERE username = ?`, name)
	})
}

// userTx runs a change of one user and refuses to commit it when it
// leaves no enabled admin behind. It holds the users lock from the start:
// without it, two nodes disabling two admins at once would each count the
// other admin still enabled (PostgreSQL's READ COMMITTED), and leave none.
func (s *State) userTx(ctx context.Context, name, what string, change func(*sqldb.Tx) (sql.Result, error)) error {
	tx, err := s.db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("state %s: %s user %q: %w", s.db.path, what, name, err)
	}
	defer tx.Rollback()
	if err := tx.Lock(ctx, lockUsers); err != nil {
		return fmt.Errorf("state %s: %s user %q: lock: %w", s.db.path, what, name, err)
	}
	var before int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role = ? AND disabled = FALSE`, AdminRole).Scan(&before); err != nil {
		return fmt.Errorf("state %s: %s user %q: %w", s.db.path, what, name, err)
	}
	res, err := change(tx)
	if err != nil {
		return fmt.Errorf("state %s: %s user %q: %w", s.db.path, what, name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	var after int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role = ? AND disabled = FALSE`, AdminRole).Scan(&after); err != nil {
		return fmt.Errorf("state %s: %s user %q: %w", s.db.path, what, name, err)
	}
	if before > 0 && after == 0 {
		return fmt.Errorf("user %q: %w", name, ErrLastAdmin)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("state %s: %s user %q: %w", s.db.path, what, name, err)
	}
	return nil
}

// CreateSession stores a new session, and first drops every session that
// has ended: past its absolute end, or idle since before idleSince.
func (s *State) CreateSession(ctx context.Context, se Session, idleSince time.Time) error {
	var t [3]int64
	for i, at := range []time.Time{se.CreatedAt, se.LastSeen, se.ExpiresAt} {
		n, err := nanos(at)
		if err != nil {
			return fmt.Errorf("state %s: create session: %w", s.db.path, err)
		}
		t[i] = n
	}
	tx, err := s.db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("state %s: create session: %w", s.db.path, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ? OR last_seen < ?`,
		t[0], boundNanos(idleSince)); err != nil {
		return fmt.Errorf("state %s: drop ended sessions: %w", s.db.path, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_sha256, username, csrf_token, created_at, last_seen, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, se.IDHash, se.Username, se.CSRF, t[0], t[1], t[2]); err != nil {
		return fmt.Errorf("state %s: create session for %q: %w", s.db.path, se.Username, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("state %s: create session: %w", s.db.path, err)
	}
	return nil
}

// SessionUser returns the session whose id hashes to idHash and its user
// as they are now; ErrNotFound when there is no such session.
func (s *State) SessionUser(ctx context.Context, idHash string) (Session, User, error) {
	var se Session
	var created, seen, expires int64
	row := s.db.r.QueryRowContext(ctx, `SELECT s.id_sha256, s.csrf_token, s.created_at, s.last_seen, s.expires_at,
		u.username, u.role, u.password_hash, u.disabled, u.created_at, u.updated_at
		FROM sessions s JOIN users u ON u.username = s.username WHERE s.id_sha256 = ?`, idHash)
	var u User
	var uc, uu int64
	err := row.Scan(&se.IDHash, &se.CSRF, &created, &seen, &expires,
		&u.Username, &u.Role, &u.PasswordHash, &u.Disabled, &uc, &uu)
	if errors.Is(err, sql.ErrNoRows) {
		return se, u, fmt.Errorf("session: %w", ErrNotFound)
	}
	if err != nil {
		return se, u, fmt.Errorf("state %s: session: %w", s.db.path, err)
	}
	se.Username = u.Username
	se.CreatedAt, se.LastSeen, se.ExpiresAt = time.Unix(0, created).UTC(), time.Unix(0, seen).UTC(), time.Unix(0, expires).UTC()
	u.CreatedAt, u.UpdatedAt = time.Unix(0, uc).UTC(), time.Unix(0, uu).UTC()
	return se, u, nil
}

// TouchSession records activity on a session at at.
func (s *State) TouchSession(ctx context.Context, idHash string, at time.Time) error {
	if _, err := s.db.w.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE id_sha256 = ? AND last_seen < ?`,
		boundNanos(at), idHash, boundNanos(at)); err != nil {
		return fmt.Errorf("state %s: touch session: %w", s.db.path, err)
	}
	return nil
}

// DeleteSession ends a session (logout, expiry). Ending one that is gone
// is not an error.
func (s *State) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := s.db.w.ExecContext(ctx, `DELETE FROM sessions WHERE id_sha256 = ?`, idHash); err != nil {
		return fmt.Errorf("state %s: delete session: %w", s.db.path, err)
	}
	return nil
}

const tokenColumns = `name, role, token_sha256, created_by, created_at, last_used_at, revoked_at`

func scanToken(r scanner) (APIToken, error) {
	var t APIToken
	var created int64
	var used, revoked sql.NullInt64
	if err := r.Scan(&t.Name, &t.Role, &t.Hash, &t.CreatedBy, &created, &used, &revoked); err != nil {
		return t, err
	}
	t.CreatedAt, t.LastUsedAt, t.RevokedAt = time.Unix(0, created).UTC(), timePtrOf(used), timePtrOf(revoked)
	return t, nil
}

// CreateToken stores a new API token. A revoked token's name may be used
// again (its row is replaced); an error wrapping ErrExists when a token
// of that name is in force.
func (s *State) CreateToken(ctx context.Context, t APIToken) error {
	created, err := nanos(t.CreatedAt)
	if err != nil {
		return fmt.Errorf("state %s: create token %q: %w", s.db.path, t.Name, err)
	}
	res, err := s.db.w.ExecContext(ctx, `INSERT INTO api_tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, NULL, NULL)
		ON CONFLICT (name) DO UPDATE SET role = excluded.role, token_sha256 = excluded.token_sha256,
			created_by = excluded.created_by, created_at = excluded.created_at, last_used_at = NULL, revoked_at = NULL
		WHERE api_tokens.revoked_at IS NOT NULL`,
		t.Name, t.Role, t.Hash, t.CreatedBy, created)
	if err != nil {
		return fmt.Errorf("state %s: create token %q: %w", s.db.path, t.Name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("token %q: %w", t.Name, ErrExists)
	}
	return nil
}

// Tokens lists every API token, revoked ones too, by name.
func (s *State) Tokens(ctx context.Context) ([]APIToken, error) {
	rows, err := s.db.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("state %s: list tokens: %w", s.db.path, err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("state %s: list tokens: %w", s.db.path, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// TokenByHash returns the token whose hex SHA-256 is hash, revoked or not;
// ErrNotFound when there is none.
func (s *State) TokenByHash(ctx context.Context, hash string) (APIToken, error) {
	t, err := scanToken(s.db.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE token_sha256 = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("token: %w", ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("state %s: token: %w", s.db.path, err)
	}
	return t, nil
}

// TouchToken records that a token was used at at.
func (s *State) TouchToken(ctx context.Context, name string, at time.Time) error {
	if _, err := s.db.w.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE name = ?`, boundNanos(at), name); err != nil {
		return fmt.Errorf("state %s: touch token %q: %w", s.db.path, name, err)
	}
	return nil
}

// RevokeToken ends a token at at; ErrNotFound when no token of that name
// is in force. The row stays, for the record.
func (s *State) RevokeToken(ctx context.Context, name string, at time.Time) error {
	res, err := s.db.w.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL`, boundNanos(at), name)
	if err != nil {
		return fmt.Errorf("state %s: revoke token %q: %w", s.db.path, name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("token %q: %w", name, ErrNotFound)
	}
	return nil
}
