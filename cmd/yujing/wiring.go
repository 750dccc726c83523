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

	"yujing"
	"yujing/alerting"
	"yujing/alerting/escalate"
	"yujing/alerting/lifecycle"
	"yujing/alertmanager"
	"yujing/config"
	"yujing/configs"
	"yujing/duty"
	"yujing/ingest"
	"yujing/ingest/broker"
	"yujing/ingest/decode"
	"yujing/ingest/decode/all"
	"yujing/internal/mailbox"
	"yujing/notify"
	notifyall "yujing/notify/all"
	"yujing/replay"
	"yujing/simulate"
	"yujing/sitestatus"
	"yujing/spotcheck"
	"yujing/store"
	"yujing/store/influx"
	"yujing/store/spool"
	"yujing/store/sqlite"
	"yujing/store/sqlstate"
	"yujing/web"
)

// wiring is what every stage of serve is built with: the configuration,
// the logger, the metrics registry, and the cleanup that stops the stages
// in the reverse order of their building.
type wiring struct {
	ctx     context.Context
	cfg     *config.Config
	o       serveOptions
	log     *slog.Logger
	reg     *prometheus.Registry
	clock   *shutdownClock // the shutdown's one budget
	cleanup closer
	// cl is this node's membership of a cluster; nil for a node alone.
	cl *clusterStage
}

// bounded is a cleanup step that gives f until its share of the
// shutdown's budget.
func (w *wiring) bounded(f func(context.Context) error, what string, share float64) func() {
	return func() {
		sctx, cancel := context.WithDeadline(context.WithoutCancel(w.ctx), w.clock.by(share))
		defer cancel()
		if err := f(sctx); err != nil {
			w.log.Warn("shutdown step incomplete", "step", what, "err", err)
		}
	}
}

// background runs each of fns in a goroutine until the cleanup stops them
// (and waits for them); with detached, they outlive serve's ctx until then.
func (w *wiring) background(detached bool, fns ...func(ctx context.Context)) {
	parent := w.ctx
	if detached {
		parent = context.WithoutCancel(w.ctx)
	}
	ctx, stop := context.WithCancel(parent)
	var wg sync.WaitGroup
	for _, f := range fns {
		wg.Go(func() { f(ctx) })
	}
	w.cleanup.add(func() { stop(); wg.Wait() })
}

// readingStore is where readings go and are read back from: InfluxDB
// behind a spool on disk, or the embedded store.
type readingStore struct {
	sink   ingest.Sink
	charts web.Readings        // the console's charts
	system web.System          // yujing's own trouble on the console: dead letters
	agg    alerting.Aggregator // windowed aggregates for scheduled rules
	influx *influx.Writer      // nil: embedded
	up     bool                // InfluxDB answered at start
}

func (w *wiring) readingStore() (*readingStore, error) {
	cfg := w.cfg
	if cfg.Influx == nil {
		rs, err := sqlite.OpenReadings(w.ctx, filepath.Join(cfg.DataDir, "readings.db"), cfg.Retention, sqlite.WithLogger(w.log))
		if err != nil {
			return nil, err
		}
		w.cleanup.add(func() { _ = rs.Close() })
		w.background(true, func(ctx context.Context) { _ = rs.RunRetention(ctx, time.Hour) })
		w.log.Info("reading store", "kind", "embedded", "path", rs.Path(), "retention", cfg.Retention)
		return &readingStore{sink: rs, charts: rs, agg: rs}, nil
	}
	iw, err := influx.New(*cfg.Influx)
	if err != nil {
		return nil, err
	}
	w.cleanup.add(iw.Close)
	s := &readingStore{charts: iw, agg: iw, influx: iw} // the spool sits in front of it for writes only
	pctx, cancel := context.WithTimeout(w.ctx, 5*time.Second)
	if err := iw.Ping(pctx); err != nil {
		w.log.Warn("InfluxDB not reachable yet; readings are spooled on disk until it is", "url", cfg.Influx.URL, "err", err)
	} else {
		s.up = true
	}
	cancel()
	// Readings go to InfluxDB, or to the spool while it is down or slow;
	// those it refuses for good to the spool's dead letters, replayed
	// once it takes them.
	sp, err := spool.Open(filepath.Join(cfg.DataDir, "spool"), spool.Options{MaxBytes: cfg.SpoolMaxBytes,
		DeadLetterMaxBytes: cfg.DeadLetterMaxBytes, Logger: w.log, Registerer: w.reg})
	if err != nil {
		return nil, err
	}
	buffered := spool.NewBuffered(iw, sp, spool.BufferedOptions{Retryable: influx.Retryable, Refused: storeRefusals,
		Logger: w.log, Registerer: w.reg})
	w.cleanup.add(w.bounded(buffered.Close, "spool", shareSpool))
	s.sink, s.system = buffered, deadLetterSystem{buffered}
	w.log.Info("reading store", "kind", "influxdb", "url", cfg.Influx.URL, "bucket", cfg.Influx.Bucket, "spool", sp.Dir())
	return s, nil
}

