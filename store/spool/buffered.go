package spool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yujing"
)

// Primary is the store that Buffered shields: InfluxDB's writer.
type Primary interface {
	Write(ctx context.Context, rs []yujing.Reading) error
}

// Defaults for BufferedOptions fields left at zero.
const (
	DefaultWriteTimeout  = 2 * time.Second
	DefaultReplayTimeout = 30 * time.Second
	DefaultReplayBatch   = 5000
	DefaultMinBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff    = 10 * time.Second
	// DefaultDeadLetterRetry is how often the dead letters are offered to
	// the store again while any are held.
	DefaultDeadLetterRetry = 5 * time.Minute
	fullLogEvery           = 10 * time.Second
	refusedLogEvery        = time.Minute
)

// BufferedOptions configure a Buffered sink.
type BufferedOptions struct {
	// Retryable reports whether a failed primary write may succeed later
	// unchanged (store/influx.Retryable); every error is if nil.
	Retryable func(error) bool
	// Refused says which readings of a write the primary refused for good
	// (an error Retryable calls final) and why; they are kept as dead
	// letters. Nil: all of them, for the reason ReasonRejected.
	Refused func(err error, rs []yujing.Reading) []Refusal
	// WriteTimeout bounds a direct write to the primary; a slower primary
	// counts as down and the batch is spooled (default DefaultWriteTimeout).
	WriteTimeout time.Duration
	// ReplayTimeout bounds one replay write (default DefaultReplayTimeout).
	ReplayTimeout time.Duration
	// ReplayBatch is about the most readings replayed in one write
	// (default DefaultReplayBatch).
	ReplayBatch int
	// MinBackoff and MaxBackoff bound the wait between replay attempts
	// while the primary fails (defaults DefaultMinBackoff, DefaultMaxBackoff).
	MinBackoff, MaxBackoff time.Duration
	// DeadLetterRetry is how often the dead letters are offered to the
	// primary again: at start, then at this interval while any are held
	// (default DefaultDeadLetterRetry). Once the cause is fixed they go in
	// without anyone's help.
	DeadLetterRetry time.Duration
	Logger          *slog.Logger
	Registerer      prometheus.Registerer
	// Now is the clock for the outage's duration and the refusals' times;
	// time.Now if nil.
	Now func() time.Time
}

// Buffered is an ingest sink that writes to a primary store and, while
// the primary is down or slow, to a Spool, replaying the spool into the
// primary in order once it answers again. Readings the primary refuses for
// good go to the spool's dead letters.
type Buffered struct {
	primary Primary
	sp      *Spool
	dead    *DeadLetters
	o       BufferedOptions
	log     *slog.Logger
	refused *prometheus.CounterVec

	kickc  chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	mu       sync.Mutex
	outage   bool      // readings are being spooled
	since    time.Time // when the outage began
	replayed int       // readings replayed during this outage
	lastFull time.Time // last "spool full" log
	heldBack int       // "spool full" logs held back since
	closeErr error
	// Refusal logs, each at most every refusedLogEvery: the last, and
	// how many were held back since, per reason; and "dead letters full".
	lastRefused  map[string]time.Time
	refusedBack  map[string]int
	lastDeadFull time.Time
	deadFullBack int
}

// ReasonRejected is the reason of readings the primary refused for good
// when BufferedOptions.Refused does not say why.
const ReasonRejected = "rejected"

