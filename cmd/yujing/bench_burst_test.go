package main

// Burst dispatch and call latency against Alertmanager (issue 19). Run only
// when asked, never in `make test`:
//
//	YUJING_BURST_BENCH=1 YUJING_REQUIRE_EXTERNAL=1 go test -run '^$' -bench 'BurstDispatch|CallLatency' -benchtime 1x ./cmd/yujing/
//
// (`make bench` does this). Both run `yujing serve` as users run it: this
// test binary re-executed as yujing (main_helper_test.go), configured from a
// file, with an external mosquitto (internal/testenv), one red threshold rule
// and a route of red warnings to a webhook channel (delivery.group_wait 0s)
// whose receiver, a loopback HTTP server in this process, counts the calls
// by idempotency key and notes when each gauge's first call came.
//
// BenchmarkBurstDispatch: YUJING_BURST_N gauges (default 20 000) on
// YUJING_BURST_SITES sites (default 4) each get one red reading, published
// at QoS 1 as fast as a window of 512 outstanding publishes allows. Reported:
// calls/s (first call to last), duplicates (deliveries of a key beyond its
// first, and warnings called under two keys: 0 required), the child's CPU
// time per call (utime+stime from /proc/<pid>/stat, publish start to last
// call), its peak RSS (VmHWM), and publish → call latency p50/p99. Then the
// same burst through Alertmanager ($YUJING_TOOLS/alertmanager, v0.35.0,
// scripts/test-deps.sh with YUJING_BENCH_DEPS=1 builds it): N alerts, each
// its own notification (group_by ['...'], group_wait 0s), posted to
// /api/v2/alerts in batches of 64 one after another as Prometheus 2.x's
// notifier does, delivered to a webhook receiver like yujing's; and the
// ratios: am_rate_ratio (yujing's calls/s over Alertmanager's alerts/s),
// cpu_ratio (yujing's CPU per call over Alertmanager's per alert),
// rss_ratio (VmHWM over VmHWM). After the burst yujing is stopped cleanly and
// its state checked: one red warning per gauge, no call left pending.
//
// BenchmarkCallLatency: publish → first call at fixed rates (20, 200, 1 000
// and 5 000 warnings/s, YUJING_LATENCY_SECONDS each, default 4, at least 200
// warnings), each reading a new red warning on its own gauge; before each
// rate, a bare paho subscriber's publish → receive latency on the same
// broker at the same rate (on topics yujing does not subscribe to) is the
// baseline. Each rate's round has a broker and a yujing of its own.
// saturated is 1 when the calls came in at less than 90 % of the
// offered rate (first publish to last call).
//
// YUJING_BURST_CPUPROFILE=path makes the yujing child of
// BenchmarkBurstDispatch write a CPU profile of the burst to path: the child starts profiling
// on SIGUSR1 and stops on SIGUSR2 (burstProfileOnSignal). `go tool pprof
// -top path` reads it. Profiling costs a few per cent of CPU: take the CPU
// figures from a run without it.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"yujing"
	"yujing/internal/testenv"
	"yujing/notify/webhook"
	"yujing/store"
	"yujing/store/sqlite"
)

const burstProfileEnv = "YUJING_BURST_CPUPROFILE"

func init() { burstProfileOnSignal() }

// burstProfileOnSignal runs in the yujing child of these benchmarks only
// (serveChildEnv and burstProfileEnv set): SIGUSR1 starts a CPU profile into
// the file burstProfileEnv names, SIGUSR2 stops it and creates path+".done".
// serve has no /debug/pprof, and the child's TestMain exits through
// os.Exit, so the profile is bounded by signals.
func burstProfileOnSignal() {
	path := os.Getenv(burstProfileEnv)
	if os.Getenv(serveChildEnv) != "1" || path == "" {
		return
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		var f *os.File
		for s := range sigs {
			switch {
			case s == syscall.SIGUSR1 && f == nil:
				var err error
				if f, err = os.Create(path); err == nil {
					err = pprof.StartCPUProfile(f)
				}
				if err != nil {
					fmt.Fprintf(os.Stderr, "cpu profile: %v\n", err)
				}
			case s == syscall.SIGUSR2 && f != nil:
				pprof.StopCPUProfile()
				f.Close()
				f = nil
				_ = os.WriteFile(path+".done", nil, 0o600)
			}
		}
	}()
}

