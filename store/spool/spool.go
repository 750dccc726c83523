package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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

// recover scans the directory: segments, checkpoint, torn tails.
func (s *Spool) recover() error {
	_ = os.Remove(filepath.Join(s.dir, checkpointTemp))
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	var seqs []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), segmentExt)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		seq, err := strconv.ParseUint(name, 10, 64)
		if err != nil || seq == 0 {
			continue
		}
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)

	ckpt, ok, err := s.loadCheckpoint()
	if err != nil {
		return err
	}
	if !ok && len(seqs) > 0 {
		ckpt = position{seqs[0], headerSize}
	}
	// Segments before the checkpoint were replayed; a crash stopped their
	// deletion.
	removed := false
	for len(seqs) > 0 && seqs[0] < ckpt.seg {
		if err := os.Remove(s.segPath(seqs[0])); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		seqs, removed = seqs[1:], true
	}
	if len(seqs) > 0 && seqs[0] > ckpt.seg {
		ckpt = position{seqs[0], headerSize}
	}

	for i, seq := range seqs {
		last := i == len(seqs)-1
		var bounds []int64
		if seq == ckpt.seg {
			bounds = []int64{}
		}
		size, torn, err := s.scan(seq, last, &bounds)
		if err != nil {
			return err
		}
		s.segs = append(s.segs, segment{seq, size})
		s.bytes += size
		if torn > 0 {
			s.recovery.TornBytes += torn
			if !last {
				s.recovery.Corrupt = true
			}
		}
		if bounds != nil {
			// Replay resumes at a record boundary: the checkpoint's, or the
			// closest before it (replaying twice is harmless; skipping is not).
			at := headerSize
			for _, b := range bounds {
				if b <= ckpt.off {
					at = b
				}
			}
			if at != ckpt.off {
				s.log.Warn("spool checkpoint is not at a record boundary; replaying from the one before", "checkpoint", ckpt, "from", at)
				ckpt.off = at
			}
		}
	}
	if len(s.segs) == 0 {
		seq := max(ckpt.seg, 1)
		if err := s.createSegment(seq); err != nil {
			return err
		}
		ckpt = position{seq, headerSize}
	} else {
		last := s.segs[len(s.segs)-1]
		f, err := os.OpenFile(s.segPath(last.seq), os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		s.w = f
		s.written = position{last.seq, last.size}
	}
	s.synced = s.written
	s.read = s.normalize(ckpt)
	if removed {
		if err := syncDir(s.dir); err != nil {
			return err
		}
	}
	s.recovery.Segments = len(s.segs)
	if err := s.countPending(); err != nil {
		return err
	}
	r := s.recovery
	switch {
	case r.Corrupt:
		s.log.Error("spool damaged: dropped bytes that had been reported durable", "dir", s.dir, "dropped_bytes", r.TornBytes,
			"records", r.Records, "readings", r.Readings)
	case r.TornBytes > 0:
		s.log.Warn("spool had a torn tail from a crash; cut it off (never acknowledged, the broker still holds it)",
			"dir", s.dir, "dropped_bytes", r.TornBytes, "records", r.Records, "readings", r.Readings)
	case r.Records > 0:
		s.log.Info("spool holds readings to replay", "dir", s.dir, "records", r.Records, "readings", r.Readings, "segments", r.Segments)
	}
	return nil
}

// scan checks segment seq record by record and cuts it after the last
// good one. It returns the segment's size and the bytes cut. When bounds
// is not nil it receives every record boundary.
func (s *Spool) scan(seq uint64, last bool, bounds *[]int64) (size, torn int64, err error) {
	path := s.segPath(seq)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("spool: %w", err)
	}
	end := fi.Size()
	good := int64(0)
	hdr := make([]byte, headerSize)
	if _, err := f.ReadAt(hdr, 0); err == nil && string(hdr) == segmentMagic {
		good = headerSize
		r := &reader{f: f}
		for {
			if bounds != nil && *bounds != nil {
				*bounds = append(*bounds, good)
			}
			n, err := r.next(good, end)
			if err != nil {
				break
			}
			good += n
		}
	}
	if good == end && good > 0 {
		return end, 0, nil
	}
	torn = end - good
	if good == 0 {
		// No valid header, not even an empty file's: the crash came while
		// the segment was created. Without its header, the records
		// appended next would sit where the header belongs and be cut off
		// as damage at the next start.
		torn = end
		if err := f.Truncate(0); err != nil {
			return 0, 0, fmt.Errorf("spool: %w", err)
		}
		if _, err := f.WriteAt([]byte(segmentMagic), 0); err != nil {
			return 0, 0, fmt.Errorf("spool: %w", err)
		}
		good = headerSize
		if bounds != nil && *bounds != nil {
			*bounds = append(*bounds, good)
		}
	} else if err := f.Truncate(good); err != nil {
		return 0, 0, fmt.Errorf("spool: %w", err)
	}
	if err := f.Sync(); err != nil {
		return 0, 0, fmt.Errorf("spool: %w", err)
	}
	if !last && torn > 0 {
		s.log.Error("spool segment damaged before its end; cut it at the last good record", "segment", path, "at", good, "dropped_bytes", torn)
	}
	return good, torn, nil
}

