package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The statements on nodes.
const (
	// heartbeat registers the node or renews its heartbeat: live until
	// now + $4 seconds (its ttl) on the database's clock.
	heartbeat = `INSERT INTO nodes (id, hostname, partitions, expires_at, config_hash)
	VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5)
	ON CONFLICT (id) DO UPDATE SET heartbeat = now(), expires_at = excluded.expires_at`

	// liveNodes lists the nodes whose heartbeat has not expired.
	liveNodes = `SELECT id, partitions FROM nodes WHERE expires_at > now()`

	// nodeInfo is LiveNodes' query.
	nodeInfo = `SELECT id, hostname, partitions, started_at, heartbeat, config_hash, reload_at, reload_error
	FROM nodes WHERE expires_at > now()`

	reportReload = `UPDATE nodes SET config_hash = $2, reload_at = now(), reload_error = $3 WHERE id = $1`

	leaveNodes = `DELETE FROM nodes WHERE id = $1`

	// forgetNodes deletes the rows of nodes dead for longer than
	// nodeRetention (the leader runs it).
	forgetNodes = `DELETE FROM nodes WHERE expires_at < now() - make_interval(secs => $1)`
)

// nodeRetention is how long the row of a node that died (rather than left)
// is kept, for the operator to see.
const nodeRetention = 24 * time.Hour

// NodeInfo is a node's row in nodes.
type NodeInfo struct {
	ID         string
	Hostname   string
	Partitions int
	StartedAt  time.Time
	Heartbeat  time.Time // its last heartbeat, the database's clock
	ConfigHash string
	// ReloadAt is the time of its last reload (zero before the first) and
	// ReloadError that reload's error ("" when it succeeded).
	ReloadAt    time.Time
	ReloadError string
}

// newNodeID returns <hostname>/<16 random hex digits>: a new id at every
// start, so that a restarted node never inherits its previous life's
// leases or fences.
func newNodeID(hostname string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("cluster: node id: %w", err)
	}
	return hostname + "/" + hex.EncodeToString(b[:]), nil
}

// defaultHostname returns os.Hostname(), or "node" when it has none.
func defaultHostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "node"
	}
	return h
}

// queryer is what the registry's reads need of a pool.
type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// LiveNodes returns the nodes whose heartbeat has not expired, by the
// database's clock, ordered by id (byte order).
func (n *Node) LiveNodes(ctx context.Context) ([]NodeInfo, error) {
	return readLiveNodes(ctx, n.pool)
}

func readLiveNodes(ctx context.Context, q queryer) ([]NodeInfo, error) {
	rows, err := q.Query(ctx, nodeInfo)
	if err != nil {
		return nil, fmt.Errorf("cluster: live nodes: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (NodeInfo, error) {
		var ni NodeInfo
		var reloadAt *time.Time
		err := r.Scan(&ni.ID, &ni.Hostname, &ni.Partitions, &ni.StartedAt, &ni.Heartbeat, &ni.ConfigHash, &reloadAt, &ni.ReloadError)
		if reloadAt != nil {
			ni.ReloadAt = *reloadAt
		}
		return ni, err
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: live nodes: %w", err)
	}
	slices.SortFunc(out, func(a, b NodeInfo) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// ReportReload records the outcome of this node's last configuration
// reload: the hash of the configuration it now runs and the reload's error
// (nil when it succeeded). The error's text is stored and shown to other
// nodes and operators: it must hold no secret.
func (n *Node) ReportReload(ctx context.Context, configHash string, reloadErr error) error {
	msg := ""
	if reloadErr != nil {
		msg = reloadErr.Error()
	}
	tag, err := n.pool.Exec(ctx, reportReload, n.id, configHash, msg)
	if err != nil {
		return fmt.Errorf("cluster: node %s: report reload: %w", n.id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("cluster: node %s: report reload: the node is not registered", n.id)
	}
	n.mu.Lock()
	n.configHash = configHash
	n.mu.Unlock()
	return nil
}