// sensorBook is what yujing knows of the sensors: the registry ingest and
// the rules read, the catalog the API edits, the payload decoders.
type sensorBook struct {
	registry *ingest.Registry
	catalog  *ingest.Catalog
	decoders *decode.Registry
}

// names shows site, sensor and family names in messages.
func (s *sensorBook) names() registryNames {
	return registryNames{reg: s.registry, families: s.catalog.Families}
}

func (w *wiring) sensors(state *sqlstate.State, readings *readingStore) (*sensorBook, error) {
	cfg := w.cfg
	registry, err := ingest.NewRegistry(cfg.Sites, cfg.Sensors, cfg.MQTT.Topics...)
	if err != nil {
		return nil, err
	}
	decoders, err := all.Registry()
	if err != nil {
		return nil, err
	}
	catalog := ingest.NewCatalog(registry, state, cfg.Sites, cfg.Sensors, cfg.MQTT.Topics, decoders.Names(), cfg.Families)
	if err := catalog.Load(w.ctx); err != nil {
		return nil, err
	}
	if readings.up {
		// Say now when InfluxDB's limits are lower than the sensors need.
		checkStoreLimits(w.ctx, readings.influx, registry.Sensors(), w.log)
	}
	return &sensorBook{registry: registry, catalog: catalog, decoders: decoders}, nil
}

// delivery is the notify stage: every call is recorded in the outbox
// before it is sent; what a previous run recorded but did not see sent
// goes out again now. How each delivery ended goes, through outcomes, to
// call-and-answer, which moves a failed call on along its ladder.
type delivery struct {
	outbox   *notify.Outbox
	outcomes *mailbox.Box[yujing.CallResult]
	receipts map[string]notify.Receipts // the callback parsers, by channel name
}

func (w *wiring) delivery(state *sqlstate.State, sensors *sensorBook) (*delivery, error) {
	types, err := notifyall.Types()
	if err != nil {
		return nil, err
	}
	channels, receipts, err := buildChannels(w.cfg, types, sensors.names(), w.log)
	if err != nil {
		return nil, err
	}
	outcomes := mailbox.New[yujing.CallResult]()
	journal, err := notify.NewJournal(state, notify.OutboxOptions{Logger: w.log, Registerer: w.reg, OnOutcome: outcomes.Put,
		Fence: w.cl.ownership().callFence()})
	if err != nil {
		return nil, err
	}
	dopts, err := deliveryOptions(w.cfg, sensors.names())
	if err != nil {
		return nil, err
	}
	dopts.Logger, dopts.Registerer, dopts.OnResult, dopts.OnSend = w.log, w.reg, journal.Result, journal.Sending
	dispatcher, err := notify.New(channels, dopts)
	if err != nil {
		return nil, err
	}
	outbox, err := notify.NewOutbox(journal, dispatcher)
	if err != nil {
		return nil, err
	}
	dispatcher.Run(context.WithoutCancel(w.ctx))
	w.cleanup.add(w.bounded(func(ctx context.Context) error {
		// What it leaves is pending in the outbox, resumed at the next
		// start, and said in its one summary line: not a failed step.
		if err := dispatcher.Stop(ctx); !errors.Is(err, notify.ErrStopped) {
			return err
		}
		return nil
	}, "notify", shareNotify))
	if w.cl == nil { // in a cluster, each partition's calls are resumed by the node that takes it
		if err := outbox.Resume(w.ctx); err != nil {
			return nil, err
		}
	}
	return &delivery{outbox: outbox, outcomes: outcomes, receipts: receipts}, nil
}

