package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"yujing/internal/testenv"
)

const (
	testPeriod = testTTL / 3
	// failoverBound is the promise of docs/CLUSTER.md: a dead node's
	// partitions are taken within ttl plus one renewal period. slack
	// covers the statements and the callbacks on a loaded machine.
	slack         = 300 * time.Millisecond
	failoverBound = testTTL + testPeriod + slack
)

// TestCluster runs the nodes of each subtest on a database of their own on
// one PostgreSQL server; the tests that restart the server have their own.
func TestCluster(t *testing.T) {
	pg := testenv.StartPostgres(t)
	t.Run("split_and_join", func(t *testing.T) { t.Parallel(); testSplitAndJoin(t, pg) })
	t.Run("failover", func(t *testing.T) { t.Parallel(); testFailover(t, pg) })
	t.Run("paused", func(t *testing.T) { t.Parallel(); testPaused(t, pg) })
	t.Run("frozen_clock", func(t *testing.T) { t.Parallel(); testFrozenClock(t, pg) })
	t.Run("cut_off", func(t *testing.T) { t.Parallel(); testCutOff(t, pg) })
	t.Run("busy_lease", func(t *testing.T) { t.Parallel(); testBusyLease(t, pg) })
	t.Run("unanswered_take", func(t *testing.T) { t.Parallel(); testUnansweredTake(t, pg) })
	t.Run("fenced_sql", func(t *testing.T) { t.Parallel(); testFencedSQL(t, pg) })
	t.Run("leader", func(t *testing.T) { t.Parallel(); testLeader(t, pg) })
	t.Run("leave", func(t *testing.T) { t.Parallel(); testLeave(t, pg) })
	t.Run("partition_mismatch", func(t *testing.T) { t.Parallel(); testMismatch(t, pg) })
	t.Run("registry", func(t *testing.T) { t.Parallel(); testRegistry(t, pg) })
	t.Run("migrate", func(t *testing.T) { t.Parallel(); testMigrate(t, pg) })
	t.Run("bus", func(t *testing.T) { t.Parallel(); testBus(t, pg) })
}

// Three nodes split the 32 partitions by their shares (11, 11, 10); a node
// joining two others is given its share within a few renewal periods, by
// graceful releases.
func testSplitAndJoin(t *testing.T, pg *testenv.Postgres) {
	url := migrated(t, pg)
	hist := &history{}
	a := startNode(t, url, "a", hist)
	b := startNode(t, url, "b", hist)
	waitFor(t, 10*testTTL, "two nodes balanced", func() error { return balanced(32, a, b) })

	given := len(a.releasesOf(Rebalanced)) + len(b.releasesOf(Rebalanced))
	c := startNode(t, url, "c", hist)
	joined := time.Now()
	// c's first round only registers; a and b see it at their next round
	// and give up their surplus, which c takes at its next round.
	waitFor(t, 8*testPeriod, "three nodes balanced", func() error { return balanced(32, a, b, c) })
	t.Logf("balanced %v after the third node started", time.Since(joined).Round(time.Millisecond))
	hist.check(t)
	if got := len(a.releasesOf(Rebalanced)) + len(b.releasesOf(Rebalanced)) - given; got != len(c.Owned()) {
		t.Errorf("a and b gave %d partitions up (Rebalanced) for c, which holds %d", got, len(c.Owned()))
	}

	for _, n := range []*testNode{a, b, c} {
		if lost := n.releasesOf(Lost); len(lost) > 0 {
			t.Errorf("%s lost leases %v; every release should have been graceful", n.name, lost)
		}
		if got := n.metric(t, "yujing_cluster_partitions_owned"); got != float64(len(n.Owned())) {
			t.Errorf("%s: yujing_cluster_partitions_owned %v, owns %d", n.name, got, len(n.Owned()))
		}
		if got := n.metric(t, "yujing_cluster_failovers_total", kindPartition); got != 0 {
			t.Errorf("%s: %v failovers, want 0: nobody died", n.name, got)
		}
	}
	waitFor(t, 2*testPeriod, "every node sees three live nodes", func() error {
		for _, n := range []*testNode{a, b, c} {
			if got := n.metric(t, "yujing_cluster_live_nodes"); got != 3 {
				return fmt.Errorf("%s: yujing_cluster_live_nodes %v", n.name, got)
			}
		}
		return nil
	})
	// Every take is matched by a release or still held: sum(acquisitions)
	// − sum(releases) = 32 partitions + 1 leader.
	took, released := 0.0, 0
	for _, n := range []*testNode{a, b, c} {
		took += n.metric(t, "yujing_cluster_acquisitions_total", kindPartition) + n.metric(t, "yujing_cluster_acquisitions_total", kindLeader)
		n.mu.Lock()
		released += len(n.releases)
		n.mu.Unlock()
	}
	if int(took)-released != 33 {
		t.Errorf("%v leases taken, %d released: %d held, want 33", took, released, int(took)-released)
	}
	leaders := 0
	for _, n := range []*testNode{a, b, c} {
		if n.Leader() != nil {
			leaders++
		}
	}
	if leaders != 1 {
		t.Errorf("%d leaders, want 1", leaders)
	}
	for _, n := range []*testNode{a, b, c} {
		if age := n.metric(t, "yujing_cluster_lease_age_seconds"); age <= 0 || age > (testTTL-testTTL/5).Seconds() {
			t.Errorf("%s: yujing_cluster_lease_age_seconds %v; want in (0, ttl − margin]", n.name, age)
		}
	}
}

