package sqlstate

import (
	"errors"
	"testing"
	"time"
)

var authT0 = time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)

func testUsersStore(t *testing.T, b backend) {
	path := b.fresh(t)
	s := b.openAt(t, path)
	ctx := t.Context()
	admin := User{Username: "admin", Role: "admin", PasswordHash: "$argon2id$a", CreatedAt: authT0, UpdatedAt: authT0}
	// The first user is created once, even when two starts race.
	for i, want := range []bool{true, false} {
		u := admin
		u.PasswordHash += string(rune('0' + i))
		if ok, err := s.CreateFirstUser(ctx, u); ok != want || err != nil {
			t.Fatalf("CreateFirstUser #%d = %v, %v; want %v", i+1, ok, err, want)
		}
	}
	if u, err := s.User(ctx, "admin"); err != nil || u.PasswordHash != "$argon2id$a0" || !u.CreatedAt.Equal(authT0) {
		t.Fatalf("User(admin) = %+v, %v", u, err)
	}
	li := User{Username: "li", Role: "operator", PasswordHash: "$argon2id$b", CreatedAt: authT0, UpdatedAt: authT0}
	if err := s.CreateUser(ctx, li); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, li); !errors.Is(err, ErrExists) {
		t.Errorf("second CreateUser(li) = %v, want ErrExists", err)
	}
	if _, err := s.User(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("User(nobody) = %v, want ErrNotFound", err)
	}

	// Sessions are found by hash, joined with their user as it is now.
	se := Session{IDHash: "h1", Username: "li", CSRF: "c1", CreatedAt: authT0, LastSeen: authT0, ExpiresAt: authT0.Add(time.Hour)}
	if err := s.CreateSession(ctx, se, authT0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	li.Role, li.UpdatedAt = "admin", authT0.Add(time.Minute)
	if err := s.UpdateUser(ctx, li, false); err != nil {
		t.Fatal(err)
	}
	got, u, err := s.SessionUser(ctx, "h1")
	if err != nil || got.CSRF != "c1" || u.Role != "admin" || !got.ExpiresAt.Equal(se.ExpiresAt) {
		t.Fatalf("SessionUser = %+v, %+v, %v", got, u, err)
	}
	if err := s.TouchSession(ctx, "h1", authT0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.SessionUser(ctx, "h1"); !got.LastSeen.Equal(authT0.Add(2 * time.Minute)) {
		t.Errorf("LastSeen = %v after touch", got.LastSeen)
	}
	// A new password (logout) ends the sessions in the same change.
	li.PasswordHash = "$argon2id$c"
	if err := s.UpdateUser(ctx, li, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionUser(ctx, "h1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("session after logout update: %v", err)
	}

	// SetPassword ends the user's other sessions, not the one named, and
	// no other user's.
	for _, x := range []Session{{IDHash: "mine", Username: "li"}, {IDHash: "theirs", Username: "li"}, {IDHash: "adm", Username: "admin"}} {
		x.CSRF, x.CreatedAt, x.LastSeen, x.ExpiresAt = "x", authT0, authT0, authT0.Add(time.Hour)
		if err := s.CreateSession(ctx, x, authT0.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.SetPassword(ctx, "li", "$argon2id$d", authT0.Add(3*time.Minute), "mine"); n != 1 || err != nil {
		t.Fatalf("SetPassword = %d, %v; want 1 session ended", n, err)
	}
	for id, want := range map[string]error{"mine": nil, "theirs": ErrNotFound, "adm": nil} {
		if _, _, err := s.SessionUser(ctx, id); !errors.Is(err, want) {
			t.Errorf("session %s after SetPassword: %v, want %v", id, err, want)
		}
	}
	if u, _ := s.User(ctx, "li"); u.PasswordHash != "$argon2id$d" || !u.UpdatedAt.Equal(authT0.Add(3*time.Minute)) || u.Role != "admin" {
		t.Errorf("li after SetPassword: %+v", u)
	}
	if _, err := s.SetPassword(ctx, "ghost", "h", authT0, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetPassword(ghost) = %v, want ErrNotFound", err)
	}
	for _, id := range []string{"mine", "adm"} {
		if err := s.DeleteSession(ctx, id); err != nil {
			t.Fatal(err)
		}
	}

	// Ended sessions are swept when a new one starts.
	old := Session{IDHash: "old", Username: "li", CSRF: "x", CreatedAt: authT0, LastSeen: authT0, ExpiresAt: authT0.Add(time.Hour)}
	idle := Session{IDHash: "idle", Username: "li", CSRF: "x", CreatedAt: authT0, LastSeen: authT0, ExpiresAt: authT0.Add(48 * time.Hour)}
	for _, x := range []Session{old, idle} {
		if err := s.CreateSession(ctx, x, authT0.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	later := authT0.Add(13 * time.Hour)
	if err := s.CreateSession(ctx, Session{IDHash: "new", Username: "admin", CSRF: "y", CreatedAt: later, LastSeen: later,
		ExpiresAt: later.Add(time.Hour)}, later.Add(-12*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, "sessions"); n != 1 {
		t.Errorf("%d sessions after the sweep, want 1", n)
	}

	// Two admins now: li may be demoted; then admin is the last one.
	li.Role = "viewer"
	if err := s.UpdateUser(ctx, li, false); err != nil {
		t.Fatal(err)
	}
	admin.Disabled = true
	if err := s.UpdateUser(ctx, admin, true); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("disable the last admin: %v, want ErrLastAdmin", err)
	}
	if err := s.DeleteUser(ctx, "admin"); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("delete the last admin: %v, want ErrLastAdmin", err)
	}
	if u, _ := s.User(ctx, "admin"); u.Disabled {
		t.Error("the refused change was kept")
	}
	if err := s.DeleteUser(ctx, "li"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "li"); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete li twice: %v", err)
	}
	if err := s.UpdateUser(ctx, User{Username: "ghost", Role: "viewer", UpdatedAt: authT0}, false); !errors.Is(err, ErrNotFound) {
		t.Errorf("update ghost: %v", err)
	}
	// Deleting a user deletes its sessions (foreign key cascade).
	s.CreateUser(ctx, User{Username: "wang", Role: "viewer", PasswordHash: "h", CreatedAt: authT0, UpdatedAt: authT0})
	s.CreateSession(ctx, Session{IDHash: "w", Username: "wang", CSRF: "z", CreatedAt: later, LastSeen: later, ExpiresAt: later.Add(time.Hour)}, later)
	if err := s.DeleteUser(ctx, "wang"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionUser(ctx, "w"); !errors.Is(err, ErrNotFound) {
		t.Errorf("session of a deleted user: %v", err)
	}

	// It all survives a reopen.
	s.Close()
	s2 := b.openAt(t, path)
	us, err := s2.Users(ctx)
	if err != nil || len(us) != 1 || us[0].Username != "admin" {
		t.Errorf("users after reopen: %+v, %v", us, err)
	}
}

func testTokensStore(t *testing.T, b backend) {
	s := b.open(t)
	ctx := t.Context()
	tok := APIToken{Name: "ci", Role: "admin", Hash: "aa", CreatedBy: "admin", CreatedAt: authT0}
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, APIToken{Name: "ci", Role: "viewer", Hash: "bb", CreatedAt: authT0}); !errors.Is(err, ErrExists) {
		t.Errorf("second token ci: %v, want ErrExists", err)
	}
	got, err := s.TokenByHash(ctx, "aa")
	if err != nil || got.Name != "ci" || got.Role != "admin" || got.LastUsedAt != nil || got.RevokedAt != nil {
		t.Fatalf("TokenByHash = %+v, %v", got, err)
	}
	if err := s.TouchToken(ctx, "ci", authT0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, "ci", authT0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, "ci", authT0.Add(time.Hour)); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoke twice: %v", err)
	}
	got, _ = s.TokenByHash(ctx, "aa")
	if got.RevokedAt == nil || !got.LastUsedAt.Equal(authT0.Add(time.Minute)) {
		t.Errorf("after revoke: %+v", got)
	}
	// A revoked token's name may be used again; the old hash is gone.
	if err := s.CreateToken(ctx, APIToken{Name: "ci", Role: "viewer", Hash: "cc", CreatedAt: authT0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenByHash(ctx, "aa"); !errors.Is(err, ErrNotFound) {
		t.Errorf("old hash after replacement: %v", err)
	}
	ts, err := s.Tokens(ctx)
	if err != nil || len(ts) != 1 || ts[0].Hash != "cc" || ts[0].RevokedAt != nil || ts[0].LastUsedAt != nil {
		t.Errorf("Tokens = %+v, %v", ts, err)
	}
	// Two names, one hash: refused.
	if err := s.CreateToken(ctx, APIToken{Name: "other", Role: "viewer", Hash: "cc", CreatedAt: authT0}); err == nil {
		t.Error("two tokens with one hash were stored")
	}
}
