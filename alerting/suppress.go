package alerting

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"yujing"
	"yujing/alerting/silence"
)

// SilenceStatus is a silence and whether it is in force now.
type SilenceStatus = silence.Status

// Silences lists the silences, newest first.
func (e *Engine) Silences() []SilenceStatus {
	if e.silences == nil {
		return []SilenceStatus{}
	}
	return e.silences.List(e.now())
}

// CreateSilence checks and saves a silence. What is wrong with it is an
// ErrInvalid naming each field.
func (e *Engine) CreateSilence(ctx context.Context, s yujing.Silence) (yujing.Silence, error) {
	if e.silences == nil {
		return s, fmt.Errorf("%w: silences are not kept here", ErrInvalid)
	}
	s, err := e.silences.Create(ctx, s, e.now())
	if inv, ok := errors.AsType[*silence.InvalidError](err); ok {
		return s, fmt.Errorf("%w: %s", ErrInvalid, inv)
	}
	if err != nil {
		return s, err
	}
	e.log.Info("silence created", "silence_id", s.ID, "by", s.CreatedBy, "ends_at", s.EndsAt)
	return s, nil
}

// ExpireSilence ends a silence now.
func (e *Engine) ExpireSilence(ctx context.Context, id int64, by string) error {
	if e.silences == nil {
		return fmt.Errorf("%w: silences are not kept here", ErrInvalid)
	}
	if err := e.silences.Expire(ctx, id, e.now()); err != nil {
		return err
	}
	e.log.Info("silence expired", "silence_id", id, "by", by)
	return nil
}

// silenced returns the id of a silence that holds back the calls about a
// at t.
func (e *Engine) silenced(a *yujing.Alert, at time.Time) (int64, bool) {
	if e.silences == nil {
		return 0, false
	}
	return e.silences.Match(a, at)
}

// inhibited returns the id of an open alert that inhibits a (amu held).
func (e *Engine) inhibited(a *yujing.Alert) (int64, bool) {
	return e.inhibitor.Inhibited(a, maps.Values(e.open))
}

// Decorate marks alerts that a silence or an inhibition keeps from calls.
func (e *Engine) Decorate(as []yujing.Alert) {
	e.amu.Lock()
	defer e.amu.Unlock()
	now := e.now()
	for i := range as {
		a := &as[i]
		if a.State == yujing.StateClosed {
			continue
		}
		if _, ok := e.silenced(a, now); ok {
			a.Silenced = true
		} else if _, ok := e.inhibited(a); ok {
			a.Inhibited = true
		}
	}
}
