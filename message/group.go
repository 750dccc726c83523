package message

import (
	"fmt"
	"strings"

	"yujing"
)

// MaxGroupListed is how many warnings GroupText lists before it only
// counts the rest.
const MaxGroupListed = 20

// GroupText is the combined text of a grouped delivery, the note a
// channel shows for a burst of warnings from one site sent as one message
// (notify.Options.GroupText): the site, how many, then each warning in the
// order given — colour, sensor, value — with site and sensor names from
// WithNames:
//
//	甲燃气站 3 条预警：橙色 一号厨房可燃气体探测器 45.25%LEL；黄色 二号厨房可燃气体探测器 31%LEL；黄色 gas-03 32%LEL
//	plant-a: 2 warnings: ORANGE gas-01 45.25%LEL; YELLOW gas-02 31%LEL
//
// After MaxGroupListed warnings it says how many there are in all.
func (r *Renderer) GroupText(members []yujing.Call) string {
	if len(members) == 0 {
		return ""
	}
	zh := r.lang == LangZH
	var b strings.Builder
	first := r.data(members[0])
	if zh {
		fmt.Fprintf(&b, "%s %d 条预警：", first.Site, len(members))
	} else {
		fmt.Fprintf(&b, "%s: %d warnings: ", first.Site, len(members))
	}
	for i, m := range members {
		if i == MaxGroupListed {
			if zh {
				fmt.Fprintf(&b, "；…共 %d 条", len(members))
			} else {
				fmt.Fprintf(&b, "; … %d in all", len(members))
			}
			break
		}
		if i > 0 {
			if zh {
				b.WriteString("；")
			} else {
				b.WriteString("; ")
			}
		}
		d := r.data(m)
		fmt.Fprintf(&b, "%s %s %s", d.Colour, d.Sensor, d.Value)
	}
	return b.String()
}
