package issued

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yujing"
	"yujing/alerting/lifecycle"
	"yujing/store"
)

// RulePrefix begins the Rule of every alert an issued warning carries:
// "issued:" + the warning's Source.
const RulePrefix = yujing.IssuedRulePrefix

// Rule is the alert Rule of warnings from source.
func Rule(source string) string { return RulePrefix + source }

// SourceOf returns the Source of an alert's Rule made by Rule; ok is false
// for a rule of the rule engine.
func SourceOf(rule string) (source string, ok bool) { return strings.CutPrefix(rule, RulePrefix) }

// Warning is a warning another system issued, as Raise takes it.
type Warning struct {
	// Source is the issuing system or protocol ("cap", "alertmanager"):
	// letters, digits, '-', '_' and '.'. Key identifies the warning within
	// it, stable over its life. Both are required.
	Source string
	Key    string
	// Level is its level, one of the four.
	Level yujing.Level
	// Site or Region, exactly one: the site it is about, or the
	// administrative division code (GB/T 2260, 6, 9 or 12 digits) of the
	// area it is for.
	Site   string
	Region string
	// Family is the hazard family, when one applies; it selects policies
	// with families.
	Family yujing.Family
	// Title is its headline (江宁区气象台发布暴雨红色预警), Summary the
	// text officials read; the alert's message is both.
	Title   string
	Summary string
	// Labels are the issuer's own attributes, kept with the warning (an
	// Alertmanager alert's labels, a CAP alert's sender and event).
	Labels map[string]string
	// StartsAt is when the issuer says it began (zero: now); EndsAt when
	// it ends by itself unless raised again with a later one (zero: only
	// when ended).
	StartsAt time.Time
	EndsAt   time.Time
	// Actor is who issued it, for the alert's history (default
	// Rule(Source)); Note says what the change is (a CAP message's id).
	Actor string
	Note  string
}

// End says why and how a warning ends.
type End struct {
	// Reason is a stable word: cancelled, expired, resolved, area_removed,
	// or the caller's own. Required.
	Reason string
	// Note is the history's text (发布单位解除预警).
	Note string
	// Close also closes the alert (核查销号) with CloseReason (default
	// other) instead of leaving it resolved for an operator to close.
	Close       bool
	CloseReason yujing.CloseReason
	// Actor is who ended it (default Rule(source)).
	Actor string
}

// Outcome is what a Raise or an End did.
type Outcome string

// Outcomes.
const (
	Raised     Outcome = "raised"     // a new alert
	Reopened   Outcome = "reopened"   // a new episode on the resolved, not yet closed alert
	Upgraded   Outcome = "upgraded"   // level raised in place
	Downgraded Outcome = "downgraded" // level lowered in place
	Updated    Outcome = "updated"    // same level; text, labels or end time kept
	Unchanged  Outcome = "unchanged"  // a repeat: nothing changed, nobody called
	Stale      Outcome = "stale"      // older than the warning's end: ignored
	Ended      Outcome = "ended"      // resolved (and closed with End.Close)
	NotFound   Outcome = "not_found"  // End of a warning never raised
)

// Result is the warning after a Raise or an End, its alert and what was
// done.
type Result struct {
	Outcome Outcome
	Warning store.IssuedWarning
	Alert   yujing.Alert
}

// Lifecycle is what issued warnings need of the alert lifecycle
// (lifecycle.Alerts).
type Lifecycle interface {
	Apply(ctx context.Context, key string, edit lifecycle.Edit) (lifecycle.Change, bool, error)
	Current(key string) (yujing.Alert, bool)
	Close(ctx context.Context, id int64, act lifecycle.Action) (yujing.Alert, error)
	Get(ctx context.Context, id int64) (yujing.Alert, []yujing.Transition, error)
}

// Store keeps the issued warnings (store/sqlstate.State is one).
// IssuedWarning returns store.ErrNotFound for a warning never saved.
type Store interface {
	IssuedWarning(ctx context.Context, source, key string) (store.IssuedWarning, error)
	SaveIssuedWarning(ctx context.Context, w store.IssuedWarning) error
	IssuedWarnings(ctx context.Context, f store.IssuedFilter) ([]store.IssuedWarning, error)
}

