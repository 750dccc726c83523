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
	"yujing/store/internal/sqldb"
)

// Call-and-answer (叫应): escalations (table escalations) and the answers
// recorded on calls. Every write is committed (on SQLite, on disk) when it
// returns, perhaps in one transaction with other callers' writes.

const escalationColumns = `id, alert_id, transition_id, level, policy, round, step, step_at, state, reason,
	started_at, updated_at, answered_at, answered_by, answer_channel, top_reached_at`

func scanEscalation(row scanner) (store.Escalation, error) {
	var e store.Escalation
	var level int
	var stepAt, started, updated int64
	var answered, top sql.NullInt64
	var by, via sql.NullString
	if err := row.Scan(&e.ID, &e.AlertID, &e.TransitionID, &level, &e.Policy, &e.Round, &e.Step, &stepAt, &e.State,
		&e.Reason, &started, &updated, &answered, &by, &via, &top); err != nil {
		return e, err
	}
	e.Level = yujing.Level(level)
	e.StepAt, e.StartedAt, e.UpdatedAt = time.Unix(0, stepAt).UTC(), time.Unix(0, started).UTC(), time.Unix(0, updated).UTC()
	e.AnsweredAt, e.TopReachedAt = timePtrOf(answered), timePtrOf(top)
	if by.Valid {
		e.AnsweredBy = &by.String
	}
	if via.Valid {
		e.AnswerChannel = &via.String
	}
	return e, nil
}

// StartEscalation stores e as a new escalation unless one was started for
// the same alert and transition, and sets e to the stored one (its ID, and
// its progress when it existed). created reports whether it stored e.
func (s *State) StartEscalation(ctx context.Context, e *store.Escalation) (created bool, err error) {
	stepAt, err := nanos(e.StepAt)
	if err != nil {
		return false, fmt.Errorf("state %s: start escalation: %w", s.db.path, err)
	}
	started, err := nanos(e.StartedAt)
	if err != nil {
		return false, fmt.Errorf("state %s: start escalation: %w", s.db.path, err)
	}
	if e.State == "" {
		e.State = store.EscalationActive
	}
	var got store.Escalation
	err = s.db.w.Write(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, insertEscalation,
			e.AlertID, e.TransitionID, int(e.Level), e.Policy, e.Round, e.Step, stepAt, e.State, e.Reason, started, started)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		created = n == 1
		if got, err = scanEscalation(tx.QueryRowContext(ctx, escalationByTransition, e.AlertID, e.TransitionID)); err != nil {
			return fmt.Errorf("read back: %w", err)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("state %s: start escalation of alert %d: %w", s.db.path, e.AlertID, err)
	}
	*e = got
	return created, nil
}

// The statements of StartEscalation, SaveEscalation and AnswerCall.
const (
	insertEscalation = `INSERT INTO escalations (alert_id, transition_id, level, policy, round, step,
		step_at, state, reason, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (alert_id, transition_id) DO NOTHING`
	escalationByTransition = `SELECT ` + escalationColumns + ` FROM escalations
		WHERE alert_id = ? AND transition_id = ?`
	saveEscalation = `UPDATE escalations SET round = ?, step = ?, step_at = ?, state = ?, reason = ?,
		updated_at = ?, answered_at = ?, answered_by = ?, answer_channel = ?, top_reached_at = ?
		WHERE id = ? AND state = 'active'`
	answerCall = `UPDATE calls SET answered_at = ?, answered_by = ?, answer_channel = ?,
		answer_note = ?, on_site = ? WHERE id = ? AND answered_at IS NULL`
)

