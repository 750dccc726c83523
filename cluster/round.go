package cluster

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// round is one renewal period's work: in one batch (one round trip, one
// implicit transaction) it releases what was given up, renews the leases,
// renews the heartbeat and reads the live nodes and the held leases; then,
// when balance is set, it gives up its surplus or takes free partitions,
// and the leader lease when it is free.
//
// It returns when the next round should come before the next tick (0:
// not). A lease renewed by a live holder always has more than ttl − ttl/3
// left, more than a period; one with less than a period left has a holder
// that stopped renewing it (dead, cut off, or leaving it to expire), so
// the node comes back just after its expiry rather than up to a period
// later, when it would be found free at the next tick. Nodes started
// together tick in step, so without this a failover would take ttl plus
// a whole period.
func (n *Node) round(ctx context.Context, balance bool) (next time.Duration) {
	bctx, cancel := context.WithTimeout(ctx, n.period)
	defer cancel()
	n.reap()

	r := n.snapshot()
	b := n.queueRound(r)
	sent := time.Now()
	err := n.pool.SendBatch(bctx, b).Close()
	if err != nil && ctx.Err() != nil {
		return 0 // Run is ending
	}
	if err != nil {
		n.renewalFailed(err)
		return 0
	}
	if r.soonest > 0 && r.soonest < n.period {
		next = r.soonest + max(n.period/20, 20*time.Millisecond) - time.Since(sent)
		next = max(next, time.Millisecond)
	}
	next = n.applyRound(r, sent, next)
	n.reap()
	n.mu.Lock()
	leaving := n.leaving
	n.mu.Unlock()
	if !balance || leaving {
		return next
	}
	n.balance(ctx, r.live, r.taken)
	n.balOnce.Do(func() { close(n.balanced) })
	return next
}

// roundState is what one round sends and what its batch answers.
type roundState struct {
	// sent
	renewing []*entry
	names    []string
	fences   []int64
	rel      []pendingRelease
	isLeader bool
	known    map[string]bool // leases the database may name this node for
	hash     string

	// answered
	renewed, held, taken map[string]bool
	live                 []liveNode
	soonest              time.Duration // the least time left of another holder's lease
	orphans              []pendingRelease
}

// snapshot takes, under the lock, what a round sends.
func (n *Node) snapshot() *roundState {
	n.mu.Lock()
	defer n.mu.Unlock()
	r := &roundState{
		known:   map[string]bool{},
		renewed: map[string]bool{}, held: map[string]bool{}, taken: map[string]bool{},
	}
	for name, e := range n.entries {
		if e.state != stateDrained && e.lease.Held() {
			r.renewing = append(r.renewing, e)
			r.names = append(r.names, name)
			r.fences = append(r.fences, e.lease.Fence)
		}
		r.known[name] = true
	}
	r.rel = slices.Clone(n.releases)
	r.isLeader = n.entries[LeaderLease] != nil
	for _, rl := range n.releases {
		r.known[rl.name] = true
	}
	r.hash = n.configHash
	return r
}

// scanNames reads a one-column result of lease names into set.
func scanNames(set map[string]bool) func(pgx.Rows) error {
	return func(rows pgx.Rows) error {
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				return err
			}
			set[name] = true
		}
		return rows.Err()
	}
}

// queueRound builds the round's batch; its answers land in r.
func (n *Node) queueRound(r *roundState) *pgx.Batch {
	b := n.batch()
	if len(r.rel) > 0 {
		relNames, relFences := releaseArgs(r.rel)
		b.Queue(releaseLeases, n.id, relNames, relFences)
	}
	b.Queue(renewLeases, n.id, n.cfg.TTL.Seconds(), r.names, r.fences).Query(scanNames(r.renewed))
	b.Queue(heldLeases, n.id, r.names, r.fences).Query(scanNames(r.held))
	b.Queue(heartbeat, n.id, n.cfg.Hostname, n.cfg.Partitions, n.cfg.TTL.Seconds(), r.hash)
	b.Queue(liveNodes).Query(func(rows pgx.Rows) error {
		var err error
		r.live, err = pgx.CollectRows(rows, pgx.RowToStructByPos[liveNode])
		return err
	})
	b.Queue(`SELECT name, holder, fence, extract(epoch FROM expires_at - now())::float8 FROM leases WHERE expires_at > now()`).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var name, holder string
			var fence int64
			var left float64
			if err := rows.Scan(&name, &holder, &fence, &left); err != nil {
				return err
			}
			r.taken[name] = true
			d := time.Duration(left * float64(time.Second))
			switch {
			case holder != n.id:
				if r.soonest == 0 || d < r.soonest {
					r.soonest = d
				}
			case !r.known[name]:
				// A take whose answer never came (a timeout after the
				// commit): nobody acts for it; free it.
				r.orphans = append(r.orphans, pendingRelease{name: name, fence: fence, until: time.Now().Add(d)})
			}
		}
		return rows.Err()
	})
	if r.isLeader {
		b.Queue(forgetNodes, nodeRetention.Seconds())
	}
	return b
}

