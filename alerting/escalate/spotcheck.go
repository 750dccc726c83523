package escalate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"yujing"
	"yujing/store"
)

// CheckStore keeps duty spot checks (查岗) durably; store/sqlstate.State
// is one.
type CheckStore interface {
	PlanSpotCheck(ctx context.Context, c *store.SpotCheck) (created bool, err error)
	SaveSpotCheck(ctx context.Context, c store.SpotCheck) error
	SpotCheck(ctx context.Context, id int64) (store.SpotCheck, error)
	OpenSpotChecks(ctx context.Context) ([]store.SpotCheck, error)
}

// SpotCheckRule is the Alert.Rule of a spot check's calls: they are sent
// as a summary is (no sensor, no reading; the text in Alert.Message), so
// every channel's templates render them, with the answer link.
const SpotCheckRule = "summary:值班抽查"

// checkRun is an open spot check and the people each of its steps calls.
type checkRun struct {
	c      store.SpotCheck
	people map[int][]yujing.Person // by step, resolved when the step begins
	gen    uint64                  // e.checkGen when it was added
}

// StartCheck plans a duty spot check (store.SpotCheck): at c.DueAt, or at
// once when that has passed, whoever holds c.Roles[0] on c.Org's roster is
// called on c.Channels, and has c.Deadline to answer (an answer link, an
// SMS reply, a key press, …, as any call is answered); nobody answering,
// the holders of the next role are called, and so on; after the last,
// the check is missed. A check with the same key planned before is that
// one: created is false, and c is set to it as stored.
func (e *Engine) StartCheck(ctx context.Context, c *store.SpotCheck) (created bool, err error) {
	if e.checks == nil {
		return false, errors.New("escalate: spot checks are not enabled (no check store)")
	}
	created, err = e.checks.PlanSpotCheck(ctx, c)
	if err != nil {
		return false, err
	}
	if !c.Ended() {
		e.mu.Lock()
		if _, ok := e.open[c.ID]; !ok {
			e.checkGen++
			e.open[c.ID] = &checkRun{c: *c, gen: e.checkGen}
		}
		e.mu.Unlock()
		e.signal()
	}
	if created {
		e.log.Info("spot check planned", "spot_check_id", c.ID, "key", c.Key, "org", c.Org, "due_at", c.DueAt, "roles",
			strings.Join(c.Roles, ","))
	}
	return created, nil
}

// CheckDeadline is when the current step of an open spot check is due
// (zero when it is not calling).
func CheckDeadline(c store.SpotCheck) time.Time {
	if c.State != store.SpotCheckCalling || c.StepAt.IsZero() {
		return time.Time{}
	}
	return c.StepAt.Add(c.Deadline)
}

// restoreChecks loads the open spot checks (Restore).
func (e *Engine) restoreChecks(ctx context.Context) error {
	if e.checks == nil {
		return nil
	}
	open, err := e.checks.OpenSpotChecks(ctx)
	if err != nil {
		return fmt.Errorf("escalate: restore spot checks: %w", err)
	}
	e.mu.Lock()
	for _, c := range open {
		e.open[c.ID] = &checkRun{c: c}
	}
	e.mu.Unlock()
	if len(open) > 0 {
		e.log.Info("spot checks resumed", "open", len(open))
	}
	return nil
}

// checkRefresh is how often the open spot checks are read again from the
// state database: checks planned by another node (its API or scheduler)
// join, checks ended there leave.
const checkRefresh = 5 * time.Second

// refreshChecks reads the open checks again when checkRefresh has passed.
func (e *Engine) refreshChecks(ctx context.Context, now time.Time) {
	e.mu.Lock()
	due := now.Sub(e.checksRead) >= checkRefresh || now.Before(e.checksRead)
	gen := e.checkGen // runs added after this may be missing from the read
	e.mu.Unlock()
	if !due {
		return
	}
	open, err := e.checks.OpenSpotChecks(ctx)
	if err != nil {
		e.m.storeErrors.Inc()
		e.log.Error("open spot checks not read; retried later", "err", err)
		return
	}
	ids := map[int64]bool{}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.checksRead = now
	for _, c := range open {
		ids[c.ID] = true
		if r, ok := e.open[c.ID]; !ok {
			e.open[c.ID] = &checkRun{c: c}
		} else if c.Step > r.c.Step || (c.State == store.SpotCheckCalling && r.c.State == store.SpotCheckPlanned) {
			r.c = c // moved on elsewhere
		}
	}
	for id, r := range e.open {
		if !ids[id] && r.gen <= gen {
			e.endCheckLocked(id) // ended elsewhere
		}
	}
}

