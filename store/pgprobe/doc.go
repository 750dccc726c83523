// Package pgprobe is a feasibility probe, not product code: its tests run
// the PostgreSQL features the cluster of issue 16 needs, and the SQL
// constructs where PostgreSQL 15 and the embedded SQLite store differ,
// against a real PostgreSQL server (internal/testenv.StartPostgres), so
// that docs/STORE-SURVEY.md states only what was seen to work or fail.
//
// It has no non-test code. Delete it once the PostgreSQL store and its
// conformance suite cover the same ground.
package pgprobe