// renewalFailed counts and logs a failed round: once at warning level
// until a round succeeds again.
func (n *Node) renewalFailed(err error) {
	n.m.renewFails.Inc()
	n.mu.Lock()
	first := !n.failing
	n.failing = true
	n.mu.Unlock()
	if first {
		n.log.Warn("cluster: renewal failed; leases lapse at their deadlines unless a later renewal succeeds", "err", err)
	} else {
		n.log.Debug("cluster: renewal failed", "err", err)
	}
}

// applyRound acts on a successful round's answers: releases done and
// orphans queued, leases extended, kept while busy, or ended when lost.
func (n *Node) applyRound(r *roundState, sent time.Time, next time.Duration) time.Duration {
	n.mu.Lock()
	if n.failing {
		n.failing = false
		n.log.Info("cluster: renewal succeeded again")
	}
	n.releases = append(n.releases[len(r.rel):], r.orphans...)
	n.mu.Unlock()
	for _, o := range r.orphans {
		n.log.Info("cluster: releasing a lease whose take was not answered", "lease", o.name, "fence", o.fence)
	}
	if len(r.orphans) > 0 {
		n.poke() // release them now rather than at the next round
	}
	n.m.live.Set(float64(len(r.live)))
	for _, e := range r.renewing {
		l := e.lease
		switch {
		case r.renewed[l.Name]:
			if !l.extend(sent) {
				// Let go meanwhile, but renewed in the database: free it.
				n.queueRelease(l)
			}
			continue
		case r.held[l.Name]:
			// Locked by a fenced transaction: still ours. Try again soon
			// rather than a period later; it lapses at its deadline if the
			// transaction outlasts it.
			n.log.Debug("cluster: lease busy; renewed at the next round", "lease", l.Name)
			next = retryBusy(next, n.period)
			continue
		}
		if l.end(endNotFound) {
			n.log.Warn("cluster: lease lost: not found at renewal (expired or taken)", "lease", l.Name, "fence", l.Fence)
		}
	}
	return next
}

func (n *Node) batch() *pgx.Batch {
	b := &pgx.Batch{}
	ms := func(d time.Duration) string { return strconv.FormatInt(max(d.Milliseconds(), 1), 10) }
	b.Queue(`SELECT set_config('statement_timeout', $1, true), set_config('lock_timeout', $2, true),
		set_config('idle_in_transaction_session_timeout', $3, true)`,
		ms(n.period), ms(n.period/4), ms(n.cfg.Margin))
	return b
}

// retryBusy returns when to come back for a lease that was busy: a
// quarter period from now, or next if that is sooner.
func retryBusy(next, period time.Duration) time.Duration {
	if next == 0 || period/4 < next {
		return period / 4
	}
	return next
}

// lockNotAvailable is PostgreSQL's SQLSTATE for a lock_timeout.
const lockNotAvailable = "55P03"

type liveNode struct {
	ID         string
	Partitions int
}

func releaseArgs(rel []pendingRelease) ([]string, []int64) {
	names := make([]string, len(rel))
	fences := make([]int64, len(rel))
	for i, r := range rel {
		names[i], fences[i] = r.name, r.fence
	}
	return names, fences
}

// balance takes or gives up partitions so that the node holds its share of
// the live nodes', and takes the leader lease when it is free.
func (n *Node) balance(ctx context.Context, live []liveNode, taken map[string]bool) {
	ids := make([]string, 0, len(live))
	for _, l := range live {
		if l.Partitions != n.cfg.Partitions {
			n.mu.Lock()
			first := !n.mismatch
			n.mismatch = true
			n.mu.Unlock()
			if first {
				n.log.Error("cluster: a live node has another partition count; this node takes no partitions until it is gone",
					"other", l.ID, "its_partitions", l.Partitions, "partitions", n.cfg.Partitions)
			}
			return
		}
		ids = append(ids, l.ID)
	}
	slices.Sort(ids)
	rank, found := slices.BinarySearch(ids, n.id)
	if !found {
		return // our own heartbeat is not seen: do nothing this round
	}
	target := share(n.cfg.Partitions, len(ids), rank)

	n.mu.Lock()
	n.mismatch = false
	var held []*entry
	releasing := 0
	for _, e := range n.entries {
		switch {
		case e.partition < 0:
		case e.state == stateHeld && e.lease.Held():
			held = append(held, e)
		default:
			releasing++
		}
	}
	slices.SortFunc(held, func(a, b *entry) int { return a.takenAt.Compare(b.takenAt) })
	heldP := make([]int, len(held))
	for i, e := range held {
		heldP[i] = e.partition
	}
	var free []int
	for p := range n.cfg.Partitions {
		name := PartitionLease(p)
		if !taken[name] && n.entries[name] == nil {
			free = append(free, p)
		}
	}
	mv := plan(target, heldP, releasing, free, n.offset, n.cfg.Partitions)
	for _, p := range mv.release {
		e := n.entries[PartitionLease(p)]
		e.state, e.why = stateReleasing, Rebalanced
		n.queue = append(n.queue, event{e: e})
		n.log.Info("cluster: giving a partition up", "partition", p, "target", target, "live_nodes", len(ids))
	}
	leaderFree := n.entries[LeaderLease] == nil && !taken[LeaderLease]
	n.mu.Unlock()
	if len(mv.release) > 0 {
		n.signalQueued()
	}

	got := 0
	for _, p := range mv.candidates {
		if got == mv.take {
			break
		}
		ok, err := n.take(ctx, PartitionLease(p), p)
		if err != nil {
			return // the database is in trouble: try again next round
		}
		if ok {
			got++
		}
	}
	if leaderFree {
		n.take(ctx, LeaderLease, -1)
	}
}

