package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"yujing"
	"yujing/alerting/escalate"
	"yujing/cluster"
	"yujing/config"
	"yujing/internal/mailbox"
	"yujing/store"
)

// ownership is what this node of a cluster holds now: the partitions of
// the sites (their sensors, warnings, escalations and calls are this
// node's to evaluate and make) and the leader lease (the cluster-wide
// jobs). A nil ownership is a node alone, which owns everything.
type ownership struct {
	partitions int
	mu         sync.RWMutex
	held       map[int]*cluster.Lease
	leader     atomic.Bool
	leaderOf   atomic.Pointer[cluster.Lease]
}

func newOwnership(c *config.Cluster) *ownership {
	n := c.Partitions
	if n == 0 {
		n = cluster.DefaultPartitions
	}
	return &ownership{partitions: n, held: map[int]*cluster.Lease{}}
}

// partition is site's partition.
func (o *ownership) partition(site string) int { return cluster.Partition(site, o.partitions) }

// owns reports whether this node holds site's partition.
func (o *ownership) owns(site string) bool {
	if o == nil {
		return true
	}
	p := o.partition(site)
	o.mu.RLock()
	defer o.mu.RUnlock()
	_, held := o.held[p]
	return held
}

// ownsFunc is owns for the stages' options: nil for a node alone.
func (o *ownership) ownsFunc() func(string) bool {
	if o == nil {
		return nil
	}
	return o.owns
}

// leadsFunc tells whether this node holds the leader lease; nil for a node
// alone.
func (o *ownership) leadsFunc() func() bool {
	if o == nil {
		return nil
	}
	return o.leader.Load
}

// in returns whether a site lies in partition p.
func (o *ownership) in(p int) func(string) bool {
	return func(site string) bool { return o.partition(site) == p }
}

// take records that partition p is held, under l.
func (o *ownership) take(p int, l *cluster.Lease) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.held[p] = l
}

// drop records that partition p is given up.
func (o *ownership) drop(p int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.held, p)
}

// fence returns ctx fenced by the lease of site's partition ("": the
// leader's, for spot checks): the state database refuses the escalation
// steps, calls and sending marks made with it once the lease is gone.
func (o *ownership) fence(ctx context.Context, site string) context.Context {
	var l *cluster.Lease
	if site == "" {
		l = o.leaderOf.Load()
	} else {
		o.mu.RLock()
		l = o.held[o.partition(site)]
		o.mu.RUnlock()
	}
	return store.WithFence(ctx, leaseFence{l})
}

// fenceFunc is fence for call-and-answer's options: nil for a node alone.
func (o *ownership) fenceFunc() func(context.Context, string) context.Context {
	if o == nil {
		return nil
	}
	return o.fence
}

// callFence is fence for the outbox (a call's warning's site): nil for a
// node alone.
func (o *ownership) callFence() func(context.Context, yujing.Call) context.Context {
	if o == nil {
		return nil
	}
	return func(ctx context.Context, c yujing.Call) context.Context { return o.fence(ctx, c.Alert.Site) }
}

// leaseFence checks, in the write's transaction, that l is still this
// node's (cluster.FencedSQL); with no lease, every write is refused.
type leaseFence struct{ l *cluster.Lease }

func (f leaseFence) Check(ctx context.Context, tx *sql.Tx) error {
	if f.l == nil {
		return fmt.Errorf("%w: this node holds no lease for it", store.ErrFenced)
	}
	if err := cluster.FencedSQL(ctx, tx, f.l); err != nil {
		if errors.Is(err, cluster.ErrFenced) {
			return fmt.Errorf("%w: %w", store.ErrFenced, err)
		}
		return err
	}
	return nil
}

// Channels of the cluster's bus.
const (
	busEvents = "yujing_events" // "<node> <alert id>": an alert changed on node
	busReload = "yujing_reload" // "<node>": node reloaded its configuration; reload yours
)

// partitionWork is what a node does as partitions come and go: the
// stages that hold per-site work.
type partitionWork struct {
	own    *ownership
	alerts *alertStage
	rules  *ruleStage
	esc    escalationAdopter
	resume func(ctx context.Context, which func(yujing.Call) bool) error
	intake partitionIntake
	leader func(ctx context.Context) // runs the leader's jobs until ctx ends
	// reload reloads this node's configuration file, configPath.
	reload     func(ctx context.Context) error
	configPath string
	// refresh reads each kind of state again (clusterstate.go).
	refresh map[string]func(context.Context) error
	log     logger
}

