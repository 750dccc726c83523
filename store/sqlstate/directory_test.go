package sqlstate

import (
	"strings"
	"testing"
)

type dirEntry struct {
	kind, id, body string
	deleted        bool
}

func savedDirectory(t *testing.T, s *State) []dirEntry {
	t.Helper()
	var out []dirEntry
	err := s.SavedDirectory(t.Context(), func(kind, id string, body []byte, deleted bool) error {
		out = append(out, dirEntry{kind, id, string(body), deleted})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDirectoryPersists saves, replaces and deletes entries of each kind and
// reads them back after the state database is closed and opened again.
func testDirectoryPersists(t *testing.T, b backend) {
	path := b.fresh(t)
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		put      bool
		kind, id string
		body     string
	}{
		{true, "person", "zhang", `{"id":"zhang","name":"张伟"}`},
		{true, "org", "acme", `{"id":"acme","name":"某化工有限公司","kind":"enterprise"}`},
		{true, "roster", "acme/duty_officer", `{"org":"acme","role":"duty_officer"}`},
		{true, "responsibility", "region:320115", `{"region":"320115","chain":[]}`},
		{true, "person", "zhang", `{"id":"zhang","name":"张伟","phone":"+8613800000001"}`},
		{false, "org", "old-bureau", ""},
		{false, "roster", "acme/duty_officer", ""},
	}
	for _, st := range steps {
		if st.put {
			err = s.PutDirectory(t.Context(), st.kind, st.id, []byte(st.body))
		} else {
			err = s.DeleteDirectory(t.Context(), st.kind, st.id)
		}
		if err != nil {
			t.Fatalf("%+v: %v", st, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = b.openAt(t, path)
	got := savedDirectory(t, s)
	want := []dirEntry{
		{"org", "acme", `{"id":"acme","name":"某化工有限公司","kind":"enterprise"}`, false},
		{"responsibility", "region:320115", `{"region":"320115","chain":[]}`, false},
		{"person", "zhang", `{"id":"zhang","name":"张伟","phone":"+8613800000001"}`, false},
		{"org", "old-bureau", "", true},
		{"roster", "acme/duty_officer", "", true},
	}
	if len(got) != len(want) {
		t.Fatalf("after reopening, saved entries:\n%+v\nwant:\n%+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func testDirectoryRefusesBadEntries(t *testing.T, b backend) {
	s := b.open(t)
	for _, tc := range []struct {
		name, kind, id, body, want string
	}{
		{"unknown kind", "sensor", "x", `{}`, `unknown kind "sensor"`},
		{"empty id", "person", "", `{}`, "empty id"},
		{"not JSON", "person", "x", `{"id":`, "not JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.PutDirectory(t.Context(), tc.kind, tc.id, []byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("PutDirectory = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	if got := savedDirectory(t, s); len(got) != 0 {
		t.Errorf("refused entries were saved: %+v", got)
	}
	if err := s.DeleteDirectory(t.Context(), "sensor", "x"); err == nil {
		t.Error("DeleteDirectory of an unknown kind succeeded")
	}
}
