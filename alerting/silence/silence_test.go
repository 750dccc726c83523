package silence_test

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"yujing"
	"yujing/alerting/silence"
	"yujing/store"
	"yujing/store/sqlite"
	"yujing/store/sqlstate"
)

func TestValidate(t *testing.T) {
	now := time.Now()
	good := yujing.Silence{Matchers: yujing.Matchers{Site: "a"}, StartsAt: now, EndsAt: now.Add(time.Hour), CreatedBy: "li", Comment: "校准"}
	for _, tc := range []struct {
		name string
		edit func(*yujing.Silence)
		want []string // the problems, in order; none: valid
	}{
		{"valid", func(*yujing.Silence) {}, nil},
		{"valid by level alone", func(s *yujing.Silence) { s.Matchers = yujing.Matchers{Levels: []yujing.Level{yujing.Blue}} }, nil},
		{"valid with a window", func(s *yujing.Silence) { s.Window = &yujing.Window{Start: "22:00", End: "02:00"} }, nil},
		{"a silence of everything", func(s *yujing.Silence) { s.Matchers = yujing.Matchers{} },
			[]string{"matchers: give at least one of site, sensor, family, rule, levels (a silence of everything is refused)"}},
		{"nobody", func(s *yujing.Silence) { s.CreatedBy = " " }, []string{"created_by: say who silences"}},
		{"no reason", func(s *yujing.Silence) { s.Comment = "" }, []string{"comment: say why (maintenance, calibration, ...)"}},
		{"ends as it starts", func(s *yujing.Silence) { s.EndsAt = s.StartsAt }, []string{"ends_at: must be after starts_at"}},
		{"a window not HH:MM", func(s *yujing.Silence) { s.Window = &yujing.Window{Start: "2:00pm", End: "24:00"} },
			[]string{`window: "2:00pm" is not HH:MM`, `window: "24:00" is not HH:MM`}},
		{"everything wrong at once", func(s *yujing.Silence) { *s = yujing.Silence{} }, []string{
			"matchers: give at least one of site, sensor, family, rule, levels (a silence of everything is refused)",
			"created_by: say who silences", "comment: say why (maintenance, calibration, ...)", "ends_at: must be after starts_at"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sl := good
			tc.edit(&sl)
			err := silence.Validate(sl)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v, want no problem", err)
				}
				return
			}
			inv, ok := errors.AsType[*silence.InvalidError](err)
			if !ok {
				t.Fatalf("Validate: %v (%T), want an *InvalidError", err, err)
			}
			if !slices.Equal(inv.Problems, tc.want) {
				t.Errorf("problems:\n%q\nwant\n%q", inv.Problems, tc.want)
			}
		})
	}
}

func openState(t *testing.T) (*sqlstate.State, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := sqlite.OpenState(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

func TestSilencesKeptMatchedAndExpired(t *testing.T) {
	st, _ := openState(t)
	cst := time.FixedZone("CST", 8*3600)
	now := time.Now().In(cst)
	ss := silence.New(st, cst)
	if err := ss.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	gas := &yujing.Alert{ID: 1, Site: "a", Sensor: "G1", Family: yujing.FamilyGas, Rule: "gas", Level: yujing.Yellow}
	other := &yujing.Alert{ID: 2, Site: "b", Sensor: "G3", Family: yujing.FamilyGas, Rule: "gas", Level: yujing.Yellow}

	// Refused: nothing is saved.
	if _, err := ss.Create(t.Context(), yujing.Silence{EndsAt: now.Add(time.Hour), CreatedBy: "li", Comment: "x"}, now); err == nil {
		t.Fatal("a silence of everything was accepted")
	}
	if got := ss.List(now); len(got) != 0 {
		t.Fatalf("silences after a refused one: %+v", got)
	}
	// Without starts_at it starts now.
	sl, err := ss.Create(t.Context(), yujing.Silence{Matchers: yujing.Matchers{Site: "a"}, EndsAt: now.Add(time.Hour), CreatedBy: "li", Comment: "校准"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if sl.ID == 0 || !sl.StartsAt.Equal(now) || !sl.CreatedAt.Equal(now) {
		t.Fatalf("created: %+v, want an id and starts_at = created_at = now", sl)
	}
	if id, ok := ss.Match(gas, now); !ok || id != sl.ID {
		t.Errorf("Match(site a) = %d, %v; want %d, true", id, ok, sl.ID)
	}
	if id, ok := ss.Match(other, now); ok {
		t.Errorf("Match(site b) = %d, true; want no silence", id)
	}
	if _, ok := ss.Match(gas, now.Add(time.Hour)); ok {
		t.Error("matched as the silence ends")
	}
	if got := ss.List(now); len(got) != 1 || !got[0].Active || got[0].ID != sl.ID {
		t.Fatalf("List: %+v, want the silence, active", got)
	}

	// Expired: it holds nothing back from then on, and says so.
	later := now.Add(10 * time.Minute)
	if err := ss.Expire(t.Context(), sl.ID, later); err != nil {
		t.Fatal(err)
	}
	if _, ok := ss.Match(gas, later); ok {
		t.Error("matched once expired")
	}
	if _, ok := ss.Match(gas, now); !ok {
		t.Error("not matched before it was expired")
	}
	if got := ss.List(later); len(got) != 1 || got[0].Active || got[0].ExpiredAt == nil || !got[0].ExpiredAt.Equal(later) {
		t.Fatalf("List once expired: %+v, want inactive, expired at %s", got, later)
	}
	if err := ss.Expire(t.Context(), sl.ID+1, later); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expire an unknown silence: %v, want ErrNotFound", err)
	}

	// After a restart the store gives them back.
	again := silence.New(st, cst)
	if err := again.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := again.List(later)
	if len(got) != 1 || got[0].ID != sl.ID || got[0].ExpiredAt == nil || !got[0].ExpiredAt.Equal(later) {
		t.Fatalf("after a restart: %+v, want the expired silence", got)
	}
}

// TestListNewestFirst: the console lists silences newest first, before and
// after a restart (the store gives them back in an order of its own).
func TestListNewestFirst(t *testing.T) {
	st, _ := openState(t)
	now := time.Now()
	ss := silence.New(st, time.UTC)
	if err := ss.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	var want []int64
	for i, site := range []string{"a", "b", "c"} {
		sl, err := ss.Create(t.Context(), yujing.Silence{Matchers: yujing.Matchers{Site: site}, EndsAt: now.Add(time.Hour), CreatedBy: "li", Comment: "检修"}, now.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		want = append([]int64{sl.ID}, want...)
	}
	ids := func(ss []silence.Status) []int64 {
		var out []int64
		for _, s := range ss {
			out = append(out, s.ID)
		}
		return out
	}
	if got := ids(ss.List(now)); !slices.Equal(got, want) {
		t.Errorf("List: %v, want newest first %v", got, want)
	}
	again := silence.New(st, time.UTC)
	if err := again.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := ids(again.List(now)); !slices.Equal(got, want) {
		t.Errorf("List after a restart: %v, want newest first %v", got, want)
	}
}
