package sqlite

import (
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// A state database has an instance id, made when it is created and kept:
// fresh databases have different ones, reopening one (a restart) gives the
// same, and processes opening a new file at once agree on it.
func TestInstanceID(t *testing.T) {
	tag := regexp.MustCompile(`^[a-z2-7]{10}$`)
	open := func(path string) string {
		t.Helper()
		s, err := OpenState(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if !tag.MatchString(s.InstanceID()) {
			t.Errorf("instance id %q, want ten lower-case base32 characters", s.InstanceID())
		}
		return s.InstanceID()
	}
	dir := t.TempDir()
	seen := map[string]string{}
	for _, name := range []string{"a.db", "b.db", "c.db"} {
		path := filepath.Join(dir, name)
		id := open(path)
		if other, ok := seen[id]; ok {
			t.Errorf("%s and %s both have instance id %q", other, name, id)
		}
		seen[id] = name
		if again := open(path); again != id {
			t.Errorf("%s reopened: instance id %q, was %q", name, again, id)
		}
	}

	path := filepath.Join(dir, "race.db")
	ids := make([]string, 4)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			s, err := OpenState(t.Context(), path)
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
func TestInstanceIDDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := OpenState(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.w.ExecContext(t.Context(), `UPDATE meta SET value = 'x-1' WHERE key = 'instance_id'`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = OpenState(t.Context(), path)
	if want := `state ` + path + `: instance id "x-1" in table meta is damaged`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("open: %v, want %s…", err, want)
	}
}
