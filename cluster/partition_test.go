package cluster

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// The partition of a site must never change between releases: a site's
// partition picks the MQTT session that holds its queued messages. The
// values are FNV-1a (32 bits) computed independently.
func TestPartition(t *testing.T) {
	tests := []struct {
		site       string
		partitions int
		want       int
	}{
		{"", 32, 5},              // 2166136261, the offset basis
		{"plant-a", 32, 4},       // 4231229988
		{"site-001", 32, 16},     // 2168536880
		{"化工园区-3", 32, 25},       // 2363922521
		{"a", 32, 12},            // 3826002220
		{"a", 7, 5},              // 3826002220 mod 7
		{"plant-a", 1, 0},        // one partition: everything in it
		{"site-001", 4096, 3888}, // 2168536880 mod 4096
		{"化工园区-3", 7, 2},         // 2363922521 mod 7: the UTF-8 bytes are hashed
	}
	for _, tt := range tests {
		if got := Partition(tt.site, tt.partitions); got != tt.want {
			t.Errorf("Partition(%q, %d) = %d, want %d", tt.site, tt.partitions, got, tt.want)
		}
	}
}

func TestPartitionLeaseNames(t *testing.T) {
	tests := []struct {
		name string
		want int
	}{
		{"partition/0", 0},
		{"partition/31", 31},
		{"partition/-1", -1},
		{"partition/01", -1},
		{"partition/", -1},
		{"partition/x", -1},
		{"leader", -1},
	}
	for _, tt := range tests {
		if got := partitionOf(tt.name); got != tt.want {
			t.Errorf("partitionOf(%q) = %d, want %d", tt.name, got, tt.want)
		}
	}
	for p := range 40 {
		if got := partitionOf(PartitionLease(p)); got != p {
			t.Errorf("partitionOf(PartitionLease(%d)) = %d", p, got)
		}
	}
}

// FuzzPartitionOf: a lease name is read back as a partition only when it
// is exactly the name of that partition.
func FuzzPartitionOf(f *testing.F) {
	for _, s := range []string{"partition/0", "partition/31", "partition/-1", "partition/01", "leader", "partition/+1", "partition/9999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if p := partitionOf(name); p >= 0 && PartitionLease(p) != name {
			t.Fatalf("partitionOf(%q) = %d, whose name is %q", name, p, PartitionLease(p))
		}
	})
}

func TestShare(t *testing.T) {
	tests := []struct {
		partitions, live int
		want             []int // by rank
	}{
		{32, 1, []int{32}},
		{32, 2, []int{16, 16}},
		{32, 3, []int{11, 11, 10}},
		{32, 5, []int{7, 7, 6, 6, 6}},
		{3, 5, []int{1, 1, 1, 0, 0}},
		{1, 2, []int{1, 0}},
		{32, 32, slices.Repeat([]int{1}, 32)},
	}
	for _, tt := range tests {
		var got []int
		for r := range tt.live {
			got = append(got, share(tt.partitions, tt.live, r))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("share(%d, %d, rank) = %v, want %v", tt.partitions, tt.live, got, tt.want)
		}
	}
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name       string
		target     int
		held       []int // oldest taken first
		releasing  int
		free       []int
		offset     int
		wantRel    []int
		wantTake   int
		wantCandid []int
	}{
		{name: "at target", target: 2, held: []int{4, 1}, free: []int{0, 2}},
		{name: "surplus: newest first", target: 1, held: []int{4, 1, 7}, free: []int{0}, wantRel: []int{7, 1}},
		{name: "deficit: candidates from the offset on", target: 3, held: []int{4}, free: []int{0, 2, 5, 6}, offset: 5,
			wantTake: 2, wantCandid: []int{5, 6, 0, 2}},
		{name: "partitions being released count as held", target: 3, held: []int{4}, releasing: 2, free: []int{0}},
		{name: "deficit, nothing free", target: 3, held: []int{4}, wantTake: 2},
		{name: "target 0 gives all up", target: 0, held: []int{1, 2}, wantRel: []int{2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := plan(tt.target, tt.held, tt.releasing, tt.free, tt.offset, 8)
			if !slices.Equal(m.release, tt.wantRel) || m.take != tt.wantTake || !slices.Equal(m.candidates, tt.wantCandid) {
				t.Fatalf("plan = release %v, take %d of %v; want release %v, take %d of %v",
					m.release, m.take, m.candidates, tt.wantRel, tt.wantTake, tt.wantCandid)
			}
		})
	}
}

// simNode is a node of the balancing simulation.
type simNode struct {
	id        string
	offset    int
	held      []int // oldest taken first
	releasing []int // given up this round, released at its next turn
}

// simCluster runs the balancing of Node.balance on a lease table without a
// database: each round, every node (in a random order) releases what it
// gave up the round before, computes its share among the live nodes and
// plans, then gives up and takes.
type simCluster struct {
	partitions int
	nodes      []*simNode
	owner      map[int]string
	rng        *rand.Rand
	next       int
}

