package ingest

import (
	"hash/maphash"
	"math/bits"
)

// idIndex finds a sensor's place in the catalogue by its id: an
// open-addressed hash table of places (linear probing, at most half
// full), 4 to 8 bytes per sensor where a map[string]int32 takes about 40
// and a second copy of nothing. The ids themselves stay where the
// catalogue keeps them; key(p) returns the id at place p.
type idIndex struct {
	seed  maphash.Seed
	slots []int32 // place + 1; 0 is an empty slot
	mask  uint64
}

func newIDIndex(n int) idIndex {
	size := 8
	if n > 4 {
		size = 1 << bits.Len(uint(2*n-1)) // a power of two ≥ 2n
	}
	return idIndex{seed: maphash.MakeSeed(), slots: make([]int32, size), mask: uint64(size - 1)}
}

// find returns the place of id.
func (x *idIndex) find(id string, key func(int32) string) (int32, bool) {
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

// insert adds place p for id; when id is there already, it returns that
// place and false. The table must have room: newIDIndex(n) holds n.
func (x *idIndex) insert(id string, p int32, key func(int32) string) (int32, bool) {
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
