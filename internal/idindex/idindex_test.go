package idindex

import (
	"fmt"
	"testing"
)

// TestIndex: every id inserted is found at its place, others are not,
// and inserting an id again returns its place.
func TestIndex(t *testing.T) {
	for _, n := range []int{0, 1, 5, 100, 1000} {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("S%d", i)
		}
		key := func(p int32) string { return ids[p] }
		x := New(n)
		if x.Cap() < n {
			t.Fatalf("n=%d: room for %d", n, x.Cap())
		}
		for i, id := range ids {
			if p, fresh := x.Insert(id, int32(i), key); !fresh || p != int32(i) {
				t.Fatalf("n=%d: insert %s = %d, %v", n, id, p, fresh)
			}
		}
		for i, id := range ids {
			if p, ok := x.Find(id, key); !ok || p != int32(i) {
				t.Errorf("n=%d: find %s = %d, %v", n, id, p, ok)
			}
			if p, fresh := x.Insert(id, 7, key); fresh || p != int32(i) {
				t.Errorf("n=%d: insert %s again = %d, %v", n, id, p, fresh)
			}
		}
		if _, ok := x.Find("nope", key); ok {
			t.Errorf("n=%d: found an id never inserted", n)
		}
	}
	var zero Index
	if _, ok := zero.Find("a", func(int32) string { return "a" }); ok {
		t.Error("the zero index found something")
	}
}

func BenchmarkFind(b *testing.B) {
	const n = 1_000_000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("G%07d", i)
	}
	key := func(p int32) string { return ids[p] }
	x := New(n)
	for i, id := range ids {
		x.Insert(id, int32(i), key)
	}
	i := 0
	for b.Loop() {
		if _, ok := x.Find(ids[i%n], key); !ok {
			b.Fatal("not found")
		}
		i += 7919
	}
}

// BenchmarkFindMap is BenchmarkFind with a map, for comparison.
func BenchmarkFindMap(b *testing.B) {
	const n = 1_000_000
	ids := make([]string, n)
	m := make(map[string]int32, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("G%07d", i)
		m[ids[i]] = int32(i)
	}
	i := 0
	for b.Loop() {
		if _, ok := m[ids[i%n]]; !ok {
			b.Fatal("not found")
		}
		i += 7919
	}
}