// take takes the lease name (partition p, or -1 for the leader) if it is
// free or expired, and reports whether it did; err is set when the
// database could not answer (then the take may have happened: the next
// round releases such an orphan).
func (n *Node) take(ctx context.Context, name string, p int) (bool, error) {
	kind := kindPartition
	if p < 0 {
		kind = kindLeader
	}
	var fence int64
	var from string
	b := n.batch()
	b.Queue(takeLease, name, n.id, n.cfg.TTL.Seconds()).QueryRow(func(row pgx.Row) error { return row.Scan(&fence, &from) })
	ctx, cancel := context.WithTimeout(ctx, n.period)
	defer cancel()
	sent := time.Now()
	err := n.pool.SendBatch(ctx, b).Close()
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil // another node was quicker
	}
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == lockNotAvailable {
		n.log.Debug("cluster: lease busy: its holder's fenced transaction is in progress", "lease", name)
		return false, nil
	}
	if err != nil {
		n.log.Warn("cluster: cannot take a lease", "lease", name, "err", err)
		return false, err
	}
	l := newLease(name, fence, n.id, kind, sent, n.cfg, n.m, n.poke)
	n.m.acquisitions.WithLabelValues(kind).Inc()
	if from != "" {
		n.m.failovers.WithLabelValues(kind).Inc()
	}
	e := &entry{partition: p, lease: l, takenAt: time.Now()}
	n.mu.Lock()
	n.entries[name] = e
	n.queue = append(n.queue, event{e: e, acquire: true})
	n.mu.Unlock()
	n.signalQueued()
	n.log.Info("cluster: lease taken", "lease", name, "fence", fence, "taken_from", from)
	return true, nil
}

// reap turns the leases that ended into Lost releases for the callbacks,
// and the leases whose release callback returned into releases for the
// database.
func (n *Node) reap() {
	n.mu.Lock()
	defer n.mu.Unlock()
	queued := false
	for name, e := range n.entries {
		switch {
		case e.state == stateHeld && !e.lease.Held():
			e.lease.end(endExpired) // closes Lost if only the deadline passed
			e.state, e.why = stateReleasing, Lost
			n.queue = append(n.queue, event{e: e})
			queued = true
			n.log.Warn("cluster: lease lost", "lease", name, "fence", e.lease.Fence)
		case e.state == stateDrained:
			e.lease.end(endReleased)
			n.releases = append(n.releases, pendingRelease{name: name, fence: e.lease.Fence, until: time.Now().Add(n.cfg.TTL)})
			delete(n.entries, name)
		}
	}
	if queued {
		n.signalQueued()
	}
}

// queueRelease queues the release of l in the database.
func (n *Node) queueRelease(l *Lease) {
	n.mu.Lock()
	n.releases = append(n.releases, pendingRelease{name: l.Name, fence: l.Fence, until: time.Now().Add(n.cfg.TTL)})
	n.mu.Unlock()
}

// flushReleases releases the leases given up, at once rather than at the
// next round, so that the node that needs them can take them sooner. A
// release that fails is tried again until the lease would have expired
// anyway.
func (n *Node) flushReleases(ctx context.Context) {
	n.mu.Lock()
	now := time.Now()
	n.releases = slices.DeleteFunc(n.releases, func(r pendingRelease) bool { return now.After(r.until) })
	rel := slices.Clone(n.releases)
	n.mu.Unlock()
	if len(rel) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, n.period)
	defer cancel()
	names, fences := releaseArgs(rel)
	b := n.batch()
	b.Queue(releaseLeases, n.id, names, fences)
	if err := n.pool.SendBatch(ctx, b).Close(); err != nil {
		n.log.Warn("cluster: cannot release leases; they expire by themselves", "leases", names, "err", err)
		return
	}
	n.mu.Lock()
	n.releases = n.releases[len(rel):]
	n.mu.Unlock()
	n.log.Info("cluster: leases released", "leases", names)
}

func (n *Node) startLeaving() {
	n.mu.Lock()
	n.leaving = true
	for _, e := range n.entries {
		if e.state == stateHeld {
			e.state, e.why = stateReleasing, Leaving
			n.queue = append(n.queue, event{e: e})
		}
	}
	n.mu.Unlock()
	n.signalQueued()
	n.log.Info("cluster: leaving the cluster")
}

// doneLeaving reports whether the node is leaving and has nothing left to
// give up.
func (n *Node) doneLeaving() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.leaving || len(n.entries) > 0 {
		return false
	}
	now := time.Now()
	n.releases = slices.DeleteFunc(n.releases, func(r pendingRelease) bool { return now.After(r.until) })
	return len(n.releases) == 0
}
