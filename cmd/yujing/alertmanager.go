package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"yujing/alerting/issued"
	"yujing/alertmanager"
	"yujing/config"
	"yujing/store"
)

// alertmanagerAPI takes alerts from Prometheus, Grafana, vmalert and
// amtool (POST /api/v2/alerts) and Alertmanager's webhook as issued
// warnings, when the configuration has an alertmanager section; nil
// otherwise.
func (w *wiring) alertmanagerAPI(iw *issued.Warnings, sensors *sensorBook) (*alertmanager.Receiver, error) {
	if w.cfg.Alertmanager == nil {
		return nil, nil
	}
	mapper := alertmanager.NewMapper(*w.cfg.Alertmanager, sensors.siteKnown, sensors.catalog.Families())
	return alertmanager.NewReceiver(mapper, issuedAlerts{iw: iw, now: time.Now},
		alertmanager.Options{Logger: w.log, Registerer: w.reg})
}

// alertmanagerReload applies a reloaded alertmanager section's mapping;
// turning the API on or off takes a restart.
func (w *wiring) alertmanagerReload(reload *reloader, r *alertmanager.Receiver, sensors *sensorBook) {
	reload.onReload(func(next *config.Config) error {
		switch {
		case r == nil && next.Alertmanager == nil:
		case r == nil || next.Alertmanager == nil:
			w.log.Warn("configuration section changed but needs a restart to take effect", "section", "alertmanager")
		default:
			r.SetMapper(alertmanager.NewMapper(*next.Alertmanager, sensors.siteKnown, next.Families))
		}
		return nil
	})
}

// issuedAlerts hands the Alertmanager API's warnings to issued warnings,
// source "alertmanager".
type issuedAlerts struct {
	iw  *issued.Warnings
	now func() time.Time
}

func (a issuedAlerts) Issue(ctx context.Context, w alertmanager.Warning) error {
	in := issued.Warning{Source: alertmanager.Source, Key: w.Key, Level: w.Level, Site: w.Site, Family: w.Family,
		Title: w.Title, Summary: w.Summary, Labels: w.Labels, StartsAt: w.Start, EndsAt: w.End, Actor: w.By}
	// An alert sent firing after its warning ended fires again, as in
	// Alertmanager, even with its first startsAt (Prometheus keeps it
	// across a restart): a new episode from now.
	rec, err := a.iw.Get(ctx, alertmanager.Source, w.Key)
	switch {
	case err == nil && rec.EndedAt != nil && !in.StartsAt.After(*rec.EndedAt):
		in.StartsAt = a.now()
		if !in.EndsAt.IsZero() && !in.EndsAt.After(in.StartsAt) {
			return nil // it ends as it would start again: nothing to raise
		}
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return err
	}
	if _, err = a.iw.Raise(ctx, in); errors.Is(err, issued.ErrInvalid) {
		return fmt.Errorf("%w: %w", alertmanager.ErrRefused, err)
	}
	return err
}

func (a issuedAlerts) End(ctx context.Context, key string, e alertmanager.Ending) error {
	end := issued.End{Reason: issued.ReasonResolved, Note: "告警源报告已恢复", Actor: e.By}
	if e.Expired {
		end = issued.End{Reason: issued.ReasonExpired, Note: "告警源未再发送，已到结束时间"}
	}
	_, err := a.iw.End(ctx, alertmanager.Source, key, end)
	return err
}

func (a issuedAlerts) Current(ctx context.Context, key string) (alertmanager.Warning, bool, error) {
	rec, err := a.iw.Get(ctx, alertmanager.Source, key)
	if errors.Is(err, store.ErrNotFound) || err == nil && rec.EndedAt != nil {
		return alertmanager.Warning{}, false, nil
	}
	if err != nil {
		return alertmanager.Warning{}, false, err
	}
	w := alertmanager.Warning{Key: key, Name: rec.Labels["alertname"], Site: rec.Site, Family: rec.Family, Level: rec.Level,
		Title: rec.Title, Summary: rec.Summary, Start: rec.StartsAt, Labels: rec.Labels}
	if rec.EndsAt != nil {
		w.End = *rec.EndsAt
	}
	return w, true, nil
}

// siteKnown says whether a site is configured (or registered).
func (s *sensorBook) siteKnown(id string) bool {
	_, ok := s.registry.Site(id)
	return ok
}