// Options are the entry point's settings.
type Options struct {
	Logger *slog.Logger
	// Registerer takes the metrics (yujing_issued_warnings_total); nil:
	// not registered.
	Registerer prometheus.Registerer
	Now        func() time.Time
	// Tick is how often Run looks for warnings whose EndsAt passed;
	// default 1s.
	Tick time.Duration
	// ValidRegion tells a division code (duty.ValidRegion); default: 6, 9
	// or 12 digits.
	ValidRegion func(code string) bool
}

// Warnings takes issued warnings into the lifecycle. Build it with New
// after the lifecycle is restored; it is safe for concurrent use.
type Warnings struct {
	lc          Lifecycle
	st          Store
	log         *slog.Logger
	now         func() time.Time
	tick        time.Duration
	validRegion func(string) bool
	outcomes    *prometheus.CounterVec

	mu sync.Mutex // one change at a time: a warning's record and alert move together
}

// New builds the entry point over the lifecycle and the store.
func New(lc Lifecycle, st Store, opts Options) (*Warnings, error) {
	if lc == nil || st == nil {
		return nil, errors.New("issued: lifecycle and store are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Tick <= 0 {
		opts.Tick = time.Second
	}
	if opts.ValidRegion == nil {
		opts.ValidRegion = digitsCode
	}
	outcomes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yujing_issued_warnings_total",
		Help: "Issued warnings taken in (CAP, Alertmanager), by source and what was done: raised, reopened, upgraded, downgraded, updated, unchanged, stale, ended."},
		[]string{"source", "outcome"})
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(outcomes); err != nil {
			return nil, fmt.Errorf("issued: register metrics: %w", err)
		}
	}
	return &Warnings{lc: lc, st: st, log: opts.Logger, now: opts.Now, tick: opts.Tick, validRegion: opts.ValidRegion,
		outcomes: outcomes}, nil
}

