// Package sqlite is the embedded reading store that yujing uses when no
// InfluxDB is configured, on one node. (The state database, embedded
// SQLite by default or PostgreSQL shared by several nodes, is package
// store/sqlstate; OpenState here opens it on SQLite.)
//
// [Readings] holds every measured value in its own file, apart from the
// state database on purpose: it takes the heavy, steady write load of
// ingest, so it commits with synchronous=NORMAL (a commit in WAL mode
// reaches the operating system at once and the disk at the next
// checkpoint; a crash of yujing loses nothing, a power cut can lose the
// last moments, which the broker's QoS 1 redelivery covers), and a large
// batch of readings never holds the write lock that an alert transition is
// waiting for.
//
// The file is opened in WAL mode with one writer connection (SQLite allows
// one writer at a time; one connection makes that explicit and lets writes
// queue in Go instead of spinning on SQLITE_BUSY) and a small read-only
// pool, so queries from the console never wait behind a write.
// Transactions on the writer begin IMMEDIATE.
//
// The schema is versioned: a schema_migrations table records every
// migration applied, and opening a file applies only the migrations it has
// not seen, each in its own transaction. A file written by a newer build
// (a version this build does not know) is refused rather than guessed at.
//
// Times are stored as INTEGER Unix nanoseconds (UTC) and returned in UTC, so
// the representable range is 1677-09-21 to 2262-04-11.
package sqlite
