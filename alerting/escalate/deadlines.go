package escalate

import (
	"container/heap"
	"slices"
	"time"
)

// The deadline index: each active escalation is kept under the next
// moment something of it comes due — a step's deadline, or before it the
// moment a call of the step does (a ladder's next channel after its wait,
// a reminder) — so that Step visits only the escalations whose moment
// has come, plus those that just changed (started, restored, policies
// reloaded), and Run sleeps until the earliest moment. With 50 000
// escalations waiting, a Step with nothing due visits none.

// slot is an escalation's place in the index.
type slot struct {
	id int64
	at time.Time
	i  int // its index in the heap
}

// deadlines is a min-heap of slots by time (then id), with each
// escalation's slot by id.
type deadlines struct {
	h    slotHeap
	byID map[int64]*slot
}

type slotHeap []*slot

func (h slotHeap) Len() int { return len(h) }
func (h slotHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].id < h[j].id
}
func (h slotHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].i, h[j].i = i, j }
func (h *slotHeap) Push(x any) {
	s := x.(*slot)
	s.i = len(*h)
	*h = append(*h, s)
}
func (h *slotHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return s
}

// set keeps escalation id under at.
func (d *deadlines) set(id int64, at time.Time) {
	if d.byID == nil {
		d.byID = map[int64]*slot{}
	}
	if s, ok := d.byID[id]; ok {
		s.at = at
		heap.Fix(&d.h, s.i)
		return
	}
	s := &slot{id: id, at: at}
	d.byID[id] = s
	heap.Push(&d.h, s)
}

// remove takes escalation id out of the index.
func (d *deadlines) remove(id int64) {
	if s, ok := d.byID[id]; ok {
		heap.Remove(&d.h, s.i)
		delete(d.byID, id)
	}
}

// due takes out the escalations whose moment is at or before now.
func (d *deadlines) due(now time.Time, ids []int64) []int64 {
	for len(d.h) > 0 && !d.h[0].at.After(now) {
		s := heap.Pop(&d.h).(*slot)
		delete(d.byID, s.id)
		ids = append(ids, s.id)
	}
	return ids
}

// next is the earliest moment in the index; ok false when it is empty.
func (d *deadlines) next() (time.Time, bool) {
	if len(d.h) == 0 {
		return time.Time{}, false
	}
	return d.h[0].at, true
}

// changedLocked marks an escalation to be visited by the next Step
// (e.mu held): started, restored, or its policy reloaded.
func (e *Engine) changedLocked(id int64) {
	e.index.remove(id)
	e.changed[id] = struct{}{}
}

// dueLocked takes out the escalations Step must visit at now (e.mu held):
// those that changed and those whose moment has come, by id.
func (e *Engine) dueLocked(now time.Time) []int64 {
	ids := make([]int64, 0, len(e.changed))
	for id := range e.changed {
		ids = append(ids, id)
	}
	clear(e.changed)
	ids = e.index.due(now, ids)
	slices.Sort(ids)
	return slices.Compact(ids)
}

// schedule puts an escalation Step visited back in the index under its
// next moment after now; retry (a call not accepted, the store failing)
// brings it back after a tick. An escalation that ended stays out.
func (e *Engine) schedule(id int64, now time.Time, retry bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.active[id]
	if !ok {
		return
	}
	if _, again := e.changed[id]; again {
		return // changed meanwhile: the next Step visits it
	}
	at, ok := r.next(now)
	if retry || !ok {
		at = now.Add(e.tick)
	}
	e.index.set(id, at)
}

// next is the first moment after now at which something of r comes due:
// a call of its current step (a channel of a ladder after its wait, a
// reminder; the double report's with the first step of the first round)
// or its deadline; ok false when none is after now (the deadline passed:
// Step could not move it on).
func (r *run) next(now time.Time) (time.Time, bool) {
	if r.policy == nil || r.esc.Step < 1 || r.esc.Step > len(r.policy.Steps) {
		return time.Time{}, false
	}
	deadline := r.deadline()
	var at time.Time
	consider := func(t time.Time) {
		if t.After(now) && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	consider(deadline)
	// The moments at which due() starts to return a call, as it decides.
	step := func(s Step) {
		for i := range s.Ladder {
			t := r.esc.StepAt.Add(time.Duration(i) * s.LadderWait)
			if i == 0 || (s.LadderWait > 0 && t.Before(deadline)) {
				consider(t)
			}
		}
		for k := 1; k <= s.Reminders; k++ {
			if t := r.esc.StepAt.Add(time.Duration(k) * s.RemindEvery); t.Before(deadline) {
				consider(t)
			}
		}
	}
	step(r.policy.Steps[r.esc.Step-1])
	if r.policy.DoubleReport != nil && r.esc.Step == 1 && r.esc.Round == 0 {
		step(*r.policy.DoubleReport)
	}
	return at, !at.IsZero()
}

// maxSleep bounds Run's sleep: a wall clock stepped forward (NTP) is
// noticed within it, and the timer's monotonic sleep cannot overshoot.
const maxSleep = time.Second

// sleep is how long Run may wait before the next Step: until the earliest
// moment of the index, a tick while spot checks are open (their own
// cadence), the next read of the open checks (at least a tick away), or
// maxSleep.
func (e *Engine) sleep(now time.Time) time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.changed) > 0 {
		return 0
	}
	d := maxSleep
	if at, ok := e.index.next(); ok {
		d = min(d, at.Sub(now))
	}
	if e.checks != nil {
		// At least a tick: a failed read of the open checks is retried
		// then, as before.
		d = min(d, max(e.tick, e.checksRead.Add(checkRefresh).Sub(now)))
		if len(e.open) > 0 {
			d = min(d, e.tick)
		}
	}
	return max(d, 0)
}

// addRunLocked keeps an active escalation, by id and by alert, and marks
// it for the next Step to visit (e.mu held). A run of the same id
// replaces the one kept.
func (e *Engine) addRunLocked(r *run) {
	id := r.esc.ID
	if _, ok := e.active[id]; !ok {
		e.byAlert[r.esc.AlertID] = append(e.byAlert[r.esc.AlertID], id)
	}
	e.active[id] = r
	e.changedLocked(id)
}