// escalationAdopter is call-and-answer's side of a moving partition.
type escalationAdopter interface {
	Adopt(ctx context.Context, adopt func(site string) bool) (int, error)
	Drop(drop func(site string) bool) int
}

// partitionIntake is ingest's side: one MQTT session per partition.
type partitionIntake interface {
	TakePartition(ctx context.Context, p int) error
	ReleasePartition(ctx context.Context, p int) error
}

// logger is the part of slog.Logger used here.
type logger interface {
	Debug(msg string, args ...any)
	Info(msg string, args ...any)
	Warn(msg string, args ...any)
	Error(msg string, args ...any)
}

// callbacks are the node's: taking a partition reads its warnings,
// escalations and pending calls again from PostgreSQL (the node that held
// it may have changed them until it died) and then subscribes to its
// sensors; giving one up unsubscribes first, so nothing is evaluated
// after the lease is gone.
func (pw *partitionWork) callbacks() cluster.Callbacks {
	var stopLeader context.CancelFunc
	var leaderDone chan struct{}
	return cluster.Callbacks{
		OnAcquire: func(ctx context.Context, p int, l *cluster.Lease) {
			in := pw.own.in(p)
			if _, err := pw.alerts.alerts.Resync(ctx); err != nil {
				pw.log.Error("cluster: open warnings not read again on taking a partition", "partition", p, "err", err)
			}
			conds := pw.rules.engine.Adopt(in, time.Now())
			pw.own.take(p, l) // after Adopt restarted the offline clocks: a Tick before would find them stale
			escs, err := pw.esc.Adopt(ctx, in)
			if err != nil {
				pw.log.Error("cluster: escalations not read again on taking a partition", "partition", p, "err", err)
			}
			if err := pw.resume(ctx, func(c yujing.Call) bool { return c.Alert.ID != 0 && in(c.Alert.Site) }); err != nil {
				pw.log.Error("cluster: pending calls of a taken partition not resumed", "partition", p, "err", err)
			}
			if err := pw.intake.TakePartition(ctx, p); err != nil {
				pw.log.Error("cluster: partition's MQTT session not started", "partition", p, "err", err)
			}
			pw.log.Info("cluster: partition taken", "partition", p, "conditions", conds, "escalations", escs)
		},
		OnRelease: func(ctx context.Context, p int, _ *cluster.Lease, why cluster.Reason) {
			rctx := ctx
			if why == cluster.Lost {
				// Another node may hold it already: acknowledge nothing more,
				// what is in flight is its to get again.
				c, cancel := context.WithCancel(ctx)
				cancel()
				rctx = c
			}
			if err := pw.intake.ReleasePartition(rctx, p); err != nil {
				pw.log.Warn("cluster: partition's MQTT session not ended cleanly", "partition", p, "err", err)
			}
			pw.own.drop(p)
			n := pw.esc.Drop(pw.own.in(p))
			pw.log.Info("cluster: partition given up", "partition", p, "why", why.String(), "escalations", n)
		},
		OnLeader: func(ctx context.Context, l *cluster.Lease) {
			pw.own.leaderOf.Store(l)
			pw.own.leader.Store(true)
			// Spot-check calls that were pending with the old leader.
			if err := pw.resume(ctx, func(c yujing.Call) bool { return c.Alert.ID == 0 }); err != nil {
				pw.log.Error("cluster: pending spot-check calls not resumed", "err", err)
			}
			jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
			stopLeader, leaderDone = cancel, make(chan struct{})
			done := leaderDone
			go func() { defer close(done); pw.leader(jctx) }()
			pw.log.Info("cluster: this node leads: summaries and spot checks run here")
		},
		OnLeaderRelease: func(ctx context.Context, _ *cluster.Lease, why cluster.Reason) {
			pw.own.leader.Store(false)
			pw.own.leaderOf.Store(nil)
			if stopLeader != nil {
				stopLeader()
				<-leaderDone
				stopLeader = nil
			}
			pw.log.Info("cluster: this node no longer leads", "why", why.String())
		},
	}
}

// clusterPool opens the coordination's own small pool on the state
// database (pgx's, which LISTEN and the leases need).
func clusterPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("cluster: state.url: %s", redactedParseError(err))
	}
	pc.MaxConns = 4
	return pgxpool.NewWithConfig(ctx, pc)
}

