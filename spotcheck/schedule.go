package spotcheck

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"yujing/duty"
	"yujing/store"
)

// Window is a time of day, From until To, in the schedule's time zone; To
// at or before From ends on the next day (22:00–06:00).
type Window struct {
	From, To time.Duration // since midnight
}

// Length is how long the window lasts.
func (w Window) Length() time.Duration {
	d := (w.To - w.From) % (24 * time.Hour)
	if d <= 0 {
		d += 24 * time.Hour
	}
	return d
}

// ParseClock reads "22:00" as the time since midnight.
func ParseClock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day such as 22:00", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// Defaults of a schedule and of a check asked for on demand.
var (
	DefaultRoles    = []string{duty.RoleDutyOfficer, duty.RolePrincipal}
	DefaultKinds    = []string{"enterprise"}
	DefaultDeadline = 10 * time.Minute
)

// Schedule is one configured series of spot checks.
type Schedule struct {
	Name string
	// Orgs are the organisations checked, by id; when empty, every
	// organisation of Kinds (default enterprise) whose region lies in
	// one of Regions and that runs a site of one of Industries (each
	// filter applies when given).
	Orgs       []string
	Regions    []string
	Industries []string
	Kinds      []string
	Window     Window
	// PerNight is how many checks are made in each window (at most one
	// per organisation).
	PerNight int
	// Channels are the ladder each person is called on (the next one
	// when a send fails for good).
	Channels []string
	// Deadline is how long each role has to answer.
	Deadline time.Duration
	// Roles are the role checked, then those called when nobody answers
	// (default duty_officer, then principal).
	Roles []string
}

// Starter plans a check for call-and-answer (escalate.Engine).
type Starter interface {
	StartCheck(ctx context.Context, c *store.SpotCheck) (created bool, err error)
}

// Clock tells the time and waits for it (internal/fakeclock in tests).
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Options are the Scheduler's settings.
type Options struct {
	Logger *slog.Logger
	Clock  Clock // default the machine's
	// Location is where windows are read (default UTC).
	Location *time.Location
	// Secret seeds the picks (at least 16 bytes): those who do not know
	// it cannot tell which organisation is checked when.
	Secret []byte
}

// Scheduler plans each schedule's checks at the start of its window.
type Scheduler struct {
	mu        sync.Mutex
	schedules []Schedule
	wake      chan struct{} // SetSchedules: plan and wait again
	dir       func() *duty.Directory
	start     Starter
	log       *slog.Logger
	clock     Clock
	loc       *time.Location
	secret    []byte
}

