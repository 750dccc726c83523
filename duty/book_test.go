package duty

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"yujing"
	"yujing/store/sqlite"
	"yujing/store/sqlstate"
)

func openState(t *testing.T, path string) *sqlstate.State {
	t.Helper()
	st, err := sqlite.OpenState(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func loadBook(t *testing.T, base Spec, st Store) *Book {
	t.Helper()
	b, err := NewBook(base, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBookPersists edits the directory through a Book on a real state
// database and finds every change again after the database is reopened.
func TestBookPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	st := openState(t, path)
	b := loadBook(t, testSpec(t), st)
	ctx := t.Context()
	var changes atomic.Int32
	b.OnChange(func(*Directory) { changes.Add(1) })

	created, err := b.PutPerson(ctx, yujing.Person{ID: "qian", Name: "钱多多", Org: "acme", Phone: "+8613800000009"})
	if err != nil || !created {
		t.Fatalf("PutPerson(qian) = %v, %v; want created", created, err)
	}
	roster := testSpec(t).Rosters[0]
	roster.Rotation = []Turn{{"qian"}, {"zhang"}}
	roster.Overrides = nil
	if created, err := b.PutRoster(ctx, roster); err != nil || created {
		t.Fatalf("PutRoster(acme/duty_officer) = %v, %v; want replaced", created, err)
	}
	if _, err := b.PutOrg(ctx, Org{ID: "jn-park", Name: "江宁开发区", Kind: "park", Parent: "jn-bureau"}); err != nil {
		t.Fatal(err)
	}
	// wu is a grid member of region 320115: not deletable while named there.
	if err := b.DeletePerson(ctx, "wu"); !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), `chain[1].people[1]: person "wu" is not defined`) {
		t.Fatalf("DeletePerson(wu) = %v, want ErrInUse naming the chain entry", err)
	}
	if err := b.DeleteResponsibility(ctx, "region:320115"); err != nil {
		t.Fatal(err)
	}
	if err := b.DeletePerson(ctx, "wu"); err != nil {
		t.Fatal(err)
	}
	if got := changes.Load(); got != 5 {
		t.Errorf("OnChange ran %d times, want 5 (one per change that went through)", got)
	}
	check := func(b *Book, when string) {
		t.Helper()
		if _, ok := b.Person("qian"); !ok {
			t.Error("qian is gone")
		}
		if _, ok := b.Person("wu"); ok {
			t.Error("wu is back")
		}
		if _, ok := b.Org("jn-park"); !ok {
			t.Error("jn-park is gone")
		}
		if got := ids(b.OnDuty("acme", RoleDutyOfficer, at(t, "2026-01-01 09:00:00 +0800"))); got != "qian" {
			t.Errorf("%s: duty officer = %s, want qian from the saved roster", when, got)
		}
		if got := ids(b.Tier("plant-a", 3, at(t, "2026-01-01 09:00:00 +0800"))); got != "chen" {
			t.Errorf("%s: tier 3 = %s, want chen only (the county's entry was deleted)", when, got)
		}
	}
	check(b, "before reopening")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = openState(t, path)
	defer st.Close()
	check(loadBook(t, testSpec(t), st), "after reopening")
}

// failingStore refuses every write.
type failingStore struct{ Store }

func (failingStore) PutDirectory(context.Context, string, string, []byte) error {
	return errors.New("disk full")
}

func (failingStore) DeleteDirectory(context.Context, string, string) error {
	return errors.New("disk full")
}

func TestBookRefuses(t *testing.T) {
	st := openState(t, filepath.Join(t.TempDir(), "state.db"))
	defer st.Close()
	b := loadBook(t, testSpec(t), st)
	ctx := t.Context()
	before := b.Current()
	for _, tc := range []struct {
		name  string
		do    func() error
		is    error
		field string
	}{
		{"person without a name", func() error { _, err := b.PutPerson(ctx, yujing.Person{ID: "qian"}); return err }, nil, "person qian: name: name is required"},
		{"person of an unknown org", func() error {
			_, err := b.PutPerson(ctx, yujing.Person{ID: "qian", Name: "钱", Org: "x"})
			return err
		}, nil, `person qian: org: org "x" is not defined under orgs`},
		{"person without an id", func() error { _, err := b.PutPerson(ctx, yujing.Person{Name: "钱"}); return err }, nil, "person: id: id is required"},
		{"existing person created", func() error { return b.CreatePerson(ctx, yujing.Person{ID: "wang", Name: "王"}) }, ErrExists, "person wang: already exists"},
		{"org making a cycle", func() error {
			_, err := b.PutOrg(ctx, Org{ID: "js", Name: "江苏省", Kind: "province", Parent: "acme"})
			return err
		}, nil, "org js: parent: organisations form a cycle: js → acme → jn-bureau → nj → js"},
		{"roster with a bad shift", func() error {
			r := testSpec(t).Rosters[1]
			r.Shifts = []string{"8am"}
			_, err := b.PutRoster(ctx, r)
			return err
		}, nil, `roster jn-bureau/duty_officer: shifts[0]: want a time of day such as "08:00", got "8am"`},
		{"roster without a role", func() error { _, err := b.PutRoster(ctx, Roster{Org: "nj"}); return err }, nil, "roster: role: role is required"},
		{"responsibility naming an unknown roster", func() error {
			_, err := b.PutResponsibility(ctx, Responsibility{Site: "plant-b", Chain: []LinkSpec{{Tier: 1, Role: "x", Roster: "nj/x"}}})
			return err
		}, nil, `responsibility plant-b: chain[0].roster: roster "nj/x" is not defined under rosters (write org/role)`},
		{"roster still in a chain", func() error { return b.DeleteRoster(ctx, "acme", RoleDutyOfficer) }, ErrInUse, "roster acme/duty_officer cannot be deleted"},
		{"org still the parent of another", func() error { return b.DeleteOrg(ctx, "nj") }, ErrInUse, `org jn-bureau: parent: org "nj" is not defined under orgs`},
		{"unknown person", func() error { return b.DeletePerson(ctx, "nobody") }, ErrNotFound, "person nobody: not found"},
		{"unknown responsibility", func() error { return b.DeleteResponsibility(ctx, "region:110000") }, ErrNotFound, "responsibility region:110000: not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			var ps Problems
			switch {
			case err == nil:
				t.Fatal("accepted")
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Fatalf("error %v, want %v", err, tc.is)
			case tc.is == nil && !errors.As(err, &ps):
				t.Fatalf("error %v (%T), want Problems", err, err)
			case !strings.Contains(err.Error(), tc.field):
				t.Fatalf("error %q, want it to say %q", err, tc.field)
			}
			if b.Current() != before {
				t.Error("the directory changed")
			}
		})
	}
	n := 0
	if err := st.SavedDirectory(ctx, func(string, string, []byte, bool) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("refused changes were saved: %d entries, %v", n, err)
	}

	fb := loadBook(t, testSpec(t), failingStore{st})
	before = fb.Current()
	if _, err := fb.PutPerson(ctx, yujing.Person{ID: "qian", Name: "钱"}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("PutPerson with a failing store = %v, want its error", err)
	}
	if err := fb.DeleteResponsibility(ctx, "plant-a"); err == nil {
		t.Error("DeleteResponsibility with a failing store succeeded")
	}
	if fb.Current() != before {
		t.Error("a change that was not saved is in force")
	}
}

