package main

// Sensor scale benchmark (issue 19): what a province's sensors cost in
// memory and start time. It takes minutes and gigabytes at a million
// sensors, so it runs only when asked, never in `make test`:
//
//	YUJING_SCALE=1 go test -run '^$' -bench SensorScale -benchtime 1x -timeout 60m ./cmd/yujing/
//
// (`make bench` does this). YUJING_SCALE_SENSORS lists the sizes (default
// 100000,1000000), YUJING_SCALE_MODES the ways of running (default
// inproc,process), YUJING_SCALE_PROFILES a directory to keep the heap
// profiles in.
//
// Each size runs for both ways sensors come: from the configuration file
// (source=config: a generated YAML) and registered through the API or a
// sheet (source=import: ingest.Catalog.Import into a real SQLite state
// database beforehand, a configuration with the sites only). Every run
// feeds one reading to each sensor over MQTT (the embedded broker, QoS 1)
// and waits until all are stored: then every sensor has reported.
//
//   - inproc runs serve in this process, as `yujing serve` does: config
//     parse and check, the registry, Catalog.Load, the rule engine, the
//     subscriber, HTTP; then one page of GET /api/v1/sensors. heap-B/sensor
//     is runtime.MemStats.HeapAlloc after two collections, less the same
//     figure before the configuration was read, over the sensors, with the
//     same figures of a 1 000-sensor run subtracted first (the baseline of
//     the same run: what does not grow with the sensors); start-s from
//     reading the configuration to ready, start-cpu-s the process's CPU
//     time meanwhile. The heap profile
//     (inuse_space) says where the bytes are: its top lines are logged.
//   - process runs `yujing serve -config big.yaml` as a child process (this
//     test binary re-executed as yujing, as the no-loss tests do) with
//     GODEBUG=gctrace=1: start-s from exec to its log's "yujing ready" (and
//     start-cpu-s, the CPU time it took: what other work on a shared
//     machine does not inflate), the live
//     heap of the first collection after every reading was stored (the
//     runtime forces one within two minutes) as live-B/sensor (again less a
//     1 000-sensor child's), peak RSS (VmHWM) and the /metrics heap figures
//     at that point.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"yujing"
	"yujing/config"
	"yujing/ingest"
	"yujing/ingest/decode/all"
	"yujing/store/sqlite"
)

// scaleBaseline is the size of the run whose figures are subtracted.
const scaleBaseline = 1000

// scaleSensorsPerSite is how many sensors each generated site has.
const scaleSensorsPerSite = 100

var scaleFamilies = []struct {
	family       yujing.Family
	metric, unit string
	name         string
}{
	{yujing.FamilyGas, "lel", "%LEL", "可燃气体探测器"},
	{yujing.FamilyFlood, "level", "m", "易涝点水位计"},
	{yujing.FamilyWeather, "rain", "mm", "雨量计"},
}

var scaleIndustries = []string{"危险化学品", "冶金", "粉尘涉爆", "燃气", "防汛"}

func scaleSites(n int) []yujing.Site {
	out := make([]yujing.Site, (n+scaleSensorsPerSite-1)/scaleSensorsPerSite)
	for j := range out {
		out[j] = yujing.Site{ID: fmt.Sprintf("S%05d", j), Name: fmt.Sprintf("企业%d", j),
			Region: fmt.Sprintf("3205%02d", j%100), Industry: scaleIndustries[j%len(scaleIndustries)]}
	}
	return out
}

// scaleSensor is the i-th generated sensor: a gas detector, a
// waterlogging gauge or a rain gauge, named as sites name them (the same
// names recur at every site).
func scaleSensor(i int) yujing.Sensor {
	f := scaleFamilies[i%len(scaleFamilies)]
	return yujing.Sensor{ID: fmt.Sprintf("G%07d", i), Name: fmt.Sprintf("%s%d号", f.name, i%scaleSensorsPerSite+1),
		Site: fmt.Sprintf("S%05d", i/scaleSensorsPerSite), Family: f.family, Metric: f.metric, Unit: f.unit}
}

