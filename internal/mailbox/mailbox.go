// Package mailbox is an ordered queue between two stages that never
// blocks the one that fills it: the alert lifecycle hands every saved
// change to call-and-answer through one, notify every call's outcome.
// A Box is what a buffered channel would be if it could not fill up: Put
// appends and returns at once, Ready has a value whenever there is
// something to Take, and Take returns everything put since the last Take,
// in order.
package mailbox

import "sync"

// Box is an unbounded first-in first-out queue of T. The zero value is not
// usable; make one with New. It is safe for concurrent use.
type Box[T any] struct {
	mu    sync.Mutex
	items []T
	ready chan struct{}
}

// New returns an empty Box.
func New[T any]() *Box[T] {
	return &Box[T]{ready: make(chan struct{}, 1)}
}

// Put appends v. It never blocks.
func (b *Box[T]) Put(v T) {
	b.mu.Lock()
	b.items = append(b.items, v)
	b.mu.Unlock()
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

// Ready has a value after a Put, until the next Take: a consumer waits on
// it (with its other channels), then Takes.
func (b *Box[T]) Ready() <-chan struct{} { return b.ready }

// Take removes and returns everything put so far, oldest first; nil when
// the Box is empty.
func (b *Box[T]) Take() []T {
	b.mu.Lock()
	defer b.mu.Unlock()
	items := b.items
	b.items = nil
	return items
}

// Len is how many values wait to be taken.
func (b *Box[T]) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items)
}