// NewBuffered returns a sink in front of primary that spools to sp, and
// starts replaying what sp already holds, then offering its dead letters
// to the primary again. Close stops it.
func NewBuffered(primary Primary, sp *Spool, o BufferedOptions) *Buffered {
	if o.Retryable == nil {
		o.Retryable = func(error) bool { return true }
	}
	if o.Refused == nil {
		o.Refused = func(err error, rs []yujing.Reading) []Refusal {
			return []Refusal{{Reason: ReasonRejected, Err: err.Error(), Readings: rs}}
		}
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.ReplayTimeout <= 0 {
		o.ReplayTimeout = DefaultReplayTimeout
	}
	if o.ReplayBatch <= 0 {
		o.ReplayBatch = DefaultReplayBatch
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.DeadLetterRetry <= 0 {
		o.DeadLetterRetry = DefaultDeadLetterRetry
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	b := &Buffered{primary: primary, sp: sp, dead: sp.DeadLetters(), o: o, log: o.Logger,
		kickc: make(chan struct{}, 1), done: make(chan struct{}),
		lastRefused: map[string]time.Time{}, refusedBack: map[string]int{}}
	b.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "yujing_store_refused_readings_total",
		Help: "Readings the store refused for good, by reason; each is kept in the dead letters for replay, not dropped."},
		[]string{"reason"})
	if o.Registerer != nil {
		o.Registerer.MustRegister(b.refused)
	}
	if !sp.Empty() {
		b.mu.Lock()
		b.outage, b.since = true, o.Now()
		b.mu.Unlock()
		b.log.Info("replaying spooled readings from before the restart", "dir", sp.Dir())
		b.kick()
	}
	if st := b.dead.Status(); st.Readings > 0 {
		b.log.Warn("the store refused readings earlier; they are kept as dead letters and offered to it again",
			"dead_letters", st.Readings, "since", st.Since, "reasons", st.Reasons, "how", b.How())
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	go b.drain(ctx)
	return b
}

// DeadLetters returns the dead letters: readings the primary refused for
// good, kept for replay.
func (b *Buffered) DeadLetters() *DeadLetters { return b.dead }

// How tells an operator what to do about dead letters.
func (b *Buffered) How() string {
	return "fix the cause the store names (docs/INFLUXDB.md lists InfluxDB's limits); yujing offers the readings to it again every " +
		b.o.DeadLetterRetry.String() + "; 'yujing deadletter list' shows them, and with yujing stopped 'yujing deadletter replay' replays them at once"
}

// Write makes rs durable: in the primary when the spool is empty and the
// primary answers within WriteTimeout, else in the spool; readings the
// primary refuses for good go to the dead letters. It returns an error
// only when none of these took the readings (the spool or the dead
// letters are full or broken, or ctx ended), so the caller must keep
// them.
func (b *Buffered) Write(ctx context.Context, rs []yujing.Reading) error {
	if len(rs) == 0 {
		return nil
	}
	if b.sp.Empty() {
		wctx, cancel := context.WithTimeout(ctx, b.o.WriteTimeout)
		err := b.primary.Write(wctx, rs)
		timedOut := errors.Is(wctx.Err(), context.DeadlineExceeded)
		cancel()
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return err
		case !timedOut && !b.o.Retryable(err):
			return b.keep(ctx, rs, err)
		}
		if err := b.append(ctx, rs); err != nil {
			return err
		}
		b.outageBegins(err)
		b.kick()
		return nil
	}
	if err := b.append(ctx, rs); err != nil {
		return err
	}
	b.kick()
	return nil
}

func (b *Buffered) append(ctx context.Context, rs []yujing.Reading) error {
	err := b.sp.Append(ctx, rs)
	if errors.Is(err, ErrFull) {
		b.logFull(err)
	}
	return err
}

// keep puts the readings of rs the primary refused for good (with err)
// in the dead letters. It fails when they do not fit: the caller must
// keep them.
func (b *Buffered) keep(ctx context.Context, rs []yujing.Reading, err error) error {
	now := b.o.Now()
	for _, r := range b.o.Refused(err, rs) {
		if len(r.Readings) == 0 {
			continue
		}
		if aerr := b.dead.Add(ctx, DeadLetter{At: now, Reason: r.Reason, Err: r.Err, Readings: r.Readings}); aerr != nil {
			if errors.Is(aerr, ErrFull) {
				b.logDeadFull(len(r.Readings), r, aerr)
			}
			return fmt.Errorf("spool: keeping %d readings the store refused (%s): %w", len(r.Readings), r.Reason, aerr)
		}
		b.refused.WithLabelValues(r.Reason).Add(float64(len(r.Readings)))
		b.logRefused(r)
	}
	return nil
}

func (b *Buffered) kick() {
	select {
	case b.kickc <- struct{}{}:
	default:
	}
}

func (b *Buffered) outageBegins(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.outage {
		return
	}
	b.outage, b.since, b.replayed = true, b.o.Now(), 0
	b.log.Warn("InfluxDB unreachable; spooling readings", "spool", b.sp.Dir(), "err", err)
}

// logFull logs at most every fullLogEvery that the spool is full.
func (b *Buffered) logFull(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.o.Now()
	if !b.lastFull.IsZero() && now.Sub(b.lastFull) < fullLogEvery {
		b.heldBack++
		return
	}
	b.log.Error("spool full; readings stay unacknowledged at the MQTT broker until InfluxDB takes the spooled ones",
		"spool", b.sp.Dir(), "held_back", b.heldBack, "err", err)
	b.lastFull, b.heldBack = now, 0
}

// logRefused logs readings kept as dead letters, at most every
// refusedLogEvery for each reason.
func (b *Buffered) logRefused(r Refusal) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.o.Now()
	if last, ok := b.lastRefused[r.Reason]; ok && now.Sub(last) < refusedLogEvery {
		b.refusedBack[r.Reason]++
		return
	}
	st := b.dead.Status()
	b.log.Error("store refused readings for good; kept them as dead letters for replay",
		"reason", r.Reason, "readings", len(r.Readings), "sensors", sensorsOf(r.Readings, 20), "err", r.Err,
		"dead_letters", st.Readings, "held_back", b.refusedBack[r.Reason], "how", b.How())
	b.lastRefused[r.Reason], b.refusedBack[r.Reason] = now, 0
}

