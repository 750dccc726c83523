package alerting_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/alertingtest"
	"yujing/ingest"
	"yujing/store"
	"yujing/store/sqlite"
	"yujing/store/sqlstate"
)

// TestPartitionMovesBetweenNodes: two nodes of a cluster share one state
// database; only the node that owns a site evaluates its sensors. When the
// site moves from A to B (A died), B reads the open warnings again and
// adopts the conditions: the next red reading raises no second warning,
// the sensor's offline clock starts at the adoption rather than at B's
// start, and a clear reading resolves A's warning. Before Owns and Adopt,
// B raised the sensor's warning a second time.
func TestPartitionMovesBetweenNodes(t *testing.T) {
	ctx := context.Background()
	sensors := []yujing.Sensor{{ID: "G1", Site: "p", Family: yujing.FamilyGas, Metric: "lel", Interval: time.Minute}}
	reg, _ := ingest.NewRegistry([]yujing.Site{{ID: "p"}}, sensors)
	path := filepath.Join(t.TempDir(), "s.db")
	open := func() *sqlstate.State {
		st, err := sqlite.OpenState(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	rules := func() []*alerting.Rule {
		return []*alerting.Rule{
			{Name: "gas", Match: alerting.Selector{Family: yujing.FamilyGas}, Above: gasTiersT()},
			{Name: "offline", Kind: alerting.KindOffline, Match: alerting.Selector{Family: yujing.FamilyGas}, Level: yujing.Yellow},
		}
	}
	t0 := time.Now()
	now := t0
	clock := func() time.Time { return now }
	var aOwns, bOwns atomic.Bool
	aOwns.Store(true)
	stA, stB := open(), open()
	a := alertingtest.New(t, rules(), stA, reg, alertingtest.Options{Engine: alerting.Options{Now: clock,
		Owns: func(string) bool { return aOwns.Load() }}})
	b := alertingtest.New(t, rules(), stB, reg, alertingtest.Options{Engine: alerting.Options{Now: clock,
		Owns: func(string) bool { return bOwns.Load() }}})
	red := func(s *alertingtest.Stack, v float64) {
		s.Observe(ctx, []yujing.Reading{{Sensor: "G1", Site: "p", Family: yujing.FamilyGas, Metric: "lel", Value: v, Time: now}})
	}
	count := func() map[yujing.Level]int {
		n, err := stA.CountAlerts(ctx, store.AlertFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	red(a, 60)
	red(b, 60) // B does not own p: it evaluates nothing
	if n := count(); n[yujing.Red] != 1 || len(n) != 1 {
		t.Fatalf("warnings %v, want one red, raised by A alone", n)
	}
	// B ticks past the offline time of a sensor it does not own.
	now = t0.Add(10 * time.Minute)
	b.Tick(ctx, now)
	if n := count(); n[yujing.Yellow] != 0 {
		t.Fatalf("B, not owning p, called G1 offline: %v", n)
	}

	// A dies; B takes p.
	aOwns.Store(false)
	bOwns.Store(true)
	if _, err := b.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.Engine.Adopt(func(site string) bool { return site == "p" }, now); got != 2 {
		t.Errorf("adopted %d conditions, want G1's two", got)
	}
	b.Tick(ctx, now.Add(time.Minute)) // a minute after the adoption: not yet offline (3 × 1 min)
	red(b, 60)
	if n := count(); n[yujing.Red] != 1 || len(n) != 1 {
		t.Fatalf("after the move: warnings %v, want the one red A raised, no second nor an offline one", n)
	}
	red(b, 1)
	as, err := stA.ListAlerts(ctx, store.AlertFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].State != yujing.StateResolved {
		t.Fatalf("alerts %+v, want A's warning resolved by B", as)
	}
}
