package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"yujing/internal/testenv"
)

// testTTL is the lease TTL of most tests: short, so that failovers happen
// within seconds, and long enough for a loaded 2-core machine.
const testTTL = 2 * time.Second

// openPool opens a pool of its own on url (each test node is a process of
// its own in production), closed when the test ends.
func openPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// migrated returns a fresh database on pg with the cluster's schema and a
// table for fenced test writes.
func migrated(t *testing.T, pg *testenv.Postgres) string {
	t.Helper()
	url := pg.NewDatabase(t)
	pool := openPool(t, url)
	if _, err := Migrate(t.Context(), pool); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(t.Context(), `CREATE TABLE writes (
		partition int NOT NULL, fence bigint NOT NULL, node text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return url
}

// testLogger writes a node's log to the test's output (shown on failure
// or with -v).
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.done.Store(true) })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// testWriter writes to t.Output until the test's cleanup; what is logged
// after that is dropped.
type testWriter struct {
	t    *testing.T
	done atomic.Bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	if w.done.Load() {
		return len(p), nil
	}
	return w.t.Output().Write(p)
}

// interval is the time a node may act for a lease: from its OnAcquire to
// the instant it stopped holding it (Lease.Deadline once Lost is closed).
type interval struct {
	node  string
	lease *Lease
	start time.Time
}

func (iv interval) end() (time.Time, bool) {
	select {
	case <-iv.lease.Lost():
		return iv.lease.Deadline(), true
	default:
		return time.Time{}, false
	}
}

// history records, across the nodes of a test, every interval a node held
// each lease.
type history struct {
	mu     sync.Mutex
	byName map[string][]interval
}

func (h *history) add(node string, l *Lease) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byName == nil {
		h.byName = map[string][]interval{}
	}
	h.byName[l.Name] = append(h.byName[l.Name], interval{node: node, lease: l, start: time.Now()})
}

// check fails unless, for each lease, the intervals of its holders never
// overlap (one ends before the next begins, on this process's monotonic
// clock) and the fences grow from one holder to the next.
func (h *history) check(t *testing.T) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, ivs := range h.byName {
		ivs = slices.Clone(ivs)
		sort.Slice(ivs, func(i, j int) bool { return ivs[i].start.Before(ivs[j].start) })
		for i := 1; i < len(ivs); i++ {
			prev, cur := ivs[i-1], ivs[i]
			end, ended := prev.end()
			if !ended {
				t.Errorf("%s: %s (fence %d) still holds it while %s (fence %d) took it", name, prev.node, prev.lease.Fence, cur.node, cur.lease.Fence)
				continue
			}
			if !end.Before(cur.start) {
				t.Errorf("%s: %s (fence %d) held it until %v after %s (fence %d) began", name, prev.node, prev.lease.Fence, end.Sub(cur.start), cur.node, cur.lease.Fence)
			}
			if cur.lease.Fence <= prev.lease.Fence {
				t.Errorf("%s: fence %d of %s after fence %d of %s", name, cur.lease.Fence, cur.node, prev.lease.Fence, prev.node)
			}
		}
	}
}

// count returns how many intervals there are of each lease name.
func (h *history) takes(name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.byName[name])
}

// release is a recorded OnRelease or OnLeaderRelease.
type release struct {
	name string
	why  Reason
	at   time.Time
}

// testNode is a Node with its own pool and registry, run in a goroutine,
// recording its callbacks.
type testNode struct {
	*Node
	name string
	pool *pgxpool.Pool
	reg  *prometheus.Registry
	hist *history

	mu        sync.Mutex
	leases    map[string]*Lease // from the callbacks: held now
	acquires  int
	releases  []release
	leaderOn  int                                                    // OnLeader calls
	onRelease func(ctx context.Context, p int, l *Lease, why Reason) // called by OnRelease, if set

	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned
	err    error         // Run's error, once done is closed
}

type nodeOpt func(*testNode, *Config)

// withPool makes the node use pool.
func withPool(pool *pgxpool.Pool) nodeOpt { return func(n *testNode, _ *Config) { n.pool = pool } }

// withRelease makes OnRelease call f first (to hold work in flight).
func withRelease(f func(ctx context.Context, p int, l *Lease, why Reason)) nodeOpt {
	return func(n *testNode, _ *Config) { n.onRelease = f }
}

func withConfig(f func(*Config)) nodeOpt { return func(_ *testNode, c *Config) { f(c) } }

// startNode creates a node named name on url and runs it.
func startNode(t *testing.T, url, name string, hist *history, opts ...nodeOpt) *testNode {
	t.Helper()
	tn := &testNode{name: name, reg: prometheus.NewRegistry(), hist: hist, leases: map[string]*Lease{}}
	cfg := Config{TTL: testTTL, Hostname: name}
	for _, o := range opts {
		o(tn, &cfg)
	}
	if tn.pool == nil {
		tn.pool = openPool(t, url)
	}
	n, err := New(tn.pool, cfg, Options{Callbacks: tn.callbacks(), Logger: testLogger(t), Registerer: tn.reg})
	if err != nil {
		t.Fatal(err)
	}
	tn.Node = n
	tn.run()
	t.Cleanup(tn.kill)
	return tn
}

func (tn *testNode) callbacks() Callbacks {
	acquire := func(l *Lease) {
		tn.hist.add(tn.name, l)
		tn.mu.Lock()
		tn.leases[l.Name] = l
		tn.acquires++
		tn.mu.Unlock()
	}
	release := func(l *Lease, why Reason) {
		tn.mu.Lock()
		delete(tn.leases, l.Name)
		tn.releases = append(tn.releases, release{name: l.Name, why: why, at: time.Now()})
		tn.mu.Unlock()
	}
	return Callbacks{
		OnAcquire: func(_ context.Context, p int, l *Lease) {
			if l.Name != PartitionLease(p) {
				panic(fmt.Sprintf("OnAcquire(%d) with lease %s", p, l.Name))
			}
			acquire(l)
		},
		OnRelease: func(ctx context.Context, p int, l *Lease, why Reason) {
			if f := tn.onRelease; f != nil {
				f(ctx, p, l, why)
			}
			release(l, why)
		},
		OnLeader: func(_ context.Context, l *Lease) {
			tn.mu.Lock()
			tn.leaderOn++
			tn.mu.Unlock()
			acquire(l)
		},
		OnLeaderRelease: func(_ context.Context, l *Lease, why Reason) { release(l, why) },
	}
}

// run runs the node until kill.
func (tn *testNode) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	tn.cancel, tn.done = cancel, done
	go func() {
		tn.err = tn.Run(ctx)
		close(done)
	}()
}

// kill stops the node's goroutines without releasing anything, as a crash
// (or a pause) would; its leases lapse by their deadlines.
func (tn *testNode) kill() {
	tn.cancel()
	<-tn.done
}

// held returns the lease the callbacks say the node holds for name.
func (tn *testNode) held(name string) *Lease {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	return tn.leases[name]
}

// heldPartitions returns the partitions the callbacks say the node holds.
func (tn *testNode) heldPartitions() []int {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	var out []int
	for name := range tn.leases {
		if p := partitionOf(name); p >= 0 {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func (tn *testNode) releasesOf(why Reason) []string {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	var out []string
	for _, r := range tn.releases {
		if r.why == why {
			out = append(out, r.name)
		}
	}
	return out
}

// metric returns the value of a metric of the node (with label values).
func (tn *testNode) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := tn.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i, lp := range m.GetLabel() {
				if i >= len(labels) || lp.GetValue() != labels[i] {
					continue next
				}
			}
			switch {
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("%s: no metric %s%v", tn.name, name, labels)
	return 0
}

// balanced reports nil once every partition is held by exactly one of
// nodes, both by Owned and by the callbacks, and each node holds its share.
func balanced(partitions int, nodes ...*testNode) error {
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID()
	}
	slices.Sort(ids)
	owner := map[int]string{}
	for _, n := range nodes {
		owned := n.Owned()
		if cb := n.heldPartitions(); !slices.Equal(owned, cb) {
			return fmt.Errorf("%s: owns %v, the callbacks say %v", n.name, owned, cb)
		}
		rank, _ := slices.BinarySearch(ids, n.ID())
		if want := share(partitions, len(nodes), rank); len(owned) != want {
			return fmt.Errorf("%s holds %d partitions, its share is %d", n.name, len(owned), want)
		}
		for _, p := range owned {
			if o, ok := owner[p]; ok {
				return fmt.Errorf("partition %d held by %s and %s", p, o, n.name)
			}
			owner[p] = n.name
		}
	}
	if len(owner) != partitions {
		return fmt.Errorf("%d of %d partitions held", len(owner), partitions)
	}
	return nil
}

// waitFor polls cond until it returns nil, failing the test after timeout
// with cond's last error.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fencedWrite writes a row for partition p in a transaction fenced by l.
func fencedWrite(ctx context.Context, pool *pgxpool.Pool, l *Lease, p int, node string) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := Fenced(ctx, tx, l); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO writes (partition, fence, node) VALUES ($1, $2, $3)`, p, l.Fence, node); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// proxy forwards TCP connections to a PostgreSQL server, and can cut them
// as a network partition does: while cut, every byte either way is
// dropped and the connections stay open, so a client waits until its own
// timeouts; healing resets the connections that lived through the cut.
type proxy struct {
	ln     net.Listener
	target string
	cut    atomic.Bool
	// accepted counts the connections accepted.
	accepted atomic.Int64
	mu       sync.Mutex
	conns    []net.Conn
	wg       sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		ln.Close()
		p.resetAll()
		p.wg.Wait()
	})
	return p
}

// url returns pgURL with its host:port replaced by the proxy's.
func (p *proxy) url(pgURL, pgAddr string) string {
	return strings.Replace(pgURL, "@"+pgAddr+"/", "@"+p.ln.Addr().String()+"/", 1)
}

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Go(func() { p.pump(s, c) })
		p.wg.Go(func() { p.pump(c, s) })
	}
}

// pump copies src to dst, dropping what it reads while cut. When src
// ends while cut, dst is not told (a partition carries no FIN either): it
// stays open until Heal.
func (p *proxy) pump(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.cut.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = errors.Join(err, werr)
			}
		}
		if err != nil {
			src.Close()
			if !p.cut.Load() {
				dst.Close()
			}
			return
		}
	}
}

// Cut starts dropping everything.
func (p *proxy) Cut() { p.cut.Store(true) }

// Heal resets the connections that lived through the cut and forwards
// again.
func (p *proxy) Heal() {
	p.resetAll()
	p.cut.Store(false)
}

func (p *proxy) resetAll() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}
