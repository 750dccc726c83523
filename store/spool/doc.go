// Package spool keeps readings durable on local disk while InfluxDB is down
// or slow, and replays them into it, in order, when it answers again; and
// keeps the readings InfluxDB refuses for good, as dead letters, until it
// takes them.
//
// # Spool
//
// A [Spool] is a directory of append-only segment files (16 MiB each by
// default, named by a growing sequence number) holding records:
//
//	uint32 length | uint32 CRC-32C (of length and payload) | payload
//
// The payload is one batch of readings in a compact binary form with a
// per-batch string table (about 20 bytes a reading). [Spool.Append]
// returns only once its record is fsynced; Appends that overlap share one
// fsync (group commit), so many writers cost about one disk flush per
// round, not one each. The spool is bounded: past MaxBytes (1 GiB by
// default) Append fails with [ErrFull].
//
// Replay goes through [Spool.Read] and [Spool.Commit]. The replay position
// is a small checkpoint file (segment and offset) replaced atomically:
// written to a temporary file, fsynced, renamed, and the directory fsynced.
// A segment is deleted once the checkpoint has passed it, so space comes
// back a segment at a time; when the spool drains completely the segment
// being written is retired too. The directory is locked (flock on its
// lock file) while a Spool has it open; a second Open fails with
// [ErrLocked].
//
// [Open] scans every segment and checks every CRC. A record cut short or
// failing its CRC at the end of the last segment is the torn tail of a
// crash in the middle of a write: those bytes were never reported durable,
// so their MQTT messages were never acknowledged and the broker delivers
// them again. Open cuts the tail off, logs it and counts it in
// yujing_spool_torn_bytes_total. Damage anywhere else is cut the same way
// but logged as an error, because those bytes had been acknowledged. A
// segment file left empty, or with part of its header, by a crash while it
// was being created gets its header back before anything is appended to
// it. A crash between a replayed write and its checkpoint replays that batch
// again; writing a reading twice to InfluxDB stores it once (same series
// and timestamp).
//
// # Buffered
//
// [Buffered] is the ingest sink in front of InfluxDB. While the spool is
// empty a batch goes straight to InfluxDB with a short timeout
// (WriteTimeout, 2 s); if that fails with a retryable error or times out,
// the batch is appended to the spool instead, Write returns nil and the
// MQTT message is acknowledged. While the spool holds anything, new
// batches are appended behind it, so readings reach InfluxDB in the order
// they came. A background goroutine replays the spool in batches of about
// ReplayBatch readings, backing off while InfluxDB fails. It logs once
// when an outage begins ("InfluxDB unreachable; spooling readings") and
// once when the spool is drained ("InfluxDB back; replayed the spooled
// readings", with the count and the time taken).
//
// When the spool is full Write returns the error: the subscriber stops
// acknowledging, and the broker holds the messages (its queue for the
// persistent session must be large enough). This is logged at most every
// 10 s, and yujing_spool_full is 1.
//
// A batch that InfluxDB refuses for good (a non-retryable error: a limit
// such as max-values-per-tag reached, a field type conflict, an invalid
// reading) is not retried in place, neither when written directly nor
// when replayed: retrying cannot succeed and would stop every reading
// behind it. Its readings were acknowledged, so they are not dropped
// either: they go to the dead letters (BufferedOptions.Refused says which
// readings and why), are counted in
// yujing_store_refused_readings_total{reason}, and the pipeline moves on.
// The refusal is logged at most once a minute per reason, with the
// sensors and what to do.
//
// # Dead letters
//
// [DeadLetters] are a Spool of their own in the spool's deadletter
// directory, opened and closed with it: each record is one refused batch
// with the time of its first refusal, the reason, the store's answer and
// how many replays it refused since. They are bounded
// (Options.DeadLetterMaxBytes, 1 GiB by default). When a refusal does not
// fit, Write returns the error, as when the spool is full: nothing is
// dropped, the subscriber stops acknowledging and the broker holds the
// messages, yujing_store_dead_letter_full is 1 and an error is logged at
// most every 10 s. yujing_store_dead_letter_readings says how many
// readings are held.
//
// The dead letters are offered to the store again at start and every
// DeadLetterRetry (5 min by default) while the spool is empty, until the
// first one it refuses again, which moves to the end; once the cause is
// fixed, they go in without anyone's help. [DeadLetters.Replay] replays
// them all (the yujing deadletter command, with yujing stopped: the
// directory is locked while open), [DeadLetters.Drop] removes them on an
// operator's word, and [ScanDeadLetters] lists them without a lock.
//
// InfluxDB 1.8 answers a request of which it dropped some points (a
// partial write) with 400, naming the first point dropped and how many;
// it cannot say which. So the whole request is kept: replaying a point
// InfluxDB already has stores it once (same series and time).
package spool
