package escalate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yujing"
	"yujing/alerting/lifecycle"
	"yujing/store"
)

// Answer channels recorded when the answer did not come through the
// call's own channel.
const (
	ViaLink    = "link"    // the signed answer link's page
	ViaConsole = "console" // an operator in the console
	ViaAPI     = "api"     // an integration through the API
)

// AnswerInput is one answer to a call.
type AnswerInput struct {
	By      string // who answered; default the called person
	Channel string // how: link, sms, voice, dingtalk, console, api, …
	Note    string
	OnSite  bool
}

// Outcome is what an answer did, for the page or API that recorded it.
type Outcome struct {
	Call    yujing.Call   `json:"call"`
	At      time.Time     `json:"answered_at"`
	Latency time.Duration `json:"-"`
	// Stopped: this answer stopped its escalation. False when somebody
	// else had answered it already (or it had ended); the answer is
	// recorded all the same.
	Stopped bool `json:"stopped"`
}

// MaxNote bounds an answer's note.
const MaxNote = 2000

// Answer records an answer to a call and stops the call's escalation.
// Errors wrap store.ErrAnswered (answered before) or store.ErrNotFound.
func (e *Engine) Answer(ctx context.Context, callID string, in AnswerInput) (Outcome, error) {
	rec, call, err := e.st.Call(ctx, callID)
	if err != nil {
		return Outcome{}, err
	}
	if in.By == "" {
		in.By = call.Person.ID
	}
	if len(in.Note) > MaxNote {
		in.Note = in.Note[:MaxNote]
	}
	now := e.now()
	if err := e.st.AnswerCall(ctx, store.Answer{CallID: callID, By: in.By, Channel: in.Channel, Note: in.Note,
		OnSite: in.OnSite, At: now}); err != nil {
		return Outcome{Call: call}, err
	}
	// The answer time runs from when the call was made (queued to its
	// channel; sent within moments unless the provider was failing).
	out := Outcome{Call: call, At: now, Latency: now.Sub(rec.CreatedAt)}
	e.m.answered.WithLabelValues(in.Channel).Inc()
	e.m.latency.WithLabelValues(call.Alert.Level.String()).Observe(out.Latency.Seconds())
	e.log.Info("call answered", "call_id", callID, "alert_id", call.Alert.ID, "person", call.Person.ID, "by", in.By,
		"channel", in.Channel, "latency", out.Latency.Round(time.Second).String(), "on_site", in.OnSite)
	if call.SpotCheck != 0 { // a duty spot check: no warning to acknowledge
		out.Stopped = e.checkAnswered(ctx, call, in.By, in.Channel, now)
		e.signal()
		return out, nil
	}
	if call.Escalation != 0 {
		out.Stopped = e.answered(ctx, call.Escalation, in.By, in.Channel, now)
	}
	// An answer acknowledges the warning (firing → acknowledged), unless it
	// came late for an escalation already ended while another one of the
	// alert (a higher level's) is still calling: that one waits for an
	// answer of its own.
	if !out.Stopped && e.calling(call.Alert.ID) {
		e.signal()
		return out, nil
	}
	who := call.Person.Name
	if who == "" || in.By != call.Person.ID {
		who = in.By
	}
	how := viaZH(in.Channel)
	if in.OnSite {
		how += "，已到岗"
	}
	note := "叫应已应答（" + how + "）"
	if in.Note != "" {
		note += "：" + in.Note
	}
	if _, err := e.alerts.Ack(ctx, call.Alert.ID, lifecycle.Action{By: who, Note: note}); err != nil &&
		!errors.Is(err, lifecycle.ErrConflict) {
		e.log.Error("answered alert not acknowledged", "alert_id", call.Alert.ID, "err", err)
	}
	e.signal()
	return out, nil
}

// viaZH says in Chinese how an answer came, for the warning's history
// (read by duty rooms): the answer link, the console, the API, or a
// channel's reply or key press ("voice key 1" → "voice 按键 1").
func viaZH(via string) string {
	switch via {
	case ViaLink:
		return "应答链接"
	case ViaConsole:
		return "值班台代为登记"
	case ViaAPI:
		return "接口登记"
	}
	if ch, ok := strings.CutSuffix(via, " reply"); ok {
		return ch + " 回复"
	}
	if ch, key, ok := strings.Cut(via, " key "); ok {
		return ch + " 按键 " + key
	}
	return via
}

