package duty

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"yujing"
)

// Store keeps the directory entries saved or deleted through the API, so
// they survive a restart. Kinds are KindPerson, KindOrg, KindResponsibility
// and KindRoster; a body is the entry in JSON. A saved or deleted entry
// overrides the configuration's entry of the same kind and id.
type Store interface {
	PutDirectory(ctx context.Context, kind, id string, body []byte) error
	DeleteDirectory(ctx context.Context, kind, id string) error
	// SavedDirectory calls each for every saved (deleted false) or
	// deleted entry, oldest change first.
	SavedDirectory(ctx context.Context, each func(kind, id string, body []byte, deleted bool) error) error
}

// Errors of directory editing; match with errors.Is. A change that does
// not pass the checks returns [Problems].
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrInUse    = errors.New("still referenced")
)

// overlay is what was saved through the API, by kind and id.
type overlay struct {
	saved   map[string]map[string]any // kind → id → Person, Org, Responsibility or Roster
	deleted map[string]map[string]bool
}

func newOverlay() overlay {
	o := overlay{saved: map[string]map[string]any{}, deleted: map[string]map[string]bool{}}
	for _, k := range []string{KindPerson, KindOrg, KindResponsibility, KindRoster} {
		o.saved[k], o.deleted[k] = map[string]any{}, map[string]bool{}
	}
	return o
}

func (o overlay) clone() overlay {
	c := overlay{saved: map[string]map[string]any{}, deleted: map[string]map[string]bool{}}
	for k := range o.saved {
		c.saved[k], c.deleted[k] = maps.Clone(o.saved[k]), maps.Clone(o.deleted[k])
	}
	return c
}

func (o overlay) put(kind, id string, v any) {
	o.saved[kind][id] = v
	delete(o.deleted[kind], id)
}

func (o overlay) remove(kind, id string) {
	delete(o.saved[kind], id)
	o.deleted[kind][id] = true
}

// apply lays the overlay of one kind over base: saved entries replace the
// configured ones in place, deleted ones go, new ones follow by id.
func apply[T any](base []T, o overlay, kind string, key func(T) string) []T {
	var out []T
	seen := map[string]bool{}
	for _, e := range base {
		k := key(e)
		seen[k] = true
		if o.deleted[kind][k] {
			continue
		}
		if v, ok := o.saved[kind][k]; ok {
			e = v.(T)
		}
		out = append(out, e)
	}
	for _, k := range slices.Sorted(maps.Keys(o.saved[kind])) {
		if !seen[k] {
			out = append(out, o.saved[kind][k].(T))
		}
	}
	return out
}

func (o overlay) over(base Spec) Spec {
	s := base
	s.People = apply(base.People, o, KindPerson, func(p yujing.Person) string { return p.ID })
	s.Orgs = apply(base.Orgs, o, KindOrg, func(g Org) string { return g.ID })
	s.Responsibility = apply(base.Responsibility, o, KindResponsibility, Responsibility.Key)
	s.Rosters = apply(base.Rosters, o, KindRoster, Roster.Key)
	return s
}

// Book holds the directory in force: the configuration's entries with
// those saved through the API on top. Every change is checked like the
// configuration, persisted, and then the whole directory is rebuilt and
// swapped at once. It is safe for concurrent use; reading never blocks.
type Book struct {
	mu        sync.Mutex // serialises changes
	cur       atomic.Pointer[Directory]
	st        Store // nil: changes are not persisted
	base      Spec
	saved     overlay
	listeners []func(*Directory)
}

// NewBook builds the directory of base (the configuration's lists). st
// keeps changes made through the API; nil keeps them in memory only. Call
// Load to apply what st holds.
func NewBook(base Spec, st Store) (*Book, error) {
	d, err := New(base)
	if err != nil {
		return nil, err
	}
	b := &Book{st: st, base: base, saved: newOverlay()}
	b.cur.Store(d)
	return b, nil
}

// Load applies the entries saved in the store over the configuration's.
func (b *Book) Load(ctx context.Context) error {
	if b.st == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	next := newOverlay()
	err := b.st.SavedDirectory(ctx, func(kind, id string, body []byte, deleted bool) error {
		if _, known := next.saved[kind]; !known {
			return fmt.Errorf("directory entry %s %s: unknown kind %q", kind, id, kind)
		}
		if deleted {
			next.remove(kind, id)
			return nil
		}
		v, err := decodeEntry(kind, body)
		if err != nil {
			return fmt.Errorf("directory entry %s %s: %w", kind, id, err)
		}
		next.put(kind, id, v)
		return nil
	})
	if err != nil {
		return err
	}
	d, err := New(next.over(b.base))
	if err != nil {
		return fmt.Errorf("the directory edited through the API does not fit the configuration: %w", err)
	}
	b.saved = next
	b.swap(d)
	return nil
}

