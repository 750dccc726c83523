package sqlstate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"yujing"
	"yujing/store"
	"yujing/store/internal/sqldb"
)

// stateMigrations is the schema of the state database, one entry per
// version; append, never edit.
var stateMigrations = []string{
	// 1: alerts and their history. Times are Unix nanoseconds, NULL when
	// unset. open_alerts is a partial index so that rebuilding the engine
	// after a restart reads only the open alerts however long the history.
	`CREATE TABLE alerts (
		id           INTEGER PRIMARY KEY AUTOINCREMENT,
		rule         TEXT    NOT NULL,
		sensor       TEXT    NOT NULL,
		site         TEXT    NOT NULL DEFAULT '',
		family       TEXT    NOT NULL DEFAULT '',
		metric       TEXT    NOT NULL DEFAULT '',
		unit         TEXT    NOT NULL DEFAULT '',
		level        INTEGER NOT NULL,
		state        TEXT    NOT NULL,
		value        REAL,
		threshold    REAL,
		message      TEXT    NOT NULL DEFAULT '',
		started_at   INTEGER,
		updated_at   INTEGER,
		acked_at     INTEGER,
		acked_by     TEXT    NOT NULL DEFAULT '',
		resolved_at  INTEGER,
		closed_at    INTEGER,
		close_reason TEXT    NOT NULL DEFAULT ''
	);
	CREATE INDEX alerts_state ON alerts (state);
	CREATE INDEX alerts_rule_sensor ON alerts (rule, sensor);
	CREATE INDEX alerts_open ON alerts (id) WHERE state <> 'closed';
	CREATE TABLE transitions (
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		alert_id   INTEGER NOT NULL REFERENCES alerts (id),
		at         INTEGER,
		event      TEXT    NOT NULL,
		from_level INTEGER NOT NULL,
		to_level   INTEGER NOT NULL,
		from_state TEXT    NOT NULL DEFAULT '',
		to_state   TEXT    NOT NULL DEFAULT '',
		value      REAL,
		actor      TEXT    NOT NULL DEFAULT '',
		note       TEXT    NOT NULL DEFAULT '',
		reason     TEXT    NOT NULL DEFAULT ''
	);
	CREATE INDEX transitions_alert ON transitions (alert_id);`,
	// 2: sensors registered or changed through the API, overlaid on the
	// configuration file's; deleted marks a configured sensor removed.
	`CREATE TABLE sensors (
		id          TEXT    PRIMARY KEY,
		body        TEXT    NOT NULL DEFAULT '',
		interval_ns INTEGER NOT NULL DEFAULT 0,
		deleted     INTEGER NOT NULL DEFAULT 0,
		updated_at  INTEGER NOT NULL
	) WITHOUT ROWID;`,
	// 3: the notification outbox. A call is recorded (pending) before it is
	// sent and marked sent or failed afterwards; pending calls are resent
	// after a restart. id is the call's idempotency key. The answer columns
	// stay NULL until call-and-answer records an answer. call_receipts holds
	// what providers report back; call_id is '' when no call matched, and
	// the unique index drops a provider's repeated push of the same report.
	`CREATE TABLE calls (
		id             TEXT    PRIMARY KEY,
		alert_id       INTEGER NOT NULL,
		event          TEXT    NOT NULL DEFAULT '',
		person         TEXT    NOT NULL DEFAULT '',
		channel        TEXT    NOT NULL,
		step           INTEGER NOT NULL DEFAULT 0,
		deadline       INTEGER,
		answer_url     TEXT    NOT NULL DEFAULT '',
		body           TEXT    NOT NULL,
		status         TEXT    NOT NULL DEFAULT 'pending',
		attempts       INTEGER NOT NULL DEFAULT 0,
		last_error     TEXT    NOT NULL DEFAULT '',
		provider_id    TEXT    NOT NULL DEFAULT '',
		created_at     INTEGER NOT NULL,
		sent_at        INTEGER,
		answered_at    INTEGER,
		answered_by    TEXT,
		answer_channel TEXT
	);
	CREATE INDEX calls_alert ON calls (alert_id);
	CREATE INDEX calls_pending ON calls (created_at) WHERE status = 'pending';
	CREATE INDEX calls_provider ON calls (channel, provider_id) WHERE provider_id <> '';
	CREATE TABLE call_receipts (
		id          INTEGER PRIMARY KEY AUTOINCREMENT,
		call_id     TEXT    NOT NULL DEFAULT '',
		channel     TEXT    NOT NULL,
		provider_id TEXT    NOT NULL DEFAULT '',
		phone       TEXT    NOT NULL DEFAULT '',
		status      TEXT    NOT NULL,
		"key"       TEXT    NOT NULL DEFAULT '',
		"text"      TEXT    NOT NULL DEFAULT '',
		detail      TEXT    NOT NULL DEFAULT '',
		at          INTEGER NOT NULL,
		received_at INTEGER NOT NULL
	);
	CREATE UNIQUE INDEX call_receipts_once ON call_receipts (call_id, channel, provider_id, phone, status, "key", "text", at);`,
	// 4: silences: time-bounded or recurring suppression of calls by matchers.
	`CREATE TABLE silences (
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		body       TEXT    NOT NULL,
		starts_at  INTEGER NOT NULL,
		ends_at    INTEGER NOT NULL,
		created_by TEXT    NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		expired_at INTEGER
	);`,
	// 5: audit log (package audit, AuditLog): every action, hash-chained.
	// seq is assigned by AuditLog.Append (last + 1, no AUTOINCREMENT gaps);
	// at is Unix nanoseconds; source is where the action came from. The
	// triggers make the table append-only for every SQL writer, so that only
	// someone deliberately dropping them can change history (and Verify
	// still finds the change).
	`CREATE TABLE audit_log (
		seq       INTEGER PRIMARY KEY,
		at        INTEGER NOT NULL,
		actor     TEXT    NOT NULL DEFAULT '',
		action    TEXT    NOT NULL,
		object    TEXT    NOT NULL DEFAULT '',
		detail    TEXT    NOT NULL DEFAULT '',
		source    TEXT    NOT NULL DEFAULT '',
		prev_hash TEXT    NOT NULL,
		hash      TEXT    NOT NULL
	);
	CREATE INDEX audit_log_at ON audit_log (at);
	CREATE INDEX audit_log_actor ON audit_log (actor);
	CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
		BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
	CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
		BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;`,
	// 6: overdue supervision (督办) marks, and photos attached to disposal
	// records.
	`ALTER TABLE alerts ADD COLUMN overdue_at INTEGER;
	CREATE TABLE attachments (
		id            INTEGER PRIMARY KEY AUTOINCREMENT,
		alert_id      INTEGER NOT NULL REFERENCES alerts (id),
		transition_id INTEGER NOT NULL,
		name          TEXT    NOT NULL,
		content_type  TEXT    NOT NULL,
		size          INTEGER NOT NULL,
		sha256        TEXT    NOT NULL,
		data          BLOB    NOT NULL,
		created_by    TEXT    NOT NULL DEFAULT '',
		created_at    INTEGER NOT NULL
	);
	CREATE INDEX attachments_alert ON attachments (alert_id);`,
	// 7: call-and-answer (叫应). One escalation per raise, upgrade or
	// reopen of an alert (its transition), with the step it is at and when
	// that step began, so that a restart resumes it at the right moment;
	// calls remember the escalation that made them, and an answer's note
	// and whether the person said they were on site (已到岗).
	`CREATE TABLE escalations (
		id             INTEGER PRIMARY KEY AUTOINCREMENT,
		alert_id       INTEGER NOT NULL,
		transition_id  INTEGER NOT NULL,
		level          INTEGER NOT NULL,
		policy         TEXT    NOT NULL,
		round          INTEGER NOT NULL DEFAULT 0,
		step           INTEGER NOT NULL,
		step_at        INTEGER NOT NULL,
		state          TEXT    NOT NULL,
		reason         TEXT    NOT NULL DEFAULT '',
		started_at     INTEGER NOT NULL,
		updated_at     INTEGER NOT NULL,
		answered_at    INTEGER,
		answered_by    TEXT,
		answer_channel TEXT,
		top_reached_at INTEGER,
		UNIQUE (alert_id, transition_id)
	);
	CREATE INDEX escalations_active ON escalations (alert_id) WHERE state = 'active';
	CREATE INDEX escalations_started ON escalations (started_at);
	ALTER TABLE calls ADD COLUMN escalation_id INTEGER;
	ALTER TABLE calls ADD COLUMN answer_note TEXT;
	ALTER TABLE calls ADD COLUMN on_site INTEGER;
	CREATE INDEX calls_escalation ON calls (escalation_id) WHERE escalation_id IS NOT NULL;
	CREATE INDEX calls_created ON calls (created_at);`,
	// 8: the directory edited through the API (people, organisations,
	// responsibilities, rosters): a saved or deleted entry overrides the
	// configuration's entry of the same kind and id, like sensors.
	`CREATE TABLE directory (
		kind       TEXT    NOT NULL,
		id         TEXT    NOT NULL,
		body       TEXT    NOT NULL DEFAULT '',
		deleted    INTEGER NOT NULL DEFAULT 0,
		updated_at INTEGER NOT NULL,
		PRIMARY KEY (kind, id)
	) WITHOUT ROWID;`,
	// 9: users, login sessions and API tokens (web/auth, auth.go). Only a
	// SHA-256 of a session id or a token is kept, never the secret itself;
	// password_hash is a self-describing (PHC) argon2id string.
	`CREATE TABLE users (
		username      TEXT    PRIMARY KEY,
		role          TEXT    NOT NULL,
		password_hash TEXT    NOT NULL,
		disabled      INTEGER NOT NULL DEFAULT 0,
		created_at    INTEGER NOT NULL,
		updated_at    INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE TABLE sessions (
		id_sha256  TEXT    PRIMARY KEY,
		username   TEXT    NOT NULL REFERENCES users (username) ON DELETE CASCADE,
		csrf_token TEXT    NOT NULL,
		created_at INTEGER NOT NULL,
		last_seen  INTEGER NOT NULL,
		expires_at INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE INDEX sessions_user ON sessions (username);
	CREATE INDEX sessions_expires ON sessions (expires_at);
	CREATE TABLE api_tokens (
		name         TEXT    PRIMARY KEY,
		role         TEXT    NOT NULL,
		token_sha256 TEXT    NOT NULL UNIQUE,
		created_by   TEXT    NOT NULL DEFAULT '',
		created_at   INTEGER NOT NULL,
		last_used_at INTEGER,
		revoked_at   INTEGER
	) WITHOUT ROWID;`,
	// 10: an escalation's reason is a stable value (store.Reason*) that
	// reports count by; earlier versions wrote sentences.
	`UPDATE escalations SET reason = CASE
		WHEN reason LIKE 'superseded%' THEN 'superseded'
		WHEN reason LIKE 'resolved%' THEN 'resolved'
		WHEN reason LIKE 'nobody answered%' THEN 'top_reached'
		WHEN reason LIKE 'calls suppressed%silenced' THEN 'silenced'
		WHEN reason LIKE 'calls suppressed%inhibited' THEN 'inhibited'
		WHEN reason LIKE 'policy % is no longer configured' THEN 'policy_removed'
		ELSE reason END
	WHERE reason <> '';`,
	// 11: facts about the database itself, by key (see instance.go):
	// instance_id, made at the first open, which call ids begin with; and,
	// in a database made before, the last transition and escalation whose
	// calls keep their ids without it.
	`CREATE TABLE meta (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	) WITHOUT ROWID;
	INSERT INTO meta (key, value)
		SELECT 'legacy_call_ids_transitions', MAX(id) FROM transitions HAVING MAX(id) IS NOT NULL;
	INSERT INTO meta (key, value)
		SELECT 'legacy_call_ids_escalations', MAX(id) FROM escalations HAVING MAX(id) IS NOT NULL;`,
	// 12: when the latest attempt to send a call began, written before the
	// request: a pending call with one may have reached its provider when
	// the process died, and is asked about (or counted) before it is sent
	// again.
	`ALTER TABLE calls ADD COLUMN sending_at INTEGER;`,
	// 13: sites' production statuses (生产状态), every change kept: the
	// latest row of a site is its status now (sitestatus.go).
	`CREATE TABLE site_status (
		id     INTEGER PRIMARY KEY,
		site   TEXT NOT NULL,
		status TEXT NOT NULL,
		since  INTEGER NOT NULL,
		by     TEXT NOT NULL,
		reason TEXT NOT NULL
	);
	CREATE INDEX site_status_site ON site_status (site, id);`,
	// 14: who ended a silence early (the console shows it with who made
	// it and why).
	`ALTER TABLE silences ADD COLUMN expired_by TEXT NOT NULL DEFAULT '';`,
	// 15: warnings other systems issued (alerting/issued): the latest
	// episode of each (source, key) beside its alert, and the messages
	// applied (a CAP alert by sender and identifier), so that a repeated
	// delivery changes nothing, also after a restart (issued.go).
	`CREATE TABLE issued_warnings (
		source     TEXT    NOT NULL,
		key        TEXT    NOT NULL,
		alert_id   INTEGER NOT NULL,
		level      INTEGER NOT NULL,
		site       TEXT    NOT NULL DEFAULT '',
		region     TEXT    NOT NULL DEFAULT '',
		family     TEXT    NOT NULL DEFAULT '',
		title      TEXT    NOT NULL DEFAULT '',
		summary    TEXT    NOT NULL DEFAULT '',
		labels     TEXT    NOT NULL DEFAULT '',
		starts_at  INTEGER NOT NULL,
		ends_at    INTEGER,
		updated_at INTEGER NOT NULL,
		ended_at   INTEGER,
		end_reason TEXT    NOT NULL DEFAULT '',
		PRIMARY KEY (source, key)
	) WITHOUT ROWID;
	CREATE INDEX issued_warnings_in_force ON issued_warnings (ends_at) WHERE ended_at IS NULL;
	CREATE TABLE issued_messages (
		source      TEXT    NOT NULL,
		id          TEXT    NOT NULL,
		root        TEXT    NOT NULL,
		kind        TEXT    NOT NULL DEFAULT '',
		sent        INTEGER,
		received_at INTEGER NOT NULL,
		PRIMARY KEY (source, id)
	) WITHOUT ROWID;`,
	// 16: duty spot checks (查岗, spotchecks.go): one row per check, planned
	// once by its key; the calls a check makes name it in spot_check_id.
	`CREATE TABLE spot_checks (
		id             INTEGER PRIMARY KEY AUTOINCREMENT,
		key            TEXT    NOT NULL UNIQUE,
		schedule       TEXT    NOT NULL DEFAULT '',
		org            TEXT    NOT NULL,
		org_name       TEXT    NOT NULL DEFAULT '',
		region         TEXT    NOT NULL DEFAULT '',
		roles          TEXT    NOT NULL,
		channels       TEXT    NOT NULL,
		deadline_ns    INTEGER NOT NULL,
		due_at         INTEGER NOT NULL,
		state          TEXT    NOT NULL,
		reason         TEXT    NOT NULL DEFAULT '',
		step           INTEGER NOT NULL DEFAULT 0,
		step_at        INTEGER,
		started_at     INTEGER,
		answered_at    INTEGER,
		answered_by    TEXT    NOT NULL DEFAULT '',
		answer_channel TEXT    NOT NULL DEFAULT '',
		answer_step    INTEGER NOT NULL DEFAULT 0,
		requested_by   TEXT    NOT NULL DEFAULT '',
		not_after      INTEGER NOT NULL DEFAULT 0,
		created_at     INTEGER NOT NULL,
		updated_at     INTEGER NOT NULL
	);
	CREATE INDEX spot_checks_due ON spot_checks (due_at);
	CREATE INDEX spot_checks_open ON spot_checks (id) WHERE state IN ('planned', 'calling');
	ALTER TABLE calls ADD COLUMN spot_check_id INTEGER;`,
}