// writeScaleConfig writes a configuration with n sensors' sites, and the
// sensors themselves when withSensors.
func writeScaleConfig(b *testing.B, path, dataDir, httpListen, mqttListen string, n int, withSensors bool) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(w, `data_dir: %s
http: {listen: %q, metrics_public: true, %s}
mqtt: {embedded: {listen: %q}}
rules:
  - {name: gas, match: {family: gas}, above: {yellow: 25, red: 50}}
  - {name: waterlogging, match: {family: flood}, above: {blue: 0.15, red: 0.5}}
  - {name: rain, match: {family: weather}, above: {blue: 50, red: 100}}
people: [{id: p, name: P}]
channels: [{name: log, log: {}}]
notify: [{people: [p], channels: [log]}]
sites:
`, dataDir, httpListen, testTokenYAML, mqttListen)
	for _, s := range scaleSites(n) {
		fmt.Fprintf(w, "  - {id: %s, name: %s, region: %q, industry: %s}\n", s.ID, s.Name, s.Region, s.Industry)
	}
	if withSensors {
		w.WriteString("sensors:\n")
		for i := range n {
			s := scaleSensor(i)
			fmt.Fprintf(w, "  - {id: %s, name: %s, site: %s, family: %s, metric: %s, unit: %q}\n", s.ID, s.Name, s.Site, s.Family, s.Metric, s.Unit)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// importScaleSensors registers n sensors as the API and a sheet import do:
// ingest.Catalog.Import into the state database in dataDir, one batch.
func importScaleSensors(b *testing.B, dataDir string, n int) time.Duration {
	b.Helper()
	ctx := context.Background()
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		b.Fatal(err)
	}
	st, err := sqlite.OpenState(ctx, filepath.Join(dataDir, "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	sites := scaleSites(n)
	reg, err := ingest.NewRegistry(sites, nil)
	if err != nil {
		b.Fatal(err)
	}
	decoders, err := all.Registry()
	if err != nil {
		b.Fatal(err)
	}
	cat := ingest.NewCatalog(reg, st, sites, nil, nil, decoders.Names(), yujing.BuiltinFamilies())
	if err := cat.Load(ctx); err != nil {
		b.Fatal(err)
	}
	batch := make([]yujing.Sensor, n)
	for i := range batch {
		batch[i] = scaleSensor(i)
	}
	t0 := time.Now()
	if err := cat.Import(ctx, batch, false); err != nil {
		b.Fatal(err)
	}
	return time.Since(t0)
}

// publishScaleReadings sends one reading to each of n sensors, QoS 1,
// keeping at most scaleAhead readings published and not yet stored: with
// thousands ahead, the embedded broker (mochi 2.7.9) held back some 150
// of 20 000 messages from yujing's subscriber (not counted as dropped),
// letting them through one at a time with later packets of the
// subscriber — its send quota of 1 024 unacknowledged messages, we think.
func publishScaleReadings(b *testing.B, broker, httpAddr string, n int, exited <-chan struct{}) {
	b.Helper()
	const scaleAhead = 768
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + broker).
		SetClientID(fmt.Sprintf("scale-pub-%d", time.Now().UnixNano())))
	if tok := c.Connect(); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		b.Fatalf("connect publisher to %s: %v", broker, tok.Error())
	}
	defer c.Disconnect(100)
	toks := make([]mqtt.Token, 0, 256)
	flush := func() {
		for _, t := range toks {
			if !t.WaitTimeout(time.Minute) || t.Error() != nil {
				b.Fatalf("publish: %v", t.Error())
			}
		}
		toks = toks[:0]
	}
	for i := range n {
		s := scaleSensor(i)
		toks = append(toks, c.Publish(yujing.DefaultTopic(s.Site, s.ID), 1, false, `{"value": 0.01}`))
		if len(toks) == cap(toks) {
			flush()
			if i+1 >= scaleAhead {
				waitStored(b, httpAddr, i+1-scaleAhead, exited)
			}
		}
	}
	flush()
}