// A node that dies (its goroutines stop; nothing is released) loses its
// partitions to the others within ttl + one renewal period, and nobody
// holds a partition while it still may.
func testFailover(t *testing.T, pg *testenv.Postgres) {
	url := migrated(t, pg)
	hist := &history{}
	a := startNode(t, url, "a", hist)
	b := startNode(t, url, "b", hist)
	c := startNode(t, url, "c", hist)
	waitFor(t, 10*testTTL, "three nodes balanced", func() error { return balanced(32, a, b, c) })

	victim := c.Owned()
	wasLeader := c.Leader() != nil
	killed := time.Now()
	c.kill()
	waitFor(t, 2*failoverBound, "the dead node's partitions taken", func() error { return balanced(32, a, b) })
	var last time.Time
	for _, p := range victim {
		hist.mu.Lock()
		ivs := hist.byName[PartitionLease(p)]
		if s := ivs[len(ivs)-1].start; s.After(last) {
			last = s
		}
		hist.mu.Unlock()
	}
	took := last.Sub(killed)
	t.Logf("%d partitions taken over %v after the kill (bound %v)", len(victim), took.Round(time.Millisecond), failoverBound)
	if took > failoverBound {
		t.Errorf("failover took %v, more than ttl + a renewal period + %v (%v)", took, slack, failoverBound)
	}
	hist.check(t)
	got := a.metric(t, "yujing_cluster_failovers_total", kindPartition) + b.metric(t, "yujing_cluster_failovers_total", kindPartition)
	if int(got) != len(victim) {
		t.Errorf("yujing_cluster_failovers_total{kind=partition} %v over a and b, want %d (the dead node's)", got, len(victim))
	}
	if wasLeader {
		waitFor(t, failoverBound, "a new leader", func() error {
			if a.Leader() == nil && b.Leader() == nil {
				return errors.New("no leader")
			}
			return nil
		})
	}
	for _, p := range victim {
		if c.held(PartitionLease(p)).Held() {
			t.Errorf("the dead node still holds partition %d", p)
		}
	}
}