// countPending fills recovery with the records after the read position.
func (s *Spool) countPending() error {
	pos := s.read
	for pos.before(s.written) {
		p, next, err := s.readAt(pos, s.written)
		if err != nil {
			return err
		}
		if p != nil {
			s.recovery.Records++
			s.recovery.Readings += payloadCount(p)
		}
		pos = next
	}
	s.closeReader()
	return nil
}

// reader reads records from one segment file.
type reader struct {
	f   *os.File
	hdr [recordHeader]byte
	buf []byte
}

var errTorn = errors.New("spool: torn or corrupt record")

// next reads the record at off, below end, into r.buf and returns its
// length on disk.
func (r *reader) next(off, end int64) (int64, error) {
	if end-off < recordHeader {
		return 0, errTorn
	}
	if _, err := r.f.ReadAt(r.hdr[:], off); err != nil {
		return 0, fmt.Errorf("spool: %w", err)
	}
	n := int64(binary.LittleEndian.Uint32(r.hdr[0:4]))
	sum := binary.LittleEndian.Uint32(r.hdr[4:8])
	if n == 0 || n > MaxRecordBytes || n > end-off-recordHeader {
		return 0, errTorn
	}
	r.buf = slices.Grow(r.buf[:0], int(n))[:n]
	if _, err := r.f.ReadAt(r.buf, off+recordHeader); err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("spool: %w", err)
	}
	crc := crc32.Update(crc32.Checksum(r.hdr[0:4], castagnoli), castagnoli, r.buf)
	if crc != sum {
		return 0, errTorn
	}
	return recordHeader + n, nil
}

// seal fills in the header of rec, a record whose payload follows
// recordHeader reserved bytes.
func seal(rec []byte) {
	binary.LittleEndian.PutUint32(rec[0:4], uint32(len(rec)-recordHeader))
	crc := crc32.Update(crc32.Checksum(rec[0:4], castagnoli), castagnoli, rec[recordHeader:])
	binary.LittleEndian.PutUint32(rec[4:8], crc)
}

// loadCheckpoint reads the replay position; ok is false when there is
// none (or it is damaged, when replay starts at the oldest segment).
func (s *Spool) loadCheckpoint() (position, bool, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, checkpointName))
	if errors.Is(err, os.ErrNotExist) {
		return position{}, false, nil
	}
	if err != nil {
		return position{}, false, fmt.Errorf("spool: %w", err)
	}
	if len(b) != checkpointSize || crc32.Checksum(b[:16], castagnoli) != binary.LittleEndian.Uint32(b[16:]) {
		s.log.Warn("spool checkpoint damaged; replaying from the oldest segment", "dir", s.dir)
		return position{}, false, nil
	}
	p := position{binary.LittleEndian.Uint64(b[0:8]), int64(binary.LittleEndian.Uint64(b[8:16]))}
	return p, true, nil
}

// storeCheckpoint makes p the durable replay position: write a temporary
// file, sync it, rename it over the checkpoint, sync the directory.
func (s *Spool) storeCheckpoint(p position) error {
	b := make([]byte, 0, checkpointSize)
	b = binary.LittleEndian.AppendUint64(b, p.seg)
	b = binary.LittleEndian.AppendUint64(b, uint64(p.off))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	tmp := filepath.Join(s.dir, checkpointTemp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("spool: checkpoint: %w", err)
	}
	_, err = f.Write(b)
	if err == nil && !s.noSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.dir, checkpointName))
	}
	if err == nil && !s.noSync {
		err = syncDir(s.dir)
	}
	if err != nil {
		return fmt.Errorf("spool: checkpoint: %w", err)
	}
	return nil
}

// createSegment makes segment seq the one written to. The caller holds mu
// (or is Open) and has synced the previous segment.
func (s *Spool) createSegment(seq uint64) error {
	f, err := os.OpenFile(s.segPath(seq), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	_, err = f.Write([]byte(segmentMagic))
	if err == nil && !s.noSync {
		err = f.Sync()
	}
	if err == nil && !s.noSync {
		err = syncDir(s.dir)
	}
	if err != nil {
		f.Close()
		_ = os.Remove(s.segPath(seq))
		return fmt.Errorf("spool: new segment: %w", err)
	}
	if s.w != nil {
		s.w.Close()
	}
	s.w = f
	s.segs = append(s.segs, segment{seq, headerSize})
	s.bytes += headerSize
	s.written = position{seq, headerSize}
	s.synced = s.written
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool: sync %s: %w", dir, err)
	}
	return nil
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

// Batch is records read from the spool, oldest first.
type Batch struct {
	Readings []yujing.Reading
	Records  int
	end      position
}

// Read returns the oldest records not yet committed, at least one and as
// many more as keep the batch within max readings, or an empty Batch when
// there is nothing on disk to replay. It does not consume them: Commit
// does. Read and Commit must not be called concurrently.
func (s *Spool) Read(max int) (Batch, error) {
	var b Batch
	end, n, err := s.readRecords(position{}, max, func(p []byte) error {
		var err error
		b.Readings, err = decodeBatch(b.Readings, p)
		return err
	})
	if err != nil {
		return Batch{}, err
	}
	b.Records, b.end = n, end
	return b, nil
}

// tail returns the end of what is on disk: records before it can be read.
func (s *Spool) tail() position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.synced
}