// Limits of ListAlerts.
const (
	DefaultListLimit = 500
	MaxListLimit     = 5000
)

// alertColumns is the column list every alert query selects, in the order
// scanAlert reads.
const alertColumns = `id, rule, sensor, site, family, metric, unit, level, state, value, threshold,
	message, started_at, updated_at, acked_at, acked_by, resolved_at, closed_at, close_reason, overdue_at`

// State is the state database: warnings (alerts) and every transition of
// each, calls and escalations, silences, users, sessions, tokens, the
// audit log, the directory and the sensors saved through the API. On
// SQLite every commit is fsynced; on PostgreSQL, with its defaults, too:
// a change is durable when the call returns. It is safe for concurrent
// use, also by several processes (SQLite) or nodes (PostgreSQL) at once.
type State struct {
	db        *pools
	callIDs   store.CallIDs
	answerKey []byte // PostgreSQL only: see AnswerKey
	closeOnce sync.Once
	closeErr  error
}

// hotWrites are the statements of a burst of warnings: each alert's
// transitions, its calls recorded and marked, its escalation. The writer
// prepares them once (sqldb.DB.Prepare) instead of parsing them for every
// write.
var hotWrites = []string{insertAlert, updateAlert, insertTransition, insertCall, markSendingQuery(1), markCall,
	insertEscalation, escalationByTransition, saveEscalation, answerCall}