// One leader at a time: when it dies another node takes the leader lease
// after its expiry with a greater fence; when it leaves, another takes it
// at once.
func testLeader(t *testing.T, pg *testenv.Postgres) {
	url := migrated(t, pg)
	hist := &history{}
	nodes := []*testNode{startNode(t, url, "a", hist), startNode(t, url, "b", hist), startNode(t, url, "c", hist)}
	leader := func(among []*testNode) (*testNode, error) {
		var found []*testNode
		for _, n := range among {
			if n.Leader() != nil {
				found = append(found, n)
			}
		}
		if len(found) != 1 {
			return nil, fmt.Errorf("%d leaders", len(found))
		}
		return found[0], nil
	}
	waitFor(t, 10*testTTL, "one leader", func() error { _, err := leader(nodes); return err })
	first, _ := leader(nodes)
	firstLease := first.Leader()
	rest := slices.DeleteFunc(slices.Clone(nodes), func(n *testNode) bool { return n == first })
	killed := time.Now()
	first.kill()
	waitFor(t, 2*failoverBound, "a new leader", func() error { _, err := leader(rest); return err })
	second, _ := leader(rest)
	took := hist.byNameLast(LeaderLease).Sub(killed)
	if took > failoverBound {
		t.Errorf("leader failover %v after the kill, more than %v", took, failoverBound)
	}
	if f := second.Leader().Fence; f != firstLease.Fence+1 {
		t.Errorf("new leader's fence %d, want %d", f, firstLease.Fence+1)
	}
	if got := second.metric(t, "yujing_cluster_failovers_total", kindLeader); got != 1 {
		t.Errorf("yujing_cluster_failovers_total{kind=leader} %v, want 1", got)
	}
	second.mu.Lock()
	calls := second.leaderOn
	second.mu.Unlock()
	if calls != 1 {
		t.Errorf("OnLeader called %d times on the new leader, want 1", calls)
	}

	third := rest[0]
	if third == second {
		third = rest[1]
	}
	leaving := time.Now()
	if err := second.Leave(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*testPeriod+slack, "the third node leads", func() error { _, err := leader([]*testNode{third}); return err })
	if took := time.Since(leaving); took >= testTTL {
		t.Errorf("the leader lease passed on %v after Leave; a released lease is free at once", took)
	}
	if got := third.metric(t, "yujing_cluster_failovers_total", kindLeader); got != 0 {
		t.Errorf("a released leader lease was counted as a failover (%v)", got)
	}
	if rel := second.releasesOf(Leaving); !slices.Contains(rel, LeaderLease) {
		t.Errorf("the leaving leader's Leaving releases %v lack the leader lease", rel)
	}
	hist.check(t)
}

func (h *history) byNameLast(name string) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	ivs := h.byName[name]
	return ivs[len(ivs)-1].start
}

// Leave gives every partition up gracefully: the owner finishes its work
// in flight while the lease is still held and renewed (past its TTL), and
// the others take the partitions once released, long before an expiry.
func testLeave(t *testing.T, pg *testenv.Postgres) {
	url := migrated(t, pg)
	hist := &history{}
	gate := make(chan struct{})
	slow := make(chan int, 1) // the partition whose release waits for the gate
	a := startNode(t, url, "a", hist)
	b := startNode(t, url, "b", hist)
	c := startNode(t, url, "c", hist, withRelease(func(ctx context.Context, p int, l *Lease, why Reason) {
		if why != Leaving {
			return
		}
		select {
		case slow <- p:
			select { // work in flight
			case <-gate:
			case <-ctx.Done():
			}
		default:
		}
	}))
	waitFor(t, 10*testTTL, "three nodes balanced", func() error { return balanced(32, a, b, c) })

	began := time.Now()
	left := make(chan error, 1)
	go func() { left <- c.Leave(t.Context()) }()
	p := <-slow
	l := c.held(PartitionLease(p))
	waitFor(t, 2*testTTL, "c renews the lease it still works for past its TTL", func() error {
		if d := l.Deadline(); !d.After(began.Add(testTTL)) {
			return fmt.Errorf("deadline %v after Leave", d.Sub(began))
		}
		return nil
	})
	if !l.Held() || a.held(l.Name) != nil || b.held(l.Name) != nil {
		t.Fatalf("partition %d: c holds it %v, a %v, b %v; want c alone while its work is in flight", p, l.Held(), a.held(l.Name), b.held(l.Name))
	}
	close(gate)
	select {
	case err := <-left:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(4 * testPeriod):
		t.Fatal("Leave did not return after the work in flight ended")
	}
	done := time.Now()
	waitFor(t, 3*testPeriod, "a and b share everything", func() error { return balanced(32, a, b) })
	t.Logf("a and b balanced %v after Leave returned", time.Since(done).Round(time.Millisecond))
	hist.check(t)
	for _, n := range []*testNode{a, b} {
		if got := n.metric(t, "yujing_cluster_failovers_total", kindPartition); got != 0 {
			t.Errorf("%s: %v failovers; c released its partitions, nothing expired", n.name, got)
		}
	}
	if lost := c.releasesOf(Lost); len(lost) > 0 {
		t.Errorf("c lost %v while leaving", lost)
	}
	<-c.done
	if c.err != nil {
		t.Errorf("c's Run after Leave: %v", c.err)
	}
	live, err := a.LiveNodes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range live {
		if n.ID == c.ID() {
			t.Errorf("c still in nodes after Leave")
		}
	}
	if err := c.Run(t.Context()); err == nil {
		t.Error("Run after Leave: no error")
	}
}

