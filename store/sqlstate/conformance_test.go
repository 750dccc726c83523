package sqlstate

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"yujing/internal/testenv"
)

// backend is one database the conformance suite runs on.
type backend struct {
	name string
	// fresh returns where a new, empty state database is: a SQLite file's
	// path or a PostgreSQL URL.
	fresh func(t *testing.T) string
	// migrations is the dialect's migration list.
	migrations []string
	// dropAuditTriggers are the statements that remove audit_log's
	// append-only triggers, as someone with the database owner's rights
	// could.
	dropAuditTriggers []string
}

func (b backend) postgres() bool { return b.name == "postgres" }

// open opens a new, empty state database, closed when the test ends.
func (b backend) open(t *testing.T) *State {
	t.Helper()
	return b.openAt(t, b.fresh(t))
}

// openAt opens the state database where names, closed when the test ends.
func (b backend) openAt(t *testing.T, where string) *State {
	t.Helper()
	return b.openWith(t, where, Options{})
}

func (b backend) openWith(t *testing.T, where string, opts Options) *State {
	t.Helper()
	s, err := Open(t.Context(), where, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// raw opens the database where names directly, past the State and its
// rebinding: as anyone with access to the file or the database owner's
// password could. Statements on it use the dialect's placeholders.
func (b backend) raw(t *testing.T, where string) *sql.DB {
	t.Helper()
	var db *sql.DB
	if b.postgres() {
		cfg, err := pgx.ParseConfig(where)
		if err != nil {
			t.Fatal(err)
		}
		db = stdlib.OpenDB(*cfg)
	} else {
		var err error
		if db, err = sql.Open("sqlite", where); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func sqliteBackend() backend {
	return backend{
		name:              "sqlite",
		fresh:             func(t *testing.T) string { return filepath.Join(t.TempDir(), "state.db") },
		migrations:        stateMigrations,
		dropAuditTriggers: []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`},
	}
}

func postgresBackend(pg *testenv.Postgres) backend {
	return backend{
		name:       "postgres",
		fresh:      func(t *testing.T) string { return pg.NewDatabase(t) },
		migrations: postgresMigrations,
		dropAuditTriggers: []string{`DROP TRIGGER audit_log_no_update ON audit_log`,
			`DROP TRIGGER audit_log_no_delete ON audit_log`, `DROP TRIGGER audit_log_no_truncate ON audit_log`},
	}
}

// conformance is the suite every backend passes: the contracts of the
// State, each case on a database of its own.
var conformance = []struct {
	name string
	run  func(t *testing.T, b backend)
}{
	// state_test.go
	{"AlertRoundTrip", testAlertRoundTrip},
	{"AlertHistory", testAlertHistory},
	{"AlertNotFound", testAlertNotFound},
	{"CreateAlertInvalid", testCreateAlertInvalid},
	{"OpenAlerts", testOpenAlerts},
	{"ListAlerts", testListAlerts},
	{"ListAlertsLimits", testListAlertsLimits},
	{"CountAlerts", testCountAlerts},
	{"StateReopen", testStateReopen},
	{"CleanText", testCleanText},
	// escalations_test.go
	{"SaveEscalationUpdatedAt", testSaveEscalationUpdatedAt},
	// callanswer_test.go
	{"EscalationLifecycle", testEscalationLifecycle},
	{"SilencesAttachmentsSiteStatus", testSilencesAttachmentsSiteStatus},
	// spotchecks_test.go
	{"SpotChecks", testSpotChecks},
	// outbox_test.go
	{"RecordCallIdempotent", testRecordCallIdempotent},
	{"PendingCallsAndMark", testPendingCallsAndMark},
	{"Receipts", testReceipts},
	{"OutboxSurvivesReopen", testOutboxSurvivesReopen},
	{"MarkSending", testMarkSending},
	// groupcommit_test.go
	{"ConcurrentCalls", testConcurrentCalls},
	// auth_test.go
	{"UsersStore", testUsersStore},
	{"TokensStore", testTokensStore},
	// audit_test.go
	{"AuditAppendChainsAndVerifies", testAuditAppendChainsAndVerifies},
	{"AuditList", testAuditList},
	{"AuditConcurrentAppendsKeepOneChain", testAuditConcurrentAppendsKeepOneChain},
	{"AuditAppendOnlyTriggers", testAuditAppendOnlyTriggers},
	{"AuditVerifyFindsTampering", testAuditVerifyFindsTampering},
	{"AuditReadOnly", testAuditReadOnly},
	// directory_test.go, sensors_test.go
	{"DirectoryPersists", testDirectoryPersists},
	{"DirectoryRefusesBadEntries", testDirectoryRefusesBadEntries},
	{"PutSensorsRoundTrip", testPutSensorsRoundTrip},
	{"PutSensorsAllOrNothing", testPutSensorsAllOrNothing},
	// nodes_test.go: several States on one database at once
	{"NodesCreateFirstUser", testNodesCreateFirstUser},
	{"NodesLastAdmin", testNodesLastAdmin},
	{"NodesAnswerOnce", testNodesAnswerOnce},
	// instance_test.go
	{"InstanceID", testInstanceID},
	{"InstanceIDDamaged", testInstanceIDDamaged},
	{"AnswerKey", testAnswerKey},

	{"IssuedWarnings", testIssuedWarnings},
	{"IssuedMessages", testIssuedMessages},
	{"ListAlertsAreas", testListAlertsAreas},
}

// TestConformance runs the suite on SQLite and on PostgreSQL (one server,
// a database per case).
func TestConformance(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		runConformance(t, sqliteBackend())
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		pg := testenv.StartPostgres(t)
		// The data is thrown away: a shutdown checkpoint of every case's
		// database would take longer than the cases.
		t.Cleanup(pg.Kill)
		runConformance(t, postgresBackend(pg))
	})
}

func runConformance(t *testing.T, b backend) {
	for _, c := range conformance {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, b)
		})
	}
}

// countRows counts the rows of table through the State's reader.
func countRows(t *testing.T, s *State, table string) int {
	t.Helper()
	var n int
	if err := s.db.r.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
