package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"yujing"
	"yujing/store"
)

// Errors an operator action can return; match with errors.Is.
var (
	ErrNotFound = store.ErrNotFound
	ErrConflict = errors.New("conflict")
	ErrInvalid  = errors.New("invalid request")
)

// Action is an operator's request on an alert.
type Action struct {
	By     string
	Note   string
	Reason yujing.CloseReason
	// Attachments (photos) go with a disposal record.
	Attachments []yujing.Attachment
}

// AttachmentStore keeps files attached to disposal records; a Store that
// is one keeps a disposal's photos.
type AttachmentStore interface {
	AddAttachments(ctx context.Context, as []yujing.Attachment) error
}

// List returns alerts from the state store, each marked Silenced or
// Inhibited as it stands now.
func (l *Alerts) List(ctx context.Context, f store.AlertFilter) ([]yujing.Alert, error) {
	as, err := l.st.ListAlerts(ctx, f)
	l.Decorate(as)
	return as, err
}

// Count counts the alerts f selects, by level (Silenced and Inhibited do
// not count: an alert held back is still open and counted).
func (l *Alerts) Count(ctx context.Context, f store.AlertFilter) (map[yujing.Level]int, error) {
	return l.st.CountAlerts(ctx, f)
}

// Get returns an alert and its history.
func (l *Alerts) Get(ctx context.Context, id int64) (yujing.Alert, []yujing.Transition, error) {
	a, h, err := l.st.Alert(ctx, id)
	if err == nil {
		as := []yujing.Alert{a}
		l.Decorate(as)
		a = as[0]
	}
	return a, h, err
}

// Ack records that somebody answered. A firing alert becomes acknowledged;
// a resolved one stays resolved but records who acknowledged it.
func (l *Alerts) Ack(ctx context.Context, id int64, act Action) (yujing.Alert, error) {
	return l.act(ctx, id, act, yujing.EventAcknowledged, func(a *yujing.Alert, now time.Time) error {
		if a.AckedAt != nil {
			return fmt.Errorf("%w: alert %d was already acknowledged by %s at %s", ErrConflict, a.ID, a.AckedBy, a.AckedAt.Format(time.RFC3339))
		}
		a.AckedAt, a.AckedBy = &now, act.By
		if a.State == yujing.StateFiring {
			a.State = yujing.StateAcknowledged
		}
		return nil
	})
}

// Dispose records a disposal (处置). A firing or acknowledged alert moves to
// disposing; a resolved one stays resolved with the record added.
func (l *Alerts) Dispose(ctx context.Context, id int64, act Action) (yujing.Alert, error) {
	if strings.TrimSpace(act.Note) == "" {
		return yujing.Alert{}, fmt.Errorf("%w: a disposal needs a note saying what was done", ErrInvalid)
	}
	return l.act(ctx, id, act, yujing.EventDisposed, func(a *yujing.Alert, now time.Time) error {
		if a.AckedAt == nil {
			a.AckedAt, a.AckedBy = &now, act.By
		}
		if a.State != yujing.StateResolved {
			a.State = yujing.StateDisposing
		}
		return nil
	})
}

// Close verifies and closes (核查销号) a resolved alert. It needs a reason
// and a note.
func (l *Alerts) Close(ctx context.Context, id int64, act Action) (yujing.Alert, error) {
	if !yujing.ValidCloseReason(act.Reason) {
		return yujing.Alert{}, fmt.Errorf("%w: reason %q is not one of %v", ErrInvalid, act.Reason, yujing.CloseReasons)
	}
	if strings.TrimSpace(act.Note) == "" {
		return yujing.Alert{}, fmt.Errorf("%w: closing needs a note on how the warning was verified", ErrInvalid)
	}
	return l.act(ctx, id, act, yujing.EventClosed, func(a *yujing.Alert, now time.Time) error {
		if a.State != yujing.StateResolved {
			return fmt.Errorf("%w: alert %d is %s; it can be closed once its condition has cleared (state resolved)", ErrConflict, a.ID, a.State)
		}
		a.State = yujing.StateClosed
		a.ClosedAt = &now
		a.Reason = string(act.Reason)
		return nil
	})
}

// act applies change to the open alert id as act.By, saves it with its
// transition (and a disposal's attachments), and tells OnChange. A closed
// alert is a conflict, an unknown one ErrNotFound.
func (l *Alerts) act(ctx context.Context, id int64, act Action, ev yujing.Event, change func(a *yujing.Alert, now time.Time) error) (yujing.Alert, error) {
	if strings.TrimSpace(act.By) == "" {
		return yujing.Alert{}, fmt.Errorf("%w: say who is acting (\"by\")", ErrInvalid)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.byID[id]
	if !ok {
		old, _, err := l.st.Alert(ctx, id)
		if err != nil {
			return yujing.Alert{}, fmt.Errorf("alert %d: %w", id, err)
		}
		return yujing.Alert{}, fmt.Errorf("%w: alert %d is %s", ErrConflict, id, old.State)
	}
	now := l.now()
	next := *a
	if err := change(&next, now); err != nil {
		return yujing.Alert{}, err
	}
	next.UpdatedAt = now
	t := &yujing.Transition{AlertID: id, At: now, Event: ev, FromLevel: a.Level, ToLevel: next.Level,
		FromState: a.State, ToState: next.State, Value: a.Value, Actor: act.By, Note: act.Note, Reason: string(act.Reason)}
	if err := l.st.UpdateAlert(ctx, next, t); err != nil {
		return yujing.Alert{}, fmt.Errorf("alert %d: save %s: %w", id, ev, err)
	}
	if len(act.Attachments) > 0 {
		as, ok := l.st.(AttachmentStore)
		if !ok {
			return yujing.Alert{}, fmt.Errorf("%w: attachments are not kept here", ErrInvalid)
		}
		for i := range act.Attachments {
			act.Attachments[i].AlertID, act.Attachments[i].TransitionID, act.Attachments[i].CreatedBy = id, t.ID, act.By
			act.Attachments[i].CreatedAt = now
		}
		if err := as.AddAttachments(ctx, act.Attachments); err != nil {
			return yujing.Alert{}, fmt.Errorf("alert %d: the disposal was saved but its attachments were not: %w", id, err)
		}
	}
	*a = next
	if next.State == yujing.StateClosed {
		delete(l.open, a.Key())
		delete(l.byID, id)
	}
	l.m.transitions.WithLabelValues(string(ev), next.Level.String()).Inc()
	l.log.Info("alert "+string(ev), "alert_id", id, "by", act.By, "state", string(next.State))
	c := Change{Alert: next, Transition: *t}
	l.decorate(&c.Alert, now)
	l.onChange(c)
	return next, nil
}
