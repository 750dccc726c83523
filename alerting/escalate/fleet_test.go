package escalate_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"yujing"
	"yujing/alerting"
	"yujing/alerting/escalate"
	"yujing/alerting/lifecycle"
	"yujing/duty"
	"yujing/ingest"
	"yujing/internal/mailbox"
	"yujing/store/sqlite"
	"yujing/store/sqlstate"
)

// fleet is call-and-answer with many warnings at once, for the
// benchmarks and the tests of the deadline index: the real SQLite state,
// lifecycle and rule engine, and a caller that records each call in the
// state database (as the notify outbox does before it sends) and keeps
// it, without delivering it.
type fleet struct {
	tb     testing.TB
	n      int
	path   string
	clock  *fleetClock
	set    escalate.Settings
	tick   time.Duration
	st     *sqlstate.State
	alerts *lifecycle.Alerts
	eng    *alerting.Engine
	esc    *escalate.Engine
	calls  *callLog
	// wrap, when set, changes the parts call-and-answer is built from.
	wrap func(*escalate.Parts)
}

// fleetClock is a fake clock that can be switched to the machine's, or
// set running at the machine's pace from its time.
type fleetClock struct {
	mu   sync.Mutex
	t    time.Time
	real bool
	from time.Time // running since, when set
}

func (c *fleetClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.real:
		return time.Now()
	case !c.from.IsZero():
		return c.t.Add(time.Since(c.from))
	}
	return c.t
}

func (c *fleetClock) run() { c.mu.Lock(); c.from = time.Now(); c.mu.Unlock() }

func (c *fleetClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *fleetClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// callLog records calls in the state database and keeps them in order.
type callLog struct {
	st  *sqlstate.State
	mu  sync.Mutex
	got []yujing.Call
}

func (l *callLog) Call(ctx context.Context, c yujing.Call) error {
	if _, err := l.st.RecordCall(ctx, c); err != nil {
		return err
	}
	l.mu.Lock()
	l.got = append(l.got, c)
	l.mu.Unlock()
	return nil
}

func (l *callLog) all() []yujing.Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.got)
}

// fleetPolicy calls the duty officer on IM, then the supervisor-in-chief
// by voice, each step waiting deadline for an answer.
func fleetPolicy(deadline time.Duration) escalate.Settings {
	return escalate.Settings{BaseURL: "http://yj.test", Policies: []escalate.Policy{{Name: "fleet",
		Steps: []escalate.Step{
			{Targets: []escalate.Target{{Tier: 1}}, Ladder: []string{"im"}, Deadline: deadline},
			{Targets: []escalate.Target{{Role: duty.RoleSupervisorInChief}}, Ladder: []string{"voice"}, Deadline: deadline},
		}}}}
}

// newFleet opens a fleet of n sensors on a new state database.
func newFleet(tb testing.TB, n int, set escalate.Settings) *fleet {
	f := &fleet{tb: tb, n: n, path: filepath.Join(tb.TempDir(), "state.db"), clock: &fleetClock{t: t0}, set: set,
		tick: 250 * time.Millisecond}
	f.open()
	return f
}