func decodeEntry(kind string, body []byte) (any, error) {
	switch kind {
	case KindPerson:
		return decode[yujing.Person](body)
	case KindOrg:
		return decode[Org](body)
	case KindResponsibility:
		return decode[Responsibility](body)
	default:
		return decode[Roster](body)
	}
}

func decode[T any](body []byte) (any, error) {
	var v T
	err := json.Unmarshal(body, &v)
	return v, err
}

// SetConfig replaces the configuration's entries (a reload), keeping those
// saved through the API on top. On error nothing changes.
func (b *Book) SetConfig(base Spec) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, err := New(b.saved.over(base))
	if err != nil {
		return err
	}
	b.base = base
	b.swap(d)
	return nil
}

// Current returns the directory in force.
func (b *Book) Current() *Directory { return b.cur.Load() }

// OnChange registers f to be called with the new directory after every
// change. f runs while changes are held back; it must not change the Book.
func (b *Book) OnChange(f func(*Directory)) {
	b.mu.Lock()
	b.listeners = append(b.listeners, f)
	b.mu.Unlock()
}

func (b *Book) swap(d *Directory) {
	b.cur.Store(d)
	for _, f := range b.listeners {
		f(d)
	}
}

// change checks the directory with one entry saved (v non-nil) or deleted
// (v nil), persists the change and swaps the directory in. It reports
// whether the entry existed before.
func (b *Book) change(ctx context.Context, kind, id string, v any, exists func(*Directory) bool, mode int) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	had := exists(b.cur.Load())
	switch {
	case mode == modeCreate && had:
		return had, fmt.Errorf("%s %s: %w", kind, id, ErrExists)
	case mode == modeDelete && !had:
		return had, fmt.Errorf("%s %s: %w", kind, id, ErrNotFound)
	}
	next := b.saved.clone()
	if v != nil {
		next.put(kind, id, v)
	} else {
		next.remove(kind, id)
	}
	d, err := New(next.over(b.base))
	if err != nil {
		if mode == modeDelete {
			return had, fmt.Errorf("%s %s cannot be deleted, it is %w: %w", kind, id, ErrInUse, err)
		}
		return had, err
	}
	if b.st != nil {
		var err error
		if v != nil {
			var body []byte
			if body, err = json.Marshal(v); err == nil {
				err = b.st.PutDirectory(ctx, kind, id, body)
			}
		} else {
			err = b.st.DeleteDirectory(ctx, kind, id)
		}
		if err != nil {
			return had, fmt.Errorf("%s %s not saved: %w", kind, id, err)
		}
	}
	b.saved = next
	b.swap(d)
	return had, nil
}

const (
	modePut = iota
	modeCreate
	modeDelete
)

// keyProblem refuses an entry whose key cannot be stored, before anything
// else is checked.
func keyProblem(kind, id, field string) error {
	if id == "" {
		return Problems{{Kind: kind, Field: field, Msg: field + " is required"}}
	}
	return nil
}

// PutPerson adds or replaces a person; created reports that it is new.
func (b *Book) PutPerson(ctx context.Context, p yujing.Person) (created bool, err error) {
	if err := keyProblem(KindPerson, p.ID, "id"); err != nil {
		return false, err
	}
	had, err := b.change(ctx, KindPerson, p.ID, p, func(d *Directory) bool { _, ok := d.Person(p.ID); return ok }, modePut)
	return !had, err
}

// CreatePerson adds a person; ErrExists if the id is taken.
func (b *Book) CreatePerson(ctx context.Context, p yujing.Person) error {
	if err := keyProblem(KindPerson, p.ID, "id"); err != nil {
		return err
	}
	_, err := b.change(ctx, KindPerson, p.ID, p, func(d *Directory) bool { _, ok := d.Person(p.ID); return ok }, modeCreate)
	return err
}

// DeletePerson removes a person; ErrInUse while a roster or a chain names
// them.
func (b *Book) DeletePerson(ctx context.Context, id string) error {
	_, err := b.change(ctx, KindPerson, id, nil, func(d *Directory) bool { _, ok := d.Person(id); return ok }, modeDelete)
	return err
}

