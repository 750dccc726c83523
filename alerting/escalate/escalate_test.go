package escalate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/escalate"
	"yujing/alerting/lifecycle"
	"yujing/duty"
	"yujing/ingest"
	"yujing/internal/mailbox"
	"yujing/notify"
	"yujing/notify/webhook"
	"yujing/store"
	"yujing/store/sqlite"
	"yujing/store/sqlstate"
)

// receiver is an HTTP server on loopback standing for the people's
// phones: it keeps every webhook payload it receives, except on channel
// "down", which it refuses for good (400).
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []webhook.Payload
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/down" {
			http.Error(w, "template rejected", http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(req.Body)
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		p.Message = req.URL.Path // which channel
		r.mu.Lock()
		r.got = append(r.got, p)
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// calls waits until n calls arrived (or 5s passed) and returns them all.
func (r *receiver) calls(t *testing.T, n int) []webhook.Payload {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		got := slices.Clone(r.got)
		r.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) < n {
				t.Fatalf("%d calls arrived, want %d: %v", len(got), n, ids(got))
			}
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settled checks that exactly n calls were made, and returns them as they
// arrived: n on record — the outbox records a call before its Call
// returns, and Step makes its calls before it returns, so the record is
// complete — each of them sent, and then exactly n at the receiver, which
// has every sent call by then. No sleep stands in for "nothing more came".
func (w *world) settled(t *testing.T, n int) []webhook.Payload {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, _, cs := w.alert()
		if len(cs) != n {
			var got []string
			for _, c := range cs {
				got = append(got, c.Person+"@"+c.Channel+":"+c.ID)
			}
			t.Fatalf("%d calls on record, want %d: %v", len(cs), n, got)
		}
		pending := 0
		for _, c := range cs {
			if c.Status == store.CallPending {
				pending++
			}
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d calls still pending after 5s", pending, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	got := w.rcv.calls(t, n)
	if len(got) != n {
		t.Fatalf("%d calls arrived, want exactly the %d on record: %v", len(got), n, ids(got))
	}
	return got
}

func ids(ps []webhook.Payload) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Person+"@"+strings.TrimPrefix(p.Message, "/")+":"+p.CallID)
	}
	return out
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// world is yujing's call-and-answer path with real parts: the SQLite
// state, the rule engine, the notify outbox and dispatcher delivering
// through the webhook channel to a loopback receiver, and the directory.
type world struct {
	t       testing.TB
	sensors int // gas-1 … gas-N; default 1
	clock   *clock
	st      *sqlstate.State
	path    string
	eng     *alerting.Engine
	alerts  *lifecycle.Alerts
	esc     *escalate.Engine
	ob      *notify.Outbox
	disp    *notify.Dispatcher
	rcv     *receiver
	set     escalate.Settings
	dir     *duty.Directory
	cancel  context.CancelFunc
	// legacy, when set, makes the state database one upgraded from a
	// version without instance ids, with escalations up to legacy.
	legacy int64
	// fence, when set, is call-and-answer's Options.Fence.
	fence func(ctx context.Context, site string) context.Context
	// wrap, when set, wraps call-and-answer's store.
	wrap func(escalate.Store) escalate.Store
}

// upgradedStore is a state database upgraded from a version without
// instance ids: calls of escalations up to legacy keep their earlier ids.
type upgradedStore struct {
	*sqlstate.State
	legacy int64
}

func (s upgradedStore) CallIDs() store.CallIDs {
	c := s.State.CallIDs()
	c.LegacyEscalations = s.legacy
	return c
}

var (
	shanghai, _ = time.LoadLocation("Asia/Shanghai")
	// 2026-07-14 10:00 in Shanghai: zhang's day shift.
	t0 = time.Date(2026, 7, 14, 10, 0, 0, 0, shanghai)
)

