package escalate_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yujing"
	"yujing/alerting/escalate"
	"yujing/duty"
	"yujing/message"
	"yujing/store"
)

// checkWorld is the call-and-answer world with acme's principal on a
// roster of their own (wang), for spot checks.
func checkWorld(t *testing.T) *world {
	d, err := duty.New(duty.Spec{
		People: []yujing.Person{
			{ID: "zhang", Name: "张伟", Phone: "+8613800000001", Org: "acme"},
			{ID: "zhao", Name: "赵敏", Phone: "+8613800000002", Org: "acme"},
			{ID: "wang", Name: "王芳", Phone: "+8613800000003", Org: "acme"},
		},
		Orgs: []duty.Org{{ID: "acme", Name: "某化工有限公司", Kind: "enterprise", Region: "320115", Sites: []string{"plant-a"}}},
		Rosters: []duty.Roster{
			{Org: "acme", Role: duty.RoleDutyOfficer, Timezone: "Asia/Shanghai", Shifts: []string{"08:00", "20:00"},
				Start: "2026-07-14", Rotation: []duty.Turn{{"zhang"}, {"zhao"}}},
			{Org: "acme", Role: duty.RolePrincipal, Timezone: "Asia/Shanghai", Shifts: []string{"00:00"},
				Start: "2026-07-14", Rotation: []duty.Turn{{"wang"}}},
		},
		Sites:    []yujing.Site{{ID: "plant-a", Name: "甲厂", Region: "320115"}},
		Location: shanghai,
	})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, clock: &clock{t: t0}, rcv: newReceiver(t), set: policies(), dir: d,
		path: filepath.Join(t.TempDir(), "state.db")}
	w.open()
	return w
}

// spot is a check of acme's duty officer due at t0+due (22:00 is zhao's
// night shift), escalating to the principal, 10 minutes a step.
func spot(key string, due time.Duration) store.SpotCheck {
	return store.SpotCheck{Key: key, Org: "acme", OrgName: "某化工有限公司", Region: "320115",
		Roles: []string{duty.RoleDutyOfficer, duty.RolePrincipal}, Channels: []string{"voice", "sms"},
		Deadline: 10 * time.Minute, DueAt: t0.Add(due), CreatedAt: t0}
}

