package spool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yujing"
)

// DeadLetter is a batch of readings the store refused for good, kept for
// replay.
type DeadLetter struct {
	At       time.Time // when the store first refused them
	Reason   string    // a short label (store/influx: max_values_per_tag, …)
	Err      string    // the store's answer, at most 1 KiB
	Attempts int       // replays the store refused since
	// Readings are the readings; Count is how many (also when a listing
	// did not decode them).
	Readings []yujing.Reading
	Count    int
}

// Refusal is part of a batch the store refused for good, and why.
type Refusal struct {
	Reason   string
	Err      string
	Readings []yujing.Reading
}

// DeadLetterStatus is what the dead letters hold.
type DeadLetterStatus struct {
	Readings int64 // readings kept
	Records  int64 // refused batches kept
	Bytes    int64 // segment files on disk
	MaxBytes int64
	// Full is true when the last refusal found no room: readings the
	// store refuses stay unacknowledged at the broker.
	Full bool
	// Since is when the store refused the earliest of them (this run or
	// an earlier one); zero when there are none.
	Since time.Time
	// Reasons holds the readings kept by reason.
	Reasons map[string]int64
}

// DeadLetters keep readings the store refused for good (a full index, a
// field type conflict, an invalid value): they were acknowledged to the
// broker, so they are kept, in a Spool of their own (the spool's
// deadletter directory), until a replay gets the store to take them or an
// operator drops them. Add is safe for concurrent use; Replay and Drop
// belong to one goroutine.
type DeadLetters struct {
	sp *Spool
	m  *deadMetrics

	mu       sync.Mutex
	records  int64
	readings int64
	reasons  map[string]int64
	since    time.Time
}

type deadMetrics struct {
	readings prometheus.Gauge
	bytes    prometheus.Gauge
	full     prometheus.Gauge
	replayed prometheus.Counter
}

// OpenDeadLetters opens the dead letters in dir (a spool's
// DeadLetterDir) on their own, for the yujing deadletter command; Open
// opens them with their spool. The directory is locked while they are
// open (ErrLocked when a yujing serve has them).
func OpenDeadLetters(dir string, o Options) (*DeadLetters, error) {
	return openDeadLetters(dir, o)
}

func openDeadLetters(dir string, o Options) (*DeadLetters, error) {
	reg := o.Registerer
	o.Registerer = nil // the inner spool's yujing_spool_* would clash with the spool's
	if o.SegmentBytes <= 0 || o.SegmentBytes > 4<<20 {
		o.SegmentBytes = 4 << 20 // space comes back sooner after a partial replay
	}
	sp, err := openSpool(dir, o)
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	d := &DeadLetters{sp: sp, reasons: map[string]int64{}}
	d.m = &deadMetrics{
		readings: prometheus.NewGauge(prometheus.GaugeOpts{Name: "yujing_store_dead_letter_readings",
			Help: "Readings the store refused for good, kept in the spool's dead letters for replay."}),
		bytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "yujing_store_dead_letter_bytes",
			Help: "Bytes of dead-letter segment files on disk."}),
		full: prometheus.NewGauge(prometheus.GaugeOpts{Name: "yujing_store_dead_letter_full",
			Help: "1 while the dead letters are full: readings the store refuses stay unacknowledged at the broker."}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{Name: "yujing_store_dead_letter_replayed_readings_total",
			Help: "Dead-letter readings the store took on a replay."}),
	}
	if reg != nil {
		reg.MustRegister(d.m.readings, d.m.bytes, d.m.full, d.m.replayed)
	}
	err = d.scan(position{}, func(dl DeadLetter) error {
		d.count(dl, 1)
		return nil
	})
	if err != nil {
		sp.Close()
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	d.update()
	if d.readings > 0 && o.Logger != nil {
		o.Logger.Warn("dead letters: the store refused readings that are kept for replay",
			"dir", dir, "readings", d.readings, "since", d.since, "reasons", d.reasons)
	}
	return d, nil
}

// Dir returns the dead letters' directory.
func (d *DeadLetters) Dir() string { return d.sp.Dir() }

// scan hands fn every dead letter held before limit (the zero position:
// all), without their readings.
func (d *DeadLetters) scan(limit position, fn func(DeadLetter) error) error {
	d.sp.rmu.Lock()
	defer d.sp.rmu.Unlock()
	d.sp.mu.Lock()
	pos := d.sp.normalize(d.sp.read)
	if limit == (position{}) {
		limit = d.sp.synced
	}
	d.sp.mu.Unlock()
	defer d.sp.closeReader()
	for pos.before(limit) {
		p, next, err := d.sp.readAt(pos, limit)
		if err != nil {
			return err
		}
		if p != nil {
			dl, err := decodeDeadLetter(p, false)
			if err != nil {
				return fmt.Errorf("record at %s: %w", pos, err)
			}
			if err := fn(dl); err != nil {
				return err
			}
		}
		pos = next
	}
	return nil
}

