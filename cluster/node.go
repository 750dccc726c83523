package cluster

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Node is one yujing process in a cluster: it keeps its heartbeat in
// nodes, holds and renews leases, and takes and gives up partitions so that
// the live nodes share them.
type Node struct {
	id     string
	pool   *pgxpool.Pool
	cfg    Config // as given; its ConfigHash is only the first
	period time.Duration
	log    *slog.Logger
	m      *metrics
	cb     Callbacks
	offset int // where this node starts looking for a free partition

	running   atomic.Bool
	leaveCh   chan struct{} // closed by Leave
	leaveOnce sync.Once
	left      chan struct{} // closed when Run has left the cluster
	wake      chan struct{} // a lease ended or a release callback returned
	balanced  chan struct{} // closed after the first round that shared the partitions
	balOnce   sync.Once
	queued    chan struct{} // an event was queued for the callbacks

	mu         sync.Mutex
	entries    map[string]*entry // by lease name
	releases   []pendingRelease  // to release in the database
	queue      []event           // for the callbacks, in order
	leaving    bool
	hasLeft    bool
	configHash string // the configuration's hash, recorded in nodes
	failing    bool   // the last round failed (logged once)
	mismatch   bool   // a live node has another partition count (logged once)
}

type entryState int

const (
	stateHeld      entryState = iota
	stateReleasing            // OnRelease queued or running
	stateDrained              // OnRelease returned: release the lease
)

// entry is a lease the node holds, or is giving up.
type entry struct {
	partition int // -1 for the leader lease
	lease     *Lease
	takenAt   time.Time
	state     entryState
	why       Reason // for stateReleasing
}

type pendingRelease struct {
	name  string
	fence int64
	until time.Time // the lease expires in the database by then anyway
}

