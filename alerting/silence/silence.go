package silence

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"yujing"
)

// Store keeps silences durably. Silences returns them all, in any order.
type Store interface {
	PutSilence(ctx context.Context, s *yujing.Silence) error
	ExpireSilence(ctx context.Context, id int64, at time.Time) error
	Silences(ctx context.Context) ([]yujing.Silence, error)
}

// Status is a silence and whether it is in force now.
type Status struct {
	yujing.Silence
	Active bool `json:"active"`
}

// InvalidError lists what is wrong with a silence, each problem naming
// its field.
type InvalidError struct {
	Problems []string
}

func (e *InvalidError) Error() string { return strings.Join(e.Problems, "; ") }

// Silences are the silences of one state database, held in memory for
// matching. Safe for concurrent use.
type Silences struct {
	st  Store
	loc *time.Location

	mu  sync.Mutex
	all []yujing.Silence // oldest first
}

// New returns the silences kept in st, whose windows are in loc; call Load
// before Match.
func New(st Store, loc *time.Location) *Silences {
	return &Silences{st: st, loc: loc}
}

// Load reads the silences from the store, replacing those held.
func (s *Silences) Load(ctx context.Context) error {
	all, err := s.st.Silences(ctx)
	if err != nil {
		return err
	}
	// Oldest first, as Create appends them, whatever the store's order.
	slices.SortFunc(all, func(a, b yujing.Silence) int { return cmp.Compare(a.ID, b.ID) })
	s.mu.Lock()
	s.all = all
	s.mu.Unlock()
	return nil
}

// List returns the silences, newest first, each with whether it is active
// at now.
func (s *Silences) List(now time.Time) []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.all))
	for i := len(s.all) - 1; i >= 0; i-- {
		sl := s.all[i]
		out = append(out, Status{Silence: sl, Active: Active(&sl, now, s.loc)})
	}
	return out
}

// Create checks a silence and saves it, starting at now unless it says
// when. What is wrong with it comes back as an *InvalidError. It returns
// the silence as saved, with its id.
func (s *Silences) Create(ctx context.Context, sl yujing.Silence, now time.Time) (yujing.Silence, error) {
	if sl.StartsAt.IsZero() {
		sl.StartsAt = now
	}
	if err := Validate(sl); err != nil {
		return sl, err
	}
	sl.CreatedAt, sl.ExpiredAt, sl.ID = now, nil, 0
	if err := s.st.PutSilence(ctx, &sl); err != nil {
		return sl, err
	}
	s.mu.Lock()
	s.all = append(s.all, sl)
	s.mu.Unlock()
	return sl, nil
}

// Expire ends the silence id at now.
func (s *Silences) Expire(ctx context.Context, id int64, now time.Time) error {
	if err := s.st.ExpireSilence(ctx, id, now); err != nil {
		return err
	}
	s.mu.Lock()
	for i := range s.all {
		if s.all[i].ID == id {
			s.all[i].ExpiredAt = &now
		}
	}
	s.mu.Unlock()
	return nil
}

// Match returns the id of a silence active at at that selects a.
func (s *Silences) Match(a *yujing.Alert, at time.Time) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.all {
		sl := &s.all[i]
		if Active(sl, at, s.loc) && sl.Matchers.Match(a) {
			return sl.ID, true
		}
	}
	return 0, false
}

// Validate checks a silence before it is saved: it must select something
// (a silence of everything is refused), say who made it and why, end after
// it starts, and have a window of HH:MM times. All problems are returned
// at once, as an *InvalidError.
func Validate(sl yujing.Silence) error {
	var errs []string
	m := sl.Matchers
	if m.Site == "" && m.Sensor == "" && m.Family == "" && m.Rule == "" && len(m.Levels) == 0 {
		errs = append(errs, "matchers: give at least one of site, sensor, family, rule, levels (a silence of everything is refused)")
	}
	if strings.TrimSpace(sl.CreatedBy) == "" {
		errs = append(errs, "created_by: say who silences")
	}
	if strings.TrimSpace(sl.Comment) == "" {
		errs = append(errs, "comment: say why (maintenance, calibration, ...)")
	}
	if !sl.EndsAt.After(sl.StartsAt) {
		errs = append(errs, "ends_at: must be after starts_at")
	}
	if w := sl.Window; w != nil {
		for _, hm := range []string{w.Start, w.End} {
			if _, err := time.Parse("15:04", hm); err != nil {
				errs = append(errs, fmt.Sprintf("window: %q is not HH:MM", hm))
			}
		}
	}
	if len(errs) > 0 {
		return &InvalidError{Problems: errs}
	}
	return nil
}
