package spool

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"yujing"
)

// Defaults for Options fields left at zero.
const (
	DefaultSegmentBytes = 16 << 20
	DefaultMaxBytes     = 1 << 30
)

// MaxRecordBytes bounds one encoded batch; a larger length field on disk
// is taken for a torn write.
const MaxRecordBytes = 64 << 20

const (
	segmentMagic   = "yjspool1" // first bytes of every segment file
	headerSize     = int64(len(segmentMagic))
	recordHeader   = 8 // uint32 length, uint32 CRC-32C, little endian
	segmentExt     = ".seg"
	checkpointName = "checkpoint"
	checkpointTemp = "checkpoint.tmp"
	checkpointSize = 8 + 8 + 4 // segment, offset, CRC-32C
	lockName       = "lock"
	deadLetterDir  = "deadletter"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrFull is returned by Append when the spool holds MaxBytes already.
var ErrFull = errors.New("spool full")

// ErrClosed is returned by calls on a closed spool.
var ErrClosed = errors.New("spool closed")

// ErrLocked is returned by Open when another Spool, in this process or
// another (a running yujing serve), has the directory open.
var ErrLocked = errors.New("spool directory in use")

// Options configure a Spool.
type Options struct {
	// SegmentBytes is the size at which a segment file is closed and the
	// next one begun (default DefaultSegmentBytes). A record is never split,
	// so a segment can be larger by one record.
	SegmentBytes int64
	// MaxBytes bounds the segment files' total size (default
	// DefaultMaxBytes). Space is given back a whole segment at a time, as
	// soon as every record in it has been replayed.
	MaxBytes int64
	// DeadLetterMaxBytes bounds the dead letters (<dir>/deadletter):
	// readings the store refused for good, kept for replay (default
	// DefaultMaxBytes).
	DeadLetterMaxBytes int64
	// Logger reports what Open found and dropped; nothing if nil.
	Logger *slog.Logger
	// Registerer takes the yujing_spool_* metrics; none if nil.
	Registerer prometheus.Registerer
}

// Recovery is what Open found in the directory.
type Recovery struct {
	Segments  int   // segment files kept
	Records   int   // intact records not yet replayed
	Readings  int   // readings in those records
	TornBytes int64 // bytes cut off: a torn tail, or anything after a bad record
	// Corrupt is true when bytes were cut off before the last segment's
	// tail: those had been made durable, so the disk or another program
	// damaged them.
	Corrupt bool
}

// position is a byte offset in a segment file.
type position struct {
	seg uint64
	off int64
}

func (p position) before(q position) bool {
	return p.seg < q.seg || (p.seg == q.seg && p.off < q.off)
}

func (p position) String() string { return fmt.Sprintf("%d:%d", p.seg, p.off) }

type segment struct {
	seq  uint64
	size int64
}

// Spool is a durable, bounded, append-only queue of reading batches in a
// directory. Append is safe for concurrent use; Read and Commit belong to
// one consumer.
type Spool struct {
	dir      string
	segBytes int64
	maxBytes int64
	log      *slog.Logger
	m        *metrics
	recovery Recovery
	lock     *os.File     // holds the directory's lock while open
	dead     *DeadLetters // <dir>/deadletter; nil in a dead-letter spool

	// Tests and benchmarks only.
	noSync     bool         // measure what durability costs
	beforeSync func()       // called by an Append leading a group sync
	syncs      atomic.Int64 // group syncs led by Appends

	mu      sync.Mutex
	cond    *sync.Cond // signalled when a sync ends
	segs    []segment  // live segments, oldest first; the last is written to
	w       *os.File   // the last segment
	written position   // end of the last record written
	synced  position   // end of the last record known to be on disk
	syncing bool       // a goroutine is in w.Sync
	read    position   // the durable replay position (the checkpoint)
	bytes   int64      // sum of segs' sizes
	err     error      // a failed write or sync: the spool takes no more
	full    bool       // the last Append found no room
	closed  bool

	rmu   sync.Mutex // the consumer's read handle
	rf    *os.File
	rfSeq uint64
}

// Open opens the spool in dir, creating it if needed, and its dead
// letters in dir/deadletter. It checks every record's CRC, cuts off a torn
// tail (a crash in the middle of a write: those bytes were never reported
// durable) and resumes replay at the checkpoint. The directory is locked
// while the spool is open: a second Open fails with ErrLocked.
func Open(dir string, o Options) (*Spool, error) {
	s, err := openSpool(dir, o)
	if err != nil {
		return nil, err
	}
	s.dead, err = openDeadLetters(DeadLetterDir(dir), Options{SegmentBytes: o.SegmentBytes, MaxBytes: o.DeadLetterMaxBytes,
		Logger: o.Logger, Registerer: o.Registerer})
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// DeadLetterDir is where the spool in dir keeps its dead letters.
func DeadLetterDir(dir string) string { return filepath.Join(dir, deadLetterDir) }

// openSpool opens the records in dir, without dead letters.
func openSpool(dir string, o Options) (*Spool, error) {
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = DefaultSegmentBytes
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{dir: dir, segBytes: o.SegmentBytes, maxBytes: o.MaxBytes, log: o.Logger}
	s.cond = sync.NewCond(&s.mu)
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	if err := s.recover(); err != nil {
		s.closeFiles()
		return nil, err
	}
	s.m = newMetrics(o.Registerer)
	s.m.tornBytes.Add(float64(s.recovery.TornBytes))
	s.m.update(s)
	return s, nil
}

// Dir returns the spool's directory.
func (s *Spool) Dir() string { return s.dir }

// DeadLetters returns the spool's dead letters: readings the store
// refused for good, kept for replay.
func (s *Spool) DeadLetters() *DeadLetters { return s.dead }

// Recovery returns what Open found.
func (s *Spool) Recovery() Recovery { return s.recovery }

func (s *Spool) segPath(seq uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d%s", seq, segmentExt))
}

// waitSyncIdle waits until no goroutine is in w.Sync. Caller holds mu.
func (s *Spool) waitSyncIdle() {
	for s.syncing {
		s.cond.Wait()
	}
}

// rotate closes the written segment, synced, and starts the next. Caller
// holds mu.
func (s *Spool) rotate() error {
	s.waitSyncIdle()
	if s.synced.before(s.written) && !s.noSync {
		if err := s.w.Sync(); err != nil {
			s.err = fmt.Errorf("spool: sync: %w", err)
			s.cond.Broadcast()
			return s.err
		}
	}
	s.synced = s.written
	s.cond.Broadcast()
	if err := s.createSegment(s.written.seg + 1); err != nil {
		s.err = err
		return err
	}
	return nil
}

// Append writes rs as one record and returns once it is on disk (fsynced).
// Appends that overlap share one fsync. It returns an error matching
// ErrFull when the record does not fit in MaxBytes. ctx is checked before
// writing; once written, Append waits for the fsync.
func (s *Spool) Append(ctx context.Context, rs []yujing.Reading) error {
	if len(rs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rec := encodeBatch(make([]byte, recordHeader, recordHeader+24*len(rs)+64), rs)
	return s.appendRecord(ctx, rec, len(rs))
}

// appendRecord is Append of rec, a payload of readings readings after
// recordHeader reserved bytes.
func (s *Spool) appendRecord(ctx context.Context, rec []byte, readings int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	seal(rec)
	n := int64(len(rec))
	if n-recordHeader > MaxRecordBytes {
		return fmt.Errorf("spool: batch of %d readings is %d bytes, more than %d", readings, n, MaxRecordBytes)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var rotate bool
	for {
		switch {
		case s.closed:
			return ErrClosed
		case s.err != nil:
			return s.err
		}
		rotate = s.written.off > headerSize && s.written.off+n > s.segBytes
		if !rotate || !s.syncing {
			break
		}
		// The segment is closed only once its sync is done; others may
		// write meanwhile, so decide again afterwards.
		s.cond.Wait()
	}
	need := n
	if rotate {
		need += headerSize
	}
	if s.bytes+need > s.maxBytes {
		s.full = true
		s.m.full.Set(1)
		return fmt.Errorf("%w: %d of %d bytes used, %d more needed", ErrFull, s.bytes, s.maxBytes, need)
	}
	if rotate {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	off := s.written.off
	if _, err := s.w.WriteAt(rec, off); err != nil {
		if terr := s.w.Truncate(off); terr != nil {
			s.err = fmt.Errorf("spool: write failed (%v) and cutting it off failed: %w", err, terr)
		}
		return fmt.Errorf("spool: write: %w", err)
	}
	s.written.off += n
	s.segs[len(s.segs)-1].size += n
	s.bytes += n
	mine := s.written
	s.full = false
	s.m.full.Set(0)
	s.m.appended.Add(float64(readings))
	s.m.update(s)
	for s.synced.before(mine) {
		if s.err != nil {
			return s.err
		}
		if s.syncing {
			s.cond.Wait()
			continue
		}
		// Lead: sync everything written so far, for every waiting Append.
		s.syncing = true
		target, f := s.written, s.w
		s.mu.Unlock()
		if s.beforeSync != nil {
			s.beforeSync()
		}
		s.syncs.Add(1)
		var err error
		if !s.noSync {
			err = f.Sync()
		}
		s.mu.Lock()
		s.syncing = false
		if err != nil {
			s.err = fmt.Errorf("spool: sync: %w", err)
		} else if s.synced.before(target) {
			s.synced = target
		}
		s.cond.Broadcast()
	}
	return nil
}

// normalize moves p past the end of a finished segment to the start of
// the next. Caller holds mu.
func (s *Spool) normalize(p position) position {
	for i, sg := range s.segs {
		if sg.seq == p.seg && p.off >= sg.size && i < len(s.segs)-1 {
			p = position{s.segs[i+1].seq, headerSize}
		}
	}
	return p
}

// Empty reports whether every appended record has been committed.
func (s *Spool) Empty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.normalize(s.read).before(s.written)
}

// Stats is the spool's size.
type Stats struct {
	Bytes    int64 // segment files on disk
	Segments int
	Full     bool // the last Append failed with ErrFull
}

// Stats returns the spool's size now.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Bytes: s.bytes, Segments: len(s.segs), Full: s.full}
}

// Close syncs what was written and closes the files, the dead letters'
// too, and unlocks the directory. Appends waiting for a sync finish
// first. Safe to call twice.
func (s *Spool) Close() error {
	var derr error
	if s.dead != nil {
		derr = s.dead.Close()
	}
	if err := s.close(); err != nil {
		return err
	}
	return derr
}

func (s *Spool) close() error {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.waitSyncIdle()
	var err error
	if s.err == nil && s.synced.before(s.written) {
		if err = s.w.Sync(); err != nil {
			err = fmt.Errorf("spool: sync: %w", err)
			s.err = err
		} else {
			s.synced = s.written
		}
	}
	s.cond.Broadcast()
	s.closeFiles()
	return err
}

func (s *Spool) closeFiles() {
	if s.w != nil {
		s.w.Close()
	}
	s.closeReader()
	if s.lock != nil {
		s.lock.Close() // releases the lock
		s.lock = nil
	}
}
