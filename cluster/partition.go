package cluster

import (
	"hash/fnv"
	"strconv"
	"strings"
)

// maxPartitions bounds Config.Partitions: every node reads every
// partition's lease at each renewal.
const maxPartitions = 4096

// LeaderLease is the name of the leader's lease.
const LeaderLease = "leader"

const partitionPrefix = "partition/"

// Partition returns the partition of site siteID among partitions (> 0):
// FNV-1a (32 bits) of the id, modulo partitions. Every sensor belongs to its
// site's partition.
func Partition(siteID string, partitions int) int {
	h := fnv.New32a()
	h.Write([]byte(siteID))
	return int(h.Sum32() % uint32(partitions))
}

// PartitionLease returns the lease name of partition p: "partition/<p>".
func PartitionLease(p int) string { return partitionPrefix + strconv.Itoa(p) }

// partitionOf returns the partition a lease name stands for, or -1 when it
// is not a partition's.
func partitionOf(name string) int {
	s, ok := strings.CutPrefix(name, partitionPrefix)
	if !ok {
		return -1
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 0 || strconv.Itoa(p) != s {
		return -1
	}
	return p
}

// share returns how many of partitions the node at rank (0-based, the
// position of its id among the live nodes' ids in byte order) of live
// nodes aims to hold: partitions/live, plus one for the first
// partitions%live ranks. The shares of all ranks add up to partitions and
// differ by at most one; none exceeds ceil(partitions/live).
func share(partitions, live, rank int) int {
	if live < 1 {
		return partitions
	}
	s := partitions / live
	if rank < partitions%live {
		s++
	}
	return s
}

// moves is what a node does with its partitions in one round.
type moves struct {
	// release lists the partitions to give up, newest taken first.
	release []int
	// take is how many partitions to take, trying candidates in order
	// until that many are taken or none is left.
	take       int
	candidates []int
}

// plan decides one round's moves of a node that aims for target
// partitions, holds held (oldest taken first, not counting those it is
// releasing), is releasing releasing more, and sees free (no holder, or an
// expired one), among partitions in all. Candidates are tried from the
// node's own offset on, so that nodes taking at the same time mostly try
// different partitions.
func plan(target int, held []int, releasing int, free []int, offset, partitions int) moves {
	var m moves
	if surplus := len(held) - target; surplus > 0 {
		for i := len(held) - 1; i >= len(held)-surplus; i-- {
			m.release = append(m.release, held[i])
		}
		return m
	}
	m.take = target - len(held) - releasing
	if m.take <= 0 || len(free) == 0 {
		m.take = max(m.take, 0)
		return m
	}
	isFree := make([]bool, partitions)
	for _, p := range free {
		if p >= 0 && p < partitions {
			isFree[p] = true
		}
	}
	for i := range partitions {
		if p := (offset + i) % partitions; isFree[p] {
			m.candidates = append(m.candidates, p)
		}
	}
	return m
}