func (w *world) check(id int64) store.SpotCheck {
	w.t.Helper()
	c, err := w.st.SpotCheck(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// A spot check calls the duty officer on shift at its time, through the
// same outbox, channels and answers as every call; no answer by the
// deadline calls the principal; after the last role it is missed. Each
// case says who answers at which step, and what the record then holds.
func TestSpotCheck(t *testing.T) {
	const night = 12 * time.Hour // t0 is 10:00; 22:00 is zhao's shift
	cases := []struct {
		name string
		// answer: who answers (by the link of their call) and when after
		// the check began; "" nobody.
		answer    string
		after     time.Duration
		wantState string
		wantStep  int // the step answered
		onDuty    bool
		reason    string
		wantCalls []string // person@channel, in order
	}{
		{name: "on duty", answer: "zhao", after: 3 * time.Minute, wantState: store.SpotCheckAnswered, wantStep: 1,
			onDuty: true, wantCalls: []string{"zhao@voice"}},
		{name: "principal answers", answer: "wang", after: 14 * time.Minute, wantState: store.SpotCheckAnswered,
			wantStep: 2, wantCalls: []string{"zhao@voice", "wang@voice"}},
		{name: "nobody answers", wantState: store.SpotCheckMissed, reason: store.SpotReasonNoAnswer,
			wantCalls: []string{"zhao@voice", "wang@voice"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := checkWorld(t)
			ctx := context.Background()
			sc := spot("night/"+c.name, night)
			if created, err := w.esc.StartCheck(ctx, &sc); err != nil || !created {
				t.Fatalf("StartCheck: created %v, %v", created, err)
			}
			w.at(night - time.Minute) // not due yet
			if got := w.check(sc.ID); got.State != store.SpotCheckPlanned {
				t.Fatalf("a minute before it is due the check is %s, want planned", got.State)
			}
			w.at(time.Minute)
			start := w.clock.now()
			got := w.rcv.calls(t, 1)
			if p := got[0]; p.Person != "zhao" || p.Step != 1 || p.Deadline == nil || !p.Deadline.Equal(start.Add(10*time.Minute)) ||
				p.Rule != escalate.SpotCheckRule || !strings.Contains(p.AnswerURL, "/answer/") {
				t.Fatalf("first call = %+v, want zhao step 1 due in 10m with an answer link", p)
			}
			var answered bool
			for step := time.Duration(0); step <= 25*time.Minute; step += time.Minute {
				if c.answer != "" && !answered && step == c.after {
					calls := w.rcv.calls(t, len(c.wantCalls))
					for _, p := range calls {
						if p.Person == c.answer {
							if _, err := w.esc.AnswerLink(ctx, token(t, p), "在岗", false); err != nil {
								t.Fatal(err)
							}
							answered = true
						}
					}
					if !answered {
						t.Fatalf("%s was not called by %s: %v", c.answer, step, ids(calls))
					}
				}
				w.at(time.Minute)
			}
			calls := w.rcv.calls(t, len(c.wantCalls))
			if g := ids(calls); len(g) != len(c.wantCalls) {
				t.Fatalf("calls %v, want %v", g, c.wantCalls)
			}
			for i, p := range calls {
				if who := p.Person + "@" + strings.TrimPrefix(p.Message, "/"); who != c.wantCalls[i] {
					t.Errorf("call %d = %s, want %s", i, who, c.wantCalls[i])
				}
			}
			res := w.check(sc.ID)
			if res.State != c.wantState || res.AnswerStep != c.wantStep || res.OnDuty() != c.onDuty || res.Reason != c.reason {
				t.Errorf("check = %s step %d on duty %v reason %q, want %s step %d on duty %v reason %q",
					res.State, res.AnswerStep, res.OnDuty(), res.Reason, c.wantState, c.wantStep, c.onDuty, c.reason)
			}
			if c.answer != "" && (res.AnsweredAt == nil || !res.AnsweredAt.Equal(start.Add(c.after)) || res.AnsweredBy != c.answer) {
				t.Errorf("answered at %v by %q, want %v by %s", res.AnsweredAt, res.AnsweredBy, start.Add(c.after), c.answer)
			}
			a, err := w.alerts.List(ctx, store.AlertFilter{})
			if err != nil || len(a) != 0 {
				t.Errorf("a spot check made alerts %v (%v)", a, err)
			}
		})
	}
}

// A restart in the middle of a step keeps its deadline (stored, not
// restarted) and does not call the duty officer again; the principal is
// called at the stored deadline.
func TestSpotCheckRestartKeepsDeadline(t *testing.T) {
	w := checkWorld(t)
	ctx := context.Background()
	sc := spot("night/restart", 0)
	if _, err := w.esc.StartCheck(ctx, &sc); err != nil {
		t.Fatal(err)
	}
	w.at(0)
	w.rcv.calls(t, 1)
	w.at(6 * time.Minute)
	w.restart()
	w.at(0)
	w.at(3 * time.Minute) // 9 minutes in: still step 1
	if got := w.check(sc.ID); got.Step != 1 || !escalate.CheckDeadline(got).Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("after the restart: step %d due %v, want step 1 due %v", got.Step, escalate.CheckDeadline(got), t0.Add(10*time.Minute))
	}
	w.at(time.Minute) // 10 minutes: the deadline
	got := w.rcv.calls(t, 2)
	if len(got) != 2 || got[0].Person != "zhang" || got[1].Person != "wang" {
		t.Fatalf("calls %v, want zhang once, then wang", ids(got))
	}
	if got := w.check(sc.ID); got.Step != 2 || !got.StepAt.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("step %d since %v, want step 2 since %v", got.Step, got.StepAt, t0.Add(10*time.Minute))
	}
}

