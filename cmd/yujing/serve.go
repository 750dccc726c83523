package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/escalate"
	"yujing/alerting/lifecycle"
	"yujing/config"
	"yujing/configs"
	"yujing/duty"
	"yujing/ingest"
	"yujing/ingest/broker"
	"yujing/ingest/decode/all"
	"yujing/internal/mailbox"
	"yujing/notify"
	notifyall "yujing/notify/all"
	"yujing/notify/message"
	"yujing/simulate"
	"yujing/sitestatus"
	"yujing/store/influx"
	"yujing/store/spool"
	"yujing/store/sqlite"
	"yujing/web"
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

// serve runs yujing until ctx ends, then shuts down in flow order: stop
// taking MQTT messages (finishing what is queued), let notify deliver what
// it holds, stop HTTP, the broker, and close the stores.
func serve(ctx context.Context, cfg *config.Config, o serveOptions) (err error) {
	log := o.Logger
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 10 * time.Second
	}
	var cleanup closer
	defer cleanup.run()
	// The collector's settings (runtime.gogc, runtime.memory_limit_bytes).
	goRT := newGoRuntime(log, os.LookupEnv)
	goRT.apply(cfg)
	cleanup.add(goRT.restore)
	bounded := func(f func(context.Context) error, what string) func() {
		return func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.ShutdownTimeout)
			defer cancel()
			if err := f(sctx); err != nil {
				log.Warn("shutdown step incomplete", "step", what, "err", err)
			}
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	state, err := sqlite.OpenState(ctx, filepath.Join(cfg.DataDir, "state.db"))
	if err != nil {
		return err
	}
	cleanup.add(func() { _ = state.Close() })

	var sink ingest.Sink
	var influxWriter *influx.Writer
	var readings web.Readings // the console's charts read the store the readings go to
	var system web.System     // yujing's own trouble on the console: dead letters
	influxUp := false
	if cfg.Influx != nil {
		w, err := influx.New(*cfg.Influx)
		if err != nil {
			return err
		}
		cleanup.add(w.Close)
		influxWriter = w
		readings = w
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := w.Ping(pctx); err != nil {
			log.Warn("InfluxDB not reachable yet; readings are spooled on disk until it is", "url", cfg.Influx.URL, "err", err)
		} else {
			influxUp = true
		}
		cancel()
		// Readings go to InfluxDB, or to the spool while it is down or slow;
		// those it refuses for good to the spool's dead letters, replayed
		// once it takes them.
		sp, err := spool.Open(filepath.Join(cfg.DataDir, "spool"), spool.Options{MaxBytes: cfg.SpoolMaxBytes,
			DeadLetterMaxBytes: cfg.DeadLetterMaxBytes, Logger: log, Registerer: reg})
		if err != nil {
			return err
		}
		buffered := spool.NewBuffered(w, sp, spool.BufferedOptions{Retryable: influx.Retryable, Refused: storeRefusals,
			Logger: log, Registerer: reg})
		cleanup.add(bounded(buffered.Close, "spool"))
		system = deadLetterSystem{buffered}
		sink = buffered
		log.Info("reading store", "kind", "influxdb", "url", cfg.Influx.URL, "bucket", cfg.Influx.Bucket, "spool", sp.Dir())
	} else {
		rs, err := sqlite.OpenReadings(ctx, filepath.Join(cfg.DataDir, "readings.db"), cfg.Retention, sqlite.WithLogger(log))
		if err != nil {
			return err
		}
		cleanup.add(func() { _ = rs.Close() })
		rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); _ = rs.RunRetention(rctx, time.Hour) }()
		cleanup.add(func() { cancel(); wg.Wait() })
		sink = rs
		readings = rs
		log.Info("reading store", "kind", "embedded", "path", rs.Path(), "retention", cfg.Retention)
	}

	registry, err := ingest.NewRegistry(cfg.Sites, cfg.Sensors, cfg.MQTT.Topics...)
	if err != nil {
		return err
	}
	decoders, err := all.Registry()
	if err != nil {
		return err
	}
	catalog := ingest.NewCatalog(registry, state, cfg.Sites, cfg.Sensors, cfg.MQTT.Topics, decoders.Names(), cfg.Families)
	if err := catalog.Load(ctx); err != nil {
		return err
	}
	if influxUp {
		// Say now when InfluxDB's limits are lower than the sensors need.
		checkStoreLimits(ctx, influxWriter, registry.Sensors(), log)
	}

	channelTypes, err := notifyall.Types()
	if err != nil {
		return err
	}
	channels, receipts, err := buildChannels(cfg, channelTypes, registryNames{reg: registry, families: catalog.Families}, log)
	if err != nil {
		return err
	}
	// Every call is recorded in the outbox before it is sent; what a
	// previous run recorded but did not see sent goes out again now. How
	// each delivery ended goes, through a mailbox, to call-and-answer,
	// which moves a failed call on along its ladder.
	outcomes := mailbox.New[yujing.CallResult]()
	outbox, err := notify.NewOutbox(state, notify.OutboxOptions{Logger: log, Registerer: reg, OnOutcome: outcomes.Put})
	if err != nil {
		return err
	}
	dopts, err := deliveryOptions(cfg, registryNames{reg: registry, families: catalog.Families})
	if err != nil {
		return err
	}
	dopts.Logger, dopts.Registerer, dopts.OnResult, dopts.OnSend = log, reg, outbox.Result, outbox.Sending
	dispatcher, err := notify.New(channels, dopts)
	if err != nil {
		return err
	}
	outbox.Attach(dispatcher)
	dispatcher.Run(context.WithoutCancel(ctx))
	cleanup.add(bounded(dispatcher.Stop, "notify"))
	if err := outbox.Resume(ctx); err != nil {
		return err
	}

	events := web.NewBroadcaster(256)
	// Sites' production statuses (生产状态), for rules with when_status and
	// PUT /api/v1/sites/{id}/status.
	siteStatuses, err := sitestatus.Open(ctx, state, func(site string) bool { _, ok := registry.Site(site); return ok }, time.Now)
	if err != nil {
		return err
	}
	// The alert lifecycle: every saved change goes to the live stream and,
	// through a mailbox, to call-and-answer, which makes the calls.
	changes := mailbox.New[lifecycle.Change]()
	alerts, err := lifecycle.New(state, registry, lifecycle.Options{Logger: log, Registerer: reg, Location: cfg.Location,
		Silences: state, Inhibit: cfg.Inhibit,
		OnChange: func(c lifecycle.Change) { events.Publish(c.Alert, c.Transition); changes.Put(c) }})
	if err != nil {
		return err
	}
	if err := alerts.Restore(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTPListen)
	if err != nil {
		return fmt.Errorf("http: listen on %s: %w", cfg.HTTPListen, err)
	}
	cleanup.add(func() { _ = ln.Close() })
	// The directory: people, organisations, responsibility chains and duty
	// rosters, from the configuration and the API's edits.
	directory, err := duty.NewBook(cfg.DutySpec, state)
	if err != nil {
		return err
	}
	if err := directory.Load(ctx); err != nil {
		return err
	}
	// Call-and-answer (叫应): routes, escalations and summaries make every
	// call; escalations resume where a previous run left them, and those a
	// crash kept from starting start now.
	escalator, err := newEscalator(cfg, escalate.Parts{Store: state, Alerts: alerts, Changes: changes, Results: outcomes,
		Calls: outbox, Directory: directory, Sites: registry}, ln.Addr(), log, reg)
	if err != nil {
		return err
	}
	// The calls in the API, and providers' receipts straight to
	// call-and-answer.
	calls, err := newCalls(escalator, receipts)
	if err != nil {
		return err
	}
	if err := escalator.Restore(ctx); err != nil {
		return err
	}
	// A crash between saving a warning's change and recording its calls
	// would lose them: make the calls of the last hour's changes again (the
	// outbox drops those it already has).
	if n, err := escalator.RecoverCalls(ctx, time.Hour); err != nil {
		return err
	} else if n > 0 {
		log.Info("calls of recent changes handed to the outbox again", "calls", n)
	}
	escCtx, escStop := context.WithCancel(context.WithoutCancel(ctx))
	var escWG sync.WaitGroup
	escWG.Go(func() { escalator.Run(escCtx) })
	cleanup.add(func() { escStop(); escWG.Wait() })

	engine, err := alerting.New(cfg.Rules, alerts, registry, alerting.Options{
		Logger: log, Registerer: reg, Location: cfg.Location, Overdue: cfg.Overdue, Statuses: siteStatuses})
	if err != nil {
		return err
	}
	if err := engine.Restore(ctx); err != nil {
		return err
	}
	// Offline detection and for: holds need time to pass, not readings.
	tickCtx, tickStop := context.WithCancel(ctx)
	var tickWG sync.WaitGroup
	tickWG.Add(1)
	go func() { defer tickWG.Done(); engine.Run(tickCtx, 5*time.Second) }()
	cleanup.add(func() { tickStop(); tickWG.Wait() })

	// Scheduled rules: windowed aggregates of the reading store at each tick
	// of their cron schedules, carried through the engine like readings.
	var agg alerting.Aggregator
	if a, ok := sink.(alerting.Aggregator); ok {
		agg = a // the embedded store
	} else if influxWriter != nil {
		agg = influxWriter // the spool sits in front of it for writes only
	}
	scheduler, err := alerting.NewScheduler(cfg.Scheduled, agg, engine, registry,
		alerting.SchedulerOptions{Logger: log, Registerer: reg, Location: cfg.Location})
	if err != nil {
		return err
	}
	schedCtx, schedStop := context.WithCancel(ctx)
	var schedWG sync.WaitGroup
	schedWG.Go(func() { scheduler.Run(schedCtx) })
	schedWG.Go(func() {
		if err := escalator.RunSummaries(schedCtx, cfg.Summaries, nil); err != nil {
			log.Error("summaries not scheduled", "err", err)
		}
	})
	cleanup.add(func() { schedStop(); schedWG.Wait() })

	rejections := ingest.NewRejections(1000, 10*time.Second, log)
	var discovery *ingest.Discovery
	if cfg.MQTT.Discovery {
		discovery = ingest.NewDiscovery(1000)
	}
	catalog.OnChange(engine.Rebind)
	path := cfg.Source
	if path == configs.DemoName {
		path = ""
	}
	reload := newReloader(path, cfg, engine, scheduler, catalog, log, reg)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	hupCh := make(chan struct{}, 1)
	hupCtx, hupStop := context.WithCancel(ctx)
	go func() {
		for {
			select {
			case <-hupCtx.Done():
				return
			case <-hup:
				select {
				case hupCh <- struct{}{}:
				default:
				}
			}
		}
	}()
	go reload.onSignal(hupCtx, hupCh)
	cleanup.add(func() { signal.Stop(hup); hupStop() })
	// Every state-changing API request that succeeds goes into the audit
	// log (state.db, hash-chained; yujing audit verify checks it).
	auditLog, err := web.NewAudit(state.AuditLog(), web.AuditOptions{Logger: log, Registerer: reg})
	if err != nil {
		return err
	}
	// Every request is authenticated (users, sessions, API tokens in
	// state.db; tokens from http.api_tokens); the first start creates admin.
	authSvc, err := newAuth(ctx, cfg, state, log, reg)
	if err != nil {
		return err
	}
	reload.onReload(func(next *config.Config) error {
		if err := directory.SetConfig(next.DutySpec); err != nil {
			return fmt.Errorf("directory: %w", err)
		}
		if err := escalator.SetSettings(escalationSettings(next, ln.Addr(), log)); err != nil {
			return err
		}
		alerts.SetInhibit(next.Inhibit)
		goRT.apply(next) // cannot fail: last, so a refused reload changes nothing
		return nil
	})
	srv := web.New(web.Options{Escalations: escalator, Reports: state, People: directory, Directory: directory, Location: cfg.Location, Auth: authSvc, Attachments: state, Silences: alerts, Reload: reload.Reload, Rules: ruleStatuses{engine, scheduler}, Alerts: alerts, Sensors: registry, Rejections: rejections, Discovery: discovery, SensorsAdm: catalog, Families: catalog.Families, SiteStatuses: siteStatuses,
		Gatherer: reg, Logger: log, Version: o.Version, Events: events, Calls: calls, Audit: auditLog, Readings: readings, System: system})
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	hs.RegisterOnShutdown(events.Close) // live streams end at once, or Shutdown waits for them
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	cleanup.add(bounded(hs.Shutdown, "http"))

	mqttCfg := ingest.Config{Broker: cfg.MQTT.Broker, ClientID: cfg.MQTT.ClientID, Username: cfg.MQTT.Username,
		Password: cfg.MQTT.Password, QoS: cfg.MQTT.QoS, CleanSession: cfg.MQTT.CleanSession,
		Filters: cfg.MQTT.Filters, Shards: cfg.MQTT.Shards, QueueSize: cfg.MQTT.QueueSize, Linger: cfg.MQTT.Linger,
		SharedGroup: cfg.MQTT.SharedGroup, TLS: cfg.MQTT.TLS, MaxAge: cfg.MQTT.MaxAge, MaxFuture: cfg.MQTT.MaxFuture,
		MaxUndeclaredMetrics: cfg.MQTT.MaxUndeclaredMetrics}
	mqttAddr := mqttCfg.Broker
	if cfg.EmbeddedListen != "" {
		b, err := broker.Start(cfg.EmbeddedListen, log)
		if err != nil {
			return err
		}
		cleanup.add(func() { _ = b.Close() })
		mqttAddr = b.Addr()
		if cfg.MQTT.FromEmbedded {
			mqttCfg.Broker = "tcp://" + b.Addr()
		}
		log.Info("embedded MQTT broker listening", "addr", b.Addr())
	}

	sub, err := ingest.NewSubscriber(mqttCfg, registry, decoders, sink, engine,
		ingest.Options{Logger: log, Registerer: reg, Rejections: rejections, Discovery: discovery})
	if err != nil {
		return err
	}
	// Registered last, so it runs first at shutdown: stop the intake before
	// notify and the stores go away.
	defer bounded(sub.Stop, "ingest")()
	if err := sub.Start(ctx); err != nil {
		return err
	}
	catalog.OnChange(sub.Refresh)

	var simWG sync.WaitGroup
	simCtx, simStop := context.WithCancel(ctx)
	defer func() { simStop(); simWG.Wait() }()
	if cfg.Simulate {
		sim := simulate.New(registry.Sensors(), simulate.Options{Broker: mqttCfg.Broker, Interval: cfg.SimInterval,
			LeakEvery: cfg.LeakEvery, Logger: log})
		simWG.Add(1)
		go func() {
			defer simWG.Done()
			if err := sim.Run(simCtx); err != nil {
				log.Error("simulator stopped", "err", err)
			}
		}()
	}

	log.Info("yujing ready", "http", "http://"+ln.Addr().String(), "mqtt", mqttAddr,
		"sensors", len(cfg.Sensors), "rules", len(cfg.Rules), "simulate", cfg.Simulate, "config", cfg.Source)
	if o.Ready != nil {
		o.Ready(ln.Addr().String(), mqttAddr)
	}
	<-ctx.Done()
	log.Info("shutting down")
	return nil
}