// TestBookConcurrent swaps rosters while readers ask; every answer comes
// from one whole directory.
func TestBookConcurrent(t *testing.T) {
	st := openState(t, filepath.Join(t.TempDir(), "state.db"))
	defer st.Close()
	b := loadBook(t, testSpec(t), st)
	when := at(t, "2026-01-01 09:00:00 +0800")
	roster := func(who string) Roster {
		r := testSpec(t).Rosters[0]
		r.Rotation, r.Overrides = []Turn{{who}}, nil
		return r
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var reads atomic.Int64
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				d := b.Current()
				duty := ids(d.OnDuty("acme", RoleDutyOfficer, when))
				chain := d.Chain("plant-a", when)
				if duty != "zhang" && duty != "li" {
					t.Errorf("duty officer %q", duty)
					return
				}
				if len(chain) == 0 || ids(chain[0].People) != duty {
					t.Errorf("a directory answered %s on duty but its chain has %+v", duty, chain)
					return
				}
				_ = b.Duty(when)
				_ = b.Role("plant-a", RoleDutyOfficer, when)
				reads.Add(1)
			}
		})
	}
	for i := range 40 {
		who := []string{"zhang", "li"}[i%2]
		if _, err := b.PutRoster(t.Context(), roster(who)); err != nil {
			t.Fatal(err)
		}
		if got := ids(b.OnDuty("acme", RoleDutyOfficer, when)); got != who {
			t.Fatalf("after putting %s on duty, OnDuty = %s", who, got)
		}
	}
	cancel()
	wg.Wait()
	if reads.Load() == 0 {
		t.Error("no reads happened")
	}
}

// TestBookSetConfig reloads the configuration under the saved entries: a
// reload that does not fit them is refused and changes nothing.
func TestBookSetConfig(t *testing.T) {
	b := loadBook(t, testSpec(t), nil)
	ctx := t.Context()
	if _, err := b.PutPerson(ctx, yujing.Person{ID: "qian", Name: "钱", Org: "acme-safety"}); err != nil {
		t.Fatal(err)
	}
	next := testSpec(t)
	next.People[0].Phone = "+8613900000000"
	if err := b.SetConfig(next); err != nil {
		t.Fatal(err)
	}
	if p, _ := b.Person("zhang"); p.Phone != "+8613900000000" {
		t.Errorf("after reload zhang = %+v, want the new phone", p)
	}
	if _, ok := b.Person("qian"); !ok {
		t.Error("the reload lost the person saved through the API")
	}
	before := b.Current()
	bad := testSpec(t)
	bad.Orgs = bad.Orgs[:4] // without acme-safety, which qian belongs to
	bad.People[3].Org = "acme"
	err := b.SetConfig(bad)
	if err == nil || !strings.Contains(err.Error(), `person qian: org: org "acme-safety" is not defined`) {
		t.Errorf("SetConfig without acme-safety = %v, want it refused naming qian", err)
	}
	if b.Current() != before {
		t.Error("a refused reload changed the directory")
	}
}

// TestBookLoadRefusesMisfits: entries saved through the API that no longer
// fit the configuration stop Load with a clear error.
func TestBookLoadRefusesMisfits(t *testing.T) {
	st := openState(t, filepath.Join(t.TempDir(), "state.db"))
	defer st.Close()
	b := loadBook(t, testSpec(t), st)
	if _, err := b.PutPerson(t.Context(), yujing.Person{ID: "qian", Name: "钱", Org: "acme-safety"}); err != nil {
		t.Fatal(err)
	}
	base := testSpec(t)
	base.Orgs = base.Orgs[:4] // without acme-safety
	base.People[3].Org = "acme"
	nb, err := NewBook(base, st)
	if err != nil {
		t.Fatal(err)
	}
	err = nb.Load(t.Context())
	if err == nil || !strings.Contains(err.Error(), `does not fit the configuration: person qian: org: org "acme-safety" is not defined under orgs`) {
		t.Errorf("Load = %v", err)
	}
}
