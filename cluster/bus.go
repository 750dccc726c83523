package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// MaxPayload is the longest payload PostgreSQL's NOTIFY takes, in bytes.
// A payload should name what changed ("alert 7"), not carry it.
const MaxPayload = 7999

// maxChannel is the longest channel name: a PostgreSQL identifier.
const maxChannel = 63

const (
	defaultProbe   = 5 * time.Second
	connectTimeout = 10 * time.Second
	minBackoff     = 50 * time.Millisecond
	maxBackoff     = 2 * time.Second
)

// Bus publishes and subscribes to events between nodes over PostgreSQL's
// LISTEN/NOTIFY. A notification reaches every node listening on its channel
// when the publishing transaction commits (never when it rolls back), in
// commit order; a notification sent while a subscriber's connection is
// down is lost to it, which is why a subscription says when it listens
// again.
type Bus struct {
	pool       *pgxpool.Pool
	log        *slog.Logger
	probe      time.Duration
	reconnects prometheus.Counter
}

// BusOptions configure a Bus.
type BusOptions struct {
	// Logger; nil discards.
	Logger *slog.Logger
	// Registerer for the bus's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Probe is how long a subscription's connection may stay silent
	// before a round trip checks it (a connection cut off without a word
	// is found dead then). Default 5 s.
	Probe time.Duration
}

// NewBus returns a bus on pool's database. Publish uses pool's
// connections; each subscription opens its own connection with pool's
// connection settings (LISTEN belongs to a session, never to a pooled
// connection).
func NewBus(pool *pgxpool.Pool, opts BusOptions) (*Bus, error) {
	if pool == nil {
		return nil, errors.New("cluster: bus: no database pool")
	}
	b := &Bus{pool: pool, log: opts.Logger, probe: opts.Probe,
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yujing_cluster_bus_reconnects_total",
			Help: "Times a bus subscription listened again after its connection died (notifications meanwhile were lost)."}),
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.probe <= 0 {
		b.probe = defaultProbe
	}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(b.reconnects); err != nil {
			return nil, fmt.Errorf("cluster: bus metrics: %w", err)
		}
	}
	return b, nil
}

// checkNotify checks a channel name and a payload.
func checkNotify(channel, payload string) error {
	if err := checkChannel(channel); err != nil {
		return err
	}
	if len(payload) > MaxPayload {
		return fmt.Errorf("cluster: bus: channel %s: payload of %d bytes, at most %d", channel, len(payload), MaxPayload)
	}
	if !utf8.ValidString(payload) || strings.IndexByte(payload, 0) >= 0 {
		return fmt.Errorf("cluster: bus: channel %s: payload is not valid UTF-8 text without NUL", channel)
	}
	return nil
}

func checkChannel(channel string) error {
	if channel == "" || len(channel) > maxChannel || !utf8.ValidString(channel) || strings.IndexByte(channel, 0) >= 0 {
		return fmt.Errorf("cluster: bus: channel %q: want 1 to %d bytes of UTF-8 text without NUL", channel, maxChannel)
	}
	return nil
}

// Publish notifies channel with payload, at once (in a transaction of its
// own).
func (b *Bus) Publish(ctx context.Context, channel, payload string) error {
	if err := checkNotify(channel, payload); err != nil {
		return err
	}
	_, err := b.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, payload)
	// An idle pooled connection that the server ended (a restart): the
	// statement never ran and the pool has dropped that connection; each
	// idle one may be stale, so at most once per connection, then on a
	// new one.
	for tries := b.pool.Config().MaxConns; err != nil && staleConn(err) && tries > 0; tries-- {
		_, err = b.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, payload)
	}
	if err != nil {
		return fmt.Errorf("cluster: bus: publish on %s: %w", channel, err)
	}
	return nil
}