// open starts every part on the fleet's state database and restores
// what it holds, as serve does.
func (f *fleet) open() {
	tb := f.tb
	ctx := context.Background()
	st, err := sqlite.OpenState(ctx, f.path)
	if err != nil {
		tb.Fatal(err)
	}
	f.st = st
	var sensors []yujing.Sensor
	for i := 1; i <= f.n; i++ {
		sensors = append(sensors, yujing.Sensor{ID: fmt.Sprintf("gas-%d", i), Site: "plant-a", Family: yujing.FamilyGas,
			Metric: "lel", Unit: "%LEL", Interval: time.Hour})
	}
	reg, err := ingest.NewRegistry([]yujing.Site{{ID: "plant-a", Name: "甲厂", Region: "320115"}}, sensors)
	if err != nil {
		tb.Fatal(err)
	}
	changes := mailbox.New[lifecycle.Change]()
	if f.alerts, err = lifecycle.New(st, reg, lifecycle.Options{Now: f.clock.now, OnChange: changes.Put}); err != nil {
		tb.Fatal(err)
	}
	if err := f.alerts.Restore(ctx); err != nil {
		tb.Fatal(err)
	}
	f.calls = &callLog{st: st}
	parts := escalate.Parts{Store: st, Alerts: f.alerts, Changes: changes, Calls: f.calls, Directory: directory(tb), Sites: reg}
	if f.wrap != nil {
		f.wrap(&parts)
	}
	f.esc, err = escalate.New(f.set, parts,
		escalate.Options{Now: f.clock.now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Tick: f.tick,
			Key: []byte("0123456789abcdef0123456789abcdef"), Covers: duty.RegionCovers})
	if err != nil {
		tb.Fatal(err)
	}
	if err := f.esc.Restore(ctx); err != nil {
		tb.Fatal(err)
	}
	tiers := alerting.Tiers{}
	for l, v := range map[yujing.Level]float64{yujing.Blue: 10, yujing.Yellow: 20, yujing.Orange: 25, yujing.Red: 50} {
		tiers.Value[l], tiers.Set[l] = v, true
	}
	rules := []*alerting.Rule{{Name: "gas", Match: alerting.Selector{Family: yujing.FamilyGas}, Above: tiers, Hysteresis: 1}}
	if f.eng, err = alerting.New(rules, f.alerts, reg, alerting.Options{Now: f.clock.now}); err != nil {
		tb.Fatal(err)
	}
	if err := f.eng.Restore(ctx); err != nil {
		tb.Fatal(err)
	}
}

func (f *fleet) close() {
	if err := f.st.Close(); err != nil {
		f.tb.Fatal(err)
	}
}

// raise raises a red warning on every sensor, sensor i at at(i), and
// starts their escalations (each calls its first step).
func (f *fleet) raise(at func(i int) time.Time) {
	for i := 1; i <= f.n; i++ {
		f.clock.set(at(i))
		f.eng.Observe(context.Background(), []yujing.Reading{{Sensor: fmt.Sprintf("gas-%d", i), Site: "plant-a",
			Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL", Value: 60, Time: at(i)}})
	}
	f.esc.Step(context.Background())
	if got := len(f.calls.all()); got != f.n {
		f.tb.Fatalf("%d step-1 calls, want %d", got, f.n)
	}
}

// seeded returns a state database with n escalations waiting in their
// first step (deadline after t0), all called. With YUJING_BENCH_SEEDS set
// to a directory, it is built there once and copied for each use, also by
// other test binaries (the old code's, for a benchmark's baseline).
func seeded(tb testing.TB, n int, deadline time.Duration) string {
	return seededOver(tb, n, deadline, 0)
}

// seededOver is seeded with the warnings raised one by one over spread
// from t0 (sensor i at t0+i×spread/n).
func seededOver(tb testing.TB, n int, deadline, spread time.Duration) string {
	dir := os.Getenv("YUJING_BENCH_SEEDS")
	if dir == "" {
		return seed(tb, filepath.Join(tb.TempDir(), "state.db"), n, deadline, spread)
	}
	path := filepath.Join(dir, fmt.Sprintf("seed-%d-%s-%s", n, deadline, spread), "state.db")
	if _, err := os.Stat(path); err != nil {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			tb.Fatal(err)
		}
		seed(tb, path+".new", n, deadline, spread)
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Rename(path+".new"+suffix, path+suffix); err != nil && !os.IsNotExist(err) {
				tb.Fatal(err)
			}
		}
	}
	return copyState(tb, path)
}

func seed(tb testing.TB, path string, n int, deadline, spread time.Duration) string {
	f := &fleet{tb: tb, n: n, path: path, clock: &fleetClock{t: t0}, set: fleetPolicy(deadline), tick: 250 * time.Millisecond}
	f.open()
	f.raise(func(i int) time.Time { return t0.Add(time.Duration(i) * (spread / time.Duration(n))) })
	f.close()
	return path
}

// copyState copies a closed state database to a new path.
func copyState(tb testing.TB, from string) string {
	to := filepath.Join(tb.TempDir(), "state.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(from + suffix)
		if os.IsNotExist(err) && suffix != "" {
			continue
		}
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(to+suffix, b, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return to
}

// reopened is a fleet of n escalations waiting (deadline from t0),
// restored from the seeded state database with the clock at.
func reopened(tb testing.TB, n int, deadline time.Duration, at time.Time) *fleet {
	f := &fleet{tb: tb, n: n, path: seeded(tb, n, deadline), clock: &fleetClock{t: at},
		set: fleetPolicy(deadline), tick: 250 * time.Millisecond}
	f.open()
	tb.Cleanup(f.close)
	return f
}

// BenchmarkStepIdle is the cost of one Step of the escalation engine with
// n escalations waiting for their deadlines and nothing due: what Run
// spent on every tick (250 ms in serve) before the deadline index.
func BenchmarkStepIdle(b *testing.B) {
	for _, n := range []int{10, 200, 5000, 50000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			f := reopened(b, n, time.Hour, t0.Add(time.Minute))
			f.esc.Step(context.Background()) // the restored ones, once
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				f.esc.Step(context.Background())
			}
		})
	}
}

