package ingest

import (
	"context"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// noSeq marks a message that is not acknowledged (QoS 0): it takes no
// place in the acknowledgement order.
const noSeq = ^uint64(0)

// ackOrder acknowledges QoS 1 messages in the order they arrived while the
// shards finish them in any order. Each message gets a sequence number when
// it is received; a message is acknowledged once it is done (its readings
// durable, or it was refused) and every message received before it has been
// acknowledged. Mosquitto finds the message of a PUBACK by walking its list
// of messages in flight from the oldest, so acknowledgements in arrival
// order cost it one step each, out of order many (BENCHMARKS.md).
//
// The messages between the oldest unacknowledged one and the newest are
// held in a ring of fixed size: when it is full, add blocks until the
// oldest is acknowledged (back-pressure to the broker, as a full shard
// queue), so one stuck shard cannot make the others pile up durable but
// unacknowledged messages without bound.
type ackOrder struct {
	mu     sync.Mutex
	ring   []ackSlot
	mask   uint64
	next   uint64        // sequence number of the oldest message not yet acknowledged
	head   uint64        // sequence number the next message gets
	space  chan struct{} // signalled when the ring has room again and someone waits for it
	idle   chan struct{} // signalled when every message received is acknowledged
	waits  bool          // add waits for room (guarded by mu)
	ackMu  sync.Mutex    // held while acknowledging, so acknowledgements leave in order
	acking []mqtt.Message
	acked  atomic.Int64 // acknowledgements handed to paho
}

type ackSlot struct {
	m    mqtt.Message
	done bool
}

// newAckOrder returns an order with room for at least size unacknowledged
// messages.
func newAckOrder(size int) *ackOrder {
	n := uint64(1) << bits.Len64(uint64(max(size, 2)-1))
	return &ackOrder{ring: make([]ackSlot, n), mask: n - 1, space: make(chan struct{}, 1), idle: make(chan struct{}, 1)}
}

// add gives m its sequence number. It waits while the ring is full, until
// quit is closed (then it returns noSeq and false: m is not taken).
func (a *ackOrder) add(m mqtt.Message, quit <-chan struct{}) (uint64, bool) {
	for {
		a.mu.Lock()
		if a.head-a.next < uint64(len(a.ring)) {
			seq := a.head
			a.ring[seq&a.mask] = ackSlot{m: m}
			a.head++
			a.mu.Unlock()
			return seq, true
		}
		a.waits = true
		a.mu.Unlock()
		select {
		case <-a.space:
		case <-quit:
			return noSeq, false
		}
	}
}

// done marks messages done and acknowledges every message of the done
// prefix. noSeq entries are ignored. Safe for concurrent use: whichever
// caller finds the prefix ready acknowledges it, the others return.
func (a *ackOrder) done(seqs ...uint64) {
	a.mu.Lock()
	for _, s := range seqs {
		if s != noSeq {
			a.ring[s&a.mask].done = true
		}
	}
	ready := a.ring[a.next&a.mask].done && a.next < a.head
	a.mu.Unlock()
	for ready && a.ackMu.TryLock() {
		// Take the prefix and acknowledge it outside mu, so receiving
		// goes on meanwhile; ackMu keeps another caller from sending a
		// later prefix before this one.
		a.mu.Lock()
		for a.next < a.head && a.ring[a.next&a.mask].done {
			sl := &a.ring[a.next&a.mask]
			a.acking = append(a.acking, sl.m)
			*sl = ackSlot{}
			a.next++
		}
		if a.waits && len(a.acking) > 0 {
			a.waits = false
			select {
			case a.space <- struct{}{}:
			default:
			}
		}
		empty := a.next == a.head
		a.mu.Unlock()
		for i, m := range a.acking {
			m.Ack()
			a.acking[i] = nil
		}
		a.acked.Add(int64(len(a.acking)))
		a.acking = a.acking[:0]
		if empty {
			// After the acknowledgements: waitIdle's caller may
			// disconnect once it sees this.
			select {
			case a.idle <- struct{}{}:
			default:
			}
		}
		a.ackMu.Unlock()
		// Another caller may have completed the prefix while this one
		// held ackMu and given up: look again.
		a.mu.Lock()
		ready = a.next < a.head && a.ring[a.next&a.mask].done
		a.mu.Unlock()
	}
}

// pending returns how many messages are received and not yet acknowledged.
func (a *ackOrder) pending() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return int(a.head - a.next)
}

// waitIdle returns once every message received so far is acknowledged, or
// with ctx's error. Messages received meanwhile must be waited for too:
// the caller stops adding before it waits.
func (a *ackOrder) waitIdle(ctx context.Context) error {
	for {
		a.mu.Lock()
		empty := a.next == a.head
		a.mu.Unlock()
		if empty {
			a.sent()
			return nil
		}
		select {
		case <-a.idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// sent returns once whoever took the last prefix has sent it.
func (a *ackOrder) sent() {
	a.ackMu.Lock()
	defer a.ackMu.Unlock()
}

// ackRef is a message's place in the acknowledgement order of its client.
type ackRef struct {
	acks *ackOrder
	seq  uint64
}

// doneAll marks the messages refs name done, in one call per
// acknowledgement order (one client's messages usually fill a batch);
// seqs is scratch space, returned for reuse.
func doneAll(refs []ackRef, seqs []uint64) []uint64 {
	for len(refs) > 0 {
		a := refs[0].acks
		seqs = seqs[:0]
		rest := refs[:0]
		for _, r := range refs {
			if r.acks == a {
				seqs = append(seqs, r.seq)
			} else {
				rest = append(rest, r)
			}
		}
		a.done(seqs...)
		refs = rest
	}
	return seqs
}

// source is one MQTT client session the subscriber takes messages from:
// the shared client of Start, or a partition's (TakePartition). Each has
// its own acknowledgement order: a client acknowledges only what it
// received, in the order it received it.
type source struct {
	part   int // the partition it serves; -1 for the shared client
	acks   *ackOrder
	lastAt time.Time // newest receive time given (its client's router goroutine only)

	quit     chan struct{} // closed when the subscriber stops taking its messages
	quitOnce sync.Once
	mu       sync.RWMutex // guards stopping against sends on the shards
	stopping bool
	// dropped: its messages still queued are skipped, never
	// acknowledged (the partition went to another node).
	dropped atomic.Bool
	// pubacks counts the PUBACKs its connection took to write (flushed
	// before any later packet, DISCONNECT included): a partition given up
	// waits until they reach acks.acked, since paho writes
	// acknowledgements from a queue of their own that its DISCONNECT does
	// not wait for.
	pubacks  atomic.Int64
	counting atomic.Bool // pubacks is counted (the buffered connection)
}

func newSource(part, size int) *source {
	return &source{part: part, acks: newAckOrder(size), quit: make(chan struct{})}
}

// stop stops taking messages from the source's client: a receive waiting
// for room gives up (its message stays unacknowledged).
func (src *source) stop() {
	src.quitOnce.Do(func() { close(src.quit) })
	src.mu.Lock()
	src.stopping = true
	src.mu.Unlock()
}

// receiveTime returns now, or later than any time given before, so that
// two messages without their own timestamps never get the same time (they
// would collide in the store, keyed by sensor, metric and time). paho
// calls the handler of one client on one goroutine, in order; a sensor's
// topics are all on one client.
func (src *source) receiveTime(now time.Time) time.Time {
	if !now.After(src.lastAt) {
		now = src.lastAt.Add(time.Nanosecond)
	}
	src.lastAt = now
	return now
}
