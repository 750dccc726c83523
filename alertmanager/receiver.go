package alertmanager

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yujing"
)

// Warnings is what the receiver needs of the warning lifecycle: the entry
// by which a warning that no sensor reading raised is kept and called.
type Warnings interface {
	// Issue raises the warning under w.Key, or brings the open one up to
	// date in place (a new level upgrades or downgrades it; text and end
	// follow); issuing it again unchanged changes nothing.
	Issue(ctx context.Context, w Warning) error
	// End resolves the open warning under key; a key with no open warning
	// is no error.
	End(ctx context.Context, key string, e Ending) error
	// Current returns the warning in force under key as last issued —
	// its Labels those of the alert that set its level, its End when it
	// ends unless sent again — and false when none is.
	Current(ctx context.Context, key string) (Warning, bool, error)
}

// Ending says how a warning ended.
type Ending struct {
	// At is when: the alert's endsAt, or now.
	At time.Time
	// By is who sent it resolved; "" when Expired.
	By string
	// Expired: it was not sent again before its end, rather than sent
	// resolved.
	Expired bool
}

// ErrRefused, wrapped in an error of Warnings, says the lifecycle refused
// a warning as given: the alert is named as invalid, the others are taken.
var ErrRefused = errors.New("refused")

// Receiver turns received alerts into warnings. Several alerts may share
// a warning: the same alert sent with several severities (a rule per
// threshold, as Prometheus' examples write them) is one warning at the
// highest level that still fires. It is safe for concurrent use.
type Receiver struct {
	mapper *Mapper
	out    Warnings
	now    func() time.Time
	log    *slog.Logger
	m      *metrics

	mu    sync.Mutex
	open  map[string]map[string]*member // warning key → fingerprint → alert
	swept time.Time                     // when sweep last ran
}

// member is one firing alert of a warning.
type member struct {
	alert   Alert // with StartsAt set, and EndsAt when it expires
	warning Warning
	updated time.Time
}