// The statements of CreateAlert and UpdateAlert.
const (
	insertAlert = `INSERT INTO alerts (rule, sensor, site, family, metric, unit, level, state, value, threshold,
		message, started_at, updated_at, acked_at, acked_by, resolved_at, closed_at, close_reason, overdue_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
	updateAlert = `UPDATE alerts SET site = ?, family = ?, metric = ?, unit = ?, level = ?, state = ?,
		value = ?, threshold = ?, message = ?, updated_at = ?, acked_at = ?, acked_by = ?,
		resolved_at = ?, closed_at = ?, close_reason = ?, overdue_at = ?
		WHERE id = ?`
	insertTransition = `INSERT INTO transitions (alert_id, at, event, from_level, to_level, from_state, to_state,
		value, actor, note, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
)

// newState finishes opening db: it reads (or makes) the instance id and
// prepares the statements of the hot path.
func newState(ctx context.Context, db *pools) (*State, error) {
	s := &State{db: db}
	var err error
	if s.callIDs, err = callIDs(ctx, db); err != nil {
		db.close()
		return nil, err
	}
	if db.d.Postgres() {
		if s.answerKey, err = answerKey(ctx, db); err != nil {
			db.close()
			return nil, err
		}
	}
	if err := db.w.Prepare(ctx, hotWrites...); err != nil {
		s.Close()
		return nil, fmt.Errorf("state %s: %w", db.path, err)
	}
	return s, nil
}

// Path returns where the database was opened from: the SQLite file, or
// the PostgreSQL URL without its password.
func (s *State) Path() string { return s.db.path }

// alertTimes holds an alert's times converted for storage.
type alertTimes struct {
	started, updated, acked, resolved, closed, overdue sql.NullInt64
}

func storeAlertTimes(a *yujing.Alert) (alertTimes, error) {
	var t alertTimes
	var err error
	for _, c := range []struct {
		name string
		dst  *sql.NullInt64
		src  *time.Time
	}{
		{"started_at", &t.started, &a.StartedAt},
		{"updated_at", &t.updated, &a.UpdatedAt},
		{"acked_at", &t.acked, a.AckedAt},
		{"resolved_at", &t.resolved, a.ResolvedAt},
		{"closed_at", &t.closed, a.ClosedAt},
		{"overdue_at", &t.overdue, a.OverdueAt},
	} {
		if *c.dst, err = nullTime(c.src); err != nil {
			return t, fmt.Errorf("%s: %w", c.name, err)
		}
	}
	return t, nil
}

// CreateAlert stores a new alert and its first transition in one
// transaction, and sets a.ID, t.AlertID and t.ID. a.ID must be 0.
func (s *State) CreateAlert(ctx context.Context, a *yujing.Alert, t *yujing.Transition) error {
	if a == nil || t == nil {
		return fmt.Errorf("state %s: create alert: nil alert or transition", s.db.path)
	}
	if a.ID != 0 {
		return fmt.Errorf("state %s: create alert: alert already has id %d", s.db.path, a.ID)
	}
	at, err := storeAlertTimes(a)
	if err != nil {
		return fmt.Errorf("state %s: create alert %s/%s: %w", s.db.path, a.Rule, a.Sensor, err)
	}
	id, tid, err := s.inTx(ctx, func(ctx context.Context, tx *sqldb.Tx) (id int64, err error) {
		err = tx.QueryRowContext(ctx, insertAlert,
			a.Rule, a.Sensor, a.Site, string(a.Family), a.Metric, a.Unit, int64(a.Level), string(a.State),
			a.Value, a.Threshold, a.Message, at.started, at.updated, at.acked, a.AckedBy, at.resolved,
			at.closed, a.Reason, at.overdue).Scan(&id)
		return id, err
	}, t)
	if err != nil {
		return fmt.Errorf("state %s: create alert %s/%s: %w", s.db.path, a.Rule, a.Sensor, err)
	}
	a.ID, t.AlertID, t.ID = id, id, tid
	return nil
}

// UpdateAlert writes every mutable field of a (all but ID, Rule, Sensor and
// StartedAt, which are fixed when the alert is created) and appends t to its
// history in one transaction, and sets t.AlertID and t.ID. It returns an
// error wrapping ErrNotFound when no alert has a.ID.
func (s *State) UpdateAlert(ctx context.Context, a yujing.Alert, t *yujing.Transition) error {
	if t == nil {
		return fmt.Errorf("state %s: update alert %d: nil transition", s.db.path, a.ID)
	}
	at, err := storeAlertTimes(&a)
	if err != nil {
		return fmt.Errorf("state %s: update alert %d: %w", s.db.path, a.ID, err)
	}
	_, tid, err := s.inTx(ctx, func(ctx context.Context, tx *sqldb.Tx) (int64, error) {
		res, err := tx.ExecContext(ctx, updateAlert,
			a.Site, string(a.Family), a.Metric, a.Unit, int64(a.Level), string(a.State), a.Value, a.Threshold,
			a.Message, at.updated, at.acked, a.AckedBy, at.resolved, at.closed, a.Reason, at.overdue, a.ID)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, ErrNotFound
		}
		return a.ID, nil
	}, t)
	if err != nil {
		return fmt.Errorf("state %s: update alert %d: %w", s.db.path, a.ID, err)
	}
	t.AlertID, t.ID = a.ID, tid
	return nil
}

