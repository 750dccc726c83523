package sqlstate

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"yujing"
)

// PutSilence saves a new silence and sets its ID.
func (s *State) PutSilence(ctx context.Context, sl *yujing.Silence) error {
	body, err := json.Marshal(sl)
	if err != nil {
		return fmt.Errorf("state %s: encode silence: %w", s.db.path, err)
	}
	if err := s.db.w.QueryRowContext(ctx, `INSERT INTO silences (body, starts_at, ends_at, created_by, created_at) VALUES (?, ?, ?, ?, ?)
		RETURNING id`, string(body), sl.StartsAt.UnixNano(), sl.EndsAt.UnixNano(), sl.CreatedBy, sl.CreatedAt.UnixNano()).Scan(&sl.ID); err != nil {
		return fmt.Errorf("state %s: save silence: %w", s.db.path, err)
	}
	return nil
}

// ExpireSilence ends a silence at at; ErrNotFound when there is none.
func (s *State) ExpireSilence(ctx context.Context, id int64, at time.Time) error {
	res, err := s.db.w.ExecContext(ctx, `UPDATE silences SET expired_at = ? WHERE id = ? AND expired_at IS NULL`, at.UnixNano(), id)
	if err != nil {
		return fmt.Errorf("state %s: expire silence %d: %w", s.db.path, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("silence %d: %w", id, ErrNotFound)
	}
	return nil
}

// Silences returns every silence, newest first.
func (s *State) Silences(ctx context.Context) ([]yujing.Silence, error) {
	rows, err := s.db.r.QueryContext(ctx, `SELECT id, body, expired_at FROM silences ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("state %s: list silences: %w", s.db.path, err)
	}
	defer rows.Close()
	var out []yujing.Silence
	for rows.Next() {
		var id int64
		var body string
		var expired sql.NullInt64
		if err := rows.Scan(&id, &body, &expired); err != nil {
			return nil, err
		}
		var sl yujing.Silence
		if err := json.Unmarshal([]byte(body), &sl); err != nil {
			return nil, fmt.Errorf("state %s: silence %d: %w", s.db.path, id, err)
		}
		sl.ID = id
		if expired.Valid {
			t := time.Unix(0, expired.Int64).UTC()
			sl.ExpiredAt = &t
		}
		out = append(out, sl)
	}
	return out, rows.Err()
}
