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
	fullLogEvery         = 10 * time.Second
)

// BufferedOptions configure a Buffered sink.
type BufferedOptions struct {
	// Retryable reports whether a failed primary write may succeed later
	// unchanged (store/influx.Retryable); every error is if nil.
	Retryable func(error) bool
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
	Logger                 *slog.Logger
	Registerer             prometheus.Registerer
	// Now is the clock for the outage's duration; time.Now if nil.
	Now func() time.Time
}

// Buffered is an ingest sink that writes to a primary store and, while
// the primary is down or slow, to a Spool, replaying the spool into the
// primary in order once it answers again.
type Buffered struct {
	primary Primary
	sp      *Spool
	o       BufferedOptions
	log     *slog.Logger
	dropped *prometheus.CounterVec

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
}

// NewBuffered returns a sink in front of primary that spools to sp, and
// starts replaying what sp already holds. Close stops it.
func NewBuffered(primary Primary, sp *Spool, o BufferedOptions) *Buffered {
	if o.Retryable == nil {
		o.Retryable = func(error) bool { return true }
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
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	b := &Buffered{primary: primary, sp: sp, o: o, log: o.Logger,
		kickc: make(chan struct{}, 1), done: make(chan struct{})}
	b.dropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "yujing_store_dropped_readings_total",
		Help: "Readings the store refused for good (invalid or conflicting data), by reason; logged with their sensors."},
		[]string{"reason"})
	b.dropped.WithLabelValues(ReasonRejected)
	if o.Registerer != nil {
		o.Registerer.MustRegister(b.dropped)
	}
	if !sp.Empty() {
		b.mu.Lock()
		b.outage, b.since = true, o.Now()
		b.mu.Unlock()
		b.log.Info("replaying spooled readings from before the restart", "dir", sp.Dir())
		b.kick()
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	go b.drain(ctx)
	return b
}

// ReasonRejected labels readings the primary refused for good.
const ReasonRejected = "rejected"

// Write makes rs durable: in the primary when the spool is empty and the
// primary answers within WriteTimeout, else in the spool. It returns an
// error only when neither took the readings (the spool is full or broken,
// or ctx ended), so the caller must keep them.
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
			b.drop(rs, err)
			return nil
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

// drop counts and logs readings the primary refused for good.
func (b *Buffered) drop(rs []yujing.Reading, err error) {
	b.dropped.WithLabelValues(ReasonRejected).Add(float64(len(rs)))
	var sensors []string
	for i := range rs {
		if !slices.Contains(sensors, rs[i].Sensor) {
			sensors = append(sensors, rs[i].Sensor)
			if len(sensors) == 20 {
				break
			}
		}
	}
	b.log.Error("store refused readings for good; dropped them and moving on", "readings", len(rs), "sensors", sensors, "err", err)
}

// drain replays the spool into the primary until ctx ends.
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
	for {
		if b.sp.Empty() {
			b.outageOver()
			select {
			case <-ctx.Done():
				return
			case <-b.kickc:
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
			b.drop(batch.Readings, err)
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

// Close stops replaying and closes the spool (syncing it); what it still
// holds is replayed after the next start. Safe to call twice.
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
