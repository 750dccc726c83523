package sqlstate

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"yujing"
	"yujing/store"
)

// testEscalationLifecycle: an escalation is started once per alert and
// transition, its calls are found by it and by the person called, an
// answer (with on-site) ends it, and the answer reports see the call with
// its escalation and alert.
func testEscalationLifecycle(t *testing.T, b backend) {
	s := b.open(t)
	ctx := t.Context()
	t0 := time.Now().Add(-time.Hour).Truncate(time.Microsecond).UTC()
	a := yujing.Alert{Rule: "gas", Sensor: "G1", Site: "plant-a", Level: yujing.Red, State: yujing.StateFiring,
		Value: 60, Threshold: 50, StartedAt: t0, UpdatedAt: t0}
	tr := yujing.Transition{At: t0, Event: yujing.EventRaised, ToLevel: yujing.Red, ToState: yujing.StateFiring}
	if err := s.CreateAlert(ctx, &a, &tr); err != nil {
		t.Fatal(err)
	}
	e := store.Escalation{AlertID: a.ID, TransitionID: tr.ID, Level: yujing.Red, Policy: "red", Step: 1, StepAt: t0, StartedAt: t0}
	for i, want := range []bool{true, false} {
		got := e
		created, err := s.StartEscalation(ctx, &got)
		if err != nil || created != want || got.ID == 0 || got.State != store.EscalationActive {
			t.Fatalf("StartEscalation #%d = %v, %v, %+v; want created %v", i+1, created, err, got, want)
		}
		e = got
	}
	c := testCall("c1", a.ID, "sms", t0.Add(time.Second))
	c.Escalation, c.Person.ID = e.ID, "zhang-wei"
	if _, err := s.RecordCall(ctx, c); err != nil {
		t.Fatal(err)
	}
	if id, err := s.OpenCallTo(ctx, []string{"li", "zhang-wei"}, t0); err != nil || id != "c1" {
		t.Fatalf("OpenCallTo = %q, %v; want c1", id, err)
	}
	if active, err := s.ActiveEscalations(ctx); err != nil || len(active) != 1 || active[0].ID != e.ID {
		t.Fatalf("ActiveEscalations = %+v, %v", active, err)
	}
	if err := s.AnswerCall(ctx, store.Answer{CallID: "c1", By: "zhang-wei", Channel: "sms", Note: "已到岗", OnSite: true,
		At: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	rec, _, err := s.Call(ctx, "c1")
	if err != nil || rec.OnSite == nil || !*rec.OnSite || rec.AnswerNote == nil || *rec.AnswerNote != "已到岗" {
		t.Fatalf("Call(c1) = %+v, %v; want answered on site with the note", rec, err)
	}
	if id, err := s.OpenCallTo(ctx, []string{"zhang-wei"}, t0); err != nil || id != "" {
		t.Fatalf("OpenCallTo after the answer = %q, %v; want none", id, err)
	}
	answeredAt, by, via := t0.Add(time.Minute), "zhang-wei", "sms"
	e.State, e.Reason, e.AnsweredAt, e.AnsweredBy, e.AnswerChannel, e.UpdatedAt = store.EscalationAnswered, "", &answeredAt, &by, &via, answeredAt
	if err := s.SaveEscalation(ctx, e); err != nil {
		t.Fatal(err)
	}
	e.State = store.EscalationActive
	if err := s.SaveEscalation(ctx, e); !errors.Is(err, store.ErrAnswered) {
		t.Errorf("SaveEscalation back to active = %v, want ErrAnswered", err)
	}
	got, err := s.Escalation(ctx, e.ID)
	if err != nil || got.State != store.EscalationAnswered || got.AnsweredAt == nil || !got.AnsweredAt.Equal(answeredAt) {
		t.Fatalf("Escalation = %+v, %v", got, err)
	}
	if active, err := s.ActiveEscalations(ctx); err != nil || len(active) != 0 {
		t.Errorf("ActiveEscalations after the answer = %+v, %v", active, err)
	}
	for name, list := range map[string]func() ([]store.Escalation, error){
		"EscalationsFor":     func() ([]store.Escalation, error) { return s.EscalationsFor(ctx, a.ID) },
		"EscalationsBetween": func() ([]store.Escalation, error) { return s.EscalationsBetween(ctx, t0, t0.Add(time.Hour)) },
	} {
		if es, err := list(); err != nil || len(es) != 1 || es[0].ID != e.ID {
			t.Errorf("%s = %+v, %v", name, es, err)
		}
	}
	if cs, err := s.CallsOfEscalation(ctx, e.ID); err != nil || len(cs) != 1 || cs[0].ID != "c1" {
		t.Errorf("CallsOfEscalation = %+v, %v", cs, err)
	}
	rows, err := s.AnswerRows(ctx, t0, t0.Add(time.Hour))
	if err != nil || len(rows) != 1 || rows[0].CallID != "c1" || rows[0].EscalationID != e.ID || rows[0].Site != "plant-a" ||
		rows[0].Policy != "red" || rows[0].Person != "zhang-wei" {
		t.Errorf("AnswerRows = %+v, %v", rows, err)
	}
}

// testSilencesAttachmentsSiteStatus: silences, attachments (bytes kept
// exactly) and sites' statuses round-trip.
func testSilencesAttachmentsSiteStatus(t *testing.T, b backend) {
	s := b.open(t)
	ctx := t.Context()
	t0 := time.Now().Truncate(time.Microsecond).UTC()

	sl := yujing.Silence{Matchers: yujing.Matchers{Site: "plant-a", Levels: []yujing.Level{yujing.Blue}},
		StartsAt: t0, EndsAt: t0.Add(time.Hour), CreatedBy: "li", CreatedAt: t0, Comment: "检修"}
	if err := s.PutSilence(ctx, &sl); err != nil || sl.ID == 0 {
		t.Fatalf("PutSilence: id %d, %v", sl.ID, err)
	}
	if err := s.ExpireSilence(ctx, sl.ID, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	sls, err := s.Silences(ctx)
	if err != nil || len(sls) != 1 || sls[0].Comment != "检修" || sls[0].ExpiredAt == nil || !sls[0].ExpiredAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Silences = %+v, %v", sls, err)
	}

	a := yujing.Alert{Rule: "gas", Sensor: "G1", Level: yujing.Red, State: yujing.StateFiring, StartedAt: t0, UpdatedAt: t0}
	tr := yujing.Transition{At: t0, Event: yujing.EventRaised, ToLevel: yujing.Red, ToState: yujing.StateFiring}
	if err := s.CreateAlert(ctx, &a, &tr); err != nil {
		t.Fatal(err)
	}
	data := []byte{0xff, 0xd8, 0x00, 0x01, 0xfe} // not text: NUL and invalid UTF-8 kept as they are
	as := []yujing.Attachment{{AlertID: a.ID, TransitionID: tr.ID, Name: "现场.jpg", ContentType: "image/jpeg",
		Size: int64(len(data)), SHA256: "x", Data: data, CreatedBy: "li", CreatedAt: t0}}
	if err := s.AddAttachments(ctx, as); err != nil || as[0].ID == 0 {
		t.Fatalf("AddAttachments: %+v, %v", as, err)
	}
	got, err := s.Attachment(ctx, a.ID, as[0].ID)
	if err != nil || !bytes.Equal(got.Data, data) || got.Name != "现场.jpg" {
		t.Fatalf("Attachment = %+v, %v", got, err)
	}
	if list, err := s.Attachments(ctx, a.ID); err != nil || len(list) != 1 {
		t.Errorf("Attachments = %+v, %v", list, err)
	}

	for i, st := range []yujing.ProductionStatus{yujing.StatusOrderedStopped, yujing.StatusNormal} {
		if err := s.SetSiteStatus(ctx, yujing.SiteStatus{Site: "plant-a", Status: st, Since: t0.Add(time.Duration(i) * time.Minute),
			By: "li", Reason: "检查"}); err != nil {
			t.Fatal(err)
		}
	}
	hist, err := s.SiteStatusHistory(ctx, "plant-a", 10)
	if err != nil || len(hist) != 2 || hist[0].Status != yujing.StatusNormal || hist[1].Status != yujing.StatusOrderedStopped {
		t.Errorf("SiteStatusHistory = %+v, %v; want newest first", hist, err)
	}
	if now, err := s.SiteStatuses(ctx); err != nil || len(now) != 1 || now[0].Status != yujing.StatusNormal {
		t.Errorf("SiteStatuses = %+v, %v", now, err)
	}
}
