package store

import "yujing"

// Downsample returns at most limit of rs (oldest first), limit at least 2.
// A longer series is cut into limit/2 runs of consecutive readings and
// each run keeps its lowest and its highest reading, in time order: a
// short spike over a threshold is kept, where averaging would flatten it.
// The console's charts and the rules' previews both read through it.
func Downsample(rs []yujing.Reading, limit int) []yujing.Reading {
	limit = max(limit, 2)
	if len(rs) <= limit {
		return rs
	}
	runs := limit / 2
	out := make([]yujing.Reading, 0, limit)
	n := len(rs)
	for i := range runs {
		lo, hi := i*n/runs, (i+1)*n/runs
		if lo >= hi {
			continue
		}
		minAt, maxAt := lo, lo
		for j := lo + 1; j < hi; j++ {
			if rs[j].Value < rs[minAt].Value {
				minAt = j
			}
			if rs[j].Value > rs[maxAt].Value {
				maxAt = j
			}
		}
		first, second := min(minAt, maxAt), max(minAt, maxAt)
		out = append(out, rs[first])
		if second != first {
			out = append(out, rs[second])
		}
	}
	return out
}
