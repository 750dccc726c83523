package main

// No reading lost (issue 3): QoS 1 readings published through a real
// mosquitto end up in a real InfluxDB 1.8.10 exactly once each, with
// InfluxDB stopped for 30 s in the middle of the run, and with yujing
// SIGKILLed and restarted in the middle of the run.
//
// Reading seq of a run belongs to sensor N-<seq%50> and round seq/50: its
// value is seq and its timestamp base + round milliseconds, so every
// (series, timestamp) is distinct and a stored point names the reading it
// came from.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"yujing/internal/testenv"
)

const (
	nolossSensors    = 50
	nolossPublishers = 5 // paho clients, each publishing for 10 sensors
	nolossWindow     = 500
	nolossSite       = "noloss"
)

func nolossSensor(s int) string { return fmt.Sprintf("N-%02d", s) }

// nolossConfig writes a configuration for the 50 sensors and returns its
// path.
func nolossConfig(t *testing.T, broker, clientID, influxURL, bucket, httpListen string) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, `data_dir: %s
http: {listen: %q, `+testTokenYAML+`}
mqtt:
  broker: %s
  client_id: %s
  clean_session: false
influx:
  url: %s
  bucket: %s
sites:
  - {id: %s, name: 不丢数测试}
sensors:
`, filepath.Join(dir, "data"), httpListen, broker, clientID, influxURL, bucket, nolossSite)
	for s := range nolossSensors {
		fmt.Fprintf(&b, "  - {id: %s, site: %s, family: gas, metric: lel, unit: \"%%LEL\"}\n", nolossSensor(s), nolossSite)
	}
	path := filepath.Join(dir, "noloss.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// nolossPublisher publishes rounds of one reading per sensor with QoS 1
// from several paho clients at once, at most rate rounds a second (0: as
// fast as PUBACKs come), until stop.
type nolossPublisher struct {
	t    *testing.T
	base time.Time
	done chan struct{}

	mu      sync.Mutex
	limit   int         // rounds to publish
	reached int         // rounds begun by some client
	began   []time.Time // when the first client began each round
}

func startNolossPublisher(t *testing.T, broker string, base time.Time, rounds, rate int) *nolossPublisher {
	t.Helper()
	p := &nolossPublisher{t: t, base: base, limit: rounds, done: make(chan struct{})}
	clients := make([]mqtt.Client, nolossPublishers)
	for i := range clients {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).
			SetClientID(fmt.Sprintf("noloss-pub-%d-%d", time.Now().UnixNano(), i)).SetCleanSession(true))
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("connect publisher: %v", tok.Error())
		}
		clients[i] = c
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			defer c.Disconnect(250)
			var pending []mqtt.Token
			flush := func() bool {
				for _, tok := range pending {
					if !tok.WaitTimeout(60*time.Second) || tok.Error() != nil {
						t.Errorf("publisher %d: no PUBACK: %v", i, tok.Error())
						return false
					}
				}
				pending = pending[:0]
				return true
			}
			for round := 0; ; round++ {
				p.mu.Lock()
				if round >= p.limit {
					p.mu.Unlock()
					break
				}
				if round == p.reached { // the first client to begin it
					p.reached++
					p.began = append(p.began, time.Now())
				}
				p.mu.Unlock()
				if rate > 0 {
					if d := time.Until(start.Add(time.Duration(round) * time.Second / time.Duration(rate))); d > 0 {
						time.Sleep(d) // pacing the publishers at the rate the test sets
					}
				}
				ts := base.Add(time.Duration(round) * time.Millisecond).UnixMilli()
				for s := i; s < nolossSensors; s += nolossPublishers {
					seq := round*nolossSensors + s
					payload := fmt.Sprintf(`{"value": %d, "ts": %d}`, seq, ts)
					pending = append(pending, c.Publish("yujing/"+nolossSite+"/"+nolossSensor(s), 1, false, payload))
				}
				if len(pending) >= nolossWindow && !flush() {
					return
				}
			}
			flush()
		})
	}
	go func() { wg.Wait(); close(p.done) }()
	// A test that ends early (a failure) stops its publishers first: they
	// report through t, which must not outlive the test.
	t.Cleanup(func() {
		p.mu.Lock()
		p.limit = min(p.limit, p.reached)
		p.mu.Unlock()
		<-p.done
	})
	return p
}