// NewScheduler builds a scheduler; dir returns the directory as it
// stands (duty.Book's Current).
func NewScheduler(schedules []Schedule, dir func() *duty.Directory, start Starter, opts Options) (*Scheduler, error) {
	if dir == nil || start == nil {
		return nil, errors.New("spotcheck: a directory and a starter are required")
	}
	if len(opts.Secret) < 16 {
		return nil, fmt.Errorf("spotcheck: the secret must be at least 16 bytes, got %d", len(opts.Secret))
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	for i := range schedules {
		if err := schedules[i].Check(); err != nil {
			return nil, fmt.Errorf("spotcheck: schedule %q: %w", schedules[i].Name, err)
		}
	}
	return &Scheduler{schedules: schedules, dir: dir, start: start, log: opts.Logger, clock: opts.Clock, loc: opts.Location,
		secret: opts.Secret, wake: make(chan struct{}, 1)}, nil
}

// SetSchedules replaces the schedules (a reload): the windows open now
// are planned with the new ones at once (checks planned before are kept),
// and the next window start is the new schedules'. Nothing changes when
// one of them is wrong.
func (s *Scheduler) SetSchedules(schedules []Schedule) error {
	for i := range schedules {
		if err := schedules[i].Check(); err != nil {
			return fmt.Errorf("spotcheck: schedule %q: %w", schedules[i].Name, err)
		}
	}
	s.mu.Lock()
	s.schedules = schedules
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

func (s *Scheduler) current() []Schedule {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.schedules
}

// Check reports the first thing wrong with a schedule.
func (s *Schedule) Check() error {
	switch {
	case s.Name == "":
		return errors.New("a name is required")
	case s.PerNight <= 0:
		return errors.New("per_night must be at least 1")
	case len(s.Channels) == 0:
		return errors.New("channels are required")
	case s.Deadline <= 0:
		return errors.New("a deadline above 0 is required")
	case len(s.Roles) == 0:
		return errors.New("roles are required")
	case time.Duration(len(s.Roles))*s.Deadline > s.Window.Length():
		return fmt.Errorf("%d roles of %s each do not fit in the window of %s", len(s.Roles), s.Deadline, s.Window.Length())
	}
	return nil
}

// windowAt is the window of the night that begins on the day of day (in
// loc).
func (s *Scheduler) windowAt(sch Schedule, day time.Time) (start, end time.Time) {
	y, m, d := day.In(s.loc).Date()
	start = time.Date(y, m, d, 0, 0, 0, 0, s.loc).Add(sch.Window.From)
	return start, start.Add(sch.Window.Length())
}

// Candidates are the organisations a schedule may check, by id.
func Candidates(sch Schedule, d *duty.Directory) []duty.Org {
	var out []duty.Org
	if len(sch.Orgs) > 0 {
		for _, id := range sch.Orgs {
			if o, ok := d.Org(id); ok {
				out = append(out, o)
			}
		}
	} else {
		kinds := sch.Kinds
		if len(kinds) == 0 {
			kinds = DefaultKinds
		}
		for _, o := range d.Orgs() {
			if !slices.Contains(kinds, o.Kind) {
				continue
			}
			region := d.OrgRegion(o.ID)
			if len(sch.Regions) > 0 && !slices.ContainsFunc(sch.Regions, func(r string) bool { return duty.RegionCovers(r, region) }) {
				continue
			}
			if len(sch.Industries) > 0 && !slices.ContainsFunc(o.Sites, func(id string) bool {
				site, ok := d.Site(id)
				return ok && slices.Contains(sch.Industries, site.Industry)
			}) {
				continue
			}
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b duty.Org) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return slices.CompactFunc(out, func(a, b duty.Org) bool { return a.ID == b.ID })
}

// Plan picks the checks of a schedule's window beginning on day: PerNight
// organisations, each at a time within the window, the same every time it
// is asked for the same schedule and night. It does not store them.
func (s *Scheduler) Plan(sch Schedule, day time.Time) []store.SpotCheck {
	start, end := s.windowAt(sch, day)
	d := s.dir()
	orgs := Candidates(sch, d)
	m := hmac.New(sha256.New, s.secret)
	fmt.Fprintf(m, "yujing spot checks v1\x00%s\x00%s", sch.Name, start.Format("2006-01-02"))
	var seed [32]byte
	copy(seed[:], m.Sum(nil))
	r := rand.New(rand.NewChaCha8(seed))
	perm := r.Perm(len(orgs))
	n := min(sch.PerNight, len(orgs))
	// The last role must be called by the window's end.
	span := end.Sub(start) - time.Duration(len(sch.Roles)-1)*sch.Deadline
	var out []store.SpotCheck
	for i := range n {
		o := orgs[perm[i]]
		due := start.Add(time.Duration(r.Int64N(int64(span)))).Truncate(time.Second)
		out = append(out, store.SpotCheck{Key: fmt.Sprintf("%s/%s/%d", sch.Name, start.Format("2006-01-02"), i+1),
			Schedule: sch.Name, Org: o.ID, OrgName: o.Name, Region: d.OrgRegion(o.ID), Roles: slices.Clone(sch.Roles),
			Channels: slices.Clone(sch.Channels), Deadline: sch.Deadline, DueAt: due, NotAfter: end})
	}
	slices.SortFunc(out, func(a, b store.SpotCheck) int { return a.DueAt.Compare(b.DueAt) })
	return out
}

// planOpen stores the checks of every window open at now (begun, not
// ended); those stored before are left as they are.
func (s *Scheduler) planOpen(ctx context.Context, now time.Time) {
	for _, sch := range s.current() {
		for _, day := range []time.Time{now.AddDate(0, 0, -1), now} {
			start, end := s.windowAt(sch, day)
			if now.Before(start) || !now.Before(end) {
				continue
			}
			created := 0
			for _, c := range s.Plan(sch, day) {
				c.CreatedAt = now
				ok, err := s.start.StartCheck(ctx, &c)
				if err != nil {
					s.log.Error("spot check not planned; retried at the next window start or restart", "schedule", sch.Name,
						"key", c.Key, "err", err)
					continue
				}
				if ok {
					created++
				}
			}
			if created > 0 {
				s.log.Info("spot checks planned", "schedule", sch.Name, "window_start", start, "checks", created)
			}
		}
	}
}

// next is the earliest window start after now.
func (s *Scheduler) next(now time.Time) time.Time {
	var best time.Time
	for _, sch := range s.current() {
		for _, day := range []time.Time{now, now.AddDate(0, 0, 1)} {
			start, _ := s.windowAt(sch, day)
			if start.After(now) && (best.IsZero() || start.Before(best)) {
				best = start
			}
		}
	}
	return best
}

// Run plans the windows open now, then each window as it begins (and
// again when SetSchedules changes them), until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	for {
		now := s.clock.Now()
		s.planOpen(ctx, now)
		var at <-chan time.Time // nil without schedules: wait for a reload
		if next := s.next(now); !next.IsZero() {
			at = s.clock.After(next.Sub(now))
		}
		select {
		case <-ctx.Done():
			return
		case <-at:
		case <-s.wake:
		}
	}
}