// redactedParseError keeps pgx's reason and drops the URL it may quote.
func redactedParseError(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return "cannot parse"
}

// eventPayload is an alert change's notification: "<node> <alert id>".
func eventPayload(node string, alertID int64) string {
	return node + " " + strconv.FormatInt(alertID, 10)
}

// parseEvent reads eventPayload's payload.
func parseEvent(payload string) (node string, alertID int64, ok bool) {
	node, id, found := strings.Cut(payload, " ")
	if !found {
		return "", 0, false
	}
	n, err := strconv.ParseInt(id, 10, 64)
	return node, n, err == nil && n > 0
}

// clusterStage is this node's membership of the cluster: the node that
// holds leases, and the bus that carries alert changes between nodes.
type clusterStage struct {
	own       *ownership
	self      string // this process's tag in the bus's payloads
	published *mailbox.Box[int64]
	// stateChanged has the kinds of state this node's API changed.
	stateChanged *mailbox.Box[string]
	log          logger
	// node and bus are set once the node joins (reloads asked before
	// then are this node's alone).
	node atomic.Pointer[cluster.Node]
	bus  atomic.Pointer[cluster.Bus]
}

// newClusterStage returns nil for a node alone (no state.cluster).
func newClusterStage(cfg *config.Config, log logger) (*clusterStage, error) {
	if cfg.State == nil || cfg.State.Cluster == nil {
		return nil, nil
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	return &clusterStage{own: newOwnership(cfg.State.Cluster), self: hex.EncodeToString(b[:]), published: mailbox.New[int64](),
		stateChanged: mailbox.New[string](), log: log}, nil
}

// ownership returns nil for a node alone.
func (c *clusterStage) ownership() *ownership {
	if c == nil {
		return nil
	}
	return c.own
}

// changed is the lifecycle's word that this node saved a change of an
// alert: the other nodes are told.
func (c *clusterStage) changed(id int64) {
	if c != nil {
		c.published.Put(id)
	}
}

// join starts the node (leases, partitions) and the bus once every stage
// is built: last in serve, so that partitions are taken (and their
// sessions started) once every stage that works on them is there. leave, run first at shutdown, gives the partitions up (each
// drained of what its session delivered) and releases the leases, so that
// the other nodes take them at once rather than after their TTL.
func (w *wiring) join(pw *partitionWork) (leave func(), err error) {
	c := w.cl
	if c == nil {
		return func() {}, nil // a node alone
	}
	pw.own, pw.log = c.own, w.log
	cc := w.cfg.State.Cluster
	pool, err := clusterPool(w.ctx, w.cfg.State.URL)
	if err != nil {
		return nil, err
	}
	w.cleanup.add(pool.Close)
	if _, err := cluster.Migrate(w.ctx, pool); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	bus, err := cluster.NewBus(pool, cluster.BusOptions{Logger: w.log, Registerer: w.reg})
	if err != nil {
		return nil, err
	}
	node, err := cluster.New(pool, cluster.Config{TTL: cc.TTL, Partitions: c.own.partitions},
		cluster.Options{Callbacks: pw.callbacks(), Logger: w.log, Registerer: w.reg})
	if err != nil {
		return nil, err
	}
	// The node, the bus and their goroutines outlive serve's ctx until
	// leave (or the cleanup) stops them.
	ctx, stop := context.WithCancel(context.WithoutCancel(w.ctx))
	events, err := bus.Subscribe(ctx, busEvents, busReload, busState)
	if err != nil {
		stop()
		return nil, err
	}
	c.node.Store(node)
	c.bus.Store(bus)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := node.Run(ctx); err != nil && ctx.Err() == nil {
			w.log.Error("cluster: node stopped", "err", err)
		}
	})
	wg.Go(func() { c.publish(ctx, bus, w) })
	wg.Go(func() { c.listen(ctx, events, pw, w) })
	w.cleanup.add(func() { stop(); wg.Wait() }) // if serve fails before leave is deferred
	c.awaitShare(w.ctx, node, cc.TTL)
	w.log.Info("cluster: joined", "node", node.ID(), "partitions", c.own.partitions, "holds", len(node.Owned()))
	return w.bounded(func(lctx context.Context) error {
		err := node.Leave(lctx)
		stop()
		wg.Wait()
		return err
	}, "cluster", shareIngest), nil
}

