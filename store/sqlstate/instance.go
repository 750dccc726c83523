package sqlstate

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"yujing/store"
)

// instanceIDLen is the length of an instance id: ten base32 characters,
// 50 random bits.
const instanceIDLen = 10

// InstanceID returns the state database's instance id: ten random
// lower-case base32 characters made when the database was created (or
// first opened by a version that knows it) and kept in it (table meta),
// so the same after every restart and different for every new database (a
// wiped data directory gets a new one). A copy of the file (a backup
// restored) is the same instance.
func (s *State) InstanceID() string { return s.callIDs.Instance }

// CallIDs returns how the database's calls are named: ids that begin with
// its instance id, which makes them — and the providers' de-duplication
// keys derived from them (webhook Idempotency-Key, Aliyun OutId, Tencent
// SessionContext) — unique beyond one database, while a call made again
// after a restart keeps its id. In a database upgraded from a version
// without instance ids, calls about what existed before keep their ids.
func (s *State) CallIDs() store.CallIDs { return s.callIDs }

// callIDs reads the database's instance id, making it if there is none
// yet, and the legacy bounds migration 11 recorded. Processes opening a
// new file at once agree: the first insert wins, and every one reads the
// winner.
func callIDs(ctx context.Context, db *pools) (store.CallIDs, error) {
	var c store.CallIDs
	made := strings.ToLower(rand.Text()[:instanceIDLen])
	if _, err := db.w.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('instance_id', ?) ON CONFLICT (key) DO NOTHING`,
		made); err != nil {
		return c, fmt.Errorf("state %s: instance id: %w", db.path, err)
	}
	id, err := metaValue(ctx, db, "instance_id")
	if err != nil {
		return c, err
	}
	if !validInstanceID(id) {
		return c, fmt.Errorf("state %s: instance id %q in table meta is damaged: want %d characters of a-z and 2-7", db.path, id, instanceIDLen)
	}
	c.Instance = id
	for _, b := range []struct {
		key string
		dst *int64
	}{
		{"legacy_call_ids_transitions", &c.LegacyTransitions},
		{"legacy_call_ids_escalations", &c.LegacyEscalations},
	} {
		v, err := metaValue(ctx, db, b.key)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return c, err
		}
		if *b.dst, err = strconv.ParseInt(v, 10, 64); err != nil || *b.dst < 0 {
			return c, fmt.Errorf("state %s: %s %q in table meta is damaged: want a transition or escalation id", db.path, b.key, v)
		}
	}
	return c, nil
}

// metaValue reads one value of table meta; the error wraps sql.ErrNoRows
// when there is none.
func metaValue(ctx context.Context, db *pools, key string) (string, error) {
	var v string
	if err := db.w.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v); err != nil {
		return "", fmt.Errorf("state %s: meta %s: %w", db.path, key, err)
	}
	return v, nil
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

// answerKeyLen is the length of the answer-link key kept in a PostgreSQL
// state database, in bytes.
const answerKeyLen = 32

// AnswerKey returns the key that signs answer links, kept in a PostgreSQL
// state database (table meta, made at the first open, the same for every
// node), so that a link made on one node is answered on any. On SQLite it
// returns nil: one node keeps its key in its data directory.
func (s *State) AnswerKey() []byte { return s.answerKey }

// answerKey reads the database's answer-link key, making it if there is
// none yet; nodes opening a new database at once agree, as on the
// instance id.
func answerKey(ctx context.Context, db *pools) ([]byte, error) {
	made := make([]byte, answerKeyLen)
	if _, err := rand.Read(made); err != nil {
		return nil, fmt.Errorf("state %s: answer-link key: %w", db.path, err)
	}
	if _, err := db.w.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('answer_key', ?) ON CONFLICT (key) DO NOTHING`,
		hex.EncodeToString(made)); err != nil {
		return nil, fmt.Errorf("state %s: answer-link key: %w", db.path, err)
	}
	v, err := metaValue(ctx, db, "answer_key")
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(v)
	if err != nil || len(key) != answerKeyLen {
		// The value is a secret: not quoted.
		return nil, fmt.Errorf("state %s: answer_key in table meta is damaged: want %d hex digits", db.path, 2*answerKeyLen)
	}
	return key, nil
}