func directory(t testing.TB) *duty.Directory {
	d, err := duty.New(duty.Spec{
		People: []yujing.Person{
			{ID: "zhang", Name: "张伟", Phone: "+8613800000001", Org: "acme"},
			{ID: "zhao", Name: "赵敏", Phone: "+8613800000002", Org: "acme"},
			{ID: "wang", Name: "王芳", Phone: "+8613800000003", Org: "acme"},
			{ID: "li", Name: "李强", Phone: "+8613800000004", Org: "jn"},
			{ID: "chen", Name: "陈刚", Phone: "+8613800000005", Org: "nj"},
		},
		Orgs: []duty.Org{
			{ID: "nj", Name: "南京市应急管理局", Kind: "city", Region: "320100"},
			{ID: "jn", Name: "江宁区应急管理局", Kind: "county", Parent: "nj", Region: "320115"},
			{ID: "acme", Name: "某化工有限公司", Kind: "enterprise", Parent: "jn", Region: "320115", Sites: []string{"plant-a"}},
		},
		Responsibility: []duty.Responsibility{{Site: "plant-a", Chain: []duty.LinkSpec{
			{Tier: 1, Role: duty.RoleDutyOfficer, Roster: "acme/duty_officer"},
			{Tier: 2, Role: duty.RoleAssignedOfficial, People: []string{"li"}},
			{Tier: 4, Role: duty.RoleSupervisorInChief, People: []string{"chen"}},
		}}},
		Rosters: []duty.Roster{{Org: "acme", Role: duty.RoleDutyOfficer, Timezone: "Asia/Shanghai",
			Shifts: []string{"08:00", "20:00"}, Start: "2026-07-14", Rotation: []duty.Turn{{"zhang"}, {"zhao"}}}},
		Sites:    []yujing.Site{{ID: "plant-a", Name: "甲厂", Region: "320115"}},
		Location: shanghai,
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// policies: red calls the site's tier 1 with a double report to the
// enterprise's wang, then the supervisor-in-chief; orange calls the duty
// officer on a two-channel ladder with a reminder, twice round.
func policies() escalate.Settings {
	return escalate.Settings{BaseURL: "http://yj.test", Policies: []escalate.Policy{
		{Name: "red", Levels: []yujing.Level{yujing.Red},
			Steps: []escalate.Step{
				{Targets: []escalate.Target{{Tier: 1}}, Ladder: []string{"im"}, Deadline: 5 * time.Minute},
				{Targets: []escalate.Target{{Role: duty.RoleSupervisorInChief}}, Ladder: []string{"voice"}, Deadline: 5 * time.Minute},
			},
			DoubleReport: &escalate.Step{Targets: []escalate.Target{{Person: "wang"}}, Ladder: []string{"sms"}}},
		{Name: "orange", Levels: []yujing.Level{yujing.Orange}, Repeat: 1,
			Steps: []escalate.Step{{Targets: []escalate.Target{{Roster: "acme/duty_officer"}}, Ladder: []string{"im", "sms"},
				LadderWait: time.Minute, Deadline: 5 * time.Minute, Reminders: 1, RemindEvery: 2 * time.Minute}}},
	}}
}

func (w *world) sensorList() []yujing.Sensor {
	var out []yujing.Sensor
	for i := 1; i <= max(1, w.sensors); i++ {
		out = append(out, yujing.Sensor{ID: fmt.Sprintf("gas-%d", i), Site: "plant-a", Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Interval: time.Hour})
	}
	return out
}

func newWorld(t testing.TB) *world {
	return newWorldWith(t, policies())
}

// newWorldWith is newWorld with other escalation settings.
func newWorldWith(t testing.TB, set escalate.Settings) *world {
	w := &world{t: t, clock: &clock{t: t0}, rcv: newReceiver(t), set: set, dir: directory(t),
		path: filepath.Join(t.TempDir(), "state.db")}
	w.open()
	return w
}

// open starts every part on the state database; close stops them, as a
// crash or restart would.
func (w *world) open() {
	t := w.t
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	st, err := sqlite.OpenState(ctx, w.path)
	if err != nil {
		t.Fatal(err)
	}
	w.st = st
	reg, err := ingest.NewRegistry([]yujing.Site{{ID: "plant-a", Name: "甲厂", Region: "320115"}},
		w.sensorList())
	if err != nil {
		t.Fatal(err)
	}
	var chans []notify.Channel
	for _, name := range []string{"im", "sms", "voice", "down"} {
		c, err := webhook.New(webhook.Config{Name: name, URL: w.rcv.srv.URL + "/" + name}, nil)
		if err != nil {
			t.Fatal(err)
		}
		chans = append(chans, c)
	}
	outcomes := mailbox.New[yujing.CallResult]()
	journal, err := notify.NewJournal(st, notify.OutboxOptions{OnOutcome: outcomes.Put})
	if err != nil {
		t.Fatal(err)
	}
	w.disp, err = notify.New(chans, notify.Options{OnResult: journal.Result, BaseBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if w.ob, err = notify.NewOutbox(journal, w.disp); err != nil {
		t.Fatal(err)
	}
	w.disp.Run(ctx)
	if err := w.ob.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	// In flow order: the lifecycle, call-and-answer reading its changes,
	// then the rule engine driving it.
	changes := mailbox.New[lifecycle.Change]()
	w.alerts, err = lifecycle.New(st, reg, lifecycle.Options{Now: w.clock.now, Silences: st, OnChange: changes.Put})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.alerts.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	var est escalate.Store = st
	if w.legacy > 0 {
		est = upgradedStore{st, w.legacy}
	}
	if w.wrap != nil {
		est = w.wrap(est)
	}
	w.esc, err = escalate.New(w.set, escalate.Parts{Store: est, Alerts: w.alerts, Changes: changes, Results: outcomes, Calls: w.ob, Directory: w.dir, Sites: reg, Checks: st},
		escalate.Options{Now: w.clock.now, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
			Key: []byte("0123456789abcdef0123456789abcdef"), Covers: duty.RegionCovers, Fence: w.fence})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.esc.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	tiers := alerting.Tiers{}
	for l, v := range map[yujing.Level]float64{yujing.Blue: 10, yujing.Yellow: 20, yujing.Orange: 25, yujing.Red: 50} {
		tiers.Value[l], tiers.Set[l] = v, true
	}
	rules := []*alerting.Rule{{Name: "gas", Match: alerting.Selector{Family: yujing.FamilyGas}, Above: tiers, Hysteresis: 1}}
	w.eng, err = alerting.New(rules, w.alerts, reg, alerting.Options{Now: w.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.eng.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.close)
}

func (w *world) close() {
	if w.cancel == nil {
		return
	}
	_ = w.disp.Stop(context.Background())
	w.cancel()
	_ = w.st.Close()
	w.cancel = nil
}

func (w *world) restart() {
	w.close()
	w.open()
}

// reading feeds the rule engine one gas reading at the clock's time.
func (w *world) reading(v float64) {
	w.eng.Observe(context.Background(), []yujing.Reading{{Sensor: "gas-1", Site: "plant-a", Family: yujing.FamilyGas,
		Metric: "lel", Unit: "%LEL", Value: v, Time: w.clock.now()}})
}

// at moves the clock forward and lets the escalation engine act.
func (w *world) at(d time.Duration) {
	w.clock.add(d)
	w.esc.Step(context.Background())
}

func (w *world) alert() (yujing.Alert, []store.Escalation, []store.CallRecord) {
	w.t.Helper()
	as, err := w.alerts.List(context.Background(), store.AlertFilter{})
	if err != nil || len(as) == 0 {
		w.t.Fatalf("no alert: %v", err)
	}
	es, err := w.esc.Escalations(context.Background(), as[0].ID)
	if err != nil {
		w.t.Fatal(err)
	}
	cs, err := w.esc.CallsFor(context.Background(), as[0].ID)
	if err != nil {
		w.t.Fatal(err)
	}
	return as[0], es, cs
}

func token(t *testing.T, p webhook.Payload) string {
	t.Helper()
	tok, ok := strings.CutPrefix(p.AnswerURL, "http://yj.test/answer/")
	if !ok {
		t.Fatalf("answer_url %q is not a link under the base URL", p.AnswerURL)
	}
	return tok
}

// A red warning calls step 1 (the duty officer on shift, and the double
// report), nobody answers, step 2 is called at the deadline, an answer
// through the signed link stops everything, and the record shows it all.
func TestRedEscalatesUntilAnswered(t *testing.T) {
	w := newWorld(t)
	w.reading(60)
	w.at(0)
	got := w.rcv.calls(t, 2)
	if want := []string{"wang@sms", "zhang@im"}; !samePeople(got, want) {
		t.Fatalf("step 1 called %v, want %v", ids(got), want)
	}
	for _, p := range got {
		if p.Step != 1 || p.Deadline == nil || !p.Deadline.Equal(t0.Add(5*time.Minute)) {
			t.Errorf("call %s: step %d deadline %v, want step 1 due %v", p.CallID, p.Step, p.Deadline, t0.Add(5*time.Minute))
		}
	}
	w.at(4*time.Minute + 59*time.Second)
	if n := len(w.rcv.calls(t, 2)); n != 2 {
		t.Fatalf("%d calls before the deadline, want 2", n)
	}
	w.at(time.Second) // the deadline: nobody answered
	got = w.rcv.calls(t, 3)
	if p := got[2]; p.Person != "chen" || p.Message != "/voice" || p.Step != 2 {
		t.Fatalf("step 2 call = %s step %d, want chen@voice step 2", ids(got[2:]), p.Step)
	}
	w.at(time.Minute)
	out, err := w.esc.AnswerLink(context.Background(), token(t, got[2]), "到场处置", true)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Stopped || out.Latency != time.Minute {
		t.Errorf("outcome stopped=%v latency=%s, want stopped after 1m", out.Stopped, out.Latency)
	}
	for range 3 {
		w.at(5 * time.Minute)
	}
	w.settled(t, 3) // no call after the answer
	a, es, cs := w.alert()
	if a.State != yujing.StateAcknowledged || a.AckedBy != "陈刚" {
		t.Errorf("alert %s acked by %q, want acknowledged by 陈刚", a.State, a.AckedBy)
	}
	if len(es) != 1 || es[0].State != store.EscalationAnswered || es[0].Step != 2 || *es[0].AnsweredBy != "chen" ||
		*es[0].AnswerChannel != escalate.ViaLink {
		t.Fatalf("escalations = %+v, want one answered at step 2 by chen through the link", es)
	}
	if note := ackNote(t, w, a.ID); note != "叫应已应答（应答链接，已到岗）：到场处置" {
		t.Errorf("history note %q, want it in Chinese", note)
	}
	if len(cs) != 3 {
		t.Fatalf("%d calls on record, want 3", len(cs))
	}
	for _, c := range cs {
		answered := c.Person == "chen"
		if (c.AnsweredAt != nil) != answered {
			t.Errorf("call %s to %s answered_at %v", c.ID, c.Person, c.AnsweredAt)
		}
		if answered && (*c.AnswerNote != "到场处置" || !*c.OnSite || *c.AnswerChannel != "link" || c.EscalationID == nil) {
			t.Errorf("answered call = %+v", c)
		}
	}
}

func samePeople(got []webhook.Payload, want []string) bool {
	var have []string
	for _, p := range got {
		have = append(have, p.Person+"@"+strings.TrimPrefix(p.Message, "/"))
	}
	slices.Sort(have)
	return slices.Equal(have, want)
}

// An orange warning's ladder: IM at once, SMS a minute later, a reminder
// on SMS at two minutes, then the whole policy once more, then the top.
func TestOrangeLadderRemindersRepeatAndTop(t *testing.T) {
	w := newWorld(t)
	w.clock.add(12 * time.Hour) // 22:00: zhao's night shift
	w.reading(30)
	w.at(0)
	w.rcv.calls(t, 1)
	w.at(time.Minute)
	w.rcv.calls(t, 2)
	w.at(time.Minute)
	w.rcv.calls(t, 3)
	w.at(3 * time.Minute) // deadline: round 1 begins
	w.at(0)
	w.rcv.calls(t, 4)
	w.at(5 * time.Minute) // round 1 passes unanswered: the top
	got := w.rcv.calls(t, 6)
	want := []string{"zhao@im", "zhao@sms", "zhao@sms", "zhao@im", "zhao@sms", "zhao@sms"}
	for i, p := range got {
		if i < len(want) && p.Person+"@"+strings.TrimPrefix(p.Message, "/") != want[i] {
			t.Errorf("call %d = %s, want %s", i, ids(got[i:i+1]), want[i])
		}
	}
	w.at(30 * time.Minute)
	w.settled(t, 6) // nothing after the top
	_, es, _ := w.alert()
	if len(es) != 1 || es[0].State != store.EscalationExhausted || es[0].Reason != store.ReasonTopReached ||
		es[0].TopReachedAt == nil || es[0].Round != 1 ||
		!es[0].TopReachedAt.Equal(t0.Add(12*time.Hour+10*time.Minute)) {
		t.Fatalf("escalation = %+v, want exhausted in round 1 at 22:10", es)
	}
}

// An upgrade starts the new level's policy and ends the old one; a
// downgrade starts nothing.
func TestUpgradeStartsNewPolicyDowngradeDoesNot(t *testing.T) {
	w := newWorld(t)
	w.reading(30)
	w.at(0)
	w.rcv.calls(t, 1)
	w.at(10 * time.Second)
	w.reading(60)
	w.at(0)
	got := w.rcv.calls(t, 3)
	if !samePeople(got[1:], []string{"wang@sms", "zhang@im"}) {
		t.Fatalf("after the upgrade: %v", ids(got))
	}
	w.at(10 * time.Second)
	w.reading(30) // below red (hysteresis 1): downgraded to orange
	w.at(0)
	_, es, _ := w.alert()
	if len(es) != 2 || es[0].Policy != "orange" || es[0].State != store.EscalationStopped ||
		es[0].Reason != store.ReasonSuperseded || es[1].Policy != "red" || es[1].State != store.EscalationActive {
		t.Fatalf("escalations = %+v", es)
	}
	if es[1].Deadline == nil {
		t.Error("the active escalation shows no deadline")
	}
	// A late answer to the orange call is recorded, but the red
	// escalation still waits for an answer of its own.
	out, err := w.esc.AnswerLink(context.Background(), token(t, got[0]), "", false)
	if err != nil || out.Stopped {
		t.Fatalf("late answer: stopped=%v err=%v", out.Stopped, err)
	}
	a, es, _ := w.alert()
	if a.State != yujing.StateFiring || es[1].State != store.EscalationActive {
		t.Errorf("after a late answer to orange: alert %s, red escalation %s; want firing and still active", a.State, es[1].State)
	}
}

// A restart in the middle of a step resumes it: nothing is called twice,
// and the next step is called at its moment.
func TestRestartResumesWithoutCallingTwice(t *testing.T) {
	w := newWorld(t)
	w.reading(60)
	w.at(0)
	w.rcv.calls(t, 2)
	w.restart()
	w.at(time.Minute)
	w.restart()
	w.at(4 * time.Minute)
	got := w.rcv.calls(t, 3)
	w.at(time.Minute)
	got = w.settled(t, 3)
	seen := map[string]int{}
	for _, p := range got {
		seen[p.CallID]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("call %s made %d times", id, n)
		}
	}
	if len(got) != 3 || got[2].Person != "chen" {
		t.Errorf("calls %v, want zhang, wang, then chen once", ids(got))
	}
}

// A crash after the warning was saved but before its escalation started
// starts it on restart, at the warning's time.
func TestRestoreStartsMissedEscalation(t *testing.T) {
	w := newWorld(t)
	w.set.Policies = nil // nothing escalates before the "crash"
	w.restart()
	w.reading(60)
	w.at(0)
	w.set = policies()
	w.clock.add(6 * time.Minute)
	w.restart()
	w.at(0)
	got := w.rcv.calls(t, 3)
	if !samePeople(got, []string{"chen@voice", "wang@sms", "zhang@im"}) {
		t.Errorf("calls %v: step 1 and, its deadline long past, step 2", ids(got))
	}
}

// Answer links: forged, expired and reused tokens are refused.
func TestAnswerLinkRefusals(t *testing.T) {
	w := newWorld(t)
	w.reading(60)
	w.at(0)
	got := w.rcv.calls(t, 2)
	tok := token(t, got[0])
	forged := []byte(tok)
	forged[3] ^= 1
	if _, err := w.esc.AnswerLink(context.Background(), string(forged), "", false); !errors.Is(err, escalate.ErrForged) {
		t.Errorf("forged token: %v, want ErrForged", err)
	}
	if _, err := w.esc.AnswerLink(context.Background(), "nonsense", "", false); !errors.Is(err, escalate.ErrForged) {
		t.Errorf("garbage token: %v, want ErrForged", err)
	}
	if _, err := w.esc.AnswerLink(context.Background(), tok, "ok", false); err != nil {
		t.Fatal(err)
	}
	if _, err := w.esc.AnswerLink(context.Background(), tok, "again", false); !errors.Is(err, escalate.ErrUsed) {
		t.Errorf("reused token: %v, want ErrUsed", err)
	}
	w.at(25 * time.Hour)
	if _, err := w.esc.AnswerLink(context.Background(), token(t, got[1]), "", false); !errors.Is(err, escalate.ErrExpired) {
		t.Errorf("expired token: %v, want ErrExpired", err)
	}
}

// An SMS reply "收到" from the called phone answers; other text does not.
func TestSMSReplyAnswers(t *testing.T) {
	w := newWorld(t)
	w.reading(60)
	w.at(0)
	w.rcv.calls(t, 2)
	ctx := context.Background()
	if err := w.esc.Receipt(ctx, yujing.Receipt{Channel: "sms", Phone: "13800000003", Status: yujing.ReceiptReplied, Text: "谁？"}); err != nil {
		t.Fatal(err)
	}
	_, es, _ := w.alert()
	if es[0].State != store.EscalationActive {
		t.Fatalf("a reply that is no answer keyword stopped the escalation: %+v", es[0])
	}
	if err := w.esc.Receipt(ctx, yujing.Receipt{Channel: "sms", Phone: "+86 138 0000 0003", Status: yujing.ReceiptReplied, Text: "收到。"}); err != nil {
		t.Fatal(err)
	}
	a, es, cs := w.alert()
	if es[0].State != store.EscalationAnswered || *es[0].AnsweredBy != "wang" || *es[0].AnswerChannel != "sms reply" {
		t.Fatalf("escalation after the reply = %+v", es[0])
	}
	if note := ackNote(t, w, a.ID); note != "叫应已应答（sms 回复）：收到。" {
		t.Errorf("history note %q, want it in Chinese", note)
	}
	for _, c := range cs {
		if c.Person == "wang" && (c.AnsweredAt == nil || *c.AnswerNote != "收到。") {
			t.Errorf("wang's call not answered by the reply: %+v", c)
		}
	}
}

// An operator acknowledging in the console answers the escalation; a
// resolved warning stops its escalation.
func TestConsoleAckAndResolveStop(t *testing.T) {
	w := newWorld(t)
	w.reading(60)
	w.at(0)
	w.rcv.calls(t, 2)
	a, _, _ := w.alert()
	if _, err := w.alerts.Ack(context.Background(), a.ID, lifecycle.Action{By: "op1"}); err != nil {
		t.Fatal(err)
	}
	w.at(0)
	_, es, _ := w.alert()
	if es[0].State != store.EscalationAnswered || *es[0].AnsweredBy != "op1" || *es[0].AnswerChannel != "console" {
		t.Fatalf("after the ack: %+v", es[0])
	}
	w.at(6 * time.Minute)
	w.settled(t, 2) // no call after the ack
	// A new warning on a fresh world resolves before anyone answers.
	w2 := newWorld(t)
	w2.reading(60)
	w2.at(0)
	w2.rcv.calls(t, 2)
	w2.at(time.Second)
	w2.reading(1)
	w2.at(0)
	_, es, _ = w2.alert()
	if es[0].State != store.EscalationStopped || es[0].Reason != store.ReasonResolved {
		t.Fatalf("after resolve: %+v", es[0])
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// A key pressed in a voice call answers that call when it is an answer
// key; another key does not.
func TestVoiceKeyPressAnswers(t *testing.T) {
	w := newWorld(t)
	w.reading(60)
	w.at(0)
	got := w.rcv.calls(t, 2)
	var zhang string
	for _, p := range got {
		if p.Person == "zhang" {
			zhang = p.CallID
		}
	}
	ctx := context.Background()
	if ok, err := w.esc.Inbound(ctx, escalate.Inbound{CallID: zhang, Channel: "voice", Status: "key_pressed", Key: "2"}); ok || err != nil {
		t.Fatalf("key 2 answered=%v err=%v, want no answer", ok, err)
	}
	if ok, err := w.esc.Inbound(ctx, escalate.Inbound{CallID: zhang, Channel: "voice", Status: "key_pressed", Key: "1"}); !ok || err != nil {
		t.Fatalf("key 1 answered=%v err=%v, want an answer", ok, err)
	}
	a, es, _ := w.alert()
	if es[0].State != store.EscalationAnswered || *es[0].AnswerChannel != "voice key 1" || *es[0].AnsweredBy != "zhang" {
		t.Fatalf("escalation = %+v", es[0])
	}
	if note := ackNote(t, w, a.ID); note != "叫应已应答（voice 按键 1）" {
		t.Errorf("history note %q, want it in Chinese", note)
	}
}

// ackNote is the note of the alert's acknowledgement in its history.
func ackNote(t *testing.T, w *world, id int64) string {
	t.Helper()
	_, hist, err := w.alerts.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hist {
		if h.Event == yujing.EventAcknowledged {
			return h.Note
		}
	}
	t.Fatalf("no acknowledgement in %+v", hist)
	return ""
}

// A call whose channel fails for good is made on the next channel of its
// ladder by call-and-answer, from notify's report: the failed call stays
// on record, and the next one's id extends it.
func TestLadderMovesOnWhenAChannelFails(t *testing.T) {
	w := newWorldWith(t, escalate.Settings{BaseURL: "http://yj.test", Policies: []escalate.Policy{
		{Name: "red", Levels: []yujing.Level{yujing.Red}, Steps: []escalate.Step{
			{Targets: []escalate.Target{{Tier: 1}}, Ladder: []string{"down", "sms"}, Deadline: 5 * time.Minute}}}}})
	w.reading(60)
	w.at(0)
	// The first call fails on "down" (a 400 is not retried).
	var first store.CallRecord
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, _, cs := w.alert()
		if len(cs) == 1 && cs[0].Status == store.CallFailed {
			first = cs[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("calls %+v, want the one on down failed", cs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.at(0) // call-and-answer takes notify's report
	got := w.settledAfterFailed(t, 2)
	if len(got) != 1 || got[0].CallID != first.ID+">sms" || got[0].Message != "/sms" || got[0].Person != "zhang" {
		t.Fatalf("delivered %v, want zhang's call on sms with id %s>sms", ids(got), first.ID)
	}
}

// settledAfterFailed checks that exactly n calls are on record, none of
// them pending, and returns what the receiver got: the calls sent.
func (w *world) settledAfterFailed(t *testing.T, n int) []webhook.Payload {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, _, cs := w.alert()
		pending, sent := 0, 0
		for _, c := range cs {
			switch c.Status {
			case store.CallPending:
				pending++
			case store.CallSent:
				sent++
			}
		}
		if len(cs) == n && pending == 0 {
			return w.rcv.calls(t, sent)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls on record (%d pending) after 5s, want %d settled", len(cs), pending, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
