package lifecycle

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
	"yujing/alerting/inhibit"
	"yujing/alerting/silence"
	"yujing/store"
)

// Store keeps alerts and their history durably; store/sqlite.State is one.
type Store interface {
	CreateAlert(ctx context.Context, a *yujing.Alert, t *yujing.Transition) error
	UpdateAlert(ctx context.Context, a yujing.Alert, t *yujing.Transition) error
	OpenAlerts(ctx context.Context) ([]yujing.Alert, error)
	ListAlerts(ctx context.Context, f store.AlertFilter) ([]yujing.Alert, error)
	CountAlerts(ctx context.Context, f store.AlertFilter) (map[yujing.Level]int, error)
	Alert(ctx context.Context, id int64) (yujing.Alert, []yujing.Transition, error)
}

// Catalog knows the sensors, for inhibition rules on their tags.
type Catalog = inhibit.Catalog

// Change is one saved change of an alert: the alert as saved, with
// Silenced and Inhibited saying whether a silence or an inhibition holds
// back its calls at that moment, and the transition that records it.
type Change struct {
	Alert      yujing.Alert
	Transition yujing.Transition
}

// Options are the lifecycle's collaborators and settings.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
	// Location is where silences' daily windows are read (default
	// Asia/Shanghai, else UTC).
	Location *time.Location
	// Silences keeps silences; nil means silences cannot be created.
	Silences silence.Store
	// Inhibit lists the inhibition rules: alerts matching a Target make no
	// calls while an open alert matching its Source exists with the same
	// values of the Equal labels.
	Inhibit []inhibit.Rule
	// OnChange is told of every saved change, in the order they were
	// saved, under the lifecycle's lock: it must not block (the live stream
	// drops to a resync for slow readers; call-and-answer queues it in a
	// mailbox).
	OnChange func(Change)
}

// Alerts are the open alerts and their lifecycle. Build it with New, then
// Restore it before anything drives it.
type Alerts struct {
	st       Store
	log      *slog.Logger
	now      func() time.Time
	m        *metrics
	onChange func(Change)
	silences *silence.Silences // nil: silences are not kept
	cat      Catalog

	// mu guards the open alerts, the inhibitor and the saving of changes,
	// so that changes are saved and told in one order. The silences have a
	// lock of their own, taken after mu.
	mu        sync.Mutex
	open      map[string]*yujing.Alert // alert key → open alert
	byID      map[int64]*yujing.Alert  // open alerts by id
	inhibitor *inhibit.Inhibitor
}

// New builds the lifecycle over st; cat gives the sensors' tags to
// inhibition rules.
func New(st Store, cat Catalog, opts Options) (*Alerts, error) {
	if st == nil {
		return nil, errors.New("lifecycle: nil store")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
			opts.Location = loc
		} else {
			opts.Location = time.UTC
		}
	}
	if opts.OnChange == nil {
		opts.OnChange = func(Change) {}
	}
	l := &Alerts{st: st, log: opts.Logger, now: opts.Now, onChange: opts.OnChange, cat: cat,
		open: map[string]*yujing.Alert{}, byID: map[int64]*yujing.Alert{}, inhibitor: inhibit.New(opts.Inhibit, cat)}
	if opts.Silences != nil {
		l.silences = silence.New(opts.Silences, opts.Location)
	}
	m, err := newMetrics(opts.Registerer, l)
	if err != nil {
		return nil, err
	}
	l.m = m
	return l, nil
}

// Restore loads the open alerts and the silences from the store, so that
// a restarted process carries on with them instead of raising duplicates.
func (l *Alerts) Restore(ctx context.Context) error {
	as, err := l.st.OpenAlerts(ctx)
	if err != nil {
		return fmt.Errorf("lifecycle: restore open alerts: %w", err)
	}
	if l.silences != nil {
		if err := l.silences.Load(ctx); err != nil {
			return fmt.Errorf("lifecycle: restore silences: %w", err)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range as {
		a := as[i]
		l.open[a.Key()] = &a
		l.byID[a.ID] = &a
	}
	l.log.Info("open alerts restored", "count", len(as))
	return nil
}

// Edit decides a change of the alert under a key: given the open alert
// (nil when there is none) and the time now, it returns the alert to save
// and the transition that records the change; ok false saves nothing. It
// runs under the lifecycle's lock: it must not call back into Alerts.
type Edit func(open *yujing.Alert, now time.Time) (next yujing.Alert, t yujing.Transition, ok bool)

// Apply saves a change the system makes to the alert under key (the rule
// engine's raise, upgrade, downgrade, resolve; overdue supervision): edit
// decides it from the open alert; a new alert is created, an open one
// updated. Once saved, the change is told to OnChange with its alert
// marked Silenced or Inhibited when its calls are held back (counted in
// yujing_alert_calls_suppressed_total). It returns the change as saved;
// ok is false when edit made none. On an error nothing changed.
func (l *Alerts) Apply(ctx context.Context, key string, edit Edit) (c Change, ok bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.open[key]
	var prev *yujing.Alert
	if cur != nil {
		cp := *cur
		prev = &cp
	}
	next, t, ok := edit(prev, l.now())
	if !ok {
		return Change{}, false, nil
	}
	if cur == nil {
		if err := l.st.CreateAlert(ctx, &next, &t); err != nil {
			l.m.storeErrors.Inc()
			return Change{}, false, err
		}
		cur = &yujing.Alert{}
		l.open[key], l.byID[next.ID] = cur, cur
	} else {
		next.ID, t.AlertID = cur.ID, cur.ID
		if err := l.st.UpdateAlert(ctx, next, &t); err != nil {
			l.m.storeErrors.Inc()
			return Change{}, false, err
		}
	}
	*cur = next
	l.m.transitions.WithLabelValues(string(t.Event), next.Level.String()).Inc()
	c = Change{Alert: next, Transition: t}
	if id, held := l.silenced(&next, t.At); held {
		c.Alert.Silenced = true
		l.m.suppressed.WithLabelValues("silence").Inc()
		l.log.Info("calls suppressed by a silence", "alert_id", next.ID, "event", t.Event, "silence_id", id)
	} else if src, held := l.inhibited(&next); held {
		c.Alert.Inhibited = true
		l.m.suppressed.WithLabelValues("inhibit").Inc()
		l.log.Info("calls suppressed by inhibition", "alert_id", next.ID, "event", t.Event, "by_alert", src)
	}
	l.onChange(c)
	return c, true, nil
}

// Current returns the open alert under key (yujing.AlertKey).
func (l *Alerts) Current(key string) (yujing.Alert, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a, ok := l.open[key]; ok {
		return *a, true
	}
	return yujing.Alert{}, false
}

// Open returns the open alerts (not closed), by id.
func (l *Alerts) Open() []yujing.Alert {
	l.mu.Lock()
	out := make([]yujing.Alert, 0, len(l.open))
	for _, a := range l.open {
		out = append(out, *a)
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b yujing.Alert) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// OpenByRule counts the open alerts of each rule.
func (l *Alerts) OpenByRule() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for _, a := range l.open {
		out[a.Rule]++
	}
	return out
}
