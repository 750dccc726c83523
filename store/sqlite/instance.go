package sqlite

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
)

// instanceIDLen is the length of an instance id: ten base32 characters,
// 50 random bits.
const instanceIDLen = 10

// InstanceID returns the state database's instance id: ten random
// lower-case base32 characters made when the database was created and kept
// in it (table meta), so the same after every restart and different for
// every new database (a wiped data directory gets a new one). Call ids
// begin with it, which makes them — and the providers' de-duplication keys
// derived from them (webhook Idempotency-Key, Aliyun OutId, Tencent
// SessionContext) — unique beyond one database, while a call made again
// after a restart keeps its id. A copy of the file (a backup restored) is
// the same instance.
func (s *State) InstanceID() string { return s.instance }

// instanceID reads the database's instance id, making it if there is none
// yet. Processes opening a new file at once agree: the first insert wins,
// and every one reads the winner.
func instanceID(ctx context.Context, db *pools) (string, error) {
	made := strings.ToLower(rand.Text()[:instanceIDLen])
	if _, err := db.w.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('instance_id', ?) ON CONFLICT (key) DO NOTHING`,
		made); err != nil {
		return "", fmt.Errorf("state %s: instance id: %w", db.path, err)
	}
	var id string
	if err := db.w.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'instance_id'`).Scan(&id); err != nil {
		return "", fmt.Errorf("state %s: instance id: %w", db.path, err)
	}
	if !validInstanceID(id) {
		return "", fmt.Errorf("state %s: instance id %q in table meta is damaged: want %d characters of a-z and 2-7", db.path, id, instanceIDLen)
	}
	return id, nil
}

func validInstanceID(id string) bool {
	if len(id) != instanceIDLen {
		return false
	}
	for _, c := range id {
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}