// SaveEscalation stores an escalation's progress: its round, step, state,
// reason, answer and whether the chain reached the top, as of e.UpdatedAt
// (the escalation engine's clock: when a stopped one stopped; now when
// zero). An escalation that is no longer active is not changed back (the
// first answer or stop wins); the returned error wraps store.ErrAnswered
// then.
func (s *State) SaveEscalation(ctx context.Context, e store.Escalation) error {
	stepAt, err := nanos(e.StepAt)
	if err != nil {
		return fmt.Errorf("state %s: save escalation %d: %w", s.db.path, e.ID, err)
	}
	if e.UpdatedAt.IsZero() {
		e.UpdatedAt = time.Now()
	}
	updated, err := nanos(e.UpdatedAt)
	if err != nil {
		return fmt.Errorf("state %s: save escalation %d: %w", s.db.path, e.ID, err)
	}
	answered, err := nullTime(e.AnsweredAt)
	if err != nil {
		return fmt.Errorf("state %s: save escalation %d: %w", s.db.path, e.ID, err)
	}
	top, err := nullTime(e.TopReachedAt)
	if err != nil {
		return fmt.Errorf("state %s: save escalation %d: %w", s.db.path, e.ID, err)
	}
	var by, via sql.NullString
	if e.AnsweredBy != nil {
		by = sql.NullString{String: *e.AnsweredBy, Valid: true}
	}
	if e.AnswerChannel != nil {
		via = sql.NullString{String: *e.AnswerChannel, Valid: true}
	}
	res, err := s.db.w.WriteExec(ctx, saveEscalation,
		e.Round, e.Step, stepAt, e.State, e.Reason, updated, answered, by, via, top, e.ID)
	if err != nil {
		return fmt.Errorf("state %s: save escalation %d: %w", s.db.path, e.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("state %s: save escalation %d: %w", s.db.path, e.ID, err)
	} else if n == 0 {
		return fmt.Errorf("state %s: save escalation %d: no longer active: %w", s.db.path, e.ID, store.ErrAnswered)
	}
	return nil
}

// ActiveEscalations returns the escalations still calling, oldest first.
func (s *State) ActiveEscalations(ctx context.Context) ([]store.Escalation, error) {
	return s.escalations(ctx, `WHERE state = 'active' ORDER BY id`)
}

// EscalationsFor returns an alert's escalations, oldest first.
func (s *State) EscalationsFor(ctx context.Context, alertID int64) ([]store.Escalation, error) {
	return s.escalations(ctx, `WHERE alert_id = ? ORDER BY id`, alertID)
}

// EscalationsBetween returns the escalations started in [from, to),
// oldest first.
func (s *State) EscalationsBetween(ctx context.Context, from, to time.Time) ([]store.Escalation, error) {
	return s.escalations(ctx, `WHERE started_at >= ? AND started_at < ? ORDER BY started_at, id`, from.UnixNano(), to.UnixNano())
}

// Escalation returns one escalation; the error wraps ErrNotFound when
// there is none with that id.
func (s *State) Escalation(ctx context.Context, id int64) (store.Escalation, error) {
	es, err := s.escalations(ctx, `WHERE id = ?`, id)
	if err != nil {
		return store.Escalation{}, err
	}
	if len(es) == 0 {
		return store.Escalation{}, fmt.Errorf("state %s: escalation %d: %w", s.db.path, id, ErrNotFound)
	}
	return es[0], nil
}

func (s *State) escalations(ctx context.Context, where string, args ...any) ([]store.Escalation, error) {
	rows, err := s.db.r.QueryContext(ctx, `SELECT `+escalationColumns+` FROM escalations `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("state %s: escalations: %w", s.db.path, err)
	}
	defer rows.Close()
	out := []store.Escalation{}
	for rows.Next() {
		e, err := scanEscalation(rows)
		if err != nil {
			return nil, fmt.Errorf("state %s: escalations: %w", s.db.path, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state %s: escalations: %w", s.db.path, err)
	}
	return out, nil
}

// Call returns one stored call with the call as it was made (its alert,
// person and answer link); the error wraps ErrNotFound when there is none.
func (s *State) Call(ctx context.Context, id string) (store.CallRecord, yujing.Call, error) {
	rec, err := scanCall(s.db.r.QueryRowContext(ctx, `SELECT `+callColumns+` FROM calls WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return rec, yujing.Call{}, fmt.Errorf("state %s: call %q: %w", s.db.path, id, ErrNotFound)
	}
	if err != nil {
		return rec, yujing.Call{}, fmt.Errorf("state %s: call %q: %w", s.db.path, id, err)
	}
	var body string
	if err := s.db.r.QueryRowContext(ctx, `SELECT body FROM calls WHERE id = ?`, id).Scan(&body); err != nil {
		return rec, yujing.Call{}, fmt.Errorf("state %s: call %q: %w", s.db.path, id, err)
	}
	var c yujing.Call
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		return rec, c, fmt.Errorf("state %s: call %q: decode: %w", s.db.path, id, err)
	}
	c.ID = id
	return rec, c, nil
}

// CallsOfEscalation returns the calls an escalation made, oldest first.
func (s *State) CallsOfEscalation(ctx context.Context, escalationID int64) ([]store.CallRecord, error) {
	return s.callsOf(ctx, "escalation_id", escalationID, "escalation")
}

// callsOf returns the calls whose column col (escalation_id or
// spot_check_id) is id, oldest first; what names the owner in errors.
func (s *State) callsOf(ctx context.Context, col string, id int64, what string) ([]store.CallRecord, error) {
	rows, err := s.db.r.QueryContext(ctx, `SELECT `+callColumns+` FROM calls WHERE `+col+` = ? ORDER BY created_at, id`, id)
	if err != nil {
		return nil, fmt.Errorf("state %s: calls of %s %d: %w", s.db.path, what, id, err)
	}
	defer rows.Close()
	out := []store.CallRecord{}
	for rows.Next() {
		c, err := scanCall(rows)
		if err != nil {
			return nil, fmt.Errorf("state %s: calls of %s %d: %w", s.db.path, what, id, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// AnswerCall records an answer on a call, once: a call answered before is
// left as it was and the error wraps store.ErrAnswered (saying when and
// through what); an unknown call wraps ErrNotFound.
func (s *State) AnswerCall(ctx context.Context, a store.Answer) error {
	at := a.At
	if at.IsZero() {
		at = time.Now()
	}
	atN, err := nanos(at)
	if err != nil {
		return fmt.Errorf("state %s: answer call %q: %w", s.db.path, a.CallID, err)
	}
	// One conditional update: of answers arriving at once, also on several
	// nodes, the first to commit wins; the others update nothing (on
	// PostgreSQL they wait for its row lock and then find it answered).
	res, err := s.db.w.WriteExec(ctx, answerCall, atN, a.By, a.Channel, a.Note, a.OnSite, a.CallID)
	if err != nil {
		return fmt.Errorf("state %s: answer call %q: %w", s.db.path, a.CallID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		if err != nil {
			return fmt.Errorf("state %s: answer call %q: %w", s.db.path, a.CallID, err)
		}
		return nil
	}
	var prev sql.NullInt64
	var prevVia sql.NullString
	err = s.db.w.QueryRowContext(ctx, `SELECT answered_at, answer_channel FROM calls WHERE id = ?`, a.CallID).Scan(&prev, &prevVia)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("state %s: answer call %q: %w", s.db.path, a.CallID, ErrNotFound)
	case err != nil:
		return fmt.Errorf("state %s: answer call %q: %w", s.db.path, a.CallID, err)
	}
	return fmt.Errorf("call %s: %w at %s through %s", a.CallID, store.ErrAnswered,
		time.Unix(0, prev.Int64).UTC().Format(time.RFC3339), prevVia.String)
}

// OpenCallTo returns the newest unanswered escalation or spot-check call to any of the
// people made at or after since ("" when none): where an SMS reply that
// names no call belongs.
func (s *State) OpenCallTo(ctx context.Context, people []string, since time.Time) (string, error) {
	if len(people) == 0 {
		return "", nil
	}
	args := []any{since.UnixNano()}
	for _, p := range people {
		args = append(args, p)
	}
	var id string
	err := s.db.r.QueryRowContext(ctx, `SELECT id FROM calls WHERE (escalation_id IS NOT NULL OR spot_check_id IS NOT NULL) AND answered_at IS NULL
		AND created_at >= ? AND person IN (?`+strings.Repeat(", ?", len(people)-1)+`) ORDER BY created_at DESC, id DESC LIMIT 1`,
		args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("state %s: open call to %v: %w", s.db.path, people, err)
	}
	return id, nil
}

// AnswerRows returns the escalation calls made in [from, to), oldest
// first, with their escalation as it stands (level, policy, the round and
// step it ended at, state and reason) and their alert's site and sensor:
// what the answer reports count.
func (s *State) AnswerRows(ctx context.Context, from, to time.Time) ([]store.AnswerRow, error) {
	rows, err := s.db.r.QueryContext(ctx, `SELECT c.id, c.alert_id, c.step, c.person, c.channel, c.body,
		COALESCE(a.site, ''), COALESCE(a.sensor, ''), COALESCE(a.rule, ''), c.created_at, c.sent_at, c.deadline, c.answered_at,
		COALESCE(c.answered_by, ''), COALESCE(c.answer_channel, ''), `+escalationColumnsOf("e")+`
		FROM calls c JOIN escalations e ON e.id = c.escalation_id LEFT JOIN alerts a ON a.id = c.alert_id
		WHERE c.escalation_id IS NOT NULL AND c.created_at >= ? AND c.created_at < ?
		ORDER BY c.created_at, c.id`, from.UnixNano(), to.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("state %s: answer rows: %w", s.db.path, err)
	}
	defer rows.Close()
	var out []store.AnswerRow
	for rows.Next() {
		var r store.AnswerRow
		var body string
		var created int64
		var sent, deadline, answered sql.NullInt64
		call := []any{&r.CallID, &r.AlertID, &r.Step, &r.Person, &r.Channel, &body, &r.Site, &r.Sensor, &r.Rule, &created,
			&sent, &deadline, &answered, &r.AnsweredBy, &r.AnswerChannel}
		e, err := scanEscalation(prefixed{rows, call})
		if err != nil {
			return nil, fmt.Errorf("state %s: answer rows: %w", s.db.path, err)
		}
		var c struct {
			Person struct {
				Name string `json:"name"`
			} `json:"person"`
			Round int `json:"round"`
		}
		if json.Unmarshal([]byte(body), &c) == nil {
			r.PersonName, r.Round = c.Person.Name, c.Round
		}
		r.Escalation, r.EscalationID, r.Level, r.Policy = e, e.ID, e.Level, e.Policy
		r.CreatedAt = time.Unix(0, created).UTC()
		r.SentAt, r.Deadline, r.AnsweredAt = timePtrOf(sent), timePtrOf(deadline), timePtrOf(answered)
		out = append(out, r)
	}
	return out, rows.Err()
}

// escalationColumnsOf is escalationColumns of the table aliased as alias.
func escalationColumnsOf(alias string) string {
	cols := strings.Split(escalationColumns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// prefixed scans a row whose first columns go to pre, the rest to what
// Scan is given: a row of a join read by another table's scan function.
type prefixed struct {
	row scanner
	pre []any
}

func (p prefixed) Scan(dest ...any) error {
	return p.row.Scan(append(p.pre[:len(p.pre):len(p.pre)], dest...)...)
}
