package sqlstate

import (
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"

	"yujing/store/internal/sqldb"
)

// What only the embedded SQLite database has: files, pragmas, query
// plans, upgrades from the versions before PostgreSQL. The contracts both
// backends keep are in the conformance suite (TestConformance).

// rawPools is a SQLite state file opened at an older schema version, past
// the State.
type rawPools struct{ w, r *sql.DB }

func (p rawPools) close() error { return errors.Join(p.r.Close(), p.w.Close()) }

// openSQLiteAt opens the SQLite file at path with the given migrations
// applied (an older schema) and no State around it.
func openSQLiteAt(t *testing.T, path string, migrations []string) rawPools {
	t.Helper()
	w, r, err := sqldb.OpenSQLite(t.Context(), "state", path, sqldb.SyncFull, migrations)
	if err != nil {
		t.Fatal(err)
	}
	return rawPools{w: w, r: r}
}

// openStateAt opens the SQLite state database at path, closed when the
// test ends.
func openStateAt(t *testing.T, path string) *State {
	t.Helper()
	return sqliteBackend().openAt(t, path)
}

// TestQueryPlans checks that the queries whose cost must not grow with the
// length of the history use an index instead of scanning a table:
// rebuilding the engine reads only the open alerts, an alert's history
// only its transitions, resuming only the pending calls, and a receipt
// finds its call by provider id.
func TestQueryPlans(t *testing.T) {
	s := openTestState(t)
	for _, tt := range []struct {
		name  string
		query string
		args  []any
		want  string
	}{
		{"open alerts", openAlertsQuery, nil, "SCAN alerts USING INDEX alerts_open"},
		{"history", historyQuery, []any{1}, "SEARCH transitions USING INDEX transitions_alert (alert_id=?)"},
		{"pending calls", pendingCallsQuery, nil, "SCAN calls USING INDEX calls_pending"},
		// ORDER BY created_at DESC LIMIT 1 sorts the calls of one provider id: one.
		{"provider id", providerCallQuery, []any{"sms", "biz"}, "SEARCH calls USING INDEX calls_provider (channel=? AND provider_id=?)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := s.db.r.SQL().QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+tt.query, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			text := strings.Join(plan, "\n")
			if !slices.Contains(plan, tt.want) {
				t.Errorf("plan:\n%s\nlacks %q", text, tt.want)
			}
			for _, line := range plan {
				if strings.Contains(line, "TEMP B-TREE") && tt.name != "provider id" {
					t.Errorf("plan sorts: %q", line)
				}
			}
		})
	}
}
