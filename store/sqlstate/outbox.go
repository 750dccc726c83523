package sqlstate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"yujing"
	"yujing/store"
)

// The outbox: calls recorded before they are sent (table calls) and what
// providers report back about them (table call_receipts). Every write is
// committed when it returns (on SQLite, synchronous=FULL: on disk), perhaps
// in one transaction with other callers' writes (sqldb.DB.Write).

// The statements of RecordCall and MarkCall.
const (
	insertCall = `INSERT INTO calls (id, alert_id, event, person, channel, step, deadline,
		answer_url, body, status, created_at, escalation_id, spot_check_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`
	markCall = `UPDATE calls SET
		status      = CASE WHEN status = 'sent' THEN status ELSE ? END,
		attempts    = attempts + ?,
		last_error  = CASE WHEN status = 'sent' THEN last_error ELSE ? END,
		provider_id = CASE WHEN ? = '' THEN provider_id ELSE ? END,
		sent_at     = COALESCE(sent_at, ?)
		WHERE id = ?`
)

// RecordCall stores c as pending, unless a call with the same ID (its
// idempotency key) is already stored; recorded reports whether it stored
// it. The whole call is kept as JSON, so that it can be sent again after a
// restart exactly as it was made.
func (s *State) RecordCall(ctx context.Context, c yujing.Call) (recorded bool, err error) {
	if c.ID == "" {
		return false, fmt.Errorf("state %s: record call: empty call id", s.db.path)
	}
	body, err := json.Marshal(c)
	if err != nil {
		return false, fmt.Errorf("state %s: record call %s: encode: %w", s.db.path, c.ID, err)
	}
	deadline, err := nullTime(&c.Deadline)
	if err != nil {
		return false, fmt.Errorf("state %s: record call %s: deadline: %w", s.db.path, c.ID, err)
	}
	created := c.Created
	if created.IsZero() {
		created = time.Now()
	}
	createdAt, err := nanos(created)
	if err != nil {
		return false, fmt.Errorf("state %s: record call %s: created: %w", s.db.path, c.ID, err)
	}
	var esc sql.NullInt64
	if c.Escalation != 0 {
		esc = sql.NullInt64{Int64: c.Escalation, Valid: true}
	}
	var check sql.NullInt64
	if c.SpotCheck != 0 {
		check = sql.NullInt64{Int64: c.SpotCheck, Valid: true}
	}
	res, err := s.db.w.WriteExec(ctx, insertCall,
		c.ID, c.Alert.ID, string(c.Event), c.Person.ID, c.Channel, c.Step, deadline, c.AnswerURL, string(body), createdAt, esc, check)
	if err != nil {
		return false, fmt.Errorf("state %s: record call %s: %w", s.db.path, c.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("state %s: record call %s: %w", s.db.path, c.ID, err)
	}
	return n == 1, nil
}

// Queries whose cost must not grow with the number of calls kept (see the
// plan test): the pending calls through the partial index calls_pending,
// a provider's id through calls_provider.
const (
	pendingCallsQuery = `SELECT id, body, sending_at FROM calls WHERE status = 'pending' ORDER BY created_at`
	providerCallQuery = `SELECT id FROM calls WHERE channel = ? AND provider_id = ? AND provider_id <> ''
		ORDER BY created_at DESC LIMIT 1`
)

// PendingCalls returns the calls recorded and not yet marked sent or
// failed, oldest first, as they were recorded, each with when an attempt
// to send it last began (zero when never).
func (s *State) PendingCalls(ctx context.Context) ([]store.PendingCall, error) {
	rows, err := s.db.r.QueryContext(ctx, pendingCallsQuery)
	if err != nil {
		return nil, fmt.Errorf("state %s: pending calls: %w", s.db.path, err)
	}
	defer rows.Close()
	var out []store.PendingCall
	for rows.Next() {
		var id, body string
		var sending sql.NullInt64
		if err := rows.Scan(&id, &body, &sending); err != nil {
			return nil, fmt.Errorf("state %s: pending calls: %w", s.db.path, err)
		}
		var c yujing.Call
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			return nil, fmt.Errorf("state %s: pending call %s: decode: %w", s.db.path, id, err)
		}
		c.ID = id
		p := store.PendingCall{Call: c}
		if sending.Valid {
			p.SendingAt = time.Unix(0, sending.Int64)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state %s: pending calls: %w", s.db.path, err)
	}
	return out, nil
}

// markSendingQuery is MarkSending's statement for n ids. The one of a
// single call, what a burst sends, is one of hotWrites.
func markSendingQuery(n int) string {
	return `UPDATE calls SET sending_at = ? WHERE status = 'pending' AND id IN (?` + strings.Repeat(", ?", n-1) + `)`
}

// MarkSending records, on disk when it returns, that an attempt to send
// the calls ids begins at at: the request may reach the provider from now
// on. Only pending calls are marked; an id without a call is ignored.
func (s *State) MarkSending(ctx context.Context, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	n, err := nanos(at)
	if err != nil {
		return fmt.Errorf("state %s: mark calls sending: %w", s.db.path, err)
	}
	args := make([]any, 0, len(ids)+1)
	args = append(args, n)
	for _, id := range ids {
		args = append(args, id)
	}
	if _, err := s.db.w.WriteExec(ctx, markSendingQuery(len(ids)), args...); err != nil {
		return fmt.Errorf("state %s: mark call %s sending: %w", s.db.path, ids[0], err)
	}
	return nil
}

// MarkCall records how a run of deliveries of a call ended: its status,
// the attempts (added to those of earlier runs), the last error, the
// provider's id and, when sent, the time. A call already marked sent stays
// sent. It returns an error wrapping ErrNotFound when no call has u.ID.
func (s *State) MarkCall(ctx context.Context, u store.CallUpdate) error {
	switch u.Status {
	case store.CallPending, store.CallSent, store.CallFailed:
	default:
		return fmt.Errorf("state %s: mark call %s: unknown status %q", s.db.path, u.ID, u.Status)
	}
	var sentAt sql.NullInt64
	if u.Status == store.CallSent {
		at := u.At
		if at.IsZero() {
			at = time.Now()
		}
		n, err := nanos(at)
		if err != nil {
			return fmt.Errorf("state %s: mark call %s: %w", s.db.path, u.ID, err)
		}
		sentAt = sql.NullInt64{Int64: n, Valid: true}
	}
	res, err := s.db.w.WriteExec(ctx, markCall,
		u.Status, u.Attempts, u.LastError, u.ProviderID, u.ProviderID, sentAt, u.ID)
	if err != nil {
		return fmt.Errorf("state %s: mark call %s: %w", s.db.path, u.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("state %s: mark call %s: %w", s.db.path, u.ID, err)
	} else if n == 0 {
		return fmt.Errorf("state %s: mark call %s: %w", s.db.path, u.ID, ErrNotFound)
	}
	return nil
}

// SaveReceipt stores a provider's report. It finds the call by r.CallID
// or, when that is empty, by the provider's id on the same channel, and
// returns the call's id ("" when none matched: the receipt is kept all the
// same, with an empty call id). The same report pushed twice is stored once.
func (s *State) SaveReceipt(ctx context.Context, r store.CallReceipt) (callID string, err error) {
	if r.Channel == "" || r.Status == "" {
		return "", fmt.Errorf("state %s: save receipt: channel and status are required", s.db.path)
	}
	at := r.At
	if at.IsZero() {
		at = time.Now()
	}
	atN, err := nanos(at)
	if err != nil {
		return "", fmt.Errorf("state %s: save receipt: %w", s.db.path, err)
	}
	tx, err := s.db.w.BeginTx(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("state %s: save receipt: %w", s.db.path, err)
	}
	defer tx.Rollback()
	switch {
	case r.CallID != "":
		err = tx.QueryRowContext(ctx, `SELECT id FROM calls WHERE id = ?`, r.CallID).Scan(&callID)
	case r.ProviderID != "":
		err = tx.QueryRowContext(ctx, providerCallQuery, r.Channel, r.ProviderID).Scan(&callID)
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("state %s: save receipt: find call: %w", s.db.path, err)
	}
	stored := callID
	if stored == "" {
		stored = r.CallID // not one of ours as far as we know; kept as reported
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO call_receipts (call_id, channel, provider_id, phone, status, "key", "text",
		detail, at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		stored, r.Channel, r.ProviderID, r.Phone, r.Status, r.Key, r.Text, r.Detail, atN, time.Now().UnixNano()); err != nil {
		return "", fmt.Errorf("state %s: save receipt: %w", s.db.path, err)
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("state %s: save receipt: commit: %w", s.db.path, err)
	}
	return callID, nil
}

// CallsFor returns the calls made about an alert, oldest first, each with
// its receipts (oldest first), read from one snapshot.
func (s *State) CallsFor(ctx context.Context, alertID int64) ([]store.CallRecord, error) {
	out, err := s.callsFor(ctx, alertID)
	if err != nil {
		return nil, fmt.Errorf("state %s: calls of alert %d: %w", s.db.path, alertID, err)
	}
	return out, nil
}

func (s *State) callsFor(ctx context.Context, alertID int64) ([]store.CallRecord, error) {
	tx, err := s.db.r.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT `+callColumns+` FROM calls WHERE alert_id = ? ORDER BY created_at, id`, alertID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.CallRecord{}
	index := map[string]int{}
	for rows.Next() {
		c, err := scanCall(rows)
		if err != nil {
			return nil, err
		}
		index[c.ID] = len(out)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	rrows, err := tx.QueryContext(ctx, `SELECT call_id, channel, provider_id, phone, status, "key", "text", detail, at
		FROM call_receipts WHERE call_id IN (SELECT id FROM calls WHERE alert_id = ?) ORDER BY at, id`, alertID)
	if err != nil {
		return nil, err
	}
	defer rrows.Close()
	for rrows.Next() {
		var r store.CallReceipt
		var at int64
		if err := rrows.Scan(&r.CallID, &r.Channel, &r.ProviderID, &r.Phone, &r.Status, &r.Key, &r.Text, &r.Detail, &at); err != nil {
			return nil, err
		}
		r.At = time.Unix(0, at).UTC()
		if i, ok := index[r.CallID]; ok {
			out[i].Receipts = append(out[i].Receipts, r)
		}
	}
	return out, rrows.Err()
}

// callColumns is the column list scanCall reads.
const callColumns = `id, alert_id, event, step, person, channel, status, attempts, last_error,
	provider_id, body, created_at, sent_at, deadline, answered_at, answered_by, answer_channel,
	answer_note, on_site, escalation_id`

// scanCall reads one row of callColumns.
func scanCall(row scanner) (store.CallRecord, error) {
	var c store.CallRecord
	var event, body string
	var created int64
	var sent, deadline, answered, esc sql.NullInt64
	var by, via, note sql.NullString
	var onSite sql.NullBool
	if err := row.Scan(&c.ID, &c.AlertID, &event, &c.Step, &c.Person, &c.Channel, &c.Status, &c.Attempts,
		&c.LastError, &c.ProviderID, &body, &created, &sent, &deadline, &answered, &by, &via,
		&note, &onSite, &esc); err != nil {
		return c, err
	}
	c.Event = yujing.Event(event)
	var who struct {
		Person struct {
			Name string `json:"name"`
		} `json:"person"`
		Round int `json:"round"`
	}
	if json.Unmarshal([]byte(body), &who) == nil {
		c.PersonName, c.Round = who.Person.Name, who.Round
	}
	c.CreatedAt = time.Unix(0, created).UTC()
	c.SentAt, c.Deadline, c.AnsweredAt = timePtrOf(sent), timePtrOf(deadline), timePtrOf(answered)
	if by.Valid {
		c.AnsweredBy = &by.String
	}
	if via.Valid {
		c.AnswerChannel = &via.String
	}
	if note.Valid {
		c.AnswerNote = &note.String
	}
	if onSite.Valid {
		c.OnSite = &onSite.Bool
	}
	if esc.Valid {
		c.EscalationID = &esc.Int64
	}
	c.Receipts = []store.CallReceipt{}
	return c, nil
}