// waitStored waits until httpAddr's /metrics counts n readings stored.
func waitStored(b *testing.B, httpAddr string, n int, exited <-chan struct{}) {
	b.Helper()
	deadline := time.Now().Add(30 * time.Minute)
	for {
		if e2eMetric(b, httpAddr, `yujing_ingest_readings_total{stage="stored"}`) >= float64(n) {
			return
		}
		select {
		case <-exited:
			b.Fatal("yujing exited while readings were being stored")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Fatalf("not all %d readings stored after 30 minutes", n)
		}
	}
}

func scaleSizes(b *testing.B) []int {
	v := os.Getenv("YUJING_SCALE_SENSORS")
	if v == "" {
		return []int{100_000, 1_000_000}
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= scaleBaseline {
			b.Fatalf("YUJING_SCALE_SENSORS: %q is not a number above %d", f, scaleBaseline)
		}
		out = append(out, n)
	}
	return out
}

func BenchmarkSensorScale(b *testing.B) {
	if testing.Short() || os.Getenv("YUJING_SCALE") != "1" {
		b.Skip("sensor scale benchmark (minutes, gigabytes): set YUJING_SCALE=1, or run `make bench`")
	}
	modes := strings.Split(os.Getenv("YUJING_SCALE_MODES"), ",")
	if modes[0] == "" {
		modes = []string{"inproc", "process"}
	}
	for _, source := range []string{"config", "import"} {
		for _, mode := range modes {
			var base *scaleResult
			for _, n := range scaleSizes(b) {
				b.Run(fmt.Sprintf("source=%s/sensors=%d/%s", source, n, mode), func(b *testing.B) {
					if base == nil {
						r := runScale(b, mode, source, scaleBaseline)
						base = &r
					}
					r := runScale(b, mode, source, n)
					r.report(b, *base)
				})
			}
		}
	}
}

type scaleResult struct {
	n         int
	imported  time.Duration // Catalog.Import of the sensors (source=import)
	parse     time.Duration // config.Load (inproc)
	start     time.Duration // config read to ready (inproc), exec to "yujing ready" logged (process)
	startCPU  time.Duration // CPU time (user+system) spent meanwhile: start without the machine's other load
	feed      time.Duration // one reading to each, until all stored
	heap      float64       // bytes: inproc HeapAlloc delta after GC; process live heap after GC
	heapAlloc float64       // process: go_memstats_heap_alloc_bytes when all were stored
	hwm, rss  float64       // bytes: peak and current resident set (process: the child's)
	profile   string        // inproc: the heap profile's top lines
}

func (r scaleResult) report(b *testing.B, base scaleResult) {
	perSensor := (r.heap - base.heap) / float64(r.n-base.n)
	b.ReportMetric(perSensor, "heap-B/sensor")
	b.ReportMetric(r.heap/float64(r.n), "heap-raw-B/sensor")
	b.ReportMetric(r.start.Seconds(), "start-s")
	b.ReportMetric(r.startCPU.Seconds(), "start-cpu-s")
	b.ReportMetric(r.feed.Seconds(), "feed-s")
	b.ReportMetric(r.hwm/1e6, "peakRSS-MB")
	b.ReportMetric(r.rss/1e6, "RSS-MB")
	if r.parse > 0 {
		b.ReportMetric(r.parse.Seconds(), "parse-s")
	}
	if r.imported > 0 {
		b.ReportMetric(r.imported.Seconds(), "import-s")
	}
	if r.heapAlloc > 0 {
		b.ReportMetric(r.heapAlloc/1e6, "heapalloc-MB")
	}
	b.Logf("%d sensors: heap %.0f MB (%d-sensor baseline %.1f MB) → %.0f B/sensor; start %.1f s, %.1f s of CPU (config parse %.1f s); one reading each in %.1f s; peak RSS %.0f MB, RSS %.0f MB",
		r.n, r.heap/1e6, base.n, base.heap/1e6, perSensor, r.start.Seconds(), r.startCPU.Seconds(), r.parse.Seconds(), r.feed.Seconds(), r.hwm/1e6, r.rss/1e6)
	if r.profile != "" {
		// Not b.Log: the benchmark's log keeps only its first lines.
		fmt.Printf("%s: heap profile (inuse_space), top:\n%s\n", b.Name(), r.profile)
	}
}