// alertStage is the alert lifecycle: every saved change goes to the
// console's live stream and, through changes, to call-and-answer.
type alertStage struct {
	alerts  *lifecycle.Alerts
	changes *mailbox.Box[lifecycle.Change]
	events  *web.Broadcaster
}

func (w *wiring) lifecycle(state *sqlstate.State, sensors *sensorBook) (*alertStage, error) {
	events := web.NewBroadcaster(256)
	changes := mailbox.New[lifecycle.Change]()
	alerts, err := lifecycle.New(state, sensors.registry, lifecycle.Options{Logger: w.log, Registerer: w.reg,
		Location: w.cfg.Location, Silences: state, Inhibit: w.cfg.Inhibit,
		OnChange: func(c lifecycle.Change) {
			events.Publish(c.Alert, c.Transition)
			changes.Put(c)
			w.cl.changed(c.Alert.ID)
		}})
	if err != nil {
		return nil, err
	}
	if err := alerts.Restore(w.ctx); err != nil {
		return nil, err
	}
	return &alertStage{alerts: alerts, changes: changes, events: events}, nil
}

// listen opens the HTTP listener first: answer links point at its address.
func (w *wiring) listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", w.cfg.HTTPListen)
	if err != nil {
		return nil, fmt.Errorf("http: listen on %s: %w", w.cfg.HTTPListen, err)
	}
	w.cleanup.add(func() { _ = ln.Close() })
	return ln, nil
}

// directory is people, organisations, responsibility chains and duty
// rosters, from the configuration and the API's edits.
func (w *wiring) directory(state *sqlstate.State) (*duty.Book, error) {
	directory, err := duty.NewBook(w.cfg.DutySpec, state)
	if err != nil {
		return nil, err
	}
	return directory, directory.Load(w.ctx)
}

// callAndAnswer (叫应) makes every call — routes, escalations, ladders'
// next channels, summaries — and takes every answer. Escalations resume
// where a previous run left them, those a crash kept from starting start
// now, and the route calls a crash lost are made again.
func (w *wiring) callAndAnswer(state *sqlstate.State, alerts *alertStage, d *delivery, directory *duty.Book,
	sensors *sensorBook, addr net.Addr) (*escalate.Engine, error) {
	esc, err := newEscalator(w.cfg, state, escalate.Parts{Store: state, Alerts: alerts.alerts, Changes: alerts.changes,
		Results: d.outcomes, Calls: d.outbox, Directory: directory, Sites: sensors.registry, Checks: state}, addr, w.cl.ownership(), w.log, w.reg)
	if err != nil {
		return nil, err
	}
	if err := esc.Restore(w.ctx); err != nil {
		return nil, err
	}
	// A crash between saving a warning's change and recording its calls
	// would lose them: make the calls of the last hour's changes again (the
	// outbox drops those it already has). In a cluster the node that takes
	// a partition adopts its escalations instead.
	if w.cl != nil {
		w.background(true, esc.Run)
		return esc, nil
	}
	if n, err := esc.RecoverCalls(w.ctx, time.Hour); err != nil {
		return nil, err
	} else if n > 0 {
		w.log.Info("calls of recent changes handed to the outbox again", "calls", n)
	}
	w.background(true, esc.Run)
	return esc, nil
}

// spotCheckStage is the duty spot checks (查岗): the schedules, and the
// on-demand settings the API reads, both changed by a reload.
type spotCheckStage struct {
	scheduler *spotcheck.Scheduler
	mu        sync.Mutex
	defaults  web.SpotCheckDefaults
}

// spotChecks plans the checks of each schedule at its window's start;
// call-and-answer makes them. The picks are seeded by the answer-link
// key, which nobody checked knows.
func (w *wiring) spotChecks(state *sqlstate.State, directory *duty.Book, esc *escalate.Engine) (*spotCheckStage, error) {
	key, err := answerKey(w.cfg, state)
	if err != nil {
		return nil, err
	}
	scheduler, err := spotcheck.NewScheduler(w.cfg.SpotChecks.Schedules, directory.Current, esc,
		spotcheck.Options{Logger: w.log, Location: w.cfg.Location, Secret: key})
	if err != nil {
		return nil, err
	}
	st := &spotCheckStage{scheduler: scheduler, defaults: spotCheckDefaults(w.cfg)}
	w.background(false, scheduler.Run)
	return st, nil
}