// stop ends publishing after the rounds some client has begun and waits
// for every PUBACK; it returns the number of readings published.
func (p *nolossPublisher) stop() int {
	p.mu.Lock()
	p.limit = min(p.limit, p.reached)
	p.mu.Unlock()
	return p.wait()
}

// wait waits until every round is published and acknowledged by the
// broker and returns the number of readings.
func (p *nolossPublisher) wait() int {
	select {
	case <-p.done:
	case <-time.After(5 * time.Minute):
		p.t.Fatal("publishers did not finish within 5 minutes")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.limit * nolossSensors
}

// nolossStore reads the test's points back from InfluxDB with Flux.
type nolossStore struct {
	client influxdb2.Client
	bucket string
	base   time.Time // the first round's timestamp
	from   time.Time
}

func newNolossStore(t *testing.T, db *testenv.Influx, base time.Time) *nolossStore {
	c := influxdb2.NewClientWithOptions(db.URL, "", influxdb2.DefaultOptions().SetHTTPRequestTimeout(120))
	t.Cleanup(c.Close)
	return &nolossStore{client: c, bucket: db.Bucket(), base: base, from: base.Add(-time.Minute)}
}

func (s *nolossStore) flux(tail string) string {
	return fmt.Sprintf(`from(bucket: %q)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => r._measurement == "gas" and r._field == "lel" and r.site == %q)
  %s`, s.bucket, s.from.UTC().Format(time.RFC3339Nano), time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano), nolossSite, tail)
}

// count returns the number of points, counted by InfluxDB.
func (s *nolossStore) count(ctx context.Context) (int, error) {
	res, err := s.client.QueryAPI("").Query(ctx, s.flux(`|> group() |> count()`))
	if err != nil {
		return 0, err
	}
	defer res.Close()
	n := 0
	for res.Next() {
		v, ok := res.Record().Value().(int64)
		if !ok {
			return 0, fmt.Errorf("count() returned %T", res.Record().Value())
		}
		n += int(v)
	}
	return n, res.Err()
}

// waitCount waits until InfluxDB holds at least n points and returns how
// many it holds.
func (s *nolossStore) waitCount(t *testing.T, n int, timeout time.Duration, what string) int {
	t.Helper()
	got, ok, trend := s.waitFor(t, n, timeout)
	if !ok {
		t.Fatalf("%s: InfluxDB holds %d points after %v, want %d (%s)", what, got, timeout, n, trend)
	}
	return got
}

// waitAll waits until InfluxDB holds readings 0 … n-1 of pub, and says
// which are missing if it does not within timeout: their rounds, when
// they were published, and what yujing did with them (from side).
func (s *nolossStore) waitAll(t *testing.T, n int, timeout time.Duration, pub *nolossPublisher, side *nolossYujing) {
	t.Helper()
	got, ok, trend := s.waitFor(t, n, timeout)
	if ok {
		return
	}
	held, wrong, err := s.contents(t.Context(), n)
	if err != nil {
		t.Fatalf("InfluxDB holds %d of %d readings after %v (%s); reading them back: %v", got, n, timeout, trend, err)
	}
	var missing []int
	for seq, h := range held {
		if !h {
			missing = append(missing, seq)
		}
	}
	t.Fatalf("InfluxDB holds %d of %d readings after %v (%s).\n%s%s%s", got, n, timeout, trend,
		pub.describe(missing), strings.Join(wrong, "\n"), side.about(missing))
}

