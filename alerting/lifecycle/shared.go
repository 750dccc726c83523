package lifecycle

import (
	"context"
	"fmt"

	"yujing"
)

// Several nodes on one state database (a cluster) each keep the open
// alerts in memory; a change another node saved reaches this one through
// Refresh (told by the database's notifications) or Resync (when
// notifications may have been missed, and before this node takes up
// sites another node evaluated).

// Refresh reads alert id again from the store, after another node saved a
// change of it: the open alerts take it (or drop it once closed). It
// returns the alert and its latest transition, for the live stream; ok is
// false when the alert has no transition.
func (l *Alerts) Refresh(ctx context.Context, id int64) (c Change, ok bool, err error) {
	a, hist, err := l.st.Alert(ctx, id)
	if err != nil {
		return Change{}, false, fmt.Errorf("lifecycle: refresh alert %d: %w", id, err)
	}
	l.mu.Lock()
	l.takeLocked(a)
	l.mu.Unlock()
	if len(hist) == 0 {
		return Change{}, false, nil
	}
	c = Change{Alert: a, Transition: hist[len(hist)-1]}
	l.DecorateAt(&c.Alert, c.Transition.At)
	return c, true, nil
}

// takeLocked puts a, as read from the store, in the open alerts, or takes
// it out once closed. Call with mu held.
func (l *Alerts) takeLocked(a yujing.Alert) {
	if cur, ok := l.byID[a.ID]; ok {
		if a.State == yujing.StateClosed {
			delete(l.open, cur.Key())
			delete(l.byID, a.ID)
			return
		}
		if cur.UpdatedAt.After(a.UpdatedAt) {
			return // this node saved a later change meanwhile
		}
		*cur = a
		return
	}
	if a.State == yujing.StateClosed {
		return
	}
	if old, ok := l.open[a.Key()]; ok && old.ID != a.ID {
		delete(l.byID, old.ID) // superseded: its key's newer alert
	}
	cp := a
	l.open[a.Key()], l.byID[a.ID] = &cp, &cp
}

// Resync reads the open alerts again from the store: those another node
// opened, changed or closed are taken up as they are there.
func (l *Alerts) Resync(ctx context.Context) (int, error) {
	began := l.now()
	as, err := l.st.OpenAlerts(ctx)
	if err != nil {
		return 0, fmt.Errorf("lifecycle: read open alerts again: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := make(map[int64]bool, len(as))
	for _, a := range as {
		seen[a.ID] = true
		l.takeLocked(a)
	}
	for id, a := range l.byID {
		if !seen[id] && a.UpdatedAt.Before(began) { // closed elsewhere (not opened here since the read)
			delete(l.open, a.Key())
			delete(l.byID, id)
		}
	}
	return len(as), nil
}

// ReloadSilences reads the silences again from the store, after another
// node created or expired one.
func (l *Alerts) ReloadSilences(ctx context.Context) error {
	if l.silences == nil {
		return nil
	}
	if err := l.silences.Load(ctx); err != nil {
		return fmt.Errorf("lifecycle: read silences again: %w", err)
	}
	return nil
}
