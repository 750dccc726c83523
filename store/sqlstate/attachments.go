package sqlstate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"yujing"
)

// AddAttachments stores files attached to a disposal record, in one
// transaction, and sets their IDs, sizes and hashes.
func (s *State) AddAttachments(ctx context.Context, as []yujing.Attachment) error {
	if len(as) == 0 {
		return nil
	}
	tx, err := s.db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("state %s: attachments: %w", s.db.path, err)
	}
	defer tx.Rollback()
	for i := range as {
		a := &as[i]
		sum := sha256.Sum256(a.Data)
		a.SHA256, a.Size = hex.EncodeToString(sum[:]), int64(len(a.Data))
		if a.CreatedAt.IsZero() {
			a.CreatedAt = time.Now()
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO attachments (alert_id, transition_id, name, content_type, size, sha256, data, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, a.AlertID, a.TransitionID, a.Name, a.ContentType, a.Size, a.SHA256, a.Data, a.CreatedBy,
			a.CreatedAt.UnixNano()).Scan(&a.ID); err != nil {
			return fmt.Errorf("state %s: attachment %s: %w", s.db.path, a.Name, err)
		}
	}
	return tx.Commit()
}

// Attachments lists an alert's attachments, without their data.
func (s *State) Attachments(ctx context.Context, alertID int64) ([]yujing.Attachment, error) {
	rows, err := s.db.r.QueryContext(ctx, `SELECT id, alert_id, transition_id, name, content_type, size, sha256, created_by, created_at
		FROM attachments WHERE alert_id = ? ORDER BY id`, alertID)
	if err != nil {
		return nil, fmt.Errorf("state %s: attachments of %d: %w", s.db.path, alertID, err)
	}
	defer rows.Close()
	var out []yujing.Attachment
	for rows.Next() {
		var a yujing.Attachment
		var at int64
		if err := rows.Scan(&a.ID, &a.AlertID, &a.TransitionID, &a.Name, &a.ContentType, &a.Size, &a.SHA256, &a.CreatedBy, &at); err != nil {
			return nil, err
		}
		a.CreatedAt = time.Unix(0, at).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

// Attachment returns one attachment with its data; ErrNotFound when the
// alert has no such attachment.
func (s *State) Attachment(ctx context.Context, alertID, id int64) (yujing.Attachment, error) {
	var a yujing.Attachment
	var at int64
	err := s.db.r.QueryRowContext(ctx, `SELECT id, alert_id, transition_id, name, content_type, size, sha256, data, created_by, created_at
		FROM attachments WHERE id = ? AND alert_id = ?`, id, alertID).Scan(&a.ID, &a.AlertID, &a.TransitionID, &a.Name,
		&a.ContentType, &a.Size, &a.SHA256, &a.Data, &a.CreatedBy, &at)
	if err != nil {
		return a, fmt.Errorf("attachment %d of alert %d: %w", id, alertID, ErrNotFound)
	}
	a.CreatedAt = time.Unix(0, at).UTC()
	return a, nil
}