// logDeadFull logs at most every fullLogEvery that the dead letters are
// full.
func (b *Buffered) logDeadFull(n int, r Refusal, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.o.Now()
	if !b.lastDeadFull.IsZero() && now.Sub(b.lastDeadFull) < fullLogEvery {
		b.deadFullBack++
		return
	}
	b.log.Error("dead letters full; readings the store refuses stay unacknowledged at the MQTT broker",
		"dir", b.dead.Dir(), "readings", n, "reason", r.Reason, "store_err", r.Err, "held_back", b.deadFullBack, "err", err,
		"how", b.How()+"; or raise store.dead_letter_max_bytes")
	b.lastDeadFull, b.deadFullBack = now, 0
}

// sensorsOf lists the first max distinct sensors of rs.
func sensorsOf(rs []yujing.Reading, max int) []string {
	var sensors []string
	for i := range rs {
		if !slices.Contains(sensors, rs[i].Sensor) {
			sensors = append(sensors, rs[i].Sensor)
			if len(sensors) == max {
				break
			}
		}
	}
	return sensors
}

// drain replays the spool into the primary until ctx ends, and offers the
// dead letters to it again, at start and every DeadLetterRetry, while the
// spool is empty.
func (b *Buffered) drain(ctx context.Context) {
	defer close(b.done)
	backoff := b.o.MinBackoff
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	retry := time.NewTimer(0) // the dead letters, at start
	defer retry.Stop()
	for {
		if b.sp.Empty() {
			b.outageOver()
			select {
			case <-ctx.Done():
				return
			case <-b.kickc:
			case <-retry.C:
				if !b.dead.Empty() {
					b.retryDead(ctx)
				}
				retry.Reset(b.o.DeadLetterRetry)
			}
			continue
		}
		batch, err := b.sp.Read(b.o.ReplayBatch)
		if err != nil {
			if errors.Is(err, ErrClosed) {
				return
			}
			b.log.Error("spool read failed", "spool", b.sp.Dir(), "retry_in", backoff, "err", err)
			if !wait(backoff) {
				return
			}
			backoff = min(backoff*2, b.o.MaxBackoff)
			continue
		}
		if batch.Records == 0 {
			// Appended but not yet synced: its Append kicks when it is.
			select {
			case <-ctx.Done():
				return
			case <-b.kickc:
			case <-time.After(b.o.MinBackoff):
			}
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, b.o.ReplayTimeout)
		err = b.primary.Write(wctx, batch.Readings)
		timedOut := errors.Is(wctx.Err(), context.DeadlineExceeded)
		cancel()
		if err != nil && ctx.Err() != nil {
			return
		}
		if err != nil && (timedOut || b.o.Retryable(err)) {
			b.log.Debug("InfluxDB still unreachable; replay retrying", "readings", len(batch.Readings), "retry_in", backoff, "err", err)
			if !wait(backoff) {
				return
			}
			backoff = min(backoff*2, b.o.MaxBackoff)
			continue
		}
		if err != nil {
			if kerr := b.keep(ctx, batch.Readings, err); kerr != nil {
				// Not kept: the batch stays in the spool and is tried again.
				if ctx.Err() != nil {
					return
				}
				if !wait(backoff) {
					return
				}
				backoff = min(backoff*2, b.o.MaxBackoff)
				continue
			}
		}
		if err := b.sp.Commit(batch); err != nil {
			if errors.Is(err, ErrClosed) {
				return
			}
			b.log.Error("spool commit failed; the batch will be replayed again", "spool", b.sp.Dir(), "err", err)
			if !wait(backoff) {
				return
			}
			continue
		}
		backoff = b.o.MinBackoff
		b.mu.Lock()
		b.replayed += len(batch.Readings)
		b.mu.Unlock()
	}
}