// PutOrg adds or replaces an organisation; created reports that it is new.
func (b *Book) PutOrg(ctx context.Context, o Org) (created bool, err error) {
	if err := keyProblem(KindOrg, o.ID, "id"); err != nil {
		return false, err
	}
	had, err := b.change(ctx, KindOrg, o.ID, o, func(d *Directory) bool { _, ok := d.Org(o.ID); return ok }, modePut)
	return !had, err
}

// CreateOrg adds an organisation; ErrExists if the id is taken.
func (b *Book) CreateOrg(ctx context.Context, o Org) error {
	if err := keyProblem(KindOrg, o.ID, "id"); err != nil {
		return err
	}
	_, err := b.change(ctx, KindOrg, o.ID, o, func(d *Directory) bool { _, ok := d.Org(o.ID); return ok }, modeCreate)
	return err
}

// DeleteOrg removes an organisation; ErrInUse while anything names it.
func (b *Book) DeleteOrg(ctx context.Context, id string) error {
	_, err := b.change(ctx, KindOrg, id, nil, func(d *Directory) bool { _, ok := d.Org(id); return ok }, modeDelete)
	return err
}

// PutResponsibility adds or replaces the responsibility of a site or a
// region; created reports that it is new.
func (b *Book) PutResponsibility(ctx context.Context, r Responsibility) (created bool, err error) {
	if r.Site == "" && r.Region == "" {
		return false, Problems{{Kind: KindResponsibility, Msg: "give site (one site) or region (every site in it)"}}
	}
	key := r.Key()
	had, err := b.change(ctx, KindResponsibility, key, r, func(d *Directory) bool { _, ok := d.Responsibility(key); return ok }, modePut)
	return !had, err
}

// DeleteResponsibility removes the responsibility with key (a site id or
// "region:" and a code).
func (b *Book) DeleteResponsibility(ctx context.Context, key string) error {
	_, err := b.change(ctx, KindResponsibility, key, nil, func(d *Directory) bool { _, ok := d.Responsibility(key); return ok }, modeDelete)
	return err
}

// PutRoster adds or replaces the roster org/role; created reports that it
// is new.
func (b *Book) PutRoster(ctx context.Context, r Roster) (created bool, err error) {
	for _, f := range []struct{ name, v string }{{"org", r.Org}, {"role", r.Role}} {
		if err := keyProblem(KindRoster, f.v, f.name); err != nil {
			return false, err
		}
	}
	key := r.Key()
	had, err := b.change(ctx, KindRoster, key, r, func(d *Directory) bool { _, ok := d.Roster(r.Org, r.Role); return ok }, modePut)
	return !had, err
}

// DeleteRoster removes the roster org/role; ErrInUse while a chain names it.
func (b *Book) DeleteRoster(ctx context.Context, org, role string) error {
	_, err := b.change(ctx, KindRoster, org+"/"+role, nil, func(d *Directory) bool { _, ok := d.Roster(org, role); return ok }, modeDelete)
	return err
}

// The questions the escalation engine asks, answered by the directory in
// force.

// Person returns the person with id.
func (b *Book) Person(id string) (yujing.Person, bool) { return b.Current().Person(id) }

// People returns every person.
func (b *Book) People() []yujing.Person { return b.Current().People() }

// Org returns the organisation with id.
func (b *Book) Org(id string) (Org, bool) { return b.Current().Org(id) }

// Ancestors returns the organisation and its ancestors up to the root.
func (b *Book) Ancestors(orgID string) []Org { return b.Current().Ancestors(orgID) }

// OnDuty returns who holds role of org at time at.
func (b *Book) OnDuty(org, role string, at time.Time) []yujing.Person {
	return b.Current().OnDuty(org, role, at)
}

// Chain returns site's responsibility chain at time at.
func (b *Book) Chain(site string, at time.Time) []Link { return b.Current().Chain(site, at) }

// Tier returns the people of site's chain at tier, at time at.
func (b *Book) Tier(site string, tier int, at time.Time) []yujing.Person {
	return b.Current().Tier(site, tier, at)
}

// Role returns the people of site's chain with role, at time at.
func (b *Book) Role(site, role string, at time.Time) []yujing.Person {
	return b.Current().Role(site, role, at)
}

// SiteRegion returns the region code of a site, or an area's own code
// (Directory.SiteRegion).
func (b *Book) SiteRegion(site string) string { return b.Current().SiteRegion(site) }

// PersonRegion returns the region code of the person's organisation.
func (b *Book) PersonRegion(personID string) string { return b.Current().PersonRegion(personID) }

// Duty returns every roster at time at.
func (b *Book) Duty(at time.Time) []DutyEntry { return b.Current().Duty(at) }
