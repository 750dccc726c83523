package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yujing"
)

// ErrUnknownChannel is returned by Call for a call whose channel is not
// configured.
var ErrUnknownChannel = errors.New("notify: unknown channel")

// ErrStopped is returned by Call after Stop began, and is the error given to
// OnResult for calls left undelivered at shutdown.
var ErrStopped = errors.New("notify: dispatcher stopped")

// ErrHandedOver says that a call was not sent because this node of a
// cluster no longer holds the lease of its warning's partition: the call
// stays pending on record, for the node that holds the lease now.
var ErrHandedOver = errors.New("notify: handed over to the node that holds the call's lease")

// Options tune a Dispatcher. Zero values take the defaults shown.
type Options struct {
	Logger     *slog.Logger          // default: discard
	Registerer prometheus.Registerer // metrics go here; nil registers nothing

	QueueSize   int           // calls waiting per channel before Call blocks; default 1024
	Workers     int           // concurrent sends per channel; default 4
	MaxAttempts int           // attempts per call, first one included; default 8
	BaseBackoff time.Duration // ceiling of the first retry wait; default 500ms
	MaxBackoff  time.Duration // largest retry wait of the dispatcher's own; default 30s
	SendTimeout time.Duration // deadline of one send attempt; default 10s
	// MaxProviderWait bounds the wait a provider itself asks for before a
	// retry (an HTTPError's RetryAfter: the Retry-After header, or a
	// channel's classification such as Alibaba Cloud's minute-level limit).
	// Up to it the provider's wait wins over MaxBackoff: a retry inside the
	// provider's window would only be refused again. A provider asking for
	// longer ends the call failed at once, so that the fallback channel
	// takes over instead of the call waiting out an hour. Default 15m.
	MaxProviderWait time.Duration

	// Limits caps the send rate of the channels it names, overriding a
	// channel's own DefaultLimit. A channel with neither is not limited.
	Limits map[string]Limit
	// Breaker configures every channel's circuit breaker (defaults: open
	// after 5 retryable failures in a row, probe after 30s).
	Breaker Breaker
	// Breakers replaces Breaker for the channels it names (each with the
	// same defaults for its zero fields).
	Breakers map[string]Breaker

	// GroupWait, when positive, holds the calls that Groupable accepts
	// (raised or raised again below red) for channels that are
	// GroupSenders: the calls of one site, person and channel that arrive
	// within GroupWait of the first go out together, as one Group, when it
	// ends. 0 (the default) sends every call on its own. See Group.
	GroupWait time.Duration
	// GroupText writes the combined text of a group, from its members in
	// order; default DefaultGroupText.
	GroupText func(members []yujing.Call) string

	// OnResult, when set, is told how each call ended (see Result). It runs
	// on a worker goroutine, concurrently for different calls, and should
	// return quickly. The Outbox's Result method is one.
	OnResult func(Result)
	// OnSend, when set, is called right before each send attempt's request
	// with the calls it stands for, after the breaker and the rate limit
	// let it through, and the request waits for it to return. The Outbox's
	// Sending method is one: it writes, on disk, that the calls may reach
	// their provider from now on, so that a restart knows which calls are
	// in doubt (see CallInDoubt). An error wrapping ErrHandedOver stops
	// the calls here, unsent and unmarked (another node sends them); other
	// errors are OnSend's to log, and the request goes ahead.
	OnSend func(calls []yujing.Call) error
}

// Result is how one call ended.
type Result struct {
	Call yujing.Call
	// Err is nil once the call was sent; else the last error, wrapping
	// ErrStopped when shutdown cut the call short.
	Err      error
	Attempts int // attempts made, the first included
	// ProviderID is the provider's id for the sent call, from a channel
	// that is an IDSender; "" otherwise.
	ProviderID string
	At         time.Time // when the call ended
}

// IDSender is implemented by a Channel whose provider returns its own id
// for what it accepted (Aliyun's BizId, Tencent's SerialNo, a voice call's
// CallId). The Dispatcher calls SendID instead of Send and passes the id on
// in Result.ProviderID; the Outbox stores it, so that a receipt naming only
// the provider's id still finds its call. The rules of Send apply.
type IDSender interface {
	SendID(ctx context.Context, c yujing.Call) (providerID string, err error)
}

// Defaults of Options.
const (
	DefaultQueueSize   = 1024
	DefaultWorkers     = 4
	DefaultMaxAttempts = 8
	DefaultBaseBackoff = 500 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
	DefaultSendTimeout = 10 * time.Second

	DefaultMaxProviderWait = 15 * time.Minute
)

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.QueueSize == 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.BaseBackoff == 0 {
		o.BaseBackoff = DefaultBaseBackoff
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.SendTimeout == 0 {
		o.SendTimeout = DefaultSendTimeout
	}
	if o.MaxProviderWait == 0 {
		o.MaxProviderWait = DefaultMaxProviderWait
	}
	if o.GroupText == nil {
		o.GroupText = DefaultGroupText
	}
	o.Breaker.setDefaults()
}