// inTx runs write (which returns the alert id) and then appends t for that
// alert, in one write (sqldb.DB.Write: on SQLite perhaps committed with
// other callers' writes), returning the alert and transition ids.
func (s *State) inTx(ctx context.Context, write func(context.Context, *sqldb.Tx) (int64, error), t *yujing.Transition) (id, tid int64, err error) {
	tAt, err := nullTime(&t.At)
	if err != nil {
		return 0, 0, fmt.Errorf("transition at: %w", err)
	}
	err = s.db.w.Write(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		var err error
		if id, err = write(ctx, tx); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, insertTransition,
			id, tAt, string(t.Event), int64(t.FromLevel), int64(t.ToLevel), string(t.FromState), string(t.ToState),
			t.Value, t.Actor, t.Note, t.Reason).Scan(&tid); err != nil {
			return fmt.Errorf("transition: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return id, tid, nil
}

// openAlertsQuery reads the partial index alerts_open.
const openAlertsQuery = `SELECT ` + alertColumns + ` FROM alerts WHERE state <> 'closed' ORDER BY id`

// OpenAlerts returns every alert that is not closed, oldest first: what the
// engine needs to rebuild itself after a restart.
func (s *State) OpenAlerts(ctx context.Context) ([]yujing.Alert, error) {
	rows, err := s.db.r.QueryContext(ctx, openAlertsQuery)
	if err != nil {
		return nil, fmt.Errorf("state %s: open alerts: %w", s.db.path, err)
	}
	out, err := scanAlerts(rows)
	if err != nil {
		return nil, fmt.Errorf("state %s: open alerts: %w", s.db.path, err)
	}
	return out, nil
}

// Filter selects alerts for ListAlerts. Empty fields match everything; a
// list matches any of its values; From <= started_at < To, a zero time
// leaving that end open. A Limit of 0 (or less) means DefaultListLimit and
// it is capped at MaxListLimit; Offset skips that many alerts.
type Filter = store.AlertFilter

// whereOf returns the WHERE clause (empty when f matches everything) and its
// arguments.
func whereOf(f Filter) (string, []any) {
	var conds []string
	var args []any
	in := func(col string, n int, arg func(int) any) {
		if n == 0 {
			return
		}
		conds = append(conds, col+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", n), ", ")+")")
		for i := range n {
			args = append(args, arg(i))
		}
	}
	in("state", len(f.States), func(i int) any { return string(f.States[i]) })
	in("level", len(f.Levels), func(i int) any { return int64(f.Levels[i]) })
	if f.Sites != nil {
		var sites []string
		if len(f.Sites) == 0 {
			sites = append(sites, "FALSE") // a region with no sites: nothing
		} else {
			sites = append(sites, "site IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.Sites)), ", ")+")")
			for _, s := range f.Sites {
				args = append(args, s)
			}
		}
		if f.AreaPrefix != "" && strings.Trim(f.AreaPrefix, "0123456789") == "" {
			// The region's issued warnings: digits need no LIKE escapes.
			sites = append(sites, "site LIKE ?")
			args = append(args, yujing.RegionSite(f.AreaPrefix)+"%")
		}
		conds = append(conds, "("+strings.Join(sites, " OR ")+")")
	}
	for _, c := range []struct{ col, v string }{
		{"site", f.Site}, {"sensor", f.Sensor}, {"rule", f.Rule}, {"family", f.Family},
	} {
		if c.v != "" {
			conds = append(conds, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	if !f.From.IsZero() {
		conds = append(conds, "started_at >= ?")
		args = append(args, boundNanos(f.From))
	}
	if !f.To.IsZero() {
		conds = append(conds, "started_at < ?")
		args = append(args, boundNanos(f.To))
	}
	if len(conds) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// ListAlerts returns the alerts f selects in f.Order: newest (highest id)
// first unless it says otherwise.
func (s *State) ListAlerts(ctx context.Context, f Filter) ([]yujing.Alert, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	order := " ORDER BY id DESC"
	switch f.Order {
	case store.OrderNewest:
	case store.OrderSeverity:
		order = " ORDER BY level DESC, started_at, id"
	default:
		return nil, fmt.Errorf("state %s: list alerts: unknown order %q", s.db.path, f.Order)
	}
	where, args := whereOf(f)
	args = append(args, limit, max(f.Offset, 0))
	rows, err := s.db.r.QueryContext(ctx, `SELECT `+alertColumns+` FROM alerts`+where+
		order+` LIMIT ? OFFSET ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("state %s: list alerts: %w", s.db.path, err)
	}
	out, err := scanAlerts(rows)
	if err != nil {
		return nil, fmt.Errorf("state %s: list alerts: %w", s.db.path, err)
	}
	return out, nil
}

// CountAlerts counts the alerts f selects (its Limit, Offset and Order
// aside), by level: a level none is at is absent.
func (s *State) CountAlerts(ctx context.Context, f Filter) (map[yujing.Level]int, error) {
	where, args := whereOf(f)
	rows, err := s.db.r.QueryContext(ctx, `SELECT level, COUNT(*) FROM alerts`+where+` GROUP BY level`, args...)
	if err != nil {
		return nil, fmt.Errorf("state %s: count alerts: %w", s.db.path, err)
	}
	defer rows.Close()
	out := map[yujing.Level]int{}
	for rows.Next() {
		var level, n int64
		if err := rows.Scan(&level, &n); err != nil {
			return nil, fmt.Errorf("state %s: count alerts: %w", s.db.path, err)
		}
		out[yujing.Level(level)] = int(n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state %s: count alerts: %w", s.db.path, err)
	}
	return out, nil
}

// Alert returns one alert and its history, oldest transition first, read
// from one snapshot. It returns an error wrapping ErrNotFound when no alert
// has id.
func (s *State) Alert(ctx context.Context, id int64) (yujing.Alert, []yujing.Transition, error) {
	a, ts, err := s.alert(ctx, id)
	if err != nil {
		return yujing.Alert{}, nil, fmt.Errorf("state %s: alert %d: %w", s.db.path, id, err)
	}
	return a, ts, nil
}

const historyQuery = `SELECT id, alert_id, at, event, from_level, to_level, from_state, to_state,
	value, actor, note, reason FROM transitions WHERE alert_id = ? ORDER BY id`

func (s *State) alert(ctx context.Context, id int64) (yujing.Alert, []yujing.Transition, error) {
	tx, err := s.db.r.Snapshot(ctx)
	if err != nil {
		return yujing.Alert{}, nil, err
	}
	defer tx.Rollback()
	a, err := scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return yujing.Alert{}, nil, ErrNotFound
	}
	if err != nil {
		return yujing.Alert{}, nil, err
	}
	rows, err := tx.QueryContext(ctx, historyQuery, id)
	if err != nil {
		return yujing.Alert{}, nil, err
	}
	defer rows.Close()
	var ts []yujing.Transition
	for rows.Next() {
		var t yujing.Transition
		var at sql.NullInt64
		var value sql.NullFloat64
		var event, fromState, toState string
		var fromLevel, toLevel int64
		if err := rows.Scan(&t.ID, &t.AlertID, &at, &event, &fromLevel, &toLevel, &fromState, &toState,
			&value, &t.Actor, &t.Note, &t.Reason); err != nil {
			return yujing.Alert{}, nil, err
		}
		t.At = timeOf(at)
		t.Event = yujing.Event(event)
		t.FromLevel, t.ToLevel = yujing.Level(fromLevel), yujing.Level(toLevel)
		t.FromState, t.ToState = yujing.State(fromState), yujing.State(toState)
		t.Value = floatOf(value)
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return yujing.Alert{}, nil, err
	}
	return a, ts, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanAlert(r scanner) (yujing.Alert, error) {
	var a yujing.Alert
	var family, state string
	var level int64
	var value, threshold sql.NullFloat64
	var started, updated, acked, resolved, closed, overdue sql.NullInt64
	if err := r.Scan(&a.ID, &a.Rule, &a.Sensor, &a.Site, &family, &a.Metric, &a.Unit, &level, &state,
		&value, &threshold, &a.Message, &started, &updated, &acked, &a.AckedBy, &resolved, &closed,
		&a.Reason, &overdue); err != nil {
		return yujing.Alert{}, err
	}
	a.Family = yujing.Family(family)
	a.Level = yujing.Level(level)
	a.State = yujing.State(state)
	a.Value, a.Threshold = floatOf(value), floatOf(threshold)
	a.StartedAt, a.UpdatedAt = timeOf(started), timeOf(updated)
	a.AckedAt, a.ResolvedAt, a.ClosedAt = timePtrOf(acked), timePtrOf(resolved), timePtrOf(closed)
	a.OverdueAt = timePtrOf(overdue)
	a.Overdue = a.OverdueAt != nil
	return a, nil
}

func scanAlerts(rows *sql.Rows) ([]yujing.Alert, error) {
	defer rows.Close()
	var out []yujing.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Close closes the database. Calling it again returns the first result.
func (s *State) Close() error {
	s.closeOnce.Do(func() {
		if err := s.db.close(); err != nil {
			s.closeErr = fmt.Errorf("state %s: close: %w", s.db.path, err)
		}
	})
	return s.closeErr
}
