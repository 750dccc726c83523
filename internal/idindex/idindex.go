// Package idindex finds an item's place in a list by its id: an
// open-addressed hash table of places (linear probing, at most half
// full). It costs 4 to 8 bytes per item where a map[string]int32 takes
// about 40 and a second copy of each id: the ids stay in the list, and
// key(p) returns the id at place p. A province's million sensors are
// found this way in the registry and in the rule engine.
package idindex

import (
	"hash/maphash"
	"math/bits"
)

// Index maps ids to places; the zero Index holds nothing.
type Index struct {
	seed  maphash.Seed
	slots []int32 // place + 1; 0 is an empty slot
	mask  uint64
}

// New returns an index with room for n places.
func New(n int) Index {
	size := 8
	if n > 4 {
		size = 1 << bits.Len(uint(2*n-1)) // a power of two ≥ 2n
	}
	return Index{seed: maphash.MakeSeed(), slots: make([]int32, size), mask: uint64(size - 1)}
}

// Cap returns how many places the index has room for.
func (x *Index) Cap() int { return len(x.slots) / 2 }

// Find returns the place of id.
func (x *Index) Find(id string, key func(int32) string) (int32, bool) {
	if len(x.slots) == 0 {
		return 0, false
	}
	for h := maphash.String(x.seed, id) & x.mask; ; h = (h + 1) & x.mask {
		p := x.slots[h]
		if p == 0 {
			return 0, false
		}
		if key(p-1) == id {
			return p - 1, true
		}
	}
}

// Insert adds place p for id; when id is there already, it returns that
// place and false. The index must have room (Cap).
func (x *Index) Insert(id string, p int32, key func(int32) string) (int32, bool) {
	for h := maphash.String(x.seed, id) & x.mask; ; h = (h + 1) & x.mask {
		q := x.slots[h]
		if q == 0 {
			x.slots[h] = p + 1
			return p, true
		}
		if key(q-1) == id {
			return q - 1, false
		}
	}
}