func spotCheckDefaults(cfg *config.Config) web.SpotCheckDefaults {
	return web.SpotCheckDefaults{Known: channelNames(cfg), Channels: cfg.SpotChecks.Channels, Deadline: cfg.SpotChecks.Deadline,
		EscalateTo: cfg.SpotChecks.EscalateTo}
}

// Defaults are the on-demand settings in force.
func (s *spotCheckStage) Defaults() web.SpotCheckDefaults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.defaults
}

// apply takes a reloaded configuration's schedules and settings.
func (s *spotCheckStage) apply(next *config.Config) error {
	if err := s.scheduler.SetSchedules(next.SpotChecks.Schedules); err != nil {
		return err
	}
	s.mu.Lock()
	s.defaults = spotCheckDefaults(next)
	s.mu.Unlock()
	return nil
}

// ruleStage is the rule engine, ticking for offline detection and for:
// holds, and the scheduler of rules on windowed aggregates.
type ruleStage struct {
	engine    *alerting.Engine
	scheduler *alerting.Scheduler
}

func (w *wiring) rules(alerts *alertStage, sensors *sensorBook, readings *readingStore, statuses *sitestatus.Board,
	esc *escalate.Engine) (*ruleStage, error) {
	cfg := w.cfg
	engine, err := alerting.New(cfg.Rules, alerts.alerts, sensors.registry, alerting.Options{
		Logger: w.log, Registerer: w.reg, Location: cfg.Location, Overdue: cfg.Overdue, Statuses: statuses,
		Owns: w.cl.ownership().ownsFunc()})
	if err != nil {
		return nil, err
	}
	if err := engine.Restore(w.ctx); err != nil {
		return nil, err
	}
	sensors.catalog.OnChange(engine.Rebind)
	w.background(false, func(ctx context.Context) { engine.Run(ctx, 5*time.Second) })
	// Scheduled rules: windowed aggregates of the reading store at each
	// tick of their cron schedules, carried through the engine like
	// readings; the summaries run on the same schedule.
	scheduler, err := alerting.NewScheduler(cfg.Scheduled, readings.agg, engine, sensors.registry,
		alerting.SchedulerOptions{Logger: w.log, Registerer: w.reg, Location: cfg.Location})
	if err != nil {
		return nil, err
	}
	w.background(false, scheduler.Run)
	if w.cl == nil { // in a cluster, the leader sends them (summaries)
		w.background(false, func(ctx context.Context) { summaries(ctx, esc, cfg, w) })
	}
	return &ruleStage{engine: engine, scheduler: scheduler}, nil
}

// reloader takes a new configuration on SIGHUP or POST /api/v1/reload:
// the rules, the sensors, then the directory, call-and-answer's routes and
// policies, and the lifecycle's inhibition.
func (w *wiring) reloader(rules *ruleStage, sensors *sensorBook, directory *duty.Book, esc *escalate.Engine,
	spot *spotCheckStage, alerts *alertStage, issued *issuedStage, addr net.Addr, goRT *goRuntime) *reloader {
	path := w.cfg.Source
	if path == configs.DemoName {
		path = ""
	}
	reload := newReloader(path, w.cfg, rules.engine, rules.scheduler, sensors.catalog, w.log, w.reg)
	reload.onReload(func(next *config.Config) error {
		if err := directory.SetConfig(next.DutySpec); err != nil {
			return fmt.Errorf("directory: %w", err)
		}
		if err := esc.SetSettings(escalationSettings(next, addr, w.log)); err != nil {
			return err
		}
		if err := spot.apply(next); err != nil {
			return fmt.Errorf("spot checks: %w", err)
		}
		alerts.alerts.SetInhibit(next.Inhibit)
		issued.cap.SetSettings(next.CAP)
		goRT.apply(next) // cannot fail: last, so a refused reload changes nothing
		return nil
	})
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	hupCh := make(chan struct{}, 1)
	w.background(false, func(ctx context.Context) {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				select {
				case hupCh <- struct{}{}:
				default:
				}
			}
		}
	}, func(ctx context.Context) { reload.onSignal(ctx, hupCh) })
	w.cleanup.add(func() { signal.Stop(hup) })
	return reload
}

