package sqlstate

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// A state database has an instance id, made when it is created and kept:
// fresh databases have different ones, reopening one (a restart) gives the
// same, and processes opening a new file at once agree on it.
func testInstanceID(t *testing.T, b backend) {
	tag := regexp.MustCompile(`^[a-z2-7]{10}$`)
	open := func(path string) string {
		t.Helper()
		s, err := Open(t.Context(), path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if !tag.MatchString(s.InstanceID()) {
			t.Errorf("instance id %q, want ten lower-case base32 characters", s.InstanceID())
		}
		return s.InstanceID()
	}
	seen := map[string]string{}
	for _, name := range []string{"a", "b", "c"} {
		path := b.fresh(t)
		id := open(path)
		if other, ok := seen[id]; ok {
			t.Errorf("%s and %s both have instance id %q", other, name, id)
		}
		seen[id] = name
		if again := open(path); again != id {
			t.Errorf("%s reopened: instance id %q, was %q", name, again, id)
		}
	}

	path := b.fresh(t)
	ids := make([]string, 4)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			s, err := Open(t.Context(), path, Options{})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = s.InstanceID()
			s.Close()
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Errorf("opened at once: instance ids %q, want one", ids)
			break
		}
	}
}

// A damaged instance id is refused with the file and the value, not used.
func testInstanceIDDamaged(t *testing.T, b backend) {
	path := b.fresh(t)
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.w.ExecContext(t.Context(), `UPDATE meta SET value = 'x-1' WHERE key = 'instance_id'`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(t.Context(), path, Options{})
	if want := `state ` + s.Path() + `: instance id "x-1" in table meta is damaged`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("open: %v, want %s…", err, want)
	}
}

// A database made before instance ids (schema version 10) keeps the ids
// of the calls about its transitions and escalations: the upgrade records
// the last of each, so that a call made again after it (RecoverCalls, a
// resumed escalation) has the id it had, while everything newer gets the
// instance id. A fresh database has no such bounds.
func TestInstanceIDUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db := openSQLiteAt(t, path, stateMigrations[:10])
	for _, q := range []string{
		`INSERT INTO alerts (rule, sensor, level, state) VALUES ('gas', 'G1', 4, 'firing')`,
		`INSERT INTO transitions (alert_id, event, from_level, to_level) VALUES (1, 'raised', 0, 3), (1, 'upgraded', 3, 4)`,
		`INSERT INTO escalations (alert_id, transition_id, level, policy, step, step_at, state, started_at, updated_at)
			VALUES (1, 1, 3, 'orange', 1, 0, 'stopped', 0, 0), (1, 2, 4, 'red', 1, 0, 'active', 0, 0)`,
	} {
		if _, err := db.w.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.close(); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the upgrade, then a restart
		s, err := OpenSQLite(t.Context(), path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		c := s.CallIDs()
		s.Close()
		if c.LegacyTransitions != 2 || c.LegacyEscalations != 2 || c.Instance == "" {
			t.Errorf("upgraded database: %+v, want an instance id and legacy bounds 2 and 2", c)
		}
	}
	fresh := openTestState(t).CallIDs()
	if fresh.LegacyTransitions != 0 || fresh.LegacyEscalations != 0 {
		t.Errorf("fresh database: %+v, want no legacy bounds", fresh)
	}
}

// A PostgreSQL state database keeps the answer-link key: made once, the
// same for every node that opens it (also nodes opening a new database at
// once) and after a restart, another for another database; a damaged one
// is refused without being quoted. On SQLite there is none (nil): the
// node keeps its key in its data directory.
func testAnswerKey(t *testing.T, b backend) {
	path := b.fresh(t)
	keys := make([][]byte, 4)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			s, err := Open(t.Context(), path, Options{})
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = s.AnswerKey()
			s.Close()
		})
	}
	wg.Wait()
	if !b.postgres() {
		for _, k := range keys {
			if k != nil {
				t.Fatalf("SQLite: answer key %x, want nil", k)
			}
		}
		return
	}
	for _, k := range keys {
		if len(k) != answerKeyLen || !bytes.Equal(k, keys[0]) {
			t.Fatalf("opened at once: answer keys %x, want one of %d bytes", keys, answerKeyLen)
		}
	}
	s := b.openAt(t, path)
	if !bytes.Equal(s.AnswerKey(), keys[0]) {
		t.Errorf("reopened: answer key %x, was %x", s.AnswerKey(), keys[0])
	}
	if other := b.open(t); bytes.Equal(other.AnswerKey(), keys[0]) {
		t.Errorf("another database has the same answer key")
	}
	if _, err := s.db.w.ExecContext(t.Context(), `UPDATE meta SET value = 'abcd' WHERE key = 'answer_key'`); err != nil {
		t.Fatal(err)
	}
	_, err := Open(t.Context(), path, Options{})
	if want := `state ` + s.Path() + `: answer_key in table meta is damaged: want 64 hex digits`; err == nil || err.Error() != want {
		t.Errorf("open: %v, want %s", err, want)
	}
}