// BenchmarkRunIdle runs the engine (Run, tick 250 ms as in serve) with
// 50 000 escalations waiting and nothing due, and reports the process's
// CPU time per second of wall time (cpu-%: 100 is one core), read with
// getrusage; each iteration is 100 ms of wall time.
func BenchmarkRunIdle(b *testing.B) {
	const n = 50000
	f := reopened(b, n, time.Hour, t0.Add(time.Minute))
	f.esc.Step(context.Background()) // the restored ones, once
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.esc.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	time.Sleep(time.Second) // Run's first Step
	start, wall := cpuTime(b), time.Now()
	b.ResetTimer()
	for b.Loop() {
		time.Sleep(100 * time.Millisecond)
	}
	b.StopTimer()
	cpu := cpuTime(b) - start
	b.ReportMetric(100*cpu.Seconds()/time.Since(wall).Seconds(), "cpu-%")
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRestore is a restart with n escalations pending: the state
// opened, the lifecycle and call-and-answer restored, and the first Step
// (ready: every escalation's next moment known, nothing called twice);
// overdue, the clock is past every first step's deadline, so the first
// Step also calls every second step, once.
func BenchmarkRestore(b *testing.B) {
	const n = 50000
	seed := seeded(b, n, time.Hour)
	for _, c := range []struct {
		name string
		at   time.Duration
	}{{"waiting", time.Minute}, {"overdue", 61 * time.Minute}} {
		b.Run(fmt.Sprintf("%d/%s", n, c.name), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				path := copyState(b, seed)
				b.StartTimer()
				f := &fleet{tb: b, n: n, path: path, clock: &fleetClock{t: t0.Add(c.at)}, set: fleetPolicy(time.Hour),
					tick: 250 * time.Millisecond}
				f.open()
				f.esc.Step(context.Background())
				b.StopTimer()
				if want := map[bool]int{false: 0, true: n}[c.at > time.Hour]; len(f.calls.all()) != want {
					b.Fatalf("%d calls after the restart, want %d", len(f.calls.all()), want)
				}
				f.close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkStepLateness runs the engine (Run, tick 250 ms as in serve)
// with 50 000 escalations waiting, whose first steps' deadlines pass one
// by one over 50 s (1 000 a second) on a clock running at the machine's
// pace, and reports how late the second steps were called: the largest
// and the 99th percentile delay from each deadline to its call.
func BenchmarkStepLateness(b *testing.B) {
	const n, deadline, spread = 50000, time.Hour, 50 * time.Second
	path := seededOver(b, n, deadline, spread)
	for b.Loop() {
		f := &fleet{tb: b, n: n, path: path, clock: &fleetClock{t: t0.Add(deadline - 2*time.Second)},
			set: fleetPolicy(deadline), tick: 250 * time.Millisecond}
		f.open()
		f.esc.Step(context.Background()) // the restored ones, once
		f.clock.run()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { f.esc.Run(ctx); close(done) }()
		for f.clock.now().Before(t0.Add(deadline + spread + 2*time.Second)) {
			time.Sleep(100 * time.Millisecond)
		}
		cancel()
		<-done
		var late []time.Duration
		for _, c := range f.calls.all() {
			if c.Step == 2 {
				late = append(late, c.Created.Sub(c.Deadline.Add(-deadline)))
			}
		}
		f.close()
		if len(late) != n {
			b.Fatalf("%d second steps called, want %d", len(late), n)
		}
		slices.Sort(late)
		b.ReportMetric(float64(late[len(late)-1].Milliseconds()), "max-late-ms")
		b.ReportMetric(float64(late[len(late)*99/100].Milliseconds()), "p99-late-ms")
	}
}