// A check due while yujing was down is made when it comes back within the
// check's window, and skipped (never made) when the window has passed; an
// SMS reply with the answer keyword, naming no call, answers the check's
// open call by the sender's phone.
func TestSpotCheckDueWhileDown(t *testing.T) {
	w := checkWorld(t)
	ctx := context.Background()
	late := spot("night/late", time.Minute)
	late.NotAfter = t0.Add(time.Hour)
	gone := spot("night/gone", time.Minute)
	gone.Org, gone.Key = "acme", "night/gone"
	gone.NotAfter = t0.Add(20 * time.Minute)
	for _, c := range []*store.SpotCheck{&late, &gone} {
		if _, err := w.esc.StartCheck(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	w.close() // down from 10:00 to 10:30
	w.clock.add(30 * time.Minute)
	w.open()
	w.at(0)
	if g := w.check(gone.ID); g.State != store.SpotCheckSkipped || g.Reason != store.SpotReasonDown {
		t.Errorf("check past its window: %s %q, want skipped %q", g.State, g.Reason, store.SpotReasonDown)
	}
	got := w.rcv.calls(t, 1)
	if len(got) != 1 || got[0].Person != "zhang" || !got[0].Deadline.Equal(t0.Add(40*time.Minute)) {
		t.Fatalf("calls %v (deadline %v), want zhang once, due 10:40", ids(got), got[0].Deadline)
	}
	ok, err := w.esc.Inbound(ctx, escalate.Inbound{Channel: "sms", Phone: "13800000001", Status: "replied", Text: "收到"})
	if err != nil || !ok {
		t.Fatalf("SMS reply: %v, %v", ok, err)
	}
	if g := w.check(late.ID); g.State != store.SpotCheckAnswered || !g.OnDuty() || g.AnswerChannel != "sms reply" {
		t.Errorf("late check = %s on duty %v via %q, want answered on duty via sms reply", g.State, g.OnDuty(), g.AnswerChannel)
	}
}

// Two nodes on one state database: a check planned on one (its API) is
// called by the other within the refresh interval, and an answer taken by
// the node that planned it, which never called, ends it with the stored
// step and start, so it counts as on duty.
func TestSpotCheckAcrossNodes(t *testing.T) {
	a := checkWorld(t)
	ctx := context.Background()
	a.at(0) // a has read the open checks: none
	b := &world{t: t, clock: a.clock, rcv: newReceiver(t), set: a.set, dir: a.dir, path: a.path}
	b.open()
	sc := spot("demand/on-b", 0)
	if _, err := b.esc.StartCheck(ctx, &sc); err != nil {
		t.Fatal(err)
	}
	calls := func() []store.CallRecord {
		cs, err := a.st.CallsOfSpotCheck(ctx, sc.ID)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	a.at(time.Second)
	if n := len(calls()); n != 0 {
		t.Fatalf("%d calls 1s after; node a reads the open checks every 5s", n)
	}
	a.at(4 * time.Second)
	cs := calls()
	if len(cs) != 1 || cs[0].Person != "zhang" {
		t.Fatalf("calls after the refresh: %+v, want zhang once", cs)
	}
	a.at(time.Minute)
	out, err := b.esc.Answer(ctx, cs[0].ID, escalate.AnswerInput{Channel: escalate.ViaConsole})
	if err != nil || !out.Stopped {
		t.Fatalf("answer on node b: %+v, %v", out, err)
	}
	got := a.check(sc.ID)
	if got.State != store.SpotCheckAnswered || !got.OnDuty() || got.StartedAt == nil || !got.StartedAt.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("check = %+v (on duty %v), want answered on duty, started when node a called", got, got.OnDuty())
	}
	a.at(5 * time.Second) // a reads again: the check ended elsewhere, nothing more is called
	if n := len(calls()); n != 1 {
		t.Errorf("%d calls after the answer, want 1", n)
	}
}

// What the people checked are told, as SMS and voice render it.
func TestSpotCheckText(t *testing.T) {
	w := checkWorld(t)
	ctx := context.Background()
	sc := spot("night/text", 0)
	if _, err := w.esc.StartCheck(ctx, &sc); err != nil {
		t.Fatal(err)
	}
	w.at(0)
	w.at(10 * time.Minute)
	got := w.rcv.calls(t, 2)
	// The webhook carries the alert's message: the check's text.
	for i, want := range []string{
		"【值班抽查】某化工有限公司：现对贵单位值班值守情况进行抽查，请于 10:10 前应答（短信回复“收到”，电话按 1 键，或打开应答链接），确认在岗。",
		"【值班抽查】某化工有限公司：值班人员未在 10 分钟内应答值班抽查，请于 10:20 前应答（短信回复“收到”，电话按 1 键，或打开应答链接），并督促值班人员立即到岗。",
	} {
		cs, err := w.st.CallsOfSpotCheck(ctx, sc.ID)
		if err != nil || len(cs) != 2 {
			t.Fatalf("calls %+v, %v", cs, err)
		}
		_, call, err := w.st.Call(ctx, cs[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		if call.Alert.Message != want || call.Event != yujing.EventSummary || call.Alert.Rule != escalate.SpotCheckRule {
			t.Errorf("call %d (%s) says %q, want %q", i, got[i].Person, call.Alert.Message, want)
		}
		if i > 0 {
			continue
		}
		r, err := message.New(message.LangZH, shanghai, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []struct {
			kind message.Kind
			want string
		}{
			{message.KindSMS, "值班抽查 某化工有限公司：现对贵单位值班值守情况进行抽查，请于 10:10 前应答（短信回复“收到”，电话按 1 键，或打开应答链接），确认在岗。"},
			{message.KindVoice, "这里是应急预警系统。值班抽查。某化工有限公司：现对贵单位值班值守情况进行抽查，请于 10:10 前应答（短信回复“收到”，电话按 1 键，或打开应答链接），确认在岗。"},
		} {
			m, err := r.Render(k.kind, call)
			if err != nil || m.Text != k.want {
				t.Errorf("%s: %q, %v\nwant %q", k.kind, m.Text, err, k.want)
			}
		}
		m, err := r.Render(message.KindIM, call)
		if err != nil || !strings.Contains(m.Markdown, call.AnswerURL) {
			t.Errorf("IM: %q, %v; want the answer link", m.Markdown, err)
		}
	}
}

// A role nobody holds (no roster, nobody of that position) is passed at
// once to the next; when it is the last, the check is missed with
// nobody_on_duty, and nobody was called.
func TestSpotCheckNobodyOnDuty(t *testing.T) {
	w := checkWorld(t)
	ctx := context.Background()
	next := spot("demand/nobody-then-principal", 0)
	next.Roles = []string{duty.RoleLeaderOnDuty, duty.RolePrincipal}
	alone := spot("demand/nobody", 0)
	alone.Roles = []string{duty.RoleLeaderOnDuty}
	for _, c := range []*store.SpotCheck{&next, &alone} {
		if _, err := w.esc.StartCheck(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	w.at(0)
	if g := w.check(alone.ID); g.State != store.SpotCheckMissed || g.Reason != store.SpotReasonNobody {
		t.Errorf("a check of a role nobody holds: %s %q, want missed %q", g.State, g.Reason, store.SpotReasonNobody)
	}
	g := w.check(next.ID)
	if g.State != store.SpotCheckCalling || g.Step != 2 || !g.StepAt.Equal(t0) {
		t.Errorf("the check going on: %s step %d since %v, want calling step 2 since %v", g.State, g.Step, g.StepAt, t0)
	}
	for _, c := range []struct {
		id   int64
		want []string
	}{{alone.ID, nil}, {next.ID, []string{"wang@2"}}} {
		cs, err := w.st.CallsOfSpotCheck(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range cs {
			got = append(got, fmt.Sprintf("%s@%d", x.Person, x.Step))
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("check %d called %v, want %v", c.id, got, c.want)
		}
	}
}
