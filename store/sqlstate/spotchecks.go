package sqlstate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"yujing/store"
	"yujing/store/internal/sqldb"
)

const spotCheckColumns = `id, key, schedule, org, org_name, region, roles, channels, deadline_ns, due_at, state, reason,
	step, step_at, started_at, answered_at, answered_by, answer_channel, answer_step, requested_by, not_after, created_at, updated_at`

func scanSpotCheck(row scanner) (store.SpotCheck, error) {
	var c store.SpotCheck
	var roles, channels string
	var deadline, due, notAfter, created, updated int64
	var stepAt, started, answered sql.NullInt64
	if err := row.Scan(&c.ID, &c.Key, &c.Schedule, &c.Org, &c.OrgName, &c.Region, &roles, &channels, &deadline, &due,
		&c.State, &c.Reason, &c.Step, &stepAt, &started, &answered, &c.AnsweredBy, &c.AnswerChannel, &c.AnswerStep,
		&c.RequestedBy, &notAfter, &created, &updated); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(roles), &c.Roles); err != nil {
		return c, fmt.Errorf("spot check %d: roles: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(channels), &c.Channels); err != nil {
		return c, fmt.Errorf("spot check %d: channels: %w", c.ID, err)
	}
	c.Deadline = time.Duration(deadline)
	c.DueAt, c.CreatedAt, c.UpdatedAt = time.Unix(0, due).UTC(), time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	if stepAt.Valid {
		c.StepAt = time.Unix(0, stepAt.Int64).UTC()
	}
	if notAfter != 0 {
		c.NotAfter = time.Unix(0, notAfter).UTC()
	}
	c.StartedAt, c.AnsweredAt = timePtrOf(started), timePtrOf(answered)
	return c, nil
}

// PlanSpotCheck stores c as a new spot check unless one with the same key
// was planned before, and sets c to the stored one (its ID, and its
// progress when it existed). created reports whether it stored c.
func (s *State) PlanSpotCheck(ctx context.Context, c *store.SpotCheck) (created bool, err error) {
	if c.Key == "" || c.Org == "" || len(c.Roles) == 0 || len(c.Channels) == 0 || c.Deadline <= 0 {
		return false, fmt.Errorf("state %s: plan spot check: key, org, roles, channels and a deadline are required", s.db.path)
	}
	roles, _ := json.Marshal(c.Roles)
	channels, _ := json.Marshal(c.Channels)
	due, err := nanos(c.DueAt)
	if err != nil {
		return false, fmt.Errorf("state %s: plan spot check %s: due: %w", s.db.path, c.Key, err)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now()
	}
	createdAt, err := nanos(c.CreatedAt)
	if err != nil {
		return false, fmt.Errorf("state %s: plan spot check %s: %w", s.db.path, c.Key, err)
	}
	if c.State == "" {
		c.State = store.SpotCheckPlanned
	}
	var notAfter int64
	if !c.NotAfter.IsZero() {
		if notAfter, err = nanos(c.NotAfter); err != nil {
			return false, fmt.Errorf("state %s: plan spot check %s: not after: %w", s.db.path, c.Key, err)
		}
	}
	res, err := s.db.w.ExecContext(ctx, `INSERT INTO spot_checks (key, schedule, org, org_name, region, roles, channels,
		deadline_ns, due_at, state, reason, requested_by, not_after, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (key) DO NOTHING`,
		c.Key, c.Schedule, c.Org, sqldb.CleanText(c.OrgName), c.Region, string(roles), string(channels), int64(c.Deadline), due,
		c.State, c.Reason, sqldb.CleanText(c.RequestedBy), notAfter, createdAt, createdAt)
	if err != nil {
		return false, fmt.Errorf("state %s: plan spot check %s: %w", s.db.path, c.Key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("state %s: plan spot check %s: %w", s.db.path, c.Key, err)
	}
	got, err := scanSpotCheck(s.db.w.QueryRowContext(ctx, `SELECT `+spotCheckColumns+` FROM spot_checks WHERE key = ?`, c.Key))
	if err != nil {
		return false, fmt.Errorf("state %s: plan spot check %s: read back: %w", s.db.path, c.Key, err)
	}
	*c = got
	return n == 1, nil
}

// SaveSpotCheck stores a spot check's progress: state, reason, step, and
// its answer, as of c.UpdatedAt. A check that has ended is not changed
// (the first answer or deadline wins): the error wraps
// store.ErrSpotCheckEnded then, and store.ErrNotFound for no such check.
func (s *State) SaveSpotCheck(ctx context.Context, c store.SpotCheck) error {
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = time.Now()
	}
	updated, err := nanos(c.UpdatedAt)
	if err != nil {
		return fmt.Errorf("state %s: save spot check %d: %w", s.db.path, c.ID, err)
	}
	var stepAt sql.NullInt64
	if !c.StepAt.IsZero() {
		if stepAt, err = nullTime(&c.StepAt); err != nil {
			return fmt.Errorf("state %s: save spot check %d: %w", s.db.path, c.ID, err)
		}
	}
	started, err := nullTime(c.StartedAt)
	if err != nil {
		return fmt.Errorf("state %s: save spot check %d: %w", s.db.path, c.ID, err)
	}
	answered, err := nullTime(c.AnsweredAt)
	if err != nil {
		return fmt.Errorf("state %s: save spot check %d: %w", s.db.path, c.ID, err)
	}
	res, err := s.db.w.ExecContext(ctx, `UPDATE spot_checks SET state = ?, reason = ?, step = ?, step_at = ?, started_at = ?,
		answered_at = ?, answered_by = ?, answer_channel = ?, answer_step = ?, updated_at = ?
		WHERE id = ? AND state IN ('planned', 'calling')`,
		c.State, c.Reason, c.Step, stepAt, started, answered, sqldb.CleanText(c.AnsweredBy), c.AnswerChannel, c.AnswerStep, updated, c.ID)
	if err != nil {
		return fmt.Errorf("state %s: save spot check %d: %w", s.db.path, c.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		if err != nil {
			return fmt.Errorf("state %s: save spot check %d: %w", s.db.path, c.ID, err)
		}
		return nil
	}
	var state string
	err = s.db.w.QueryRowContext(ctx, `SELECT state FROM spot_checks WHERE id = ?`, c.ID).Scan(&state)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("state %s: save spot check %d: %w", s.db.path, c.ID, ErrNotFound)
	case err != nil:
		return fmt.Errorf("state %s: save spot check %d: %w", s.db.path, c.ID, err)
	}
	return fmt.Errorf("spot check %d: %w (%s)", c.ID, store.ErrSpotCheckEnded, state)
}