// waitFor polls the count until it reaches n or timeout passes; trend
// says how the count moved meanwhile (still growing, or stuck since when).
func (s *nolossStore) waitFor(t *testing.T, n int, timeout time.Duration) (got int, ok bool, trend string) {
	t.Helper()
	began := time.Now()
	deadline := began.Add(timeout)
	var err error
	last, changed := -1, began
	for {
		got, err = s.count(t.Context())
		if err == nil && got >= n {
			return got, true, ""
		}
		if err == nil && got != last {
			last, changed = got, time.Now()
		}
		if time.Now().After(deadline) {
			return got, false, fmt.Sprintf("the count last changed %v after the wait began, to %d; last error %v",
				changed.Sub(began).Round(time.Millisecond), last, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// verify fails t unless InfluxDB holds exactly readings 0 … n-1, each
// once, with the sensor and timestamp they were published with.
func (s *nolossStore) verify(t *testing.T, n int, pub *nolossPublisher) {
	t.Helper()
	if got, err := s.count(t.Context()); err != nil || got != n {
		t.Fatalf("count() = %d (%v), want %d", got, err, n)
	}
	held, wrong, err := s.contents(t.Context(), n)
	if err != nil {
		t.Fatal(err)
	}
	if len(wrong) > 0 {
		t.Fatalf("InfluxDB holds what was not published so:\n%s", strings.Join(wrong, "\n"))
	}
	var missing []int
	for seq, h := range held {
		if !h {
			missing = append(missing, seq)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("InfluxDB holds %d points, but not all readings:\n%s", n, pub.describe(missing))
	}
}

// contents reads the run's points back: which of readings 0 … n-1
// InfluxDB holds, and (at most 20 lines of) what it holds that was not
// published: points that are no reading below n, readings stored twice,
// or under another sensor or time.
func (s *nolossStore) contents(ctx context.Context, n int) (held []bool, wrong []string, err error) {
	res, err := s.client.QueryAPI("").Query(ctx, s.flux(`|> keep(columns: ["_time", "_value", "sensor"])`))
	if err != nil {
		return nil, nil, err
	}
	defer res.Close()
	held = make([]bool, n)
	bad := func(format string, args ...any) {
		if len(wrong) < 20 {
			wrong = append(wrong, fmt.Sprintf(format, args...))
		}
	}
	for res.Next() {
		rec := res.Record()
		v, ok := rec.Value().(float64)
		seq := int(v)
		if !ok || float64(seq) != v || seq < 0 || seq >= n {
			bad("point %v at %v: not a sequence number below %d", rec.Value(), rec.Time(), n)
			continue
		}
		if held[seq] {
			bad("reading %d stored twice", seq)
		}
		held[seq] = true
		wantTS := s.base.Add(time.Duration(seq/nolossSensors) * time.Millisecond)
		if sensor, _ := rec.ValueByKey("sensor").(string); sensor != nolossSensor(seq%nolossSensors) || !rec.Time().Equal(wantTS) {
			bad("reading %d: sensor %q at %s, want %s at %s", seq, sensor, rec.Time().Format(time.RFC3339Nano),
				nolossSensor(seq%nolossSensors), wantTS.Format(time.RFC3339Nano))
		}
	}
	return held, wrong, res.Err()
}

// describe says which readings of missing (sequence numbers, ascending)
// are missing, by round: when the round was published, and which
// sensors' readings of it are missing.
func (p *nolossPublisher) describe(missing []int) string {
	if len(missing) == 0 {
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	rounds := 0
	for i := 0; i < len(missing); {
		round := missing[i] / nolossSensors
		j := i
		for j < len(missing) && missing[j]/nolossSensors == round {
			j++
		}
		rounds++
		if rounds <= 30 {
			fmt.Fprintf(&b, "  round %d (readings %d…%d at %s), first published %s: ", round, round*nolossSensors, round*nolossSensors+nolossSensors-1,
				p.base.Add(time.Duration(round)*time.Millisecond).Format(time.RFC3339Nano), p.roundBegan(round))
			if j-i == nolossSensors {
				b.WriteString("all sensors\n")
			} else {
				for k := i; k < j; k++ {
					fmt.Fprintf(&b, "%s ", nolossSensor(missing[k]%nolossSensors))
				}
				fmt.Fprintf(&b, "(%d of %d)\n", j-i, nolossSensors)
			}
		}
		i = j
	}
	if rounds > 30 {
		fmt.Fprintf(&b, "  … and %d more rounds\n", rounds-30)
	}
	return fmt.Sprintf("%d readings missing, in %d rounds (a round is one reading per sensor, published at once by %d clients):\n%s",
		len(missing), rounds, nolossPublishers, b.String())
}

// roundBegan is when the first client began round r; p.mu is held.
func (p *nolossPublisher) roundBegan(r int) string {
	if r >= len(p.began) {
		return "never"
	}
	return p.began[r].Format("15:04:05.000000")
}

// nolossYujing is where the test asks yujing what became of readings.
type nolossYujing struct {
	http string      // the running yujing's HTTP address
	logs *syncBuffer // its log, and its predecessors'
}

// about says what yujing did with the missing readings: those it still
// lists as rejected, every rejection it logged, and its ingest and spool
// metrics. The yujing log itself follows the failure.
func (y *nolossYujing) about(missing []int) string {
	var b strings.Builder
	want := make(map[int]bool, len(missing))
	for _, seq := range missing {
		want[seq] = true
	}
	var rejected []struct {
		At      time.Time `json:"at"`
		Topic   string    `json:"topic"`
		Reason  string    `json:"reason"`
		Error   string    `json:"error"`
		Payload string    `json:"payload"`
	}
	resp, err := authed.Get("http://" + y.http + "/api/v1/rejected?limit=1000")
	if err == nil {
		err = json.NewDecoder(resp.Body).Decode(&rejected)
		resp.Body.Close()
	}
	if err != nil {
		fmt.Fprintf(&b, "\nGET /api/v1/rejected: %v\n", err)
	}
	fmt.Fprintf(&b, "\nThe running yujing lists %d rejected messages; of the missing readings:\n", len(rejected))
	for _, r := range rejected {
		var pl struct{ Value float64 }
		if json.Unmarshal([]byte(r.Payload), &pl) == nil && want[int(pl.Value)] {
			fmt.Fprintf(&b, "  %s %s %s: %s (%s)\n", r.At.Format(time.RFC3339Nano), r.Topic, r.Payload, r.Reason, r.Error)
		}
	}
	b.WriteString("Rejections yujing logged (rate-limited; of every process):\n")
	for _, l := range strings.Split(y.logs.String(), "\n") {
		if strings.Contains(l, `msg="reading rejected"`) {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	b.WriteString("Its metrics now:\n")
	if resp, err := authed.Get("http://" + y.http + "/metrics"); err != nil {
		fmt.Fprintf(&b, "  %v\n", err)
	} else {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			l := sc.Text()
			if strings.Contains(l, "_bucket{") {
				continue
			}
			if strings.HasPrefix(l, "yujing_ingest_") || strings.HasPrefix(l, "yujing_spool_") ||
				strings.HasPrefix(l, "yujing_store_") || strings.HasPrefix(l, "yujing_mqtt_") {
				fmt.Fprintf(&b, "  %s\n", l)
			}
		}
		resp.Body.Close()
	}
	return b.String()
}

// nolossBase is the first round's timestamp: recent, whole milliseconds.
func nolossBase() time.Time {
	return time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond).UTC()
}

// metricValue returns the value of an unlabelled metric at addr's
// /metrics, or -1.
func metricValue(addr, name string) float64 {
	resp, err := authed.Get("http://" + addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return -1
			}
			return f
		}
	}
	return -1
}

// TestNoLoss100k: 100 000 QoS 1 readings through mosquitto, every one in
// InfluxDB with its value and timestamp.
func TestNoLoss100k(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes 100 000 readings")
	}
	began := time.Now()
	mq := testenv.Mosquitto(t)
	db := testenv.InfluxDB(t)
	cfg, err := loadConfig(nolossConfig(t, mq.URL(), "yujing-noloss-100k", db.URL, db.Bucket(), "127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	inst := start(t, cfg)
	base := nolossBase()
	store := newNolossStore(t, db, base)

	const rounds = 2000 // × 50 sensors
	t0 := time.Now()
	pub := startNolossPublisher(t, mq.URL(), base, rounds, 0)
	n := pub.wait()
	published := time.Since(t0)
	store.waitAll(t, n, 5*time.Minute, pub, &nolossYujing{http: inst.http, logs: inst.logs})
	stored := time.Since(t0)
	store.verify(t, n, pub)
	if n != 100_000 {
		t.Fatalf("published %d readings", n)
	}
	if v := metricValue(inst.http, "yujing_spool_appended_readings_total"); v != 0 {
		t.Logf("%g readings went through the spool (InfluxDB slower than the write timeout)", v)
		for _, l := range strings.Split(inst.logs.String(), "\n") {
			if strings.Contains(l, "InfluxDB") || strings.Contains(l, "spool") {
				t.Log(l)
			}
		}
	}
	t.Logf("%d readings: published in %v, all in InfluxDB after %v (%.0f readings/s), verified; whole test %v",
		n, published.Round(time.Millisecond), stored.Round(time.Millisecond), float64(n)/stored.Seconds(), time.Since(began).Round(time.Millisecond))
}

// TestNoLossInfluxOutage stops InfluxDB for 30 s while readings keep
// coming: they are spooled, acknowledged, and replayed once it is back;
// none missing, none twice.
func TestNoLossInfluxOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("stops InfluxDB for 30 s")
	}
	began := time.Now()
	mq := testenv.Mosquitto(t)
	db := testenv.InfluxDB(t)
	cfg, err := loadConfig(nolossConfig(t, mq.URL(), "yujing-noloss-outage", db.URL, db.Bucket(), "127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	inst := start(t, cfg)
	base := nolossBase()
	store := newNolossStore(t, db, base)

	pub := startNolossPublisher(t, mq.URL(), base, 1<<30, 20) // 1 000 readings/s until stopped
	before := store.waitCount(t, 2000, 2*time.Minute, "readings before the outage")
	spooledBefore := metricValue(inst.http, "yujing_spool_appended_readings_total")
	db.Stop()
	t.Log("InfluxDB stopped")
	outage := time.Now()
	waitFor(t, time.Minute, "readings spooled during the outage", func() bool {
		return metricValue(inst.http, "yujing_spool_appended_readings_total") >= spooledBefore+2000
	})
	time.Sleep(time.Until(outage.Add(30 * time.Second))) // the outage the issue asks for
	spooled := metricValue(inst.http, "yujing_spool_appended_readings_total") - spooledBefore
	db.Start()
	t.Logf("InfluxDB started again after %v; %g readings spooled meanwhile", time.Since(outage).Round(time.Millisecond), spooled)
	// Publishing goes on while the spool is replayed.
	store.waitCount(t, before+int(spooled), 2*time.Minute, "the replay under way")
	n := pub.stop()
	store.waitAll(t, n, 5*time.Minute, pub, &nolossYujing{http: inst.http, logs: inst.logs})
	store.verify(t, n, pub)
	// Once per outage at each end. InfluxDB can also be slow enough at
	// other times to start an episode of its own.
	waitFor(t, 30*time.Second, "the end-of-outage log", func() bool {
		logs := inst.logs.String()
		began := strings.Count(logs, "InfluxDB unreachable; spooling readings")
		return began >= 1 && strings.Count(logs, "InfluxDB back; replayed the spooled readings") == began
	})
	waitFor(t, 30*time.Second, "every spooled reading replayed", func() bool {
		return metricValue(inst.http, "yujing_spool_replayed_readings_total") == metricValue(inst.http, "yujing_spool_appended_readings_total")
	})
	t.Logf("%d readings, %g through the spool, all in InfluxDB once; whole test %v", n,
		metricValue(inst.http, "yujing_spool_appended_readings_total"), time.Since(began).Round(time.Millisecond))
}

// nolossChild is yujing running as a child process (the test binary
// re-executed, see TestMain).
type nolossChild struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

func startNolossChild(t *testing.T, configPath string, logs *syncBuffer) *nolossChild {
	t.Helper()
	// Ready once it logs so: once the broker holds its MQTT subscription
	// (the SUBACK, or a resumed session). /healthz answers before yujing
	// even connects to the broker; on the first start the broker has no
	// subscription for yujing's session yet, and drops what is published
	// meanwhile while acknowledging it to the publisher: readings no
	// yujing ever received.
	const ready = `msg="yujing ready"`
	before := logs.String()
	readyBefore := strings.Count(before, ready)
	cmd := exec.Command(os.Args[0], "serve", "-config", configPath, "-log-level", "debug")
	cmd.Env = append(os.Environ(), serveChildEnv+"=1")
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	fmt.Fprintf(logs, "--- %s: starting yujing\n", time.Now().Format(time.RFC3339Nano))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &nolossChild{cmd: cmd, logs: logs, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(logs, "--- %s: yujing exited: %v\n", time.Now().Format(time.RFC3339Nano), err)
		close(c.done)
	}()
	t.Cleanup(func() { c.kill() })
	const timeout = 2 * time.Minute // a loaded machine takes its time
	deadline := time.Now().Add(timeout)
	for strings.Count(logs.String(), ready) == readyBefore {
		select {
		case <-c.done:
			t.Fatalf("yujing exited before it was ready:\n%s", logs.String()[len(before):])
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("yujing not ready after %v:\n%s", timeout, logs.String()[len(before):])
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

func (c *nolossChild) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

// TestNoLossKilled SIGKILLs yujing twice in the middle of a run — once
// while it writes to InfluxDB, once while InfluxDB is down and it spools —
// and restarts it each time: the broker redelivers what was not
// acknowledged, the spool replays what was, and InfluxDB ends up with
// every reading (a redelivered one lands on the same series and timestamp,
// so it is stored once).
func TestNoLossKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("runs yujing as a child process")
	}
	began := time.Now()
	mq := testenv.Mosquitto(t)
	db := testenv.InfluxDB(t)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	path := nolossConfig(t, mq.URL(), "yujing-noloss-killed", db.URL, db.Bucket(), httpAddr)
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("yujing log:\n%s", logs.String())
		}
	})
	base := nolossBase()
	store := newNolossStore(t, db, base)

	child := startNolossChild(t, path, logs)
	pub := startNolossPublisher(t, mq.URL(), base, 1<<30, 40) // 2 000 readings/s until stopped
	before := store.waitCount(t, 3000, 2*time.Minute, "readings before the first kill")
	child.kill()
	t.Logf("yujing SIGKILLed with %d readings in InfluxDB", before)

	child = startNolossChild(t, path, logs)
	store.waitCount(t, before+3000, 2*time.Minute, "readings after the first restart")
	spooledBefore := metricValue(httpAddr, "yujing_spool_appended_readings_total")
	db.Stop()
	waitFor(t, time.Minute, "readings spooled while InfluxDB is down", func() bool {
		return metricValue(httpAddr, "yujing_spool_appended_readings_total") >= spooledBefore+2000
	})
	spooled := metricValue(httpAddr, "yujing_spool_appended_readings_total")
	child.kill()
	t.Logf("yujing SIGKILLed while spooling, %g readings spooled", spooled)

	child = startNolossChild(t, path, logs)
	waitFor(t, time.Minute, "the restarted yujing spooling", func() bool {
		return metricValue(httpAddr, "yujing_spool_appended_readings_total") >= 1000
	})
	db.Start()
	n := pub.stop()
	store.waitAll(t, n, 5*time.Minute, pub, &nolossYujing{http: httpAddr, logs: logs})
	store.verify(t, n, pub)
	waitFor(t, 30*time.Second, "the end-of-replay log", func() bool {
		return strings.Contains(logs.String(), "InfluxDB back; replayed the spooled readings")
	})
	if err := child.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-child.done:
		if code := child.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("yujing exited with %d after SIGTERM", code)
		}
	case <-time.After(30 * time.Second):
		t.Error("yujing did not stop within 30s of SIGTERM")
	}
	t.Logf("%d readings, yujing killed twice, all in InfluxDB once; whole test %v", n, time.Since(began).Round(time.Millisecond))
}