// burstEnvInt is a positive integer setting from the environment.
func burstEnvInt(b *testing.B, name string, def int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// loadavg is the one-minute load average of the machine.
func loadavg() float64 {
	raw, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(raw))
	if len(f) == 0 {
		return -1
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// burstClock gives every event of a run a time on one monotonic clock.
type burstClock struct{ base time.Time }

func (c burstClock) now() int64 { return int64(time.Since(c.base)) }

// burstGauges is the state of one set of gauges in a run: when each was
// published (or posted) and when its first call came, and how the calls
// came. A gauge is known by its index; its id is R%05d.
type burstGauges struct {
	clock  burstClock
	pubAt  []atomic.Int64 // ns on clock; 0: not yet
	callAt []int64        // ns on clock of the first call; 0: none

	mu     sync.Mutex
	keys   map[string]int // idempotency key (AM: the alert's gauge) → deliveries
	keyOf  []string       // the first key each gauge was called with
	twice  int            // gauges called under a second key
	called int
	first  int64
	last   int64
	bad    []string
	all    chan struct{}
	lo, hi int // the gauges this set counts: [lo, hi)
}

func newBurstGauges(clock burstClock, lo, hi int) *burstGauges {
	n := hi - lo
	return &burstGauges{clock: clock, pubAt: make([]atomic.Int64, n), callAt: make([]int64, n),
		keys: map[string]int{}, keyOf: make([]string, n), all: make(chan struct{}), lo: lo, hi: hi}
}

func (g *burstGauges) n() int { return g.hi - g.lo }

func burstGaugeID(i int) string { return fmt.Sprintf("R%05d", i) }

// gaugeIndex parses R%05d.
func gaugeIndex(id string) (int, bool) {
	if !strings.HasPrefix(id, "R") {
		return 0, false
	}
	i, err := strconv.Atoi(id[1:])
	return i, err == nil
}

// call records a delivery about gauge id under key at now.
func (g *burstGauges) call(id, key string, now int64) {
	i, ok := gaugeIndex(id)
	g.mu.Lock()
	defer g.mu.Unlock()
	if !ok || i < g.lo || i >= g.hi || key == "" {
		g.bad = append(g.bad, fmt.Sprintf("gauge %q key %q", id, key))
		return
	}
	i -= g.lo
	g.keys[key]++
	switch {
	case g.keyOf[i] == "":
		g.keyOf[i] = key
		g.callAt[i] = now
		if g.called == 0 {
			g.first = now
		}
		g.last = now
		g.called++
		if g.called == g.n() {
			close(g.all)
		}
	case g.keyOf[i] != key:
		g.twice++
	}
}

// dups: deliveries of a key beyond its first, plus gauges called under a
// second key.
func (g *burstGauges) dups() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := g.twice
	for _, n := range g.keys {
		d += n - 1
	}
	return d
}

func (g *burstGauges) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.called
}

// wait waits until every gauge was called, the deadline passes or gone is
// closed, and reports whether every gauge was.
func (g *burstGauges) wait(d time.Duration, gone <-chan struct{}) bool {
	select {
	case <-g.all:
		return true
	case <-gone:
		return false
	case <-time.After(d):
		return false
	}
}

// latencies returns publish → first call of every gauge called, sorted.
func (g *burstGauges) latencies() []time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []time.Duration
	for i, at := range g.callAt {
		if p := g.pubAt[i].Load(); at != 0 && p != 0 {
			out = append(out, time.Duration(at-p))
		}
	}
	slices.Sort(out)
	return out
}

// quantile of sorted durations, in milliseconds.
func quantileMs(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return -1
	}
	i := min(int(q*float64(len(sorted))), len(sorted)-1)
	return float64(sorted[i]) / 1e6
}

// span is first → last call.
func (g *burstGauges) span() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return time.Duration(g.last - g.first)
}

// yujingHook is the webhook receiver of yujing's calls: every call (or
// member of a grouped one) counted against its gauge by idempotency key.
type yujingHook struct{ g atomic.Pointer[burstGauges] }

func (h *yujingHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	now := h.g.Load().clock.now()
	g := h.g.Load()
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil || p.CallID != r.Header.Get(webhook.HeaderIdempotency) {
		g.mu.Lock()
		g.bad = append(g.bad, fmt.Sprintf("body %.200s", body))
		g.mu.Unlock()
		return
	}
	if len(p.Group) == 0 {
		g.call(p.Sensor, p.CallID, now)
		return
	}
	for _, m := range p.Group {
		g.call(m.Sensor, m.CallID, now)
	}
}

