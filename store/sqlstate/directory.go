package sqlstate

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// directoryKinds are the kinds of entry the directory table holds.
var directoryKinds = []string{"person", "org", "responsibility", "roster"}

func checkDirectoryEntry(kind, id string) error {
	if !slices.Contains(directoryKinds, kind) {
		return fmt.Errorf("directory: unknown kind %q (want one of %v)", kind, directoryKinds)
	}
	if id == "" {
		return fmt.Errorf("directory %s: empty id", kind)
	}
	return nil
}

// PutDirectory saves an entry of the directory (people, organisations,
// responsibilities, rosters) changed through the API: body is its JSON.
// Kinds are person, org, responsibility (id: a site id or region:<code>)
// and roster (id: org/role).
func (s *State) PutDirectory(ctx context.Context, kind, id string, body []byte) error {
	if err := checkDirectoryEntry(kind, id); err != nil {
		return err
	}
	if !json.Valid(body) {
		return fmt.Errorf("state %s: directory %s %s: body is not JSON", s.db.path, kind, id)
	}
	_, err := s.db.w.ExecContext(ctx, `INSERT INTO directory (kind, id, body, deleted, updated_at) VALUES (?, ?, ?, FALSE, ?)
		ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body, deleted = FALSE, updated_at = excluded.updated_at`,
		kind, id, string(body), time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("state %s: save directory %s %s: %w", s.db.path, kind, id, err)
	}
	return nil
}

// DeleteDirectory records that an entry was removed through the API (also
// one defined in the configuration file, which stays removed).
func (s *State) DeleteDirectory(ctx context.Context, kind, id string) error {
	if err := checkDirectoryEntry(kind, id); err != nil {
		return err
	}
	_, err := s.db.w.ExecContext(ctx, `INSERT INTO directory (kind, id, body, deleted, updated_at) VALUES (?, ?, '', TRUE, ?)
		ON CONFLICT (kind, id) DO UPDATE SET body = '', deleted = TRUE, updated_at = excluded.updated_at`,
		kind, id, time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("state %s: delete directory %s %s: %w", s.db.path, kind, id, err)
	}
	return nil
}

// SavedDirectory calls each for every entry saved (deleted false, body its
// JSON) or deleted through the API, oldest change first. An error from
// each stops the walk and is returned.
func (s *State) SavedDirectory(ctx context.Context, each func(kind, id string, body []byte, deleted bool) error) error {
	rows, err := s.db.r.QueryContext(ctx, `SELECT kind, id, body, deleted FROM directory ORDER BY updated_at, kind, id`)
	if err != nil {
		return fmt.Errorf("state %s: list directory: %w", s.db.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, id, body string
		var deleted bool
		if err := rows.Scan(&kind, &id, &body, &deleted); err != nil {
			return fmt.Errorf("state %s: list directory: %w", s.db.path, err)
		}
		if err := each(kind, id, []byte(body), deleted); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("state %s: list directory: %w", s.db.path, err)
	}
	return nil
}