// retryDead offers the dead letters to the primary again, until it
// refuses one again or fails.
func (b *Buffered) retryDead(ctx context.Context) {
	res, err := b.dead.Replay(ctx, b.primary, ReplayOptions{Retryable: b.o.Retryable, Refused: b.o.Refused,
		Timeout: b.o.ReplayTimeout, UntilRefused: true})
	if ctx.Err() != nil {
		return
	}
	st := b.dead.Status()
	switch {
	case err != nil && !errors.Is(err, ErrFull):
		b.log.Debug("dead letters not replayed: the store is not answering", "dead_letters", st.Readings, "err", err)
	case err != nil:
		b.log.Error("dead letters full; could not keep the dead letters the store refused again", "dead_letters", st.Readings, "err", err)
	case res.Written > 0 && st.Readings == 0:
		b.log.Info("the store took every dead letter; none left", "replayed", res.Written)
	case res.Written > 0:
		b.log.Warn("the store took some dead letters, and refused one again", "replayed", res.Written,
			"dead_letters", st.Readings, "reasons", st.Reasons, "how", b.How())
	case res.Kept > 0:
		b.log.Info("the store still refuses the dead letters", "dead_letters", st.Readings, "reasons", st.Reasons,
			"next_try_in", b.o.DeadLetterRetry, "how", b.How())
	}
}

func (b *Buffered) outageOver() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.outage {
		return
	}
	b.outage = false
	b.log.Info("InfluxDB back; replayed the spooled readings", "replayed", b.replayed,
		"took", b.o.Now().Sub(b.since).Round(time.Millisecond))
	b.replayed = 0
}

// Close stops replaying and closes the spool (syncing it) and its dead
// letters; what they still hold is replayed after the next start. Safe to
// call twice.
func (b *Buffered) Close(ctx context.Context) error {
	b.once.Do(func() {
		b.cancel()
		select {
		case <-b.done:
		case <-ctx.Done():
			b.closeErr = fmt.Errorf("spool: replay did not stop: %w", ctx.Err())
		}
		if err := b.sp.Close(); err != nil && b.closeErr == nil {
			b.closeErr = err
		}
	})
	return b.closeErr
}
