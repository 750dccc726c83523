package notify

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"yujing"
)

// Group is one delivery that stands for several calls of one site, person
// and channel made within Options.GroupWait: a burst of warnings goes out
// as one message listing them, not one message each.
type Group struct {
	// Call is what is sent: the first member (the highest level, then the
	// oldest) with its Alert.Message replaced by a text listing every
	// member (Options.GroupText). Its ID, the first member's, is the
	// delivery's de-duplication key.
	Call yujing.Call
	// Members are the calls the delivery stands for, as they were made,
	// highest level first, then oldest first. Each is marked sent or
	// failed with the delivery.
	Members []yujing.Call
}

// GroupSender is implemented by a Channel that can show a group: the
// Dispatcher groups calls only for such channels, and calls SendGroup
// (instead of Send or SendID) for a group of two or more calls. A channel
// whose message cannot show the combined text (a template SMS, a voice
// call reading fixed variables) must not implement it: each of its calls
// goes out on its own, so that what a person was told matches the record.
// The rules of Send apply; providerID is given to every member.
type GroupSender interface {
	SendGroup(ctx context.Context, g Group) (providerID string, err error)
}

// Groupable reports whether a call may be held to be grouped: a warning
// raised or raised again below red. Red warnings, upgrades, every other
// event and every call that expects an answer (call-and-answer: its own
// link and deadline) go out at once.
func Groupable(c yujing.Call) bool {
	return (c.Event == yujing.EventRaised || c.Event == yujing.EventReopened) &&
		c.Alert.Level < yujing.Red && c.AnswerURL == "" && c.Escalation == 0
}

// GroupKey is what groups calls: the alert's site, the person and the
// channel.
func GroupKey(c yujing.Call) string {
	return c.Alert.Site + "\x00" + c.Person.ID + "\x00" + c.Channel
}

// SortGroup orders the members of a group as they are listed: highest
// level first, then oldest (Created), then by call id.
func SortGroup(members []yujing.Call) {
	slices.SortStableFunc(members, func(a, b yujing.Call) int {
		if c := cmp.Compare(b.Alert.Level, a.Alert.Level); c != 0 {
			return c
		}
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// MaxGroupListed is how many members the default group text lists before
// it only counts them all ("；…共 25 条").
const MaxGroupListed = 20

// DefaultGroupText is the combined text of a group when Options.GroupText
// is nil, in Chinese with ids:
//
//	plant-a 3 条预警：橙色 GT-101 45%LEL；黄色 GT-102 30%LEL；黄色 GT-103 28%LEL
//
// cmd/yujing uses message.Renderer.GroupText, which shows names and
// follows the configured language.
func DefaultGroupText(members []yujing.Call) string {
	if len(members) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d 条预警：", members[0].Alert.Site, len(members))
	for i, m := range members {
		if i == MaxGroupListed {
			fmt.Fprintf(&b, "；…共 %d 条", len(members))
			break
		}
		if i > 0 {
			b.WriteString("；")
		}
		a := &m.Alert
		colour, _, _ := strings.Cut(a.Level.Chinese(), "(")
		fmt.Fprintf(&b, "%s %s %s%s", colour, a.Sensor, strconv.FormatFloat(a.Value, 'f', -1, 64), a.Unit)
	}
	return b.String()
}

// held is a group being held: the calls of one key that arrived since the
// first of them, sent as one delivery when its timer fires.
type held struct {
	key   string
	calls []yujing.Call
	due   time.Time   // when the first arrival's wait ends
	timer *time.Timer // fires release; nil once taken
}

// holding is a lane's groups being held, by group key.
type holding struct {
	mu     sync.Mutex
	groups map[string]*held
	calls  int // calls held, for the queue depth
}

// add holds c in the group of its key, starting one (with start, which
// arms its timer) when there is none. A call already held (the same id)
// is not added twice.
func (h *holding) add(c yujing.Call, due time.Time, start func(*held) *time.Timer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	key := GroupKey(c)
	g := h.groups[key]
	if g == nil {
		g = &held{key: key, due: due}
		h.groups[key] = g
		g.timer = start(g)
	}
	for _, x := range g.calls {
		if x.ID == c.ID {
			return
		}
	}
	g.calls = append(g.calls, c)
	h.calls++
}

// take removes g if it is still held, and reports whether it was.
func (h *holding) take(g *held) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.groups[g.key] != g {
		return false
	}
	h.remove(g)
	return true
}

// takeKey removes and returns the group held under key, or nil.
func (h *holding) takeKey(key string) *held {
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.groups[key]
	if g != nil {
		h.remove(g)
	}
	return g
}

// takeAll removes and returns every group held, oldest first.
func (h *holding) takeAll() []*held {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*held, 0, len(h.groups))
	for _, g := range h.groups {
		out = append(out, g)
	}
	for _, g := range out {
		h.remove(g)
	}
	slices.SortFunc(out, func(a, b *held) int { return a.due.Compare(b.due) })
	return out
}

// remove drops g and stops its timer. Callers hold mu.
func (h *holding) remove(g *held) {
	delete(h.groups, g.key)
	h.calls -= len(g.calls)
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
}

// putBack holds g again after it could not be queued: merged into a group
// of the same key held meanwhile, or on its own with a new timer (from
// start) that fires at once when g is already due.
func (h *holding) putBack(g *held, start func(*held) *time.Timer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls += len(g.calls)
	if cur := h.groups[g.key]; cur != nil {
		cur.calls = append(g.calls, cur.calls...)
		return
	}
	h.groups[g.key] = g
	g.timer = start(g)
}

// depth is the number of calls held.
func (h *holding) depth() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}