// burstChild is yujing serve as a child process.
type burstChild struct {
	cmd  *exec.Cmd
	pid  int
	done chan struct{}
	err  error
	logs *syncBuffer
}

func startBurstChild(b *testing.B, configPath string) *burstChild {
	b.Helper()
	logs := &syncBuffer{}
	cmd := exec.Command(os.Args[0], "serve", "-config", configPath, "-log-level", "info")
	cmd.Env = append(os.Environ(), serveChildEnv+"=1")
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	c := &burstChild{cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{}), logs: logs}
	go func() { c.err = cmd.Wait(); close(c.done) }()
	b.Cleanup(func() { c.stop(syscall.SIGKILL) })
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(logs.String(), `msg="yujing ready"`) {
		select {
		case <-c.done:
			b.Fatalf("yujing exited before it was ready: %v\n%s", c.err, logs)
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("yujing not ready after 2 minutes\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

func (c *burstChild) stop(sig syscall.Signal) error {
	_ = c.cmd.Process.Signal(sig)
	select {
	case <-c.done:
	case <-time.After(time.Minute):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	return c.err
}

// profile sends the child sig (burstProfileOnSignal); after SIGUSR2 it
// waits for the profile to be written.
func (c *burstChild) profile(b *testing.B, sig syscall.Signal) {
	b.Helper()
	path := os.Getenv(burstProfileEnv)
	if path == "" {
		return
	}
	_ = os.Remove(path + ".done")
	_ = c.cmd.Process.Signal(sig)
	if sig != syscall.SIGUSR2 {
		return
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(path + ".done"); err == nil {
			b.Logf("yujing's CPU profile: %s", path)
			return
		}
	}
	b.Errorf("no CPU profile in %s after a minute", path)
}

// writeBurstConfig writes yujing's configuration: gauges R00000… spread over
// sites basin-0…, a red threshold at 50 mm, red warnings to the webhook
// (also TestBurstKilledCallsOnce's).
func writeBurstConfig(b testing.TB, dir, broker, hookURL, httpAddr string, gauges, sites int) string {
	b.Helper()
	var s strings.Builder
	fmt.Fprintf(&s, `timezone: Asia/Shanghai
data_dir: %s
http: {listen: %q, `+testTokenYAML+`}
mqtt: {broker: %s, client_id: yujing-burst, clean_session: false}
simulate: {enabled: false}
sites:
`, filepath.Join(dir, "data"), httpAddr, broker)
	for k := range sites {
		fmt.Fprintf(&s, "  - {id: basin-%d, name: 流域%d}\n", k, k)
	}
	fmt.Fprintf(&s, `rules:
  - name: rain-1h
    match: {family: weather}
    above: {red: 50}
people: [{id: duty, name: 值班员, phone: "13800000001"}]
channels:
  - name: hook
    webhook: {url: %q, timeout: 30s}
delivery: {group_wait: 0s}
notify:
  - levels: [red]
    people: [duty]
    channels: [hook]
sensors:
`, hookURL)
	for i := range gauges {
		fmt.Fprintf(&s, "  - {id: %s, site: basin-%d, family: weather, metric: rain_1h, unit: mm}\n", burstGaugeID(i), i%sites)
	}
	path := filepath.Join(dir, "burst.yaml")
	if err := os.WriteFile(path, []byte(s.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// burstPublisher publishes red readings at QoS 1 and checks every publish.
type burstPublisher struct {
	c    mqtt.Client
	toks chan mqtt.Token
	errs chan error
	wg   sync.WaitGroup
}

func newBurstPublisher(b *testing.B, broker string) *burstPublisher {
	b.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).
		SetClientID(fmt.Sprintf("burst-pub-%d", time.Now().UnixNano())).SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("connect publisher: %v", tok.Error())
	}
	b.Cleanup(func() { c.Disconnect(100) })
	return &burstPublisher{c: c}
}

// begin starts a round: at most window publishes outstanding.
func (p *burstPublisher) begin(window int) {
	p.toks = make(chan mqtt.Token, window)
	p.errs = make(chan error, 1)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for tok := range p.toks {
			if !tok.WaitTimeout(time.Minute) || tok.Error() != nil {
				select {
				case p.errs <- fmt.Errorf("publish: %v", tok.Error()):
				default:
				}
			}
		}
	}()
}

func (p *burstPublisher) publish(topic string, payload []byte) {
	p.toks <- p.c.Publish(topic, 1, false, payload)
}

// end waits for every publish of the round to be acknowledged.
func (p *burstPublisher) end(b *testing.B) {
	b.Helper()
	close(p.toks)
	p.wg.Wait()
	select {
	case err := <-p.errs:
		b.Fatal(err)
	default:
	}
}

// burstResult is one system's figures for the burst.
type burstResult struct {
	n        int
	rate     float64 // calls (alerts) delivered per second, first to last
	cpu      time.Duration
	hwm      float64 // bytes
	dups     int
	p50, p99 float64 // ms, publish (post) → call
	load     float64
}

func (r burstResult) cpuPerCall() float64 { return r.cpu.Seconds() * 1e3 / float64(r.n) }

// BenchmarkBurstDispatch: a burst of red warnings through yujing and the
// same burst of alerts through Alertmanager, in one run.
func BenchmarkBurstDispatch(b *testing.B) {
	if testing.Short() || os.Getenv("YUJING_BURST_BENCH") != "1" {
		b.Skip("burst benchmark (minutes): set YUJING_BURST_BENCH=1, or run `make bench`")
	}
	n := burstEnvInt(b, "YUJING_BURST_N", 20_000)
	sites := burstEnvInt(b, "YUJING_BURST_SITES", 4)
	am := amBinary(b)
	for range b.N {
		y := burstYujing(b, n, sites)
		a := burstAlertmanager(b, am, n)
		b.ReportMetric(y.rate, "calls/s")
		b.ReportMetric(float64(y.dups), "dups")
		b.ReportMetric(y.cpuPerCall(), "cpu_ms/call")
		b.ReportMetric(y.hwm/(1<<20), "rss_MB")
		b.ReportMetric(y.p50, "p50_ms")
		b.ReportMetric(y.p99, "p99_ms")
		b.ReportMetric(y.load, "loadavg")
		b.ReportMetric(a.rate, "am_alerts/s")
		b.ReportMetric(float64(a.dups), "am_dups")
		b.ReportMetric(a.cpuPerCall(), "am_cpu_ms/alert")
		b.ReportMetric(a.hwm/(1<<20), "am_rss_MB")
		b.ReportMetric(a.p50, "am_p50_ms")
		b.ReportMetric(a.p99, "am_p99_ms")
		b.ReportMetric(a.load, "am_loadavg")
		b.ReportMetric(y.rate/a.rate, "am_rate_ratio")
		b.ReportMetric(y.cpuPerCall()/a.cpuPerCall(), "cpu_ratio")
		b.ReportMetric(y.hwm/a.hwm, "rss_ratio")
		b.Logf("yujing %d calls: %.0f/s, %.3f ms CPU each, VmHWM %.0f MB, p50 %.0f ms p99 %.0f ms, %d dups (load %.2f); "+
			"Alertmanager %d alerts: %.0f/s, %.3f ms CPU each, VmHWM %.0f MB, p50 %.0f ms p99 %.0f ms, %d dups (load %.2f)",
			y.n, y.rate, y.cpuPerCall(), y.hwm/(1<<20), y.p50, y.p99, y.dups, y.load,
			a.n, a.rate, a.cpuPerCall(), a.hwm/(1<<20), a.p50, a.p99, a.dups, a.load)
	}
}

// burstYujing runs the burst through yujing serve.
func burstYujing(b *testing.B, n, sites int) burstResult {
	b.Helper()
	mq := testenv.Mosquitto(b)
	clock := burstClock{base: time.Now()}
	g := newBurstGauges(clock, 0, n)
	hookH := &yujingHook{}
	hookH.g.Store(g)
	hook := httptest.NewServer(hookH)
	defer hook.Close()
	dir := b.TempDir()
	path := writeBurstConfig(b, dir, mq.URL(), hook.URL+"/calls", freeAddr(b), n, sites)
	child := startBurstChild(b, path)
	pub := newBurstPublisher(b, mq.URL())
	load := loadavg()
	child.profile(b, syscall.SIGUSR1)
	cpu0 := procCPU(child.pid)
	pub.begin(512)
	for i := range n {
		g.pubAt[i].Store(clock.now())
		pub.publish(fmt.Sprintf("yujing/basin-%d/%s", i%sites, burstGaugeID(i)), []byte(`{"value": 80}`))
	}
	pub.end(b)
	if !g.wait(10*time.Minute, child.done) {
		b.Fatalf("%d of %d warnings called (yujing exited: %v)\n%s", g.count(), n, child.err, child.logs)
	}
	cpu := procCPU(child.pid) - cpu0
	child.profile(b, syscall.SIGUSR2)
	hwm, _ := procStatus(b, strconv.Itoa(child.pid))
	// Stopped cleanly, the state holds one red warning per gauge and no call
	// still to send; any call sent twice was sent by now.
	if err := child.stop(syscall.SIGTERM); err != nil {
		b.Errorf("yujing: %v\n%s", err, child.logs)
	}
	burstCheckState(b, filepath.Join(dir, "data", "state.db"), n)
	lat := g.latencies()
	r := burstResult{n: n, rate: float64(n-1) / g.span().Seconds(), cpu: cpu, hwm: hwm, dups: g.dups(),
		p50: quantileMs(lat, 0.5), p99: quantileMs(lat, 0.99), load: load}
	if len(g.bad) > 0 || r.dups > 0 {
		b.Errorf("yujing: %d duplicate deliveries, %d malformed calls (%v)", r.dups, len(g.bad), g.bad)
	}
	return r
}

func burstCheckState(b *testing.B, path string, n int) {
	b.Helper()
	st, err := sqlite.OpenState(b.Context(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	raised, err := st.CountAlerts(b.Context(), store.AlertFilter{})
	if err != nil || raised[yujing.Red] != n || len(raised) != 1 {
		b.Errorf("warnings raised: %v (%v), want %d red — one per gauge", raised, err, n)
	}
	if pending, err := st.PendingCalls(b.Context()); err != nil || len(pending) != 0 {
		b.Errorf("%d calls still pending after a clean stop (%v)", len(pending), err)
	}
}

// amBinary finds Alertmanager (scripts/test-deps.sh with YUJING_BENCH_DEPS=1
// builds v0.35.0 into YUJING_TOOLS).
func amBinary(b *testing.B) string {
	b.Helper()
	if p, err := exec.LookPath("alertmanager"); err == nil {
		return p
	}
	msg := "no alertmanager on PATH: run YUJING_BENCH_DEPS=1 scripts/test-deps.sh (make bench does)"
	if os.Getenv("YUJING_REQUIRE_EXTERNAL") == "1" {
		b.Fatal(msg)
	}
	b.Skip(msg)
	return ""
}

// amHook is the webhook receiver of Alertmanager's notifications: every
// alert counted against its gauge label, the label being the key (an alert
// delivered twice is a duplicate).
type amHook struct{ g *burstGauges }

func (h *amHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	now := h.g.clock.now()
	var p struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		h.g.mu.Lock()
		h.g.bad = append(h.g.bad, fmt.Sprintf("body %.200s", body))
		h.g.mu.Unlock()
		return
	}
	for _, a := range p.Alerts {
		h.g.call(a.Labels["gauge"], a.Labels["gauge"], now)
	}
}

// burstAlertmanager runs the same burst through Alertmanager: n alerts, each
// its own notification to a loopback webhook.
func burstAlertmanager(b *testing.B, bin string, n int) burstResult {
	b.Helper()
	clock := burstClock{base: time.Now()}
	g := newBurstGauges(clock, 0, n)
	hook := httptest.NewServer(&amHook{g: g})
	defer hook.Close()
	dir := b.TempDir()
	conf := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`route:
  receiver: hook
  group_by: ['...']
  group_wait: 0s
  group_interval: 1h
  repeat_interval: 24h
receivers:
  - name: hook
    webhook_configs:
      - url: %q
        send_resolved: false
`, hook.URL+"/am")), 0o600); err != nil {
		b.Fatal(err)
	}
	addr := freeAddr(b)
	logs := &syncBuffer{}
	cmd := exec.Command(bin, "--config.file="+conf, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	api := "http://" + addr
	amWaitReady(b, api, done, logs)
	alerts := make([]map[string]any, n)
	startsAt := time.Now().UTC()
	for i := range n {
		alerts[i] = map[string]any{
			"labels":       map[string]string{"alertname": "rain-1h", "severity": "red", "site": fmt.Sprintf("basin-%d", i%4), "gauge": burstGaugeID(i)},
			"annotations":  map[string]string{"summary": burstGaugeID(i) + " 1 小时雨量 80 mm，超过红色阈值 50 mm"},
			"startsAt":     startsAt.Format(time.RFC3339Nano),
			"endsAt":       startsAt.Add(time.Hour).Format(time.RFC3339Nano),
			"generatorURL": "http://prometheus.local/graph?g0.expr=rain_1h%3E50",
		}
	}
	client := &http.Client{Timeout: time.Minute}
	load := loadavg()
	cpu0 := procCPU(cmd.Process.Pid)
	// Prometheus 2.x's notifier posts at most 64 alerts a request, one
	// request after another to each Alertmanager.
	const batch = 64
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		body, _ := json.Marshal(alerts[lo:hi])
		now := clock.now()
		for i := lo; i < hi; i++ {
			g.pubAt[i].Store(now)
		}
		resp, err := client.Post(api+"/api/v2/alerts", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatalf("post alerts: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("post alerts: %s\n%s", resp.Status, logs)
		}
	}
	if !g.wait(10*time.Minute, done) {
		b.Fatalf("Alertmanager delivered %d of %d alerts\n%s", g.count(), n, logs)
	}
	cpu := procCPU(cmd.Process.Pid) - cpu0
	hwm, _ := procStatus(b, strconv.Itoa(cmd.Process.Pid))
	lat := g.latencies()
	r := burstResult{n: n, rate: float64(n-1) / g.span().Seconds(), cpu: cpu, hwm: hwm, dups: g.dups(),
		p50: quantileMs(lat, 0.5), p99: quantileMs(lat, 0.99), load: load}
	if len(g.bad) > 0 {
		b.Errorf("Alertmanager: %d malformed notifications (%v)", len(g.bad), g.bad)
	}
	return r
}

func amWaitReady(b *testing.B, api string, done <-chan struct{}, logs fmt.Stringer) {
	b.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(api + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-done:
			b.Fatalf("alertmanager exited\n%s", logs)
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("alertmanager not ready after a minute\n%s", logs)
		}
	}
}

// latencyRound is one rate's figures.
type latencyRound struct {
	rate, n            int
	p50, p99           float64 // ms, publish → first call
	bareP50, bareP99   float64 // ms, publish → bare subscriber
	achieved, bareRate float64 // per second, first publish → last call (receipt)
	cpu                time.Duration
	idle               time.Duration // yujing's CPU time per second during the bare round (no readings for it)
	load               float64
}

// BenchmarkCallLatency: publish → first call at fixed rates next to a bare
// paho subscriber at the same rate on the same broker.
func BenchmarkCallLatency(b *testing.B) {
	if testing.Short() || os.Getenv("YUJING_BURST_BENCH") != "1" {
		b.Skip("latency benchmark (minutes): set YUJING_BURST_BENCH=1, or run `make bench`")
	}
	secs := burstEnvInt(b, "YUJING_LATENCY_SECONDS", 4)
	for _, rate := range []int{20, 200, 1000, 5000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			for range b.N {
				r := latencyRun(b, rate, max(rate*secs, 200))
				b.ReportMetric(r.p50, "p50_ms")
				b.ReportMetric(r.p99, "p99_ms")
				b.ReportMetric(r.bareP50, "bare_p50_ms")
				b.ReportMetric(r.bareP99, "bare_p99_ms")
				b.ReportMetric(r.p99-r.bareP99, "p99_over_bare_ms")
				b.ReportMetric(r.achieved, "calls/s")
				b.ReportMetric(r.bareRate, "bare_msgs/s")
				sat := 0.0
				if r.achieved < 0.9*float64(rate) {
					sat = 1
				}
				b.ReportMetric(sat, "saturated")
				b.ReportMetric(r.cpu.Seconds()*1e3/float64(r.n), "cpu_ms/call")
				b.ReportMetric(r.idle.Seconds()*1e3, "idle_cpu_ms/s")
				b.ReportMetric(r.load, "loadavg")
			}
		})
	}
}

