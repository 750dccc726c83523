package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"yujing"
	"yujing/config"
	"yujing/ingest"
	"yujing/message"
	"yujing/notify"
	"yujing/sitestatus"
)

type serveOptions struct {
	Logger  *slog.Logger
	Version string
	// Ready, if set, is told the addresses actually listened on.
	Ready func(httpAddr, mqttAddr string)
	// ShutdownTimeout bounds the whole shutdown, from the end of ctx to
	// serve's return (default defaultShutdownTimeout): each step that can
	// wait has until its share of it (see shutdownClock).
	ShutdownTimeout time.Duration
}

// defaultShutdownTimeout keeps Ctrl-C under 2 s, with room for the steps
// that wait on nothing outside (closing the broker and the stores) and for
// the process's exit.
const defaultShutdownTimeout = 1500 * time.Millisecond

// Deadlines of the shutdown steps that can wait, as shares of the budget
// from the start of the shutdown: a step that is slow shortens those after
// it, it does not add to the total.
const (
	shareIngest = 0.4 // drain what MQTT delivered into the store (or leave it unacknowledged)
	shareHTTP   = 0.55
	shareNotify = 0.8 // requests still in flight are cut off then
	shareSpool  = 1.0
)

// shutdownClock is one budget for the whole shutdown, starting when the
// shutdown does (or, when serve fails to start, at its first bounded step).
type shutdownClock struct {
	budget time.Duration
	start  time.Time
}

func (c *shutdownClock) begin() {
	if c.start.IsZero() {
		c.start = time.Now()
	}
}

// by is the deadline of a step with the given share of the budget.
func (c *shutdownClock) by(share float64) time.Time {
	c.begin()
	return c.start.Add(time.Duration(share * float64(c.budget)))
}

// freshConns are the HTTP connections that have not sent a request yet,
// which browsers and HTTP clients open ahead of need. http.Server.Shutdown
// counts them as busy for their first 5 s (golang.org/issue/22682), so
// they are closed when it begins (its listeners are closed by then).
type freshConns struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// track is the server's ConnState.
func (f *freshConns) track(c net.Conn, s http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s == http.StateNew {
		f.conns[c] = struct{}{}
	} else {
		delete(f.conns, c)
	}
}

func (f *freshConns) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		_ = c.Close()
	}
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

// prepare registers the process's metrics, applies the Go runtime's
// settings (runtime.gogc, runtime.memory_limit_bytes) and makes the data
// directory.
func (w *wiring) prepare() (*goRuntime, error) {
	w.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	goRT := newGoRuntime(w.log, os.LookupEnv)
	goRT.apply(w.cfg)
	w.cleanup.add(goRT.restore)
	if err := os.MkdirAll(w.cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	return goRT, nil
}

// serve runs yujing until ctx ends. It builds the stages in flow order,
// each given at construction what it needs — stores, sensors, notify,
// the alert lifecycle, call-and-answer, the rules, the console, then
// ingest — and shuts down in the reverse order within o.ShutdownTimeout:
// stop taking MQTT messages (finishing what is queued), stop the broker
// and HTTP (live streams end at once), stop what makes calls, let notify
// send what it holds once (what it cannot is left pending in the outbox
// for the next start), and close the stores.
func serve(ctx context.Context, cfg *config.Config, o serveOptions) error {
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = defaultShutdownTimeout
	}
	cl, err := newClusterStage(cfg, o.Logger)
	if err != nil {
		return err
	}
	w := &wiring{ctx: ctx, cfg: cfg, o: o, log: o.Logger, reg: prometheus.NewRegistry(),
		clock: &shutdownClock{budget: o.ShutdownTimeout}, cl: cl}
	stopping := false
	defer func() {
		if stopping {
			w.log.Info("yujing stopped", "took", time.Since(w.clock.start).Round(time.Millisecond))
		}
	}()
	defer w.cleanup.run()
	goRT, err := w.prepare()
	if err != nil {
		return err
	}
	state, closeState, err := openState(ctx, cfg, w.log)
	if err != nil {
		return err
	}
	w.cleanup.add(closeState)
	readings, err := w.readingStore()
	if err != nil {
		return err
	}
	sensors, err := w.sensors(state, readings)
	if err != nil {
		return err
	}
	// The registry holds the sensors now, compactly: the configuration's
	// list of them is not kept (a province has a million).
	trimmed := *cfg
	trimmed.Sensors = nil
	cfg, w.cfg = &trimmed, &trimmed
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
	spot, err := w.spotChecks(state, directory, esc)
	if err != nil {
		return err
	}
	rules, err := w.rules(alerts, sensors, readings, statuses, esc)
	if err != nil {
		return err
	}
	issuedIn, err := w.issued(state, alerts)
	if err != nil {
		return err
	}
	// The Alertmanager API takes Prometheus' and Grafana's alerts as
	// issued warnings.
	amAlerts, err := w.alertmanagerAPI(issuedIn.warnings, sensors)
	if err != nil {
		return err
	}
	in := w.intake(deliveries)
	reload := w.reloader(rules, sensors, directory, esc, spot, alerts, issuedIn, ln.Addr(), goRT)
	w.alertmanagerReload(reload, amAlerts, sensors)
	if err := w.serveHTTP(ln, console{state: state, readings: readings, sensors: sensors, statuses: statuses, alerts: alerts,
		directory: directory, esc: esc, rules: rules, reload: reload, intake: in, issued: issuedIn, alertmanager: amAlerts, spot: spot}); err != nil {
		return err
	}
	mqttCfg, mqttAddr, err := w.broker()
	if err != nil {
		return err
	}
	sub, stopIngest, err := w.ingest(mqttCfg, sensors, readings, rules, in, issuedIn)
	if err != nil {
		return err
	}
	defer stopIngest() // first at shutdown: stop the intake before the rest goes away
	leave, err := w.join(&partitionWork{alerts: alerts, rules: rules, esc: esc, resume: deliveries.outbox.ResumeWhere, intake: sub,
		leader: func(ctx context.Context) { summaries(ctx, esc, cfg, w) }, reload: reload.Reload, configPath: cfg.Source,
		refresh: refreshers(alerts, sensors, directory, statuses)})
	if err != nil {
		return err
	}
	defer leave() // before the intake stops: each partition is handed over drained
	defer w.simulate(mqttCfg.Broker, sensors)()

	w.log.Info("yujing ready", "http", "http://"+ln.Addr().String(), "mqtt", mqttAddr,
		"sensors", sensors.registry.Len(), "rules", len(cfg.Rules), "simulate", cfg.Simulate, "config", cfg.Source)
	if o.Ready != nil {
		o.Ready(ln.Addr().String(), mqttAddr)
	}
	<-ctx.Done()
	w.clock.begin()
	stopping = true
	w.log.Info("shutting down", "within", o.ShutdownTimeout)
	return nil
}
