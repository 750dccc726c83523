// Package cluster coordinates several yujing nodes that share one
// PostgreSQL database (docs/CLUSTER.md). The nodes meet only there: there is
// no protocol of yujing's own.
//
//   - Node registry: every node keeps a row in nodes (its id, host, start,
//     heartbeat, configuration hash and last reload result); LiveNodes
//     lists the nodes whose heartbeat has not expired.
//   - Leases with fencing: a row in leases(name, holder, fence, expires_at),
//     taken and renewed with the database's clock; the fence grows at every
//     take. A node also keeps its own deadline on its monotonic clock and
//     stops treating a lease as held when it passes, before the database
//     lets another node take it, whether or not it can reach the database.
//     Fenced is the check that a transaction writing on behalf of a lease
//     runs first; it refuses with ErrFenced once the lease is gone.
//   - Partitions: the sites are split into Config.Partitions partitions
//     (Partition), each a lease partition/<n>. Each node aims for its share
//     of the live nodes, releases its surplus gracefully and takes free or
//     expired partitions; the leader lease is taken by whichever node finds
//     it free. Callbacks announce each take and release, in order, from one
//     goroutine.
//   - Bus: Publish and Subscribe over LISTEN/NOTIFY; a subscription listens
//     again after its connection dies and says so, because what was
//     notified meanwhile is lost.
//   - Migrations: the tables as versioned SQL (Migrations), applied by
//     Migrate under an advisory lock so that nodes starting together apply
//     each version once.
//
// The package imports only the standard library, pgx and the Prometheus
// client, so that the rest of yujing can use it without a cycle.
package cluster