// New returns a node of the cluster whose state is in pool's database.
// Migrate (or the store's migrations) must have created the tables. The
// node does nothing until Run.
func New(pool *pgxpool.Pool, cfg Config, opts Options) (*Node, error) {
	if pool == nil {
		return nil, errors.New("cluster: no database pool")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Hostname == "" {
		cfg.Hostname = defaultHostname()
	}
	id, err := newNodeID(cfg.Hostname)
	if err != nil {
		return nil, err
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	n := &Node{
		id: id, pool: pool, cfg: cfg, period: cfg.period(),
		log:        opts.Logger,
		cb:         opts.Callbacks,
		offset:     int(h.Sum32() % uint32(cfg.Partitions)),
		leaveCh:    make(chan struct{}),
		left:       make(chan struct{}),
		wake:       make(chan struct{}, 1),
		balanced:   make(chan struct{}),
		queued:     make(chan struct{}, 1),
		entries:    map[string]*entry{},
		configHash: cfg.ConfigHash,
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	n.log = n.log.With("node", id)
	n.m, err = newMetrics(opts.Registerer, n.ownedCount, n.oldestRenewal)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// Balanced is closed once the node has taken its first share of the
// partitions (the first round after the one that only registers it, a
// renewal period after Run began); the callbacks of what it took may
// still be running.
func (n *Node) Balanced() <-chan struct{} { return n.balanced }

// ID returns the node's id: <hostname>/<16 hex digits>, new at every New.
func (n *Node) ID() string { return n.id }

// Partition returns the partition of site siteID (see Partition).
func (n *Node) Partition(siteID string) int { return Partition(siteID, n.cfg.Partitions) }

// Owned returns the partitions the node holds now, in order.
func (n *Node) Owned() []int {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []int
	for _, e := range n.entries {
		if e.partition >= 0 && e.lease.Held() {
			out = append(out, e.partition)
		}
	}
	slices.Sort(out)
	return out
}

// Leader returns the leader lease when the node holds it, else nil.
func (n *Node) Leader() *Lease {
	n.mu.Lock()
	defer n.mu.Unlock()
	if e := n.entries[LeaderLease]; e != nil && e.lease.Held() {
		return e.lease
	}
	return nil
}

// Run registers the node and keeps it in the cluster until ctx ends or
// Leave is called: every renewal period (TTL/3) it renews its heartbeat and
// its leases and takes or gives up partitions. When ctx ends, Run returns at
// once without releasing anything, as a crash would: the leases lapse by
// their deadlines and the other nodes take them after their expiry. It
// returns an error only when the node cannot join: a live node has another
// partition count. Run may be called again after it returned because ctx
// ended (the node goes on with the leases it still holds), not after Leave.
func (n *Node) Run(ctx context.Context) error {
	if !n.running.CompareAndSwap(false, true) {
		return fmt.Errorf("cluster: node %s: Run is already running", n.id)
	}
	defer n.running.Store(false)
	n.mu.Lock()
	hasLeft := n.hasLeft
	n.mu.Unlock()
	if hasLeft {
		return fmt.Errorf("cluster: node %s: has left the cluster", n.id)
	}
	if err := n.register(ctx); err != nil || ctx.Err() != nil {
		return err
	}
	dctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { n.deliver(dctx) })
	defer func() {
		stop()
		wg.Wait()
	}()

	ticker := time.NewTicker(n.period)
	defer ticker.Stop()
	leaveCh := n.leaveCh
	// A round may ask for another before the next tick: at the expiry of
	// a lease its holder stopped renewing (see round).
	early := time.NewTimer(time.Hour)
	early.Stop()
	defer early.Stop()
	schedule := func(after time.Duration) {
		if after > 0 {
			early.Reset(after)
		}
	}
	// The first round renews, but takes nothing: nodes starting together
	// see each other before they share the partitions.
	schedule(n.round(ctx, false))
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			schedule(n.round(ctx, true))
		case <-early.C:
			schedule(n.round(ctx, true))
		case <-n.wake:
			n.reap()
			n.flushReleases(ctx)
		case <-leaveCh:
			leaveCh = nil
			n.startLeaving()
			n.reap()
		}
		if n.doneLeaving() {
			n.unregister(ctx)
			close(n.left)
			return nil
		}
	}
}

// Leave gives every lease up gracefully (OnRelease with Leaving, which
// lets the owner finish its work in flight, then a release in the
// database, so that other nodes take them at once), removes the node from
// nodes and ends Run. It returns when Run has ended, or with ctx's error.
// Run must be running.
func (n *Node) Leave(ctx context.Context) error {
	n.leaveOnce.Do(func() { close(n.leaveCh) })
	select {
	case <-n.left:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cluster: node %s: leave: %w", n.id, ctx.Err())
	}
}

// mismatchError: a live node has another partition count.
type mismatchError struct {
	node       string
	theirs, us int
}

func (e *mismatchError) Error() string {
	return fmt.Sprintf("cluster: live node %s has %d partitions, this node %d: every node of a cluster needs the same count", e.node, e.theirs, e.us)
}

// register retries registerOnce every period until it succeeds or ctx
// ends.
func (n *Node) register(ctx context.Context) error {
	for failed := false; ; failed = true {
		err := n.registerOnce(ctx)
		if err == nil {
			n.log.Info("cluster: node registered", "partitions", n.cfg.Partitions, "ttl", n.cfg.TTL)
			return nil
		}
		if me := (*mismatchError)(nil); errors.As(err, &me) {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		if !failed {
			n.log.Warn("cluster: cannot register the node; retrying every renewal period", "err", err)
		} else {
			n.log.Debug("cluster: cannot register the node", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(n.period):
		}
	}
}

func (n *Node) registerOnce(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, n.period)
	defer cancel()
	rows, err := n.pool.Query(ctx, liveNodes)
	if err != nil {
		return err
	}
	nodes, err := pgx.CollectRows(rows, pgx.RowToStructByPos[liveNode])
	if err != nil {
		return err
	}
	for _, l := range nodes {
		if l.ID != n.id && l.Partitions != n.cfg.Partitions {
			return &mismatchError{node: l.ID, theirs: l.Partitions, us: n.cfg.Partitions}
		}
	}
	n.mu.Lock()
	hash := n.configHash
	n.mu.Unlock()
	_, err = n.pool.Exec(ctx, heartbeat, n.id, n.cfg.Hostname, n.cfg.Partitions, n.cfg.TTL.Seconds(), hash)
	return err
}

func (n *Node) unregister(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, n.period)
	defer cancel()
	if _, err := n.pool.Exec(ctx, leaveNodes, n.id); err != nil {
		n.log.Warn("cluster: cannot remove the node from nodes; its row expires by itself", "err", err)
	}
	n.mu.Lock()
	n.hasLeft = true
	n.mu.Unlock()
	n.log.Info("cluster: node left the cluster")
}

// poke wakes Run: a lease ended or a release callback returned.
func (n *Node) poke() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// ownedCount is the partitions-owned gauge.
func (n *Node) ownedCount() float64 { return float64(len(n.Owned())) }

// oldestRenewal is the lease-age gauge: seconds since the least recently
// renewed held lease was renewed.
func (n *Node) oldestRenewal() float64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	var oldest time.Duration
	for _, e := range n.entries {
		if e.lease.Held() {
			oldest = max(oldest, e.lease.age())
		}
	}
	return oldest.Seconds()
}
