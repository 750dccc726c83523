// Package sqlstate is yujing's state database: warnings (alerts) and
// their history, escalations, calls (the outbox) and receipts, silences,
// attachments, users, sessions, API tokens, the audit log, the directory
// and rosters, sensors saved through the API, sites' production statuses,
// and facts about the database itself (its instance id, the answer-link
// key).
//
// One SQL layer, two databases. The same code and the same statements run
// on the embedded SQLite file (the default: one node, nothing to install)
// and on PostgreSQL 15 or later (several nodes sharing one database: a
// cluster, docs/CLUSTER.md). Open chooses by what it is given: a
// postgres:// URL or a file's path. Statements are written once with ?
// placeholders in forms both accept with the same meaning; the dialect
// (store/internal/sqldb) rebinds them for PostgreSQL and says the few
// things that differ: snapshot reads (REPEATABLE READ on PostgreSQL),
// transaction locks (advisory locks on PostgreSQL; SQLite's one writer
// needs none), a substring test, the database's clock. The schema is one
// versioned migration list per dialect (stateMigrations for SQLite,
// postgresMigrations for PostgreSQL, whose comment lists what differs),
// applied at open, each version once however many processes or nodes
// open the database at once. One conformance suite (TestConformance) holds
// both to the same behaviour.
//
// On SQLite the file is opened in WAL mode with one writer connection,
// transactions BEGIN IMMEDIATE, and a small read-only pool; every commit
// is fsynced (synchronous=FULL), so a change is on disk when a call
// returns. The writes of a burst (alert transitions, calls recorded and
// marked, escalations, answers) go through sqldb.DB.Write: those that
// arrive while a commit is in flight share the next transaction, each in
// a savepoint of its own, so one fsync serves them all and one failing
// fails only its own caller; a write alone is made at once. Their
// statements are prepared once at open (hotWrites). On PostgreSQL one
// pool serves both, each write its own transaction, and its defaults
// (fsync, synchronous_commit on) give the same promise.
//
// What SQLite's single writer kept for free, several nodes on PostgreSQL
// must be told: the invariants over several rows (the first user, the
// last enabled admin, the audit chain) take a transaction lock before
// they read (sqldb.Tx.Lock: an advisory lock on PostgreSQL, nothing on
// SQLite); an answer is recorded by a conditional update, so the first
// wins. The conformance suite races several States on one database for
// each (nodes_test.go).
//
// Times are stored as Unix nanoseconds (UTC) and returned in UTC, so the
// representable range is 1677-09-21 to 2262-04-11. A zero time.Time is
// stored as NULL and read back as the zero time. Text is cleaned on its
// way in (invalid UTF-8 and NUL become U+FFFD; sqldb.CleanText), so that
// both databases keep the same.
package sqlstate