// count adds (sign 1) or removes (-1) dl from the totals. Caller holds mu
// or is openDeadLetters.
func (d *DeadLetters) count(dl DeadLetter, sign int64) {
	n := int64(dl.Count)
	d.records += sign
	d.readings += sign * n
	d.reasons[dl.Reason] += sign * n
	if d.reasons[dl.Reason] <= 0 {
		delete(d.reasons, dl.Reason)
	}
	switch {
	case d.records <= 0:
		d.records, d.readings, d.since = 0, 0, time.Time{}
		clear(d.reasons)
	case sign > 0 && (d.since.IsZero() || dl.At.Before(d.since)):
		d.since = dl.At
	}
}

// update sets the gauges.
func (d *DeadLetters) update() {
	st := d.sp.Stats()
	d.mu.Lock()
	n := d.readings
	d.mu.Unlock()
	d.m.readings.Set(float64(n))
	d.m.bytes.Set(float64(st.Bytes))
	full := 0.0
	if st.Full {
		full = 1
	}
	d.m.full.Set(full)
}

// Add keeps dl durably (fsynced). It fails with an error matching ErrFull
// when there is no room: the caller must then keep the readings itself
// (leave them unacknowledged).
func (d *DeadLetters) Add(ctx context.Context, dl DeadLetter) error {
	if len(dl.Readings) == 0 {
		return nil
	}
	dl.Count = len(dl.Readings)
	rec := encodeDeadLetter(make([]byte, recordHeader, recordHeader+64+len(dl.Err)+24*len(dl.Readings)), dl)
	err := d.sp.appendRecord(ctx, rec, dl.Count)
	if err == nil {
		d.mu.Lock()
		d.count(dl, 1)
		d.mu.Unlock()
	}
	d.update()
	if err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	return nil
}

// Empty reports whether no dead letter is held.
func (d *DeadLetters) Empty() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.records == 0
}

// Status returns what the dead letters hold now.
func (d *DeadLetters) Status() DeadLetterStatus {
	st := d.sp.Stats()
	d.mu.Lock()
	defer d.mu.Unlock()
	return DeadLetterStatus{Readings: d.readings, Records: d.records, Bytes: st.Bytes, MaxBytes: d.sp.maxBytes,
		Full: st.Full, Since: d.since, Reasons: maps.Clone(d.reasons)}
}

// Close closes the dead letters' files and unlocks their directory. Safe
// to call twice.
func (d *DeadLetters) Close() error { return d.sp.close() }

// ReplayOptions configure DeadLetters.Replay.
type ReplayOptions struct {
	// Retryable reports whether a failed write may succeed later
	// unchanged (the store is down): the replay stops there. Every error
	// is if nil.
	Retryable func(error) bool
	// Refused says which readings of a batch the store refused for good,
	// and why; they are kept again. Nil: the whole batch, for the reason
	// it had.
	Refused func(err error, rs []yujing.Reading) []Refusal
	// Timeout bounds each write (default DefaultReplayTimeout); a write
	// that takes longer counts as the store being down.
	Timeout time.Duration
	// UntilRefused stops the replay after the first dead letter the store
	// refuses again, so that a store still refusing costs one write.
	UntilRefused bool
	// Reason, when set, replays only the dead letters with this reason.
	Reason string
}

// ReplayResult says what a replay did.
type ReplayResult struct {
	Written int // readings the store took
	Kept    int // readings it refused again, kept (at the end)
	Left    int // readings not tried: the replay stopped before them
}

// Replay writes the dead letters held when it begins to p, oldest first,
// one refused batch per write: those the store takes are removed, those it
// refuses again are kept anew at the end (their first refusal's time, one
// more attempt). It stops at a failure that may pass (the store down or
// slow), returning it, with what remains kept. Writing a reading that
// InfluxDB already has stores it once (same series and time), so
// replaying a batch of which the store had taken part is harmless.
func (d *DeadLetters) Replay(ctx context.Context, p Primary, o ReplayOptions) (ReplayResult, error) {
	if o.Retryable == nil {
		o.Retryable = func(error) bool { return true }
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultReplayTimeout
	}
	var res ReplayResult
	limit := d.sp.tail()
	for {
		var dl DeadLetter
		var derr error
		end, n, err := d.sp.readRecords(limit, 1, func(p []byte) error {
			dl, derr = decodeDeadLetter(p, true)
			return derr
		})
		if err != nil {
			return res, d.left(limit, &res, fmt.Errorf("dead letters: %w", err))
		}
		if n == 0 {
			d.resince()
			return res, nil
		}
		var refusals []Refusal
		if o.Reason == "" || dl.Reason == o.Reason {
			wctx, cancel := context.WithTimeout(ctx, o.Timeout)
			werr := p.Write(wctx, dl.Readings)
			timedOut := errors.Is(wctx.Err(), context.DeadlineExceeded)
			cancel()
			switch {
			case werr == nil:
				res.Written += dl.Count
				d.m.replayed.Add(float64(dl.Count))
			case ctx.Err() != nil:
				return res, d.left(limit, &res, ctx.Err())
			case timedOut || o.Retryable(werr):
				return res, d.left(limit, &res, fmt.Errorf("dead letters: the store failed; replay stopped: %w", werr))
			case o.Refused != nil:
				refusals = o.Refused(werr, dl.Readings)
			default:
				refusals = []Refusal{{Reason: dl.Reason, Err: werr.Error(), Readings: dl.Readings}}
			}
			for _, r := range refusals {
				again := DeadLetter{At: dl.At, Reason: r.Reason, Err: r.Err, Attempts: dl.Attempts + 1, Readings: r.Readings}
				if err := d.Add(ctx, again); err != nil {
					return res, d.left(limit, &res, err)
				}
				res.Kept += len(r.Readings)
			}
		} else {
			// Not this replay's: to the end, unchanged.
			if err := d.Add(ctx, dl); err != nil {
				return res, d.left(limit, &res, err)
			}
		}
		if err := d.sp.commit(end, 1, dl.Count); err != nil {
			return res, d.left(limit, &res, fmt.Errorf("dead letters: %w", err))
		}
		d.mu.Lock()
		d.count(dl, -1)
		d.mu.Unlock()
		d.update()
		if len(refusals) > 0 && o.UntilRefused {
			return res, d.left(limit, &res, nil)
		}
	}
}