// A node refuses to join a cluster whose live nodes have another partition
// count.
func testMismatch(t *testing.T, pg *testenv.Postgres) {
	url := migrated(t, pg)
	a := startNode(t, url, "a", &history{})
	waitFor(t, 5*testTTL, "a registered", func() error {
		live, err := a.LiveNodes(t.Context())
		if err != nil || len(live) != 1 {
			return fmt.Errorf("%d live nodes, %v", len(live), err)
		}
		return nil
	})
	n, err := New(openPool(t, url), Config{TTL: testTTL, Partitions: 16, Hostname: "odd"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = n.Run(t.Context())
	want := fmt.Sprintf("cluster: live node %s has 32 partitions, this node 16: every node of a cluster needs the same count", a.ID())
	if err == nil || err.Error() != want {
		t.Fatalf("Run: %v, want %q", err, want)
	}
}

// The registry: LiveNodes shows each node's row; ReportReload records the
// configuration hash and the last reload's outcome.
func testRegistry(t *testing.T, pg *testenv.Postgres) {
	ctx := t.Context()
	url := migrated(t, pg)
	a := startNode(t, url, "host-a", &history{}, withConfig(func(c *Config) { c.ConfigHash = "h1" }))
	var info NodeInfo
	waitFor(t, 5*testTTL, "a registered", func() error {
		live, err := a.LiveNodes(ctx)
		if err != nil || len(live) != 1 {
			return fmt.Errorf("%d live nodes, %v", len(live), err)
		}
		info = live[0]
		return nil
	})
	if info.ID != a.ID() || info.Hostname != "host-a" || info.Partitions != 32 || info.ConfigHash != "h1" ||
		!info.ReloadAt.IsZero() || info.ReloadError != "" || info.StartedAt.IsZero() || info.Heartbeat.Before(info.StartedAt) {
		t.Fatalf("node row %+v", info)
	}
	if len(a.ID()) != len("host-a/")+16 || a.ID()[:7] != "host-a/" {
		t.Errorf("node id %q, want host-a/<16 hex digits>", a.ID())
	}
	tests := []struct {
		hash    string
		err     error
		wantErr string
	}{
		{"h2", errors.New("rules.yaml:3:5: unknown field \"treshold\""), "rules.yaml:3:5: unknown field \"treshold\""},
		{"h3", nil, ""},
	}
	for _, tt := range tests {
		if err := a.ReportReload(ctx, tt.hash, tt.err); err != nil {
			t.Fatal(err)
		}
		live, err := a.LiveNodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := live[0]; got.ConfigHash != tt.hash || got.ReloadError != tt.wantErr || got.ReloadAt.IsZero() {
			t.Errorf("after ReportReload(%s, %v): %+v", tt.hash, tt.err, got)
		}
	}
	var names []string
	mfs, err := a.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	want := []string{ // docs/CLUSTER.md lists them
		"yujing_cluster_acquisitions_total", "yujing_cluster_failovers_total", "yujing_cluster_fenced_refusals_total",
		"yujing_cluster_lease_age_seconds", "yujing_cluster_leases_lost_total", "yujing_cluster_live_nodes",
		"yujing_cluster_partitions_owned", "yujing_cluster_renewal_failures_total",
	}
	if !slices.Equal(names, want) {
		t.Errorf("metrics %v, want %v", names, want)
	}
	// The heartbeat moves on, the database's clock.
	before := info.Heartbeat
	waitFor(t, 3*testPeriod, "a heartbeat", func() error {
		live, err := a.LiveNodes(ctx)
		if err != nil {
			return err
		}
		if !live[0].Heartbeat.After(before) {
			return errors.New("no new heartbeat")
		}
		return nil
	})
	// A dead node's row is kept (for the operator), but not live.
	admin := openPool(t, url)
	a.kill()
	waitFor(t, 2*testTTL, "a no longer live", func() error {
		live, err := readLiveNodes(ctx, admin)
		if err != nil || len(live) != 0 {
			return fmt.Errorf("%d live nodes, %v", len(live), err)
		}
		return nil
	})
	var rows int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM nodes WHERE id = $1`, a.ID()).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("%d rows of the dead node (%v), want 1", rows, err)
	}
}
