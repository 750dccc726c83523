package spool

import (
	"errors"
	"fmt"
	"os"

	"yujing"
)

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

// closeReader closes the segment file Read has open, if any.
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