// console is the HTTP API, the console and the answer pages, with the
// audit log of every state-changing request and authentication.
type console struct {
	state     *sqlstate.State
	readings  *readingStore
	sensors   *sensorBook
	statuses  *sitestatus.Board
	alerts    *alertStage
	directory *duty.Book
	esc       *escalate.Engine
	rules     *ruleStage
	reload    *reloader
	intake    *intake
	issued    *issuedStage
	// alertmanager takes Alertmanager clients' alerts; nil: not configured.
	alertmanager *alertmanager.Receiver
	spot         *spotCheckStage
}

func (w *wiring) serveHTTP(ln net.Listener, c console) error {
	// Every state-changing API request that succeeds goes into the audit
	// log (state.db, hash-chained; yujing audit verify checks it).
	auditLog, err := web.NewAudit(c.state.AuditLog(), web.AuditOptions{Logger: w.log, Registerer: w.reg})
	if err != nil {
		return err
	}
	// Every request is authenticated (users, sessions, API tokens in
	// state.db; tokens from http.api_tokens); the first start creates admin.
	authSvc, err := newAuth(w.ctx, w.cfg, c.state, w.log, w.reg)
	if err != nil {
		return err
	}
	// The calls in the API, and providers' receipts straight to
	// call-and-answer.
	calls, err := newCalls(c.esc, c.intake.receipts)
	if err != nil {
		return err
	}
	opts := web.Options{Escalations: c.esc, Reports: c.state, People: c.directory, Directory: c.directory,
		Location: w.cfg.Location, Auth: authSvc, Attachments: c.state, Silences: c.alerts.alerts, Reload: w.cl.reloadAll(c.reload.Reload, w.cfg.Source),
		Rules: ruleStatuses{c.rules.engine, c.rules.scheduler}, Alerts: c.alerts.alerts, Sensors: c.sensors.registry,
		Previews: replay.NewPreviewer(previewLive{c.rules.engine, c.alerts.alerts}, c.sensors.registry, c.readings.charts,
			replay.PreviewOptions{Location: w.cfg.Location, Statuses: c.statuses, Dir: w.cfg.DataDir}),
		Rejections: c.intake.rejections, Discovery: c.intake.discovery, SensorsAdm: c.sensors.catalog,
		Families: c.sensors.catalog.Families, SiteStatuses: c.statuses, Gatherer: w.reg, Logger: w.log, Version: w.o.Version,
		Events: c.alerts.events, Calls: calls, Audit: auditLog, Readings: c.readings.charts, System: c.readings.system,
		CAP: c.issued.cap, SpotChecks: &web.SpotChecks{Start: c.esc, Store: c.state, Defaults: c.spot.Defaults}}
	if c.alertmanager != nil {
		opts.AlertReceiver = c.alertmanager
	}
	srv := web.New(opts)
	fresh := &freshConns{conns: map[net.Conn]struct{}{}}
	hs := &http.Server{Handler: w.cl.watchWrites(srv.Handler()), ReadHeaderTimeout: 10 * time.Second, ConnState: fresh.track}
	hs.RegisterOnShutdown(c.alerts.events.Close) // live streams end at once, or Shutdown waits for them
	hs.RegisterOnShutdown(fresh.close)
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			w.log.Error("http server stopped", "err", err)
		}
	}()
	w.cleanup.add(w.bounded(func(ctx context.Context) error {
		err := hs.Shutdown(ctx)
		if err != nil {
			_ = hs.Close() // requests still running lose their connections before the stores close
		}
		return err
	}, "http", shareHTTP))
	return nil
}

// intake is what ingest shows the console: refused messages, topics
// without a sensor, and the callback parsers of the channels (receipts
// come in over HTTP too).
type intake struct {
	rejections *ingest.Rejections
	discovery  *ingest.Discovery // nil: discovery off
	receipts   map[string]notify.Receipts
}

func (w *wiring) intake(d *delivery) *intake {
	in := &intake{rejections: ingest.NewRejections(1000, 10*time.Second, w.log), receipts: d.receipts}
	if w.cfg.MQTT.Discovery {
		in.discovery = ingest.NewDiscovery(1000)
	}
	return in
}

