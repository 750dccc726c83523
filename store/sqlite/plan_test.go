package sqlite

import (
	"slices"
	"strings"
	"testing"
)

// TestQueryPlans checks that the queries whose cost must not grow with the
// length of the history seek the primary key instead of scanning a table
// (store/sqlstate has the state database's).
func TestQueryPlans(t *testing.T) {
	r := openTestReadings(t, 0)
	tests := []struct {
		name  string
		p     *pools
		query string
		args  []any
		want  []string // lines the plan must have
		sorts bool     // may sort: Last sorts one row per metric
	}{
		{name: "readings query", p: r.db, query: rangeQuery, args: []any{"s", "m", 0, 1},
			want: []string{"SEARCH readings USING PRIMARY KEY (sensor=? AND metric=? AND ts>? AND ts<?)"}},
		{name: "readings last", p: r.db, query: lastQuery, args: []any{"s"}, sorts: true, want: []string{
			"SEARCH readings USING PRIMARY KEY (sensor=? AND metric>?)",
			"SEARCH r USING PRIMARY KEY (sensor=? AND metric=? AND ts=?)",
		}},
		{name: "prune next series", p: r.db, query: nextSeriesQuery, args: []any{"s", "m"},
			want: []string{"SEARCH readings USING PRIMARY KEY ((sensor,metric)>(?,?))"}},
		{name: "prune delete", p: r.db, query: deleteOldQuery, args: []any{"s", "m", 0},
			want: []string{"SEARCH readings USING PRIMARY KEY (sensor=? AND metric=? AND ts<?)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := tt.p.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+tt.query, tt.args...)
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
			t.Logf("plan:\n%s", text)
			for _, line := range plan {
				for _, table := range []string{"readings", "r"} {
					if strings.HasPrefix(line, "SCAN "+table) && !strings.Contains(line, " USING ") {
						t.Errorf("plan scans %s: %q", table, line)
					}
				}
				if strings.Contains(line, "TEMP B-TREE") && !tt.sorts {
					t.Errorf("plan sorts: %q", line)
				}
			}
			for _, w := range tt.want {
				if !slices.Contains(plan, w) {
					t.Errorf("plan lacks %q", w)
				}
			}
		})
	}
}