// readRecords hands fn the payloads of the oldest records not yet
// committed and before limit (the zero position: everything on disk), at
// least one and as many more as keep them within max readings. It
// returns the position after the last and how many there were. The
// payload is valid during the call only.
func (s *Spool) readRecords(limit position, max int, fn func(p []byte) error) (position, int, error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return position{}, 0, ErrClosed
	}
	pos := s.normalize(s.read)
	if limit == (position{}) || s.synced.before(limit) {
		limit = s.synced
	}
	s.mu.Unlock()
	records, readings := 0, 0
	for pos.before(limit) {
		p, next, err := s.readAt(pos, limit)
		if err != nil {
			return position{}, 0, err
		}
		if p != nil {
			n := payloadCount(p)
			if records > 0 && readings+n > max {
				break
			}
			if err := fn(p); err != nil {
				return position{}, 0, fmt.Errorf("spool: record at %s: %w", pos, err)
			}
			records++
			readings += n
		}
		pos = next
	}
	return pos, records, nil
}

// readAt returns the payload of the record at pos and the position after
// it; at the end of a finished segment, a nil payload and the start of the
// next segment. The payload is valid until the next call.
func (s *Spool) readAt(pos, limit position) ([]byte, position, error) {
	s.mu.Lock()
	size := int64(-1)
	var next uint64
	for i, sg := range s.segs {
		if sg.seq == pos.seg {
			size = sg.size
			if i+1 < len(s.segs) {
				next = s.segs[i+1].seq
			}
		}
	}
	s.mu.Unlock()
	if size < 0 {
		return nil, pos, fmt.Errorf("spool: segment %d is gone", pos.seg)
	}
	if pos.seg == limit.seg {
		size = limit.off
	}
	if pos.off >= size {
		if next == 0 {
			return nil, pos, fmt.Errorf("spool: read past the end at %s", pos)
		}
		return nil, position{next, headerSize}, nil
	}
	if s.rf == nil || s.rfSeq != pos.seg {
		s.closeReader()
		f, err := os.Open(s.segPath(pos.seg))
		if err != nil {
			return nil, pos, fmt.Errorf("spool: %w", err)
		}
		s.rf, s.rfSeq = f, pos.seg
	}
	r := reader{f: s.rf}
	n, err := r.next(pos.off, size)
	if err != nil {
		return nil, pos, fmt.Errorf("spool: record at %s: %w", pos, err)
	}
	return r.buf, position{pos.seg, pos.off + n}, nil
}

func (s *Spool) closeReader() {
	if s.rf != nil {
		s.rf.Close()
		s.rf = nil
	}
}

// Commit marks the records of b as replayed: the checkpoint moves past
// them durably and segments no longer needed are deleted. When the spool
// is then empty, the segment being written is retired too, so an empty
// spool holds one fresh segment.
func (s *Spool) Commit(b Batch) error {
	return s.commit(b.end, b.Records, len(b.Readings))
}

// commit is Commit of the records before end.
func (s *Spool) commit(end position, records, readings int) error {
	if records == 0 {
		return nil
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	end = s.normalize(end)
	if end.before(s.read) {
		s.mu.Unlock()
		return fmt.Errorf("spool: commit at %s is before the checkpoint %s", end, s.read)
	}
	s.waitSyncIdle() // Appends may write meanwhile: look at written after it
	if end == s.written && end.off > headerSize && s.err == nil {
		// Drained: start a fresh segment so the old one can go.
		if err := s.rotate(); err == nil {
			end = position{s.written.seg, headerSize}
		}
	}
	s.mu.Unlock()

	if err := s.storeCheckpoint(end); err != nil {
		return err
	}

	s.mu.Lock()
	s.read = end
	var gone []uint64
	for len(s.segs) > 1 && s.segs[0].seq < end.seg {
		gone = append(gone, s.segs[0].seq)
		s.bytes -= s.segs[0].size
		s.segs = s.segs[1:]
	}
	if len(gone) > 0 {
		s.full = false
		s.m.full.Set(0)
	}
	s.m.replayed.Add(float64(readings))
	s.m.update(s)
	s.mu.Unlock()

	for _, seq := range gone {
		if s.rf != nil && s.rfSeq == seq {
			s.closeReader()
		}
		if err := os.Remove(s.segPath(seq)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spool: %w", err)
		}
	}
	if len(gone) > 0 && !s.noSync {
		return syncDir(s.dir)
	}
	return nil
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
