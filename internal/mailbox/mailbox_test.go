package mailbox_test

import (
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"yujing/internal/mailbox"
)

// Put never blocks, whatever is queued; Take returns what was put, in
// order, and empties the Box.
func TestPutTakeInOrder(t *testing.T) {
	b := mailbox.New[int]()
	if got := b.Take(); got != nil {
		t.Fatalf("empty box took %v", got)
	}
	for i := range 10000 {
		b.Put(i)
	}
	if b.Len() != 10000 {
		t.Fatalf("Len %d, want 10000", b.Len())
	}
	got := b.Take()
	if len(got) != 10000 || !slices.IsSorted(got) || got[0] != 0 {
		t.Fatalf("took %d values, sorted %v", len(got), slices.IsSorted(got))
	}
	if b.Len() != 0 || b.Take() != nil {
		t.Error("Take left values behind")
	}
}

// Ready wakes a consumer waiting for the first Put, and a Put between its
// wake-up and its Take is not lost: Ready has a value again.
func TestReadyWakesConsumer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mailbox.New[string]()
		var got []string
		var wg sync.WaitGroup
		done := make(chan struct{})
		wg.Go(func() {
			for len(got) < 3 {
				select {
				case <-b.Ready():
					got = append(got, b.Take()...)
				case <-done:
					return
				}
			}
		})
		synctest.Wait() // the consumer waits
		b.Put("a")
		synctest.Wait()
		b.Put("b")
		b.Put("c")
		synctest.Wait()
		close(done)
		wg.Wait()
		if !slices.Equal(got, []string{"a", "b", "c"}) {
			t.Errorf("consumer got %v, want [a b c]", got)
		}
	})
}

// Many producers at once: every value arrives once.
func TestConcurrentPut(t *testing.T) {
	b := mailbox.New[int]()
	var wg sync.WaitGroup
	for p := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				b.Put(p*1000 + i)
			}
		})
	}
	var got []int
	for len(got) < 8000 {
		<-b.Ready()
		got = append(got, b.Take()...)
	}
	wg.Wait()
	got = append(got, b.Take()...)
	slices.Sort(got)
	if n := len(slices.Compact(got)); len(got) != 8000 || n != 8000 {
		t.Errorf("got %d values, %d distinct; want 8000 distinct", len(got), n)
	}
}
