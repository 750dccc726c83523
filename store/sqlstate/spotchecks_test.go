package sqlstate

import (
	"errors"
	"testing"
	"time"

	"yujing"
	"yujing/store"
)

// A spot check is planned once by its key, changes only while open (the
// first answer or deadline wins), is listed by due time and org, and its
// calls are where an SMS reply that names no call belongs.
func testSpotChecks(t *testing.T, b backend) {
	s := b.open(t)
	ctx := t.Context()
	base := time.Now().UTC().Truncate(time.Second)
	plan := func(key, org string, due time.Time) store.SpotCheck {
		t.Helper()
		c := store.SpotCheck{Key: key, Schedule: "night", Org: org, OrgName: "星火化工", Region: "320115",
			Roles: []string{"duty_officer", "principal"}, Channels: []string{"voice", "sms"}, Deadline: 10 * time.Minute,
			DueAt: due, CreatedAt: base}
		created, err := s.PlanSpotCheck(ctx, &c)
		if err != nil || !created || c.ID == 0 || c.State != store.SpotCheckPlanned {
			t.Fatalf("plan %s: created %v, %+v, %v", key, created, c, err)
		}
		return c
	}
	a := plan("night/1", "xinghuo", base.Add(time.Hour))
	plan("night/2", "other", base.Add(2*time.Hour))
	again := store.SpotCheck{Key: "night/1", Org: "changed", Roles: []string{"x"}, Channels: []string{"sms"},
		Deadline: time.Minute, DueAt: base}
	if created, err := s.PlanSpotCheck(ctx, &again); err != nil || created || again.ID != a.ID || again.Org != "xinghuo" {
		t.Fatalf("planning the same key again: created %v, %+v, %v; want the first plan", created, again, err)
	}

	started := base.Add(time.Hour)
	a.State, a.Step, a.StepAt, a.StartedAt, a.UpdatedAt = store.SpotCheckCalling, 1, started, &started, started
	if err := s.SaveSpotCheck(ctx, a); err != nil {
		t.Fatal(err)
	}
	call := yujing.Call{ID: "i-chk1-s1-zhang-sms", Person: yujing.Person{ID: "zhang"}, Channel: "sms", Created: started,
		Event: yujing.EventSummary, SpotCheck: a.ID, Step: 1}
	if _, err := s.RecordCall(ctx, call); err != nil {
		t.Fatal(err)
	}
	if id, err := s.OpenCallTo(ctx, []string{"zhang"}, base); err != nil || id != call.ID {
		t.Fatalf("OpenCallTo = %q, %v; want the spot check's call", id, err)
	}
	if cs, err := s.CallsOfSpotCheck(ctx, a.ID); err != nil || len(cs) != 1 || cs[0].ID != call.ID || cs[0].Step != 1 {
		t.Fatalf("CallsOfSpotCheck = %+v, %v; want the one call", cs, err)
	}
	if cs, err := s.CallsOfSpotCheck(ctx, a.ID+1); err != nil || len(cs) != 0 {
		t.Fatalf("calls of another check = %+v, %v; want none", cs, err)
	}
	answered := started.Add(3 * time.Minute)
	a.State, a.AnsweredAt, a.AnsweredBy, a.AnswerChannel, a.AnswerStep, a.UpdatedAt =
		store.SpotCheckAnswered, &answered, "zhang", "sms reply", 1, answered
	if err := s.SaveSpotCheck(ctx, a); err != nil {
		t.Fatal(err)
	}
	late := a
	late.State, late.Reason, late.UpdatedAt = store.SpotCheckMissed, store.SpotReasonNoAnswer, started.Add(time.Hour)
	if err := s.SaveSpotCheck(ctx, late); !errors.Is(err, store.ErrSpotCheckEnded) {
		t.Fatalf("changing an answered check: %v, want ErrSpotCheckEnded", err)
	}
	if err := s.SaveSpotCheck(ctx, store.SpotCheck{ID: 999, State: store.SpotCheckMissed}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("saving no such check: %v, want ErrNotFound", err)
	}
	got, err := s.SpotCheck(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.SpotCheckAnswered || !got.OnDuty() || got.AnsweredBy != "zhang" || !got.AnsweredAt.Equal(answered) ||
		got.Deadline != 10*time.Minute || len(got.Roles) != 2 || got.Roles[1] != "principal" || got.Channels[0] != "voice" {
		t.Fatalf("stored check = %+v", got)
	}
	open, err := s.OpenSpotChecks(ctx)
	if err != nil || len(open) != 1 || open[0].Key != "night/2" {
		t.Fatalf("open checks = %+v, %v; want night/2 only", open, err)
	}
	for _, c := range []struct {
		f    store.SpotCheckFilter
		want []string
	}{
		{store.SpotCheckFilter{}, []string{"night/1", "night/2"}},
		{store.SpotCheckFilter{Org: "other"}, []string{"night/2"}},
		{store.SpotCheckFilter{From: base.Add(90 * time.Minute)}, []string{"night/2"}},
		{store.SpotCheckFilter{To: base.Add(90 * time.Minute)}, []string{"night/1"}},
		{store.SpotCheckFilter{Limit: 1}, []string{"night/1"}},
		{store.SpotCheckFilter{Limit: -1}, []string{"night/1", "night/2"}},
	} {
		list, err := s.SpotChecks(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, x := range list {
			keys = append(keys, x.Key)
		}
		if len(keys) != len(c.want) || (len(keys) > 0 && keys[0] != c.want[0]) || (len(keys) > 1 && keys[1] != c.want[1]) {
			t.Errorf("SpotChecks(%+v) = %v, want %v", c.f, keys, c.want)
		}
	}
}
