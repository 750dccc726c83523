package sqlstate

// postgresMigrations is the schema of the state database on PostgreSQL,
// one entry per version; append, never edit. It holds the same tables as
// stateMigrations (SQLite) in PostgreSQL's types: every schema change
// appends one entry to each list in the same commit, and the conformance
// suite (TestConformance) holds both to the same behaviour. The version
// numbers of the two lists need not match.
//
// What differs from SQLite, and why:
//   - bigint for times (Unix nanoseconds), ids, sizes and durations
//     (integer is 32-bit); double precision for values (real is 32-bit);
//     boolean for flags; bytea for attachments' data.
//   - bigint GENERATED ALWAYS AS IDENTITY for the ids SQLite assigns
//     (AUTOINCREMENT, or a rowid): identity values are not transactional,
//     so a rollback leaves a gap, and with several writers a smaller id may
//     commit later than a larger one.
//   - COLLATE "C" on the text keys lists are ordered by (users, tokens,
//     sensors, the directory, call ids, sites), so that PostgreSQL sorts by
//     bytes as SQLite does, whatever the server's locale.
//   - call_receipts_once indexes the hashes of the receipt's text columns:
//     a B-tree entry over 2704 bytes (a long SMS reply) is refused
//     (54000), and SQLite has no such limit. call_id gets a hash index of
//     its own for CallsFor.
//   - audit_log is made append-only by a trigger function (row triggers
//     for UPDATE and DELETE, a statement trigger for TRUNCATE, which fires
//     no row trigger).
var postgresMigrations = []string{
	// 1: everything of SQLite's versions 1 to 13.
	`CREATE TABLE alerts (
		id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		rule         text    NOT NULL,
		sensor       text    NOT NULL,
		site         text    NOT NULL DEFAULT '',
		family       text    NOT NULL DEFAULT '',
		metric       text    NOT NULL DEFAULT '',
		unit         text    NOT NULL DEFAULT '',
		level        integer NOT NULL,
		state        text    NOT NULL,
		value        double precision,
		threshold    double precision,
		message      text    NOT NULL DEFAULT '',
		started_at   bigint,
		updated_at   bigint,
		acked_at     bigint,
		acked_by     text    NOT NULL DEFAULT '',
		resolved_at  bigint,
		closed_at    bigint,
		close_reason text    NOT NULL DEFAULT '',
		overdue_at   bigint
	);
	CREATE INDEX alerts_state ON alerts (state);
	CREATE INDEX alerts_rule_sensor ON alerts (rule, sensor);
	CREATE INDEX alerts_open ON alerts (id) WHERE state <> 'closed';
	CREATE TABLE transitions (
		id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		alert_id   bigint  NOT NULL REFERENCES alerts (id),
		at         bigint,
		event      text    NOT NULL,
		from_level integer NOT NULL,
		to_level   integer NOT NULL,
		from_state text    NOT NULL DEFAULT '',
		to_state   text    NOT NULL DEFAULT '',
		value      double precision,
		actor      text    NOT NULL DEFAULT '',
		note       text    NOT NULL DEFAULT '',
		reason     text    NOT NULL DEFAULT ''
	);
	CREATE INDEX transitions_alert ON transitions (alert_id);

	CREATE TABLE sensors (
		id          text    COLLATE "C" PRIMARY KEY,
		body        text    NOT NULL DEFAULT '',
		interval_ns bigint  NOT NULL DEFAULT 0,
		deleted     boolean NOT NULL DEFAULT FALSE,
		updated_at  bigint  NOT NULL
	);

	CREATE TABLE calls (
		id             text    COLLATE "C" PRIMARY KEY,
		alert_id       bigint  NOT NULL,
		event          text    NOT NULL DEFAULT '',
		person         text    NOT NULL DEFAULT '',
		channel        text    NOT NULL,
		step           integer NOT NULL DEFAULT 0,
		deadline       bigint,
		answer_url     text    NOT NULL DEFAULT '',
		body           text    NOT NULL,
		status         text    NOT NULL DEFAULT 'pending',
		attempts       integer NOT NULL DEFAULT 0,
		last_error     text    NOT NULL DEFAULT '',
		provider_id    text    NOT NULL DEFAULT '',
		created_at     bigint  NOT NULL,
		sent_at        bigint,
		answered_at    bigint,
		answered_by    text,
		answer_channel text,
		escalation_id  bigint,
		answer_note    text,
		on_site        boolean,
		sending_at     bigint
	);
	CREATE INDEX calls_alert ON calls (alert_id);
	CREATE INDEX calls_pending ON calls (created_at) WHERE status = 'pending';
	CREATE INDEX calls_provider ON calls (channel, provider_id) WHERE provider_id <> '';
	CREATE INDEX calls_escalation ON calls (escalation_id) WHERE escalation_id IS NOT NULL;
	CREATE INDEX calls_created ON calls (created_at);
	CREATE TABLE call_receipts (
		id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		call_id     text   NOT NULL DEFAULT '',
		channel     text   NOT NULL,
		provider_id text   NOT NULL DEFAULT '',
		phone       text   NOT NULL DEFAULT '',
		status      text   NOT NULL,
		"key"       text   NOT NULL DEFAULT '',
		"text"      text   NOT NULL DEFAULT '',
		detail      text   NOT NULL DEFAULT '',
		at          bigint NOT NULL,
		received_at bigint NOT NULL
	);
	CREATE UNIQUE INDEX call_receipts_once ON call_receipts (md5(call_id), md5(channel), md5(provider_id),
		md5(phone), md5(status), md5("key"), md5("text"), at);
	CREATE INDEX call_receipts_call ON call_receipts USING hash (call_id);

	CREATE TABLE silences (
		id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		body       text   NOT NULL,
		starts_at  bigint NOT NULL,
		ends_at    bigint NOT NULL,
		created_by text   NOT NULL DEFAULT '',
		created_at bigint NOT NULL,
		expired_at bigint
	);

	CREATE TABLE audit_log (
		seq       bigint PRIMARY KEY,
		at        bigint NOT NULL,
		actor     text   NOT NULL DEFAULT '',
		action    text   NOT NULL,
		object    text   NOT NULL DEFAULT '',
		detail    text   NOT NULL DEFAULT '',
		source    text   NOT NULL DEFAULT '',
		prev_hash text   NOT NULL,
		hash      text   NOT NULL
	);
	CREATE INDEX audit_log_at ON audit_log (at);
	CREATE INDEX audit_log_actor ON audit_log (actor);
	CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		RAISE EXCEPTION 'audit_log is append-only';
	END
	$$;
	CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
		FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
	CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
		FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
	CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
		FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

	CREATE TABLE attachments (
		id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		alert_id      bigint NOT NULL REFERENCES alerts (id),
		transition_id bigint NOT NULL,
		name          text   NOT NULL,
		content_type  text   NOT NULL,
		size          bigint NOT NULL,
		sha256        text   NOT NULL,
		data          bytea  NOT NULL,
		created_by    text   NOT NULL DEFAULT '',
		created_at    bigint NOT NULL
	);
	CREATE INDEX attachments_alert ON attachments (alert_id);

	CREATE TABLE escalations (
		id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		alert_id       bigint  NOT NULL,
		transition_id  bigint  NOT NULL,
		level          integer NOT NULL,
		policy         text    NOT NULL,
		round          integer NOT NULL DEFAULT 0,
		step           integer NOT NULL,
		step_at        bigint  NOT NULL,
		state          text    NOT NULL,
		reason         text    NOT NULL DEFAULT '',
		started_at     bigint  NOT NULL,
		updated_at     bigint  NOT NULL,
		answered_at    bigint,
		answered_by    text,
		answer_channel text,
		top_reached_at bigint,
		UNIQUE (alert_id, transition_id)
	);
	CREATE INDEX escalations_active ON escalations (alert_id) WHERE state = 'active';
	CREATE INDEX escalations_started ON escalations (started_at);

	CREATE TABLE directory (
		kind       text    COLLATE "C" NOT NULL,
		id         text    COLLATE "C" NOT NULL,
		body       text    NOT NULL DEFAULT '',
		deleted    boolean NOT NULL DEFAULT FALSE,
		updated_at bigint  NOT NULL,
		PRIMARY KEY (kind, id)
	);

	CREATE TABLE users (
		username      text    COLLATE "C" PRIMARY KEY,
		role          text    NOT NULL,
		password_hash text    NOT NULL,
		disabled      boolean NOT NULL DEFAULT FALSE,
		created_at    bigint  NOT NULL,
		updated_at    bigint  NOT NULL
	);
	CREATE TABLE sessions (
		id_sha256  text   PRIMARY KEY,
		username   text   COLLATE "C" NOT NULL REFERENCES users (username) ON DELETE CASCADE,
		csrf_token text   NOT NULL,
		created_at bigint NOT NULL,
		last_seen  bigint NOT NULL,
		expires_at bigint NOT NULL
	);
	CREATE INDEX sessions_user ON sessions (username);
	CREATE INDEX sessions_expires ON sessions (expires_at);
	CREATE TABLE api_tokens (
		name         text   COLLATE "C" PRIMARY KEY,
		role         text   NOT NULL,
		token_sha256 text   NOT NULL UNIQUE,
		created_by   text   NOT NULL DEFAULT '',
		created_at   bigint NOT NULL,
		last_used_at bigint,
		revoked_at   bigint
	);

	CREATE TABLE meta (
		key   text PRIMARY KEY,
		value text NOT NULL
	);

	CREATE TABLE site_status (
		id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		site   text   COLLATE "C" NOT NULL,
		status text   NOT NULL,
		since  bigint NOT NULL,
		by     text   NOT NULL,
		reason text   NOT NULL
	);
	CREATE INDEX site_status_site ON site_status (site, id);`,
	// 2: SQLite's 14: who ended a silence early.
	`ALTER TABLE silences ADD COLUMN expired_by text NOT NULL DEFAULT '';`,
	// 3: SQLite's 15: issued warnings and the messages applied.
	`CREATE TABLE issued_warnings (
		source     text    COLLATE "C" NOT NULL,
		key        text    COLLATE "C" NOT NULL,
		alert_id   bigint  NOT NULL,
		level      integer NOT NULL,
		site       text    NOT NULL DEFAULT '',
		region     text    NOT NULL DEFAULT '',
		family     text    NOT NULL DEFAULT '',
		title      text    NOT NULL DEFAULT '',
		summary    text    NOT NULL DEFAULT '',
		labels     text    NOT NULL DEFAULT '',
		starts_at  bigint  NOT NULL,
		ends_at    bigint,
		updated_at bigint  NOT NULL,
		ended_at   bigint,
		end_reason text    NOT NULL DEFAULT '',
		PRIMARY KEY (source, key)
	);
	CREATE INDEX issued_warnings_in_force ON issued_warnings (ends_at) WHERE ended_at IS NULL;
	CREATE TABLE issued_messages (
		source      text   COLLATE "C" NOT NULL,
		id          text   COLLATE "C" NOT NULL,
		root        text   NOT NULL,
		kind        text   NOT NULL DEFAULT '',
		sent        bigint,
		received_at bigint NOT NULL,
		PRIMARY KEY (source, id)
	);`,
	// 4: SQLite's 16: duty spot checks.
	`CREATE TABLE spot_checks (
		id             bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		key            text    COLLATE "C" NOT NULL UNIQUE,
		schedule       text    NOT NULL DEFAULT '',
		org            text    COLLATE "C" NOT NULL,
		org_name       text    NOT NULL DEFAULT '',
		region         text    NOT NULL DEFAULT '',
		roles          text    NOT NULL,
		channels       text    NOT NULL,
		deadline_ns    bigint  NOT NULL,
		due_at         bigint  NOT NULL,
		state          text    NOT NULL,
		reason         text    NOT NULL DEFAULT '',
		step           integer NOT NULL DEFAULT 0,
		step_at        bigint,
		started_at     bigint,
		answered_at    bigint,
		answered_by    text    NOT NULL DEFAULT '',
		answer_channel text    NOT NULL DEFAULT '',
		answer_step    integer NOT NULL DEFAULT 0,
		requested_by   text    NOT NULL DEFAULT '',
		not_after      bigint  NOT NULL DEFAULT 0,
		created_at     bigint  NOT NULL,
		updated_at     bigint  NOT NULL
	);
	CREATE INDEX spot_checks_due ON spot_checks (due_at);
	CREATE INDEX spot_checks_open ON spot_checks (id) WHERE state IN ('planned', 'calling');
	ALTER TABLE calls ADD COLUMN spot_check_id bigint;`,
}