// calling reports whether an escalation of the alert is active.
func (e *Engine) calling(alertID int64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.byAlert[alertID]) > 0
}

// Check verifies an answer link's token and returns its call, for the
// answer page. Errors wrap ErrForged, ErrExpired or ErrUsed (with when the
// call was answered), or store.ErrNotFound.
func (e *Engine) Check(ctx context.Context, token string) (store.CallRecord, yujing.Call, error) {
	id, _, err := e.sign.verify(token, e.now())
	if err != nil {
		e.refused(err)
		return store.CallRecord{}, yujing.Call{}, err
	}
	rec, call, err := e.st.Call(ctx, id)
	if err != nil {
		return rec, call, err
	}
	if rec.AnsweredAt != nil {
		err := fmt.Errorf("%w at %s", ErrUsed, rec.AnsweredAt.Format(time.RFC3339))
		e.refused(err)
		return rec, call, err
	}
	return rec, call, nil
}

// Link returns a call with its answer link (Call.AnswerURL), for an
// administrator who must hand the link on (the called person's phone is
// lost, a drill, the README's walk-through): the API records who asked.
// store.ErrNotFound when there is no such call; ErrNoLink when it has no
// link (a route's notification, which expects no answer).
func (e *Engine) Link(ctx context.Context, callID string) (yujing.Call, error) {
	_, call, err := e.st.Call(ctx, callID)
	if err != nil {
		return call, err
	}
	if call.AnswerURL == "" {
		return call, fmt.Errorf("call %s: %w", callID, ErrNoLink)
	}
	return call, nil
}

// AnswerLink records the answer given through an answer link's token.
// Errors as Check, and ErrUsed when the link was used before.
func (e *Engine) AnswerLink(ctx context.Context, token, note string, onSite bool) (Outcome, error) {
	_, call, err := e.Check(ctx, token)
	if err != nil {
		return Outcome{}, err
	}
	out, err := e.Answer(ctx, call.ID, AnswerInput{Channel: ViaLink, Note: note, OnSite: onSite})
	if errors.Is(err, store.ErrAnswered) {
		err = fmt.Errorf("%w: %w", ErrUsed, err)
		e.refused(err)
	}
	return out, err
}

func (e *Engine) refused(err error) {
	reason := "other"
	switch {
	case errors.Is(err, ErrForged):
		reason = "forged"
	case errors.Is(err, ErrExpired):
		reason = "expired"
	case errors.Is(err, ErrUsed):
		reason = "used"
	}
	e.m.refused.WithLabelValues(reason).Inc()
	e.log.Warn("answer link refused", "reason", reason, "err", err)
}

// Inbound is what a provider reported about a call: an SMS reply, a key
// pressed in a voice call, a button in an IM card.
type Inbound struct {
	CallID  string // the call it matched, "" when the provider named none
	Channel string
	Phone   string
	Status  string // replied, key_pressed, clicked, …
	Key     string
	Text    string
	At      time.Time
}

// Inbound treats an SMS reply with an answer keyword, or a voice key press
// of an answer key, as the answer of the call it belongs to: the call the
// provider named, or else the newest unanswered escalation call to the
// person with the sender's phone. It reports whether it recorded an answer.
func (e *Engine) Inbound(ctx context.Context, in Inbound) (bool, error) {
	var key, text string
	switch in.Status {
	case "key_pressed":
		key = in.Key
		if key == "" {
			return false, nil
		}
	case "replied":
		text = in.Text
	default:
		return false, nil
	}
	e.mu.Lock()
	ok := e.set.isAnswer(text, key)
	ttl := e.set.LinkTTL
	e.mu.Unlock()
	if !ok {
		e.log.Info("reply is not an answer keyword", "channel", in.Channel, "call_id", in.CallID, "text", clip(text, 40), "key", key)
		return false, nil
	}
	id := in.CallID
	if id == "" && in.Phone != "" {
		var people []string
		for _, p := range e.dir.People() {
			if samePhone(p.Phone, in.Phone) {
				people = append(people, p.ID)
			}
		}
		var err error
		if id, err = e.st.OpenCallTo(ctx, people, e.now().Add(-ttl)); err != nil {
			return false, err
		}
	}
	if id == "" {
		e.log.Warn("answer reply matches no open call", "channel", in.Channel, "status", in.Status)
		return false, nil
	}
	via := in.Channel
	if key != "" {
		via += " key " + key
	} else {
		via += " reply"
	}
	_, err := e.Answer(ctx, id, AnswerInput{Channel: via, Note: clip(text, MaxNote)})
	if errors.Is(err, store.ErrAnswered) {
		return false, nil
	}
	return err == nil, err
}

