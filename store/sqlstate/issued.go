package sqlstate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"yujing"
	"yujing/store"
)

const issuedColumns = `source, key, alert_id, level, site, region, family, title, summary, labels, starts_at, ends_at,
	updated_at, ended_at, end_reason`

// SaveIssuedWarning saves an issued warning (alerting/issued), replacing
// the row of its (source, key).
func (s *State) SaveIssuedWarning(ctx context.Context, w store.IssuedWarning) error {
	fail := func(err error) error {
		return fmt.Errorf("state %s: save issued warning %s %q: %w", s.db.path, w.Source, w.Key, err)
	}
	labels := ""
	if len(w.Labels) > 0 {
		b, err := json.Marshal(w.Labels)
		if err != nil {
			return fail(err)
		}
		labels = string(b)
	}
	starts, err := nanos(w.StartsAt)
	if err != nil {
		return fail(fmt.Errorf("starts_at: %w", err))
	}
	updated, err := nanos(w.UpdatedAt)
	if err != nil {
		return fail(fmt.Errorf("updated_at: %w", err))
	}
	ends, err := nullTime(w.EndsAt)
	if err != nil {
		return fail(fmt.Errorf("ends_at: %w", err))
	}
	ended, err := nullTime(w.EndedAt)
	if err != nil {
		return fail(fmt.Errorf("ended_at: %w", err))
	}
	_, err = s.db.w.ExecContext(ctx, `INSERT INTO issued_warnings (`+issuedColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (source, key) DO UPDATE SET alert_id = excluded.alert_id, level = excluded.level,
			site = excluded.site, region = excluded.region, family = excluded.family, title = excluded.title,
			summary = excluded.summary, labels = excluded.labels, starts_at = excluded.starts_at,
			ends_at = excluded.ends_at, updated_at = excluded.updated_at, ended_at = excluded.ended_at,
			end_reason = excluded.end_reason`,
		w.Source, w.Key, w.AlertID, int(w.Level), w.Site, w.Region, string(w.Family), w.Title, w.Summary, labels,
		starts, ends, updated, ended, w.EndReason)
	if err != nil {
		return fail(err)
	}
	return nil
}

// IssuedWarning returns the issued warning (source, key); ErrNotFound when
// none was saved.
func (s *State) IssuedWarning(ctx context.Context, source, key string) (store.IssuedWarning, error) {
	ws, err := s.issuedWarnings(ctx, `SELECT `+issuedColumns+` FROM issued_warnings WHERE source = ? AND key = ?`, source, key)
	if err != nil {
		return store.IssuedWarning{}, err
	}
	if len(ws) == 0 {
		return store.IssuedWarning{}, fmt.Errorf("issued warning %s %q: %w", source, key, ErrNotFound)
	}
	return ws[0], nil
}

// IssuedWarnings returns the issued warnings f selects, by source and key.
func (s *State) IssuedWarnings(ctx context.Context, f store.IssuedFilter) ([]store.IssuedWarning, error) {
	var conds []string
	var args []any
	if f.Source != "" {
		conds, args = append(conds, "source = ?"), append(args, f.Source)
	}
	if f.InForce {
		conds = append(conds, "ended_at IS NULL")
	}
	if !f.EndsBefore.IsZero() {
		conds, args = append(conds, "ends_at IS NOT NULL AND ends_at < ?"), append(args, boundNanos(f.EndsBefore))
	}
	q := `SELECT ` + issuedColumns + ` FROM issued_warnings`
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += " ORDER BY source, key"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	return s.issuedWarnings(ctx, q, args...)
}

func (s *State) issuedWarnings(ctx context.Context, q string, args ...any) ([]store.IssuedWarning, error) {
	rows, err := s.db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("state %s: issued warnings: %w", s.db.path, err)
	}
	defer rows.Close()
	var out []store.IssuedWarning
	for rows.Next() {
		var w store.IssuedWarning
		var level int
		var family, labels string
		var starts, updated int64
		var ends, ended sql.NullInt64
		if err := rows.Scan(&w.Source, &w.Key, &w.AlertID, &level, &w.Site, &w.Region, &family, &w.Title, &w.Summary,
			&labels, &starts, &ends, &updated, &ended, &w.EndReason); err != nil {
			return nil, fmt.Errorf("state %s: issued warnings: %w", s.db.path, err)
		}
		w.Level, w.Family = yujing.Level(level), yujing.Family(family)
		w.StartsAt, w.UpdatedAt = timeOf(sql.NullInt64{Int64: starts, Valid: true}), timeOf(sql.NullInt64{Int64: updated, Valid: true})
		w.EndsAt, w.EndedAt = timePtrOf(ends), timePtrOf(ended)
		if labels != "" {
			if err := json.Unmarshal([]byte(labels), &w.Labels); err != nil {
				return nil, fmt.Errorf("state %s: issued warning %s %q: labels: %w", s.db.path, w.Source, w.Key, err)
			}
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// SaveIssuedMessage records a message applied (store.IssuedMessage). A
// message already recorded keeps its first row, and created is false.
func (s *State) SaveIssuedMessage(ctx context.Context, m store.IssuedMessage) (created bool, err error) {
	received, err := nanos(m.ReceivedAt)
	if err != nil {
		return false, fmt.Errorf("state %s: issued message %s %q: received_at: %w", s.db.path, m.Source, m.ID, err)
	}
	var sent sql.NullInt64
	if !m.Sent.IsZero() {
		if sent, err = nullTime(&m.Sent); err != nil {
			return false, fmt.Errorf("state %s: issued message %s %q: sent: %w", s.db.path, m.Source, m.ID, err)
		}
	}
	res, err := s.db.w.ExecContext(ctx, `INSERT INTO issued_messages (source, id, root, kind, sent, received_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source, id) DO NOTHING`, m.Source, m.ID, m.Root, m.Kind, sent, received)
	if err != nil {
		return false, fmt.Errorf("state %s: save issued message %s %q: %w", s.db.path, m.Source, m.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("state %s: save issued message %s %q: %w", s.db.path, m.Source, m.ID, err)
	}
	return n == 1, nil
}

// IssuedMessage returns the message (source, id) recorded; ErrNotFound
// when none was.
func (s *State) IssuedMessage(ctx context.Context, source, id string) (store.IssuedMessage, error) {
	m := store.IssuedMessage{Source: source, ID: id}
	var sent sql.NullInt64
	var received int64
	err := s.db.r.QueryRowContext(ctx, `SELECT root, kind, sent, received_at FROM issued_messages WHERE source = ? AND id = ?`,
		source, id).Scan(&m.Root, &m.Kind, &sent, &received)
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("issued message %s %q: %w", source, id, ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("state %s: issued message %s %q: %w", s.db.path, source, id, err)
	}
	m.Sent, m.ReceivedAt = timeOf(sent), timeOf(sql.NullInt64{Int64: received, Valid: true})
	return m, nil
}