// stepChecks advances every open spot check to now and makes its calls.
func (e *Engine) stepChecks(ctx context.Context, now time.Time) {
	if e.checks == nil || (e.leads != nil && !e.leads()) {
		return // the leader calls them
	}
	e.refreshChecks(ctx, now)
	e.mu.Lock()
	ids := slices.Sorted(maps.Keys(e.open))
	e.mu.Unlock()
	for _, id := range ids {
		for _, c := range e.advanceCheck(ctx, id, now) {
			if err := e.caller.Call(ctx, c); err != nil {
				e.log.Error("spot check call not accepted; retried at the next tick", "call_id", c.ID, "err", err)
				e.mu.Lock()
				delete(e.issued, c.ID)
				e.mu.Unlock()
				continue
			}
			e.m.calls.WithLabelValues(c.Channel).Inc()
		}
	}
}

// advanceCheck starts a due check, makes the calls of its step, and moves
// it on when the step's deadline passes (or its roster names nobody).
// Each change is saved before the calls it leads to are made, so that a
// restart resumes with the same step and deadline; each call's id says
// what it is — <instance>-chk<check>-s<step>-<person>-<channel> — so the
// outbox makes it once however often it is handed on.
func (e *Engine) advanceCheck(ctx context.Context, id int64, now time.Time) []yujing.Call {
	var calls []yujing.Call
	for range 100 { // bounded: each pass moves a step forward or returns
		e.mu.Lock()
		r, ok := e.open[id]
		if !ok {
			e.mu.Unlock()
			return calls
		}
		c := r.c
		e.mu.Unlock()
		if c.State == store.SpotCheckPlanned {
			if now.Before(c.DueAt) {
				return calls
			}
			next := c
			if !c.NotAfter.IsZero() && !now.Before(c.NotAfter) {
				next.State, next.Reason, next.UpdatedAt = store.SpotCheckSkipped, store.SpotReasonDown, now
				e.saveCheck(ctx, id, next)
				e.log.Warn("spot check not made: its window passed while yujing was down", "spot_check_id", id,
					"org", c.Org, "due_at", c.DueAt, "not_after", c.NotAfter)
				return calls
			}
			next.State, next.Step, next.StepAt, next.StartedAt, next.UpdatedAt = store.SpotCheckCalling, 1, now, &now, now
			if !e.saveCheck(ctx, id, next) {
				return calls
			}
			e.log.Info("spot check started", "spot_check_id", id, "org", c.Org, "role", c.Roles[0])
			continue
		}
		people := e.checkPeople(id, c)
		deadline := c.StepAt.Add(c.Deadline)
		for _, p := range people {
			if call, ok := e.checkCall(c, p, deadline, now); ok {
				calls = append(calls, call)
			}
		}
		if len(people) > 0 && now.Before(deadline) {
			return calls
		}
		next := c
		at := deadline
		if len(people) == 0 {
			at = c.StepAt // nobody to wait for
			e.log.Warn("spot check step has nobody on duty", "spot_check_id", id, "org", c.Org, "role", c.Roles[c.Step-1])
		}
		next.UpdatedAt = at
		if c.Step < len(c.Roles) {
			next.Step, next.StepAt = c.Step+1, at
		} else {
			next.State, next.Reason = store.SpotCheckMissed, store.SpotReasonNoAnswer
			if len(people) == 0 {
				next.Reason = store.SpotReasonNobody
			}
		}
		if !e.saveCheck(ctx, id, next) {
			return calls
		}
		if next.State == store.SpotCheckMissed {
			e.log.Warn("spot check missed: nobody answered", "spot_check_id", id, "org", c.Org, "reason", next.Reason)
			return calls
		}
		e.log.Warn("spot check unanswered by the deadline: calling the next role", "spot_check_id", id, "org", c.Org,
			"role", c.Roles[next.Step-1])
	}
	return calls
}

