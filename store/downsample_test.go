package store_test

import (
	"fmt"
	"testing"
	"time"

	"yujing"
	"yujing/store"
)

// TestDownsample: a series within the limit is kept whole; a longer one
// keeps each run's lowest and highest reading in time order, so a spike
// and a dip survive.
func TestDownsample(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	series := func(vals ...float64) []yujing.Reading {
		rs := make([]yujing.Reading, len(vals))
		for i, v := range vals {
			rs[i] = yujing.Reading{Value: v, Time: t0.Add(time.Duration(i) * time.Second)}
		}
		return rs
	}
	show := func(rs []yujing.Reading) string {
		out := ""
		for _, r := range rs {
			out += fmt.Sprintf("%d:%g ", int(r.Time.Sub(t0)/time.Second), r.Value)
		}
		return out
	}
	for _, c := range []struct {
		name  string
		in    []yujing.Reading
		limit int
		want  string
	}{
		{"within the limit", series(1, 2, 3), 4, "0:1 1:2 2:3 "},
		{"a spike and a dip", series(5, 5, 70, 5, 5, 5, 5, 0, 5, 5, 5, 5), 4, "0:5 2:70 6:5 7:0 "},
		{"a flat run keeps one", series(5, 5, 5, 5, 5, 5), 4, "0:5 3:5 "},
		{"a limit under 2 is 2", series(3, 1, 2, 9), 1, "1:1 3:9 "},
	} {
		if got := show(store.Downsample(c.in, c.limit)); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
