package sqlstate

import (
	"path/filepath"
	"testing"
	"time"

	"yujing"
	"yujing/store"
)

// Escalations stored by earlier versions carry their reason as a
// sentence; opening the database rewrites each as the stable value
// (store.Reason*) that reports count by, and leaves the rest alone.
func TestLegacyEscalationReasonsMigrated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	// The schema as the last version before the reasons were made stable.
	const before = 9
	db := openSQLiteAt(t, path, stateMigrations[:before])
	cases := []struct{ state, old, want string }{
		{store.EscalationStopped, "superseded: upgraded to red", store.ReasonSuperseded},
		{store.EscalationStopped, "superseded: reopened to orange", store.ReasonSuperseded},
		{store.EscalationStopped, "resolved before anyone answered", store.ReasonResolved},
		{store.EscalationStopped, "closed", store.ReasonClosed},
		{store.EscalationExhausted, "nobody answered: the chain reached its top", store.ReasonTopReached},
		{store.EscalationStopped, "calls suppressed: the alert is silenced", store.ReasonSilenced},
		{store.EscalationStopped, "calls suppressed: the alert is inhibited", store.ReasonInhibited},
		{store.EscalationStopped, "policy red-county is no longer configured", store.ReasonPolicyRemoved},
		{store.EscalationAnswered, "", ""},
		{store.EscalationActive, "", ""},
	}
	for i, c := range cases {
		if _, err := db.w.ExecContext(t.Context(), `INSERT INTO escalations (alert_id, transition_id, level, policy, step,
			step_at, state, reason, started_at, updated_at) VALUES (1, ?, ?, 'red', 1, 0, ?, ?, 0, 0)`,
			i+1, int(yujing.Red), c.state, c.old); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.close(); err != nil {
		t.Fatal(err)
	}
	s := openStateAt(t, path)
	es, err := s.EscalationsFor(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != len(cases) {
		t.Fatalf("%d escalations, want %d", len(es), len(cases))
	}
	for i, c := range cases {
		if es[i].Reason != c.want || es[i].State != c.state {
			t.Errorf("%s %q became %s %q, want %q", c.state, c.old, es[i].State, es[i].Reason, c.want)
		}
	}
}

// SaveEscalation records when an escalation changed as the engine says
// (its clock), so that a stopped escalation tells when it stopped; a zero
// UpdatedAt means now.
func testSaveEscalationUpdatedAt(t *testing.T, b backend) {
	s := b.open(t)
	at := time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
	for _, c := range []struct {
		name    string
		updated time.Time
	}{
		{"the engine's time", at.Add(10 * time.Minute)},
		{"zero: now", time.Time{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := store.Escalation{AlertID: 7, TransitionID: int64(len(c.name)), Level: yujing.Orange, Policy: "orange", Step: 1,
				StepAt: at, StartedAt: at}
			if _, err := s.StartEscalation(t.Context(), &e); err != nil {
				t.Fatal(err)
			}
			e.State, e.Reason, e.UpdatedAt = store.EscalationStopped, store.ReasonClosed, c.updated
			before := time.Now()
			if err := s.SaveEscalation(t.Context(), e); err != nil {
				t.Fatal(err)
			}
			got, err := s.Escalation(t.Context(), e.ID)
			if err != nil {
				t.Fatal(err)
			}
			if c.updated.IsZero() {
				if got.UpdatedAt.Before(before) || got.UpdatedAt.After(time.Now()) {
					t.Errorf("updated_at %v, want the time of the save", got.UpdatedAt)
				}
			} else if !got.UpdatedAt.Equal(c.updated) {
				t.Errorf("updated_at %v, want %v", got.UpdatedAt, c.updated)
			}
			if got.State != store.EscalationStopped || got.Reason != store.ReasonClosed {
				t.Errorf("saved as %s %q", got.State, got.Reason)
			}
		})
	}
}
