package sqlstate

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"yujing/store"
)

// The invariants SQLite's single writer keeps for free, held with several
// States on one database at once, as several processes (SQLite) or nodes
// (PostgreSQL) are. Each case repeats its race for several rounds: under
// PostgreSQL's READ COMMITTED an unguarded check-then-write loses within a
// few.

const raceRounds, racers = 25, 4

// nodes opens n States on one new database.
func nodes(t *testing.T, b backend, n int) []*State {
	t.Helper()
	where := b.fresh(t)
	out := make([]*State, n)
	for i := range out {
		out[i] = b.openAt(t, where)
	}
	return out
}

// execSQL runs a statement on s's database, past its methods: a test's way
// to reset a table between rounds.
func execSQL(t *testing.T, s *State, q string, args ...any) {
	t.Helper()
	if _, err := s.db.w.ExecContext(t.Context(), q, args...); err != nil {
		t.Fatal(err)
	}
}

// race runs fn(i, s) at once for every racer, racer i on node i mod
// len(ss), and returns what each returned.
func race[T any](ss []*State, fn func(i int, s *State) T) []T {
	out := make([]T, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			<-start
			out[i] = fn(i, ss[i%len(ss)])
		})
	}
	close(start)
	wg.Wait()
	return out
}

// testNodesCreateFirstUser: nodes starting at once on one empty database
// create one first user between them.
func testNodesCreateFirstUser(t *testing.T, b backend) {
	ss := nodes(t, b, racers)
	for round := range raceRounds {
		execSQL(t, ss[0], `DELETE FROM users`)
		type result struct {
			created bool
			err     error
		}
		got := race(ss, func(i int, s *State) result {
			ok, err := s.CreateFirstUser(t.Context(), User{Username: fmt.Sprintf("admin%d", i), Role: AdminRole,
				PasswordHash: "$argon2id$x", CreatedAt: authT0, UpdatedAt: authT0})
			return result{ok, err}
		})
		created := 0
		for _, r := range got {
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.created {
				created++
			}
		}
		if users, err := ss[0].Users(t.Context()); err != nil || created != 1 || len(users) != 1 {
			t.Fatalf("round %d: %d nodes created a first user, %d users stored (%v); want 1 and 1", round, created, len(users), err)
		}
	}
}

// testNodesLastAdmin: nodes disabling two different admins at once leave
// one enabled admin: one change wins, the other fails with ErrLastAdmin.
func testNodesLastAdmin(t *testing.T, b backend) {
	ss := nodes(t, b, 2)
	for round := range raceRounds {
		execSQL(t, ss[0], `DELETE FROM users`)
		for _, name := range []string{"admin0", "admin1"} {
			if err := ss[0].CreateUser(t.Context(), User{Username: name, Role: AdminRole, PasswordHash: "$argon2id$x",
				CreatedAt: authT0, UpdatedAt: authT0}); err != nil {
				t.Fatal(err)
			}
		}
		got := race(ss, func(i int, s *State) error {
			if i >= 2 {
				return nil
			}
			return s.UpdateUser(t.Context(), User{Username: fmt.Sprintf("admin%d", i), Role: AdminRole,
				PasswordHash: "$argon2id$x", Disabled: true, UpdatedAt: authT0.Add(time.Minute)}, true)
		})
		refused := 0
		for _, err := range got {
			switch {
			case errors.Is(err, ErrLastAdmin):
				refused++
			case err != nil:
				t.Fatal(err)
			}
		}
		enabled := 0
		users, err := ss[0].Users(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			if !u.Disabled {
				enabled++
			}
		}
		if refused != 1 || enabled != 1 {
			t.Fatalf("round %d: %d changes refused, %d admins left enabled; want 1 and 1", round, refused, enabled)
		}
	}
}

// testNodesAnswerOnce: answers to one call arriving on several nodes at
// once (a link clicked twice, an SMS reply and a console click) are
// recorded once: the first wins, the others fail with store.ErrAnswered
// and leave it as it was.
func testNodesAnswerOnce(t *testing.T, b backend) {
	ss := nodes(t, b, 2)
	for round := range raceRounds {
		alert := int64(round + 1)
		c := testCall(fmt.Sprintf("%d-1-zhang-wei-sms", alert), alert, "sms", time.Now())
		if _, err := ss[0].RecordCall(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		got := race(ss, func(i int, s *State) error {
			return s.AnswerCall(t.Context(), store.Answer{CallID: c.ID, By: fmt.Sprintf("person%d", i), Channel: "link",
				Note: fmt.Sprint(i), At: time.Now()})
		})
		winner := -1
		for i, err := range got {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: answers %d and %d both recorded", round, winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, store.ErrAnswered):
				t.Fatal(err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no answer recorded: %v", round, got)
		}
		calls, err := ss[1].CallsFor(t.Context(), alert)
		if err != nil || len(calls) != 1 || calls[0].AnsweredBy == nil {
			t.Fatalf("CallsFor: %+v, %v", calls, err)
		}
		if by := *calls[0].AnsweredBy; by != fmt.Sprintf("person%d", winner) {
			t.Fatalf("round %d: the call is answered by %q; the answer that succeeded was person%d's", round, by, winner)
		}
	}
}
