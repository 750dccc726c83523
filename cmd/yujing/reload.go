package main

import (
	"context"

	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yujing/alerting"
	"yujing/config"
	"yujing/ingest"
)

// reloader re-reads the configuration on SIGHUP or POST /-/reload: it parses
// everything first and changes nothing when anything is wrong; then it swaps
// rules, routes and sensors in place. Settings that need a restart (listen
// addresses, broker, stores, channels) are reported, not applied.
type reloader struct {
	mu      sync.Mutex
	path    string // "" for the embedded demo
	cur     *config.Config
	engine  *alerting.Engine
	sched   *alerting.Scheduler
	catalog *ingest.Catalog
	log     *slog.Logger
	ok      prometheus.Gauge
	at      prometheus.Gauge
	// also are further parts that take the new configuration (the
	// directory, call-and-answer and its routes, the lifecycle's
	// inhibition), in order of registration.
	also []func(next *config.Config) error
}

// onReload adds a part that takes each new configuration; its error fails
// the reload.
func (r *reloader) onReload(f func(next *config.Config) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.also = append(r.also, f)
}

func newReloader(path string, cur *config.Config, engine *alerting.Engine, sched *alerting.Scheduler, catalog *ingest.Catalog, log *slog.Logger, reg prometheus.Registerer) *reloader {
	// The registry holds the sensors: the configuration's list of them is
	// not kept.
	trimmed := *cur
	trimmed.Sensors = nil
	r := &reloader{path: path, cur: &trimmed, engine: engine, sched: sched, catalog: catalog, log: log,
		ok: prometheus.NewGauge(prometheus.GaugeOpts{Name: "yujing_config_last_reload_successful",
			Help: "1 if the last configuration reload succeeded (or none was tried)."}),
		at: prometheus.NewGauge(prometheus.GaugeOpts{Name: "yujing_config_last_reload_success_timestamp_seconds",
			Help: "When the configuration was last loaded successfully."}),
	}
	r.ok.Set(1)
	r.at.SetToCurrentTime()
	reg.MustRegister(r.ok, r.at)
	return r
}

// Reload applies the configuration file again.
func (r *reloader) Reload(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	next, err := loadConfig(r.path)
	if err == nil {
		// The scheduled rules are checked (and swapped) first: they are the
		// only part that can still refuse what the file parser accepted.
		err = r.sched.SetRules(next.Scheduled)
	}
	if err == nil {
		err = r.engine.SetRules(next.Rules)
	}
	if err == nil {
		err = r.catalog.SetBase(next.Sites, next.Sensors, next.MQTT.Topics, next.Families)
	}
	for _, f := range r.also {
		if err == nil {
			err = f(next)
		}
	}
	if err != nil {
		r.ok.Set(0)
		r.log.Error("configuration reload failed; keeping the running configuration", "config", r.source(), "err", err)
		return err
	}
	for what, same := range map[string]bool{
		"http.listen":     r.cur.HTTPListen == next.HTTPListen,
		"mqtt":            reflect.DeepEqual(r.cur.MQTT.Broker, next.MQTT.Broker) && r.cur.MQTT.ClientID == next.MQTT.ClientID && r.cur.EmbeddedListen == next.EmbeddedListen,
		"influx":          reflect.DeepEqual(r.cur.Influx, next.Influx),
		"data_dir":        r.cur.DataDir == next.DataDir,
		"state":           reflect.DeepEqual(r.cur.State, next.State),
		"channels":        reflect.DeepEqual(r.cur.Channels, next.Channels),
		"store.retention": r.cur.Retention == next.Retention,
		"simulate":        r.cur.Simulate == next.Simulate,
		"timezone":        r.cur.Location.String() == next.Location.String(),
	} {
		if !same {
			r.log.Warn("configuration section changed but needs a restart to take effect", "section", what)
		}
	}
	sensors := len(next.Sensors)
	next.Sensors = nil // the registry holds them
	r.cur = next
	r.ok.Set(1)
	r.at.SetToCurrentTime()
	r.log.Info("configuration reloaded", "config", r.source(), "rules", len(next.Rules), "scheduled_rules", len(next.Scheduled), "sensors", sensors)
	return nil
}

func (r *reloader) source() string {
	if r.path == "" {
		return "embedded demo"
	}
	return r.path
}

// onSignal reloads on every value from sig until ctx ends.
func (r *reloader) onSignal(ctx context.Context, sig <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-sig:
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_ = r.Reload(rctx)
			cancel()
		}
	}
}

// ruleStatuses reports the streaming rules and the scheduled ones together.
type ruleStatuses struct {
	engine *alerting.Engine
	sched  *alerting.Scheduler
}

// RuleDetail describes a streaming rule as the engine holds it, or a
// scheduled rule by its status.
func (rs ruleStatuses) RuleDetail(name string) (alerting.RuleDetail, bool) {
	if d, ok := rs.engine.RuleDetail(name); ok {
		return d, true
	}
	for _, st := range rs.RuleStatuses() {
		if st.Name == name {
			return alerting.RuleDetail{RuleStatus: st, Bound: []alerting.BoundSensor{}}, true
		}
	}
	return alerting.RuleDetail{}, false
}

func (rs ruleStatuses) RuleStatuses() []alerting.RuleStatus {
	out := rs.engine.RuleStatuses()
	for _, h := range rs.sched.Health() {
		st := alerting.RuleStatus{Name: h.Rule, Kind: "scheduled", Schedule: h.Schedule, Health: h.Health,
			LastError: h.LastError, Evaluations: int64(h.Runs), Sensors: h.Sensors}
		if !h.LastRun.IsZero() {
			t := h.LastRun
			st.LastEval = &t
		}
		if !h.NextRun.IsZero() {
			t := h.NextRun
			st.NextRun = &t
		}
		out = append(out, st)
	}
	return out
}