// broker starts the embedded MQTT broker when configured, and returns the
// subscriber's settings and the broker address to report.
func (w *wiring) broker() (ingest.Config, string, error) {
	m := w.cfg.MQTT
	mqttCfg := ingest.Config{Broker: m.Broker, ClientID: m.ClientID, Username: m.Username, Password: m.Password,
		QoS: m.QoS, CleanSession: m.CleanSession, Filters: m.Filters, Shards: m.Shards, QueueSize: m.QueueSize,
		Linger: m.Linger, SharedGroup: m.SharedGroup, TLS: m.TLS, MaxAge: m.MaxAge, MaxFuture: m.MaxFuture,
		MaxUndeclaredMetrics: m.MaxUndeclaredMetrics}
	if own := w.cl.ownership(); own != nil {
		// One persistent session per partition, taken and given up with it.
		mqttCfg.Partitions, mqttCfg.PartitionOf = own.partitions, own.partition
	}
	addr := mqttCfg.Broker
	if w.cfg.EmbeddedListen != "" {
		b, err := broker.Start(w.cfg.EmbeddedListen, w.log)
		if err != nil {
			return mqttCfg, "", err
		}
		w.cleanup.add(func() { _ = b.Close() })
		addr = b.Addr()
		if m.FromEmbedded {
			mqttCfg.Broker = "tcp://" + b.Addr()
		}
		w.log.Info("embedded MQTT broker listening", "addr", b.Addr())
	}
	return mqttCfg, addr, nil
}

// ingest subscribes to the sensors' topics: each reading is stored (or
// spooled) and evaluated, and acknowledged to the broker once durable. It
// returns the stop that must run first at shutdown, before notify and the
// stores go away.
func (w *wiring) ingest(mqttCfg ingest.Config, sensors *sensorBook, readings *readingStore, rules *ruleStage,
	in *intake, documents ingest.Documents) (sub *ingest.Subscriber, stop func(), err error) {
	sub, err = ingest.NewSubscriber(mqttCfg, sensors.registry, sensors.decoders, readings.sink, rules.engine,
		ingest.Options{Logger: w.log, Registerer: w.reg, Rejections: in.rejections, Discovery: in.discovery, Documents: documents})
	if err != nil {
		return nil, nil, err
	}
	stop = w.bounded(sub.Stop, "ingest", shareIngest)
	if err := sub.Start(w.ctx); err != nil {
		stop()
		return nil, nil, err
	}
	sensors.catalog.OnChange(sub.Refresh)
	return sub, stop, nil
}

// simulate publishes simulated readings for the demo (simulate: true);
// it returns the stop to run before the intake's.
func (w *wiring) simulate(broker string, sensors *sensorBook) (stop func()) {
	if !w.cfg.Simulate {
		return func() {}
	}
	ctx, cancel := context.WithCancel(w.ctx)
	var wg sync.WaitGroup
	sim := simulate.New(sensors.registry.Sensors(), simulate.Options{Broker: broker, Interval: w.cfg.SimInterval,
		LeakEvery: w.cfg.LeakEvery, Logger: w.log})
	wg.Go(func() {
		if err := sim.Run(ctx); err != nil {
			w.log.Error("simulator stopped", "err", err)
		}
	})
	return func() { cancel(); wg.Wait() }
}

// previewLive is what a rule's preview reads of the running yujing: the
// rules from the engine, the warnings from the lifecycle's record.
type previewLive struct {
	rules  *alerting.Engine
	alerts *lifecycle.Alerts
}

func (p previewLive) Rule(name string) (*alerting.Rule, bool) { return p.rules.Rule(name) }
func (p previewLive) Bound(name string) []string              { return p.rules.Bound(name) }
func (p previewLive) List(ctx context.Context, f store.AlertFilter) ([]yujing.Alert, error) {
	return p.alerts.List(ctx, f)
}
func (p previewLive) Get(ctx context.Context, id int64) (yujing.Alert, []yujing.Transition, error) {
	return p.alerts.Get(ctx, id)
}

// channelNames are the configured channels' names.
func channelNames(cfg *config.Config) []string {
	var out []string
	for _, ch := range cfg.Channels {
		out = append(out, ch.Name)
	}
	return out
}