// staleConn tells whether err says the statement never ran because its
// connection was dead: not sent at all, tried on a connection the driver
// had already closed, or refused by a server shutting
// down or restarted (SQLSTATE class 57P: admin or crash shutdown, cannot
// connect now).
func staleConn(err error) bool {
	if pgconn.SafeToRetry(err) || errors.Is(err, pgconn.ErrConnClosed) {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && strings.HasPrefix(pe.Code, "57P0")
}

// Notify notifies channel with payload when tx commits, and never if it
// rolls back: the change and its notification go together.
func Notify(ctx context.Context, tx pgx.Tx, channel, payload string) error {
	if err := checkNotify(channel, payload); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, payload); err != nil {
		return fmt.Errorf("cluster: bus: notify on %s: %w", channel, err)
	}
	return nil
}

// EventKind says what an Event is.
type EventKind int

// Kinds of Event.
const (
	// Listening: the subscription listens now (the first event).
	Listening EventKind = iota + 1
	// Reconnected: the subscription's connection died and it listens
	// again on a new one. Notifications sent meanwhile are lost: re-read
	// the state the notifications were about.
	Reconnected
	// Notification: a notification, with its channel and payload.
	Notification
)

func (k EventKind) String() string {
	switch k {
	case Listening:
		return "listening"
	case Reconnected:
		return "reconnected"
	case Notification:
		return "notification"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is what a subscription delivers.
type Event struct {
	Kind             EventKind
	Channel, Payload string // of a Notification
}

// Subscribe listens on channels until ctx ends, and delivers Listening
// once it listens, each notification, and Reconnected each time it listens
// again after its connection died (a PostgreSQL restart, a network cut
// found by the probe). It retries to connect without end, waiting from
// 50 ms up to 2 s between tries. The channel is closed when ctx ends. A
// subscriber that does not keep up holds the notifications back (they
// wait in the connection and in PostgreSQL's queue).
func (b *Bus) Subscribe(ctx context.Context, channels ...string) (<-chan Event, error) {
	if len(channels) == 0 {
		return nil, errors.New("cluster: bus: subscribe to no channel")
	}
	for _, ch := range channels {
		if err := checkChannel(ch); err != nil {
			return nil, err
		}
	}
	out := make(chan Event, 64)
	go b.listen(ctx, channels, out)
	return out, nil
}

func (b *Bus) listen(ctx context.Context, channels []string, out chan<- Event) {
	defer close(out)
	log := b.log.With("channels", channels)
	backoff := minBackoff
	first, failing := true, false
	for ctx.Err() == nil {
		conn, err := b.connect(ctx, channels)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				log.Warn("cluster: bus: cannot listen; retrying", "err", err)
				failing = true
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff, failing = minBackoff, false
		kind := Listening
		if !first {
			kind = Reconnected
			b.reconnects.Inc()
			log.Info("cluster: bus: listening again; notifications sent meanwhile are lost")
		}
		first = false
		if send(ctx, out, Event{Kind: kind}) {
			err = b.receive(ctx, conn, out)
		}
		closeConn(conn)
		if ctx.Err() != nil {
			return
		}
		log.Warn("cluster: bus: listening connection lost; listening again", "err", err)
	}
}

// connect opens a connection of its own with the pool's settings and
// listens on channels.
func (b *Bus) connect(ctx context.Context, channels []string) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, b.pool.Config().ConnConfig)
	if err != nil {
		return nil, err
	}
	for _, ch := range channels {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			closeConn(conn)
			return nil, fmt.Errorf("listen on %s: %w", ch, err)
		}
	}
	return conn, nil
}

// receive delivers notifications until the connection fails or ctx ends.
// A connection silent for the probe time is checked with a round trip.
func (b *Bus) receive(ctx context.Context, conn *pgx.Conn, out chan<- Event) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, b.probe)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			if !send(ctx, out, Event{Kind: Notification, Channel: n.Channel, Payload: n.Payload}) {
				return ctx.Err()
			}
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case !pgconn.Timeout(err):
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, b.probe)
		_, err = conn.Exec(pctx, "SELECT 1")
		cancel()
		if err != nil {
			return fmt.Errorf("probe: %w", err)
		}
	}
}

func send(ctx context.Context, out chan<- Event, ev Event) bool {
	select {
	case out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn.Close(ctx)
}