func runScale(b *testing.B, mode, source string, n int) scaleResult {
	dir := b.TempDir()
	dataDir := filepath.Join(dir, "data")
	var r scaleResult
	r.n = n
	if source == "import" {
		r.imported = importScaleSensors(b, dataDir, n)
	}
	switch mode {
	case "inproc":
		scaleInproc(b, &r, dir, dataDir, source)
	case "process":
		scaleProcess(b, &r, dir, dataDir, source)
	default:
		b.Fatalf("YUJING_SCALE_MODES: unknown mode %q (inproc, process)", mode)
	}
	return r
}

func heapAlloc() float64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc)
}

// procStatus reads VmHWM and VmRSS, in bytes, from /proc/<pid>/status.
func procStatus(b *testing.B, pid string) (hwm, rss float64) {
	b.Helper()
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmHWM:":
			hwm = v * 1024
		case "VmRSS:":
			rss = v * 1024
		}
	}
	return hwm, rss
}

func scaleInproc(b *testing.B, r *scaleResult, dir, dataDir, source string) {
	path := filepath.Join(dir, "big.yaml")
	writeScaleConfig(b, path, dataDir, "127.0.0.1:0", "127.0.0.1:0", r.n, source == "config")
	before := heapAlloc()
	t0, cpu0 := time.Now(), e2eSelfCPU()
	cfg, err := loadConfig(path)
	if err != nil {
		b.Fatal(err)
	}
	r.parse = time.Since(t0)
	cfg.Simulate = false
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	type addrs struct{ http, mqtt string }
	ready := make(chan addrs, 1)
	exited := make(chan struct{})
	var serveErr error
	// Handed over so that only serve holds the configuration: what it
	// keeps of it counts, what it lets go does not.
	handover := make(chan *config.Config, 1)
	handover <- cfg
	cfg = nil
	go func() {
		defer close(exited)
		serveErr = serve(ctx, <-handover, serveOptions{Logger: log, ShutdownTimeout: 30 * time.Second,
			Ready: func(h, m string) { ready <- addrs{h, m} }})
	}()
	var a addrs
	select {
	case a = <-ready:
	case <-exited:
		b.Fatalf("serve: %v\n%s", serveErr, logs.String())
	}
	r.start, r.startCPU = time.Since(t0), e2eSelfCPU()-cpu0
	defer func() {
		cancel()
		<-exited
		if serveErr != nil {
			b.Errorf("serve: %v", serveErr)
		}
	}()
	t1 := time.Now()
	publishScaleReadings(b, a.mqtt, a.http, r.n, exited)
	waitStored(b, a.http, r.n, exited)
	r.feed = time.Since(t1)
	// The console's first look at the sensors.
	resp, err := authed.Get("http://" + a.http + "/api/v1/sensors?limit=50")
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET /api/v1/sensors: %s", resp.Status)
	}
	r.heap = heapAlloc() - before
	r.hwm, r.rss = procStatus(b, "self")
	if r.n > scaleBaseline {
		r.profile = heapProfileTop(b, source, r.n)
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		b.Errorf("serve logged errors:\n%s", logs.String())
	}
}

// heapProfileTop writes the heap profile and returns the top of
// `go tool pprof -top` on it.
func heapProfileTop(b *testing.B, source string, n int) string {
	dir := os.Getenv("YUJING_SCALE_PROFILES")
	if dir == "" {
		dir = b.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("heap-%s-%d.pprof", source, n))
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "tool", "pprof", "-top", "-nodecount=25",
		"-sample_index=inuse_space", os.Args[0], path).CombinedOutput()
	if err != nil {
		b.Logf("go tool pprof: %v\n%s", err, out)
		return ""
	}
	return fmt.Sprintf("(%s)\n%s", path, out)
}