// SpotCheck returns one spot check; the error wraps ErrNotFound when there
// is none.
func (s *State) SpotCheck(ctx context.Context, id int64) (store.SpotCheck, error) {
	c, err := scanSpotCheck(s.db.r.QueryRowContext(ctx, `SELECT `+spotCheckColumns+` FROM spot_checks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("state %s: spot check %d: %w", s.db.path, id, ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("state %s: spot check %d: %w", s.db.path, id, err)
	}
	return c, nil
}

// OpenSpotChecks returns the checks planned or calling, by id.
func (s *State) OpenSpotChecks(ctx context.Context) ([]store.SpotCheck, error) {
	return s.spotChecks(ctx, `WHERE state IN ('planned', 'calling') ORDER BY id`)
}

// SpotChecks returns the checks due in [f.From, f.To) of f.Org (zero
// values: all), by when they were due, then id; at most f.Limit
// (0: DefaultListLimit; at most MaxListLimit; below 0: every one, for
// reports).
func (s *State) SpotChecks(ctx context.Context, f store.SpotCheckFilter) ([]store.SpotCheck, error) {
	var where []string
	var args []any
	if !f.From.IsZero() {
		where, args = append(where, "due_at >= ?"), append(args, f.From.UnixNano())
	}
	if !f.To.IsZero() {
		where, args = append(where, "due_at < ?"), append(args, f.To.UnixNano())
	}
	if f.Org != "" {
		where, args = append(where, "org = ?"), append(args, f.Org)
	}
	q := ""
	if len(where) > 0 {
		q = "WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY due_at, id"
	if f.Limit >= 0 {
		limit := f.Limit
		if limit == 0 {
			limit = DefaultListLimit
		}
		q, args = q+" LIMIT ?", append(args, min(limit, MaxListLimit))
	}
	return s.spotChecks(ctx, q, args...)
}

func (s *State) spotChecks(ctx context.Context, q string, args ...any) ([]store.SpotCheck, error) {
	rows, err := s.db.r.QueryContext(ctx, `SELECT `+spotCheckColumns+` FROM spot_checks `+q, args...)
	if err != nil {
		return nil, fmt.Errorf("state %s: spot checks: %w", s.db.path, err)
	}
	defer rows.Close()
	var out []store.SpotCheck
	for rows.Next() {
		c, err := scanSpotCheck(rows)
		if err != nil {
			return nil, fmt.Errorf("state %s: spot checks: %w", s.db.path, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CallsOfSpotCheck returns the calls a spot check made, oldest first.
func (s *State) CallsOfSpotCheck(ctx context.Context, id int64) ([]store.CallRecord, error) {
	return s.callsOf(ctx, "spot_check_id", id, "spot check")
}
