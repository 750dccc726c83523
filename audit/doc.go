// Package audit is yujing's append-only record of every action taken through
// it: who did what, to which object, when, and from where. Accident
// investigations (责任倒查) rely on it, so the record must show when it has
// been tampered with.
//
// Entries form a hash chain. Each [Entry] carries the hash of the entry
// before it (PrevHash; the first entry's is [GenesisHash], 64 zeros) and its
// own Hash: SHA-256 over an unambiguous encoding of its sequence number,
// time, actor, action, object, detail, origin and PrevHash (see [Entry.Sum]).
// A [Store] assigns Seq, PrevHash and Hash when it appends, one writer at a
// time, so the chain is linear. [Verify] recomputes every hash and link and
// checks that no sequence number is missing: a row changed, deleted or
// inserted in the database is found and named.
//
// What a chain cannot show on its own: the newest entries deleted from the
// end, or the whole chain rewritten from some entry on by someone who
// recomputes every later hash. Keeping the last hash that Verify reports
// somewhere else (the duty log, a daily e-mail) closes both gaps: the chain
// must still lead to that hash.
//
// This package holds the vocabulary, the hashing and verification, and
// export to CSV and JSON; it imports only the standard library. The
// implementation of [Store] lives in store/sqlstate (on SQLite or
// PostgreSQL); web records HTTP actions and serves the log.
package audit