// latencyRun is one rate's round on a broker and a yujing of its own, with n
// gauges.
func latencyRun(b *testing.B, rate, n int) latencyRound {
	b.Helper()
	mq := testenv.Mosquitto(b)
	clock := burstClock{base: time.Now()}
	hookH := &yujingHook{}
	hookH.g.Store(newBurstGauges(clock, 0, 0))
	hook := httptest.NewServer(hookH)
	defer hook.Close()
	const sites = 4
	path := writeBurstConfig(b, b.TempDir(), mq.URL(), hook.URL+"/calls", freeAddr(b), n, sites)
	child := startBurstChild(b, path)
	defer child.stop(syscall.SIGTERM)
	pub := newBurstPublisher(b, mq.URL())
	return latencyAt(b, clock, mq.URL(), pub, hookH, child, rate, 0, n, sites)
}

// latencyAt runs one rate: the bare subscriber's round, then yujing's on
// gauges [lo, lo+n).
func latencyAt(b *testing.B, clock burstClock, broker string, pub *burstPublisher, hook *yujingHook,
	child *burstChild, rate, lo, n, sites int) latencyRound {
	b.Helper()
	r := latencyRound{rate: rate, n: n, load: loadavg()}
	bare := newBurstGauges(clock, 0, n)
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).
		SetClientID(fmt.Sprintf("latency-bare-%d", rate)).SetCleanSession(true).SetOrderMatters(false))
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("connect bare subscriber: %v", tok.Error())
	}
	topic := fmt.Sprintf("bench/lat%d/", rate)
	handler := func(_ mqtt.Client, m mqtt.Message) {
		id := strings.TrimPrefix(m.Topic(), topic)
		bare.call(id, id, clock.now())
	}
	if tok := sub.Subscribe(topic+"#", 1, handler); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("subscribe: %v", tok.Error())
	}
	idle0, t0 := procCPU(child.pid), time.Now()
	first := latencyPublish(b, clock, pub, bare, rate, n, func(i int) string { return topic + burstGaugeID(i) })
	if !bare.wait(5*time.Minute, nil) {
		b.Fatalf("bare subscriber received %d of %d", bare.count(), n)
	}
	r.idle = time.Duration(float64(procCPU(child.pid)-idle0) / time.Since(t0).Seconds())
	sub.Disconnect(100)
	lat := bare.latencies()
	r.bareP50, r.bareP99 = quantileMs(lat, 0.5), quantileMs(lat, 0.99)
	r.bareRate = float64(n) / time.Duration(bare.last-first).Seconds()

	g := newBurstGauges(clock, lo, lo+n)
	hook.g.Store(g)
	cpu0 := procCPU(child.pid)
	pubs := &burstGauges{pubAt: g.pubAt} // publish times by index from lo
	first = latencyPublish(b, clock, pub, pubs, rate, n, func(i int) string {
		return fmt.Sprintf("yujing/basin-%d/%s", (lo+i)%sites, burstGaugeID(lo+i))
	})
	if !g.wait(10*time.Minute, child.done) {
		b.Fatalf("%d of %d warnings called at %d/s (yujing exited: %v)\n%s", g.count(), n, rate, child.err, child.logs)
	}
	r.cpu = procCPU(child.pid) - cpu0
	if d := g.dups(); d > 0 || len(g.bad) > 0 {
		b.Errorf("at %d/s: %d duplicate calls, %d malformed (%v)", rate, d, len(g.bad), g.bad)
	}
	lat = g.latencies()
	r.p50, r.p99 = quantileMs(lat, 0.5), quantileMs(lat, 0.99)
	r.achieved = float64(n) / time.Duration(g.last-first).Seconds()
	b.Logf("%d/s, %d warnings: publish→call p50 %.1f ms p99 %.1f ms (bare %.1f / %.1f ms), calls %.0f/s, bare %.0f/s, %.3f ms CPU per call (idle: %.1f ms/s), load %.2f",
		rate, n, r.p50, r.p99, r.bareP50, r.bareP99, r.achieved, r.bareRate, r.cpu.Seconds()*1e3/float64(n), r.idle.Seconds()*1e3, r.load)
	return r
}

// latencyPublish publishes n red readings at rate per second (message i due
// at i/rate after the first), noting each publish time in g.pubAt[i], and
// returns when the first went out.
func latencyPublish(b *testing.B, clock burstClock, pub *burstPublisher, g *burstGauges, rate, n int, topic func(int) string) int64 {
	b.Helper()
	pub.begin(1024)
	t0 := time.Now()
	first := clock.now()
	for i := range n {
		if d := time.Until(t0.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
			time.Sleep(d)
		}
		g.pubAt[i].Store(clock.now())
		pub.publish(topic(i), []byte(`{"value": 80}`))
	}
	pub.end(b)
	return first
}
