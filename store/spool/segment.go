package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
)

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

// syncDir syncs directory dir, so that the files created, renamed or
// removed in it stay so after a crash.
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
