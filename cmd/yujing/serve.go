package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"yujing"
	"yujing/config"
	"yujing/ingest"
	"yujing/notify"
	"yujing/notify/message"
	"yujing/sitestatus"
	"yujing/store/sqlite"
)

type serveOptions struct {
	Logger  *slog.Logger
	Version string
	// Ready, if set, is told the addresses actually listened on.
	Ready func(httpAddr, mqttAddr string)
	// ShutdownTimeout bounds each shutdown step (default 10s).
	ShutdownTimeout time.Duration
}

// closer runs cleanup steps in reverse order of registration.
type closer struct{ fns []func() }

func (c *closer) add(f func()) { c.fns = append(c.fns, f) }
func (c *closer) run() {
	for i := len(c.fns) - 1; i >= 0; i-- {
		c.fns[i]()
	}
}

// buildChannels makes the notify integrations named in the configuration,
// each with its type's constructor from types (notify/all), the one that
// checked it when the configuration was loaded, and returns with them the
// callback parsers of those whose provider reports back, by channel name.
// Message channels render with site and sensor names from names.
func buildChannels(cfg *config.Config, types *notify.Types, names message.Names, log *slog.Logger) ([]notify.Channel, map[string]notify.Receipts, error) {
	renderer, err := message.FromConfig(cfg.Messages)
	if err != nil {
		return nil, nil, fmt.Errorf("messages: %w", err)
	}
	// No Client: each channel makes its own, which does not follow
	// redirects; the dispatcher bounds every send.
	deps := notify.Deps{Renderer: renderer.WithNames(names), Logger: log}
	var out []notify.Channel
	receipts := map[string]notify.Receipts{}
	for _, ch := range cfg.Channels {
		typ, ok := types.Lookup(ch.Type)
		if !ok {
			return nil, nil, fmt.Errorf("channel %s: unknown type %q", ch.Name, ch.Type)
		}
		c, err := typ.New(ch.Name, ch.Config, deps)
		if err != nil {
			return nil, nil, fmt.Errorf("channel %s: %w", ch.Name, err)
		}
		out = append(out, c)
		if r, ok := typ.Receipts(c); ok {
			receipts[ch.Name] = r
		}
	}
	return out, receipts, nil
}

// deliveryOptions are the notify dispatcher's settings from the
// configuration: each channel's own limit and breaker, and grouping, whose
// combined text follows the message settings and shows names from names.
func deliveryOptions(cfg *config.Config, names message.Names) (notify.Options, error) {
	renderer, err := message.FromConfig(cfg.Messages)
	if err != nil {
		return notify.Options{}, fmt.Errorf("messages: %w", err)
	}
	o := notify.Options{GroupWait: cfg.GroupWait, GroupText: renderer.WithNames(names).GroupText}
	for _, ch := range cfg.Channels {
		if ch.Limit != nil {
			if o.Limits == nil {
				o.Limits = map[string]notify.Limit{}
			}
			o.Limits[ch.Name] = *ch.Limit
		}
		if ch.Breaker != nil {
			if o.Breakers == nil {
				o.Breakers = map[string]notify.Breaker{}
			}
			o.Breakers[ch.Name] = *ch.Breaker
		}
	}
	return o, nil
}

// registryNames shows site, sensor and family names in messages.
type registryNames struct {
	reg *ingest.Registry
	// families are the configuration's families (nil: the built-in
	// wording only).
	families func() yujing.Families
}

// FamilyName names a family the configuration declares or renamed; ""
// keeps the built-in wording of a built-in family.
func (n registryNames) FamilyName(f yujing.Family, lang string) string {
	if n.families == nil {
		return ""
	}
	k, ok := n.families().Get(f)
	if !ok {
		return ""
	}
	if b, builtin := yujing.BuiltinFamilies().Get(f); builtin && b.Name == k.Name && b.NameEN == k.NameEN {
		return ""
	}
	if lang == message.LangEN {
		return k.NameEN
	}
	return k.Name
}

func (n registryNames) SiteName(id string) string {
	if s, ok := n.reg.Site(id); ok {
		return s.Name
	}
	return ""
}

func (n registryNames) SensorName(id string) string {
	if s, ok := n.reg.ByID(id); ok {
		return s.Name
	}
	return ""
}

// serve runs yujing until ctx ends. It builds the stages in flow order,
// each given at construction what it needs — stores, sensors, notify,
// the alert lifecycle, call-and-answer, the rules, the console, then
// ingest — and shuts down in the reverse order: stop taking MQTT
// messages (finishing what is queued), the rules and call-and-answer, let
// notify deliver what it holds, stop HTTP, the broker, and close the
// stores.
func serve(ctx context.Context, cfg *config.Config, o serveOptions) error {
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 10 * time.Second
	}
	w := &wiring{ctx: ctx, cfg: cfg, o: o, log: o.Logger, reg: prometheus.NewRegistry()}
	defer w.cleanup.run()
	w.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// The collector's settings (runtime.gogc, runtime.memory_limit_bytes).
	goRT := newGoRuntime(w.log, os.LookupEnv)
	goRT.apply(cfg)
	w.cleanup.add(goRT.restore)

	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	state, err := sqlite.OpenState(ctx, filepath.Join(cfg.DataDir, "state.db"))
	if err != nil {
		return err
	}
	w.cleanup.add(func() { _ = state.Close() })
	readings, err := w.readingStore()
	if err != nil {
		return err
	}
	sensors, err := w.sensors(state, readings)
	if err != nil {
		return err
	}
	deliveries, err := w.delivery(state, sensors)
	if err != nil {
		return err
	}
	// Sites' production statuses (生产状态), for rules with when_status and
	// PUT /api/v1/sites/{id}/status.
	statuses, err := sitestatus.Open(ctx, state, func(site string) bool { _, ok := sensors.registry.Site(site); return ok }, time.Now)
	if err != nil {
		return err
	}
	alerts, err := w.lifecycle(state, sensors)
	if err != nil {
		return err
	}
	ln, err := w.listen()
	if err != nil {
		return err
	}
	directory, err := w.directory(state)
	if err != nil {
		return err
	}
	esc, err := w.callAndAnswer(state, alerts, deliveries, directory, sensors, ln.Addr())
	if err != nil {
		return err
	}
	rules, err := w.rules(alerts, sensors, readings, statuses, esc)
	if err != nil {
		return err
	}
	in := w.intake(deliveries)
	reload := w.reloader(rules, sensors, directory, esc, alerts, ln.Addr(), goRT)
	if err := w.serveHTTP(ln, console{state: state, readings: readings, sensors: sensors, statuses: statuses, alerts: alerts,
		directory: directory, esc: esc, rules: rules, reload: reload, intake: in}); err != nil {
		return err
	}
	mqttCfg, mqttAddr, err := w.broker()
	if err != nil {
		return err
	}
	stopIngest, err := w.ingest(mqttCfg, sensors, readings, rules, in)
	if err != nil {
		return err
	}
	defer stopIngest() // first at shutdown: stop the intake before the rest goes away
	defer w.simulate(mqttCfg.Broker, sensors)()

	w.log.Info("yujing ready", "http", "http://"+ln.Addr().String(), "mqtt", mqttAddr,
		"sensors", len(cfg.Sensors), "rules", len(cfg.Rules), "simulate", cfg.Simulate, "config", cfg.Source)
	if o.Ready != nil {
		o.Ready(ln.Addr().String(), mqttAddr)
	}
	<-ctx.Done()
	w.log.Info("shutting down")
	return nil
}
