package spotcheck_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/duty"
	"yujing/internal/fakeclock"
	"yujing/spotcheck"
	"yujing/store"
	"yujing/store/sqlite"
	"yujing/store/sqlstate"
)

// planner plans checks straight into the state database, as
// call-and-answer's StartCheck does first.
type planner struct{ st *sqlstate.State }

func (p planner) StartCheck(ctx context.Context, c *store.SpotCheck) (bool, error) {
	return p.st.PlanSpotCheck(ctx, c)
}

func directory(t *testing.T) *duty.Directory {
	d, err := duty.New(duty.Spec{
		Orgs: []duty.Org{
			{ID: "jn", Name: "江宁区应急管理局", Kind: "county", Region: "320115"},
			{ID: "a", Name: "甲化工", Kind: "enterprise", Parent: "jn", Region: "320115", Sites: []string{"sa"}},
			{ID: "b", Name: "乙化工", Kind: "enterprise", Parent: "jn", Region: "320115", Sites: []string{"sb"}},
			{ID: "c", Name: "丙粉尘", Kind: "enterprise", Parent: "jn", Sites: []string{"sc"}}, // its region is its parent's
			{ID: "d", Name: "丁化工", Kind: "enterprise", Region: "320116", Sites: []string{"sd"}},
			{ID: "ds", Name: "东山街道", Kind: "township", Parent: "jn", Region: "320115001"},
		},
		Sites: []yujing.Site{{ID: "sa", Region: "320115", Industry: "chemical"}, {ID: "sb", Region: "320115", Industry: "chemical"},
			{ID: "sc", Region: "320115", Industry: "dust"}, {ID: "sd", Region: "320116", Industry: "chemical"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Which organisations a schedule may check.
func TestCandidates(t *testing.T) {
	d := directory(t)
	for _, c := range []struct {
		name string
		s    spotcheck.Schedule
		want []string
	}{
		{"listed", spotcheck.Schedule{Orgs: []string{"ds", "a", "nope", "a"}}, []string{"a", "ds"}},
		{"every enterprise", spotcheck.Schedule{}, []string{"a", "b", "c", "d"}},
		{"of a region", spotcheck.Schedule{Regions: []string{"320115"}}, []string{"a", "b", "c"}},
		{"of an industry", spotcheck.Schedule{Industries: []string{"chemical"}}, []string{"a", "b", "d"}},
		{"both", spotcheck.Schedule{Regions: []string{"320115"}, Industries: []string{"chemical"}}, []string{"a", "b"}},
		{"townships", spotcheck.Schedule{Kinds: []string{"township"}}, []string{"ds"}},
	} {
		var got []string
		for _, o := range spotcheck.Candidates(c.s, d) {
			got = append(got, o.ID)
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
				break
			}
		}
	}
}

// At the start of the night's window the scheduler plans PerNight checks
// at times within it; a restart in the middle of the night plans the same
// checks again, and the database keeps the first, so nothing is added;
// the next night is planned at its own start, with other picks.
func TestSchedulerPlansEachNightOnce(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	y, m, dd := time.Now().In(loc).Date()
	evening := time.Date(y, m, dd, 21, 0, 0, 0, loc)
	clock := fakeclock.New(evening)
	st, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := directory(t)
	sch := spotcheck.Schedule{Name: "night", Regions: []string{"320115"}, Window: spotcheck.Window{From: 22 * time.Hour, To: 6 * time.Hour},
		PerNight: 2, Channels: []string{"voice", "sms"}, Deadline: 10 * time.Minute, Roles: spotcheck.DefaultRoles}
	// run starts a scheduler on clock, as a process does: a restart is a
	// new scheduler on a new clock (no timer of the old one left).
	run := func(clock *fakeclock.Clock) (stop func()) {
		s, err := spotcheck.NewScheduler([]spotcheck.Schedule{sch}, func() *duty.Directory { return d }, planner{st},
			spotcheck.Options{Clock: clock, Location: loc, Secret: []byte("0123456789abcdef0123456789abcdef")})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }()
		if !clock.BlockUntil(1, 5*time.Second) {
			t.Fatal("the scheduler does not wait for the clock")
		}
		return func() { cancel(); <-done }
	}
	list := func() []store.SpotCheck {
		cs, err := st.SpotChecks(context.Background(), store.SpotCheckFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	stop := run(clock)
	if n := len(list()); n != 0 {
		t.Fatalf("%d checks planned before the window, want 0", n)
	}
	clock.Set(evening.Add(time.Hour)) // 22:00
	if !clock.BlockUntil(1, 5*time.Second) {
		t.Fatal("the scheduler did not wait again")
	}
	first := list()
	start, end := evening.Add(time.Hour), evening.Add(9*time.Hour)
	if len(first) != 2 {
		t.Fatalf("%d checks planned at 22:00, want 2", len(first))
	}
	for _, c := range first {
		if c.DueAt.Before(start) || !c.DueAt.Before(end.Add(-10*time.Minute)) || !c.NotAfter.Equal(end) ||
			c.Org == first[0].Org && c.Key != first[0].Key || c.Schedule != "night" || c.State != store.SpotCheckPlanned {
			t.Errorf("check %+v: want a distinct org due in [22:00, 05:50), not after 06:00", c)
		}
	}
	stop()
	clock = fakeclock.New(evening.Add(3 * time.Hour)) // restarted at 00:00
	stop = run(clock)
	again := list()
	if len(again) != 2 || again[0].ID != first[0].ID || !again[0].DueAt.Equal(first[0].DueAt) || again[1].Org != first[1].Org {
		t.Fatalf("after a restart: %+v, want the same two checks as before %+v", again, first)
	}
	clock.Set(evening.Add(25 * time.Hour)) // the next night, 22:00
	if !clock.BlockUntil(1, 5*time.Second) {
		t.Fatal("the scheduler did not wait again")
	}
	stop()
	if n := len(list()); n != 4 {
		t.Fatalf("%d checks after the second night began, want 4", n)
	}
}

// A reload that adds a schedule in the middle of its window plans that
// window's checks at once; one with a mistake changes nothing.
func TestSchedulerReload(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	y, m, dd := time.Now().In(loc).Date()
	clock := fakeclock.New(time.Date(y, m, dd, 23, 0, 0, 0, loc))
	st, err := sqlite.OpenState(t.Context(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := directory(t)
	s, err := spotcheck.NewScheduler(nil, func() *duty.Directory { return d }, planner{st},
		spotcheck.Options{Clock: clock, Location: loc, Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	bad := spotcheck.Schedule{Name: "bad", Window: spotcheck.Window{From: 22 * time.Hour, To: 6 * time.Hour}, Channels: []string{"sms"},
		Deadline: time.Minute, Roles: spotcheck.DefaultRoles}
	if err := s.SetSchedules([]spotcheck.Schedule{bad}); err == nil || !strings.Contains(err.Error(), "per_night must be at least 1") {
		t.Fatalf("a schedule without per_night: %v", err)
	}
	good := bad
	good.Name, good.PerNight = "night", 3
	if err := s.SetSchedules([]spotcheck.Schedule{good}); err != nil {
		t.Fatal(err)
	}
	if !clock.BlockUntil(1, 5*time.Second) {
		t.Fatal("the scheduler does not wait for the next window")
	}
	cs, err := st.SpotChecks(context.Background(), store.SpotCheckFilter{})
	if err != nil || len(cs) != 3 {
		t.Fatalf("checks after the reload: %d, %v; want 3", len(cs), err)
	}
}
