// Package sitestatus keeps sites' production statuses (生产状态: normal,
// ordered to stop, rectifying, …): who set each, when and why, every change
// kept in the state database, the current ones in memory for the rule
// engine, which asks on every reading of a rule that applies only while a
// site is, say, ordered to stop.
package sitestatus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"yujing"
)

// Store keeps the changes (store/sqlstate.State).
type Store interface {
	SetSiteStatus(ctx context.Context, st yujing.SiteStatus) error
	SiteStatuses(ctx context.Context) ([]yujing.SiteStatus, error)
	SiteStatusHistory(ctx context.Context, site string, limit int) ([]yujing.SiteStatus, error)
}

// ErrInvalid says a change is refused: unknown site or status, no one who
// set it, or no reason.
var ErrInvalid = errors.New("invalid site status")

// MaxReason bounds a reason's length, in characters.
const MaxReason = 500

// Board is the sites' statuses. It is safe for concurrent use.
type Board struct {
	st    Store
	now   func() time.Time
	known func(site string) bool

	mu  sync.RWMutex
	cur map[string]yujing.SiteStatus
}

// Open loads the current statuses from st. known says whether a site
// exists (a status is refused for one that does not); now is the clock.
func Open(ctx context.Context, st Store, known func(site string) bool, now func() time.Time) (*Board, error) {
	if now == nil {
		now = time.Now
	}
	all, err := st.SiteStatuses(ctx)
	if err != nil {
		return nil, err
	}
	b := &Board{st: st, now: now, known: known, cur: map[string]yujing.SiteStatus{}}
	for _, s := range all {
		b.cur[s.Site] = s
	}
	return b, nil
}

// Reload reads the current statuses again from the store, after another
// node of a cluster set one.
func (b *Board) Reload(ctx context.Context) error {
	all, err := b.st.SiteStatuses(ctx)
	if err != nil {
		return err
	}
	cur := make(map[string]yujing.SiteStatus, len(all))
	for _, s := range all {
		cur[s.Site] = s
	}
	b.mu.Lock()
	b.cur = cur
	b.mu.Unlock()
	return nil
}

// Status is the site's status now: normal unless one was set.
func (b *Board) Status(site string) yujing.ProductionStatus {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if s, ok := b.cur[site]; ok {
		return s.Status
	}
	return yujing.StatusNormal
}

// Get returns the site's status now and whether one was ever set.
func (b *Board) Get(site string) (yujing.SiteStatus, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	s, ok := b.cur[site]
	return s, ok
}

// All returns the statuses set, by site.
func (b *Board) All() []yujing.SiteStatus {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := slices.Collect(maps.Values(b.cur))
	slices.SortFunc(out, func(x, y yujing.SiteStatus) int { return strings.Compare(x.Site, y.Site) })
	return out
}

// History returns the changes of site's status, newest first, at most
// limit.
func (b *Board) History(ctx context.Context, site string, limit int) ([]yujing.SiteStatus, error) {
	return b.st.SiteStatusHistory(ctx, site, limit)
}

// Set records that site has status from now on, set by by for reason. The
// change is durable before it takes effect; the error wraps ErrInvalid
// when it is refused.
func (b *Board) Set(ctx context.Context, site string, status yujing.ProductionStatus, by, reason string) (yujing.SiteStatus, error) {
	reason = strings.TrimSpace(reason)
	var errs []error
	if b.known != nil && !b.known(site) {
		errs = append(errs, fmt.Errorf("site %q is not defined", site))
	}
	if !status.Valid() {
		want := make([]string, 0, 5)
		for _, s := range yujing.ProductionStatuses() {
			want = append(want, string(s))
		}
		errs = append(errs, fmt.Errorf("status %q: want one of %s", status, strings.Join(want, ", ")))
	}
	if strings.TrimSpace(by) == "" {
		errs = append(errs, errors.New("by: who sets the status is required"))
	}
	switch n := len([]rune(reason)); {
	case n == 0:
		errs = append(errs, errors.New("reason: why (e.g. the order's document number) is required"))
	case n > MaxReason:
		errs = append(errs, fmt.Errorf("reason: %d characters, at most %d", n, MaxReason))
	}
	if len(errs) > 0 {
		return yujing.SiteStatus{}, fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	st := yujing.SiteStatus{Site: site, Status: status, Since: b.now(), By: by, Reason: reason}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.st.SetSiteStatus(ctx, st); err != nil {
		return yujing.SiteStatus{}, err
	}
	b.cur[site] = st
	return st, nil
}
