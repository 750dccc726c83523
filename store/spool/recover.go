package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

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