// procCPU is the user+system CPU time of process pid (/proc/<pid>/stat,
// in clock ticks of 1/100 s).
func procCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	_, rest, _ := strings.Cut(string(raw), ") ") // after the command name, which may hold spaces
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100
}

// freeAddr returns a loopback address nothing listens on just now.
func freeAddr(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// gcTraceLine is one line of GODEBUG=gctrace=1: "gc 12 @3.456s ...
// 100->120->80 MB, ..." (heap at start, at end, live).
var gcTraceLine = regexp.MustCompile(`^gc \d+ @[0-9.]+s .* \d+->\d+->(\d+) MB`)

// gcWatch collects the live heaps gctrace reports on the child's stderr,
// and closes ready when the child logs that it is (HTTP answers before the
// subscriber has subscribed: readings published before then are lost).
type gcWatch struct {
	mu    sync.Mutex
	live  []float64 // MB of 2^20 bytes
	tail  bytes.Buffer
	ready chan struct{}
	once  sync.Once
}

func (g *gcWatch) run(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		g.mu.Lock()
		if m := gcTraceLine.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseFloat(m[1], 64)
			g.live = append(g.live, v)
		} else {
			if strings.Contains(line, `msg="yujing ready"`) {
				g.once.Do(func() { close(g.ready) })
			}
			g.tail.WriteString(line + "\n")
			if g.tail.Len() > 64<<10 {
				rest := g.tail.Bytes()[g.tail.Len()-32<<10:]
				g.tail = *bytes.NewBuffer(append([]byte(nil), rest...))
			}
		}
		g.mu.Unlock()
	}
}

func (g *gcWatch) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.live)
}

func (g *gcWatch) String() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tail.String()
}

func scaleProcess(b *testing.B, r *scaleResult, dir, dataDir, source string) {
	httpAddr, mqttAddr := freeAddr(b), freeAddr(b)
	path := filepath.Join(dir, "big.yaml")
	writeScaleConfig(b, path, dataDir, httpAddr, mqttAddr, r.n, source == "config")
	cmd := exec.Command(os.Args[0], "serve", "-config", path, "-log-level", "info")
	cmd.Env = append(os.Environ(), serveChildEnv+"=1", "GODEBUG=gctrace=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	gc := &gcWatch{ready: make(chan struct{})}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go gc.run(stderr)
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	select {
	case <-gc.ready:
	case <-exited:
		b.Fatalf("yujing exited before it was ready:\n%s", gc)
	case <-time.After(20 * time.Minute):
		b.Fatalf("yujing not ready after 20 minutes:\n%s", gc)
	}
	r.start, r.startCPU = time.Since(t0), procCPU(cmd.Process.Pid)
	t1 := time.Now()
	publishScaleReadings(b, mqttAddr, httpAddr, r.n, exited)
	waitStored(b, httpAddr, r.n, exited)
	r.feed = time.Since(t1)
	resp, err := http.Get("http://" + httpAddr + "/api/v1/sensors?limit=50")
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	r.heapAlloc = e2eMetric(b, httpAddr, "go_memstats_heap_alloc_bytes")
	// The live heap of the next collection, which the runtime forces
	// within two minutes of the last.
	seen := gc.count()
	for gc.count() == seen {
		select {
		case <-exited:
			b.Fatalf("yujing exited:\n%s", gc)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Since(t1) > 40*time.Minute {
			b.Fatal("no collection within 40 minutes")
		}
	}
	gc.mu.Lock()
	r.heap = gc.live[len(gc.live)-1] * (1 << 20)
	gc.mu.Unlock()
	r.hwm, r.rss = procStatus(b, strconv.Itoa(cmd.Process.Pid))
}