func (o *Options) validate() error {
	var errs []error
	if o.QueueSize < 0 {
		errs = append(errs, fmt.Errorf("queue size %d is negative", o.QueueSize))
	}
	if o.Workers < 0 {
		errs = append(errs, fmt.Errorf("workers %d is negative", o.Workers))
	}
	if o.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("max attempts %d is negative", o.MaxAttempts))
	}
	if o.BaseBackoff < 0 || o.MaxBackoff < 0 || o.SendTimeout < 0 || o.MaxProviderWait < 0 {
		errs = append(errs, errors.New("backoffs and send timeout must not be negative"))
	} else if o.MaxBackoff < o.BaseBackoff {
		errs = append(errs, fmt.Errorf("max backoff %s is below base backoff %s", o.MaxBackoff, o.BaseBackoff))
	}
	for _, name := range slices.Sorted(maps.Keys(o.Limits)) {
		if err := o.Limits[name].validate(); err != nil {
			errs = append(errs, fmt.Errorf("limit of channel %q: %w", name, err))
		}
	}
	if err := o.Breaker.validate(); err != nil {
		errs = append(errs, err)
	}
	for _, name := range slices.Sorted(maps.Keys(o.Breakers)) {
		if err := o.Breakers[name].validate(); err != nil {
			errs = append(errs, fmt.Errorf("breaker of channel %q: %w", name, err))
		}
	}
	if o.GroupWait < 0 {
		errs = append(errs, fmt.Errorf("group wait %s is negative", o.GroupWait))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// lane is one channel with its own queue and workers, so a slow or failing
// channel never delays the others.
type lane struct {
	ch       Channel
	name     string
	queue    chan delivery
	limitCfg Limit        // the limit in force
	limit    *tokenBucket // nil: not rate limited
	circuit  *circuit     // nil: no breaker
	group    *holding     // calls held to be grouped; nil: the lane does not group
}

// delivery is one item of a lane's queue: a call, or a group of calls that
// goes out as one message.
type delivery struct {
	call    yujing.Call   // what is sent
	members []yujing.Call // a group's calls, two or more; nil for a single call
	// doubt, for a call a previous run may have sent, through a channel
	// that is a StatusQuerier: the provider is asked before it is sent.
	doubt *InDoubt
}

// calls are the calls the delivery stands for.
func (dv delivery) calls() []yujing.Call {
	if dv.members != nil {
		return dv.members
	}
	return []yujing.Call{dv.call}
}

// Dispatcher queues calls and delivers each through its channel, retrying
// with backoff. Create it with New, start it with Run, end it with Stop.
type Dispatcher struct {
	opts   Options
	log    *slog.Logger
	m      *metrics
	lanes  map[string]*lane // fixed after New
	order  []*lane          // lanes in configuration order
	jitter func(n int64) int64
	now    func() time.Time

	mu      sync.RWMutex // guards running, closed
	running bool
	closed  bool
	closing chan struct{}  // closed when Stop begins; wakes blocked Calls
	senders sync.WaitGroup // Calls between the closed check and their send
	workers sync.WaitGroup
	cancel  context.CancelFunc // ends the workers' context; set by Run

	left     leftover // calls Stop leaves pending for the next start
	stopOnce sync.Once
	stopErr  error
}

// New builds a Dispatcher for channels, which must have distinct, non-empty
// names.
func New(channels []Channel, opts Options) (*Dispatcher, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts.setDefaults()
	d := &Dispatcher{
		opts:    opts,
		log:     opts.Logger,
		lanes:   make(map[string]*lane, len(channels)),
		jitter:  rand.Int64N,
		now:     time.Now,
		closing: make(chan struct{}),
	}
	names := make([]string, 0, len(channels))
	for i, ch := range channels {
		if ch == nil {
			return nil, fmt.Errorf("notify: channel %d is nil", i)
		}
		name := ch.Name()
		if name == "" {
			return nil, fmt.Errorf("notify: channel %d (%T) has no name", i, ch)
		}
		if _, dup := d.lanes[name]; dup {
			return nil, fmt.Errorf("notify: duplicate channel name %q", name)
		}
		l := &lane{ch: ch, name: name, queue: make(chan delivery, opts.QueueSize)}
		if _, ok := ch.(GroupSender); ok && opts.GroupWait > 0 {
			l.group = &holding{groups: map[string]*held{}}
		}
		d.lanes[name] = l
		d.order = append(d.order, l)
		names = append(names, name)
	}
	for name := range opts.Limits {
		if _, ok := d.lanes[name]; !ok {
			return nil, fmt.Errorf("notify: limit for channel %q, which is not configured", name)
		}
	}
	for name := range opts.Breakers {
		if _, ok := d.lanes[name]; !ok {
			return nil, fmt.Errorf("notify: breaker for channel %q, which is not configured", name)
		}
	}
	m, err := newMetrics(opts.Registerer, names, d.depth)
	if err != nil {
		return nil, err
	}
	d.m = m
	for _, l := range d.order {
		lim, ok := opts.Limits[l.name]
		if dl, isDL := l.ch.(DefaultLimiter); !ok && isDL {
			lim = dl.DefaultLimit()
			if err := lim.validate(); err != nil {
				return nil, fmt.Errorf("notify: default limit of channel %q: %w", l.name, err)
			}
		}
		l.limitCfg, l.limit = lim, newTokenBucket(lim, d.now)
		name := l.name
		br := opts.Breaker
		if b, ok := opts.Breakers[name]; ok {
			b.setDefaults()
			br = b
		}
		l.circuit = newCircuit(br, d.now, func(from, to CircuitState, failures int) {
			d.m.circuit.WithLabelValues(name).Set(float64(to))
			switch to {
			case CircuitOpen:
				d.log.Warn("notify circuit opened", "channel", name, "from", from.String(),
					"failures", failures, "cooldown", br.Cooldown)
			default:
				d.log.Info("notify circuit "+to.String(), "channel", name)
			}
		})
	}
	return d, nil
}

// depth is the number of queued deliveries (a group counts once) and of
// calls held to be grouped, over all channels.
func (d *Dispatcher) depth() float64 {
	n := 0
	for _, l := range d.order {
		n += len(l.queue)
		if l.group != nil {
			n += l.group.depth()
		}
	}
	return float64(n)
}

// Limit returns the rate limit in force for a channel: from
// Options.Limits, else the channel's DefaultLimit. ok is false for an
// unknown channel or one without a limit.
func (d *Dispatcher) Limit(channel string) (l Limit, ok bool) {
	ln, known := d.lanes[channel]
	if !known || ln.limit == nil {
		return Limit{}, false
	}
	return ln.limitCfg, true
}

// groupTimer returns what arms the timer of a held group: when its wait
// ends, release queues it.
func (d *Dispatcher) groupTimer(l *lane) func(*held) *time.Timer {
	return func(g *held) *time.Timer {
		return time.AfterFunc(max(0, time.Until(g.due)), func() { d.release(l, g) })
	}
}

// release queues a held group whose wait ended. After Stop began it leaves
// the group to Stop, which sends what is held.
func (d *Dispatcher) release(l *lane, g *held) {
	d.mu.RLock()
	if d.closed {
		d.mu.RUnlock()
		return
	}
	d.senders.Add(1)
	d.mu.RUnlock()
	defer d.senders.Done()
	if !l.group.take(g) {
		return // released already, ahead of a call that was not held
	}
	if err := d.enqueueGroup(context.Background(), l, g); err != nil {
		l.group.putBack(g, d.groupTimer(l)) // Stop began: it sends what is held
	}
}

// enqueueGroup queues the calls of g as one delivery.
func (d *Dispatcher) enqueueGroup(ctx context.Context, l *lane, g *held) error {
	dv := d.grouped(l, g.calls)
	if err := d.enqueue(ctx, l, dv); err != nil {
		return err
	}
	if dv.members != nil {
		d.m.grouped.WithLabelValues(l.name).Add(float64(len(dv.members)))
	}
	return nil
}

// grouped is the delivery of calls held together: the call itself when
// alone, else a group led by the first call in SortGroup order, whose
// message becomes the combined text.
func (d *Dispatcher) grouped(l *lane, calls []yujing.Call) delivery {
	if len(calls) == 1 {
		return delivery{call: calls[0]}
	}
	members := slices.Clone(calls)
	SortGroup(members)
	lead := members[0]
	lead.Alert.Message = d.opts.GroupText(members)
	d.log.Info("notify calls grouped", "call_id", lead.ID, "channel", l.name, "site", lead.Alert.Site,
		"person", lead.Person.ID, "calls", len(members))
	return delivery{call: lead, members: members}
}

// Run starts the workers and returns. The workers keep their context's
// values but not its cancellation: they end only through Stop, so that calls
// raised while the pipeline shuts down in flow order are still delivered.
// Calling Run again, or after Stop, does nothing.
func (d *Dispatcher) Run(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running || d.closed {
		return
	}
	d.running = true
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancel = cancel
	for _, l := range d.order {
		for range d.opts.Workers {
			d.workers.Add(1)
			go d.work(wctx, l)
		}
	}
	d.log.Info("notify started", "channels", len(d.order), "workers_per_channel", d.opts.Workers)
}

// Stop refuses new calls and sends, until ctx ends, what it holds: the
// calls held for grouping (without waiting for the rest of their wait)
// and the queued ones, each once. It does not wait out a retry's backoff:
// a call that failed, before Stop or during it, is left for the next
// start. When ctx ends, the requests still in flight are cut off (their
// calls are in doubt at the next start: OnSend marked them) and what is
// still queued is not tried.
//
// Every call left is reported to OnResult with an error wrapping
// ErrStopped (the Outbox keeps it pending, and Resume sends it after the
// next start), and all of them together in one log line, not one per
// call. Stop returns an error wrapping ErrStopped that counts them (and
// ctx's error when requests were cut off), or nil when nothing was left.
// Safe to call twice; later calls return the first result.
func (d *Dispatcher) Stop(ctx context.Context) error {
	d.stopOnce.Do(func() { d.stopErr = d.stop(ctx) })
	return d.stopErr
}

func (d *Dispatcher) stop(ctx context.Context) error {
	d.mu.Lock()
	d.closed = true
	running := d.running
	d.mu.Unlock()
	close(d.closing) // wakes blocked Calls, and the workers waiting for a retry
	d.senders.Wait() // no Call or group release can send after this
	d.flushHeld(ctx, running)
	for _, l := range d.order {
		close(l.queue)
	}
	var expired error
	if running {
		done := make(chan struct{})
		go func() { d.workers.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			expired = ctx.Err()
			d.cancel() // cut off the requests in flight; the workers leave what is queued
			<-done
		}
		d.cancel()
	} else {
		for _, l := range d.order {
			for dv := range l.queue {
				d.finish(dv, fmt.Errorf("never started: %w", ErrStopped), 0, leftPending, "")
			}
		}
	}
	left := d.left.report()
	if left.total == 0 {
		d.log.Info("notify stopped", "pending_calls", 0)
		return nil
	}
	d.log.Warn("notify stopped, calls left for the next start", "pending_calls", left.total,
		"not_tried", left.notTried, "retry_pending", left.retry, "in_flight_cancelled", left.inFlight,
		"channels", left.channels)
	if expired != nil {
		return fmt.Errorf("notify: %d calls left pending for the next start: %w: %w", left.total, ErrStopped, expired)
	}
	return fmt.Errorf("notify: %d calls left pending for the next start: %w", left.total, ErrStopped)
}

// leftover counts the calls Stop leaves pending for the next start.
type leftover struct {
	mu        sync.Mutex
	notTried  int // never tried in this run
	retry     int // tried and failed: a retry waits for the next start
	inFlight  int // the request was cut off when Stop's context ended: in doubt
	byChannel map[string]int
}

// add counts c, left after attempts attempts; inFlight when its request
// was cut off.
func (l *leftover) add(c yujing.Call, attempts int, inFlight bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case inFlight:
		l.inFlight++
	case attempts == 0:
		l.notTried++
	default:
		l.retry++
	}
	if l.byChannel == nil {
		l.byChannel = map[string]int{}
	}
	l.byChannel[c.Channel]++
}

