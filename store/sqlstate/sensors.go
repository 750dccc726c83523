package sqlstate

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"yujing"
)

// PutSensors saves sensors registered or changed through the API, all in
// one transaction: on error none is saved.
func (s *State) PutSensors(ctx context.Context, sns []yujing.Sensor) error {
	bodies := make([]string, len(sns))
	for i, sn := range sns {
		b, err := json.Marshal(sn)
		if err != nil {
			return fmt.Errorf("state %s: encode sensor %s: %w", s.db.path, sn.ID, err)
		}
		bodies[i] = string(b)
	}
	tx, err := s.db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("state %s: save sensors: %w", s.db.path, err)
	}
	defer tx.Rollback()
	now := time.Now().UnixNano()
	for i, sn := range sns {
		_, err := tx.ExecContext(ctx, `INSERT INTO sensors (id, body, interval_ns, deleted, updated_at) VALUES (?, ?, ?, FALSE, ?)
			ON CONFLICT (id) DO UPDATE SET body = excluded.body, interval_ns = excluded.interval_ns, deleted = FALSE, updated_at = excluded.updated_at`,
			sn.ID, bodies[i], int64(sn.Interval), now)
		if err != nil {
			return fmt.Errorf("state %s: save sensor %s: %w", s.db.path, sn.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("state %s: save sensors: %w", s.db.path, err)
	}
	return nil
}

// DeleteSensor records that a sensor was removed through the API (also one
// defined in the configuration file).
func (s *State) DeleteSensor(ctx context.Context, id string) error {
	_, err := s.db.w.ExecContext(ctx, `INSERT INTO sensors (id, body, interval_ns, deleted, updated_at) VALUES (?, '', 0, TRUE, ?)
		ON CONFLICT (id) DO UPDATE SET body = '', deleted = TRUE, updated_at = excluded.updated_at`, id, time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("state %s: delete sensor %s: %w", s.db.path, id, err)
	}
	return nil
}

// SavedSensors returns the sensors saved through the API and the ids of
// those deleted.
func (s *State) SavedSensors(ctx context.Context) (saved []yujing.Sensor, deleted []string, err error) {
	rows, err := s.db.r.QueryContext(ctx, `SELECT id, body, interval_ns, deleted FROM sensors ORDER BY id`)
	if err != nil {
		return nil, nil, fmt.Errorf("state %s: list sensors: %w", s.db.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, body string
		var interval int64
		var del bool
		if err := rows.Scan(&id, &body, &interval, &del); err != nil {
			return nil, nil, fmt.Errorf("state %s: list sensors: %w", s.db.path, err)
		}
		if del {
			deleted = append(deleted, id)
			continue
		}
		var sn yujing.Sensor
		if err := json.Unmarshal([]byte(body), &sn); err != nil {
			return nil, nil, fmt.Errorf("state %s: sensor %s: %w", s.db.path, id, err)
		}
		sn.Interval = time.Duration(interval)
		saved = append(saved, sn)
	}
	return saved, deleted, rows.Err()
}
