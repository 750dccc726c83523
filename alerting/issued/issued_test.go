package issued_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"yujing"
	"yujing/alerting/issued"
	"yujing/alerting/lifecycle"
	"yujing/internal/fakeclock"
	"yujing/store"
	"yujing/store/sqlstate"
)

// open builds the entry point as serve does: the state database, the
// lifecycle restored from it, then the issued warnings.
func open(t *testing.T, path string, clk *fakeclock.Clock, changes *[]lifecycle.Change) (*issued.Warnings, *sqlstate.State) {
	t.Helper()
	st, err := sqlstate.OpenSQLite(t.Context(), path, sqlstate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	lc, err := lifecycle.New(st, nil, lifecycle.Options{Now: clk.Now, OnChange: func(c lifecycle.Change) { *changes = append(*changes, c) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := lc.Restore(t.Context()); err != nil {
		t.Fatal(err)
	}
	w, err := issued.New(lc, st, issued.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return w, st
}

// Each step of a warning's life, in order, on one database that is
// reopened in the middle: what Raise and End report and which alert
// changes the lifecycle tells call-and-answer (the only source of calls).
func TestWarningLifeAcrossRestart(t *testing.T) {
	clk := fakeclock.New(time.Now().Truncate(time.Second))
	path := filepath.Join(t.TempDir(), "state.db")
	var changes []lifecycle.Change
	w, _ := open(t, path, clk, &changes)
	base := issued.Warning{Source: "cap", Key: "南京市气象台,A1#320115", Level: yujing.Orange, Region: "320115",
		Title: "江宁区暴雨橙色预警", Summary: "预计未来3小时降雨量将达50毫米以上", StartsAt: clk.Now(),
		EndsAt: clk.Now().Add(6 * time.Hour), Labels: map[string]string{"event": "暴雨"}}
	with := func(f func(*issued.Warning)) issued.Warning { c := base; f(&c); return c }
	type step struct {
		name    string
		do      func() (issued.Result, error)
		want    issued.Outcome
		level   yujing.Level
		state   yujing.State
		events  []yujing.Event // changes told since the step before
		restart bool           // reopen the database before the step
	}
	var firstID int64
	steps := []step{
		{name: "raise", do: func() (issued.Result, error) { return w.Raise(t.Context(), base) }, want: issued.Raised,
			level: yujing.Orange, state: yujing.StateFiring, events: []yujing.Event{yujing.EventRaised}},
		{name: "repeat", do: func() (issued.Result, error) { return w.Raise(t.Context(), base) }, want: issued.Unchanged,
			level: yujing.Orange, state: yujing.StateFiring},
		{name: "repeat after a restart", restart: true, do: func() (issued.Result, error) { return w.Raise(t.Context(), base) },
			want: issued.Unchanged, level: yujing.Orange, state: yujing.StateFiring},
		{name: "upgrade", do: func() (issued.Result, error) {
			return w.Raise(t.Context(), with(func(x *issued.Warning) { x.Level, x.Title = yujing.Red, "江宁区暴雨红色预警" }))
		}, want: issued.Upgraded, level: yujing.Red, state: yujing.StateFiring, events: []yujing.Event{yujing.EventUpgraded}},
		{name: "same level, later end", do: func() (issued.Result, error) {
			return w.Raise(t.Context(), with(func(x *issued.Warning) {
				x.Level, x.Title, x.EndsAt = yujing.Red, "江宁区暴雨红色预警", clk.Now().Add(12*time.Hour)
			}))
		}, want: issued.Updated, level: yujing.Red, state: yujing.StateFiring},
		{name: "downgrade", do: func() (issued.Result, error) {
			return w.Raise(t.Context(), with(func(x *issued.Warning) { x.Level, x.EndsAt = yujing.Yellow, clk.Now().Add(12*time.Hour) }))
		}, want: issued.Downgraded, level: yujing.Yellow, state: yujing.StateFiring, events: []yujing.Event{yujing.EventDowngraded}},
		{name: "cancel", do: func() (issued.Result, error) {
			return w.End(t.Context(), "cap", base.Key, issued.End{Reason: issued.ReasonCancelled, Note: "发布单位解除预警"})
		}, want: issued.Ended, level: yujing.Yellow, state: yujing.StateResolved, events: []yujing.Event{yujing.EventResolved}},
		{name: "cancel again", do: func() (issued.Result, error) {
			return w.End(t.Context(), "cap", base.Key, issued.End{Reason: issued.ReasonCancelled})
		}, want: issued.Unchanged, level: yujing.Yellow, state: yujing.StateResolved},
		{name: "late delivery of the first message after a restart", restart: true,
			do: func() (issued.Result, error) { return w.Raise(t.Context(), base) }, want: issued.Stale, level: yujing.Yellow, state: yujing.StateResolved},
		{name: "a new episode", do: func() (issued.Result, error) {
			clk.Advance(time.Minute)
			return w.Raise(t.Context(), with(func(x *issued.Warning) { x.StartsAt, x.EndsAt = clk.Now(), clk.Now().Add(time.Hour) }))
		}, want: issued.Reopened, level: yujing.Orange, state: yujing.StateFiring, events: []yujing.Event{yujing.EventReopened}},
		{name: "expires", do: func() (issued.Result, error) {
			clk.Advance(time.Hour)
			if n, err := w.Expire(t.Context()); err != nil || n != 1 {
				t.Fatalf("Expire: %d, %v; want 1 ended", n, err)
			}
			r, err := w.Get(t.Context(), "cap", base.Key)
			return issued.Result{Outcome: issued.Ended, Warning: r}, err
		}, want: issued.Ended, level: yujing.Orange, state: yujing.StateResolved, events: []yujing.Event{yujing.EventResolved}},
	}
	for _, s := range steps {
		if s.restart {
			w, _ = open(t, path, clk, &changes)
		}
		changes = nil
		clk.Advance(time.Second)
		res, err := s.do()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if res.Outcome != s.want {
			t.Errorf("%s: outcome %s, want %s", s.name, res.Outcome, s.want)
		}
		if res.Warning.Level != s.level {
			t.Errorf("%s: warning level %s, want %s", s.name, res.Warning.Level, s.level)
		}
		if firstID == 0 {
			firstID = res.Warning.AlertID
		}
		if res.Warning.AlertID != firstID {
			t.Errorf("%s: alert %d, want the same alert %d throughout", s.name, res.Warning.AlertID, firstID)
		}
		var evs []yujing.Event
		for _, c := range changes {
			evs = append(evs, c.Transition.Event)
			if c.Alert.Site != "region:320115" || c.Alert.Rule != "issued:cap" || c.Alert.Sensor != base.Key {
				t.Errorf("%s: alert %s/%s at %s, want issued:cap/%s at region:320115", s.name, c.Alert.Rule, c.Alert.Sensor, c.Alert.Site, base.Key)
			}
			if c.Alert.State != s.state {
				t.Errorf("%s: alert state %s, want %s", s.name, c.Alert.State, s.state)
			}
		}
		if len(evs) != len(s.events) || (len(evs) > 0 && evs[0] != s.events[0]) {
			t.Errorf("%s: changes %v, want %v", s.name, evs, s.events)
		}
	}
	r, err := w.Get(t.Context(), "cap", base.Key)
	if err != nil || r.EndReason != issued.ReasonExpired || r.Labels["event"] != "暴雨" {
		t.Errorf("at the end: %+v, %v; want ended expired with its labels", r, err)
	}
}

// Raise refuses what it cannot place, naming the field.
func TestRaiseRefuses(t *testing.T) {
	clk := fakeclock.New(time.Now())
	var changes []lifecycle.Change
	w, _ := open(t, filepath.Join(t.TempDir(), "s.db"), clk, &changes)
	ok := issued.Warning{Source: "cap", Key: "k", Level: yujing.Red, Region: "320115"}
	for _, c := range []struct {
		name string
		f    func(*issued.Warning)
		want string
	}{
		{"no source", func(x *issued.Warning) { x.Source = "" }, `invalid issued warning: source "": use letters, digits, '-', '_' and '.'`},
		{"no key", func(x *issued.Warning) { x.Key = " " }, "invalid issued warning: key is required"},
		{"no level", func(x *issued.Warning) { x.Level = yujing.LevelNone }, "invalid issued warning: level none: want blue, yellow, orange or red"},
		{"site and region", func(x *issued.Warning) { x.Site = "plant-a" }, "invalid issued warning: give site or region, exactly one"},
		{"bad region", func(x *issued.Warning) { x.Region = "32011" }, `invalid issued warning: region "32011" is not an administrative division code (6, 9 or 12 digits)`},
		{"region as site", func(x *issued.Warning) { x.Region, x.Site = "", "region:320115" }, `invalid issued warning: site "region:320115": give an area as region`},
	} {
		x := ok
		c.f(&x)
		_, err := w.Raise(t.Context(), x)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
	if len(changes) != 0 {
		t.Errorf("refused warnings changed alerts: %v", changes)
	}
	if _, err := w.Get(t.Context(), "cap", "k"); err == nil {
		t.Error("a refused warning was saved")
	} else if !isNF(err) {
		t.Errorf("Get: %v, want not found", err)
	}
}

func isNF(err error) bool { return errors.Is(err, store.ErrNotFound) }

// A warning that expired comes back when its issuer sends it again with an
// end still ahead (Prometheus re-sends a firing alert, the endsAt moved
// on), on the same alert while it is not closed; a late copy with the old
// end does not.
func TestExpiredWarningRenewed(t *testing.T) {
	clk := fakeclock.New(time.Now().Truncate(time.Second))
	var changes []lifecycle.Change
	w, _ := open(t, filepath.Join(t.TempDir(), "s.db"), clk, &changes)
	start := clk.Now()
	first := issued.Warning{Source: "alertmanager", Key: "fp-1", Level: yujing.Red, Site: "plant-a", Title: "HighLEL",
		StartsAt: start, EndsAt: start.Add(4 * time.Minute)}
	r, err := w.Raise(t.Context(), first)
	if err != nil || r.Outcome != issued.Raised {
		t.Fatalf("raise: %+v %v", r, err)
	}
	clk.Advance(5 * time.Minute)
	if n, err := w.Expire(t.Context()); n != 1 || err != nil {
		t.Fatalf("expire: %d %v", n, err)
	}
	for _, c := range []struct {
		name string
		ends time.Time
		want issued.Outcome
	}{
		{"the old copy, its end past", start.Add(4 * time.Minute), issued.Stale},
		{"sent again, its end ahead", clk.Now().Add(4 * time.Minute), issued.Reopened},
	} {
		x := first
		x.EndsAt = c.ends
		r, err := w.Raise(t.Context(), x)
		if err != nil || r.Outcome != c.want {
			t.Errorf("%s: %s %v, want %s", c.name, r.Outcome, err, c.want)
		}
		if c.want == issued.Reopened && (r.Alert.ID != saved(t, w).AlertID || r.Warning.EndedAt != nil || r.Alert.State != yujing.StateFiring) {
			t.Errorf("%s: %+v, want the same alert firing again, in force", c.name, r)
		}
	}
}

func saved(t *testing.T, w *issued.Warnings) store.IssuedWarning {
	t.Helper()
	r, err := w.Get(t.Context(), "alertmanager", "fp-1")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A warning that arrives after its own end calls nobody: not raised when
// new, ended (expired) when in force.
func TestRaiseAfterItsEnd(t *testing.T) {
	clk := fakeclock.New(time.Now().Truncate(time.Second))
	var changes []lifecycle.Change
	w, _ := open(t, filepath.Join(t.TempDir(), "s.db"), clk, &changes)
	now := clk.Now()
	late := issued.Warning{Source: "cap", Key: "late#320115", Level: yujing.Red, Region: "320115", StartsAt: now.Add(-2 * time.Hour), EndsAt: now.Add(-time.Minute)}
	r, err := w.Raise(t.Context(), late)
	if err != nil || r.Outcome != issued.Stale || len(changes) != 0 {
		t.Errorf("a new warning past its end: %s %v, changes %v; want stale, nothing raised", r.Outcome, err, changes)
	}
	if _, err := w.Get(t.Context(), "cap", late.Key); !isNF(err) {
		t.Errorf("a warning past its end was recorded: %v", err)
	}
	live := issued.Warning{Source: "cap", Key: "live#320115", Level: yujing.Red, Region: "320115", StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour)}
	if _, err := w.Raise(t.Context(), live); err != nil {
		t.Fatal(err)
	}
	changes = nil
	live.EndsAt = now.Add(-time.Second)
	r, err = w.Raise(t.Context(), live)
	if err != nil || r.Outcome != issued.Ended || r.Warning.EndReason != issued.ReasonExpired || len(changes) != 1 ||
		changes[0].Transition.Event != yujing.EventResolved {
		t.Errorf("a warning in force, sent again past its end: %s %+v %v, changes %v; want ended (expired)", r.Outcome, r.Warning, err, changes)
	}
}

// yujing_issued_warnings_total counts what each Raise and End did, by
// source and outcome.
func TestMetrics(t *testing.T) {
	clk := fakeclock.New(time.Now().Truncate(time.Second))
	st, err := sqlstate.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "s.db"), sqlstate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lc, err := lifecycle.New(st, nil, lifecycle.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	w, err := issued.New(lc, st, issued.Options{Now: clk.Now, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	x := issued.Warning{Source: "cap", Key: "k", Level: yujing.Orange, Region: "320115"}
	for _, l := range []yujing.Level{yujing.Orange, yujing.Orange, yujing.Red} {
		x.Level = l
		if _, err := w.Raise(t.Context(), x); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.End(t.Context(), "cap", "k", issued.End{Reason: issued.ReasonCancelled}); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP yujing_issued_warnings_total Issued warnings taken in (CAP, Alertmanager), by source and what was done: raised, reopened, upgraded, downgraded, updated, unchanged, stale, ended.
# TYPE yujing_issued_warnings_total counter
yujing_issued_warnings_total{outcome="ended",source="cap"} 1
yujing_issued_warnings_total{outcome="raised",source="cap"} 1
yujing_issued_warnings_total{outcome="unchanged",source="cap"} 1
yujing_issued_warnings_total{outcome="upgraded",source="cap"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "yujing_issued_warnings_total"); err != nil {
		t.Error(err)
	}
}
