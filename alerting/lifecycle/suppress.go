package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"yujing"
	"yujing/alerting/inhibit"
	"yujing/alerting/silence"
)

// SilenceStatus is a silence and whether it is in force now.
type SilenceStatus = silence.Status

// Silences lists the silences, newest first.
func (l *Alerts) Silences() []SilenceStatus {
	if l.silences == nil {
		return []SilenceStatus{}
	}
	return l.silences.List(l.now())
}

// CreateSilence checks and saves a silence. What is wrong with it is an
// ErrInvalid naming each field.
func (l *Alerts) CreateSilence(ctx context.Context, s yujing.Silence) (yujing.Silence, error) {
	if l.silences == nil {
		return s, fmt.Errorf("%w: silences are not kept here", ErrInvalid)
	}
	s, err := l.silences.Create(ctx, s, l.now())
	if inv, ok := errors.AsType[*silence.InvalidError](err); ok {
		return s, fmt.Errorf("%w: %s", ErrInvalid, inv)
	}
	if err != nil {
		return s, err
	}
	l.log.Info("silence created", "silence_id", s.ID, "by", s.CreatedBy, "ends_at", s.EndsAt)
	return s, nil
}

// ExpireSilence ends a silence now; by is who ended it, kept with it.
func (l *Alerts) ExpireSilence(ctx context.Context, id int64, by string) error {
	if l.silences == nil {
		return fmt.Errorf("%w: silences are not kept here", ErrInvalid)
	}
	if err := l.silences.Expire(ctx, id, l.now(), by); err != nil {
		return err
	}
	l.log.Info("silence expired", "silence_id", id, "by", by)
	return nil
}

// SetInhibit replaces the inhibition rules (a reload).
func (l *Alerts) SetInhibit(rules []inhibit.Rule) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inhibitor = inhibit.New(rules, l.cat)
}

// silenced returns the id of a silence that holds back the calls about a
// at t.
func (l *Alerts) silenced(a *yujing.Alert, at time.Time) (int64, bool) {
	if l.silences == nil {
		return 0, false
	}
	return l.silences.Match(a, at)
}

// inhibited returns the id of an open alert that inhibits a (mu held).
func (l *Alerts) inhibited(a *yujing.Alert) (int64, bool) {
	return l.inhibitor.Inhibited(a, maps.Values(l.open))
}

// Decorate marks the alerts that a silence or an inhibition keeps from
// calls now (Silenced, Inhibited).
func (l *Alerts) Decorate(as []yujing.Alert) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range as {
		l.decorate(&as[i], now)
	}
}

// DecorateAt marks a as it would have been held back at: by a silence
// active at at, or by an inhibition by the alerts open now. Call-and-answer
// asks it when it makes again, after a restart, the calls of a change made
// at at.
func (l *Alerts) DecorateAt(a *yujing.Alert, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.decorate(a, at)
}

// decorate sets a's Silenced and Inhibited (mu held); a closed alert is
// neither.
func (l *Alerts) decorate(a *yujing.Alert, at time.Time) {
	a.Silenced, a.Inhibited = false, false
	if a.State == yujing.StateClosed {
		return
	}
	if _, ok := l.silenced(a, at); ok {
		a.Silenced = true
	} else if _, ok := l.inhibited(a); ok {
		a.Inhibited = true
	}
}