// publish tells the other nodes of each alert this node changed.
func (c *clusterStage) publish(ctx context.Context, bus *cluster.Bus, w *wiring) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.published.Ready():
		case <-c.stateChanged.Ready():
		}
		kinds := map[string]bool{}
		for _, k := range c.stateChanged.Take() {
			if !kinds[k] {
				kinds[k] = true
				if err := bus.Publish(ctx, busState, c.self+" "+k); err != nil && ctx.Err() == nil {
					w.log.Warn("cluster: a change not told to the other nodes", "kind", k, "err", err)
				}
			}
		}
		seen := map[int64]bool{}
		for _, id := range c.published.Take() {
			if seen[id] {
				continue
			}
			seen[id] = true
			if err := bus.Publish(ctx, busEvents, eventPayload(c.self, id)); err != nil && ctx.Err() == nil {
				w.log.Warn("cluster: alert change not told to the other nodes (their boards catch up at their next resync)", "alert_id", id, "err", err)
			}
		}
	}
}

// listen takes the other nodes' alert changes: the lifecycle reads each
// again, the live stream shows it, and when its site is this node's,
// call-and-answer handles it (an acknowledgement made on another node's
// console ends the escalation here; a warning issued there is called
// here). Once the bus listens again after a lost connection, the open
// warnings and owned escalations are read again.
func (c *clusterStage) listen(ctx context.Context, events <-chan cluster.Event, pw *partitionWork, w *wiring) {
	for ev := range events {
		switch ev.Kind {
		case cluster.Listening, cluster.Reconnected:
			// What changed before this node listened (since it read its
			// state at start) or while its connection was down is read
			// again.
			if _, err := pw.alerts.alerts.Resync(ctx); err != nil {
				w.log.Error("cluster: open warnings not read again", "err", err)
			}
			if ev.Kind == cluster.Reconnected { // at first, taking each partition adopts its escalations
				if _, err := pw.esc.Adopt(ctx, c.own.owns); err != nil {
					w.log.Error("cluster: escalations not read again after the bus reconnected", "err", err)
				}
			}
			for kind := range pw.refresh {
				pw.refreshState(ctx, kind)
			}
			w.log.Info("cluster: listening for the other nodes' changes", "reconnected", ev.Kind == cluster.Reconnected)
		case cluster.Notification:
			if ev.Channel == busReload {
				if ev.Payload != c.self {
					c.reloadHere(ctx, pw.reload, pw.configPath)
				}
				continue
			}
			if ev.Channel == busState {
				if node, kind, ok := strings.Cut(ev.Payload, " "); ok && node != c.self {
					pw.refreshState(ctx, kind)
				}
				continue
			}
			node, id, ok := parseEvent(ev.Payload)
			if !ok || node == c.self {
				continue
			}
			ch, ok, err := pw.alerts.alerts.Refresh(ctx, id)
			if err != nil {
				w.log.Warn("cluster: another node's alert change not read", "alert_id", id, "err", err)
				continue
			}
			if !ok {
				continue
			}
			pw.alerts.events.Publish(ch.Alert, ch.Transition)
			if c.own.owns(ch.Alert.Site) {
				pw.alerts.changes.Put(ch)
			}
		}
	}
}

// summaries sends the configured summaries until ctx ends: on a node
// alone, or on a cluster's leader.
func summaries(ctx context.Context, esc *escalate.Engine, cfg *config.Config, w *wiring) {
	if err := esc.RunSummaries(ctx, cfg.Summaries, nil); err != nil {
		w.log.Error("summaries not scheduled", "err", err)
	}
}

// awaitShare waits, at most a TTL, until the node took its first share of
// the partitions and their sessions are subscribed: yujing is ready only
// then, so that a sensor publishing at once after a first start (before
// any partition's session exists on the broker) is heard.
func (c *clusterStage) awaitShare(ctx context.Context, node *cluster.Node, ttl time.Duration) {
	if ttl <= 0 {
		ttl = cluster.DefaultTTL
	}
	wait := time.NewTimer(ttl)
	defer wait.Stop()
	select {
	case <-node.Balanced():
	case <-wait.C:
		return
	case <-ctx.Done():
		return
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		c.own.mu.RLock()
		held := len(c.own.held)
		c.own.mu.RUnlock()
		if held >= len(node.Owned()) {
			return
		}
		select {
		case <-tick.C:
		case <-wait.C:
			return
		case <-ctx.Done():
			return
		}
	}
}