// leftReport is the summary of a leftover.
type leftReport struct {
	total, notTried, retry, inFlight int
	channels                         string // "name=n name=n", by name
}

func (l *leftover) report() leftReport {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := leftReport{total: l.notTried + l.retry + l.inFlight, notTried: l.notTried, retry: l.retry, inFlight: l.inFlight}
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(l.byChannel)) {
		parts = append(parts, fmt.Sprintf("%s=%d", name, l.byChannel[name]))
	}
	r.channels = strings.Join(parts, " ")
	return r
}

// flushHeld queues the groups still held when Stop begins, without waiting
// for the rest of their wait, so that they are delivered with the queue;
// those that cannot be queued before ctx ends (or with no workers) are
// left: their calls stay pending for the next start.
func (d *Dispatcher) flushHeld(ctx context.Context, running bool) {
	for _, l := range d.order {
		if l.group == nil {
			continue
		}
		for _, g := range l.group.takeAll() {
			dv := d.grouped(l, g.calls)
			switch {
			case !running:
				d.finish(dv, fmt.Errorf("held for grouping, never started: %w", ErrStopped), 0, leftPending, "")
				continue
			case ctx.Err() != nil:
				d.finish(dv, fmt.Errorf("held for grouping: %w", shutdownErr(ctx.Err())), 0, leftPending, "")
				continue
			}
			select {
			case l.queue <- dv:
				if dv.members != nil {
					d.m.grouped.WithLabelValues(l.name).Add(float64(len(dv.members)))
				}
			case <-ctx.Done():
				d.finish(dv, fmt.Errorf("held for grouping: %w", shutdownErr(ctx.Err())), 0, leftPending, "")
			}
		}
	}
}
