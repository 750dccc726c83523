package escalate

// Visits is how many escalations Step has visited (advanced) so far.
func (e *Engine) Visits() int64 { return e.visits.Load() }

// Indexed reports whether an escalation is in the deadline index or marked
// for the next Step, and how many are.
func (e *Engine) Indexed(id int64) (in bool, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, in = e.index.byID[id]
	_, changed := e.changed[id]
	return in || changed, len(e.index.h) + len(e.changed)
}