// Options are a Receiver's collaborators.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// NewReceiver builds a receiver that maps alerts with mapper and hands
// the warnings to out.
func NewReceiver(mapper *Mapper, out Warnings, opts Options) (*Receiver, error) {
	if mapper == nil || out == nil {
		return nil, errors.New("alertmanager: a receiver needs a mapper and the warnings")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	return &Receiver{mapper: mapper, out: out, now: opts.Now, log: opts.Logger, m: m, open: map[string]map[string]*member{}}, nil
}

// SetMapper replaces the mapping (a reloaded configuration): alerts
// received from then on are mapped by m; warnings already kept keep
// theirs until their alerts are sent again.
func (r *Receiver) SetMapper(m *Mapper) {
	if m == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mapper = m
}

// Receive takes checked alerts (DecodePostable, DecodeWebhook). An alert
// whose labels do not map to a warning is left out and named in invalid
// (one *Error each, wrapping ErrUnmapped); the others are taken. err is
// the lifecycle's failure to keep one: the sender should send again. by
// names the sender for the warnings' history.
func (r *Receiver) Receive(ctx context.Context, by string, alerts []Alert) (invalid, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	r.sweep(now)
	var bad []error
	for _, a := range alerts {
		a = r.times(a, now)
		key := r.mapper.Key(a)
		if a.Resolved || (!a.EndsAt.IsZero() && !a.EndsAt.After(now)) {
			r.m.received.WithLabelValues("resolved").Inc()
			if err := r.resolve(ctx, key, by, a, now); err != nil {
				return errors.Join(bad...), err
			}
			continue
		}
		w, merr := r.mapper.Map(a)
		w.By = by
		if !a.EndsAt.IsZero() && !a.EndsAt.After(a.StartsAt) {
			merr = errors.Join(merr, fmt.Errorf("startsAt %s is not before its end %s (endsAt, or now and resolve_timeout)",
				a.StartsAt.Format(time.RFC3339Nano), a.EndsAt.Format(time.RFC3339Nano)))
		}
		if merr != nil {
			r.m.received.WithLabelValues("invalid").Inc()
			bad = append(bad, &Error{Index: a.Index, Labels: a.Labels, Err: merr})
			continue
		}
		r.m.received.WithLabelValues("firing").Inc()
		ms, err := r.members(ctx, key)
		if err != nil {
			return errors.Join(bad...), err
		}
		prev, had := ms[a.Fingerprint]
		ms[a.Fingerprint] = &member{alert: a, warning: w, updated: now}
		if err := r.sync(ctx, key, now); errors.Is(err, ErrRefused) {
			if had {
				ms[a.Fingerprint] = prev
			} else {
				delete(ms, a.Fingerprint)
			}
			r.m.received.WithLabelValues("invalid").Inc()
			bad = append(bad, &Error{Index: a.Index, Labels: a.Labels, Err: err})
		} else if err != nil {
			return errors.Join(bad...), err
		}
	}
	return errors.Join(bad...), nil
}

// times sets an alert's start and end as Alertmanager does: no start is
// the end, or now; an API v2 alert with no end ends ResolveTimeout from
// now unless sent again. A webhook's firing alert has no end: it is
// notified again resolved.
func (r *Receiver) times(a Alert, now time.Time) Alert {
	if a.StartsAt.IsZero() {
		a.StartsAt = now
		if !a.EndsAt.IsZero() && a.EndsAt.Before(now) {
			a.StartsAt = a.EndsAt
		}
	}
	switch {
	case a.Webhook && !a.Resolved:
		a.EndsAt = time.Time{}
	case a.Webhook && a.EndsAt.IsZero():
		a.EndsAt = now
	case !a.Webhook && a.EndsAt.IsZero():
		a.EndsAt = now.Add(r.mapper.m.ResolveTimeout)
	}
	return a
}

// resolve drops a resolved alert from its warning, which ends when no
// alert of it fires any more.
func (r *Receiver) resolve(ctx context.Context, key, by string, a Alert, now time.Time) error {
	ms, err := r.members(ctx, key)
	if err != nil {
		return err
	}
	delete(ms, a.Fingerprint)
	if len(ms) > 0 {
		return r.sync(ctx, key, now)
	}
	delete(r.open, key)
	at := a.EndsAt
	if at.IsZero() || at.After(now) {
		at = now
	}
	return r.out.End(ctx, key, Ending{At: at, By: by})
}

// sweep forgets, every ResolveTimeout, the alerts whose end passed
// without their being sent again (a sender that stopped): the lifecycle
// ends their warnings by the end it was given (alerting/issued's expiry),
// and the receiver holds no memory for them.
func (r *Receiver) sweep(now time.Time) {
	if now.Sub(r.swept) < r.mapper.m.ResolveTimeout {
		return
	}
	r.swept = now
	for key, ms := range r.open {
		for fp, m := range ms {
			if e := m.alert.EndsAt; !e.IsZero() && !e.After(now) {
				delete(ms, fp)
			}
		}
		if len(ms) == 0 {
			delete(r.open, key)
		}
	}
}

// members returns the firing alerts of the warning under key. For a key
// it does not hold (the first alert of a warning, or the first since a
// restart) it asks the lifecycle: the alert that set the warning's level
// counts as firing until the warning's end (the latest of its alerts'), so
// that after a restart a lower
// severity re-sent first does not downgrade a warning whose higher one
// still fires, and a lower one resolving does not end it.
func (r *Receiver) members(ctx context.Context, key string) (map[string]*member, error) {
	if ms := r.open[key]; ms != nil {
		return ms, nil
	}
	ms := map[string]*member{}
	cur, ok, err := r.out.Current(ctx, key)
	if err != nil {
		return nil, err
	}
	if ok && len(cur.Labels) > 0 {
		fp := Fingerprint(cur.Labels)
		ms[fp] = &member{alert: Alert{Labels: cur.Labels, Annotations: cur.Annotations, Fingerprint: fp,
			StartsAt: cur.Start, EndsAt: cur.End, Webhook: cur.End.IsZero(), GeneratorURL: cur.GeneratorURL}, warning: cur}
	}
	r.open[key] = ms
	return ms, nil
}

// sync hands the lifecycle the warning under key as its alerts that still
// fire make it: the highest level, the earliest start, the latest end
// (none when one of them has none).
func (r *Receiver) sync(ctx context.Context, key string, now time.Time) error {
	ms := r.open[key]
	var last time.Time
	for fp, m := range ms {
		if e := m.alert.EndsAt; !e.IsZero() && !e.After(now) {
			delete(ms, fp)
			last = maxTime(last, e)
		}
	}
	if len(ms) == 0 {
		delete(r.open, key)
		return r.out.End(ctx, key, Ending{At: last, Expired: true})
	}
	var top *member
	start, end, forever := time.Time{}, time.Time{}, false
	for _, m := range ms {
		if top == nil || m.warning.Level > top.warning.Level ||
			(m.warning.Level == top.warning.Level && (m.updated.After(top.updated) || (m.updated.Equal(top.updated) && m.alert.Fingerprint < top.alert.Fingerprint))) {
			top = m
		}
		if start.IsZero() || m.alert.StartsAt.Before(start) {
			start = m.alert.StartsAt
		}
		if m.alert.EndsAt.IsZero() {
			forever = true
		}
		end = maxTime(end, m.alert.EndsAt)
	}
	w := top.warning
	w.Start, w.End = start, end
	if forever {
		w.End = time.Time{}
	}
	return r.out.Issue(ctx, w)
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Received is one firing alert the receiver holds, for GET /api/v2/alerts.
type Received struct {
	Alert   Alert
	Key     string
	Level   yujing.Level
	Updated time.Time
}

// Alerts lists the firing alerts received and not yet ended, by start
// then fingerprint.
func (r *Receiver) Alerts() []Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	var out []Received
	for key, ms := range r.open {
		for _, m := range ms {
			if e := m.alert.EndsAt; !e.IsZero() && !e.After(now) {
				continue
			}
			out = append(out, Received{Alert: m.alert, Key: key, Level: m.warning.Level, Updated: m.updated})
		}
	}
	slices.SortFunc(out, func(a, b Received) int {
		return cmp.Or(a.Alert.StartsAt.Compare(b.Alert.StartsAt), cmp.Compare(a.Alert.Fingerprint, b.Alert.Fingerprint))
	})
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

type metrics struct {
	received *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yujing_alertmanager_alerts_received_total",
			Help: "Alerts received through the Alertmanager API and webhook, by result: firing, resolved, or invalid (labels that map to no warning).",
		}, []string{"result"}),
	}
	for _, r := range []string{"firing", "resolved", "invalid"} {
		m.received.WithLabelValues(r)
	}
	if reg != nil {
		if err := reg.Register(m.received); err != nil {
			return nil, fmt.Errorf("alertmanager: register metrics: %w", err)
		}
	}
	return m, nil
}