// samePhone compares phone numbers ignoring spaces, dashes and a +86 / 86
// country prefix.
func samePhone(a, b string) bool {
	norm := func(s string) string {
		s = strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(s)
		s = strings.TrimPrefix(s, "+")
		if len(s) == 13 && strings.HasPrefix(s, "86") {
			s = s[2:]
		}
		return s
	}
	return a != "" && norm(a) == norm(b)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

type metrics struct {
	started     *prometheus.CounterVec
	steps       *prometheus.CounterVec
	topReached  *prometheus.CounterVec
	stopped     *prometheus.CounterVec
	calls       *prometheus.CounterVec
	answered    *prometheus.CounterVec
	refused     *prometheus.CounterVec
	suppressed  *prometheus.CounterVec
	nobody      *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	active      prometheus.Gauge
	storeErrors prometheus.Counter
	callErrors  prometheus.Counter
	receipts    *prometheus.CounterVec
	fallbacks   *prometheus.CounterVec
	checks      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		started: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yujing_escalations_started_total",
			Help: "Escalations (叫应) started, by policy and level."}, []string{"policy", "level"}),
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yujing_escalation_steps_total",
			Help: "Escalations moved to a next step because nobody answered in time, by policy and step."}, []string{"policy", "step"}),
		topReached: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yujing_escalations_top_reached_total",
			Help: "Escalations whose last step passed unanswered, by policy and level."}, []string{"policy", "level"}),
		stopped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yujing_escalations_stopped_total",
			Help: "Escalations ended unanswered before their top, by reason (superseded, resolved, closed, silenced, inhibited, policy_removed)."},
			[]string{"reason"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yujing_escalation_calls_total",
			Help: "Escalation calls handed to notify, by channel."}, []string{"channel"}),
		answered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yujing_calls_answered_total",
			Help: "Calls answered, by how the answer came."}, []string{"channel"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yujing_answer_links_refused_total",
			Help: "Answer links refused, by reason (forged, expired, used)."}, []string{"reason"}),
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yujing_escalations_suppressed_total",
			Help: "Escalations stopped because a silence or inhibition covers their alert."}, []string{"by"}),
		nobody: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yujing_escalation_steps_without_people_total",
			Help: "Escalation steps whose targets resolved to nobody (empty roster, unknown chain)."}, []string{"policy"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "yujing_answer_latency_seconds",
			Help:    "Time from a call being sent to its answer, by level.",
			Buckets: []float64{10, 30, 60, 120, 300, 600, 900, 1800, 3600}}, []string{"level"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{Name: "yujing_escalations_active",
			Help: "Escalations waiting for an answer."}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "yujing_escalation_store_errors_total",
			Help: "Escalation state writes or reads that failed."}),
		callErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "yujing_alert_call_errors_total",
			Help: "Calls of routes, summaries and ladders' fallbacks that could not be handed to the notify stage."}),
		receipts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yujing_notify_receipts_total",
			Help: "Provider receipts stored, by whether they matched a call."}, []string{"matched"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yujing_notify_fallbacks_total",
			Help: "Calls moved to the next channel of their ladder after a channel failed."}, []string{"from", "to"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yujing_spot_checks_ended_total",
			Help: "Duty spot checks (查岗) ended, by state (answered, missed, skipped)."}, []string{"state"}),
	}
	for _, s := range []string{store.SpotCheckAnswered, store.SpotCheckMissed, store.SpotCheckSkipped} {
		m.checks.WithLabelValues(s)
	}
	m.receipts.WithLabelValues("true")
	m.receipts.WithLabelValues("false")
	for _, r := range []string{"forged", "expired", "used"} {
		m.refused.WithLabelValues(r)
	}
	for _, r := range store.EscalationReasons {
		if r != store.ReasonTopReached {
			m.stopped.WithLabelValues(r)
		}
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.started, m.steps, m.topReached, m.stopped, m.calls, m.answered, m.refused,
			m.suppressed, m.nobody, m.latency, m.active, m.storeErrors, m.callErrors, m.receipts, m.fallbacks, m.checks} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("escalate: register metrics: %w", err)
			}
		}
	}
	return m, nil
}