// left adds to res the readings not yet tried before limit, and returns err.
func (d *DeadLetters) left(limit position, res *ReplayResult, err error) error {
	_ = d.scan(limit, func(dl DeadLetter) error {
		res.Left += dl.Count
		return nil
	})
	d.resince()
	return err
}

// resince sets since to the earliest refusal held, after a replay or drop
// removed some.
func (d *DeadLetters) resince() {
	var first time.Time
	if err := d.scan(position{}, func(dl DeadLetter) error {
		if first.IsZero() || dl.At.Before(first) {
			first = dl.At
		}
		return nil
	}); err != nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.records > 0 && !first.IsZero() {
		d.since = first
	}
}

// Drop removes the dead letters, all of them or, with reason set, those
// with that reason, and returns how many readings it removed. It is for an
// operator who decided the readings are not wanted (yujing deadletter
// drop): they are gone for good.
func (d *DeadLetters) Drop(ctx context.Context, reason string) (int, error) {
	limit := d.sp.tail()
	dropped := 0
	for {
		var dl DeadLetter
		end, n, err := d.sp.readRecords(limit, 1, func(p []byte) error {
			var err error
			dl, err = decodeDeadLetter(p, reason != "")
			return err
		})
		if err != nil {
			return dropped, fmt.Errorf("dead letters: %w", err)
		}
		if n == 0 {
			d.resince()
			return dropped, nil
		}
		if reason != "" && dl.Reason != reason {
			if err := d.Add(ctx, dl); err != nil {
				return dropped, err
			}
		} else {
			dropped += dl.Count
		}
		if err := d.sp.commit(end, 1, dl.Count); err != nil {
			return dropped, fmt.Errorf("dead letters: %w", err)
		}
		d.mu.Lock()
		d.count(dl, -1)
		d.mu.Unlock()
		d.update()
	}
}

// ScanDeadLetters hands fn every dead letter in dir, oldest first, with
// its readings when readings is true, without opening them: it takes no
// lock and changes nothing, so it works while a yujing serve holds them.
// It stops quietly at a record being written (or torn) at the end.
func ScanDeadLetters(dir string, readings bool, fn func(DeadLetter) error) error {
	if _, err := os.Stat(dir); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("dead letters: %w", err)
	}
	s := &Spool{dir: dir, log: slog.New(slog.DiscardHandler)}
	ckpt, ok, err := s.loadCheckpoint()
	if err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	var seqs []uint64
	for _, e := range entries {
		name, found := strings.CutSuffix(e.Name(), segmentExt)
		if seq, err := strconv.ParseUint(name, 10, 64); found && err == nil && seq > 0 && (!ok || seq >= ckpt.seg) {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		f, err := os.Open(filepath.Join(dir, fmt.Sprintf("%020d%s", seq, segmentExt)))
		if errors.Is(err, os.ErrNotExist) {
			continue // replayed meanwhile
		}
		if err != nil {
			return fmt.Errorf("dead letters: %w", err)
		}
		err = scanSegment(f, ok && seq == ckpt.seg, ckpt.off, readings, fn)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// scanSegment is ScanDeadLetters of one segment file, from its first
// record or, when fromCkpt, from the record at off.
func scanSegment(f *os.File, fromCkpt bool, off int64, readings bool, fn func(DeadLetter) error) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	end := fi.Size()
	hdr := make([]byte, headerSize)
	if _, err := f.ReadAt(hdr, 0); err != nil || string(hdr) != segmentMagic {
		return nil
	}
	r := &reader{f: f}
	for pos := headerSize; ; {
		n, err := r.next(pos, end)
		if err != nil {
			return nil // the end, or a record being written
		}
		if !fromCkpt || pos >= off {
			dl, err := decodeDeadLetter(r.buf, readings)
			if err != nil {
				return fmt.Errorf("dead letters: %s at %d: %w", f.Name(), pos, err)
			}
			if err := fn(dl); err != nil {
				return err
			}
		}
		pos += n
	}
}