func (c *simCluster) join() {
	c.next++
	id := fmt.Sprintf("node-%02d", c.rng.IntN(100)) + fmt.Sprint(c.next)
	c.nodes = append(c.nodes, &simNode{id: id, offset: c.rng.IntN(c.partitions)})
}

// remove takes node i out; its leases are freed (a release, or an expiry).
func (c *simCluster) remove(i int) {
	n := c.nodes[i]
	for _, p := range append(n.held, n.releasing...) {
		delete(c.owner, p)
	}
	c.nodes = slices.Delete(c.nodes, i, i+1)
}

func (c *simCluster) round(t *testing.T) {
	ids := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		ids[i] = n.id
	}
	slices.Sort(ids)
	for _, i := range c.rng.Perm(len(c.nodes)) {
		n := c.nodes[i]
		for _, p := range n.releasing {
			delete(c.owner, p)
		}
		n.releasing = nil
		rank, _ := slices.BinarySearch(ids, n.id)
		target := share(c.partitions, len(ids), rank)
		var free []int
		for p := range c.partitions {
			if _, ok := c.owner[p]; !ok {
				free = append(free, p)
			}
		}
		m := plan(target, n.held, len(n.releasing), free, n.offset, c.partitions)
		if len(m.release) > 0 && (m.take > 0 || len(m.candidates) > 0) {
			t.Fatalf("%s: plan both releases %v and takes %d", n.id, m.release, m.take)
		}
		for _, p := range m.release {
			i := slices.Index(n.held, p)
			if i < 0 {
				t.Fatalf("%s: plan releases %d, which it does not hold (%v)", n.id, p, n.held)
			}
			n.held = slices.Delete(n.held, i, i+1)
			n.releasing = append(n.releasing, p)
		}
		got := 0
		for _, p := range m.candidates {
			if got == m.take {
				break
			}
			if _, ok := c.owner[p]; ok {
				t.Fatalf("%s: candidate %d is not free", n.id, p)
			}
			c.owner[p] = n.id
			n.held = append(n.held, p)
			got++
		}
	}
}

// balanced fails unless every partition has one owner and every node holds
// exactly its share.
func (c *simCluster) balanced() error {
	ids := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		ids[i] = n.id
	}
	slices.Sort(ids)
	total := 0
	for _, n := range c.nodes {
		rank, _ := slices.BinarySearch(ids, n.id)
		if want := share(c.partitions, len(ids), rank); len(n.held) != want || len(n.releasing) > 0 {
			return fmt.Errorf("%s holds %d (releasing %d), share %d", n.id, len(n.held), len(n.releasing), want)
		}
		for _, p := range n.held {
			if c.owner[p] != n.id {
				return fmt.Errorf("%s holds %d, owned by %q", n.id, p, c.owner[p])
			}
		}
		total += len(n.held)
	}
	if len(c.nodes) > 0 && (total != c.partitions || len(c.owner) != c.partitions) {
		return fmt.Errorf("%d partitions held (%d owned), want %d", total, len(c.owner), c.partitions)
	}
	return nil
}

// convergeRounds is how many rounds after the last join or departure the
// simulated cluster must be balanced in: a surplus is given up in one
// round, released at the node's next turn and taken at the taker's next
// turn.
const convergeRounds = 3

// FuzzBalance: whatever nodes join, leave or die, in whatever order the
// nodes take their turns, every partition ends with exactly one owner and
// every node with its share (which differ by at most one) within
// convergeRounds rounds, and no plan releases what it does not hold or
// takes what is not free.
func FuzzBalance(f *testing.F) {
	f.Add([]byte{31, 2, 0, 0, 1, 2, 3})
	f.Add([]byte{0, 0, 0, 0, 0})
	f.Add([]byte{63, 5, 2, 6, 10, 1, 0, 0, 0})
	f.Add([]byte{2, 7, 1, 5, 9, 13})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) < 2 || len(ops) > 64 {
			return
		}
		c := &simCluster{partitions: 1 + int(ops[0])%64, owner: map[int]string{},
			rng: rand.New(rand.NewPCG(uint64(len(ops)), uint64(ops[1])))}
		for range 1 + int(ops[1])%6 {
			c.join()
		}
		for _, op := range ops[2:] {
			switch op % 4 {
			case 0:
				c.join()
			case 1, 2: // a node leaves or dies: its leases become free
				if len(c.nodes) > 0 {
					c.remove(int(op>>2) % len(c.nodes))
				}
			case 3: // nothing changes
			}
			for range convergeRounds {
				c.round(t)
			}
			if err := c.balanced(); err != nil {
				t.Fatalf("%d partitions, %d nodes, after op %d: %v", c.partitions, len(c.nodes), op, err)
			}
		}
	})
}
