package table

import (
	"strings"
	"testing"
)

func TestWidth(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{"", 0},
		{"GT-101", 6},
		{"罐区可燃气体探测器", 18},
		{"1号储罐（甲醇）", 15}, // full-width parentheses
		{"%LEL", 4},
		{"ｱ", 1}, // half-width katakana
	} {
		if got := Width(c.in); got != c.want {
			t.Errorf("Width(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

// TestTableAlignsChinese: every column starts at the same terminal cell on
// every row, Chinese or not, and no line ends in spaces.
func TestTableAlignsChinese(t *testing.T) {
	var b strings.Builder
	tb := New(&b, "ID", "NAME", "STATUS")
	tb.Row("GT-101", "罐区可燃气体探测器", "offline")
	tb.Row("TK-2", "tank", "")
	tb.Row("WL-401", "厂外河道水位", "online")
	if err := tb.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"ID      NAME                STATUS\n" +
		"GT-101  罐区可燃气体探测器  offline\n" +
		"TK-2    tank\n" +
		"WL-401  厂外河道水位        online\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	// Flush forgets the rows: a second table starts afresh.
	b.Reset()
	tb.Row("a", "b")
	tb.Flush()
	if b.String() != "a  b\n" {
		t.Errorf("second flush: %q", b.String())
	}
}