// saveCheck stores a check's change and keeps it (forgets it once ended);
// false when it was not saved (it ended meanwhile, or the store failed:
// retried at the next tick).
func (e *Engine) saveCheck(ctx context.Context, id int64, next store.SpotCheck) bool {
	if err := e.checks.SaveSpotCheck(ctx, next); err != nil {
		if errors.Is(err, store.ErrSpotCheckEnded) { // answered meanwhile
			e.mu.Lock()
			e.endCheckLocked(id)
			e.mu.Unlock()
			return false
		}
		e.m.storeErrors.Inc()
		e.log.Error("spot check not saved; retried at the next tick", "spot_check_id", id, "err", err)
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if next.Ended() {
		e.endCheckLocked(id)
		e.m.checks.WithLabelValues(next.State).Inc()
		return true
	}
	if r, ok := e.open[id]; ok {
		r.c = next
	}
	return true
}

// endCheckLocked forgets a check that ended and its calls (e.mu held).
func (e *Engine) endCheckLocked(id int64) {
	delete(e.open, id)
	prefix := e.checkPrefix(id)
	for cid := range e.issued {
		if strings.HasPrefix(cid, prefix) {
			delete(e.issued, cid)
		}
	}
}

func (e *Engine) checkPrefix(id int64) string {
	return e.ids.Other() + "chk" + strconv.FormatInt(id, 10) + "-"
}

// checkPeople are who the current step of a check calls: the holders of
// its role on the org's roster when the step began, resolved once.
func (e *Engine) checkPeople(id int64, c store.SpotCheck) []yujing.Person {
	e.mu.Lock()
	r := e.open[id]
	if r != nil && r.people != nil {
		if ps, ok := r.people[c.Step]; ok {
			e.mu.Unlock()
			return ps
		}
	}
	e.mu.Unlock()
	ps := e.dir.OnDuty(c.Org, c.Roles[c.Step-1], c.StepAt)
	e.mu.Lock()
	if r != nil {
		if r.people == nil {
			r.people = map[int][]yujing.Person{}
		}
		r.people[c.Step] = ps
	}
	e.mu.Unlock()
	return ps
}

// checkCall is the call of a check's step to one person, on the first
// channel of the check's ladder (the next ones when a send fails for
// good); false when this process handed it on already.
func (e *Engine) checkCall(c store.SpotCheck, p yujing.Person, deadline, now time.Time) (yujing.Call, bool) {
	id := e.checkPrefix(c.ID) + "s" + strconv.Itoa(c.Step) + "-" + p.ID + "-" + c.Channels[0]
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.issued[id] {
		return yujing.Call{}, false
	}
	e.issued[id] = true
	exp := deadline.Add(e.set.LinkTTL)
	a := yujing.Alert{Rule: SpotCheckRule, Site: c.Org, State: yujing.StateFiring, Message: checkText(c, deadline.In(e.loc)),
		StartedAt: c.StepAt, UpdatedAt: c.StepAt}
	return yujing.Call{ID: id, Alert: a, Event: yujing.EventSummary, Person: p, Channel: c.Channels[0], Created: now,
		Step: c.Step, Deadline: deadline, AnswerURL: e.set.BaseURL + "/answer/" + e.sign.token(id, exp),
		Fallback: slices.Clone(c.Channels[1:]), SpotCheck: c.ID}, true
}

// checkText is what a check's call says, in Chinese, the same on every
// channel of its ladder (a fallback carries it on): to the role checked,
// that this is a spot check and how to answer by when; to a later role,
// that the one before did not answer.
func checkText(c store.SpotCheck, deadline time.Time) string {
	org := c.OrgName
	if org == "" {
		org = c.Org
	}
	how := fmt.Sprintf("请于 %s 前应答（短信回复“收到”，电话按 1 键，或打开应答链接）", deadline.Format("15:04"))
	if c.Step <= 1 {
		return "【值班抽查】" + org + "：现对贵单位值班值守情况进行抽查，" + how + "，确认在岗。"
	}
	return "【值班抽查】" + org + "：值班人员未在 " + minutesZH(c.Deadline) + "内应答值班抽查，" + how + "，并督促值班人员立即到岗。"
}

// minutesZH says a duration in Chinese: 10 分钟, 1 小时 30 分钟.
func minutesZH(d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	switch {
	case m < 60:
		return strconv.Itoa(max(m, 1)) + " 分钟"
	case m%60 == 0:
		return strconv.Itoa(m/60) + " 小时"
	}
	return strconv.Itoa(m/60) + " 小时 " + strconv.Itoa(m%60) + " 分钟"
}

// checkAnswered ends a spot check with the answer to one of its calls;
// false when it had ended (answered before, or missed: a late answer is
// kept on its call, the check stays missed).
func (e *Engine) checkAnswered(ctx context.Context, call yujing.Call, by, channel string, at time.Time) bool {
	if e.checks == nil {
		return false
	}
	// The stored check decides: it may run on another node, or have
	// moved on since this one last looked.
	c, err := e.checks.SpotCheck(ctx, call.SpotCheck)
	if err != nil {
		e.m.storeErrors.Inc()
		e.log.Error("spot check of an answered call not read", "spot_check_id", call.SpotCheck, "err", err)
		return false
	}
	if c.Ended() {
		return false
	}
	c.State, c.AnsweredAt, c.AnsweredBy, c.AnswerChannel, c.AnswerStep, c.UpdatedAt =
		store.SpotCheckAnswered, &at, by, channel, call.Step, at
	if !e.saveCheck(ctx, c.ID, c) {
		return false
	}
	e.log.Info("spot check answered", "spot_check_id", c.ID, "org", c.Org, "by", by, "channel", channel, "step", call.Step,
		"on_duty", c.OnDuty())
	return true
}