func digitsCode(code string) bool {
	if n := len(code); n != 6 && n != 9 && n != 12 {
		return false
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ErrInvalid is returned (wrapped) for a warning Raise or End refuses; the
// message names the field.
var ErrInvalid = errors.New("invalid issued warning")

func (w *Warning) check(validRegion func(string) bool) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	switch {
	case !validName(w.Source):
		return bad("source %q: use letters, digits, '-', '_' and '.'", w.Source)
	case strings.TrimSpace(w.Key) == "":
		return bad("key is required")
	case !w.Level.Valid():
		return bad("level %s: want blue, yellow, orange or red", w.Level)
	case (w.Site == "") == (w.Region == ""):
		return bad("give site or region, exactly one")
	case w.Region != "" && !validRegion(w.Region):
		return bad("region %q is not an administrative division code (6, 9 or 12 digits)", w.Region)
	case strings.HasPrefix(w.Site, yujing.RegionSitePrefix):
		return bad("site %q: give an area as region", w.Site)
	case !w.EndsAt.IsZero() && !w.StartsAt.IsZero() && !w.EndsAt.After(w.StartsAt):
		return bad("ends_at %s is not after starts_at %s", w.EndsAt.Format(time.RFC3339), w.StartsAt.Format(time.RFC3339))
	}
	return nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// alertKey is the lifecycle key of the alert of (source, key).
func alertKey(source, key string) string { return yujing.AlertKey(Rule(source), key) }

// message is the alert's text: the title, a newline, the summary (the
// message templates show them apart: package message).
func message(w *Warning) string {
	title := strings.Join(strings.Fields(w.Title), " ")
	if w.Summary == "" {
		return title
	}
	return title + "\n" + w.Summary
}

// Raise takes a warning in: a new alert for a warning not in force, the
// same alert upgraded or downgraded for a new level, nothing for a repeat.
// The record is saved before the alert changes and again after, so that
// a crash in between is mended by the next Raise of the same warning. On
// an error nothing is promised: raise again.
func (w *Warnings) Raise(ctx context.Context, in Warning) (Result, error) {
	if err := in.check(w.validRegion); err != nil {
		return Result{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	r, err := w.raise(ctx, in)
	if err == nil {
		w.outcomes.WithLabelValues(in.Source, string(r.Outcome)).Inc()
	}
	return r, err
}

func (w *Warnings) raise(ctx context.Context, in Warning) (Result, error) {
	now := w.now()
	if in.StartsAt.IsZero() {
		in.StartsAt = now
	}
	if in.Actor == "" {
		in.Actor = Rule(in.Source)
	}
	prev, err := w.st.IssuedWarning(ctx, in.Source, in.Key)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Result{}, fmt.Errorf("issued %s %q: %w", in.Source, in.Key, err)
	}
	// A warning that ended is raised again by a new episode (one that
	// starts after the end), or, when it merely expired, by a renewal (an
	// end time still ahead: the issuer sends it again, as Prometheus
	// re-sends a firing alert); anything else is a late or repeated
	// delivery.
	renewal := found && prev.EndReason == ReasonExpired && !in.EndsAt.IsZero() && in.EndsAt.After(now)
	if found && prev.EndedAt != nil && !in.StartsAt.After(*prev.EndedAt) && !renewal {
		a, _ := w.alert(ctx, prev)
		return Result{Outcome: Stale, Warning: prev, Alert: a}, nil
	}
	// A warning whose end passed before it arrived calls nobody: one in
	// force ends (expired), another is not raised at all.
	if !in.EndsAt.IsZero() && !in.EndsAt.After(now) {
		if found && prev.EndedAt == nil {
			note := fmt.Sprintf("预警已过有效期（%s）", in.EndsAt.In(now.Location()).Format("2006-01-02 15:04"))
			return w.end(ctx, in.Source, in.Key, End{Reason: ReasonExpired, Note: note, Actor: in.Actor}, now)
		}
		return Result{Outcome: Stale}, nil
	}
	rec := store.IssuedWarning{Source: in.Source, Key: in.Key, Level: in.Level, Site: in.Site, Region: in.Region,
		Family: in.Family, Title: in.Title, Summary: in.Summary, Labels: maps.Clone(in.Labels), StartsAt: in.StartsAt,
		UpdatedAt: now}
	if !in.EndsAt.IsZero() {
		ends := in.EndsAt
		rec.EndsAt = &ends
	}
	if found && prev.EndedAt == nil {
		rec.AlertID = prev.AlertID
		if prev.StartsAt.Before(rec.StartsAt) {
			rec.StartsAt = prev.StartsAt // the episode began with its first raise
		}
	}
	if _, open := w.lc.Current(alertKey(in.Source, in.Key)); found && prev.EndedAt == nil && !open && in.Level <= prev.Level {
		// An operator closed it while in force: repeats and a lower
		// level call nobody again; a higher one raises a new alert.
		a, _ := w.alert(ctx, prev)
		return Result{Outcome: Unchanged, Warning: prev, Alert: a}, nil
	}
	site := in.Site
	if in.Region != "" {
		site = yujing.RegionSite(in.Region)
	}
	msg := message(&in)
	outcome := Unchanged
	edit := func(a *yujing.Alert, at time.Time) (yujing.Alert, yujing.Transition, bool) {
		t := yujing.Transition{At: at, ToLevel: in.Level, ToState: yujing.StateFiring, Actor: in.Actor, Note: in.Note}
		if a == nil {
			outcome = Raised
			t.Event = yujing.EventRaised
			return yujing.Alert{Rule: Rule(in.Source), Sensor: in.Key, Site: site, Family: in.Family, Level: in.Level,
				State: yujing.StateFiring, Message: msg, StartedAt: at, UpdatedAt: at}, t, true
		}
		next := *a
		next.UpdatedAt, next.Message, next.Site, next.Family = at, msg, site, in.Family
		t.AlertID, t.FromLevel, t.FromState = a.ID, a.Level, a.State
		switch {
		case a.State == yujing.StateResolved:
			outcome, t.Event = Reopened, yujing.EventReopened
			next.State, next.ResolvedAt = yujing.StateFiring, nil
		case in.Level > a.Level:
			outcome, t.Event = Upgraded, yujing.EventUpgraded
			next.State = yujing.StateFiring
		case in.Level < a.Level:
			outcome, t.Event = Downgraded, yujing.EventDowngraded
		default:
			return yujing.Alert{}, yujing.Transition{}, false
		}
		next.Level = in.Level
		t.ToState = next.State
		return next, t, true
	}
	ch, changed, err := w.lc.Apply(ctx, alertKey(in.Source, in.Key), edit)
	if err != nil {
		return Result{}, fmt.Errorf("issued %s %q: save the alert: %w", in.Source, in.Key, err)
	}
	a := ch.Alert
	if !changed {
		a, _ = w.lc.Current(alertKey(in.Source, in.Key))
		if found && prev.EndedAt == nil && !sameRecord(prev, rec) {
			outcome = Updated
		}
	}
	rec.AlertID = a.ID
	if outcome != Unchanged {
		if err := w.st.SaveIssuedWarning(ctx, rec); err != nil {
			return Result{}, fmt.Errorf("issued %s %q: alert %d %s, but its record was not saved: %w", in.Source, in.Key, a.ID, outcome, err)
		}
		w.log.Info("issued warning "+string(outcome), "source", in.Source, "key", in.Key, "alert_id", a.ID,
			"level", in.Level.String(), "site", site)
	} else {
		rec = prev
	}
	return Result{Outcome: outcome, Warning: rec, Alert: a}, nil
}

// sameRecord reports whether two records say the same (ignoring when they
// were saved).
func sameRecord(a, b store.IssuedWarning) bool {
	eqTime := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	return a.Level == b.Level && a.Site == b.Site && a.Region == b.Region && a.Family == b.Family && a.Title == b.Title &&
		a.Summary == b.Summary && maps.Equal(a.Labels, b.Labels) && eqTime(a.EndsAt, b.EndsAt)
}

// alert returns the alert of a record: the open one, else the stored one.
func (w *Warnings) alert(ctx context.Context, r store.IssuedWarning) (yujing.Alert, error) {
	if a, ok := w.lc.Current(alertKey(r.Source, r.Key)); ok {
		return a, nil
	}
	if r.AlertID == 0 {
		return yujing.Alert{}, store.ErrNotFound
	}
	a, _, err := w.lc.Get(ctx, r.AlertID)
	return a, err
}

// End ends the warning (source, key) for e.Reason: its alert resolves,
// which stops its escalation, and closes too with e.Close. Ending a
// warning that already ended changes nothing (Outcome Unchanged); one
// never raised gives Outcome NotFound.
func (w *Warnings) End(ctx context.Context, source, key string, e End) (Result, error) {
	if strings.TrimSpace(e.Reason) == "" {
		return Result{}, fmt.Errorf("%w: reason is required to end a warning", ErrInvalid)
	}
	if e.Actor == "" {
		e.Actor = Rule(source)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	r, err := w.end(ctx, source, key, e, w.now())
	if err == nil && r.Outcome == Ended {
		w.outcomes.WithLabelValues(source, string(Ended)).Inc()
	}
	return r, err
}

func (w *Warnings) end(ctx context.Context, source, key string, e End, now time.Time) (Result, error) {
	rec, err := w.st.IssuedWarning(ctx, source, key)
	if errors.Is(err, store.ErrNotFound) {
		return Result{Outcome: NotFound}, nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("issued %s %q: %w", source, key, err)
	}
	if rec.EndedAt != nil {
		a, _ := w.alert(ctx, rec)
		return Result{Outcome: Unchanged, Warning: rec, Alert: a}, nil
	}
	edit := func(a *yujing.Alert, at time.Time) (yujing.Alert, yujing.Transition, bool) {
		if a == nil || a.State == yujing.StateResolved {
			return yujing.Alert{}, yujing.Transition{}, false
		}
		next := *a
		next.State, next.ResolvedAt, next.UpdatedAt = yujing.StateResolved, &at, at
		return next, yujing.Transition{AlertID: a.ID, At: at, Event: yujing.EventResolved, FromLevel: a.Level,
			ToLevel: a.Level, FromState: a.State, ToState: yujing.StateResolved, Actor: e.Actor, Note: e.Note,
			Reason: e.Reason}, true
	}
	ch, changed, err := w.lc.Apply(ctx, alertKey(source, key), edit)
	if err != nil {
		return Result{}, fmt.Errorf("issued %s %q: resolve alert %d: %w", source, key, rec.AlertID, err)
	}
	a := ch.Alert
	if !changed {
		a, _ = w.alert(ctx, rec)
	}
	if e.Close && a.ID != 0 && a.State == yujing.StateResolved {
		reason := e.CloseReason
		if reason == "" {
			reason = yujing.ReasonOther
		}
		note := e.Note
		if strings.TrimSpace(note) == "" {
			note = e.Reason
		}
		closed, err := w.lc.Close(ctx, a.ID, lifecycle.Action{By: e.Actor, Note: note, Reason: reason})
		if err != nil && !errors.Is(err, lifecycle.ErrConflict) {
			return Result{}, fmt.Errorf("issued %s %q: close alert %d: %w", source, key, a.ID, err)
		}
		if err == nil {
			a = closed
		}
	}
	rec.EndedAt, rec.EndReason, rec.UpdatedAt = &now, e.Reason, now
	if err := w.st.SaveIssuedWarning(ctx, rec); err != nil {
		return Result{}, fmt.Errorf("issued %s %q: alert %d ended, but its record was not saved: %w", source, key, a.ID, err)
	}
	w.log.Info("issued warning ended", "source", source, "key", key, "alert_id", a.ID, "reason", e.Reason)
	return Result{Outcome: Ended, Warning: rec, Alert: a}, nil
}

// Get returns the warning (source, key) as last saved: store.ErrNotFound
// for one never raised.
func (w *Warnings) Get(ctx context.Context, source, key string) (store.IssuedWarning, error) {
	return w.st.IssuedWarning(ctx, source, key)
}

// List returns the warnings f selects.
func (w *Warnings) List(ctx context.Context, f store.IssuedFilter) ([]store.IssuedWarning, error) {
	return w.st.IssuedWarnings(ctx, f)
}

// Expire ends, with reason "expired", every warning in force whose EndsAt
// is not after now, and returns how many it ended. Run calls it every
// tick; tests with a fake clock call it directly.
func (w *Warnings) Expire(ctx context.Context) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	due, err := w.st.IssuedWarnings(ctx, store.IssuedFilter{InForce: true, EndsBefore: now.Add(time.Nanosecond)})
	if err != nil {
		return 0, fmt.Errorf("issued: warnings due to expire: %w", err)
	}
	n := 0
	var errs []error
	for _, r := range due {
		note := fmt.Sprintf("预警已过有效期（%s）", r.EndsAt.In(now.Location()).Format("2006-01-02 15:04"))
		if _, err := w.end(ctx, r.Source, r.Key, End{Reason: ReasonExpired, Note: note, Actor: Rule(r.Source)}, now); err != nil {
			errs = append(errs, err)
			continue
		}
		w.outcomes.WithLabelValues(r.Source, string(Ended)).Inc()
		n++
	}
	return n, errors.Join(errs...)
}

// Reasons End is given by this package and its callers in the product.
const (
	ReasonExpired     = "expired"      // EndsAt passed
	ReasonCancelled   = "cancelled"    // the issuer cancelled it (CAP Cancel)
	ReasonResolved    = "resolved"     // the issuer says it is over (Alertmanager resolved)
	ReasonAreaRemoved = "area_removed" // an update no longer names its area
)

// Run ends expired warnings every tick until ctx ends.
func (w *Warnings) Run(ctx context.Context) {
	t := time.NewTicker(w.tick)
	defer t.Stop()
	for {
		if n, err := w.Expire(ctx); err != nil && ctx.Err() == nil { // not a shutdown cutting it short
			w.log.Error("expired issued warnings not all ended; retried at the next tick", "ended", n, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
